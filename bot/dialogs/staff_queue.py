"""Staff: 待办 — the review queue, an item's page with its materials, and decisions by button.

待办 → item → [受理 | 补正 → materials (pick or type) | 通过 | 不予修复/维持 → reason | 更正 → correction]
      → done (or a proposal when the item needs two steps) → applicant told through the outbox
      报送 (整改情况 / 容缺材料) → [验收通过 / 确认收齐 | 要求继续整改 / 要求补交 → reason] → subject told
      双公示 → [已公示] → the publication deadline closes
更正 → [field → value (typed, or a choice button)]* → 完成更正 | 撤销该记录
      each value is read by its validator in workflows/corrections.py; the screen shows before → after,
      derived dates included, and so does the reviewer's page when it becomes a proposal
"""

from __future__ import annotations

from typing import Any

from bot.context import Ctx
from bot.dialogs import registry
from bot.dialogs.common import in_lang, menu_row
from bot.i18n import N_, error_text, translate
from bot.replies import Button, Document
from models import Commitment, CreditRecord, DriverViolation, Interview, Material
from workflows import corrections, follow_up, labels, objections, rules
from workflows import staff as staff_rules
from workflows.applications import status_label
from workflows.clock import utc_now
from workflows.commitments import FULFILMENT_LABELS
from workflows.errors import UserError
from workflows.materials import materials_of
from workflows.staff import DECISIONS, NEEDS_TEXT, QueueItem, decision_label, require

# What the decider is told happens next, when it is not "the applicant is told".
TOLD = {
    **dict.fromkeys(follow_up.KINDS, N_("企业将收到通知。")),
    "publication": N_("该决定的双公示提醒已停止。"),
}
URGENCY_MARK = {"overdue": N_("⚠️ 已超期"), "soon": "🔴", "ok": "🟢", "none": "⚪"}
# Shown as buttons; the Chinese text is what the applicant is asked for, in either language of the staff chat.
MORE_PRESETS = (
    N_("加盖公章的缴款凭证"),
    N_("整改完成报告"),
    N_("法定代表人授权委托书"),
    N_("营业执照复印件"),
)
BINDING_STATUS = {"approved": N_("已同意"), "rejected": N_("未同意")}
REOPEN = N_("请从待办重新打开该异议。")
# Words workflows/ hands to these screens in Chinese only (commitments.FULFILMENT_LABELS, the hints and choices
# of corrections.FACTS): listed so the catalog has them, shown through translate().
# tests/dialog/test_english_staff_review.py checks the list is whole.
WORKFLOW_WORDS = (
    *(N_("全部履行"), N_("部分履行"), N_("全部未履行"), N_("待认定")),
    N_("如 枣交罚〔2026〕1234号"),
    N_("如 2026-03-05、2026年3月5日"),
    N_("多个用顿号分隔，如 警告、罚款"),
    N_("数字，如 0.5；无罚款输入 0"),
    *(N_("轻微"), N_("一般"), N_("严重"), N_("简易程序"), N_("一般程序")),
)


def _due_text(ctx: Ctx, item: QueueItem) -> str:
    if item.due_on is None:
        return ctx._("无期限")
    if item.urgency == "overdue":
        mark = translate(URGENCY_MARK["overdue"], ctx.lang)
        late = -(item.workdays_left or 0)
        return ctx._("{mark} {due}（超 {days} 个工作日）", mark=mark, due=item.due_on, days=late)
    mark = URGENCY_MARK[item.urgency]
    return ctx._("{mark} {due}（剩 {days} 个工作日）", mark=mark, due=item.due_on, days=item.workdays_left)


def _fact_name(ctx: Ctx, fact: corrections.Fact) -> str:
    return fact.en if ctx.lang == "en" else fact.zh


