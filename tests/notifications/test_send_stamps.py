"""Issue #10: the send budget counts a send from when its request was written (bot/channels/telegram's
make_bot and telegram_ptb's build_application report the write), over real HTTP to the local Bot API
server, which counts it on arrival."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot

from bot.channels.telegram import make_bot
from bot.channels.telegram_ptb import build_application
from notifications.limits import ARRIVAL_MARGIN_SECONDS, RateLimiter
from tests.support.botapi import FakeBotAPI


@pytest.fixture
async def bot() -> AsyncIterator[tuple[Bot, FakeBotAPI]]:
    async with FakeBotAPI() as api:
        bot = make_bot(api.token, api.base_url)
        yield bot, api
        await bot.session.close()


async def test_a_send_counts_from_the_write_of_its_request_not_its_late_answer(
    bot: tuple[Bot, FakeBotAPI],
) -> None:
    client, api = bot
    late = [0.0]
    budget = RateLimiter(clock=lambda: time.monotonic() + late[0])
    slot = await budget.acquire("710001")
    granted = time.monotonic()
    await client.send_message(710001, "您的信用修复申请已受理")
    late[0] = 0.5  # the answer is read half a second late, as on a loaded machine
    budget.done(slot)
    assert slot.written_at is not None
    arrived = api.sent[-1].at  # the server's clock is this process's time.monotonic
    assert granted <= slot.written_at <= arrived
    assert all(stamp.at == slot.written_at + ARRIVAL_MARGIN_SECONDS for _, stamp in slot.entries)


async def test_a_send_answered_sooner_than_the_margin_counts_from_its_answer(
    bot: tuple[Bot, FakeBotAPI],
) -> None:
    client, api = bot
    budget = RateLimiter()
    slot = await budget.acquire("710002")
    await client.send_message(710002, "您的信用修复申请已受理")
    budget.done(slot)
    answered = time.monotonic()  # just after done() read the clock
    assert slot.written_at is not None
    arrived = api.sent[-1].at
    for _, stamp in slot.entries:
        assert stamp.at <= slot.written_at + ARRIVAL_MARGIN_SECONDS
        if answered < slot.written_at + ARRIVAL_MARGIN_SECONDS:  # a quiet loop: the answer was sooner
            assert arrived <= stamp.at <= answered


async def test_concurrent_sends_each_move_their_own_slot(bot: tuple[Bot, FakeBotAPI]) -> None:
    client, api = bot
    budget = RateLimiter()
    await client.get_me()  # a request under no slot is just sent

    async def send(chat: int) -> float | None:
        slot = await budget.acquire(str(chat))
        try:
            await client.send_message(chat, "通知")
        finally:
            budget.done(slot)
        return slot.written_at

    chats = list(range(710010, 710020))
    written = dict(zip(chats, await asyncio.gather(*(send(chat) for chat in chats)), strict=True))
    arrived = {m.chat_id: m.at for m in api.sent}
    assert all(at is not None and at <= arrived[chat] for chat, at in written.items())


async def test_python_telegram_bot_requests_are_counted_from_their_write_too() -> None:
    async with FakeBotAPI() as api:
        application = build_application(api.token, api.base_url)
        async with application.bot as client:
            budget = RateLimiter()
            slot = await budget.acquire("710030", reply=True)
            granted = time.monotonic()
            await client.send_message(710030, "您的信用修复申请已受理")
            budget.done(slot)
    assert slot.written_at is not None
    assert granted <= slot.written_at <= api.sent[-1].at
