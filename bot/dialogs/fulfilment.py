"""履行 in chat: the enterprise declares that a penalty's obligations are met, with proof; staff record it
from 信用核查 (the confirmation of a declaration is a 待办 item: bot/dialogs/staff_queue.py).

enterprise: record → 申报已履行 → date → method → proofs (≥1) → submit → 待办 for staff
staff:      信用核查 → 登记履行 → pick the penalty → date → method → proofs (optional) → confirm
"""

from __future__ import annotations

from datetime import date

from sqlmodel import col, select

from bot.context import Ctx
from bot.dialogs import registry
from bot.dialogs.common import in_lang, listing, menu_row, read_upload, require_subject
from bot.i18n import N_
from bot.replies import Button, IncomingFile
from models import CreditRecord, ObligationFulfilment, RecordKind, RecordStatus, Subject
from workflows import fulfilment, rules
from workflows.clock import utc_now
from workflows.dataio.values import parse_date
from workflows.errors import UserError
from workflows.materials import attach_staged, drop_staged, stage
from workflows.records import record_of_subject
from workflows.staff import require, require_department

STAGE = "fulfilment_proof"


def _method(ctx: Ctx, method: str) -> str:
    """A method of rules.FULFILMENT_METHODS (stored in Chinese) in the chat's language."""
    return in_lang(ctx, method, rules.FULFILMENT_METHODS_EN.get(method, method))


def _file_hint(ctx: Ctx) -> str:
    return ctx._(
        "{types}，不超过 {mb} MB",
        types=listing(ctx, rules.MATERIAL_TYPES.values()),
        mb=rules.MATERIAL_MAX_BYTES // 1048576,
    )


def _date(ctx: Ctx, text: str, record: CreditRecord) -> date:
    try:
        day = parse_date(text)
    except ValueError as err:
        reason = err.text(ctx.lang) if isinstance(err, UserError) else str(err)
        raise UserError(ctx._("履行日期：{error}", error=reason)) from None
    fulfilment.check_fulfilment(record, day, None, ctx.today)
    return day


def _date_prompt(ctx: Ctx, record: CreditRecord) -> tuple[str, list[list[Button]]]:
    return (
        ctx._(
            "决定书 {no}（{day}）\n请输入履行日期（缴清罚款或完成整改之日，如 2026-11-20），当天履行的可直接点「今天」：",
            no=record.decision_no,
            day=record.decision_date,
        ),
        [[ctx.button(ctx._("今天"), "fulfil.today")], menu_row(ctx)],
    )


def _method_buttons(ctx: Ctx) -> list[list[Button]]:
    return [
        [ctx.button(_method(ctx, m), "fulfil.method", method=m) for m in rules.FULFILMENT_METHODS],
        menu_row(ctx),
    ]


# -- enterprise: declare --------------------------------------------------------------------------


async def _own_record(ctx: Ctx, record_id: int) -> CreditRecord:
    subject = require_subject(ctx, "enterprise")
    record = await record_of_subject(ctx.session, subject.id or 0, record_id)
    if record is None:
        raise UserError(N_("找不到这条记录，或它不属于您绑定的企业。"))
    return record


@registry.action("fulfil.declare")
async def declare_start(ctx: Ctx, payload: dict) -> None:
    record = await _own_record(ctx, int(payload["record_id"]))
    fulfilment.check_fulfilment(record, ctx.today, None, ctx.today)
    if record.obligations_fulfilled_on is not None:
        raise UserError(
            ctx._(
                "该处罚已登记履行（{day}，{method}）。",
                day=record.obligations_fulfilled_on,
                method=_method(ctx, record.fulfilment_method)
                if record.fulfilment_method
                else ctx._("已履行"),
            )
        )
    if await fulfilment.open_declaration(ctx.session, record.id or 0) is not None:
        raise UserError(N_("该处罚的履行申报正在等待工作人员确认。"))
    ctx.goto("fulfil.await_date", record_id=record.id, who="subject")
    text, rows = _date_prompt(ctx, record)
    ctx.say(text, rows)