@registry.action("staff.queue")
async def show_queue(ctx: Ctx, _: dict) -> None:
    staff = require(ctx.identity.staff, "queue.view")
    items = await staff_rules.queue(ctx.session, staff, today=ctx.today, calendar=ctx.services.calendar)
    ctx.goto("menu")
    if not items:
        ctx.say(ctx._("📥 待办：暂无待处理事项。"), [menu_row(ctx)], edit=True)
        return
    lines = [ctx._("📥 待办（{count} 项，按紧急程度排序）", count=len(items))]
    buttons = []
    for n, item in enumerate(items[:10], 1):
        lines.append(
            ctx._(
                "{n}. {ref} · {name}\n   {asked}{flag}\n   期限：{due}",
                n=n,
                ref=item.ref_in(ctx.lang),
                name=item.subject_name(ctx.lang),
                asked=item.asked_in(ctx.lang),
                flag=ctx._("（有待审核提议）") if item.proposal else "",
                due=_due_text(ctx, item),
            )
        )
        buttons.append(ctx.button(ctx._("处理 {n}", n=n), "staff.item", kind=item.kind, item_id=item.item_id))
    rows = [buttons[i : i + 5] for i in range(0, len(buttons), 5)]
    rows.append([ctx.button(ctx._("🔄 刷新"), "staff.queue"), *menu_row(ctx)])
    ctx.say("\n".join(lines), rows, edit=True)


async def _item(ctx: Ctx, kind: str, item_id: int) -> QueueItem:
    staff = require(ctx.identity.staff, "queue.view")
    for item in await staff_rules.queue(ctx.session, staff, today=ctx.today, calendar=ctx.services.calendar):
        if item.kind == kind and item.item_id == item_id:
            return item
    row, subject = await staff_rules.load_item(ctx.session, kind, item_id)
    staff_rules.require_department(staff, subject)
    # Already in the chat's language: the status is a value, so the message cannot be a catalog msgid.
    raise UserError(
        ctx._("该事项已不在待办中（可能已被他人处理），当前状态：{status}。", status=_status(ctx, kind, row))
    )


def _status(ctx: Ctx, kind: str, row: Any) -> str:
    if kind == "commitment":
        return translate(FULFILMENT_LABELS[row.fulfilment], ctx.lang)
    if kind == staff_rules.PUBLICATION:
        return ctx._("已公示") if row.published_at else ctx._("无需公示")
    if kind in follow_up.KINDS:
        return labels.label(follow_up.STATUS_LABELS, row.status, ctx.lang)
    if kind == "binding":
        return translate(BINDING_STATUS.get(row.status, row.status), ctx.lang)
    return status_label(row.status, ctx.lang)


