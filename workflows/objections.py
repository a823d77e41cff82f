"""异议申诉: a subject objects to a record (or a driver to one deduction); staff verify within a working-day
limit and either correct (更正) or uphold it (维持). Rules: domain-rules §5; rules.OBJECTION_*."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    ApplicationStatus,
    CreditRecord,
    Deadline,
    DeadlineStatus,
    DriverViolation,
    Objection,
    RecordStatus,
    Staff,
    Subject,
)
from workflows import applications, corrections, rules
from workflows.applications import (
    OPEN_STATUSES,
    close_deadlines,
    next_ref,
    set_deadline,
    status_label,
    transition,
)
from workflows.audit import log_change
from workflows.calendar import WorkdayCalendar, default_calendar
from workflows.errors import ForgedAttempt, UserError
from workflows.materials import Upload, store
from workflows.notices import notify_subject
from workflows.penalties import publication_due

ENTITY = "objection"


def next_step(draft: dict) -> str | None:
    if not draft.get("reason"):
        return "reason"
    if not draft.get("description"):
        return "description"
    if not draft.get("evidence_done"):
        return "evidence"
    if not draft.get("commitment_confirmed"):
        return "commitment"
    return None


async def _target(
    session: AsyncSession, subject: Subject, *, record_id: int | None, violation_id: int | None
) -> CreditRecord | DriverViolation:
    target: CreditRecord | DriverViolation | None = None
    if record_id is not None:
        target = await session.get(CreditRecord, record_id)
    elif violation_id is not None:
        target = await session.get(DriverViolation, violation_id)
    if target is None or target.subject_id != subject.id:
        raise ForgedAttempt(
            "找不到这条记录，或它不属于您。",
            "Record not found for you.",
            action="objection.forged",
            entity="credit_record" if record_id else "driver_violation",
            entity_id=record_id or violation_id,
        )
    return target


async def open_objection(
    session: AsyncSession, *, record_id: int | None = None, violation_id: int | None = None
) -> Objection | None:
    stmt = select(Objection).where(col(Objection.status).in_([*OPEN_STATUSES, ApplicationStatus.DRAFT]))
    stmt = (
        stmt.where(Objection.record_id == record_id)
        if record_id
        else stmt.where(Objection.violation_id == violation_id)
    )
    return (await session.exec(stmt)).first()


async def records_under_objection(session: AsyncSession, record_ids: list[int]) -> set[int]:
    """Which of these records show 异议处理中 (the record stays published meanwhile, §5 O6)."""
    if not record_ids:
        return set()
    stmt = select(Objection.record_id).where(
        col(Objection.record_id).in_(record_ids), col(Objection.status).in_(list(OPEN_STATUSES))
    )
    return {r for r in (await session.exec(stmt)).all() if r is not None}


async def start(
    session: AsyncSession,
    *,
    subject: Subject,
    actor: str,
    record_id: int | None = None,
    violation_id: int | None = None,
) -> Objection:
    await _target(session, subject, record_id=record_id, violation_id=violation_id)
    existing = await open_objection(session, record_id=record_id, violation_id=violation_id)
    if existing is not None and existing.status == ApplicationStatus.DRAFT:
        return existing
    if existing is not None:
        raise UserError(
            f"这条记录已有处理中的异议（{existing.ref_no}，{status_label(existing.status)}），请勿重复提出。",
            f"An objection is already open ({existing.ref_no}).",
        )
    assert subject.id is not None
    obj = Objection(
        ref_no="DRAFT", subject_id=subject.id, record_id=record_id, violation_id=violation_id, draft={}
    )
    session.add(obj)
    await session.flush()
    obj.ref_no = f"DRAFT-{obj.id}"
    await log_change(
        session,
        actor=actor,
        action="objection.create",
        entity=ENTITY,
        entity_id=obj.id,
        subject_id=subject.id,
        after={"record_id": record_id, "violation_id": violation_id},
    )
    return obj


def _editable(obj: Objection) -> None:
    if obj.status != ApplicationStatus.DRAFT:
        raise UserError(
            f"异议已{status_label(obj.status)}，不能再修改。", "The objection can no longer be changed."
        )


def set_reason(obj: Objection, reason: str) -> None:
    _editable(obj)
    if reason not in rules.OBJECTION_REASONS:
        raise UserError("请从按钮中选择异议理由。", "Choose a reason from the buttons.")
    obj.reason = reason
    obj.draft = {**obj.draft, "reason": reason}


def set_description(obj: Objection, text: str) -> None:
    _editable(obj)
    text = text.strip()
    if len(text) < 5:
        raise UserError(
            "请具体说明哪里有误、应当是什么（至少 5 个字）。",
            "Describe what is wrong (at least 5 characters).",
        )
    obj.description = text
    obj.draft = {**obj.draft, "description": text}


async def add_evidence(session: AsyncSession, obj: Objection, upload: Upload, actor: str) -> int:
    _editable(obj)
    files = obj.draft.get("evidence", [])
    if len(files) >= rules.OBJECTION_MAX_EVIDENCE_FILES:
        raise UserError(f"证据最多 {rules.OBJECTION_MAX_EVIDENCE_FILES} 个文件。", "Too many files.")
    material = await store(
        session, owner_kind=ENTITY, owner_id=obj.id or 0, step="evidence", upload=upload, replace=False
    )
    obj.draft = {**obj.draft, "evidence": [*files, material.id]}
    await log_change(
        session,
        actor=actor,
        action="objection.upload",
        entity=ENTITY,
        entity_id=obj.id,
        subject_id=obj.subject_id,
        after={"material_id": material.id, "file": upload.file_name},
    )
    return len(obj.draft["evidence"])


def finish_evidence(obj: Objection) -> None:
    _editable(obj)
    obj.draft = {**obj.draft, "evidence_done": True}


def confirm_commitment(obj: Objection, letter: str) -> None:
    _editable(obj)
    obj.draft = {**obj.draft, "commitment_confirmed": True, "letter": letter}


def redo(obj: Objection, step: str) -> None:
    _editable(obj)
    keys = {
        "reason": ("reason",),
        "description": ("description",),
        "evidence": ("evidence_done",),
        "commitment": ("commitment_confirmed", "letter"),
    }
    obj.draft = {k: v for k, v in obj.draft.items() if k not in keys[step]}


async def submit(
    session: AsyncSession,
    obj: Objection,
    *,
    today: date,
    now: datetime,
    calendar: WorkdayCalendar,
    actor: str,
) -> Objection:
    if (missing := next_step(obj.draft)) is not None:
        raise UserError(f"异议还没填完（缺：{missing}），暂不能提交。", f"Incomplete: {missing}.")
    transition(obj, "submit")
    obj.ref_no = await next_ref(session, Objection, "YY", today)
    obj.submitted_at = now
    obj.due_on = calendar.add_workdays(today, rules.OBJECTION_DECIDE_WORKDAYS)
    await set_deadline(
        session,
        kind="objection_review",
        ref_kind=ENTITY,
        ref_id=obj.id or 0,
        subject_id=obj.subject_id,
        due_on=obj.due_on,
    )
    await log_change(
        session,
        actor=actor,
        action="objection.submit",
        entity=ENTITY,
        entity_id=obj.id,
        subject_id=obj.subject_id,
        after={"ref_no": obj.ref_no, "due_on": obj.due_on.isoformat()},
    )
    return obj


async def withdraw(session: AsyncSession, obj: Objection, *, now: datetime, actor: str) -> None:
    await applications.withdraw(
        session, obj, entity=ENTITY, action="objection.withdraw", now=now, actor=actor
    )


async def decide(
    session: AsyncSession,
    obj_id: int,
    action: str,
    *,
    staff: Staff,
    expected_version: int,
    today: date,
    now: datetime,
    reason: str = "",
    changes: Mapping[str, Any] | None = None,
    withdraw_record: bool = False,
    calendar: WorkdayCalendar | None = None,
) -> Objection:
    """更正 (approve: correct the facts in `changes` — typed text or values, each through its validator in
    workflows/corrections.py — or withdraw the record) or 维持 (reject, with reason). A correction
    recomputes the dates the facts decide, and the subject is told every change in words."""
    if action not in ("accept", "approve", "reject"):
        raise ValueError(action)
    if action == "reject" and not reason.strip():
        raise UserError("维持原记录须写明理由。", "A reason is required.")
    calendar = calendar or default_calendar()
    obj = await session.get(Objection, obj_id, with_for_update=True, populate_existing=True)
    if obj is None:
        raise UserError("找不到该异议。", "No such objection.")
    before_status = transition(obj, action, expected_version=expected_version)
    obj.decided_by = staff.id
    shown: list[corrections.Change] = []
    if action in ("approve", "reject"):
        obj.decided_at = now
        obj.outcome = "更正" if action == "approve" else "维持"
        obj.outcome_reason = reason or None
        await close_deadlines(session, ENTITY, obj.id or 0, now)
    if action == "approve":
        target = await correction_target(session, obj)
        if isinstance(target, DriverViolation) and not changes:
            withdraw_record = True  # an upheld objection to a deduction without a corrected value removes it
        correction = corrections.plan(
            target, changes or {}, withdraw=withdraw_record, today=today, calendar=calendar
        )
        if not correction.changes:
            raise UserError(
                "更正没有改变任何内容：请修改至少一项，或撤销该记录。",
                "The correction changes nothing: change a field, or withdraw the record.",
            )
        corrections.apply(target, correction)
        shown = correction.changes
        if isinstance(target, CreditRecord):
            await _follow_record(session, target, correction, today=today, now=now, calendar=calendar)
        await log_change(
            session,
            actor=f"staff:{staff.id}",
            action="record.corrected" if isinstance(target, CreditRecord) else "violation.corrected",
            entity="credit_record" if isinstance(target, CreditRecord) else "driver_violation",
            entity_id=target.id,
            subject_id=target.subject_id,
            before=corrections.audit_values(correction.before),
            after=corrections.audit_values(correction.after),
        )
    await log_change(
        session,
        actor=f"staff:{staff.id}",
        action=f"objection.{action}",
        entity=ENTITY,
        entity_id=obj.id,
        subject_id=obj.subject_id,
        before={"status": before_status},
        after={"status": obj.status, "note": reason, "changes": [c.line() for c in shown]},
    )
    if action != "accept":
        await notify_subject(
            session,
            obj.subject_id,
            event_key=f"objection:{obj.id}:{action}",
            template=f"objection_{action}",
            legally_required=True,
            now=now,
            kind="decision",
            context={
                "ref_no": obj.ref_no,
                "reason": reason,
                "changes": [c.for_notice() for c in shown],
                "withdrawn": withdraw_record,
            },
        )
    return obj


async def correction_target(session: AsyncSession, obj: Objection) -> CreditRecord | DriverViolation:
    """The record (or driver's deduction) the objection is about."""
    target: CreditRecord | DriverViolation | None = (
        await session.get(CreditRecord, obj.record_id)
        if obj.record_id is not None
        else await session.get(DriverViolation, obj.violation_id)
        if obj.violation_id is not None
        else None
    )
    if target is None:
        raise UserError("找不到该异议涉及的记录。", "The objection's record is gone.")
    return target


async def _follow_record(
    session: AsyncSession,
    record: CreditRecord,
    correction: corrections.Correction,
    *,
    today: date,
    now: datetime,
    calendar: WorkdayCalendar,
) -> None:
    """What hangs on a corrected record: its 双公示 deadline follows the decision date while it is not
    published yet, and ends when the record is withdrawn."""
    if record.status == RecordStatus.WITHDRAWN and "status" in correction.values:
        record.status_changed_on = today
        await close_deadlines(session, "credit_record", record.id or 0, now, kind="publication")
    elif "decision_date" in correction.values and record.published_at is None:
        deadline = (
            await session.exec(
                select(Deadline).where(
                    Deadline.ref_kind == "credit_record",
                    Deadline.ref_id == record.id,
                    Deadline.kind == "publication",
                    Deadline.status == DeadlineStatus.OPEN,
                )
            )
        ).first()
        if deadline is not None:
            deadline.due_on = publication_due(record.decision_date, calendar)


async def objection_of_subject(session: AsyncSession, subject_id: int, obj_id: int) -> Objection | None:
    obj = await session.get(Objection, obj_id)
    return obj if obj is not None and obj.subject_id == subject_id else None


async def subject_objections(session: AsyncSession, subject_id: int) -> list[Objection]:
    stmt = (
        select(Objection)
        .where(Objection.subject_id == subject_id)
        .order_by(col(Objection.id).desc())
        .limit(20)
    )
    return list((await session.exec(stmt)).all())
