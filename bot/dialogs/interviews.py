"""约谈 in chat. Staff: schedule (from a warning, a look-up or the menu), see upcoming ones, record the
outcome or cancel. The subject: confirm attendance from the notice's button.

schedule: reason → time (Beijing) → place or 线上 → attendees → confirm → 约谈通知书 served
outcome:  attended? → issues → rectification items → commitment signed? → saved (items → a deadline;
          the subject reports on them from the outcome notice: bot/dialogs/follow_up.py → 待办)
"""

from __future__ import annotations

from datetime import datetime

from bot.context import Ctx
from bot.dialogs import registry
from bot.dialogs.common import menu_row, require_subject
from bot.i18n import N_
from models import RiskWarning, Subject
from workflows import interviews
from workflows.clock import SHANGHAI, to_local, utc_now
from workflows.errors import UserError
from workflows.staff import require

CANCEL = "menu.show"
NO_ITEMS = ("无", "none")  # not UI: what staff type when there are no rectification items


def _at(when: datetime) -> str:
    return f"{to_local(when):%Y-%m-%d %H:%M}"


@registry.action("interview.new")
async def new(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, "interview.schedule")
    subject = await ctx.session.get(Subject, int(payload["subject_id"]))
    if subject is None:
        raise UserError(N_("找不到该主体。"))
    warning = (
        await ctx.session.get(RiskWarning, int(payload["warning_id"])) if payload.get("warning_id") else None
    )
    # The reason is stored and goes into the 约谈通知书 as written, so the suggestion stays Chinese.
    suggested = f"信用风险预警：{warning.details.get('rule')}" if warning else ""  # not UI: a stored value
    ctx.goto("interview.await_reason", subject_id=subject.id, warning_id=warning.id if warning else None)
    rows = (
        [[ctx.button(ctx._("事由：{reason}", reason=suggested[:30]), "interview.reason", text=suggested)]]
        if suggested
        else []
    )
    ctx.say(
        ctx._("📅 约谈 {name}\n请输入约谈事由：", name=subject.name),
        rows + [[ctx.button(ctx._("取消"), CANCEL)]],
    )


@registry.action("interview.reason")
async def reason_button(ctx: Ctx, payload: dict) -> None:
    await on_reason(ctx, payload["text"])


@registry.on_text("interview.await_reason")
async def on_reason(ctx: Ctx, text: str) -> None:
    require(ctx.identity.staff, "interview.schedule")
    if len(text) > 300:
        raise UserError(N_("事由太长，请控制在 300 字以内。"))
    earliest = interviews.earliest_day(ctx.today, ctx.services.calendar)
    ctx.goto("interview.await_time", **{**ctx.state.data, "reason": text.strip()})
    ctx.say(
        ctx._("请输入约谈时间（北京时间，如 {earliest} 14:30）。最早可安排在 {earliest}。", earliest=earliest)
    )


