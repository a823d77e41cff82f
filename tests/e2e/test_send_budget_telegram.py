"""Issue #10 over real HTTP, with both Telegram libraries and the local Bot API server enforcing Telegram's
limits (429 with retry_after): replies and notices share one budget, replies first.

While the outbox drains a backlog, a burst of 20 messages from one chat gets all 20 answers in order,
another chat is answered within 2 s, every notice arrives once, and the server never answers 429.
The per-chat limit is 4/s on both sides here (Telegram's is 1/s) so the burst takes 5 s, not 20:
the mechanics under test are the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import pytest
from sqlmodel import col, func, select

from bot.app import App
from bot.channels.telegram import AiogramChannel, make_bot
from bot.channels.telegram_ptb import PtbChannel, build_application
from bot.channels.telegram_sender import AiogramSender
from models import ChatBinding, OutboxMessage, OutboxStatus
from notifications.limits import RateLimiter
from tests.support.botapi import FakeBotAPI, TelegramLimits
from tests.support.processes import queue_numbered_notices

PER_CHAT = 4.0
NOTICES = 90  # three seconds of a full budget
BURST, OTHER, WARM = 700501, 700502, 700503
NOTICE_CHATS = 800_000


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(limits=TelegramLimits(per_chat_per_second=PER_CHAT)) as server:
        yield server


@pytest.fixture(params=["aiogram", "ptb"])
async def serving(request: pytest.FixtureRequest, demo: App, api: FakeBotAPI) -> AsyncIterator[None]:
    """`credit-bot run` in process: one channel and the outbox dispatcher, under one budget."""
    budget = RateLimiter(per_chat_per_second=PER_CHAT)
    notices_bot = make_bot(api.token, api.base_url)
    dispatcher = demo.dispatcher({"telegram": AiogramSender(notices_bot, budget=budget)}, limiter=budget)
    stop = asyncio.Event()
    outbox = asyncio.create_task(dispatcher.run_forever(stop, idle_seconds=0.1))
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(notices_bot.session.close)
        if request.param == "aiogram":
            bot = make_bot(api.token, api.base_url)
            stack.push_async_callback(bot.session.close)
            channel = AiogramChannel(demo.engine, bot, budget)
            polling = asyncio.create_task(channel.run())
            await api.wait_for_call("getUpdates")
            yield
            await channel.stop()
            await asyncio.wait_for(polling, 10)
        else:
            ptb = PtbChannel(demo.engine, build_application(api.token, api.base_url), budget)
            await ptb.start()
            yield
            await ptb.stop()
        stop.set()
        await asyncio.wait_for(outbox, 10)


async def _answers(api: FakeBotAPI, chat_id: int, text: str) -> list[str]:
    """What the bot answers one message (learned in a chat of its own, before the load)."""
    mark = api.mark()
    api.push_text(chat_id, text)
    await api.wait_for(lambda s: s.chat_id == chat_id, since=mark)
    await api.wait_idle(quiet=0.5)
    return [m.visible_text for m in api.sent[mark:] if m.chat_id == chat_id]


async def _sent_count(app: App) -> int:
    async with app.sessions() as s:
        stmt = select(func.count()).where(col(OutboxMessage.status) == OutboxStatus.SENT)
        return int((await s.exec(stmt)).one())


async def test_a_burst_during_a_drain_is_answered_in_full_and_in_order_and_blocks_no_one(
    demo: App, api: FakeBotAPI, serving: None
) -> None:
    help_answer = await _answers(api, WARM, "/help")
    start_answer = await _answers(api, WARM, "/start")
    assert help_answer != start_answer

    now = demo.engine.services.clock.now()  # the tests' frozen clock: due at once
    await queue_numbered_notices(demo, NOTICES, first_chat=NOTICE_CHATS, key="budget", now=now)
    await api.wait_for(lambda s: s.chat_id >= NOTICE_CHATS)  # the drain is under way
    loop = asyncio.get_running_loop()
    mark = api.mark()
    burst = ["/help" if i % 2 == 0 else "/start" for i in range(20)]
    for text in burst:
        api.push_text(BURST, text)
    asked = loop.time()
    api.push_text(OTHER, "/help")

    other = await api.wait_for(lambda s: s.chat_id == OTHER, since=mark, timeout=5)
    assert other.at - asked <= 2.0, f"another chat waited {other.at - asked:.1f} s behind the burst"

    expected = [line for text in burst for line in (help_answer if text == "/help" else start_answer)]
    for _ in range(200):
        got = [m.visible_text for m in api.messages_to(BURST)]
        if len(got) >= len(expected):
            break
        await asyncio.sleep(0.1)
    assert got == expected  # every message answered, in the order asked
    for _ in range(100):
        if await _sent_count(demo) == NOTICES:
            break
        await asyncio.sleep(0.1)
    assert await _sent_count(demo) == NOTICES
    delivered = [m for m in api.sent if m.chat_id >= NOTICE_CHATS]
    assert len(delivered) == NOTICES  # none lost, none twice
    assert api.too_many_requests == 0  # one budget: replies and notices never overran the limits


async def test_a_reply_to_a_chat_that_blocked_the_bot_ends_its_binding_quietly(
    demo: App, api: FakeBotAPI, serving: None, caplog: pytest.LogCaptureFixture
) -> None:
    driver = 700504
    mark = api.mark()
    api.push_text(driver, "DRVA2468")  # the demo driver's one-time code
    bound = await api.wait_for(lambda s: s.chat_id == driver, since=mark)
    assert "绑定成功" in bound.visible_text
    api.blocked_chats.add(driver)
    caplog.clear()
    api.push_text(driver, "/menu")
    for _ in range(100):
        async with demo.sessions() as s:
            binding = (await s.exec(select(ChatBinding).where(ChatBinding.chat_id == str(driver)))).one()
        if not binding.active:
            break
        await asyncio.sleep(0.1)
    assert not binding.active  # nothing more is queued for a chat that cannot be written to
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
