"""Small helpers every subject-facing dialog uses."""

from __future__ import annotations

from bot.context import Ctx
from bot.replies import Button, IncomingFile
from models import Subject
from workflows.applications import timeline
from workflows.clock import to_local
from workflows.errors import UserError
from workflows.materials import Upload, check_size


def require_subject(ctx: Ctx, role: str | None = None) -> Subject:
    """The bound subject of this chat (optionally of one role), or a refusal."""
    subject = ctx.identity.subject
    if subject is None or subject.id is None or (role is not None and ctx.identity.role != role):
        who = {"enterprise": "企业", "driver": "驾驶员"}.get(role or "", "企业或驾驶员")
        raise UserError(f"此功能仅限已绑定的{who}使用。", "Only a bound subject can use this.")
    return subject


async def read_upload(file: IncomingFile) -> Upload:
    """Refuse an oversized file before downloading it, then fetch the bytes."""
    check_size(file.size)
    if file.fetch is None:
        raise UserError("无法读取这个文件，请重新发送。", "The file could not be read; send it again.")
    return Upload(file.file_name or "upload", await file.fetch(), file.mime_type)


def menu_row(ctx: Ctx) -> list[Button]:
    return [ctx.button(ctx.t("⬅️ 主菜单", "⬅️ Menu"), "menu.show")]


async def timeline_lines(ctx: Ctx, entity: str, entity_id: int) -> list[str]:
    """An application's steps with their dates, as the status view shows them."""
    lines = [ctx.t("进度：", "Steps:")]
    for step in await timeline(ctx.session, entity, entity_id):
        lines.append(
            f"· {to_local(step.at):%Y-%m-%d %H:%M} {step.action}" + (f"：{step.note}" if step.note else "")
        )
    return lines
