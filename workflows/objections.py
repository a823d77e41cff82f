"""异议申诉: a subject objects to a record (or a driver to one deduction); staff verify within a working-day
limit and either correct (更正) or uphold it (维持). Rules: domain-rules §5; rules.OBJECTION_*."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import ApplicationStatus, CreditRecord, DriverViolation, Objection, RecordStatus, Staff, Subject
from workflows import applications, rules
from workflows.applications import (
    OPEN_STATUSES,
    close_deadlines,
    next_ref,
    set_deadline,
    status_label,
    transition,
)
from workflows.audit import log_change
from workflows.calendar import WorkdayCalendar
from workflows.errors import ForgedAttempt, UserError
from workflows.materials import Upload, store
from workflows.notices import notify_subject

ENTITY = "objection"
# Fields staff may correct on a record (更正); anything else needs a new record.
CORRECTABLE = (
    "decision_no",
    "decision_date",
    "authority",
    "penalty_type",
    "fine_wan",
    "facts",
    "basis",
    "content",
    "severity",
    "publicity_end",
)


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


def _fields(record: CreditRecord) -> dict[str, Any]:
    return {k: getattr(record, k) for k in CORRECTABLE}


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
    changes: dict[str, Any] | None = None,
    withdraw_record: bool = False,
) -> Objection:
    """更正 (approve: correct the fields in `changes`, or withdraw the record) or 维持 (reject, with reason)."""
    if action not in ("accept", "approve", "reject"):
        raise ValueError(action)
    if action == "reject" and not reason.strip():
        raise UserError("维持原记录须写明理由。", "A reason is required.")
    obj = await session.get(Objection, obj_id, with_for_update=True, populate_existing=True)
    if obj is None:
        raise UserError("找不到该异议。", "No such objection.")
    before_status = transition(obj, action, expected_version=expected_version)
    obj.decided_by = staff.id
    shown_changes: dict[str, list[Any]] = {}
    if action in ("approve", "reject"):
        obj.decided_at = now
        obj.outcome = "更正" if action == "approve" else "维持"
        obj.outcome_reason = reason or None
        await close_deadlines(session, ENTITY, obj.id or 0, now)
    if action == "approve" and obj.record_id is not None:
        record = await session.get(CreditRecord, obj.record_id)
        assert record is not None
        before = _fields(record) | {"status": record.status}
        for key, value in (changes or {}).items():
            if key not in CORRECTABLE:
                raise ValueError(f"field {key} cannot be corrected")
            setattr(record, key, value)
        if withdraw_record:
            record.status = RecordStatus.WITHDRAWN
            record.status_changed_on = today
        after = _fields(record) | {"status": record.status}
        shown_changes = {k: [str(before[k]), str(after[k])] for k in after if before[k] != after[k]}
        await log_change(
            session,
            actor=f"staff:{staff.id}",
            action="record.corrected",
            entity="credit_record",
            entity_id=record.id,
            subject_id=record.subject_id,
            before={k: str(v) for k, v in before.items()},
            after={k: str(v) for k, v in after.items()},
        )
    elif action == "approve" and obj.violation_id is not None:
        violation = await session.get(DriverViolation, obj.violation_id)
        assert violation is not None
        violation.withdrawn = True
        shown_changes = {"扣分": [str(violation.points), "0（已撤销）"]}
        await log_change(
            session,
            actor=f"staff:{staff.id}",
            action="violation.withdrawn",
            entity="driver_violation",
            entity_id=violation.id,
            subject_id=violation.subject_id,
            before={"withdrawn": False},
            after={"withdrawn": True},
        )
    await log_change(
        session,
        actor=f"staff:{staff.id}",
        action=f"objection.{action}",
        entity=ENTITY,
        entity_id=obj.id,
        subject_id=obj.subject_id,
        before={"status": before_status},
        after={"status": obj.status, "note": reason, "changes": shown_changes},
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
                "changes": shown_changes,
                "withdrawn": withdraw_record,
            },
        )
    return obj


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
