"""信用核查: staff look up a subject before 选人、选企、选车 ("应查必查、即查即用", domain-rules §18
Zaozhuang #6) and see its credit class with the supervision tier it leads to (§11). Every look-up is
written to the audit log (Xiamen #8: data security)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from models import (
    Commitment,
    CreditRecord,
    Fulfilment,
    Interview,
    Objection,
    RecordKind,
    RecordStatus,
    RepairApplication,
    RiskWarning,
    Severity,
    Staff,
    Subject,
    SubjectKind,
)
from workflows import rules
from workflows.applications import OPEN_STATUSES
from workflows.assessment import driver_assessment
from workflows.audit import log_change
from workflows.errors import UserError
from workflows.interviews import no_shows, open_interviews
from workflows.validation import normalize_code

T = TypeVar("T")

# The classes of rules.SUPERVISION_TIERS, best first.
TRUSTWORTHY, WATCH, DISHONEST, SERIOUSLY_DISHONEST = "守信", "警示", "失信", "严重失信"


async def find_subjects(session: AsyncSession, query: str, limit: int = 10) -> list[Subject]:
    """An exact 统一社会信用代码 or 从业资格证号 finds one subject; anything else searches names."""
    code = normalize_code(query)
    if not code:
        return []
    exact = (
        await session.exec(select(Subject).where(or_(Subject.uscc == code, Subject.cert_no == code)).limit(1))
    ).first()
    if exact is not None:
        return [exact]
    stmt = (
        select(Subject)
        .where(col(Subject.name).contains(query.strip(), autoescape=True))
        .order_by(col(Subject.name), col(Subject.id))
        .limit(limit)
    )
    return list((await session.exec(stmt)).all())


def latest_grade(records: Iterable[CreditRecord]) -> str | None:
    """The grade of the newest published 信用评价 record."""
    graded = [
        r
        for r in records
        if r.kind == RecordKind.EVALUATION and r.status == RecordStatus.PUBLISHED and r.grade
    ]
    if not graded:
        return None
    return max(graded, key=lambda r: (r.decision_date, r.id or 0)).grade


def credit_class(records: Iterable[CreditRecord], today: date, *, grade: str | None = None) -> str:
    """Pure, per rules.CLASS_RULE_SOURCE [R]. Only published records count (repaired, expired and withdrawn
    ones are no longer 失信信息). `grade` is a grade from outside the records (a driver's 诚信考核);
    without it the latest published evaluation counts."""
    published = [r for r in records if r.status == RecordStatus.PUBLISHED]
    if any(r.kind == RecordKind.DISHONESTY_LIST for r in published):
        return SERIOUSLY_DISHONEST
    if any(
        r.kind == RecordKind.COMMITMENT_BREACH
        or (r.kind == RecordKind.PENALTY and r.severity == Severity.SERIOUS)
        for r in published
    ):
        return DISHONEST
    cutoff = today - timedelta(days=rules.WARNING_LOOKBACK_DAYS)
    recent_general = any(
        r.kind == RecordKind.PENALTY and r.severity == Severity.GENERAL and r.decision_date > cutoff
        for r in published
    )
    if recent_general or (grade or latest_grade(published)) == "B":
        return WATCH
    return TRUSTWORTHY


@dataclass(frozen=True)
class CreditSummary:
    subject: Subject
    published_by_kind: Mapping[RecordKind, int]
    published_by_severity: Mapping[Severity, int]  # 失信 records only: evaluations carry no severity
    latest_grade: str | None  # enterprise: latest evaluation; driver: current 诚信考核 cycle
    credit_class: str
    tier: rules.SupervisionTier
    open_repairs: tuple[RepairApplication, ...]
    open_objections: tuple[Objection, ...]
    open_warnings: tuple[RiskWarning, ...]
    pending_commitments: tuple[Commitment, ...]
    upcoming_interviews: tuple[Interview, ...]
    recent_no_shows: int  # interviews not attended within rules.WARNING_LOOKBACK_DAYS
    class_rule: rules.Source = rules.CLASS_RULE_SOURCE  # [R]: show rules.UNVERIFIED_NOTE with the class


async def _driver_grade(session: AsyncSession, subject: Subject, today: date) -> str | None:
    if (
        subject.kind != SubjectKind.DRIVER
        or subject.cert_first_issued is None
        or subject.cert_first_issued > today
    ):
        return None
    return (await driver_assessment(session, subject, today)).grade.grade


async def credit_summary(
    session: AsyncSession, subject_id: int, *, today: date, staff: Staff, purpose: str = ""
) -> CreditSummary:
    """The subject's credit at a glance for staff; writes `lookup.subject` to the audit log."""
    if not staff.active:
        raise UserError("您的工作人员账号已停用，不能查询。", "Your staff account is inactive.")
    subject = await session.get(Subject, subject_id)
    if subject is None:
        raise UserError("找不到该主体。", "No such subject.")
    records = list(
        (await session.exec(select(CreditRecord).where(CreditRecord.subject_id == subject_id))).all()
    )
    published = [r for r in records if r.status == RecordStatus.PUBLISHED]
    grade = await _driver_grade(session, subject, today) or latest_grade(published)
    cls = credit_class(published, today, grade=grade)

    async def rows(stmt: SelectOfScalar[T]) -> tuple[T, ...]:
        return tuple((await session.exec(stmt)).all())

    summary = CreditSummary(
        subject=subject,
        published_by_kind=dict(Counter(RecordKind(r.kind) for r in published)),
        published_by_severity=dict(
            Counter(Severity(r.severity) for r in published if r.kind != RecordKind.EVALUATION)
        ),
        latest_grade=grade,
        credit_class=cls,
        tier=rules.supervision_tier(cls),
        open_repairs=await rows(
            select(RepairApplication).where(
                RepairApplication.subject_id == subject_id,
                col(RepairApplication.status).in_(list(OPEN_STATUSES)),
            )
        ),
        open_objections=await rows(
            select(Objection).where(
                Objection.subject_id == subject_id, col(Objection.status).in_(list(OPEN_STATUSES))
            )
        ),
        open_warnings=await rows(
            select(RiskWarning).where(
                RiskWarning.subject_id == subject_id, col(RiskWarning.closed_at).is_(None)
            )
        ),
        pending_commitments=await rows(
            select(Commitment).where(
                Commitment.subject_id == subject_id, Commitment.fulfilment == Fulfilment.PENDING
            )
        ),
        upcoming_interviews=tuple(await open_interviews(session, subject_id)),
        recent_no_shows=await no_shows(
            session, subject_id, today - timedelta(days=rules.WARNING_LOOKBACK_DAYS)
        ),
    )
    await log_change(
        session,
        actor=f"staff:{staff.id}",
        action="lookup.subject",
        entity="subject",
        entity_id=subject_id,
        subject_id=subject_id,
        after={"purpose": purpose.strip(), "credit_class": cls},
    )
    return summary
