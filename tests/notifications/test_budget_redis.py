"""The send budget shared through Redis (SEND_BUDGET=redis://…): two budgets stand for two processes of
one deployment. Skipped, saying so, where no Redis runs on 127.0.0.1:6379."""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections.abc import Callable

import pytest

from notifications.budget import RedisBudget, make_budget
from notifications.limits import ARRIVAL_MARGIN_SECONDS, RateLimiter, request_written


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(
    not _redis_up(), reason="no Redis on 127.0.0.1:6379: shared budget not tested"
)


def _pair(per_second: float = 10, **clock: Callable[[], float]) -> tuple[RedisBudget, RedisBudget]:
    bot = str(random.randint(10**8, 10**9))  # keys of this test only
    make = lambda: RedisBudget(  # noqa: E731
        "redis://127.0.0.1:6379/0", bot, global_per_second=per_second, per_chat_per_second=1,
        per_group_per_minute=20, **clock,
    )  # fmt: skip
    return make(), make()


async def test_two_processes_share_one_global_window() -> None:
    a, b = _pair(per_second=10)
    try:
        started = time.monotonic()
        # 9 notices each (18): notices leave one of 10 slots a second, so 9 a second go through together.
        await asyncio.gather(
            *(x.acquire(str(1000 + i * 2 + n)) for i in range(9) for n, x in enumerate((a, b)))
        )
        assert 0.9 <= time.monotonic() - started < 1.8  # the second nine waited for the window together
    finally:
        await a.close()
        await b.close()


async def test_a_reply_takes_the_slot_notices_leave_and_a_429_pauses_both() -> None:
    a, b = _pair(per_second=10)
    try:
        await asyncio.gather(*(a.acquire(str(2000 + i)) for i in range(9)))  # notices fill their share
        started = time.monotonic()
        await b.acquire("3000", reply=True)
        assert time.monotonic() - started < 0.2  # the reply's slot was free in the other process
        await a.pause(1.0)
        started = time.monotonic()
        await b.acquire("3001", reply=True)
        assert time.monotonic() - started >= 0.9  # Telegram's 429 held the other process back too
    finally:
        await a.close()
        await b.close()


async def test_one_chat_gets_one_message_a_second_across_processes() -> None:
    a, b = _pair()
    try:
        await a.acquire("42", reply=True)
        started = time.monotonic()
        await b.acquire("42")
        assert time.monotonic() - started >= 0.9
    finally:
        await a.close()
        await b.close()


async def test_a_send_counts_from_its_write_placed_on_redis_clock() -> None:
    """Issue #10: the write is measured on the local clock and placed on Redis's as the grant's Redis time
    plus the local seconds from asking for the slot to the write."""
    local = [100.0]
    a, b = _pair(clock=lambda: local[0])
    try:
        slot = await a.acquire("42", reply=True)
        local[0] = 100.25  # the request is written a quarter of a second after the slot was asked for
        request_written()
        await a.settled()
        score = await a._redis.zscore(slot.keys[0], slot.member)
        assert score is not None
        assert abs(score - (slot.taken_at + 0.25 + ARRIVAL_MARGIN_SECONDS)) < 1e-6
        # Answered sooner (on Redis's clock) than the write's stamp: the answer is the better stamp.
        a.done(slot)
        await a.settled()
        answered = await a._redis.zscore(slot.keys[0], slot.member)
        assert answered is not None and slot.taken_at < answered < score
        started = time.monotonic()
        await b.acquire("42", reply=True)  # the other process sees the chat's second as moved
        assert time.monotonic() - started >= 0.9
    finally:
        await a.close()
        await b.close()


async def test_a_send_whose_write_was_not_reported_counts_from_when_it_finished() -> None:
    a, b = _pair()
    try:
        slot = await a.acquire("42", reply=True)
        await asyncio.sleep(0.3)  # a request through a client without a write hook (PTB)
        a.done(slot)
        await a.settled()
        score = await a._redis.zscore(slot.keys[0], slot.member)
        assert score is not None and score >= slot.taken_at + 0.3
    finally:
        await a.close()
        await b.close()


def test_the_setting_chooses_the_budget() -> None:
    assert isinstance(
        make_budget("memory", "1:x", global_per_second=30, per_chat_per_second=1, per_group_per_minute=20),
        RateLimiter,
    )
    with pytest.raises(ValueError, match="SEND_BUDGET"):
        make_budget("mysql://x", "1:x", global_per_second=30, per_chat_per_second=1, per_group_per_minute=20)
