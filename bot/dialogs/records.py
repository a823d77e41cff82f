"""Enterprise: 我的信用记录 — its credit class and what it means, then the records with class, publicity
window and whether each can be repaired: the same checks a repair application meets, or why not."""

from __future__ import annotations

from bot.context import Ctx
from bot.dialogs import registry
from bot.dialogs.common import require_subject
from bot.replies import Button
from models import CreditRecord, RecordKind, RecordStatus
from workflows import labels, rules
from workflows.credit_class import MEASURES_EN, CreditStanding, subject_standing
from workflows.errors import UserError
from workflows.fulfilment import open_declaration
from workflows.objections import records_under_objection
from workflows.records import (
    RepairEligibility,
    publicity_window,
    record_of_subject,
    repair_standings,
    subject_records,
)

PAGE_SIZE = 5


def _subject_id(ctx: Ctx) -> int:
    return require_subject(ctx, "enterprise").id or 0


def _repair_line(ctx: Ctx, elig: RepairEligibility) -> str:
    if elig.eligible_now:
        return ctx.t(f"   ✅ 可申请修复：{elig.zh}", f"   ✅ Repair: {elig.en}")
    if elig.application_id is not None:
        return ctx.t(f"   🕓 {elig.zh}", f"   🕓 {elig.en}")
    if elig.waits_for_date_only:
        return ctx.t(
            f"   ⏳ {elig.from_date} 起可申请修复。{elig.zh}",
            f"   ⏳ Repair from {elig.from_date}. {elig.en}",
        )
    if elig.from_date is None:
        return ctx.t(f"   ⛔ 不可申请修复：{elig.zh}", f"   ⛔ No repair: {elig.en}")
    return ctx.t(f"   ⛔ 暂不能申请修复：{elig.zh}", f"   ⛔ Not yet: {elig.en}")


def _standing_lines(ctx: Ctx, st: CreditStanding) -> list[str]:
    """信用分类：X（含义）· 监管 · 可享 — one short section at the top of the records."""
    grade = ctx.t(f"；信用评价：{st.grade}", f"; evaluation grade {st.grade}") if st.grade else ""
    lines = [
        ctx.t(
            f"🏷 信用分类：{st.credit_class}（{st.meaning.zh}）{grade}",
            f"🏷 Credit class: {st.meaning.name_en} ({st.meaning.en}){grade}",
        )
    ]
    measures = ctx.t("、".join(st.measures), ", ".join(MEASURES_EN.get(m, m) for m in st.measures))
    lines.append(
        ctx.t(
            f"监管：双随机抽查比例 {st.sample_rate:.0%}" + (f"；{measures}" if measures else ""),
            f"Supervision: random inspection ratio {st.sample_rate:.0%}"
            + (f"; {measures}" if measures else ""),
        )
    )
    if st.xinyi or st.rewards:
        xinyi = "、".join(b.name for b in st.xinyi)
        rewards = "、".join(b.name for b in st.rewards)
        lines.append(
            ctx.t(
                f"可享：信易+（{xinyi}）；{rewards}，具体措施以当地公布为准",
                "Benefits: Xinyi+ ("
                + ", ".join(b.en for b in st.xinyi)
                + "); "
                + ", ".join(b.en for b in st.rewards)
                + ", as published locally",
            )
        )
    else:
        lines.append(
            ctx.t(
                "可享：信易+ 激励面向守信主体；记录修复或公示期满撤下后，分类随之更新",
                "Benefits: Xinyi+ is for trustworthy subjects; the class updates once records are repaired or expire",
            )
        )
    if not st.verified:
        lines.append(
            ctx.t(
                f"※ 分类规则与抽查比例为暂定参考，{rules.UNVERIFIED_NOTE}。",
                "※ Class rule and ratio are provisional; the deciding authority's answer prevails.",
            )
        )
    return lines


def _summary(ctx: Ctx, n: int, r: CreditRecord, elig: RepairEligibility, disputed: bool = False) -> str:
    head = (
        f"{n}. {labels.label(labels.RECORD_KIND, r.kind, ctx.lang)} · "
        f"{labels.label(labels.SEVERITY, r.severity, ctx.lang)} · {labels.label(labels.RECORD_STATUS, r.status, ctx.lang)}"
    )
    if disputed:
        head += ctx.t(" · ⚖️ 异议处理中", " · ⚖️ under objection")
    lines = [
        head,
        ctx.t(
            f"   {r.decision_no or '—'}，{r.decision_date}，{r.authority}",
            f"   {r.decision_no or '—'}, {r.decision_date}, {r.authority}",
        ),
    ]
    if r.kind == RecordKind.EVALUATION:
        lines.append(ctx.t(f"   评价等级：{r.grade}", f"   Grade: {r.grade}"))
    window = publicity_window(r.kind, r.severity, r.decision_date, r.publicity_end)
    # 令58号's period table is unread (domain-rules §17): its dates are shown as provisional.
    note = "" if window is None or window.regime.source.verified else f"，{rules.UNVERIFIED_NOTE}"
    note_en = "" if not note else "; provisional, the deciding authority's answer prevails"
    if window is not None:
        if window.published:
            lines.append(
                ctx.t(
                    f"   最短公示期满 {window.min_end}，最长公示至 {window.max_end}（{window.regime.key}{note}）",
                    f"   Minimum period ends {window.min_end}, maximum {window.max_end} ({window.regime.key}{note_en})",
                )
            )
        else:
            lines.append(
                ctx.t(
                    f"   原则上不公示；确需公示的最长至 {window.max_end}（{window.regime.key}{note}）",
                    f"   Not published in principle; at most until {window.max_end} ({window.regime.key}{note_en})",
                )
            )
    lines.append(_repair_line(ctx, elig))
    return "\n".join(lines)