async def _record_in_flow(ctx: Ctx) -> CreditRecord:
    data = ctx.state.data
    if "record_id" not in data:
        raise UserError(N_("请重新开始。"))
    if data.get("who") == "staff":
        staff = require(ctx.identity.staff, "fulfilment.record")
        record = await ctx.session.get(CreditRecord, int(data["record_id"]))
        if record is None:
            raise UserError(N_("找不到该记录。"))
        subject = await ctx.session.get(Subject, record.subject_id)
        assert subject is not None
        require_department(staff, subject)
        return record
    return await _own_record(ctx, int(data["record_id"]))


@registry.on_text("fulfil.await_date")
async def on_date(ctx: Ctx, text: str) -> None:
    record = await _record_in_flow(ctx)
    day = _date(ctx, text, record)
    await _ask_method(ctx, record, day)


@registry.action("fulfil.today")
async def on_today(ctx: Ctx, _: dict) -> None:
    if ctx.state.state != "fulfil.await_date":
        raise UserError(N_("请重新开始。"))
    record = await _record_in_flow(ctx)
    fulfilment.check_fulfilment(record, ctx.today, None, ctx.today)
    await _ask_method(ctx, record, ctx.today)


async def _ask_method(ctx: Ctx, record: CreditRecord, day: date) -> None:
    ctx.goto("fulfil.await_method", **{**ctx.state.data, "fulfilled_on": day.isoformat()})
    ctx.say(ctx._("履行日期：{day}。履行方式：", day=day), _method_buttons(ctx))


@registry.action("fulfil.method")
async def on_method(ctx: Ctx, payload: dict) -> None:
    data = dict(ctx.state.data)
    if ctx.state.state != "fulfil.await_method" or "fulfilled_on" not in data:
        raise UserError(N_("请重新开始。"))
    record = await _record_in_flow(ctx)
    method = str(payload["method"])
    day = date.fromisoformat(data["fulfilled_on"])
    fulfilment.check_fulfilment(record, day, method, ctx.today)
    if data.get("who") == "staff":
        ctx.goto("fulfil.staff_proof", **{**data, "method": method, "files": []})
        ctx.say(
            ctx._("可上传证明材料（{hint}，可多份），或直接确认登记：", hint=_file_hint(ctx)),
            [[ctx.button(ctx._("✅ 确认登记"), "fulfil.staff_save")], menu_row(ctx)],
        )
        return
    row = await fulfilment.draft_declaration(
        ctx.session,
        record,
        fulfilled_on=day,
        method=method,
        actor=ctx.actor,
        now=utc_now(ctx.services.clock),
        today=ctx.today,
    )
    ctx.goto("fulfil.await_proof", record_id=record.id, who="subject", declaration_id=row.id)
    ctx.say(
        ctx._(
            "请上传证明材料（罚款缴纳凭证、整改完成报告等，{hint}），可上传多份，传完点「提交申报」。",
            hint=_file_hint(ctx),
        ),
        [menu_row(ctx)],
    )


async def _draft(ctx: Ctx) -> ObligationFulfilment:
    row = await ctx.session.get(ObligationFulfilment, int(ctx.state.data.get("declaration_id", 0)))
    subject = require_subject(ctx, "enterprise")
    if row is None or row.subject_id != subject.id:
        raise UserError(N_("请从信用记录重新开始申报。"))
    return row


@registry.on_file("fulfil.await_proof")
async def on_proof(ctx: Ctx, file: IncomingFile) -> None:
    row = await _draft(ctx)
    count = await fulfilment.add_proof(ctx.session, row, await read_upload(file))
    ctx.say(
        ctx._(
            "已收到第 {n} 份材料（{file}）。可继续上传，或点「提交申报」。",
            n=count,
            file=file.file_name or ctx._("文件"),
        ),
        [[ctx.button(ctx._("📨 提交申报"), "fulfil.submit")], menu_row(ctx)],
    )


@registry.action("fulfil.submit")
async def on_submit(ctx: Ctx, _: dict) -> None:
    if ctx.state.state != "fulfil.await_proof":
        raise UserError(N_("请从信用记录重新开始申报。"))
    row = await _draft(ctx)
    await fulfilment.submit_declaration(
        ctx.session,
        row,
        actor=ctx.actor,
        now=utc_now(ctx.services.clock),
        today=ctx.today,
        calendar=ctx.services.calendar,
    )
    ctx.goto("menu")
    ctx.say(
        ctx._(
            "✅ 履行申报已提交，编号 {ref_no}。工作人员将于 {due} 前核实确认，结果会通知您。",
            ref_no=row.ref_no,
            due=row.due_on,
        ),
        [menu_row(ctx)],
    )


