"""When a working-day deadline is reminded, and to whom. Pure rules plus the queries the sweep uses.
Occasions: rules.REMIND_BEFORE_WORKDAYS before, the due day, then overdue each working day."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import ARRAY, ColumnElement, Integer, any_, bindparam
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    AlertGroup,
    ChatBinding,
    Commitment,
    CreditRecord,
    Deadline,
    DeadlineStatus,
    Interview,
    Objection,
    ObligationFulfilment,
    RepairApplication,
    Robot,
    Staff,
    StaffRole,
    Subject,
)
from workflows import rules
from workflows.alert_routing import targets as alert_targets
from workflows.calendar import WorkdayCalendar
from workflows.clock import to_local

# Who acts on each kind of deadline: staff (review and publication limits) or the subject itself.
KIND_LABELS: dict[str, tuple[str, str]] = {
    "repair_review": ("信用修复申请审核", "staff"),
    "objection_review": ("异议核查答复", "staff"),
    "publication": ("行政处罚信息双公示（7个工作日）", "staff"),
    "tolerance_materials": ("容缺受理补齐材料", "subject"),
    "repair_more_materials": ("信用修复补正材料", "subject"),
    "rectification": ("约谈整改事项", "subject"),
    "fulfilment_review": ("履行申报确认", "staff"),
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


def among(session: AsyncSession, column: Any, ids: Iterable[int]) -> ColumnElement[bool]:
    """column IN ids. On PostgreSQL one array parameter (= ANY): every page of a sweep reuses one
    prepared statement instead of rendering and planning a new one with thousands of placeholders."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(Integer)))  # type: ignore[no-any-return]
    return col(column).in_(list(ids))


class SubjectBrief(NamedTuple):
    """What a reminder says about its subject, and where it routes."""

    id: int
    name: str
    department: str | None


class DueDeadline(NamedTuple):
    """The columns of an open deadline the sweep reads: plain tuples, so tens of thousands of due rows
    cost no ORM objects (bench/sweep.py)."""

    id: int
    kind: str
    ref_kind: str
    ref_id: int
    subject_id: int | None
    responsible_staff_id: int | None
    due_on: date


async def due_deadlines(
    session: AsyncSession, today: date, calendar: WorkdayCalendar, after_id: int = 0, limit: int = 2000
) -> list[DueDeadline]:
    """Open deadlines up to the horizon, in id pages (a big backlog is swept in bounded chunks)."""
    d = Deadline
    stmt = (
        select(d.id, d.kind, d.ref_kind, d.ref_id, d.subject_id, d.responsible_staff_id, d.due_on)
        .where(
            d.status == DeadlineStatus.OPEN,
            col(d.due_on) <= sweep_horizon(today, calendar),
            col(d.id) > after_id,
        )
        .order_by(col(d.id))
        .limit(limit)
    )
    return [DueDeadline(*row) for row in (await (await session.connection()).execute(stmt)).all()]


async def subject_briefs(session: AsyncSession, subject_ids: set[int]) -> dict[int, SubjectBrief]:
    """Name and department of many subjects in one query (faster than joining them to the page: one
    index scan over the sorted ids instead of a probe per deadline)."""
    if not subject_ids:
        return {}
    stmt = select(Subject.id, Subject.name, Subject.department).where(among(session, Subject.id, subject_ids))
    return {row[0]: SubjectBrief(*row) for row in (await (await session.connection()).execute(stmt)).all()}


@dataclass(frozen=True)
class Recipients:
    staff: list[Staff]
    supervisors: list[Staff]  # escalation when overdue


