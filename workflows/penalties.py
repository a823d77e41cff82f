"""A penalty arrives (recorded by staff or imported): the record, its 双公示 deadline, and 三书同达 — the
decision notice, the 信用修复告知书 and the 信用异议申请流程告知书 served together to the subject's bound
chats, or on binding when none is bound yet. Also the automatic take-down at the maximum period.
Rules: domain-rules §2, §4, §6."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import CreditRecord, RecordKind, RecordStatus, Severity
from workflows import labels, rules
from workflows.applications import set_deadline
from workflows.audit import log_change
from workflows.calendar import WorkdayCalendar
from workflows.errors import UserError
from workflows.notices import SANSHU_KIND, notice_button, notify_subject, sanshu_event_key, subject_chats
from workflows.records import PublicityWindow, publicity_window, repair_eligibility

# 三书同达 (Wenshui 2024 plan item 10 [P]); the third notice's official definition was not found (§6).
SANSHU_TEMPLATES = ("sanshu_decision", "sanshu_repair_notice", "sanshu_objection_notice")


@dataclass(frozen=True)
class PenaltyTerms:
    """What a penalty's facts decide: its 失信程度 and its publicity window (§4.2)."""

    severity: Severity
    window: PublicityWindow | None  # None: evaluation grades are not published as 失信信息

    @property
    def publicity_end(self) -> date | None:
        return self.window.max_end if self.window else None


def penalty_terms(
    kind: RecordKind,
    decision_date: date,
    *,
    severity: Severity | None = None,
    penalty_type: str | None = None,
    fine_wan: float | None = None,
    procedure: str | None = None,
    stated_end: date | None = None,
) -> PenaltyTerms:
    """The class the authority stated, or the configured table's (rules.classify_penalty), and the window
    from the decision date; `stated_end` is a 公示截止期 the source system gave. Recording a penalty and
    correcting one (workflows/corrections.py) both come here, so their dates cannot drift apart."""
    if severity is None:
        severity = rules.classify_penalty(penalty_type, fine_wan, procedure)
    return PenaltyTerms(severity, publicity_window(kind, severity, decision_date, stated_end))


def publication_due(decision_date: date, calendar: WorkdayCalendar) -> date:
    """双公示 within 7 working days of the decision (§2 P1)."""
    return calendar.add_workdays(decision_date, rules.PUBLICATION_WORKDAYS)


async def record_penalty(
    session: AsyncSession, *, actor: str, calendar: WorkdayCalendar, now: datetime, today: date, **fields: Any
) -> CreditRecord:
    """Store a penalty decision, open its 7-working-day publication deadline and serve 三书同达."""
    terms = penalty_terms(
        RecordKind.PENALTY,
        fields["decision_date"],
        severity=fields.get("severity"),
        penalty_type=fields.get("penalty_type"),
        fine_wan=fields.get("fine_wan"),
        procedure=fields.get("procedure"),
        stated_end=fields.get("publicity_end"),
    )
    fields["severity"] = terms.severity
    fields["publicity_end"] = terms.publicity_end
    record = CreditRecord(kind=RecordKind.PENALTY, **fields)
    session.add(record)
    await session.flush()
    await set_deadline(
        session,
        kind="publication",
        ref_kind="credit_record",
        ref_id=record.id or 0,
        subject_id=record.subject_id,
        due_on=publication_due(record.decision_date, calendar),
    )
    await log_change(
        session,
        actor=actor,
        action="record.create",
        entity="credit_record",
        entity_id=record.id,
        subject_id=record.subject_id,
        after={"decision_no": record.decision_no, "severity": record.severity},
    )
    await serve_notices(session, record, today=today, now=now, calendar=calendar)
    return record


def notice_context(record: CreditRecord, today: date, calendar: WorkdayCalendar) -> dict[str, Any]:
    window = publicity_window(
        record.kind, Severity(record.severity), record.decision_date, record.publicity_end
    )
    assert window is not None
    elig = repair_eligibility(record, today, calendar)
    return {
        "record_id": record.id,
        "decision_no": record.decision_no,
        "decision_date": record.decision_date,
        "authority": record.authority,
        "penalty_type": record.penalty_type or "",
        "content": record.content,
        "facts": record.facts,
        "severity": labels.label(labels.SEVERITY, record.severity),
        "regime": window.regime.name,
        # 令58号's period table is unread (domain-rules §17): such periods go out with UNVERIFIED_NOTE.
        "periods_verified": window.regime.source.verified,
        "published": window.published,
        "publicity_start": window.start,
        "min_end": window.min_end,
        "max_end": window.max_end,
        "repair_from": elig.from_date,
        "repair_note": elig.zh,
        "repair_decide_workdays": rules.REPAIR_DECIDE_WORKDAYS,
        "objection_workdays": rules.OBJECTION_DECIDE_WORKDAYS,
        "objection_reasons": list(rules.OBJECTION_REASONS),
    }