# -- staff: record -------------------------------------------------------------------------------


@registry.action("fulfil.staff_pick")
async def staff_pick(ctx: Ctx, payload: dict) -> None:
    staff = require(ctx.identity.staff, "fulfilment.record")
    subject = await ctx.session.get(Subject, int(payload["subject_id"]))
    if subject is None:
        raise UserError(N_("找不到该主体。"))
    require_department(staff, subject)
    stmt = (
        select(CreditRecord)
        .where(
            CreditRecord.subject_id == subject.id,
            CreditRecord.kind == RecordKind.PENALTY,
            CreditRecord.status == RecordStatus.PUBLISHED,
            col(CreditRecord.obligations_fulfilled_on).is_(None),
        )
        .order_by(col(CreditRecord.decision_date).desc())
        .limit(8)
    )
    records = (await ctx.session.exec(stmt)).all()
    if not records:
        ctx.say(ctx._("{name} 没有待登记履行的行政处罚。", name=subject.name), [menu_row(ctx)])
        return
    rows = [
        [
            ctx.button(
                ctx._("{no}（{day}）", no=r.decision_no, day=r.decision_date),
                "fulfil.staff_start",
                record_id=r.id,
            )
        ]
        for r in records
    ]
    ctx.say(ctx._("为 {name} 登记履行：请选择处罚决定", name=subject.name), rows + [menu_row(ctx)])


@registry.action("fulfil.staff_start")
async def staff_start(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, "fulfilment.record")
    await drop_staged(ctx.session, ctx.state.id or 0, STAGE)  # files of an abandoned earlier entry
    ctx.goto("fulfil.await_date", record_id=int(payload["record_id"]), who="staff")
    record = await _record_in_flow(ctx)
    text, rows = _date_prompt(ctx, record)
    ctx.say(text, rows)


@registry.on_file("fulfil.staff_proof")
async def staff_proof(ctx: Ctx, file: IncomingFile) -> None:
    require(ctx.identity.staff, "fulfilment.record")
    staged = await stage(ctx.session, state_id=ctx.state.id or 0, step=STAGE, upload=await read_upload(file))
    files = [*ctx.state.data.get("files", []), staged.id]
    ctx.goto("fulfil.staff_proof", **{**ctx.state.data, "files": files})
    ctx.say(
        ctx._("已收到 {n} 份材料。可继续上传，或确认登记：", n=len(files)),
        [[ctx.button(ctx._("✅ 确认登记"), "fulfil.staff_save")], menu_row(ctx)],
    )


@registry.action("fulfil.staff_save")
async def staff_save(ctx: Ctx, _: dict) -> None:
    staff = require(ctx.identity.staff, "fulfilment.record")
    data = dict(ctx.state.data)
    if ctx.state.state != "fulfil.staff_proof" or "method" not in data:
        raise UserError(N_("请从信用核查重新开始登记。"))
    record = await _record_in_flow(ctx)
    row = await fulfilment.record_fulfilment(
        ctx.session,
        record,
        fulfilled_on=date.fromisoformat(data["fulfilled_on"]),
        method=data["method"],
        source="staff",
        actor=ctx.actor,
        staff=staff,
        now=utc_now(ctx.services.clock),
        today=ctx.today,
        calendar=ctx.services.calendar,
    )
    ctx.goto("menu")
    if row is not None:
        await attach_staged(
            ctx.session,
            [int(i) for i in data.get("files", [])],
            state_id=ctx.state.id or 0,
            owner_kind=fulfilment.ENTITY,
            owner_id=row.id or 0,
        )
    await drop_staged(ctx.session, ctx.state.id or 0, STAGE)
    if row is None:
        ctx.say(ctx._("该处罚已按此登记过履行，未作改动。"), [menu_row(ctx)])
        return
    ctx.say(
        ctx._(
            "✅ 已登记履行（编号 {ref_no}）：{no}，{method}，{day}。符合条件时企业将收到可申请信用修复的通知。",
            ref_no=row.ref_no,
            no=record.decision_no,
            method=_method(ctx, row.method),
            day=row.fulfilled_on,
        ),
        [menu_row(ctx)],
    )
