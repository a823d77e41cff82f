"""Enterprise: 我的信用记录 — its credit class and what it means, then the records with class, publicity
window and whether each can be repaired: the same checks a repair application meets, or why not."""

from __future__ import annotations

from bot.context import Ctx
from bot.dialogs import registry
from bot.dialogs.common import in_lang, listing, require_subject, unverified_note
from bot.i18n import N_, translate
from bot.replies import Button
from models import CreditRecord, RecordKind, RecordStatus
from workflows import labels
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
DETAIL_FIELDS = (
    (N_("处罚类别"), "penalty_type"),
    (N_("罚款（万元）"), "fine_wan"),
    (N_("违法事实"), "facts"),
    (N_("处罚依据"), "basis"),
    (N_("处罚内容"), "content"),
)


def _subject_id(ctx: Ctx) -> int:
    return require_subject(ctx, "enterprise").id or 0


def _repair_line(ctx: Ctx, elig: RepairEligibility) -> str:
    why = in_lang(ctx, elig.zh, elig.en)
    if elig.eligible_now:
        return ctx._("   ✅ 可申请修复：{why}", why=why)
    if elig.application_id is not None:
        return f"   🕓 {why}"
    if elig.waits_for_date_only:
        return ctx._("   ⏳ {day} 起可申请修复。{why}", day=elig.from_date, why=why)
    if elig.from_date is None:
        return ctx._("   ⛔ 不可申请修复：{why}", why=why)
    return ctx._("   ⛔ 暂不能申请修复：{why}", why=why)


def _standing_lines(ctx: Ctx, st: CreditStanding) -> list[str]:
    """信用分类：X（含义）· 监管 · 可享 — one short section at the top of the records."""
    grade = ctx._("；信用评价：{grade}", grade=st.grade) if st.grade else ""
    lines = [
        ctx._(
            "🏷 信用分类：{credit_class}（{meaning}）{grade}",
            credit_class=in_lang(ctx, st.credit_class, st.meaning.name_en),
            meaning=in_lang(ctx, st.meaning.zh, st.meaning.en),
            grade=grade,
        )
    ]
    measures = listing(ctx, (in_lang(ctx, m, MEASURES_EN.get(m, m)) for m in st.measures))
    if measures:
        lines.append(
            ctx._("监管：双随机抽查比例 {rate:.0%}；{measures}", rate=st.sample_rate, measures=measures)
        )
    else:
        lines.append(ctx._("监管：双随机抽查比例 {rate:.0%}", rate=st.sample_rate))
    if st.xinyi or st.rewards:
        lines.append(
            ctx._(
                "可享：信易+（{xinyi}）；{rewards}，具体措施以当地公布为准",
                xinyi=listing(ctx, (in_lang(ctx, b.name, b.en) for b in st.xinyi)),
                rewards=listing(ctx, (in_lang(ctx, b.name, b.en) for b in st.rewards)),
            )
        )
    else:
        lines.append(ctx._("可享：信易+ 激励面向守信主体；记录修复或公示期满撤下后，分类随之更新"))
    if not st.verified:
        lines.append(ctx._("※ 分类规则与抽查比例为暂定参考，{note}。", note=unverified_note(ctx)))
    return lines