@registry.action("staff.item")
async def show_item(ctx: Ctx, payload: dict) -> None:
    kind, item_id = payload["kind"], int(payload["item_id"])
    item = await _item(ctx, kind, item_id)
    staff = ctx.identity.staff
    row, _ = await staff_rules.load_item(ctx.session, kind, item_id)
    code = item.subject.uscc or item.subject.department
    ref, name = item.ref_in(ctx.lang), item.subject_name(ctx.lang)
    lines = [
        ctx._("{ref} · {name}（{code}）", ref=ref, name=name, code=code)
        if code
        else ctx._("{ref} · {name}", ref=ref, name=name),
        item.asked_in(ctx.lang),
        ctx._("期限：{due}", due=_due_text(ctx, item)),
    ]
    if kind == "repair":
        record = await ctx.session.get(CreditRecord, row.record_id)
        lines.append(
            ctx._(
                "记录：{no} {day} {authority}",
                no=record.decision_no,
                day=record.decision_date,
                authority=record.authority,
            )
            if record
            else ""
        )
        lines.append(
            ctx._("办理人：法定代表人本人") if row.draft.get("is_legal_rep") else ctx._("办理人：受托人")
        )
    elif kind == "objection":
        lines.append(
            ctx._(
                "理由：{reason}\n说明：{description}",
                reason=in_lang(ctx, row.reason, rules.OBJECTION_REASONS_EN.get(row.reason, row.reason)),
                description=row.description,
            )
        )
        target = await objections.correction_target(ctx.session, row)
        if isinstance(target, DriverViolation):
            lines.append(
                ctx._(
                    "扣分：{day} {item} {points} 分",
                    day=target.occurred_on,
                    item=target.item,
                    points=target.points,
                )
            )
        else:
            lines.append(ctx._("记录：{facts}", facts=ctx._("；").join(_current(ctx, target))))
    elif kind == "fulfilment":
        record = await ctx.session.get(CreditRecord, row.record_id)
        if record is not None:
            lines.append(
                ctx._(
                    "处罚：{no}（{day}，{authority}）",
                    no=record.decision_no,
                    day=record.decision_date,
                    authority=record.authority,
                )
            )
        lines.append(
            ctx._(
                "申报：{method}，履行日期 {day}",
                method=in_lang(ctx, row.method, rules.FULFILMENT_METHODS_EN.get(row.method, row.method)),
                day=row.fulfilled_on,
            )
            + (ctx._("；说明：{note}", note=row.note) if row.note else "")
        )
        lines.append(ctx._("请核对证明材料后确认；确认后该处罚视为已履行，企业即可按规定申请信用修复。"))
    elif kind == "binding":
        # item.asked already names the applicant as they typed it; the chat's id is internal.
        lines.append(ctx._("请核实申请人身份（如电话联系企业）后再同意。"))
    elif kind in follow_up.KINDS:
        lines.extend(await _report_lines(ctx, row))
    elif kind == staff_rules.PUBLICATION:
        lines.append(
            ctx._(
                "处罚：{day}，{authority}；{penalty} {content}",
                day=row.decision_date,
                authority=row.authority,
                penalty=row.penalty_type or "",
                content=row.content,
            ).rstrip()
        )
        lines.append(ctx._("请在门户网站完成行政处罚信息公示后点「已公示」，提醒随即停止。"))
    else:
        lines.append(ctx._("承诺编码：{code}，补齐期限：{due}", code=row.code, due=row.materials_due))
    rows: list[list[Button]] = []
    entity = {
        "repair": "repair_application",
        "objection": "objection",
        "fulfilment": "obligation_fulfilment",
        **dict.fromkeys(follow_up.KINDS, follow_up.ENTITY),
    }.get(kind)
    if entity:
        files = await materials_of(ctx.session, entity, item_id)
        if files:
            lines.append(ctx._("材料：{count} 个文件", count=len(files)))
            rows.append(
                [ctx.button(f"📎 {m.file_name[:20]}", "staff.material", material_id=m.id) for m in files[:4]]
            )
    if item.proposal:
        p = item.proposal
        lines.append(
            ctx._(
                "\n提议：{by} 提议「{action}」",
                by=p["by_name"],
                action=decision_label(kind, p["action"], ctx.lang),
            )
            + (ctx._("（{text}）", text=p["reason"]) if p.get("reason") else "")
        )
        if kind == "objection" and p["action"] == "approve":
            lines.extend(await _proposed_correction(ctx, row, p))
        if staff_rules.allowed(staff, "decide.final") and p["by"] != staff.id:  # type: ignore[union-attr]
            rows.append(
                [
                    ctx.button(
                        ctx._("✅ 同意提议"),
                        "staff.proposal",
                        kind=kind,
                        item_id=item_id,
                        approve=True,
                        version=item.version,
                    ),
                    ctx.button(
                        ctx._("↩️ 驳回提议"),
                        "staff.proposal",
                        kind=kind,
                        item_id=item_id,
                        approve=False,
                        version=item.version,
                    ),
                ]
            )
    else:
        actions = [a for a in DECISIONS[kind] if not (a == "accept" and item.status != "submitted")]
        rows.append(
            [
                ctx.button(
                    decision_label(kind, a, ctx.lang),
                    "staff.decide",
                    kind=kind,
                    item_id=item_id,
                    action=a,
                    version=item.version,
                )
                for a in actions
            ]
        )
        if rules.TWO_STEP_DECISIONS.get(kind) and not staff_rules.allowed(staff, "decide.final"):
            lines.append(ctx._("（此类事项需审核：您的通过/不通过决定将作为提议提交审核人员）"))
    rows.append([ctx.button(ctx._("⬅️ 待办"), "staff.queue"), *menu_row(ctx)])
    ctx.say("\n".join(line for line in lines if line), rows, edit=True)


