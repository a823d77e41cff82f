"""Staff: issue a one-time binding code for a subject (more staff work arrives with the review issue)."""

from __future__ import annotations

from sqlmodel import or_, select

from bot.context import Ctx
from bot.dialogs import registry
from models import Subject
from workflows import rules
from workflows.audit import log_change
from workflows.binding import issue_code
from workflows.errors import UserError
from workflows.validation import mask_id_number, normalize_code, validate_id_number, validate_uscc


def _require_staff(ctx: Ctx) -> None:
    if ctx.identity.staff is None:
        raise UserError("此操作仅限工作人员。", "Staff only.")


@registry.action("staff.issue_code")
async def start(ctx: Ctx, _: dict) -> None:
    if ctx.identity.staff is None:
        await log_change(
            ctx.session,
            actor=ctx.actor,
            action="staff.refused",
            entity="action",
            entity_id="staff.issue_code",
        )
        ctx.say(ctx.t("此操作仅限工作人员。", "Staff only."))
        return
    ctx.goto("staff.await_subject")
    ctx.say(
        ctx.t(
            "请输入企业的统一社会信用代码，或驾驶员的从业资格证号：",
            "Enter the enterprise's USCC or the driver's certificate number:",
        ),
        [[ctx.button(ctx.t("取消", "Cancel"), "menu.show")]],
    )


@registry.on_text("staff.await_subject")
async def on_subject(ctx: Ctx, text: str) -> None:
    _require_staff(ctx)
    key = normalize_code(text)
    subject = (
        await ctx.session.exec(select(Subject).where(or_(Subject.uscc == key, Subject.cert_no == key)))
    ).first()
    if subject is None:
        if len(key) == 18:
            # Say what is wrong with the code itself before saying it is unknown.
            (validate_id_number if key[:17].isdigit() else validate_uscc)(key)
        raise UserError(
            "没有找到这个代码对应的企业或驾驶员，请核对后重新输入。", "No enterprise or driver has that code."
        )
    assert ctx.identity.staff is not None
    code = await issue_code(ctx.session, issued_by=ctx.actor, clock=ctx.services.clock, subject_id=subject.id)
    ctx.goto("menu")
    shown = subject.uscc or mask_id_number(subject.cert_no or "")
    link = f"https://t.me/{ctx.services.settings.bot_username}?start={code.code}"
    ctx.say(
        ctx.t(
            f"已为 {subject.name}（{shown}）签发绑定码：\n\n{code.code}\n\n"
            f"{rules.BINDING_CODE_TTL_HOURS} 小时内有效，只能使用一次。也可把链接发给对方：{link}",
            f"Binding code for {subject.name} ({shown}):\n\n{code.code}\n\n"
            f"Valid {rules.BINDING_CODE_TTL_HOURS} hours, single use. Link: {link}",
        ),
        [[ctx.button(ctx.t("⬅️ 主菜单", "⬅️ Menu"), "menu.show")]],
    )