class Directory:
    """Active staff and the chats bound to them, read once per sweep: a sweep over thousands of
    deadlines asks it, not the database, who to tell (a few queries per sweep, not per deadline)."""

    def __init__(
        self,
        staff: list[Staff],
        chats: dict[int, list[tuple[str, str]]],
        groups: dict[str, list[tuple[str, str]]] | None = None,
        robots: list[Robot] | None = None,
    ) -> None:
        self.staff = staff
        self.by_id = {s.id: s for s in staff}
        self.chats = chats
        self.groups = groups or {}  # department → its alert groups (issue #9)
        self.robots = robots or []  # group robots (issue #11), routed by department and kind
        self._recipients: dict[tuple[int | None, str | None], Recipients] = {}

    @classmethod
    async def load(cls, session: AsyncSession) -> Directory:
        staff = list(
            (
                await session.exec(select(Staff).where(col(Staff.active).is_(True)).order_by(col(Staff.id)))
            ).all()
        )
        chats: dict[int, list[tuple[str, str]]] = {}
        rows = await session.exec(
            select(ChatBinding).where(
                col(ChatBinding.staff_id).is_not(None), col(ChatBinding.active).is_(True)
            )
        )
        for b in rows.all():
            chats.setdefault(b.staff_id or 0, []).append((b.channel, b.chat_id))
        groups: dict[str, list[tuple[str, str]]] = {}
        for g in (await session.exec(select(AlertGroup).where(col(AlertGroup.active).is_(True)))).all():
            groups.setdefault(g.department, []).append((g.channel, g.chat_id))
        robots = list((await session.exec(select(Robot))).all())
        return cls(staff, chats, groups, robots)

    def department_staff(self, department: str | None) -> list[Staff]:
        """Who handles a department's items: its 经办 and 审核 (everyone's, for a subject with none)."""
        return [
            s
            for s in self.staff
            if s.role in (StaffRole.HANDLER, StaffRole.REVIEWER)
            and (not department or s.department == department)
        ]

    def stand_ins(self, department: str | None) -> list[Staff]:
        """For a department with no 经办 or 审核: its 负责人 and every admin (who are told it has nobody)."""
        return [
            s
            for s in self.staff
            if s.role == StaffRole.ADMIN or (s.role == StaffRole.SUPERVISOR and s.department == department)
        ]

    def alert_groups(self, department: str | None, kind: str) -> list[tuple[str, str]]:
        """The department's alert groups (for the kinds groups carry, rules.ALERT_GROUP_KINDS) and its
        group robots that carry this kind (workflows.alert_routing)."""
        return alert_targets(self.groups.get(department or "", []), self.robots, department, kind)

    def recipients_for(self, responsible_staff_id: int | None, department: str | None) -> Recipients:
        """The responsible staff member if set, else the department's; for escalation their named
        supervisors and the department's 负责人. Worked out once per sweep for each pair (a sweep asks
        for every due deadline; there are only staff × departments answers)."""
        key = (responsible_staff_id, department)
        found = self._recipients.get(key)
        if found is None:
            found = self._recipients[key] = self._find_recipients(responsible_staff_id, department)
        return found

    def _find_recipients(self, responsible_staff_id: int | None, department: str | None) -> Recipients:
        if responsible_staff_id is not None:
            one = self.by_id.get(responsible_staff_id)
            staff = [one] if one is not None else []
        else:
            staff = self.department_staff(department)
        boss_ids = {s.supervisor_id for s in staff if s.supervisor_id is not None}
        bosses = [
            s
            for s in self.staff
            if s.id in boss_ids
            or (department and s.role == StaffRole.SUPERVISOR and s.department == department)
        ]
        return Recipients(staff, bosses)


async def subject_chats_of(session: AsyncSession, subject_ids: set[int]) -> dict[int, list[tuple[str, str]]]:
    """The bound chats of many subjects in one query."""
    out: dict[int, list[tuple[str, str]]] = {}
    if subject_ids:
        b = ChatBinding
        rows = await (await session.connection()).execute(
            select(b.subject_id, b.channel, b.chat_id).where(
                among(session, b.subject_id, subject_ids), col(b.active).is_(True)
            )
        )
        for subject_id, channel, chat_id in rows.all():
            out.setdefault(subject_id or 0, []).append((channel, chat_id))
    return out


# What people call the thing a deadline is about (never "repair_application#3"): one query per kind.
_REFERENCES = {
    "repair_application": (RepairApplication, "ref_no", "信用修复申请 {}"),
    "objection": (Objection, "ref_no", "异议 {}"),
    "obligation_fulfilment": (ObligationFulfilment, "ref_no", "履行申报 {}"),
    "commitment": (Commitment, "code", "承诺 {}"),
    "credit_record": (CreditRecord, "decision_no", "处罚决定 {}"),
}


async def deadline_references(
    session: AsyncSession, deadlines: Sequence[DueDeadline]
) -> dict[tuple[str, int], str]:
    """(ref_kind, ref_id) → 申请编号 / 决定书文号 / 承诺编码 / the interview's time, as users read them."""
    wanted: dict[str, set[int]] = {}
    for d in deadlines:
        wanted.setdefault(d.ref_kind, set()).add(d.ref_id)
    out: dict[tuple[str, int], str] = {}
    for kind, ids in wanted.items():
        if kind == "interview":
            stmt = select(Interview.id, Interview.scheduled_at).where(among(session, Interview.id, ids))
            for ref_id, at in (await (await session.connection()).execute(stmt)).all():
                out[(kind, ref_id or 0)] = f"{to_local(at):%Y-%m-%d %H:%M} 的约谈"
            continue
        if kind not in _REFERENCES:
            continue
        model, column, shown = _REFERENCES[kind]
        stmt = select(model.id, getattr(model, column)).where(among(session, model.id, ids))  # type: ignore[attr-defined]
        for ref_id, text in (await (await session.connection()).execute(stmt)).all():
            if text:
                out[(kind, ref_id or 0)] = shown.format(text)
    return out