async def _report_lines(ctx: Ctx, row: Any) -> list[str]:
    """What a report answers (the interview's items and deadline, or the 容缺 materials) and what it says."""
    lines = []
    if row.kind == follow_up.RECTIFICATION:
        iv = await ctx.session.get(Interview, row.ref_id)
        if iv is not None:
            items = iv.outcome.get("rectification_items") or []
            lines.append(ctx._("约定整改期限：{due}", due=iv.outcome.get("rectification_due") or "—"))
            if iv.outcome.get("issues"):
                lines.append(ctx._("指出的问题：{issues}", issues=iv.outcome["issues"]))
            lines += [ctx._("整改事项：")] + [f"{n}. {item}" for n, item in enumerate(items, 1)]
        verdict = ctx._("验收通过后整改期限办结；要求继续整改须写明理由，企业将收到通知并可再次报送。")
    else:
        c = await ctx.session.get(Commitment, row.ref_id)
        if c is not None:
            lines.append(ctx._("欠缺材料：{materials}", materials=c.missing_materials))
        verdict = ctx._(
            "确认收齐：在补齐期限内报送的，该承诺即为全部履行；要求补交须写明理由，补齐期限不变。"
        )
    lines.append(ctx._("报送说明：{text}", text=row.description or ctx._("（未填写）")))
    lines.append(verdict)
    return lines


@registry.action("staff.material")
async def download(ctx: Ctx, payload: dict) -> None:
    staff = require(ctx.identity.staff, "queue.view")
    m = await ctx.session.get(Material, int(payload["material_id"]))
    if m is None:
        raise UserError(N_("文件不存在。"))
    owner_kind = {
        "repair_application": "repair",
        "objection": "objection",
        "obligation_fulfilment": "fulfilment",
        follow_up.ENTITY: follow_up.RECTIFICATION,  # either report kind: the same table
    }.get(m.owner_kind)
    if owner_kind is None:
        raise UserError(N_("文件不存在。"))
    _, subject = await staff_rules.load_item(ctx.session, owner_kind, m.owner_id)
    staff_rules.require_department(staff, subject)
    ctx.say(m.file_name, document=Document(m.file_name, m.content, m.mime_type))


@registry.action("staff.decide")
async def on_decide(ctx: Ctx, payload: dict) -> None:
    kind, action = payload["kind"], payload["action"]
    require(ctx.identity.staff, "decide.propose")
    if kind == "objection" and action == "approve":
        ctx.goto("staff.correct", **payload, changes={})
        await _correction_screen(ctx)
        return
    if (kind, action) in NEEDS_TEXT:
        ctx.goto("staff.await_reason", **payload)
        prompt = {
            (follow_up.RECTIFICATION, "reject"): N_("请输入需要继续整改的内容和理由（必填，将告知企业）："),
            (follow_up.TOLERANCE, "reject"): N_("请输入需要补交的材料和理由（必填，将告知企业）："),
        }.get((kind, action)) or {
            "request_more": N_("请选择或输入需要补正的材料："),
            "reject": N_("请输入理由（必填，将告知申请人）："),
        }.get(action, N_("请输入未履行的内容："))
        rows = (
            [[ctx.button(translate(p, ctx.lang), "staff.preset", text=p)] for p in MORE_PRESETS]
            if action == "request_more"
            else []
        )
        rows.append([ctx.button(ctx._("取消"), "staff.item", kind=kind, item_id=payload["item_id"])])
        ctx.say(translate(prompt, ctx.lang), rows)
        return
    await _execute(ctx, payload, "")


@registry.action("staff.preset")
async def on_preset(ctx: Ctx, payload: dict) -> None:
    await on_reason(ctx, payload["text"])


@registry.on_text("staff.await_reason")
async def on_reason(ctx: Ctx, text: str) -> None:
    require(ctx.identity.staff, "decide.propose")
    if ctx.state.state != "staff.await_reason" or "kind" not in ctx.state.data:
        raise UserError(N_("请从待办重新打开该事项。"))  # a preset pressed after the step moved on
    if len(text) > 500:
        raise UserError(N_("理由太长，请控制在 500 字以内。"))
    await _execute(ctx, dict(ctx.state.data), text)


