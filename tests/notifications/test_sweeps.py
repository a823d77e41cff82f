"""The scheduler's sweeps on a frozen clock: reminders on the right working days across the National Day
holiday and the 2026→2027 year boundary, escalation when overdue, warnings raised once, interview
reminders, and no duplicates from two schedulers at once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert
from sqlmodel import func, select

from bot.app import App, build_app
from models import (
    ChatBinding,
    CreditRecord,
    Deadline,
    OutboxMessage,
    RecordKind,
    RiskWarning,
    Severity,
    Staff,
    Subject,
)
from notifications.scheduler import CreditScheduler
from notifications.sweeps import daily_scan, sweep_deadlines, sweep_interviews
from workflows.clock import SHANGHAI, FrozenClock
from workflows.risk import load_rules


def at(day: date, hh: int = 8, mm: int = 30) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=SHANGHAI).astimezone(UTC)


async def _subject(app: App, name: str) -> Subject:
    async with app.sessions() as s:
        return (await s.exec(select(Subject).where(Subject.name.contains(name)))).one()


async def _deadline(
    app: App, due: date, kind: str = "repair_review", subject: str = "安达", ref_id: int = 99
) -> Deadline:
    subj = await _subject(app, subject)
    async with app.sessions() as s, s.begin():
        d = Deadline(kind=kind, ref_kind="repair_application", ref_id=ref_id, subject_id=subj.id, due_on=due)
        s.add(d)
    return d


async def _sweep_days(app: App, days: list[date]) -> dict[date, list[str]]:
    """Run the deadline sweep each morning; return the reminder occasions written that day."""
    seen: dict[date, list[str]] = {}
    for day in days:
        async with app.sessions() as s:
            before = {r.id for r in (await s.exec(select(OutboxMessage))).all()}
        await sweep_deadlines(app.sessions, now=at(day), calendar=app.engine.services.calendar)
        async with app.sessions() as s:
            rows = [r for r in (await s.exec(select(OutboxMessage))).all() if r.id not in before]
        seen[day] = sorted({f"{r.template}:{r.context['occasion']}" for r in rows})
    return seen


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


async def test_staff_reminders_across_national_day(demo: App) -> None:
    await _deadline(demo, date(2026, 10, 9))
    seen = await _sweep_days(demo, _days(date(2026, 9, 28), date(2026, 10, 12)))
    assert seen[date(2026, 9, 29)] == []  # 3 working days before: too early
    assert seen[date(2026, 9, 30)] == ["deadline_staff:before"]  # 2 working days before (10/1–10/7 off)
    for holiday in _days(date(2026, 10, 1), date(2026, 10, 7)):
        assert seen[holiday] == [], holiday
    assert seen[date(2026, 10, 8)] == []  # 'before' was already sent: not twice
    assert seen[date(2026, 10, 9)] == ["deadline_staff:due"]
    # Saturday 10/10 is a 调休 working day: overdue, and escalated to the supervisor
    assert seen[date(2026, 10, 10)] == ["deadline_escalation:overdue", "deadline_staff:overdue"]
    assert seen[date(2026, 10, 11)] == []  # Sunday
    assert seen[date(2026, 10, 12)] == ["deadline_escalation:overdue", "deadline_staff:overdue"]


async def test_subject_reminders_across_the_year_boundary(demo: App) -> None:
    await _deadline(demo, date(2027, 1, 4), kind="tolerance_materials")
    seen = await _sweep_days(demo, _days(date(2026, 12, 29), date(2027, 1, 5)))
    assert seen[date(2026, 12, 29)] == []
    assert seen[date(2026, 12, 30)] == ["deadline_subject:before"]  # 12-31 and 01-04 are the 2 days left
    assert seen[date(2027, 1, 1)] == []  # 元旦, computed for 2027 (provisional year)
    assert seen[date(2027, 1, 4)] == ["deadline_subject:due"]
    assert seen[date(2027, 1, 5)] == ["deadline_escalation:overdue", "deadline_subject:overdue"]


async def test_escalation_goes_to_the_supervisor(demo: App) -> None:
    await _deadline(demo, date(2026, 11, 20))
    await sweep_deadlines(demo.sessions, now=at(date(2026, 11, 24)), calendar=demo.engine.services.calendar)
    async with demo.sessions() as s:
        rows = (
            await s.exec(select(OutboxMessage).where(OutboxMessage.template == "deadline_escalation"))
        ).all()
        chief = (await s.exec(select(Staff).where(Staff.role == "supervisor"))).one()
    assert {r.staff_id for r in rows} == {chief.id}
    assert rows[0].context["workdays"] == 2 and "陈科员" in rows[0].context["staff"]


async def test_a_closed_deadline_is_not_reminded(demo: App) -> None:
    d = await _deadline(demo, date(2026, 11, 24))
    async with demo.sessions() as s, s.begin():
        row = await s.get(Deadline, d.id)
        row.status = "done"
    stats = await sweep_deadlines(
        demo.sessions, now=at(date(2026, 11, 24)), calendar=demo.engine.services.calendar
    )
    assert stats.rows_written == 0


async def _penalties(app: App, subject_id: int, n: int, authorities: int = 1) -> None:
    async with app.sessions() as s, s.begin():
        await (await s.connection()).execute(
            insert(CreditRecord),
            [
                {
                    "subject_id": subject_id,
                    "kind": RecordKind.PENALTY,
                    "severity": Severity.MINOR,
                    "decision_no": f"W{i}",
                    "decision_date": date(2026, 11, 20) - timedelta(days=i % 300),
                    "authority": f"机关{i % authorities}",
                    "status": "published",
                    "created_at": datetime.now(UTC),
                }
                for i in range(n)
            ],
        )


async def test_risk_warning_raised_once_per_period(demo: App) -> None:
    lunan = await _subject(demo, "鲁南")
    await _penalties(demo, lunan.id, 60, authorities=3)
    rules = load_rules()
    for _ in range(2):
        await daily_scan(
            demo.sessions,
            now=at(date(2026, 11, 24)),
            calendar=demo.engine.services.calendar,
            risk_rules=rules,
        )
    async with demo.sessions() as s:
        warnings = (await s.exec(select(RiskWarning).where(RiskWarning.subject_id == lunan.id))).all()
        notices = (await s.exec(select(OutboxMessage).where(OutboxMessage.kind == "warning"))).all()
    assert sorted(w.rule_id for w in warnings) == ["xiamen_departments", "xiamen_penalties"]
    to_subject = [n for n in notices if n.template == "risk_warning_subject"]
    to_staff = [n for n in notices if n.template == "risk_warning_staff"]
    assert len(to_subject) == 2 and len(to_staff) == 2  # one bound chat, one 信用科 handler; two rules
    assert to_staff[0].buttons[0][0]["action"] == "interview.new"
    # a new year is a new period: both rules are raised again
    await daily_scan(
        demo.sessions, now=at(date(2027, 1, 4)), calendar=demo.engine.services.calendar, risk_rules=rules
    )
    async with demo.sessions() as s:
        assert (await s.exec(select(func.count()).where(RiskWarning.subject_id == lunan.id))).one() == 4


async def test_daily_scan_does_not_run_on_holidays(demo: App) -> None:
    stats = await daily_scan(
        demo.sessions,
        now=at(date(2026, 10, 2)),
        calendar=demo.engine.services.calendar,
        risk_rules=load_rules(),
    )
    assert stats.rows_written == 0 and stats.details == {}


async def test_interview_reminders(demo: App) -> None:
    from workflows import interviews

    anda = await _subject(demo, "安达")
    async with demo.sessions() as s, s.begin():
        staff = (await s.exec(select(Staff).where(Staff.role == "handler"))).one()
        iv = await interviews.schedule(
            s,
            subject_id=anda.id,
            staff=staff,
            reason="一年内多次违规",
            scheduled_at=at(date(2026, 11, 26), 15, 0),
            place="信用科会议室",
            online=False,
            attendees=["陈科员"],
            now=at(date(2026, 11, 24)),
            calendar=demo.engine.services.calendar,
        )
    cal = demo.engine.services.calendar

    async def occasions(now: datetime) -> Counter[str]:
        await sweep_interviews(demo.sessions, now=now, calendar=cal)
        async with demo.sessions() as s:
            rows = (
                await s.exec(
                    select(OutboxMessage).where(OutboxMessage.dedupe_key.startswith(f"interview:{iv.id}:"))
                )
            ).all()
        names = (r.dedupe_key.split("|")[0].split(":")[-1] for r in rows)
        return Counter(n for n in names if n in ("day_before", "hours_before", "unrecorded"))

    assert await occasions(at(date(2026, 11, 24), 9)) == Counter()
    # the working day before: the enterprise's bound chat (demo persona) and the organiser
    day_before = await occasions(at(date(2026, 11, 25), 9))
    assert day_before["day_before"] == 2 and day_before["hours_before"] == 0
    soon = await occasions(at(date(2026, 11, 26), 13, 30))
    assert soon["hours_before"] == 2 and soon["day_before"] == 2  # nothing twice
    late = await occasions(at(date(2026, 11, 26), 17, 30))
    assert late["unrecorded"] == 1


async def test_two_schedulers_at_once_write_no_duplicates(demo: App, clock: FrozenClock) -> None:
    for n, due in enumerate((date(2026, 11, 24), date(2026, 11, 26), date(2026, 11, 20))):
        await _deadline(demo, due, ref_id=n)
    other = await build_app(demo.settings, clock=clock, migrate_db=False)  # a second process
    try:
        cal = demo.engine.services.calendar
        rules = load_rules()
        clock.current = at(date(2026, 11, 24))
        first, second = (
            CreditScheduler(demo.sessions, clock=clock, calendar=cal, risk_rules=rules),
            CreditScheduler(other.sessions, clock=clock, calendar=cal, risk_rules=rules),
        )
        await asyncio.gather(first.sweep(), second.sweep(), first.daily(), second.daily())
        async with demo.sessions() as s:
            keys = [r.dedupe_key for r in (await s.exec(select(OutboxMessage))).all()]
        assert len(keys) == len(set(keys)) and any(k.startswith("deadline:") for k in keys)
        await asyncio.gather(first.sweep(), second.sweep())  # and a rerun adds nothing
        async with demo.sessions() as s:
            assert (await s.exec(select(func.count()).select_from(OutboxMessage))).one() == len(keys)
    finally:
        await other.close()


async def test_a_database_outage_is_survived(demo: App, clock: FrozenClock) -> None:
    from models.db import make_engine, session_factory

    dead = session_factory(make_engine("postgresql://postgres@127.0.0.1:1/none"))  # nothing listens there
    scheduler = CreditScheduler(dead, clock=clock, calendar=demo.engine.services.calendar, risk_rules=[])
    assert await scheduler.sweep() is None and await scheduler.daily() is None


def test_malformed_rules_file_is_refused_with_its_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from workflows.risk import RiskRulesError

    bad = tmp_path / "rules.toml"
    bad.write_text(
        '[[rule]]\nid = "x"\nname = "n"\nkind = "penalty_count"\nthreshold = "sixty"\n'
        'window_days = 365\nperiod = "year"\nsource = "s"\n',
        encoding="utf-8",
    )
    with pytest.raises(RiskRulesError, match=r"rules.toml:2"):
        load_rules(bad)
    bad.write_text("[[rule]\nid=", encoding="utf-8")
    with pytest.raises(RiskRulesError, match=r"rules.toml.*line 1"):
        load_rules(bad)


async def test_unbound_chat_rows_are_not_needed(demo: App) -> None:
    """Sanity: the demo's enterprise-b chat is the only one bound to 鲁南 (the counts above rely on it)."""
    lunan = await _subject(demo, "鲁南")
    async with demo.sessions() as s:
        chats = (await s.exec(select(ChatBinding).where(ChatBinding.subject_id == lunan.id))).all()
    assert [c.chat_id for c in chats] == ["enterprise-b"]
