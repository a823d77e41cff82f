"""The sweeps the scheduler runs: they read what is due from the database and write outbox rows with a
unique key per (recipient, event, occasion), so a rerun, a late run or a second scheduler writes nothing
new. Delivery is the dispatcher's job."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    CreditRecord,
    Interview,
    InterviewStatus,
    RecordKind,
    RecordStatus,
    Staff,
    StaffRole,
    Subject,
)
from workflows import rules
from workflows.calendar import WorkdayCalendar, add_months
from workflows.clock import SHANGHAI, local_today, to_local
from workflows.follow_up import reminder_buttons
from workflows.monthly_lists import monthly_lists, previous_month
from workflows.monthly_report import summary_text
from workflows.notices import enqueue_many, notice_button, notify_staff, notify_subject, rows_for_chats
from workflows.penalties import notify_repairable, take_down_expired
from workflows.records import repair_eligibility
from workflows.reminders import (
    KIND_LABELS,
    Directory,
    DueDeadline,
    SubjectBrief,
    deadline_references,
    due_deadlines,
    occasion,
    subject_briefs,
    subject_chats_of,
)
from workflows.risk import RiskRule, scan
from workflows.staff import queue

log = logging.getLogger(__name__)


@dataclass
class SweepStats:
    rows_written: int = 0
    items_seen: int = 0
    details: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, written: int) -> None:
        self.rows_written += written
        self.details[name] = self.details.get(name, 0) + written


async def leader(session: AsyncSession, job: str) -> bool:
    """On PostgreSQL one scheduler at a time runs a job (transaction-scoped advisory lock); the unique
    outbox keys would prevent duplicates anyway, this saves the duplicate work."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    got = await session.exec(text("SELECT pg_try_advisory_xact_lock(hashtext(:job))").bindparams(job=job))  # type: ignore[call-overload]
    return bool(got.scalar())


# -- deadlines -------------------------------------------------------------------------------------


async def sweep_deadlines(
    sessions: async_sessionmaker[AsyncSession], *, now: datetime, calendar: WorkdayCalendar, page: int = 2000
) -> SweepStats:
    """Each page of due deadlines costs a handful of statements: the page with its subjects, their
    chats, the references, and one batched insert of every reminder row (measured by bench/sweep.py).
    On PostgreSQL a page's rows are written in their own transaction while the next page is read and
    built, so the database inserts while Python works; the pages are written in order."""
    today = local_today_of(now)
    stats = SweepStats()
    after = 0
    directory: Directory | None = None
    on_day: dict[date, tuple[str, int] | None] = {}  # due day → (occasion, working days to or past it)
    writing: asyncio.Task[None] | None = None  # the previous page's insert (PostgreSQL)
    try:
        while True:
            async with sessions() as session, session.begin():
                if after == 0 and not await leader(session, "sweep_deadlines"):
                    return stats
                overlap = session.get_bind().dialect.name == "postgresql"
                directory = directory or await Directory.load(session)
                batch = await due_deadlines(session, today, calendar, after_id=after, limit=page)
                stats.items_seen += len(batch)
                subject_ids = {d.subject_id for d in batch if d.subject_id is not None}
                subjects = await subject_briefs(session, subject_ids)
                chats = await subject_chats_of(session, subject_ids)
                references = await deadline_references(session, batch)
                rows = _reminder_rows(
                    batch, subjects, chats, references, directory, on_day, today, now, calendar
                )
                if not overlap:
                    await _write_reminders(session, rows, stats)
            if overlap:
                if writing is not None:
                    await writing
                writing = asyncio.create_task(_write_reminders_apart(sessions, rows, stats))
            if len(batch) < page:
                break
            after = batch[-1].id
    finally:
        if writing is not None:  # the last page's, or the one under way when reading failed
            await writing
    return stats


async def _write_reminders(session: AsyncSession, rows: dict[str, list[dict]], stats: SweepStats) -> None:
    for name, batch_rows in rows.items():
        stats.add(name, await enqueue_many(session, batch_rows))


async def _write_reminders_apart(
    sessions: async_sessionmaker[AsyncSession], rows: dict[str, list[dict]], stats: SweepStats
) -> None:
    async with sessions() as session, session.begin():
        await _write_reminders(session, rows, stats)


