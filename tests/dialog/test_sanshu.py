"""三书同达: a new penalty brings the three notices together to every bound chat, with buttons that start
repair or objection; a subject bound later receives them on binding; expired records are taken down."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import select

from bot.app import App
from models import CreditRecord, Deadline, OutboxMessage, RecordStatus, Subject, SubjectKind
from tests.support.chat import ChatUser, Inbox
from workflows.binding import issue_code
from workflows.penalties import SANSHU_TEMPLATES, record_penalty, take_down_expired

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


async def _penalty(app: App, subject_id: int, decided: date = date(2026, 11, 20)) -> CreditRecord:
    async with app.sessions() as s, s.begin():
        return await record_penalty(
            s,
            actor="staff:1",
            calendar=app.engine.services.calendar,
            now=NOW,
            today=date(2026, 11, 24),
            subject_id=subject_id,
            decision_no="枣交罚〔2026〕1200号",
            decision_date=decided,
            authority="枣庄市交通运输局",
            penalty_type="罚款",
            fine_wan=0.3,
            facts="超限运输",
            content="罚款 0.3 万元",
        )


async def _rows(app: App, record_id: int, chat: str | None = None) -> list[OutboxMessage]:
    async with app.sessions() as s:
        stmt = select(OutboxMessage).where(OutboxMessage.dedupe_key.startswith(f"record:{record_id}:"))
        if chat:
            stmt = stmt.where(OutboxMessage.chat_id == chat)
        return list((await s.exec(stmt.order_by(OutboxMessage.id))).all())


async def test_new_penalty_sends_the_three_notices_together(demo: App) -> None:
    user = ChatUser(demo.engine, "tg-anda")
    await user.send("/start ENTA2468")
    async with demo.sessions() as s:
        anda = (await s.exec(select(Subject).where(Subject.name.contains("安达")))).one()
    record = await _penalty(demo, anda.id)
    rows = await _rows(demo, record.id, "tg-anda")
    assert [r.template for r in rows] == list(SANSHU_TEMPLATES)
    assert all(r.legally_required and r.kind == "sanshu" for r in rows)
    repair_notice = rows[1].context
    assert repair_notice["severity"] == "一般" and repair_notice["min_end"] == "2027-02-20"
    assert repair_notice["max_end"] == "2027-11-20" and "第36号" in repair_notice["regime"]
    assert (
        rows[1].buttons[0][0]["action"] == "repair.start"
        and rows[2].buttons[0][0]["action"] == "objection.start"
    )
    # also the demo's console persona bound to the same enterprise
    assert len(await _rows(demo, record.id, "enterprise")) == 3
    async with demo.sessions() as s:
        deadline = (
            await s.exec(select(Deadline).where(Deadline.kind == "publication", Deadline.ref_id == record.id))
        ).one()
        assert deadline.due_on == date(2026, 12, 1)  # 7 working days after 11-20


async def test_publication_deadline_counts_working_days_across_national_day(demo: App) -> None:
    async with demo.sessions() as s:
        anda = (await s.exec(select(Subject).where(Subject.name.contains("安达")))).one()
    record = await _penalty(demo, anda.id, decided=date(2026, 9, 28))
    async with demo.sessions() as s:
        deadline = (await s.exec(select(Deadline).where(Deadline.ref_id == record.id))).one()
    assert deadline.due_on == date(2026, 10, 13)  # 10/1–10/7 off, Saturday 10/10 a working day


async def test_late_binding_receives_the_notices_once(app: App) -> None:
    async with app.sessions() as s, s.begin():
        subject = Subject(kind=SubjectKind.ENTERPRISE, name="新成立物流公司", uscc="91110108551385082Q")
        s.add(subject)
        await s.flush()
        code = await issue_code(s, issued_by="cli", clock=app.engine.services.clock, subject_id=subject.id)
    record = await _penalty(app, subject.id)
    assert await _rows(app, record.id) == []
    user = ChatUser(app.engine, "late")
    await user.send(code.code)
    assert "绑定成功" in user.text
    assert [r.template for r in await _rows(app, record.id)] == list(SANSHU_TEMPLATES)
    async with app.sessions() as s:
        assert (await s.get(CreditRecord, record.id)).notices_served_at is None  # queued is not served
    await app.dispatcher({"test": Inbox()}).drain()
    async with app.sessions() as s:
        assert (await s.get(CreditRecord, record.id)).notices_served_at is not None
        second = await issue_code(s, issued_by="cli", clock=app.engine.services.clock, subject_id=subject.id)
        await s.commit()
    await ChatUser(app.engine, "colleague").send(second.code)
    assert len(await _rows(app, record.id)) == 3  # a colleague binding later does not get them again


async def test_records_past_their_maximum_are_taken_down_once(demo: App) -> None:
    async with demo.sessions() as s, s.begin():
        taken = await take_down_expired(s, today=date(2026, 11, 24))
    assert [r.decision_no for r in taken] == ["枣交罚〔2025〕0301号"]  # 一般, 420 days old
    async with demo.sessions() as s, s.begin():
        assert await take_down_expired(s, today=date(2026, 11, 24)) == []
        record = await s.get(CreditRecord, taken[0].id)
        assert record.status == RecordStatus.EXPIRED
        notes = (
            await s.exec(select(OutboxMessage).where(OutboxMessage.template == "record_taken_down"))
        ).all()
        assert {n.chat_id for n in notes} == {"enterprise-b"}
