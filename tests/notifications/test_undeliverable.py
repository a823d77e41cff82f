"""三书同达 that cannot be delivered (domain-rules §6): a record counts as served only once a chat has all
three notices; a chat that blocked the bot loses its bindings; whoever recorded the record is told, once,
to serve it another way. The Sender is the channel boundary; tests/e2e covers the Telegram 403 itself."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest
from sqlmodel import col, select

from bot.app import App
from models import (
    AuditEntry,
    ChatBinding,
    CreditRecord,
    DataTransfer,
    OutboxMessage,
    OutboxStatus,
    RecordStatus,
    Staff,
    StaffRole,
    Subject,
    SubjectKind,
)
from notifications import dispatcher as dispatcher_module
from notifications.delivery import OutgoingMessage, PermanentFailure, RecipientGone
from notifications.dispatcher import Dispatcher
from notifications.render import Renderer
from workflows.clock import FrozenClock, local_today
from workflows.penalties import SANSHU_TEMPLATES, record_penalty, serve_pending_notices

CHANNEL = "telegram"
ENTERPRISE, OTHER_PHONE, HANDLER, ADMIN = "10", "11", "801", "900"
BLOCKED = "blocked: Forbidden: bot was blocked by the user"
DECISION_NO = "枣交罚〔2026〕1200号"
NAME = "枣庄市顺达运输有限公司"


class RecordingSender:
    channel = CHANNEL

    def __init__(self) -> None:
        self.sent: list[tuple[str, OutgoingMessage]] = []
        self.script: dict[str, list[Exception | None]] = {}

    def fail(self, chat_id: str, *errors: Exception | None) -> None:
        """The next sends to the chat raise these, in order (None: that one is delivered)."""
        self.script.setdefault(chat_id, []).extend(errors)

    async def send(self, chat_id: str, message: OutgoingMessage) -> None:
        await asyncio.sleep(0)
        if self.script.get(chat_id) and (error := self.script[chat_id].pop(0)) is not None:
            raise error
        self.sent.append((chat_id, message))

    def texts_to(self, chat_id: str) -> list[str]:
        return [m.text for c, m in self.sent if c == chat_id]


@pytest.fixture
def sender() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
def dispatcher(app: App, sender: RecordingSender, clock: FrozenClock) -> Dispatcher:
    return Dispatcher(app.sessions, {CHANNEL: sender}, renderer=Renderer(), clock=clock, instance="t")


@pytest.fixture
async def people(app: App) -> dict[str, int]:
    """An enterprise bound in one chat, the handler who records penalties, an admin; ids by role."""
    async with app.sessions() as s, s.begin():
        handler = Staff(name="经办员甲", department="信用科", role=StaffRole.HANDLER)
        admin = Staff(name="管理员", department="信用科", role=StaffRole.ADMIN)
        subject = Subject(kind=SubjectKind.ENTERPRISE, name=NAME, uscc="91370400MA3C5X7K2L")
        s.add_all([handler, admin, subject])
        await s.flush()
        s.add_all(
            [
                _binding(ENTERPRISE, subject_id=subject.id),
                _binding(HANDLER, staff_id=handler.id),
                _binding(ADMIN, staff_id=admin.id),
            ]
        )
        assert handler.id and admin.id and subject.id
        return {"handler": handler.id, "admin": admin.id, "subject": subject.id}


def _binding(chat_id: str, **who: Any) -> ChatBinding:
    return ChatBinding(channel=CHANNEL, chat_id=chat_id, user_id=chat_id, **who)


async def _record(app: App, clock: FrozenClock, subject_id: int, actor: str, **fields: Any) -> int:
    async with app.sessions() as s, s.begin():
        record = await record_penalty(
            s,
            actor=actor,
            calendar=app.engine.services.calendar,
            now=clock.now(),
            today=local_today(clock),
            subject_id=subject_id,
            decision_no=DECISION_NO,
            decision_date=date(2026, 11, 20),
            authority="枣庄市交通运输局",
            penalty_type="罚款",
            fine_wan=0.3,
            facts="超限运输",
            content="罚款 0.3 万元",
            **fields,
        )
        assert record.id is not None
        return record.id


async def _get(app: App, model: Any, key: int) -> Any:
    async with app.sessions() as s:
        return await s.get(model, key)


async def _rows(app: App, template: str | None = None) -> list[OutboxMessage]:
    async with app.sessions() as s:
        stmt = select(OutboxMessage).order_by(col(OutboxMessage.id))
        if template is not None:
            stmt = stmt.where(OutboxMessage.template == template)
        return list((await s.exec(stmt)).all())


async def _audit(app: App, action: str) -> list[AuditEntry]:
    async with app.sessions() as s:
        return list((await s.exec(select(AuditEntry).where(AuditEntry.action == action))).all())


async def _bindings(app: App, chat_id: str) -> list[ChatBinding]:
    async with app.sessions() as s:
        return list((await s.exec(select(ChatBinding).where(ChatBinding.chat_id == chat_id))).all())


async def test_a_record_is_served_when_its_three_notices_are_delivered(
    app: App, people: dict[str, int], sender: RecordingSender, dispatcher: Dispatcher, clock: FrozenClock
) -> None:
    record_id = await _record(app, clock, people["subject"], f"staff:{people['handler']}")
    clock.advance(minutes=5)  # delivered later than written: served is the delivery time
    stats = await dispatcher.drain()

    assert stats.sent == 3 and len(sender.texts_to(ENTERPRISE)) == 3
    record = await _get(app, CreditRecord, record_id)
    assert record.notices_served_at == clock.now()
    [served] = await _audit(app, "record.notices_served")
    assert served.entity_id == str(record_id)
    assert await _rows(app, "notice_undeliverable") == []


async def test_a_chat_that_blocked_the_bot_leaves_the_record_unserved_and_the_recorder_is_told_once(
    app: App, people: dict[str, int], sender: RecordingSender, dispatcher: Dispatcher, clock: FrozenClock
) -> None:
    record_id = await _record(app, clock, people["subject"], f"staff:{people['handler']}")
    sender.fail(ENTERPRISE, *(RecipientGone(BLOCKED) for _ in SANSHU_TEMPLATES))

    stats = await dispatcher.drain()

    assert (stats.failed, stats.sent) == (3, 1)  # the three notices; the report to the handler
    assert sender.texts_to(ENTERPRISE) == []
    assert (await _get(app, CreditRecord, record_id)).notices_served_at is None
    sanshu = [r for r in await _rows(app) if r.kind == "sanshu"]
    assert [(r.status, r.attempts) for r in sanshu] == [(OutboxStatus.FAILED, 1)] * 3  # never retried
    # The handler who recorded it is told once (not once per notice); the admins are not bothered.
    [report] = sender.texts_to(HANDLER)
    assert "三书未能送达" in report and DECISION_NO in report and NAME in report
    assert "邮寄送达" in report and "屏蔽" in report
    assert "None" not in report and ENTERPRISE not in report.replace(DECISION_NO, "")
    assert sender.texts_to(ADMIN) == []
    assert await _rows(app, "delivery_failed") == []
    # The chat's binding ends, with one audit entry; the record was never served, so it has no change.
    [binding] = await _bindings(app, ENTERPRISE)
    assert not binding.active
    [gone] = await _audit(app, "binding.chat_gone")
    assert gone.entity_id == str(binding.id) and gone.after["active"] is False
    assert await _audit(app, "record.notices_unserved") == []
    assert (await dispatcher.drain()).total == 0


async def test_one_chat_that_received_all_three_is_enough(
    app: App, people: dict[str, int], sender: RecordingSender, dispatcher: Dispatcher, clock: FrozenClock
) -> None:
    async with app.sessions() as s, s.begin():
        s.add(_binding(OTHER_PHONE, subject_id=people["subject"]))
    record_id = await _record(app, clock, people["subject"], f"staff:{people['handler']}")
    sender.fail(ENTERPRISE, *(RecipientGone(BLOCKED) for _ in SANSHU_TEMPLATES))

    await dispatcher.drain()

    assert len(sender.texts_to(OTHER_PHONE)) == 3
    assert (await _get(app, CreditRecord, record_id)).notices_served_at == clock.now()
    assert sender.texts_to(HANDLER) == [] and await _rows(app, "notice_undeliverable") == []
    assert [b.active for b in await _bindings(app, ENTERPRISE)] == [False]
    assert [b.active for b in await _bindings(app, OTHER_PHONE)] == [True]


async def test_the_last_chat_failing_unserves_the_record_even_when_another_failed_first(
    app: App, people: dict[str, int], sender: RecordingSender, dispatcher: Dispatcher, clock: FrozenClock
) -> None:
    async with app.sessions() as s, s.begin():
        s.add(_binding(OTHER_PHONE, subject_id=people["subject"]))
    record_id = await _record(app, clock, people["subject"], f"staff:{people['handler']}")
    sender.fail(ENTERPRISE, *(RecipientGone(BLOCKED) for _ in SANSHU_TEMPLATES))
    sender.fail(OTHER_PHONE, PermanentFailure("Bad Request: message is too long"))

    await dispatcher.drain()

    assert (await _get(app, CreditRecord, record_id)).notices_served_at is None
    assert len(sender.texts_to(HANDLER)) == 1  # two chats failed: still one report
    # A rejected message is no sign that the chat is gone: that binding stays.
    assert [b.active for b in await _bindings(app, OTHER_PHONE)] == [True]


async def test_a_failure_that_is_not_a_blocked_chat_keeps_the_binding_and_says_why(
    app: App, people: dict[str, int], sender: RecordingSender, dispatcher: Dispatcher, clock: FrozenClock
) -> None:
    record_id = await _record(app, clock, people["subject"], f"staff:{people['handler']}")
    sender.fail(ENTERPRISE, PermanentFailure("Bad Request: message is too long"))

    await dispatcher.drain()

    assert (await _get(app, CreditRecord, record_id)).notices_served_at is None
    [report] = sender.texts_to(HANDLER)
    assert "在线发送未能成功" in report and "屏蔽" not in report
    assert [b.active for b in await _bindings(app, ENTERPRISE)] == [True]
    assert await _audit(app, "binding.chat_gone") == []


async def test_binding_the_chat_again_serves_the_notices_again(
    app: App, people: dict[str, int], sender: RecordingSender, dispatcher: Dispatcher, clock: FrozenClock
) -> None:
    record_id = await _record(app, clock, people["subject"], f"staff:{people['handler']}")
    sender.fail(ENTERPRISE, *(RecipientGone(BLOCKED) for _ in SANSHU_TEMPLATES))
    await dispatcher.drain()

    # The user unblocks the bot and binds again with a new code (redeem serves pending notices).
    clock.advance(days=1)
    async with app.sessions() as s, s.begin():
        s.add(_binding(ENTERPRISE, subject_id=people["subject"]))
        await s.flush()
        assert await serve_pending_notices(
            s,
            people["subject"],
            today=local_today(clock),
            now=clock.now(),
            calendar=app.engine.services.calendar,
        )
    await dispatcher.drain()

    assert len(sender.texts_to(ENTERPRISE)) == 3  # the notices the chat never got, once each
    assert (await _get(app, CreditRecord, record_id)).notices_served_at == clock.now()
    assert len(sender.texts_to(HANDLER)) == 1


async def test_without_a_reachable_recorder_the_admins_are_told(
    app: App, people: dict[str, int], sender: RecordingSender, dispatcher: Dispatcher, clock: FrozenClock
) -> None:
    async with app.sessions() as s, s.begin():
        transfer = DataTransfer(
            direction="import", kind="penalties", file_name="x.csv", sha256="0" * 64, status="imported",
            actor="cli",
        )  # fmt: skip
        s.add(transfer)
        await s.flush()
        origin = f"import:{transfer.id}"
    await _record(app, clock, people["subject"], "cli", origin=origin)
    sender.fail(ENTERPRISE, *(RecipientGone(BLOCKED) for _ in SANSHU_TEMPLATES))

    await dispatcher.drain()

    [report] = sender.texts_to(ADMIN)
    assert DECISION_NO in report and sender.texts_to(HANDLER) == []


async def test_the_recorder_of_an_import_is_whoever_ran_it(
    app: App, people: dict[str, int], sender: RecordingSender, dispatcher: Dispatcher, clock: FrozenClock
) -> None:
    async with app.sessions() as s, s.begin():
        transfer = DataTransfer(
            direction="import", kind="penalties", file_name="x.csv", sha256="0" * 64, status="imported",
            actor=f"staff:{people['handler']}",
        )  # fmt: skip
        s.add(transfer)
        await s.flush()
        origin = f"import:{transfer.id}"
    await _record(app, clock, people["subject"], "system", origin=origin)
    sender.fail(ENTERPRISE, *(RecipientGone(BLOCKED) for _ in SANSHU_TEMPLATES))

    await dispatcher.drain()

    assert len(sender.texts_to(HANDLER)) == 1 and sender.texts_to(ADMIN) == []


async def test_a_withdrawn_record_needs_no_serving(
    app: App, people: dict[str, int], sender: RecordingSender, dispatcher: Dispatcher, clock: FrozenClock
) -> None:
    record_id = await _record(app, clock, people["subject"], f"staff:{people['handler']}")
    async with app.sessions() as s, s.begin():
        record = await s.get(CreditRecord, record_id)
        assert record is not None
        record.status = RecordStatus.WITHDRAWN
    sender.fail(ENTERPRISE, *(RecipientGone(BLOCKED) for _ in SANSHU_TEMPLATES))

    await dispatcher.drain()

    assert sender.texts_to(HANDLER) == [] and sender.texts_to(ADMIN) == []
    assert (await _get(app, CreditRecord, record_id)).notices_served_at is None


async def test_a_blocked_staff_chat_ends_that_binding_only(
    app: App, people: dict[str, int], sender: RecordingSender, dispatcher: Dispatcher, clock: FrozenClock
) -> None:
    """Any notice, not only 三书: a chat gone is a chat gone."""
    from workflows.notices import enqueue

    async with app.sessions() as s, s.begin():
        await enqueue(
            s, channel=CHANNEL, chat_id=HANDLER, template="notice_undeliverable", dedupe_key="t|801",
            context={"subject_name": NAME, "decision_no": DECISION_NO, "decision_date": "2026-11-20",
                     "authority": "枣庄市交通运输局", "chat_gone": False},
            staff_id=people["handler"], now=clock.now(),
        )  # fmt: skip
    sender.fail(HANDLER, RecipientGone(BLOCKED))

    assert (await dispatcher.drain()).failed == 1

    assert [b.active for b in await _bindings(app, HANDLER)] == [False]
    assert [b.active for b in await _bindings(app, ENTERPRISE)] == [True]
    [row] = await _rows(app)
    assert row.dedupe_key == "t|801"  # an ordinary notice keeps its key: it is not served again


async def test_two_dispatchers_failing_the_last_two_chats_together_still_unserve_the_record(
    app: App,
    people: dict[str, int],
    sender: RecordingSender,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two chats each got two notices; the third fails in both at the same moment, on two dispatchers.
    Unless one record's outcomes are taken in turn (its row lock), each sees the other's notice still
    in flight and the record stays served."""
    if app.db.dialect.name != "postgresql":
        pytest.skip("concurrent dispatchers need FOR UPDATE SKIP LOCKED (PostgreSQL); SQLite has one writer")
    async with app.sessions() as s, s.begin():
        s.add(_binding(OTHER_PHONE, subject_id=people["subject"]))
    record_id = await _record(app, clock, people["subject"], f"staff:{people['handler']}")
    for chat in (ENTERPRISE, OTHER_PHONE):
        sender.fail(chat, None, None, RecipientGone(BLOCKED))
    both_failed = asyncio.Barrier(2)
    settle = dispatcher_module.settle_sanshu

    async def settle_together(session: Any, row: OutboxMessage, **kw: Any) -> None:
        if kw["chat_gone"]:  # both outcomes are written, neither is committed
            await asyncio.wait_for(both_failed.wait(), 10)
        await settle(session, row, **kw)

    monkeypatch.setattr(dispatcher_module, "settle_sanshu", settle_together)
    first, second = (
        Dispatcher(app.sessions, {CHANNEL: sender}, renderer=Renderer(), clock=clock, instance=name, batch=1)
        for name in ("a", "b")
    )

    while True:
        a, b = await asyncio.gather(first.run_once(), second.run_once())
        if a.total == b.total == 0:
            break

    assert (await _get(app, CreditRecord, record_id)).notices_served_at is None
    assert len(sender.texts_to(HANDLER)) == 1


