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
from bot.dialogs.common import menu_row
from bot.replies import Button, Document
from models import Commitment, CreditRecord, DriverViolation, Interview, Material
from workflows import corrections, follow_up, objections, rules
from workflows import staff as staff_rules
from workflows.applications import status_label
from workflows.clock import utc_now
from workflows.commitments import FULFILMENT_LABELS
from workflows.errors import UserError
from workflows.materials import materials_of
from workflows.staff import DECISIONS, NEEDS_TEXT, QueueItem, require

# What the decider is told happens next, when it is not "the applicant is told".
TOLD = {
    **dict.fromkeys(follow_up.KINDS, "企业将收到通知。"),
    "publication": "该决定的双公示提醒已停止。",
}
URGENCY_MARK = {"overdue": "⚠️ 已超期", "soon": "🔴", "ok": "🟢", "none": "⚪"}
MORE_PRESETS = ("加盖公章的缴款凭证", "整改完成报告", "法定代表人授权委托书", "营业执照复印件")


def _due_text(item: QueueItem) -> str:
    if item.due_on is None:
        return "无期限"
    if item.urgency == "overdue":
        return f"{URGENCY_MARK['overdue']} {item.due_on}（超 {-item.workdays_left} 个工作日）"  # type: ignore[operator]
    return f"{URGENCY_MARK[item.urgency]} {item.due_on}（剩 {item.workdays_left} 个工作日）"


@registry.action("staff.queue")
async def show_queue(ctx: Ctx, _: dict) -> None:
    staff = require(ctx.identity.staff, "queue.view")
    items = await staff_rules.queue(ctx.session, staff, today=ctx.today, calendar=ctx.services.calendar)
    ctx.goto("menu")
    if not items:
        ctx.say(ctx.t("📥 待办：暂无待处理事项。", "📥 Nothing to do."), [menu_row(ctx)], edit=True)
        return
    lines = [ctx.t(f"📥 待办（{len(items)} 项，按紧急程度排序）", f"📥 To do ({len(items)})")]
    buttons = []
    for n, item in enumerate(items[:10], 1):
        flag = "（有待审核提议）" if item.proposal else ""
        lines.append(
            f"{n}. {item.ref} · {item.subject.name}\n   {item.asked}{flag}\n   期限：{_due_text(item)}"
        )
        buttons.append(
            ctx.button(ctx.t(f"处理 {n}", f"Open {n}"), "staff.item", kind=item.kind, item_id=item.item_id)
        )
    rows = [buttons[i : i + 5] for i in range(0, len(buttons), 5)]
    rows.append([ctx.button(ctx.t("🔄 刷新", "🔄 Refresh"), "staff.queue"), *menu_row(ctx)])
    ctx.say("\n".join(lines), rows, edit=True)


async def _item(ctx: Ctx, kind: str, item_id: int) -> QueueItem:
    staff = require(ctx.identity.staff, "queue.view")
    for item in await staff_rules.queue(ctx.session, staff, today=ctx.today, calendar=ctx.services.calendar):
        if item.kind == kind and item.item_id == item_id:
            return item
    row, subject = await staff_rules.load_item(ctx.session, kind, item_id)
    staff_rules.require_department(staff, subject)
    raise UserError(
        f"该事项已不在待办中（可能已被他人处理），当前状态：{_status(kind, row)}。",
        "This item is no longer open; someone may have handled it.",
    )


def _status(kind: str, row: Any) -> str:
    if kind == "commitment":
        return FULFILMENT_LABELS[row.fulfilment]
    if kind == staff_rules.PUBLICATION:
        return "已公示" if row.published_at else "无需公示"
    if kind in follow_up.KINDS:
        return follow_up.STATUS_LABELS[row.status][0]
    if kind == "binding":
        return {"approved": "已同意", "rejected": "未同意"}.get(row.status, row.status)
    return status_label(row.status)


