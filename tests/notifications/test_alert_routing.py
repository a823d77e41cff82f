"""Issue #9, department alerts: a registered alert group gets the department's risk warnings and overdue
escalations (the alert only, no buttons); a department with no 经办/审核 has its warning go to its chief and
the admins, who are told it has nobody; reminders name the application, never an internal id."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from bot.app import App
from models import AlertGroup, Deadline, OutboxMessage, RepairApplication, Staff, StaffRole
from notifications.render import default_renderer
from notifications.sweeps import daily_scan, sweep_deadlines
from tests.notifications.test_sweeps import _penalties, _subject, at
from tests.support.wording import problems
from workflows.risk import load_rules


async def _alert_group(app: App, department: str, chat_id: str = "-100777") -> None:
    async with app.sessions() as s, s.begin():
        s.add(AlertGroup(channel="telegram", chat_id=chat_id, department=department, title="信用科工作群"))


async def _rows(app: App, **where: str) -> list[OutboxMessage]:
    async with app.sessions() as s:
        stmt = select(OutboxMessage)
        for column, value in where.items():
            stmt = stmt.where(getattr(OutboxMessage, column) == value)
        return list((await s.exec(stmt.order_by(OutboxMessage.id))).all())


def _rendered(row: OutboxMessage) -> str:
    return default_renderer().render(row.template, "zh", row.context)


async def test_an_alert_group_gets_the_departments_risk_warnings_without_buttons(demo: App) -> None:
    await _alert_group(demo, "信用科")
    await _alert_group(demo, "执法支队", "-100888")
    lunan = await _subject(demo, "鲁南")  # supervised by 信用科
    await _penalties(demo, lunan.id, 60, authorities=3)
    await daily_scan(
        demo.sessions,
        now=at(date(2026, 11, 24)),
        calendar=demo.engine.services.calendar,
        risk_rules=load_rules(),
    )
    to_group = await _rows(demo, chat_id="-100777")
    assert [r.template for r in to_group] == ["risk_warning_staff"] * 2 and all(
        not r.buttons for r in to_group
    )
    assert await _rows(demo, chat_id="-100888") == []  # another department's group hears nothing
    text = _rendered(to_group[0])
    assert "山东鲁南客运集团有限公司" in text and not problems(text)


async def test_a_department_with_nobody_sends_its_warning_to_the_chief_and_admins(demo: App) -> None:
    async with demo.sessions() as s, s.begin():
        for staff in (await s.exec(select(Staff).where(Staff.role == StaffRole.HANDLER))).all():
            staff.active = False
    lunan = await _subject(demo, "鲁南")
    await _penalties(demo, lunan.id, 60, authorities=3)
    await daily_scan(
        demo.sessions,
        now=at(date(2026, 11, 24)),
        calendar=demo.engine.services.calendar,
        risk_rules=load_rules(),
    )
    rows = await _rows(demo, template="risk_warning_staff")
    async with demo.sessions() as s:
        told = {(await s.get(Staff, r.staff_id)).role for r in rows}  # type: ignore[union-attr]
    assert told == {StaffRole.SUPERVISOR, StaffRole.ADMIN}
    assert "「信用科」目前没有经办或审核人员" in _rendered(rows[0])


async def overdue_repair_review(app: App) -> None:
    """安达 (信用科)'s repair application XF202611200001, its review due 2026-11-20: overdue on the 24th."""
    anda = await _subject(app, "安达")
    async with app.sessions() as s, s.begin():
        application = RepairApplication(
            ref_no="XF202611200001", subject_id=anda.id, record_id=1, regime="令36号"
        )
        s.add(application)
        await s.flush()
        s.add(
            Deadline(
                kind="repair_review",
                ref_kind="repair_application",
                ref_id=application.id,
                subject_id=anda.id,
                due_on=date(2026, 11, 20),
            )
        )


async def test_overdue_escalation_reaches_the_alert_group_and_names_the_application(demo: App) -> None:
    await _alert_group(demo, "信用科")
    await overdue_repair_review(demo)
    await sweep_deadlines(demo.sessions, now=at(date(2026, 11, 24)), calendar=demo.engine.services.calendar)
    [to_group] = await _rows(demo, chat_id="-100777")
    assert to_group.template == "deadline_escalation" and not to_group.buttons
    text = _rendered(to_group)
    assert "信用修复申请 XF202611200001" in text and not problems(text)
    for row in await _rows(demo, template="deadline_staff"):
        assert "repair_application" not in _rendered(row)


async def test_the_daily_digest_names_its_items_in_both_languages(demo: App) -> None:
    from notifications.sweeps import digests
    from tests.dialog.test_staff_review import _submitted_repair
    from tests.support.english import CJK, data_values

    await _submitted_repair(demo)
    async with demo.sessions() as s, s.begin():
        await digests(
            s, today=date(2026, 11, 24), now=at(date(2026, 11, 24)), calendar=demo.engine.services.calendar
        )
    [row, *_] = await _rows(demo, template="daily_digest")
    english = default_renderer().render("daily_digest", "en", row.context)
    assert "XF20261124" in english and "credit repair" in english.lower()
    for value in await data_values(demo):  # names and decision numbers are data
        english = english.replace(value, "")
    assert not problems(english) and not CJK.search(english), english


async def test_an_alert_group_that_removed_the_bot_stops_being_one(demo: App) -> None:
    from workflows.notices import end_bindings_of_gone_chat

    await _alert_group(demo, "信用科")
    async with demo.sessions() as s, s.begin():
        await end_bindings_of_gone_chat(s, "telegram", "-100777", reason="Forbidden: bot was kicked")
    async with demo.sessions() as s:
        [group] = (await s.exec(select(AlertGroup))).all()
    assert group.active is False
