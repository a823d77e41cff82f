"""履行: a penalty's obligations were met (罚款已缴纳 / 整改完成) — the missing link of credit repair.

Staff record it (from 信用核查 or a record), an enterprise declares it with proof and staff confirm or
refuse with a reason, or an import brings it. A confirmed fulfilment sets the record's
`obligations_fulfilled_on`, which repair eligibility reads (records.repair_eligibility); when that makes
the record repairable today the enterprise is told at once, otherwise the daily scan tells it on the day.

declaration: draft (date, method, proofs) ──submit──▶ submitted ──approve──▶ approved (record fulfilled)
                                                              └─reject──▶ rejected (reason; may declare again)
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import ApplicationStatus, CreditRecord, ObligationFulfilment, RecordKind, RecordStatus, Staff
from workflows import rules
from workflows.applications import close_deadlines, next_ref, set_deadline, transition
from workflows.audit import log_change
from workflows.calendar import WorkdayCalendar
from workflows.errors import UserError
from workflows.materials import Upload, materials_of, store
from workflows.notices import notify_subject
from workflows.penalties import notify_repairable

ENTITY = "obligation_fulfilment"
REF_PREFIX = "LX"  # 履行


def check_fulfilment(record: CreditRecord, fulfilled_on: date, method: str | None, today: date) -> None:
    """One checker for staff entry, the enterprise's declaration and the import (method None: not yet
    chosen, the date alone is checked)."""
    if record.kind != RecordKind.PENALTY:
        raise UserError(
            "只有行政处罚记录需要登记履行。", "Only penalty decisions have obligations to fulfil."
        )
    if record.status == RecordStatus.WITHDRAWN:
        raise UserError("该处罚已撤销，无需登记履行。", "The penalty was withdrawn.")
    if method is not None and method not in rules.FULFILMENT_METHODS:
        raise UserError(
            f"履行方式应为 {'、'.join(rules.FULFILMENT_METHODS)} 之一。",
            "The method must be one of: fine paid, rectified, other.",
        )
    if fulfilled_on > today:
        raise UserError("履行日期不能晚于今天。", "The fulfilment date cannot be in the future.")
    if fulfilled_on < record.decision_date:
        raise UserError(
            f"履行日期不能早于处罚决定日期（{record.decision_date}）。",
            f"The fulfilment date cannot be before the decision ({record.decision_date}).",
        )


async def open_declaration(session: AsyncSession, record_id: int) -> ObligationFulfilment | None:
    stmt = select(ObligationFulfilment).where(
        ObligationFulfilment.record_id == record_id,
        ObligationFulfilment.status == ApplicationStatus.SUBMITTED,
    )
    return (await session.exec(stmt)).first()


async def _apply(
    session: AsyncSession,
    record: CreditRecord,
    row: ObligationFulfilment,
    *,
    actor: str,
    now: datetime,
    today: date,
    calendar: WorkdayCalendar,
) -> bool:
    """Write a confirmed fulfilment onto its record; True when the record changed."""
    before = {"fulfilled_on": record.obligations_fulfilled_on, "method": record.fulfilment_method}
    if before == {"fulfilled_on": row.fulfilled_on, "method": row.method}:
        return False
    record.obligations_fulfilled_on = row.fulfilled_on
    record.fulfilment_method = row.method
    await log_change(
        session,
        actor=actor,
        action="record.fulfilled",
        entity="credit_record",
        entity_id=record.id,
        subject_id=record.subject_id,
        before={k: (v.isoformat() if isinstance(v, date) else v) for k, v in before.items()},
        after={"fulfilled_on": row.fulfilled_on.isoformat(), "method": row.method, "ref_no": row.ref_no},
    )
    await notify_repairable(session, record, today=today, now=now, calendar=calendar)
    return True


async def record_fulfilment(
    session: AsyncSession,
    record: CreditRecord,
    *,
    fulfilled_on: date,
    method: str,
    source: str,
    actor: str,
    now: datetime,
    today: date,
    calendar: WorkdayCalendar,
    staff: Staff | None = None,
    note: str = "",
    proofs: list[Upload] | None = None,
) -> ObligationFulfilment | None:
    """Staff or an import record a fulfilment as fact. None when the record already says exactly this
    (an import run twice changes nothing)."""
    check_fulfilment(record, fulfilled_on, method, today)
    if (record.obligations_fulfilled_on, record.fulfilment_method) == (fulfilled_on, method):
        return None
    row = ObligationFulfilment(
        ref_no=await next_ref(session, ObligationFulfilment, REF_PREFIX, today),
        subject_id=record.subject_id,
        record_id=record.id or 0,
        fulfilled_on=fulfilled_on,
        method=method,
        note=note[:500],
        source=source,
        status=ApplicationStatus.APPROVED,
        submitted_at=now,
        decided_at=now,
        decided_by=staff.id if staff else None,
    )
    session.add(row)
    await session.flush()
    for upload in proofs or []:
        await store(
            session, owner_kind=ENTITY, owner_id=row.id or 0, step="proof", upload=upload, replace=False
        )
    # A declaration still waiting is settled by this fact.
    pending = await open_declaration(session, record.id or 0)
    if pending is not None:
        pending.status = ApplicationStatus.APPROVED
        pending.decided_at = now
        pending.version += 1
        await close_deadlines(session, ENTITY, pending.id or 0, now)
    await _apply(session, record, row, actor=actor, now=now, today=today, calendar=calendar)
    return row


async def draft_declaration(
    session: AsyncSession,
    record: CreditRecord,
    *,
    fulfilled_on: date,
    method: str,
    actor: str,
    now: datetime,
    today: date,
) -> ObligationFulfilment:
    """The enterprise says it has fulfilled: a draft it adds proof to (kept across /cancel)."""
    check_fulfilment(record, fulfilled_on, method, today)
    if record.obligations_fulfilled_on is not None:
        raise UserError(
            f"该处罚已登记履行（{record.obligations_fulfilled_on}），无需再次申报。",
            "Fulfilment is already recorded for this penalty.",
        )
    if await open_declaration(session, record.id or 0) is not None:
        raise UserError(
            "该处罚已有待确认的履行申报，请等待工作人员确认。", "A declaration is already waiting."
        )
    stmt = select(ObligationFulfilment).where(
        ObligationFulfilment.record_id == record.id, ObligationFulfilment.status == ApplicationStatus.DRAFT
    )
    row = (await session.exec(stmt)).first()
    if row is None:
        row = ObligationFulfilment(
            ref_no=await next_ref(session, ObligationFulfilment, REF_PREFIX, today),
            subject_id=record.subject_id,
            record_id=record.id or 0,
            fulfilled_on=fulfilled_on,
            method=method,
            source="enterprise",
            status=ApplicationStatus.DRAFT,
            submitted_at=now,
        )
        session.add(row)
        await session.flush()
        await log_change(
            session,
            actor=actor,
            action="fulfilment.create",
            entity=ENTITY,
            entity_id=row.id,
            subject_id=record.subject_id,
            after={"ref_no": row.ref_no},
        )
    row.fulfilled_on, row.method = fulfilled_on, method
    return row


async def add_proof(session: AsyncSession, row: ObligationFulfilment, upload: Upload) -> int:
    """One more proof file on a draft; returns how many it has."""
    if row.status != ApplicationStatus.DRAFT:
        raise UserError("该申报已提交，不能再添加文件。", "The declaration was already submitted.")
    await store(session, owner_kind=ENTITY, owner_id=row.id or 0, step="proof", upload=upload, replace=False)
    return len(await materials_of(session, ENTITY, row.id or 0))


async def submit_declaration(
    session: AsyncSession,
    row: ObligationFulfilment,
    *,
    actor: str,
    now: datetime,
    today: date,
    calendar: WorkdayCalendar,
) -> ObligationFulfilment:
    """A 待办 item for staff with a working-day limit (rules.FULFILMENT_CONFIRM_WORKDAYS)."""
    if not await materials_of(session, ENTITY, row.id or 0):
        raise UserError(
            "请至少上传一份证明材料（缴款凭证、整改报告等）。", "Upload at least one proof (receipt, report)."
        )
    record = await session.get(CreditRecord, row.record_id)
    assert record is not None
    check_fulfilment(record, row.fulfilled_on, row.method, today)
    transition(row, "submit")
    row.submitted_at = now
    row.due_on = calendar.add_workdays(today, rules.FULFILMENT_CONFIRM_WORKDAYS)
    await set_deadline(
        session,
        kind="fulfilment_review",
        ref_kind=ENTITY,
        ref_id=row.id or 0,
        subject_id=row.subject_id,
        due_on=row.due_on,
    )
    await log_change(
        session,
        actor=actor,
        action="fulfilment.submit",
        entity=ENTITY,
        entity_id=row.id,
        subject_id=row.subject_id,
        after={"ref_no": row.ref_no, "fulfilled_on": row.fulfilled_on.isoformat(), "method": row.method},
    )
    return row


async def decide(
    session: AsyncSession,
    declaration_id: int,
    approve: bool,
    *,
    staff: Staff,
    expected_version: int,
    reason: str,
    now: datetime,
    today: date,
    calendar: WorkdayCalendar,
) -> ObligationFulfilment:
    """Staff confirm (the record is fulfilled) or refuse with a reason; the enterprise is told either way."""
    row = await session.get(
        ObligationFulfilment, declaration_id, with_for_update=True, populate_existing=True
    )
    if row is None:
        raise UserError("找不到该履行申报。", "No such declaration.")
    before = transition(row, "approve" if approve else "reject", expected_version=expected_version)
    if not approve and not reason.strip():
        raise UserError("不予确认时请说明理由。", "Give the reason for refusing.")
    record = await session.get(CreditRecord, row.record_id)
    assert record is not None
    row.decided_at = now
    row.decided_by = staff.id
    row.reason = reason.strip() or None
    await close_deadlines(session, ENTITY, row.id or 0, now)
    await log_change(
        session,
        actor=f"staff:{staff.id}",
        action="fulfilment.approve" if approve else "fulfilment.reject",
        entity=ENTITY,
        entity_id=row.id,
        subject_id=row.subject_id,
        before={"status": before},
        after={"status": row.status, "reason": row.reason},
    )
    if approve:
        check_fulfilment(record, row.fulfilled_on, row.method, today)
        await _apply(session, record, row, actor=f"staff:{staff.id}", now=now, today=today, calendar=calendar)
    await notify_subject(
        session,
        row.subject_id,
        event_key=f"fulfilment:{row.id}:{row.status}",
        template="fulfilment_decided",
        context={
            "ref_no": row.ref_no,
            "decision_no": record.decision_no,
            "approved": approve,
            "fulfilled_on": row.fulfilled_on,
            "method": row.method,
            "reason": row.reason or "",
        },
        kind="decision",
        now=now,
        legally_required=False,
    )
    return row


async def fulfilments_of_record(session: AsyncSession, record_id: int) -> list[ObligationFulfilment]:
    stmt = (
        select(ObligationFulfilment)
        .where(ObligationFulfilment.record_id == record_id)
        .order_by(col(ObligationFulfilment.id))
    )
    return list((await session.exec(stmt)).all())


async def proofs_of(session: AsyncSession, declaration_id: int) -> list:  # type: ignore[type-arg]
    return await materials_of(session, ENTITY, declaration_id)