@registry.action("staff.item")
async def show_item(ctx: Ctx, payload: dict) -> None:
    kind, item_id = payload["kind"], int(payload["item_id"])
    item = await _item(ctx, kind, item_id)
    staff = ctx.identity.staff
    row, _ = await staff_rules.load_item(ctx.session, kind, item_id)
    code = item.subject.uscc or item.subject.department
    lines = [
        f"{item.ref} · {item.subject.name}" + (f"（{code}）" if code else ""),
        item.asked,
        f"期限：{_due_text(item)}",
    ]
    if kind == "repair":
        record = await ctx.session.get(CreditRecord, row.record_id)
        lines.append(
            f"记录：{record.decision_no} {record.decision_date} {record.authority}" if record else ""
        )
        lines.append("办理人：" + ("法定代表人本人" if row.draft.get("is_legal_rep") else "受托人"))
    elif kind == "objection":
        lines.append(f"理由：{row.reason}\n说明：{row.description}")
        target = await objections.correction_target(ctx.session, row)
        if isinstance(target, DriverViolation):
            lines.append(f"扣分：{target.occurred_on} {target.item} {target.points} 分")
        else:
            lines.append("记录：" + "；".join(_current(target)))
    elif kind == "fulfilment":
        record = await ctx.session.get(CreditRecord, row.record_id)
        if record is not None:
            lines.append(f"处罚：{record.decision_no}（{record.decision_date}，{record.authority}）")
        lines.append(
            f"申报：{row.method}，履行日期 {row.fulfilled_on}" + (f"；说明：{row.note}" if row.note else "")
        )
        lines.append("请核对证明材料后确认；确认后该处罚视为已履行，企业即可按规定申请信用修复。")
    elif kind == "binding":
        # item.asked already names the applicant as they typed it; the chat's id is internal.
        lines.append("请核实申请人身份（如电话联系企业）后再同意。")
    elif kind in follow_up.KINDS:
        lines.extend(await _report_lines(ctx, row))
    elif kind == staff_rules.PUBLICATION:
        lines.append(
            f"处罚：{row.decision_date}，{row.authority}；{row.penalty_type or ''} {row.content}".rstrip()
        )
        lines.append("请在门户网站完成行政处罚信息公示后点「已公示」，提醒随即停止。")
    else:
        lines.append(f"承诺编码：{row.code}，补齐期限：{row.materials_due}")
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
            lines.append(f"材料：{len(files)} 个文件")
            rows.append(
                [ctx.button(f"📎 {m.file_name[:20]}", "staff.material", material_id=m.id) for m in files[:4]]
            )
    if item.proposal:
        p = item.proposal
        lines.append(
            f"\n提议：{p['by_name']} 提议「{DECISIONS[kind][p['action']]}」"
            + (f"（{p['reason']}）" if p.get("reason") else "")
        )
        if kind == "objection" and p["action"] == "approve":
            lines.extend(await _proposed_correction(ctx, row, p))
        if staff_rules.allowed(staff, "decide.final") and p["by"] != staff.id:  # type: ignore[union-attr]
            rows.append(
                [
                    ctx.button(
                        "✅ 同意提议",
                        "staff.proposal",
                        kind=kind,
                        item_id=item_id,
                        approve=True,
                        version=item.version,
                    ),
                    ctx.button(
                        "↩️ 驳回提议",
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
                    DECISIONS[kind][a],
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
            lines.append("（此类事项需审核：您的通过/不通过决定将作为提议提交审核人员）")
    rows.append([ctx.button("⬅️ 待办", "staff.queue"), *menu_row(ctx)])
    ctx.say("\n".join(line for line in lines if line), rows, edit=True)


async def _report_lines(ctx: Ctx, row: Any) -> list[str]:
    """What a report answers (the interview's items and deadline, or the 容缺 materials) and what it says."""
    lines = []
    if row.kind == follow_up.RECTIFICATION:
        iv = await ctx.session.get(Interview, row.ref_id)
        if iv is not None:
            items = iv.outcome.get("rectification_items") or []
            lines.append(f"约定整改期限：{iv.outcome.get('rectification_due') or '—'}")
            if iv.outcome.get("issues"):
                lines.append(f"指出的问题：{iv.outcome['issues']}")
            lines += ["整改事项："] + [f"{n}. {item}" for n, item in enumerate(items, 1)]
        verdict = "验收通过后整改期限办结；要求继续整改须写明理由，企业将收到通知并可再次报送。"
    else:
        c = await ctx.session.get(Commitment, row.ref_id)
        if c is not None:
            lines.append(f"欠缺材料：{c.missing_materials}")
        verdict = "确认收齐：在补齐期限内报送的，该承诺即为全部履行；要求补交须写明理由，补齐期限不变。"
    lines.append(f"报送说明：{row.description or '（未填写）'}")
    lines.append(verdict)
    return lines


@registry.action("staff.material")
async def download(ctx: Ctx, payload: dict) -> None:
    staff = require(ctx.identity.staff, "queue.view")
    m = await ctx.session.get(Material, int(payload["material_id"]))
    if m is None:
        raise UserError("文件不存在。", "No such file.")
    owner_kind = {
        "repair_application": "repair",
        "objection": "objection",
        "obligation_fulfilment": "fulfilment",
        follow_up.ENTITY: follow_up.RECTIFICATION,  # either report kind: the same table
    }.get(m.owner_kind)
    if owner_kind is None:
        raise UserError("文件不存在。", "No such file.")
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
            (follow_up.RECTIFICATION, "reject"): "请输入需要继续整改的内容和理由（必填，将告知企业）：",
            (follow_up.TOLERANCE, "reject"): "请输入需要补交的材料和理由（必填，将告知企业）：",
        }.get((kind, action)) or {
            "request_more": "请选择或输入需要补正的材料：",
            "reject": "请输入理由（必填，将告知申请人）：",
        }.get(action, "请输入未履行的内容：")
        rows = (
            [[ctx.button(p, "staff.preset", text=p)] for p in MORE_PRESETS]
            if action == "request_more"
            else []
        )
        rows.append([ctx.button("取消", "staff.item", kind=kind, item_id=payload["item_id"])])
        ctx.say(prompt, rows)
        return
    await _execute(ctx, payload, "")


@registry.action("staff.preset")
async def on_preset(ctx: Ctx, payload: dict) -> None:
    await on_reason(ctx, payload["text"])


@registry.on_text("staff.await_reason")
async def on_reason(ctx: Ctx, text: str) -> None:
    require(ctx.identity.staff, "decide.propose")
    if len(text) > 500:
        raise UserError("理由太长，请控制在 500 字以内。", "At most 500 characters.")
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
    tail = TOLD.get(data["kind"], "申请人将收到通知。") if result.done else ""
    ctx.say(f"✅ {result.text}{tail}", [[ctx.button("⬅️ 待办", "staff.queue"), *menu_row(ctx)]])


@registry.action("staff.proposal")
async def on_proposal(ctx: Ctx, payload: dict) -> None:
    staff = require(ctx.identity.staff, "decide.final")
    result = await staff_rules.review_proposal(
        ctx.session,
        payload["kind"],
        int(payload["item_id"]),
        staff=staff,
        version=int(payload["version"]),
        approve=bool(payload["approve"]),
        today=ctx.today,
        now=utc_now(ctx.services.clock),
        calendar=ctx.services.calendar,
    )
    ctx.say(f"✅ {result.text}", [[ctx.button("⬅️ 待办", "staff.queue"), *menu_row(ctx)]])


# -- 更正 --------------------------------------------------------------------------------------------


def _current(record: CreditRecord) -> list[str]:
    """The record's correctable facts as the reviewer reads them."""
    return [
        f"{f.zh}：{corrections.show(f.key, getattr(record, f.key))}" for f in corrections.facts_for(record)
    ]


async def _target(ctx: Ctx, data: dict) -> CreditRecord | DriverViolation:
    if "item_id" not in data or data.get("kind") != "objection":
        raise UserError("请从待办重新打开该异议。", "Open the objection again from the queue.")
    row, _ = await staff_rules.load_item(ctx.session, "objection", int(data["item_id"]))
    return await objections.correction_target(ctx.session, row)


def _withdraw_label(target: CreditRecord | DriverViolation) -> str:
    return "🗑 撤销该扣分" if isinstance(target, DriverViolation) else "🗑 撤销该记录"


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
        return [f"⚠️ 提议的更正已不能按原样执行：{err.zh}"]
    lines = [f"· {line}" for line in planned.lines()] or ["· （没有改变任何内容）"]
    if planned.problem is not None:
        lines.append(f"⚠️ {planned.problem.zh}")
    return ["提议的更正（原 → 新）：", *lines]


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
        lines.append("待更正（原 → 新）：")
        lines += [f"· {line}" for line in planned.lines()]
        if planned.problem is not None:
            lines.append(f"⚠️ {planned.problem.zh}")
        lines.append("可继续修改其他项目，或点「完成更正」。")
    else:
        what = "该扣分" if isinstance(target, DriverViolation) else "该记录"
        lines.append(f"更正：请选择要修改的项目（可改多个），改完点「完成更正」；或撤销{what}。")
    rows = [
        [ctx.button(f.zh, "staff.field", field=f.key) for f in offered[i : i + 2]]
        for i in range(0, len(offered), 2)
    ]
    rows.append(
        [
            ctx.button(_withdraw_label(target), "staff.correct_done", withdraw=True),
            ctx.button("✅ 完成更正", "staff.correct_done", withdraw=False),
        ]
    )
    rows.append([ctx.button("取消", "staff.item", kind="objection", item_id=data["item_id"])])
    ctx.say("\n".join(lines), rows)


@registry.action("staff.field")
async def on_field(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, "decide.propose")
    if ctx.state.state not in ("staff.correct", "staff.await_value"):
        raise UserError("请从待办重新打开该异议。", "Open the objection again from the queue.")
    target = await _target(ctx, ctx.state.data)
    fact = corrections.fact_of(target, str(payload["field"]))
    ctx.goto("staff.await_value", **{**ctx.state.data, "field": fact.key})
    current = corrections.show(fact.key, getattr(target, fact.key))
    hint = f"（{fact.hint}）" if fact.hint else ""
    rows = [[ctx.button(c, "staff.value", text=c) for c in fact.choices]] if fact.choices else []
    rows.append([ctx.button("⬅️ 返回", "staff.correct_back")])
    ask = "请选择" if fact.choices else "请输入"
    ctx.say(f"「{fact.zh}」现为：{current}\n{ask}新的「{fact.zh}」{hint}：", rows)


@registry.action("staff.value")
async def on_value_button(ctx: Ctx, payload: dict) -> None:
    await on_value(ctx, str(payload["text"]))


@registry.action("staff.correct_back")
async def on_correct_back(ctx: Ctx, _: dict) -> None:
    require(ctx.identity.staff, "decide.propose")
    if ctx.state.state not in ("staff.correct", "staff.await_value"):
        raise UserError("请从待办重新打开该异议。", "Open the objection again from the queue.")
    ctx.goto("staff.correct", **{k: v for k, v in ctx.state.data.items() if k != "field"})
    await _correction_screen(ctx)


@registry.on_text("staff.await_value")
async def on_value(ctx: Ctx, text: str) -> None:
    require(ctx.identity.staff, "decide.propose")
    if ctx.state.state != "staff.await_value":
        raise UserError("请先选择要修改的项目。", "Pick the field to change first.")
    data = dict(ctx.state.data)
    field = data.pop("field")
    target = await _target(ctx, data)
    value = corrections.read(target, field, text, ctx.today)  # UserError: asked again, state kept
    changes = dict(data.get("changes", {}))
    note = ""
    if value == getattr(target, field):
        changes.pop(field, None)
        note = f"「{corrections.fact_of(target, field).zh}」与原记录相同，未作修改。"
    else:
        changes[field] = corrections.show(field, value)  # text the validator reads back: JSON-safe
    ctx.goto("staff.correct", **{**data, "changes": changes})
    await _correction_screen(ctx, note)


@registry.action("staff.correct_done")
async def on_correct_done(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, "decide.propose")
    data = dict(ctx.state.data)
    if ctx.state.state != "staff.correct" or "item_id" not in data:
        raise UserError("请从待办重新打开该异议。", "Open the objection again from the queue.")
    changes = data.pop("changes", {})
    withdraw = bool(payload["withdraw"])
    if not changes and not withdraw:
        raise UserError("还没有修改任何项目；如记录应撤销，请点「撤销」。", "Nothing changed yet.")
    target = await _target(ctx, data)
    planned = corrections.plan(
        target, changes, withdraw=withdraw, today=ctx.today, calendar=ctx.services.calendar
    )
    if planned.problem is not None:
        raise planned.problem
    await _execute(ctx, data, "", changes=changes, withdraw_record=withdraw)
