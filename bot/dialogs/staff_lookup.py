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
from bot.i18n import N_, translate
from bot.replies import Button
from models import CreditRecord, Deadline, DeadlineStatus, RecordKind, RecordStatus, Subject
from workflows import corrections, labels, lookup, rules
from workflows.clock import to_local, utc_now
from workflows.errors import UserError
from workflows.notices import mark_served_in_writing, subject_chats
from workflows.penalties import mark_published, penalty_terms, publication_due, record_penalty
from workflows.staff import allowed, require
from workflows.validation import mask_id_number

# The stored values: a button shows the type in the chat's language and sends the Chinese one.
PENALTY_TYPES = (
    N_("警告"),
    N_("通报批评"),
    N_("罚款"),
    N_("没收违法所得"),
    N_("暂扣许可证件"),
    N_("降低资质等级"),
    N_("吊销许可证件"),
    N_("限制从业"),
)
# Words workflows/ hands to the summary in Chinese only (lookup's credit classes, rules.SUPERVISION_TIERS'
# measures, rules.UNVERIFIED_NOTE): listed so the catalog has them, shown through translate().
# tests/dialog/test_english_staff_review.py checks the list is whole.
WORKFLOW_WORDS = (
    *(N_("守信"), N_("警示"), N_("失信"), N_("严重失信")),
    *(N_("优先办理"), N_("信易+ 激励"), N_("减少检查频次")),
    *(N_("诚信教育行政指导"), N_("信用承诺"), N_("提醒约谈")),
    *(N_("告诫约谈"), N_("从严监管"), N_("不适用告知承诺、容缺受理")),
    *(N_("联合惩戒（按清单）"), N_("限制办理"), N_("市场禁入或清退")),
    N_("以认定单位答复为准"),
)


def _listed(ctx: Ctx, parts: list[str]) -> str:
    return ctx._("，").join(parts) or ctx._("无")


@registry.action("staff.lookup")
async def ask(ctx: Ctx, _: dict) -> None:
    require(ctx.identity.staff, "lookup")
    ctx.goto("staff.await_lookup")
    ctx.say(ctx._("🔎 信用核查：请输入统一社会信用代码、从业资格证号或名称关键字："), [menu_row(ctx)])


@registry.on_text("staff.await_lookup")
async def on_query(ctx: Ctx, text: str) -> None:
    require(ctx.identity.staff, "lookup")
    found = await lookup.find_subjects(ctx.session, text[:100])
    if not found:
        raise UserError(N_("没有找到匹配的企业或驾驶员，请换个关键字。"))
    if len(found) == 1:
        await show_summary(ctx, {"subject_id": found[0].id})
        return
    rows = [
        [
            ctx.button(
                ctx._("{name}（{code}）", name=s.name, code=s.uscc or mask_id_number(s.cert_no or "")),
                "staff.summary",
                subject_id=s.id,
            )
        ]
        for s in found
    ]
    ctx.say(ctx._("找到 {count} 个主体，请选择：", count=len(found)), rows + [menu_row(ctx)])