def _reminder_rows(
    batch: list[DueDeadline],
    subjects: dict[int, SubjectBrief],
    chats: dict[int, list[tuple[str, str]]],
    references: dict[tuple[str, int], str],
    directory: Directory,
    on_day: dict[date, tuple[str, int] | None],
    today: date,
    now: datetime,
    calendar: WorkdayCalendar,
) -> dict[str, list[dict]]:
    """The outbox rows of one page: what is due today for each deadline, to whom (subject, staff,
    supervisors and alert groups when overdue). on_day caches what depends on the due day only."""
    rows: dict[str, list[dict]] = {"subject": [], "staff": [], "escalation": []}
    for d in batch:
        if d.due_on not in on_day:
            which = occasion(d.due_on, today, calendar)
            on_day[d.due_on] = (
                None if which is None else (which, abs(calendar.workdays_between(today, d.due_on)))
            )
        due = on_day[d.due_on]
        if due is None:
            continue
        which, workdays = due
        subject = subjects.get(d.subject_id or 0)
        department = subject.department if subject else None
        label, actor = KIND_LABELS.get(d.kind, (d.kind, "staff"))
        context = {  # JSON already: every row of this deadline shares (and serialises) it once
            "kind": label,
            "due_on": d.due_on.isoformat(),
            "subject_name": subject.name if subject else "",
            "ref": references.get((d.ref_kind, d.ref_id), ""),
            "occasion": which.split("-")[0],
            "workdays": workdays,
        }
        key = f"deadline:{d.id}:{d.due_on}:{which}"
        common = {"kind": "deadline", "now": now}
        if actor == "subject" and subject is not None:
            rows["subject"] += rows_for_chats(
                chats.get(subject.id, []),
                event_key=key,
                template="deadline_subject",
                context=context,
                subject_id=subject.id,
                buttons=reminder_buttons(d.kind, d.ref_id),  # to where the subject reports
                **common,
            )
        people = directory.recipients_for(d.responsible_staff_id, department)
        if actor == "staff":
            for staff in people.staff:
                rows["staff"] += rows_for_chats(
                    directory.chats.get(staff.id or 0, []),
                    event_key=key,
                    template="deadline_staff",
                    context=context,
                    staff_id=staff.id,
                    **common,
                )
        if which.startswith("overdue"):
            names = "、".join(s.name for s in people.staff) or "（未指定）"
            escalation = {**context, "staff": names}
            for boss in people.supervisors:
                rows["escalation"] += rows_for_chats(
                    directory.chats.get(boss.id or 0, []),
                    event_key=f"{key}:escalation",
                    template="deadline_escalation",
                    context=escalation,
                    staff_id=boss.id,
                    kind="escalation",
                    now=now,
                )
            # The department's alert groups see the escalation too (no buttons: notices only).
            rows["escalation"] += rows_for_chats(
                directory.alert_groups(department, "escalation"),
                event_key=f"{key}:escalation:group",
                template="deadline_escalation",
                context=escalation,
                kind="escalation",
                now=now,
            )
    return rows


def local_today_of(now: datetime) -> date:
    return now.astimezone(SHANGHAI).date()


# -- interviews ------------------------------------------------------------------------------------