async def test_staff_record_service_in_writing_and_later_chat_outcomes_leave_it_served(
    app: App, people: dict[str, int], sender: RecordingSender, dispatcher: Dispatcher, clock: FrozenClock
) -> None:
    from workflows.notices import mark_served_in_writing, settle_sanshu

    record_id = await _record(app, clock, people["subject"], f"staff:{people['handler']}")
    sender.fail(ENTERPRISE, *(RecipientGone(BLOCKED) for _ in SANSHU_TEMPLATES))
    await dispatcher.drain()
    [report] = await _rows(app, "notice_undeliverable")
    assert report.buttons[0][0]["action"] == "staff.served_in_writing"  # straight from the report
    async with app.sessions() as s, s.begin():
        handler = await s.get(Staff, people["handler"])
        assert handler is not None
        await mark_served_in_writing(s, record_id, staff=handler, now=clock.now())
    assert (await _get(app, CreditRecord, record_id)).notices_served_at == clock.now()
    [entry] = await _audit(app, "record.served_in_writing")
    assert entry.actor == f"staff:{people['handler']}"
    # A chat outcome settled later (another chat's failure) does not unmark a record served on paper.
    failed = next(r for r in await _rows(app) if r.kind == "sanshu")
    async with app.sessions() as s, s.begin():
        await settle_sanshu(s, failed, now=clock.now(), chat_gone=True)
    assert (await _get(app, CreditRecord, record_id)).notices_served_at == clock.now()
    assert await _audit(app, "record.notices_unserved") == []