async def serve_notices(
    session: AsyncSession, record: CreditRecord, *, today: date, now: datetime, calendar: WorkdayCalendar
) -> bool:
    """Queue the three notices for every bound chat; False (and nothing written) when none is bound."""
    if not await subject_chats(session, record.subject_id):
        return False
    context = notice_context(record, today, calendar)
    buttons = {
        "sanshu_repair_notice": [
            [notice_button("🛠 申请信用修复", "🛠 Apply for repair", "repair.start", record_id=record.id)]
        ],
        "sanshu_objection_notice": [
            [notice_button("⚖️ 提出异议", "⚖️ Object", "objection.start", record_id=record.id)]
        ],
    }
    written = 0
    for template in SANSHU_TEMPLATES:
        written += await notify_subject(
            session,
            record.subject_id,
            event_key=sanshu_event_key(record.id or 0, template),
            template=template,
            context=context,
            buttons=buttons.get(template),
            legally_required=True,
            now=now,
            kind=SANSHU_KIND,
        )
    # Served is a fact of delivery, not of queueing: the dispatcher sets notices_served_at when a chat
    # has received all three (workflows/notices.py), and clears it when none can.
    return written > 0


async def serve_pending_notices(
    session: AsyncSession, subject_id: int, *, today: date, now: datetime, calendar: WorkdayCalendar
) -> int:
    """On binding: a subject not bound when its penalties arrived gets their notices now."""
    stmt = select(CreditRecord).where(
        CreditRecord.subject_id == subject_id,
        CreditRecord.kind == RecordKind.PENALTY,
        CreditRecord.status == RecordStatus.PUBLISHED,
        col(CreditRecord.notices_served_at).is_(None),
    )
    served = 0
    for record in (await session.exec(stmt)).all():
        served += await serve_notices(session, record, today=today, now=now, calendar=calendar)
    return served


async def notify_repairable(
    session: AsyncSession, record: CreditRecord, *, today: date, now: datetime, calendar: WorkdayCalendar
) -> int:
    """Tell the enterprise that a record can be repaired now. One notice per record (its outbox key), so
    the daily scan and a fulfilment confirmed today never both send it."""
    if not repair_eligibility(record, today, calendar).eligible_now:
        return 0
    return await notify_subject(
        session,
        record.subject_id,
        event_key=f"record:{record.id}:repairable",
        template="repair_opportunity",
        context={
            "decision_no": record.decision_no,
            "decision_date": record.decision_date,
            "severity": labels.label(labels.SEVERITY, record.severity),
        },
        kind="opportunity",
        now=now,
        buttons=[
            [notice_button("🛠 申请信用修复", "🛠 Apply for repair", "repair.start", record_id=record.id)]
        ],
    )


async def take_down_expired(
    session: AsyncSession, *, today: date, now: datetime | None = None, actor: str = "system"
) -> list[CreditRecord]:
    """Records past their maximum publicity end are taken down without an application (§4.2), and the
    subject is told. Reads only rows whose stored end has passed (index on status, publicity_end), plus
    the few without a stored end. Idempotent: a second run finds nothing."""
    stmt = select(CreditRecord).where(
        CreditRecord.status == RecordStatus.PUBLISHED,
        col(CreditRecord.kind).in_(
            [RecordKind.PENALTY, RecordKind.DISHONESTY_LIST, RecordKind.COMMITMENT_BREACH]
        ),
        or_(col(CreditRecord.publicity_end) < today, col(CreditRecord.publicity_end).is_(None)),
    )
    taken: list[CreditRecord] = []
    for record in (await session.exec(stmt)).all():
        window = publicity_window(
            record.kind, Severity(record.severity), record.decision_date, record.publicity_end
        )
        if window is None or window.max_end >= today:
            continue
        record.status = RecordStatus.EXPIRED
        record.status_changed_on = today
        await log_change(
            session,
            actor=actor,
            action="record.expired",
            entity="credit_record",
            entity_id=record.id,
            subject_id=record.subject_id,
            before={"status": RecordStatus.PUBLISHED},
            after={"status": RecordStatus.EXPIRED, "max_end": window.max_end.isoformat()},
        )
        await notify_subject(
            session,
            record.subject_id,
            event_key=f"record:{record.id}:expired",
            template="record_taken_down",
            kind="decision",
            now=now,
            context={
                "decision_no": record.decision_no,
                "decision_date": record.decision_date,
                "max_end": window.max_end,
            },
        )
        taken.append(record)
    return taken


async def mark_published(session: AsyncSession, record_id: int, *, staff: Any, now: datetime) -> CreditRecord:
    """双公示 done: the publication deadline closes and its reminders stop."""
    from workflows.applications import close_deadlines

    record = await session.get(CreditRecord, record_id)
    if record is None:
        raise UserError("找不到该记录。", "No such record.")
    if record.published_at is None:
        record.published_at = now
        await close_deadlines(session, "credit_record", record.id or 0, now, kind="publication")
        await log_change(
            session,
            actor=f"staff:{staff.id}",
            action="record.published",
            entity="credit_record",
            entity_id=record.id,
            subject_id=record.subject_id,
            after={"published_at": now.isoformat()},
        )
    return record
