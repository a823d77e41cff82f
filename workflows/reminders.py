"""When a working-day deadline is reminded, and to whom. Pure rules plus the queries the sweep uses.
Occasions: rules.REMIND_BEFORE_WORKDAYS before, the due day, then overdue each working day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Deadline, DeadlineStatus, Staff, StaffRole, Subject
from workflows import rules
from workflows.calendar import WorkdayCalendar

# Who acts on each kind of deadline: staff (review and publication limits) or the subject itself.
KIND_LABELS: dict[str, tuple[str, str]] = {
    "repair_review": ("信用修复申请审核", "staff"),
    "objection_review": ("异议核查答复", "staff"),
    "publication": ("行政处罚信息双公示（7个工作日）", "staff"),
    "tolerance_materials": ("容缺受理补齐材料", "subject"),
    "repair_more_materials": ("信用修复补正材料", "subject"),
    "rectification": ("约谈整改事项", "subject"),
}


def occasion(due_on: date, today: date, calendar: WorkdayCalendar) -> str | None:
    """The reminder due today for a deadline, or None. Only on working days; a missed sweep still
    sends the 'before' reminder late rather than never."""
    if not calendar.is_workday(today):
        return None
    if today > due_on:
        return f"overdue-{today:%Y%m%d}" if rules.ESCALATE_WHEN_OVERDUE else None
    if today == due_on:
        return "due" if rules.REMIND_ON_DUE_DAY else None
    if calendar.workdays_between(today, due_on) <= rules.REMIND_BEFORE_WORKDAYS:
        return "before"
    return None


def sweep_horizon(today: date, calendar: WorkdayCalendar) -> date:
    """Deadlines due after this day need nothing today: the sweep reads only rows up to it (index scan)."""
    return calendar.add_workdays(today, rules.REMIND_BEFORE_WORKDAYS)


async def due_deadlines(
    session: AsyncSession, today: date, calendar: WorkdayCalendar, after_id: int = 0, limit: int = 2000
) -> list[Deadline]:
    """Open deadlines up to the horizon, in id pages (a big backlog is swept in bounded chunks)."""
    stmt = (
        select(Deadline)
        .where(
            Deadline.status == DeadlineStatus.OPEN,
            col(Deadline.due_on) <= sweep_horizon(today, calendar),
            col(Deadline.id) > after_id,
        )
        .order_by(col(Deadline.id))
        .limit(limit)
    )
    return list((await session.exec(stmt)).all())


@dataclass(frozen=True)
class Recipients:
    staff: list[Staff]
    supervisors: list[Staff]  # escalation when overdue


async def department_staff(session: AsyncSession, department: str | None) -> list[Staff]:
    stmt = select(Staff).where(
        col(Staff.active).is_(True), col(Staff.role).in_([StaffRole.HANDLER, StaffRole.REVIEWER])
    )
    if department:
        stmt = stmt.where(Staff.department == department)
    return list((await session.exec(stmt.order_by(col(Staff.id)))).all())


async def staff_recipients(session: AsyncSession, deadline: Deadline, subject: Subject | None) -> Recipients:
    """The responsible staff member if set, else the subject's department; their supervisors for
    escalation (the named supervisor, else the department's 负责人)."""
    if deadline.responsible_staff_id is not None:
        one = await session.get(Staff, deadline.responsible_staff_id)
        staff = [one] if one is not None and one.active else []
    else:
        staff = await department_staff(session, subject.department if subject else None)
    supervisor_ids = {s.supervisor_id for s in staff if s.supervisor_id is not None}
    stmt = select(Staff).where(col(Staff.active).is_(True))
    department = subject.department if subject else None
    stmt = stmt.where(
        or_(
            col(Staff.id).in_(supervisor_ids or {-1}),
            (Staff.role == StaffRole.SUPERVISOR) & (Staff.department == (department or "")),
        )
        if department
        else col(Staff.id).in_(supervisor_ids or {-1})
    )
    return Recipients(staff, list((await session.exec(stmt)).all()))