@registry.action("records.list")
async def list_records(ctx: Ctx, payload: dict) -> None:
    subject_id = _subject_id(ctx)
    page = max(int(payload.get("page", 0)), 0)
    records, total = await subject_records(ctx.session, subject_id, offset=page * PAGE_SIZE, limit=PAGE_SIZE)
    # The class section belongs to the first paragraph: tests and users count records by paragraph.
    standing = (
        _standing_lines(ctx, await subject_standing(ctx.session, subject_id, ctx.today)) if page == 0 else []
    )
    if total == 0:
        ctx.say(
            "\n".join([ctx.t("📋 暂无信用记录。", "📋 No credit records."), *standing]),
            [[ctx.button(ctx.t("⬅️ 主菜单", "⬅️ Menu"), "menu.show")]],
            edit=True,
        )
        return
    pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
    first = page * PAGE_SIZE + 1
    header = ctx.t(
        f"📋 我的信用记录（共 {total} 条，第 {page + 1}/{pages} 页）",
        f"📋 My credit records ({total}, page {page + 1}/{pages})",
    )
    text = ["\n".join([header, *standing])]
    disputed = await records_under_objection(ctx.session, [r.id for r in records if r.id is not None])
    standings = await repair_standings(ctx.session, records, ctx.today, ctx.services.calendar)
    text += [
        _summary(ctx, first + i, r, standings[r.id or 0], r.id in disputed) for i, r in enumerate(records)
    ]
    rows: list[list[Button]] = [
        [
            ctx.button(
                ctx.t(f"详情 {first + i}", f"Details {first + i}"),
                "records.detail",
                record_id=r.id,
                page=page,
            )
            for i, r in enumerate(records)
        ]
    ]
    nav = []
    if page > 0:
        nav.append(ctx.button(ctx.t("⬅️ 上一页", "⬅️ Previous"), "records.list", page=page - 1))
    if page + 1 < pages:
        nav.append(ctx.button(ctx.t("下一页 ➡️", "Next ➡️"), "records.list", page=page + 1))
    if nav:
        rows.append(nav)
    rows.append([ctx.button(ctx.t("⬅️ 主菜单", "⬅️ Menu"), "menu.show")])
    ctx.say("\n\n".join(text), rows, edit=True)


@registry.action("records.detail")
async def record_detail(ctx: Ctx, payload: dict) -> None:
    record = await record_of_subject(ctx.session, _subject_id(ctx), int(payload["record_id"]))
    if record is None:
        raise UserError("找不到这条记录，或它不属于您绑定的企业。", "Record not found for your enterprise.")
    disputed = await records_under_objection(ctx.session, [record.id or 0])
    elig = (await repair_standings(ctx.session, [record], ctx.today, ctx.services.calendar))[record.id or 0]
    lines = [_summary(ctx, 1, record, elig, bool(disputed)).removeprefix("1. ")]
    for zh, en, value in (
        ("处罚类别", "Penalty type", record.penalty_type),
        ("罚款（万元）", "Fine (10k yuan)", record.fine_wan),
        ("违法事实", "Facts", record.facts),
        ("处罚依据", "Basis", record.basis),
        ("处罚内容", "Content", record.content),
    ):
        if value not in (None, ""):
            lines.append(f"{ctx.t(zh, en)}：{value}")
    declaration = None
    if record.kind == RecordKind.PENALTY:
        declaration = await open_declaration(ctx.session, record.id or 0)
        if record.obligations_fulfilled_on is not None:
            lines.append(
                ctx.t(
                    f"履行：已履行（{record.fulfilment_method or '已登记'}，{record.obligations_fulfilled_on}）",
                    f"Obligations met on {record.obligations_fulfilled_on}",
                )
            )
        elif declaration is not None:
            lines.append(
                ctx.t(
                    f"履行：申报 {declaration.ref_no} 待工作人员确认（{declaration.due_on} 前）",
                    f"Fulfilment declaration {declaration.ref_no} waiting for staff (by {declaration.due_on})",
                )
            )
        else:
            lines.append(ctx.t("履行：尚未登记", "Obligations: not recorded yet"))
    actions = []
    if (
        record.kind == RecordKind.PENALTY
        and record.status == RecordStatus.PUBLISHED
        and record.obligations_fulfilled_on is None
        and declaration is None
    ):
        actions.append(
            ctx.button(ctx.t("📎 申报已履行", "📎 Declare fulfilled"), "fulfil.declare", record_id=record.id)
        )
    if record.status == RecordStatus.PUBLISHED and record.kind != RecordKind.EVALUATION:
        # Offered even before the date: pressing it says plainly why not and from when.
        actions.append(
            ctx.button(ctx.t("🛠 申请修复", "🛠 Apply for repair"), "repair.start", record_id=record.id)
        )
    if elig.application_id is not None:
        actions.append(
            ctx.button(ctx.t("📂 修复进度", "📂 Repair status"), "repair.status", app_id=elig.application_id)
        )
    if record.status == RecordStatus.PUBLISHED:
        actions.append(ctx.button(ctx.t("⚖️ 提出异议", "⚖️ Object"), "objection.start", record_id=record.id))
    rows = [actions[i : i + 2] for i in range(0, len(actions), 2)]
    rows.append(
        [
            ctx.button(ctx.t("⬅️ 返回列表", "⬅️ Back"), "records.list", page=payload.get("page", 0)),
            ctx.button(ctx.t("主菜单", "Menu"), "menu.show"),
        ]
    )
    ctx.say("\n".join(lines), rows, edit=True)
