"""Binding a chat to a subject or staff account with a one-time code (flow: menu → code → bound)."""

from __future__ import annotations

from bot.context import Ctx
from bot.dialogs import registry
from bot.dialogs.menu import show_menu
from bot.i18n import N_, error_text
from workflows.binding import (
    check_can_request,
    check_requested_code,
    locked_out,
    redeem,
    request_binding,
)
from workflows.clock import utc_now
from workflows.errors import UserError
from workflows.identity import resolve_identity
from workflows.validation import mask_id_number


@registry.action("bind.start")
async def start(ctx: Ctx, _: dict) -> None:
    if (err := locked_out(ctx.state, ctx.services.clock)) is not None:
        raise err
    ctx.goto("bind.await_code")
    ctx.say(
        ctx._("请输入工作人员提供的 8 位绑定码（字母和数字，不区分大小写）："),
        [[ctx.button(ctx._("取消"), "menu.show")]],
    )


@registry.on_text("bind.await_code")
async def on_code(ctx: Ctx, text: str) -> None:
    await try_code(ctx, text)


async def try_code(ctx: Ctx, raw: str) -> None:
    outcome = await redeem(
        ctx.session,
        ctx.state,
        user_id=ctx.event.user_id,
        raw_code=raw[:64],
        clock=ctx.services.clock,
        calendar=ctx.services.calendar,
    )
    if outcome.error is not None:
        # Not raised: the wrong-try counter must be committed with this event.
        ctx.say(error_text(outcome.error, ctx.lang))
        return
    ctx.identity = await resolve_identity(ctx.session, ctx.state)
    ctx.goto("menu")
    if outcome.staff is not None:
        who = ctx._(
            "工作人员 {name}（{department}）", name=outcome.staff.name, department=outcome.staff.department
        )
    elif outcome.subject is not None and outcome.subject.uscc:
        who = ctx._("{name}（{code}）", name=outcome.subject.name, code=outcome.subject.uscc)
    elif outcome.subject is not None:
        who = ctx._(
            "{name}（{code}）", name=outcome.subject.name, code=mask_id_number(outcome.subject.cert_no or "")
        )
    else:
        raise UserError(N_("绑定码对应的主体不存在，请联系工作人员。"))
    await show_menu(ctx, ctx._("✅ 绑定成功：{who}", who=who))


# -- no code: ask staff to approve a binding -------------------------------------------------------


@registry.action("bind.request")
async def request_start(ctx: Ctx, _: dict) -> None:
    await check_can_request(ctx.session, ctx.state, now=utc_now(ctx.services.clock))
    ctx.goto("bind.await_subject_code")
    ctx.say(
        ctx._(
            "没有绑定码也可以申请绑定，由工作人员核实后开通。\n请输入企业的统一社会信用代码，或驾驶员的从业资格证号："
        ),
        [[ctx.button(ctx._("取消"), "menu.show")]],
    )


@registry.on_text("bind.await_subject_code")
async def on_subject_code(ctx: Ctx, text: str) -> None:
    # Only the format is checked here: whose code it is, or whether it is registered, is not said.
    code = check_requested_code(text)
    ctx.goto("bind.await_applicant", typed_code=code)
    ctx.say(
        ctx._("请输入您的姓名和身份（如「张三 法定代表人」「李四 安全管理员」），工作人员会据此核实："),
        [[ctx.button(ctx._("取消"), "menu.show")]],
    )


@registry.on_text("bind.await_applicant")
async def on_applicant(ctx: Ctx, text: str) -> None:
    if not 2 <= len(text) <= 60:
        raise UserError(N_("请输入姓名和身份，2 到 60 个字。"))
    typed = ctx.state.data.get("typed_code")
    if not typed:
        raise UserError(N_("请从主菜单重新开始申请。"))
    await request_binding(
        ctx.session,
        ctx.state,
        user_id=ctx.event.user_id,
        typed_code=str(typed),
        requester_name=ctx.event.user_name or "",
        applicant=text,
        now=utc_now(ctx.services.clock),
    )
    ctx.goto("menu")
    ctx.say(ctx._("📨 已提交，工作人员核实后会在这里通知您。"))
