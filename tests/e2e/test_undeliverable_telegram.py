"""End to end: 三书同达 to a chat that blocked the bot, through the aiogram Sender over real HTTP to the
local Bot API server. The record is not served, the chat's binding ends, and the handler who recorded
the penalty reads which decision to serve by post or in person."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest
from sqlmodel import select

from bot.app import App
from bot.channels.telegram import make_bot
from bot.channels.telegram_sender import AiogramSender
from models import (
    ChatBinding,
    CreditRecord,
    OutboxMessage,
    OutboxStatus,
    Staff,
    StaffRole,
    Subject,
    SubjectKind,
)
from notifications.dispatcher import Dispatcher
from notifications.render import Renderer
from tests.support.botapi import FakeBotAPI
from workflows.clock import FrozenClock, local_today
from workflows.penalties import record_penalty

ENTERPRISE, HANDLER = 720001, 720009


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
async def dispatcher(app: App, api: FakeBotAPI, clock: FrozenClock) -> AsyncIterator[Dispatcher]:
    bot = make_bot(api.token, api.base_url)
    yield Dispatcher(
        app.sessions, {"telegram": AiogramSender(bot)}, renderer=Renderer(), clock=clock, instance="e2e"
    )
    await bot.session.close()


@pytest.mark.parametrize("gone", ["blocked", "deleted"])
async def test_notices_to_a_gone_chat_leave_the_record_unserved_and_the_handler_told(
    app: App, api: FakeBotAPI, dispatcher: Dispatcher, clock: FrozenClock, gone: str
) -> None:
    async with app.sessions() as s, s.begin():
        handler = Staff(name="经办员甲", department="信用科", role=StaffRole.HANDLER)
        subject = Subject(
            kind=SubjectKind.ENTERPRISE, name="枣庄市顺达运输有限公司", uscc="91370400MA3C5X7K2L"
        )
        s.add_all([handler, subject])
        await s.flush()
        for chat, who in ((ENTERPRISE, {"subject_id": subject.id}), (HANDLER, {"staff_id": handler.id})):
            s.add(ChatBinding(channel="telegram", chat_id=str(chat), user_id=str(chat), **who))
        record = await record_penalty(
            s,
            actor=f"staff:{handler.id}",
            calendar=app.engine.services.calendar,
            now=clock.now(),
            today=local_today(clock),
            subject_id=subject.id,
            decision_no="枣交罚〔2026〕1300号",
            decision_date=date(2026, 11, 20),
            authority="枣庄市交通运输局",
            penalty_type="罚款",
            fine_wan=0.3,
            facts="超限运输",
            content="罚款 0.3 万元",
        )
        record_id = record.id
    (api.blocked_chats if gone == "blocked" else api.unknown_chats).add(ENTERPRISE)

    await dispatcher.drain()

    assert api.messages_to(ENTERPRISE) == []
    [report] = api.messages_to(HANDLER)
    text = report.visible_text
    assert text.startswith("⚠️ 三书未能送达") and "枣交罚〔2026〕1300号" in text
    assert "枣庄市顺达运输有限公司" in text and "邮寄送达" in text and "屏蔽" in text
    assert str(ENTERPRISE) not in text and "None" not in text and "Forbidden" not in text
    async with app.sessions() as s:
        assert (await s.get(CreditRecord, record_id)).notices_served_at is None  # type: ignore[union-attr]
        binding = (await s.exec(select(ChatBinding).where(ChatBinding.chat_id == str(ENTERPRISE)))).one()
        notices = (await s.exec(select(OutboxMessage).where(OutboxMessage.kind == "sanshu"))).all()
    assert not binding.active
    assert [n.status for n in notices] == [OutboxStatus.FAILED] * 3
    clock.advance(days=1)
    assert (await dispatcher.drain()).total == 0  # nothing retried, nothing reported twice