def _summary(ctx: Ctx, n: int, r: CreditRecord, elig: RepairEligibility, disputed: bool = False) -> str:
    head = (
        f"{n}. {labels.label(labels.RECORD_KIND, r.kind, ctx.lang)} · "
        f"{labels.label(labels.SEVERITY, r.severity, ctx.lang)} · {labels.label(labels.RECORD_STATUS, r.status, ctx.lang)}"
    )
    if disputed:
        head += ctx._(" · ⚖️ 异议处理中")
    lines = [
        head,
        ctx._(
            "   {decision_no}，{decision_date}，{authority}",
            decision_no=r.decision_no or "—",
            decision_date=r.decision_date,
            authority=r.authority,
        ),
    ]
    if r.kind == RecordKind.EVALUATION:
        lines.append(ctx._("   评价等级：{grade}", grade=r.grade))
    window = publicity_window(r.kind, r.severity, r.decision_date, r.publicity_end)
    if window is not None:
        # 令58号's period table is unread (domain-rules §17): its dates are shown as provisional.
        note = "" if window.regime.source.verified else ctx._("，{note}", note=unverified_note(ctx))
        regime = in_lang(ctx, window.regime.key, window.regime.key_en)
        if window.published:
            lines.append(
                ctx._(
                    "   最短公示期满 {min_end}，最长公示至 {max_end}（{regime}{note}）",
                    min_end=window.min_end,
                    max_end=window.max_end,
                    regime=regime,
                    note=note,
                )
            )
        else:
            lines.append(
                ctx._(
                    "   原则上不公示；确需公示的最长至 {max_end}（{regime}{note}）",
                    max_end=window.max_end,
                    regime=regime,
                    note=note,
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
            "\n".join([ctx._("📋 暂无信用记录。"), *standing]),
            [[ctx.button(ctx._("⬅️ 主菜单"), "menu.show")]],
            edit=True,
        )
        return
    pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
    first = page * PAGE_SIZE + 1
    header = ctx._(
        "📋 我的信用记录（共 {total} 条，第 {page}/{pages} 页）", total=total, page=page + 1, pages=pages
    )
    text = ["\n".join([header, *standing])]
    disputed = await records_under_objection(ctx.session, [r.id for r in records if r.id is not None])
    standings = await repair_standings(ctx.session, records, ctx.today, ctx.services.calendar)
    text += [
        _summary(ctx, first + i, r, standings[r.id or 0], r.id in disputed) for i, r in enumerate(records)
    ]
    rows: list[list[Button]] = [
        [
            ctx.button(ctx._("详情 {n}", n=first + i), "records.detail", record_id=r.id, page=page)
            for i, r in enumerate(records)
        ]
    ]
    nav = []
    if page > 0:
        nav.append(ctx.button(ctx._("⬅️ 上一页"), "records.list", page=page - 1))
    if page + 1 < pages:
        nav.append(ctx.button(ctx._("下一页 ➡️"), "records.list", page=page + 1))
    if nav:
        rows.append(nav)
    rows.append([ctx.button(ctx._("⬅️ 主菜单"), "menu.show")])
    ctx.say("\n\n".join(text), rows, edit=True)


@registry.action("records.detail")
async def record_detail(ctx: Ctx, payload: dict) -> None:
    record = await record_of_subject(ctx.session, _subject_id(ctx), int(payload["record_id"]))
    if record is None:
        raise UserError(N_("找不到这条记录，或它不属于您绑定的企业。"))
    disputed = await records_under_objection(ctx.session, [record.id or 0])
    elig = (await repair_standings(ctx.session, [record], ctx.today, ctx.services.calendar))[record.id or 0]
    lines = [_summary(ctx, 1, record, elig, bool(disputed)).removeprefix("1. ")]
    for label, field in DETAIL_FIELDS:
        value = getattr(record, field)
        if value not in (None, ""):
            lines.append(ctx._("{label}：{value}", label=translate(label, ctx.lang), value=value))
    declaration = None
    if record.kind == RecordKind.PENALTY:
        declaration = await open_declaration(ctx.session, record.id or 0)
        if record.obligations_fulfilled_on is not None:
            if record.fulfilment_method:
                lines.append(
                    ctx._(
                        "履行：已履行（{method}，{day}）",
                        method=record.fulfilment_method,
                        day=record.obligations_fulfilled_on,
                    )
                )
            else:
                lines.append(ctx._("履行：已履行（已登记，{day}）", day=record.obligations_fulfilled_on))
        elif declaration is not None:
            lines.append(
                ctx._(
                    "履行：申报 {ref_no} 待工作人员确认（{due_on} 前）",
                    ref_no=declaration.ref_no,
                    due_on=declaration.due_on,
                )
            )
        else:
            lines.append(ctx._("履行：尚未登记"))
    actions = []
    if (
        record.kind == RecordKind.PENALTY
        and record.status == RecordStatus.PUBLISHED
        and record.obligations_fulfilled_on is None
        and declaration is None
    ):
        actions.append(ctx.button(ctx._("📎 申报已履行"), "fulfil.declare", record_id=record.id))
    if record.status == RecordStatus.PUBLISHED and record.kind != RecordKind.EVALUATION:
        # Offered even before the date: pressing it says plainly why not and from when.
        actions.append(ctx.button(ctx._("🛠 申请修复"), "repair.start", record_id=record.id))
    if elig.application_id is not None:
        actions.append(ctx.button(ctx._("📂 修复进度"), "repair.status", app_id=elig.application_id))
    if record.status == RecordStatus.PUBLISHED:
        actions.append(ctx.button(ctx._("⚖️ 提出异议"), "objection.start", record_id=record.id))
    rows = [actions[i : i + 2] for i in range(0, len(actions), 2)]
    rows.append(
        [
            ctx.button(ctx._("⬅️ 返回列表"), "records.list", page=payload.get("page", 0)),
            ctx.button(ctx._("主菜单"), "menu.show"),
        ]
    )
    ctx.say("\n".join(lines), rows, edit=True)