@registry.action("staff.summary")
async def show_summary(ctx: Ctx, payload: dict) -> None:
    staff = require(ctx.identity.staff, "lookup")
    s = await lookup.credit_summary(
        ctx.session,
        int(payload["subject_id"]),
        today=ctx.today,
        staff=staff,
        purpose="信用核查",  # not UI: the purpose the audit log keeps
    )
    subject = s.subject
    code = subject.uscc or ctx._("从业资格证 {no}", no=mask_id_number(subject.cert_no or ""))
    kinds = _listed(
        ctx, [f"{labels.label(labels.RECORD_KIND, k, ctx.lang)} {n}" for k, n in s.published_by_kind.items()]
    )
    sev = _listed(
        ctx, [f"{labels.label(labels.SEVERITY, k, ctx.lang)} {n}" for k, n in s.published_by_severity.items()]
    )
    t = s.tier
    lines = [
        ctx._("🔎 {name}（{code}）", name=subject.name, code=code),
        ctx._("公示中的记录：{kinds}；失信程度：{severity}", kinds=kinds, severity=sev),
        ctx._("信用评价等级：{grade}", grade=s.latest_grade or ctx._("暂无")),
        ctx._(
            "信用分类：{credit_class}（{note}）",
            credit_class=translate(s.credit_class, ctx.lang),
            note=translate(rules.UNVERIFIED_NOTE, ctx.lang),
        ),
        ctx._(
            "监管措施：抽查比例 {rate:.0%}；{measures}",
            rate=t.sample_rate,
            measures=ctx._("、").join(translate(m, ctx.lang) for m in t.measures),
        ),
        ctx._(
            "进行中：修复申请 {repairs}，异议 {objections}，风险预警 {warnings}，"
            "待认定承诺 {commitments}，待进行约谈 {interviews}",
            repairs=len(s.open_repairs),
            objections=len(s.open_objections),
            warnings=len(s.open_warnings),
            commitments=len(s.pending_commitments),
            interviews=len(s.upcoming_interviews),
        ),
    ]
    if s.recent_no_shows:
        lines.append(ctx._("⚠️ 近一年未参加约谈 {count} 次", count=s.recent_no_shows))
    for iv in s.upcoming_interviews:
        lines.append(
            ctx._(
                "📅 约谈 {when:%Y-%m-%d %H:%M}（{state}）",
                when=to_local(iv.scheduled_at),
                state=ctx._("已确认") if iv.confirmed_at else ctx._("待确认"),
            )
        )
    rows: list[list[Button]] = [
        [
            ctx.button(ctx._("📅 安排约谈"), "interview.new", subject_id=subject.id),
            ctx.button(ctx._("📝 录入处罚"), "staff.penalty", subject_id=subject.id),
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
        if record is None:
            name = ctx._("该处罚")
        else:
            name = record.decision_no or ctx._("{day} 的处罚", day=record.decision_date)
        lines.append(ctx._("⏳ {name} 须于 {due} 前双公示", name=name, due=d.due_on))
        rows.append(
            [ctx.button(ctx._("✅ {name} 已公示", name=name[:40]), "staff.published", record_id=d.ref_id)]
        )
    unserved = (
        await ctx.session.exec(
            select(CreditRecord)
            .where(
                CreditRecord.subject_id == subject.id,
                CreditRecord.kind == RecordKind.PENALTY,
                CreditRecord.status == RecordStatus.PUBLISHED,
                col(CreditRecord.notices_served_at).is_(None),
            )
            .order_by(col(CreditRecord.decision_date).desc())
            .limit(3)
        )
    ).all()
    for record in unserved:  # 三书 not yet delivered to any chat: serve on paper, then record it here
        lines.append(ctx._("📮 {no} 的三书尚未送达", no=record.decision_no))
        rows.append(
            [
                ctx.button(
                    ctx._("📮 {no} 已书面送达", no=record.decision_no[:40]),
                    "staff.served_in_writing",
                    record_id=record.id,
                )
            ]
        )
    if allowed(ctx.identity.staff, "fulfilment.record"):
        rows.append([ctx.button(ctx._("✅ 登记履行"), "fulfil.staff_pick", subject_id=subject.id)])
    if allowed(ctx.identity.staff, "subject.manage"):
        rows.append([ctx.button(ctx._("✏️ 修改主体信息"), "subjects.edit", subject_id=subject.id)])
    if allowed(ctx.identity.staff, "audit.view"):
        rows.append([ctx.button(ctx._("📜 审计日志"), "admin.audit", subject_id=subject.id)])
    rows.append(menu_row(ctx))
    ctx.goto("menu")
    ctx.say("\n".join(lines), rows)


@registry.action("staff.published")
async def on_published(ctx: Ctx, payload: dict) -> None:
    staff = require(ctx.identity.staff, "record.create")
    record = await mark_published(
        ctx.session, int(payload["record_id"]), staff=staff, now=utc_now(ctx.services.clock)
    )
    ctx.say(ctx._("✅ 已标记 {no} 为已公示，相关提醒停止。", no=record.decision_no), [menu_row(ctx)])


@registry.action("staff.served_in_writing")
async def on_served_in_writing(ctx: Ctx, payload: dict) -> None:
    staff = require(ctx.identity.staff, "record.create")
    record = await mark_served_in_writing(
        ctx.session, int(payload["record_id"]), staff=staff, now=utc_now(ctx.services.clock)
    )
    ctx.say(ctx._("✅ 已登记 {no} 的三书已书面送达。", no=record.decision_no), [menu_row(ctx)])


# -- 信用记录录入 -----------------------------------------------------------------------------------

STEPS = ("decision_no", "decision_date", "penalty_type", "fine_wan", "facts")
PROMPTS = {
    "decision_no": N_("请输入行政处罚决定书文号（如 枣交罚〔2026〕1234号）："),
    "decision_date": N_("请输入决定日期（如 2026-11-20 或 2026年11月20日）："),
    "penalty_type": N_("请选择处罚类别："),
    "fine_wan": N_("请输入罚款金额（万元，如 0.5；无罚款输入 0）："),
    "facts": N_("请输入违法事实（简要）："),
}


@registry.action("staff.penalty")
async def penalty_start(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, "record.create")
    subject = await ctx.session.get(Subject, int(payload["subject_id"]))
    if subject is None:
        raise UserError(N_("找不到该主体。"))
    ctx.goto("staff.penalty", subject_id=subject.id, answers={})
    ctx.say(
        ctx._(
            "📝 为 {name} 录入行政处罚决定。\n{prompt}",
            name=subject.name,
            prompt=translate(PROMPTS["decision_no"], ctx.lang),
        ),
        [[ctx.button(ctx._("取消"), "menu.show")]],
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
        raise UserError(N_("请点按钮选择处罚类别。"))
    if step is None:
        raise UserError(N_("请点「确认录入」或「取消」。"))
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
        raise UserError(N_("请按顺序填写。"))
    answers["penalty_type"] = corrections.penalty_type(str(payload["type"]))
    await _ask(ctx, answers)


def _fact_line(ctx: Ctx, key: str, value: Any) -> str:
    fact = corrections.FACTS[key]
    name = fact.en if ctx.lang == "en" else fact.zh
    return ctx._("{fact}：{value}", fact=name, value=corrections.show(key, value, ctx.lang))


async def _ask(ctx: Ctx, answers: dict) -> None:
    ctx.goto("staff.penalty", subject_id=ctx.state.data["subject_id"], answers=answers)
    step = _next(answers)
    if step == "penalty_type":
        rows = [
            [
                ctx.button(translate(t, ctx.lang), "staff.penalty_type", type=t)
                for t in PENALTY_TYPES[i : i + 4]
            ]
            for i in (0, 4)
        ]
        ctx.say(translate(PROMPTS[step], ctx.lang), rows)
    elif step is not None:
        ctx.say(translate(PROMPTS[step], ctx.lang))
    else:
        entered = _entered(answers, ctx.today)
        terms = penalty_terms(
            RecordKind.PENALTY,
            entered["decision_date"],
            penalty_type=entered["penalty_type"],
            fine_wan=entered["fine_wan"],
        )
        lines = [
            ctx._("请确认："),
            *(_fact_line(ctx, k, v) for k, v in entered.items()),
            ctx._(
                "失信程度（按配置表）：{severity}",
                severity=labels.label(labels.SEVERITY, terms.severity, ctx.lang),
            ),
            ctx._("公示截止期：{day}", day=corrections.show("publicity_end", terms.publicity_end, ctx.lang)),
            ctx._(
                "确认后将向该主体送达三书（决定书通知、信用修复告知书、异议申请流程告知书），"
                "并开始 7 个工作日双公示计时。"
            ),
        ]
        ctx.say(
            "\n".join(lines),
            [
                [
                    ctx.button(ctx._("✅ 确认录入"), "staff.penalty_save"),
                    ctx.button(ctx._("取消"), "menu.show"),
                ]
            ],
        )


@registry.action("staff.penalty_save")
async def penalty_save(ctx: Ctx, _: dict) -> None:
    staff = require(ctx.identity.staff, "record.create")
    data = ctx.state.data
    answers = data.get("answers", {})
    if ctx.state.state != "staff.penalty" or _next(answers) is not None:
        raise UserError(N_("录入信息不完整，请重新开始。"))
    entered = _entered(answers, ctx.today)
    fine = entered["fine_wan"]
    fine_text = f" {corrections.show('fine_wan', fine)} 万元" if fine else ""  # not UI: stored content
    record = await record_penalty(
        ctx.session,
        actor=ctx.actor,
        calendar=ctx.services.calendar,
        now=utc_now(ctx.services.clock),
        today=ctx.today,
        subject_id=int(data["subject_id"]),
        # The 处罚机关 is the bureau (or a department that is its own authority), never the clerk's section.
        authority=ctx.services.settings.authority_for(staff.department),
        content=entered["penalty_type"] + fine_text,
        **entered,
    )
    bound = bool(await subject_chats(ctx.session, record.subject_id))
    ctx.goto("menu")
    due = publication_due(record.decision_date, ctx.services.calendar)
    severity = labels.label(labels.SEVERITY, record.severity, ctx.lang)
    ctx.say(
        ctx._("✅ 已录入 {no}（{severity}）。", no=record.decision_no, severity=severity)
        + (
            ctx._("三书已发往该主体的绑定对话；如无法送达，会通知您另行送达。")
            if bound
            else ctx._("该主体尚未绑定，三书将在其绑定时送达。")
        )
        + ctx._("\n请于 {due} 前完成双公示。", due=due),
        [menu_row(ctx)],
    )