@registry.on_text("interview.await_time")
async def on_time(ctx: Ctx, text: str) -> None:
    require(ctx.identity.staff, "interview.schedule")
    try:
        local = datetime.strptime(" ".join(text.split()), "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)
    except ValueError:
        raise UserError(N_("时间格式不对，请按「2026-11-27 14:30」这样输入。")) from None
    interviews.check_time(local, utc_now(ctx.services.clock), ctx.services.calendar)
    ctx.goto("interview.await_place", **{**ctx.state.data, "at": local.isoformat()})
    ctx.say(
        ctx._("请输入约谈地点，或点「线上约谈」："), [[ctx.button(ctx._("💻 线上约谈"), "interview.online")]]
    )


@registry.action("interview.online")
async def online(ctx: Ctx, _: dict) -> None:
    await _place(ctx, "", True)


@registry.on_text("interview.await_place")
async def on_place(ctx: Ctx, text: str) -> None:
    await _place(ctx, text.strip()[:200], False)


async def _place(ctx: Ctx, place: str, is_online: bool) -> None:
    staff = require(ctx.identity.staff, "interview.schedule")
    if ctx.state.state != "interview.await_place":
        raise UserError(N_("请按顺序填写约谈信息。"))
    ctx.goto("interview.await_attendees", **{**ctx.state.data, "place": place, "online": is_online})
    ctx.say(
        ctx._("请输入参加约谈的工作人员（用逗号分隔），或点「仅本人」："),
        [[ctx.button(ctx._("仅本人（{name}）", name=staff.name), "interview.attendees", text=staff.name)]],
    )


@registry.action("interview.attendees")
async def attendees_button(ctx: Ctx, payload: dict) -> None:
    await on_attendees(ctx, payload["text"])


@registry.on_text("interview.await_attendees")
async def on_attendees(ctx: Ctx, text: str) -> None:
    require(ctx.identity.staff, "interview.schedule")
    names = [n.strip() for n in text.replace("，", ",").split(",") if n.strip()][:10]
    data = {**ctx.state.data, "attendees": names}
    ctx.goto("interview.confirm_schedule", **data)
    local = datetime.fromisoformat(data["at"])
    ctx.say(
        ctx._(
            "请确认约谈安排：\n事由：{reason}\n时间：{at}\n地点：{place}\n参加人员：{attendees}",
            reason=data["reason"],
            at=local.strftime("%Y-%m-%d %H:%M"),
            place=ctx._("线上") if data["online"] else data["place"],
            attendees=ctx._("、").join(names),
        ),
        [[ctx.button(ctx._("✅ 发出约谈通知书"), "interview.schedule"), ctx.button(ctx._("取消"), CANCEL)]],
    )


@registry.action("interview.schedule")
async def do_schedule(ctx: Ctx, _: dict) -> None:
    staff = require(ctx.identity.staff, "interview.schedule")
    data = ctx.state.data
    if ctx.state.state != "interview.confirm_schedule":
        raise UserError(N_("没有待确认的约谈安排，请重新开始。"))
    iv = await interviews.schedule(
        ctx.session,
        subject_id=int(data["subject_id"]),
        staff=staff,
        reason=data["reason"],
        scheduled_at=datetime.fromisoformat(data["at"]),
        place=data["place"],
        online=bool(data["online"]),
        attendees=data["attendees"],
        now=utc_now(ctx.services.clock),
        calendar=ctx.services.calendar,
        warning_id=data.get("warning_id"),
    )
    ctx.goto("menu")
    ctx.say(
        ctx._("✅ 已发出约谈通知书（{at}）。对方确认参加后会通知您。", at=_at(iv.scheduled_at)),
        [menu_row(ctx)],
    )


@registry.action("interview.list")
async def upcoming(ctx: Ctx, _: dict) -> None:
    staff = require(ctx.identity.staff, "interview.outcome")
    rows_ = await interviews.upcoming_for_staff(ctx.session, staff.id or 0)
    if not rows_:
        ctx.say(ctx._("📅 您没有待进行的约谈。"), [menu_row(ctx)], edit=True)
        return
    lines, rows = [ctx._("📅 我安排的约谈")], []
    for n, iv in enumerate(rows_[:10], 1):
        subject = await ctx.session.get(Subject, iv.subject_id)
        lines.append(
            f"{n}. {_at(iv.scheduled_at)} {subject.name if subject else ''} · "
            f"{interviews.status_label(iv.status, ctx.lang)}"
        )
        rows.append(
            [
                ctx.button(
                    ctx._("记录结果 {n}", n=n), "interview.outcome", interview_id=iv.id, version=iv.version
                ),
                ctx.button(
                    ctx._("取消 {n}", n=n), "interview.cancel", interview_id=iv.id, version=iv.version
                ),
            ]
        )
    ctx.say("\n".join(lines), rows + [menu_row(ctx)], edit=True)


@registry.action("interview.cancel")
async def cancel(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, "interview.schedule")
    ctx.goto("interview.await_cancel_reason", **payload)
    ctx.say(ctx._("请输入取消原因（将告知对方）："), [[ctx.button(ctx._("不取消"), CANCEL)]])


@registry.on_text("interview.await_cancel_reason")
async def on_cancel_reason(ctx: Ctx, text: str) -> None:
    staff = require(ctx.identity.staff, "interview.schedule")
    data = ctx.state.data
    await interviews.cancel(
        ctx.session,
        int(data["interview_id"]),
        staff=staff,
        reason=text[:200],
        expected_version=int(data["version"]),
        now=utc_now(ctx.services.clock),
    )
    ctx.goto("menu")
    ctx.say(ctx._("已取消约谈，并已通知对方。"), [menu_row(ctx)])


@registry.action("interview.outcome")
async def outcome(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, "interview.outcome")
    ctx.goto("interview.outcome", **payload)
    ctx.say(
        ctx._("约谈对象是否到场？"),
        [
            [
                ctx.button(ctx._("✅ 已到场"), "interview.attended", attended=True),
                ctx.button(ctx._("❌ 未到场"), "interview.attended", attended=False),
            ]
        ],
    )


@registry.action("interview.attended")
async def attended(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, "interview.outcome")
    if ctx.state.state != "interview.outcome":
        raise UserError(N_("请从「我安排的约谈」重新开始记录。"))
    if not payload["attended"]:
        await _save(ctx, {**ctx.state.data, "attended": False})
        return
    ctx.goto("interview.await_issues", **{**ctx.state.data, "attended": True})
    ctx.say(ctx._("请输入约谈中指出的问题："))


@registry.on_text("interview.await_issues")
async def on_issues(ctx: Ctx, text: str) -> None:
    require(ctx.identity.staff, "interview.outcome")
    ctx.goto("interview.await_items", **{**ctx.state.data, "issues": text[:1000]})
    ctx.say(ctx._("请输入整改事项，每行一项；没有整改事项输入「无」："))


@registry.on_text("interview.await_items")
async def on_items(ctx: Ctx, text: str) -> None:
    require(ctx.identity.staff, "interview.outcome")
    items = (
        []
        if text.strip().lower() in NO_ITEMS
        else [line.strip() for line in text.splitlines() if line.strip()][:20]
    )
    ctx.goto("interview.await_signed", **{**ctx.state.data, "items": items})
    ctx.say(
        ctx._("是否当场签署了整改承诺书？"),
        [
            [
                ctx.button(ctx._("是"), "interview.signed", signed=True),
                ctx.button(ctx._("否"), "interview.signed", signed=False),
            ]
        ],
    )


@registry.action("interview.signed")
async def signed(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, "interview.outcome")
    if ctx.state.state != "interview.await_signed":
        raise UserError(N_("请按顺序填写。"))
    await _save(ctx, {**ctx.state.data, "signed": bool(payload["signed"])})


async def _save(ctx: Ctx, data: dict) -> None:
    staff = require(ctx.identity.staff, "interview.outcome")
    iv = await interviews.record_outcome(
        ctx.session,
        int(data["interview_id"]),
        staff=staff,
        attended=bool(data["attended"]),
        issues=data.get("issues", ""),
        rectification_items=data.get("items", []),
        rectification_due=None,
        commitment_signed=bool(data.get("signed", False)),
        expected_version=int(data["version"]),
        today=ctx.today,
        calendar=ctx.services.calendar,
        now=utc_now(ctx.services.clock),
    )
    ctx.goto("menu")
    text = (
        ctx._("已记录：对方未到场（将计入风险预警规则）。")
        if not data["attended"]
        else ctx._("已记录约谈结果，并已告知对方。")
    )
    if iv.outcome.get("rectification_due"):
        text += "\n" + ctx._(
            "整改期限：{due}，到期前会提醒对方。对方可在聊天中报送整改情况，报送后会列入「待办」，由您验收。",
            due=iv.outcome["rectification_due"],
        )
    ctx.say(text, [menu_row(ctx)])


@registry.action("interview.confirm")
async def subject_confirms(ctx: Ctx, payload: dict) -> None:
    """The 确认参加 button of the 约谈通知书 (a persistent notice button)."""
    subject = require_subject(ctx)
    iv = await interviews.confirm(
        ctx.session,
        int(payload["interview_id"]),
        subject_id=subject.id or 0,
        now=utc_now(ctx.services.clock),
        actor=ctx.actor,
    )
    ctx.say(ctx._("✅ 已确认参加 {at} 的约谈。请准时参加。", at=_at(iv.scheduled_at)))
