"""Staff: 信用核查 (look a subject up: records, grade, supervision tier, open items — logged) and
信用记录录入 (record a penalty decision: 三书同达 and the 7-working-day publication deadline follow).

核查 → query → (pick) → summary → [安排约谈 | 录入处罚 | 审计日志 | 标记已公示]
录入 → decision no → date → penalty type → fine → facts → confirm
"""

from __future__ import annotations

from datetime import date

from sqlmodel import col, select

from bot.context import Ctx
from bot.dialogs import registry
from bot.dialogs.common import menu_row
from bot.replies import Button
from models import Deadline, DeadlineStatus, Subject
from workflows import labels, lookup, rules
from workflows.clock import to_local, utc_now
from workflows.errors import UserError
from workflows.penalties import mark_published, record_penalty
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
        f"监管措施：抽查比例 {t.sample_rate:.0%}，检查频次 {t.checks_per_year}；{'、'.join(t.measures)}",
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
        lines.append(f"⏳ 记录 #{d.ref_id} 须于 {d.due_on} 前双公示")
        rows.append([ctx.button(f"✅ 记录 #{d.ref_id} 已公示", "staff.published", record_id=d.ref_id)])
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
    "decision_date": "请输入决定日期（如 2026-11-20）：",
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
    require(ctx.identity.staff, "record.create")
    answers = dict(ctx.state.data.get("answers", {}))
    step = _next(answers)
    if step == "decision_date":
        try:
            day = date.fromisoformat(text.strip())
        except ValueError:
            raise UserError(
                "日期格式不对，请按 2026-11-20 这样输入。", "Use the format 2026-11-20."
            ) from None
        if day > ctx.today:
            raise UserError("决定日期不能晚于今天。", "The decision date cannot be in the future.")
        answers[step] = day.isoformat()
    elif step == "fine_wan":
        try:
            fine = float(text.strip())
        except ValueError:
            raise UserError("请输入数字（万元），无罚款输入 0。", "Type a number.") from None
        if not 0 <= fine < 100000:
            raise UserError("罚款金额不合理，请核对。", "Check the amount.")
        answers[step] = fine
    elif step == "penalty_type":
        raise UserError("请点按钮选择处罚类别。", "Choose the penalty type with the buttons.")
    elif step in ("decision_no", "facts"):
        if len(text) > 200:
            raise UserError("太长了，请控制在 200 字以内。", "At most 200 characters.")
        answers[step] = text.strip()
    else:
        raise UserError("请点「确认录入」或「取消」。", "Confirm or cancel.")
    await _ask(ctx, answers)


@registry.action("staff.penalty_type")
async def penalty_type(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, "record.create")
    answers = dict(ctx.state.data.get("answers", {}))
    if _next(answers) != "penalty_type":
        raise UserError("请按顺序填写。", "Please answer in order.")
    answers["penalty_type"] = payload["type"]
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
        fine = answers["fine_wan"] or None
        severity = rules.classify_penalty(answers["penalty_type"], fine, None)
        ctx.say(
            "请确认：\n"
            + "\n".join(f"{k}：{v}" for k, v in answers.items())
            + f"\n失信程度（按配置表）：{labels.label(labels.SEVERITY, severity)}\n"
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
    record = await record_penalty(
        ctx.session,
        actor=ctx.actor,
        calendar=ctx.services.calendar,
        now=utc_now(ctx.services.clock),
        today=ctx.today,
        subject_id=int(data["subject_id"]),
        decision_no=answers["decision_no"],
        decision_date=date.fromisoformat(answers["decision_date"]),
        authority=staff.department,
        penalty_type=answers["penalty_type"],
        fine_wan=answers["fine_wan"] or None,
        facts=answers["facts"],
        content=f"{answers['penalty_type']}"
        + (f" {answers['fine_wan']} 万元" if answers["fine_wan"] else ""),
    )
    served = record.notices_served_at is not None
    ctx.goto("menu")
    due = ctx.services.calendar.add_workdays(record.decision_date, rules.PUBLICATION_WORKDAYS)
    ctx.say(
        f"✅ 已录入（记录 #{record.id}，{labels.label(labels.SEVERITY, record.severity)}）。"
        + ("三书已送达该主体的绑定对话。" if served else "该主体尚未绑定，三书将在其绑定时送达。")
        + f"\n请于 {due} 前完成双公示。",
        [menu_row(ctx)],
    )
