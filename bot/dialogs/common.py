"""Small helpers every subject-facing dialog uses."""

from __future__ import annotations

from collections.abc import Iterable

from bot.context import Ctx
from bot.i18n import N_
from bot.replies import Button, IncomingFile
from models import Subject
from workflows import rules
from workflows.applications import timeline
from workflows.clock import to_local
from workflows.errors import UserError
from workflows.materials import Upload, check_size

ONLY_FOR = {
    "enterprise": N_("此功能仅限已绑定的企业使用。"),
    "driver": N_("此功能仅限已绑定的驾驶员使用。"),
}
ONLY_FOR_SUBJECTS = N_("此功能仅限已绑定的企业或驾驶员使用。")


def require_subject(ctx: Ctx, role: str | None = None) -> Subject:
    """The bound subject of this chat (optionally of one role), or a refusal."""
    subject = ctx.identity.subject
    if subject is None or subject.id is None or (role is not None and ctx.identity.role != role):
        raise UserError(ONLY_FOR.get(role or "", ONLY_FOR_SUBJECTS))
    return subject


async def read_upload(file: IncomingFile) -> Upload:
    """Refuse an oversized file before downloading it, then fetch the bytes."""
    check_size(file.size)
    if file.fetch is None:
        raise UserError(N_("无法读取这个文件，请重新发送。"))
    return Upload(file.file_name or "upload", await file.fetch(), file.mime_type)


def menu_row(ctx: Ctx) -> list[Button]:
    return [ctx.button(ctx._("⬅️ 主菜单"), "menu.show")]


def in_lang(ctx: Ctx, zh: str, en: str) -> str:
    """A value workflows/ already give in both languages (RepairEligibility.zh/.en, ClassMeaning,
    CommitmentType.name/.name_en, rules.OBJECTION_REASONS_EN): picked, not translated."""
    return en if ctx.lang == "en" else zh


def listing(ctx: Ctx, items: Iterable[str]) -> str:
    """Items as a list in the chat's language: 甲、乙、丙 or A, B, C."""
    return ctx._("、").join(items)


def unverified_note(ctx: Ctx) -> str:
    """rules.UNVERIFIED_NOTE, which goes with a provisional rule number, in the chat's language."""
    return in_lang(ctx, rules.UNVERIFIED_NOTE, rules.UNVERIFIED_NOTE_EN)


async def timeline_lines(ctx: Ctx, entity: str, entity_id: int) -> list[str]:
    """An application's steps with their dates, as the status view shows them."""
    lines = [ctx._("进度：")]
    for step in await timeline(ctx.session, entity, entity_id, ctx.lang):
        at = f"{to_local(step.at):%Y-%m-%d %H:%M}"
        if step.note:
            lines.append(ctx._("· {at} {action}：{note}", at=at, action=step.action, note=step.note))
        else:
            lines.append(f"· {at} {step.action}")
    return lines


def ref_of(ctx: Ctx, ref_no: str) -> str:
    """An application's number as people read it: a draft has none yet (its internal DRAFT-n is not one)."""
    return ctx._("草稿") if ref_no.startswith("DRAFT") else ref_no
