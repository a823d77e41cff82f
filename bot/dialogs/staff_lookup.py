"""Staff: 信用核查 (look a subject up: records, grade, supervision tier, open items — logged) and
信用记录录入 (record a penalty decision: 三书同达 and the 7-working-day publication deadline follow).

核查 → query → (pick) → summary → [安排约谈 | 录入处罚 | 审计日志 | 标记已公示]
录入 → decision no → date → penalty type → fine → facts → confirm (each answer through its validator in
      workflows/corrections.py, shared with 更正 on objection)
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import col, select

from bot.context import Ctx
from bot.dialogs import registry
from bot.dialogs.common import menu_row
from bot.replies import Button
from models import CreditRecord, Deadline, DeadlineStatus, RecordKind, Subject
from workflows import corrections, labels, lookup, rules
from workflows.clock import to_local, utc_now
from workflows.errors import UserError
from workflows.notices import subject_chats
from workflows.penalties import mark_published, penalty_terms, publication_due, record_penalty
from workflows.staff import allowed, require
from workflows.validation import mask_id_number

PENALTY_TYPES = (
    "警告",
    "通报批评",
    "罚款",
    "没收违法所得",
    "暂扣许可证件",
    "降低资质等级",
    "吊销许可证件",
    "限制从业",
)


@registry.action("staff.lookup")
async def ask(ctx: Ctx, _: dict) -> None:
    require(ctx.identity.staff, "lookup")
    ctx.goto("staff.await_lookup")
    ctx.say("🔎 信用核查：请输入统一社会信用代码、从业资格证号或名称关键字：", [menu_row(ctx)])


@registry.on_text("staff.await_lookup")
async def on_query(ctx: Ctx, text: str) -> None:
    require(ctx.identity.staff, "lookup")
    found = await lookup.find_subjects(ctx.session, text[:100])
    if not found:
        raise UserError("没有找到匹配的企业或驾驶员，请换个关键字。", "Nothing found; try another query.")
    if len(found) == 1:
        await show_summary(ctx, {"subject_id": found[0].id})
        return
    rows = [
        [
            ctx.button(
                f"{s.name}（{s.uscc or mask_id_number(s.cert_no or '')}）", "staff.summary", subject_id=s.id
            )
        ]
        for s in found
    ]
    ctx.say(f"找到 {len(found)} 个主体，请选择：", rows + [menu_row(ctx)])


@registry.action("staff.summary")
async def show_summary(ctx: Ctx, payload: dict) -> None:
    staff = require(ctx.identity.staff, "lookup")
    s = await lookup.credit_summary(
        ctx.session, int(payload["subject_id"]), today=ctx.today, staff=staff, purpose="信用核查"
    )
    subject = s.subject
    code = subject.uscc or f"从业资格证 {mask_id_number(subject.cert_no or '')}"
    kinds = (
        "，".join(f"{labels.label(labels.RECORD_KIND, k)} {n}" for k, n in s.published_by_kind.items())
        or "无"
    )
    sev = (
        "，".join(f"{labels.label(labels.SEVERITY, k)} {n}" for k, n in s.published_by_severity.items())
        or "无"
    )
    t = s.tier
    lines = [
        f"🔎 {subject.name}（{code}）",
        f"公示中的记录：{kinds}；失信程度：{sev}",
        f"信用评价等级：{s.latest_grade or '暂无'}",
        f"信用分类：{s.credit_class}（{rules.UNVERIFIED_NOTE}）",
        f"监管措施：抽查比例 {t.sample_rate:.0%}；{'、'.join(t.measures)}",
        f"进行中：修复申请 {len(s.open_repairs)}，异议 {len(s.open_objections)}，风险预警 {len(s.open_warnings)}，"
        f"待认定承诺 {len(s.pending_commitments)}，待进行约谈 {len(s.upcoming_interviews)}",
    ]
    if s.recent_no_shows:
        lines.append(f"⚠️ 近一年未参加约谈 {s.recent_no_shows} 次")
    for iv in s.upcoming_interviews:
        lines.append(
            f"📅 约谈 {to_local(iv.scheduled_at):%Y-%m-%d %H:%M}（{'已确认' if iv.confirmed_at else '待确认'}）"
        )
    rows: list[list[Button]] = [
        [
            ctx.button("📅 安排约谈", "interview.new", subject_id=subject.id),
            ctx.button("📝 录入处罚", "staff.penalty", subject_id=subject.id),
        ]
    ]
    unpublished = (
        await ctx.session.exec(
            select(Deadline)
            .where(
                Deadline.subject_id == subject.id,
                Deadline.kind == "publication",
                Deadline.status == DeadlineStatus.OPEN,
            )
            .order_by(col(Deadline.due_on))
            .limit(3)
        )
    ).all()
    for d in unpublished:
        record = await ctx.session.get(CreditRecord, d.ref_id)
        name = (record.decision_no or f"{record.decision_date} 的处罚") if record else "该处罚"
        lines.append(f"⏳ {name} 须于 {d.due_on} 前双公示")
        rows.append([ctx.button(f"✅ {name[:40]} 已公示", "staff.published", record_id=d.ref_id)])
    if allowed(ctx.identity.staff, "fulfilment.record"):
        rows.append([ctx.button("✅ 登记履行", "fulfil.staff_pick", subject_id=subject.id)])
    if allowed(ctx.identity.staff, "subject.manage"):
        rows.append([ctx.button("✏️ 修改主体信息", "subjects.edit", subject_id=subject.id)])
    if allowed(ctx.identity.staff, "audit.view"):
        rows.append([ctx.button("📜 审计日志", "admin.audit", subject_id=subject.id)])
    rows.append(menu_row(ctx))
    ctx.goto("menu")
    ctx.say("\n".join(lines), rows)


@registry.action("staff.published")
async def on_published(ctx: Ctx, payload: dict) -> None:
    staff = require(ctx.identity.staff, "record.create")
    record = await mark_published(
        ctx.session, int(payload["record_id"]), staff=staff, now=utc_now(ctx.services.clock)
    )
    ctx.say(f"✅ 已标记 {record.decision_no} 为已公示，相关提醒停止。", [menu_row(ctx)])


# -- 信用记录录入 -----------------------------------------------------------------------------------

STEPS = ("decision_no", "decision_date", "penalty_type", "fine_wan", "facts")
PROMPTS = {
    "decision_no": "请输入行政处罚决定书文号（如 枣交罚〔2026〕1234号）：",
    "decision_date": "请输入决定日期（如 2026-11-20 或 2026年11月20日）：",
    "penalty_type": "请选择处罚类别：",
    "fine_wan": "请输入罚款金额（万元，如 0.5；无罚款输入 0）：",
    "facts": "请输入违法事实（简要）：",
}


@registry.action("staff.penalty")
async def penalty_start(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, "record.create")
    subject = await ctx.session.get(Subject, int(payload["subject_id"]))
    if subject is None:
        raise UserError("找不到该主体。", "No such subject.")
    ctx.goto("staff.penalty", subject_id=subject.id, answers={})
    ctx.say(
        f"📝 为 {subject.name} 录入行政处罚决定。\n{PROMPTS['decision_no']}",
        [[ctx.button("取消", "menu.show")]],
    )


def _next(answers: dict) -> str | None:
    return next((s for s in STEPS if s not in answers), None)


@registry.on_text("staff.penalty")
async def penalty_text(ctx: Ctx, text: str) -> None:
    """Each answer through its validator in workflows/corrections.py, the same one a correction uses."""
    require(ctx.identity.staff, "record.create")
    answers = dict(ctx.state.data.get("answers", {}))
    step = _next(answers)
    if step == "penalty_type":
        raise UserError("请点按钮选择处罚类别。", "Choose the penalty type with the buttons.")
    if step is None:
        raise UserError("请点「确认录入」或「取消」。", "Confirm or cancel.")
    value = corrections.FACTS[step].read(text, ctx.today)
    if step == "fine_wan":
        problem = corrections.penalty_problem(
            penalty_type=answers["penalty_type"], fine_wan=value, procedure=None, severity=None
        )
        if problem is not None:
            raise problem
    answers[step] = corrections.show(step, value)  # JSON-safe text the validator reads back
    await _ask(ctx, answers)


def _entered(answers: dict, today: date) -> dict[str, Any]:
    """The answers as typed values, read again by the same validators."""
    return {key: corrections.FACTS[key].read(answers[key], today) for key in STEPS}


@registry.action("staff.penalty_type")
async def penalty_type(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, "record.create")
    answers = dict(ctx.state.data.get("answers", {}))
    if _next(answers) != "penalty_type":
        raise UserError("请按顺序填写。", "Please answer in order.")
    answers["penalty_type"] = corrections.penalty_type(str(payload["type"]))
    await _ask(ctx, answers)


async def _ask(ctx: Ctx, answers: dict) -> None:
    ctx.goto("staff.penalty", subject_id=ctx.state.data["subject_id"], answers=answers)
    step = _next(answers)
    if step == "penalty_type":
        rows = [
            [ctx.button(t, "staff.penalty_type", type=t) for t in PENALTY_TYPES[i : i + 4]] for i in (0, 4)
        ]
        ctx.say(PROMPTS[step], rows)
    elif step is not None:
        ctx.say(PROMPTS[step])
    else:
        entered = _entered(answers, ctx.today)
        terms = penalty_terms(
            RecordKind.PENALTY,
            entered["decision_date"],
            penalty_type=entered["penalty_type"],
            fine_wan=entered["fine_wan"],
        )
        ctx.say(
            "请确认：\n"
            + "\n".join(f"{corrections.FACTS[k].zh}：{corrections.show(k, v)}" for k, v in entered.items())
            + f"\n失信程度（按配置表）：{labels.label(labels.SEVERITY, terms.severity)}"
            + f"\n公示截止期：{corrections.show('publicity_end', terms.publicity_end)}\n"
            "确认后将向该主体送达三书（决定书通知、信用修复告知书、异议申请流程告知书），并开始 7 个工作日双公示计时。",
            [[ctx.button("✅ 确认录入", "staff.penalty_save"), ctx.button("取消", "menu.show")]],
        )


@registry.action("staff.penalty_save")
async def penalty_save(ctx: Ctx, _: dict) -> None:
    staff = require(ctx.identity.staff, "record.create")
    data = ctx.state.data
    answers = data.get("answers", {})
    if ctx.state.state != "staff.penalty" or _next(answers) is not None:
        raise UserError("录入信息不完整，请重新开始。", "Incomplete; start again.")
    entered = _entered(answers, ctx.today)
    fine = entered["fine_wan"]
    record = await record_penalty(
        ctx.session,
        actor=ctx.actor,
        calendar=ctx.services.calendar,
        now=utc_now(ctx.services.clock),
        today=ctx.today,
        subject_id=int(data["subject_id"]),
        # The 处罚机关 is the bureau (or a department that is its own authority), never the clerk's section.
        authority=ctx.services.settings.authority_for(staff.department),
        content=entered["penalty_type"] + (f" {corrections.show('fine_wan', fine)} 万元" if fine else ""),
        **entered,
    )
    bound = bool(await subject_chats(ctx.session, record.subject_id))
    ctx.goto("menu")
    due = publication_due(record.decision_date, ctx.services.calendar)
    ctx.say(
        f"✅ 已录入 {record.decision_no}（{labels.label(labels.SEVERITY, record.severity)}）。"
        + (
            "三书已发往该主体的绑定对话；如无法送达，会通知您另行送达。"
            if bound
            else "该主体尚未绑定，三书将在其绑定时送达。"
        )
        + f"\n请于 {due} 前完成双公示。",
        [menu_row(ctx)],
    )