async def _execute(ctx: Ctx, data: dict, reason: str, **extra: object) -> None:
    staff = require(ctx.identity.staff, "decide.propose")
    result = await staff_rules.decide(
        ctx.session,
        data["kind"],
        int(data["item_id"]),
        data["action"],
        staff=staff,
        version=int(data["version"]),
        today=ctx.today,
        now=utc_now(ctx.services.clock),
        calendar=ctx.services.calendar,
        reason=reason,
        **extra,
    )  # type: ignore[arg-type]
    ctx.goto("menu")
    tail = translate(TOLD.get(data["kind"], N_("申请人将收到通知。")), ctx.lang) if result.done else ""
    ctx.say(
        f"✅ {result.text_in(ctx.lang)}{tail}", [[ctx.button(ctx._("⬅️ 待办"), "staff.queue"), *menu_row(ctx)]]
    )


@registry.action("staff.proposal")
async def on_proposal(ctx: Ctx, payload: dict) -> None:
    staff = require(ctx.identity.staff, "decide.final")
    kind, item_id, approve = payload["kind"], int(payload["item_id"]), bool(payload["approve"])
    result = await staff_rules.review_proposal(
        ctx.session,
        kind,
        item_id,
        staff=staff,
        version=int(payload["version"]),
        approve=approve,
        today=ctx.today,
        now=utc_now(ctx.services.clock),
        calendar=ctx.services.calendar,
    )
    ctx.say(f"✅ {result.text_in(ctx.lang)}", [[ctx.button(ctx._("⬅️ 待办"), "staff.queue"), *menu_row(ctx)]])


# -- 更正 --------------------------------------------------------------------------------------------


def _current(ctx: Ctx, record: CreditRecord) -> list[str]:
    """The record's correctable facts as the reviewer reads them."""
    return [
        ctx._(
            "{fact}：{value}",
            fact=_fact_name(ctx, f),
            value=corrections.show(f.key, getattr(record, f.key), ctx.lang),
        )
        for f in corrections.facts_for(record)
    ]


async def _target(ctx: Ctx, data: dict) -> CreditRecord | DriverViolation:
    if "item_id" not in data or data.get("kind") != "objection":
        raise UserError(REOPEN)
    row, _ = await staff_rules.load_item(ctx.session, "objection", int(data["item_id"]))
    return await objections.correction_target(ctx.session, row)


def _withdraw_label(ctx: Ctx, target: CreditRecord | DriverViolation) -> str:
    return ctx._("🗑 撤销该扣分") if isinstance(target, DriverViolation) else ctx._("🗑 撤销该记录")


async def _proposed_correction(ctx: Ctx, row: Any, proposal: dict) -> list[str]:
    """The proposal as the reviewer must see it before approving: every change, derived dates included."""
    target = await objections.correction_target(ctx.session, row)
    try:
        planned = corrections.plan(
            target,
            proposal.get("changes") or {},
            withdraw=bool(proposal.get("withdraw_record")),
            today=ctx.today,
            calendar=ctx.services.calendar,
        )
    except UserError as err:  # the record changed since the proposal: say so instead of a stale diff
        return [ctx._("⚠️ 提议的更正已不能按原样执行：{problem}", problem=error_text(err, ctx.lang))]
    lines = [f"· {line}" for line in planned.lines(ctx.lang)] or [ctx._("· （没有改变任何内容）")]
    if planned.problem is not None:
        lines.append(f"⚠️ {error_text(planned.problem, ctx.lang)}")
    return [ctx._("提议的更正（原 → 新）："), *lines]


async def _correction_screen(ctx: Ctx, note: str = "") -> None:
    """The correction so far (before → after, derived dates recomputed) and the facts left to pick."""
    data = dict(ctx.state.data)
    target = await _target(ctx, data)
    planned = corrections.plan(
        target, data.get("changes", {}), today=ctx.today, calendar=ctx.services.calendar
    )
    offered = corrections.facts_for(target)
    lines = [note] if note else []
    if planned.changes:
        lines.append(ctx._("待更正（原 → 新）："))
        lines += [f"· {line}" for line in planned.lines(ctx.lang)]
        if planned.problem is not None:
            lines.append(f"⚠️ {error_text(planned.problem, ctx.lang)}")
        lines.append(ctx._("可继续修改其他项目，或点「完成更正」。"))
    elif isinstance(target, DriverViolation):
        lines.append(ctx._("更正：请选择要修改的项目（可改多个），改完点「完成更正」；或撤销该扣分。"))
    else:
        lines.append(ctx._("更正：请选择要修改的项目（可改多个），改完点「完成更正」；或撤销该记录。"))
    rows = [
        [ctx.button(_fact_name(ctx, f), "staff.field", field=f.key) for f in offered[i : i + 2]]
        for i in range(0, len(offered), 2)
    ]
    rows.append(
        [
            ctx.button(_withdraw_label(ctx, target), "staff.correct_done", withdraw=True),
            ctx.button(ctx._("✅ 完成更正"), "staff.correct_done", withdraw=False),
        ]
    )
    rows.append([ctx.button(ctx._("取消"), "staff.item", kind="objection", item_id=data["item_id"])])
    ctx.say("\n".join(lines), rows)