async def sweep_interviews(
    sessions: async_sessionmaker[AsyncSession], *, now: datetime, calendar: WorkdayCalendar
) -> SweepStats:
    """The working day before and N hours before: both sides are reminded; after the slot, an
    interview nobody recorded is flagged to its organiser (a no-show feeds the warning rules)."""
    stats = SweepStats()
    today = local_today_of(now)
    horizon = now + timedelta(days=10)  # covers the working day before across a long holiday
    async with sessions() as session, session.begin():
        if not await leader(session, "sweep_interviews"):
            return stats
        directory = await Directory.load(session)
        rows = (
            await session.exec(
                select(Interview).where(
                    col(Interview.status).in_([InterviewStatus.SCHEDULED, InterviewStatus.CONFIRMED]),
                    col(Interview.scheduled_at) <= horizon,
                )
            )
        ).all()
        for iv in rows:
            stats.items_seen += 1
            at = iv.scheduled_at
            slot_day = to_local(at).date()
            context = {
                "when": f"{to_local(at):%Y-%m-%d %H:%M}",
                "place": "线上" if iv.online else iv.place,
                "reason": iv.reason,
                "interview_id": iv.id,
            }
            organiser = await session.get(Staff, iv.created_by) if iv.created_by else None
            # Attendees are names as staff typed them; those that name an active colleague are reminded too.
            staff_side = {s.id: s for s in directory.staff if s.name in iv.attendees}
            if organiser is not None:
                staff_side[organiser.id] = organiser
            occasions = []
            if now < at and calendar.add_workdays(today, 1) == slot_day and calendar.is_workday(today):
                occasions.append("day_before")
            if now < at <= now + timedelta(hours=rules.INTERVIEW_REMIND_HOURS_BEFORE):
                occasions.append("hours_before")
            for which in occasions:
                key = f"interview:{iv.id}:{at:%Y%m%d%H%M}:{which}"
                ctx = {**context, "occasion": which}
                stats.add(
                    "subject",
                    await notify_subject(
                        session,
                        iv.subject_id,
                        event_key=key,
                        template="interview_reminder",
                        context=ctx,
                        kind="interview",
                        now=now,
                        legally_required=True,
                    ),
                )
                for person in staff_side.values():
                    stats.add(
                        "staff",
                        await notify_staff(
                            session,
                            person,
                            event_key=key,
                            template="interview_reminder",
                            context=ctx,
                            kind="interview",
                            now=now,
                        ),
                    )
                # The department's alert groups and robots see whom the interview is with.
                subject = await session.get(Subject, iv.subject_id)
                if subject is not None:
                    stats.add(
                        "group",
                        await enqueue_many(
                            session,
                            rows_for_chats(
                                directory.alert_groups(subject.department, "interview"),
                                event_key=f"{key}:group",
                                template="interview_reminder",
                                context={**ctx, "subject_name": subject.name},
                                kind="interview",
                                now=now,
                            ),
                        ),
                    )
            if now >= at + timedelta(hours=rules.INTERVIEW_NO_SHOW_AFTER_HOURS) and organiser is not None:
                stats.add(
                    "unrecorded",
                    await notify_staff(
                        session,
                        organiser,
                        event_key=f"interview:{iv.id}:unrecorded",
                        template="interview_unrecorded",
                        context=context,
                        kind="interview",
                        now=now,
                    ),
                )
    return stats


# -- the daily scan --------------------------------------------------------------------------------


async def repair_opportunities(
    session: AsyncSession, *, today: date, now: datetime, calendar: WorkdayCalendar
) -> int:
    """Tell an enterprise on the day a record becomes repairable. Only records whose minimum period
    ends around now are read (an index range on decision_date), not every published record."""
    windows = {p.min_months for r in rules.REGIMES for p in r.periods.values() if p.min_months > 0}
    yesterday = today - timedelta(days=1)
    written = 0
    for months in sorted(windows):
        latest = add_months(yesterday, -months)
        stmt = select(CreditRecord).where(
            CreditRecord.kind == RecordKind.PENALTY,
            CreditRecord.status == RecordStatus.PUBLISHED,
            col(CreditRecord.decision_date) > latest - timedelta(days=4),
            col(CreditRecord.decision_date) <= latest,
            col(CreditRecord.obligations_fulfilled_on).is_not(None),
        )
        for record in (await session.exec(stmt)).all():
            if repair_eligibility(record, today, calendar).from_date == today:
                written += await notify_repairable(session, record, today=today, now=now, calendar=calendar)
    # Records that became repairable because the obligations were fulfilled yesterday or today.
    fulfilled = select(CreditRecord).where(
        CreditRecord.status == RecordStatus.PUBLISHED,
        CreditRecord.kind == RecordKind.PENALTY,
        col(CreditRecord.obligations_fulfilled_on) >= yesterday,
    )
    for record in (await session.exec(fulfilled)).all():
        written += await notify_repairable(session, record, today=today, now=now, calendar=calendar)
    return written


