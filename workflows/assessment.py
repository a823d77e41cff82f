"""道路运输驾驶员诚信考核: the current cycle, points, the grade they lead to, past cycles, and which
deductions are under objection. Rules: rules.DRIVER_* (domain-rules §12)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import AssessmentCycle, DriverViolation, Objection, Subject
from workflows import rules
from workflows.applications import OPEN_STATUSES
from workflows.calendar import add_months
from workflows.errors import UserError


@dataclass(frozen=True)
class Cycle:
    start: date
    end: date  # inclusive


def cycle_containing(first_issued: date, day: date) -> Cycle:
    """D1: 12-month cycles anchored on the certificate's first issue date (anniversaries, not calendar years)."""
    if day < first_issued:
        raise UserError(
            "考核周期尚未开始：从业资格证初次领证日期晚于今天，请核对档案。",
            "The assessment cycle has not started yet.",
        )
    years = day.year - first_issued.year
    start = add_months(first_issued, rules.DRIVER_CYCLE_MONTHS * years)
    if start > day:
        years -= 1
        start = add_months(first_issued, rules.DRIVER_CYCLE_MONTHS * years)
    end = add_months(first_issued, rules.DRIVER_CYCLE_MONTHS * (years + 1)) - timedelta(days=1)
    return Cycle(start, end)


@dataclass(frozen=True)
class Deduction:
    violation_id: int | None
    occurred_on: date
    item: str
    points: int
    authority: str


@dataclass(frozen=True)
class AssessmentReport:
    cycle: Cycle
    points: int
    ceiling: int
    grade: rules.GradeBand
    deductions: tuple[Deduction, ...]
    past: tuple[AssessmentCycle, ...]
    bands_verified: bool

    @property
    def points_left(self) -> int:
        return max(self.ceiling - self.points, 0)


def assess(
    first_issued: date, today: date, deductions: Sequence[Deduction]
) -> tuple[Cycle, int, rules.GradeBand]:
    """D3: deductions in the cycle add up; the grade follows the bands in rules (placeholder [R])."""
    cycle = cycle_containing(first_issued, today)
    points = sum(d.points for d in deductions if cycle.start <= d.occurred_on <= cycle.end)
    return cycle, points, rules.driver_grade(points)


async def driver_assessment(session: AsyncSession, subject: Subject, today: date) -> AssessmentReport:
    if subject.cert_first_issued is None:
        raise UserError(
            "档案中缺少从业资格证初次领证日期，无法计算考核周期，请联系道路运输管理机构。",
            "The certificate's first issue date is missing.",
        )
    cycle = cycle_containing(subject.cert_first_issued, today)
    rows = (
        await session.exec(
            select(DriverViolation)
            .where(
                DriverViolation.subject_id == subject.id,
                DriverViolation.occurred_on >= cycle.start,
                DriverViolation.occurred_on <= cycle.end,
                col(DriverViolation.withdrawn).is_(False),
            )
            .order_by(col(DriverViolation.occurred_on))
        )
    ).all()
    deductions = tuple(Deduction(v.id, v.occurred_on, v.item, v.points, v.authority) for v in rows)
    _, points, grade = assess(subject.cert_first_issued, today, deductions)
    past = (
        await session.exec(
            select(AssessmentCycle)
            .where(AssessmentCycle.subject_id == subject.id, AssessmentCycle.start < cycle.start)
            .order_by(col(AssessmentCycle.start).desc())
            .limit(5)
        )
    ).all()
    return AssessmentReport(
        cycle=cycle,
        points=points,
        ceiling=rules.DRIVER_POINT_CEILING,
        grade=grade,
        deductions=deductions,
        past=tuple(past),
        bands_verified=rules.DRIVER_GRADE_BANDS_SOURCE.verified,
    )


async def violations_under_objection(session: AsyncSession, violation_ids: Sequence[int]) -> set[int]:
    """Which of these deductions show 异议处理中. Their points still count meanwhile (§5 O6); an upheld
    objection corrects or withdraws the deduction."""
    if not violation_ids:
        return set()
    stmt = select(Objection.violation_id).where(
        col(Objection.violation_id).in_(list(violation_ids)), col(Objection.status).in_(list(OPEN_STATUSES))
    )
    return {v for v in (await session.exec(stmt)).all() if v is not None}