@registry.action("staff.field")
async def on_field(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, "decide.propose")
    if ctx.state.state not in ("staff.correct", "staff.await_value"):
        raise UserError(REOPEN)
    target = await _target(ctx, ctx.state.data)
    fact = corrections.fact_of(target, str(payload["field"]))
    ctx.goto("staff.await_value", **{**ctx.state.data, "field": fact.key})
    current = corrections.show(fact.key, getattr(target, fact.key), ctx.lang)
    hint = ctx._("（{text}）", text=translate(fact.hint, ctx.lang)) if fact.hint else ""
    # The button sends the Chinese choice: it is what the fact's validator reads.
    rows = (
        [[ctx.button(translate(c, ctx.lang), "staff.value", text=c) for c in fact.choices]]
        if fact.choices
        else []
    )
    rows.append([ctx.button(ctx._("⬅️ 返回"), "staff.correct_back")])
    name = _fact_name(ctx, fact)
    if fact.choices:
        ask = ctx._(
            "「{fact}」现为：{current}\n请选择新的「{fact}」{hint}：", fact=name, current=current, hint=hint
        )
    else:
        ask = ctx._(
            "「{fact}」现为：{current}\n请输入新的「{fact}」{hint}：", fact=name, current=current, hint=hint
        )
    ctx.say(ask, rows)


@registry.action("staff.value")
async def on_value_button(ctx: Ctx, payload: dict) -> None:
    await on_value(ctx, str(payload["text"]))


@registry.action("staff.correct_back")
async def on_correct_back(ctx: Ctx, _: dict) -> None:
    require(ctx.identity.staff, "decide.propose")
    if ctx.state.state not in ("staff.correct", "staff.await_value"):
        raise UserError(REOPEN)
    ctx.goto("staff.correct", **{k: v for k, v in ctx.state.data.items() if k != "field"})
    await _correction_screen(ctx)


@registry.on_text("staff.await_value")
async def on_value(ctx: Ctx, text: str) -> None:
    require(ctx.identity.staff, "decide.propose")
    if ctx.state.state != "staff.await_value":
        raise UserError(N_("请先选择要修改的项目。"))
    data = dict(ctx.state.data)
    field = data.pop("field")
    target = await _target(ctx, data)
    value = corrections.read(target, field, text, ctx.today)  # UserError: asked again, state kept
    changes = dict(data.get("changes", {}))
    note = ""
    if value == getattr(target, field):
        changes.pop(field, None)
        note = ctx._(
            "「{fact}」与原记录相同，未作修改。", fact=_fact_name(ctx, corrections.fact_of(target, field))
        )
    else:
        changes[field] = corrections.show(field, value)  # text the validator reads back: JSON-safe
    ctx.goto("staff.correct", **{**data, "changes": changes})
    await _correction_screen(ctx, note)


@registry.action("staff.correct_done")
async def on_correct_done(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, "decide.propose")
    data = dict(ctx.state.data)
    if ctx.state.state != "staff.correct" or "item_id" not in data:
        raise UserError(REOPEN)
    changes = data.pop("changes", {})
    withdraw = bool(payload["withdraw"])
    if not changes and not withdraw:
        raise UserError(N_("还没有修改任何项目；如记录应撤销，请点「撤销」。"))
    target = await _target(ctx, data)
    planned = corrections.plan(
        target, changes, withdraw=withdraw, today=ctx.today, calendar=ctx.services.calendar
    )
    if planned.problem is not None:
        raise planned.problem
    await _execute(ctx, data, "", changes=changes, withdraw_record=withdraw)