async def digests(session: AsyncSession, *, today: date, now: datetime, calendar: WorkdayCalendar) -> int:
    written = 0
    for staff in (await session.exec(select(Staff).where(col(Staff.active).is_(True)))).all():
        items = await queue(session, staff, today=today, calendar=calendar)
        if not items:
            continue
        context = _digest_context(staff.name, today, items)
        written += await notify_staff(
            session,
            staff,
            event_key=f"digest:{staff.id}:{today}",
            template="daily_digest",
            context=context,
            kind="digest",
            now=now,
        )
    return written + await department_digests(session, today=today, now=now, calendar=calendar)


async def department_digests(
    session: AsyncSession, *, today: date, now: datetime, calendar: WorkdayCalendar
) -> int:
    """A department's alert groups and robots get its day as its 负责人 sees it (issue #11): counts and
    the first items, addressed to the department."""
    directory = await Directory.load(session)
    written = 0
    for department in sorted({s.department for s in directory.staff if s.department}):
        chats = directory.alert_groups(department, "digest")
        if not chats:
            continue
        # The department's queue, as its chief sees it (a stand-in, never stored).
        chief = Staff(name=department, department=department, role=StaffRole.SUPERVISOR)
        items = await queue(session, chief, today=today, calendar=calendar)
        if not items:
            continue
        context = _digest_context(department, today, items)
        written += await enqueue_many(
            session,
            rows_for_chats(
                chats, event_key=f"digest:{department}:{today}", template="daily_digest", context=context,
                kind="digest", now=now,
            ),
        )  # fmt: skip
    return written


def _digest_context(name: str, today: date, items: list[Any]) -> dict[str, Any]:
    return {
        "name": name,
        "today": today,
        "pending": len(items),
        "due_today": sum(1 for i in items if i.due_on == today),
        "overdue": sum(1 for i in items if i.urgency == "overdue"),
        "top": [f"{i.ref} {i.subject.name}：{i.asked}" for i in items[:5]],
        # The English notice gets the same items in English (rendered in the chat's language).
        "top_en": [f"{i.ref_in('en')} {i.subject_name('en')}: {i.asked_in('en')}" for i in items[:5]],
    }


async def monthly_lists_notice(
    session: AsyncSession, *, today: date, now: datetime, calendar: WorkdayCalendar
) -> int:
    """On the month's first working day, chiefs and admins get last month's lists (Zaozhuang #9 [P]):
    the summary in the notice, the workbook behind its button (made when pressed: always current)."""
    if not rules.MONTHLY_LISTS_ON_FIRST_WORKDAY or today != calendar.next_workday(today.replace(day=1)):
        return 0
    year, month = previous_month(today)
    lists = await monthly_lists(session, year, month, as_of=today)
    lines = summary_text(lists).split("\n")[1:]
    written = 0
    stmt = select(Staff).where(
        col(Staff.active).is_(True), col(Staff.role).in_([StaffRole.SUPERVISOR, StaffRole.ADMIN])
    )
    for staff in (await session.exec(stmt)).all():
        written += await notify_staff(
            session,
            staff,
            event_key=f"lists:{year}-{month:02d}:{staff.id}",
            template="monthly_lists",
            context={"name": staff.name, "year": year, "month": month, "lines": lines},
            kind="lists",
            now=now,
            buttons=[
                [notice_button("📊 获取月度清单", "📊 Get the lists", "lists.month", year=year, month=month)]
            ],
        )
    return written


async def daily_scan(
    sessions: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    calendar: WorkdayCalendar,
    risk_rules: list[RiskRule],
) -> SweepStats:
    """Working days only: risk warnings, auto take-down, repair opportunities, staff digests."""
    stats = SweepStats()
    today = local_today_of(now)
    if not calendar.is_workday(today):
        return stats
    async with sessions() as session, session.begin():
        if not await leader(session, "daily_scan"):
            return stats
        stats.add("warnings", len(await scan(session, today=today, now=now, rules=risk_rules)))
        stats.add("taken_down", len(await take_down_expired(session, today=today, now=now)))
        stats.add(
            "opportunities", await repair_opportunities(session, today=today, now=now, calendar=calendar)
        )
        stats.add("digests", await digests(session, today=today, now=now, calendar=calendar))
        stats.add("lists", await monthly_lists_notice(session, today=today, now=now, calendar=calendar))
    return stats


__all__ = [
    "SweepStats",
    "daily_scan",
    "digests",
    "local_today",
    "repair_opportunities",
    "sweep_deadlines",
    "sweep_interviews",
]
