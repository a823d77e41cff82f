"""One send budget for everything sent with the bot token (design: One send budget; issue #10).

Replies, edits, documents and notices all take a slot before their request, from one budget per
deployment:
- "memory" (the embedded default): notifications.limits.RateLimiter, shared by every task of the one
  process that both answers and delivers (`credit-bot run`);
- "redis://host:port/db": the same windows kept in Redis (coredis; one Lua script a send), so several
  processes (webhook instances, `credit-bot deliver`) stay within one set of limits together. A 429
  pauses them all: its end time is kept in Redis too.

Replies go first in both: notices leave limits.REPLY_RESERVE of the global window to replies. Both count
a send from when its request was written (limits.request_written), or finished where no write was reported.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from notifications.limits import (
    ARRIVAL_MARGIN_SECONDS,
    GROUP_WINDOW_SECONDS,
    REPLY_RESERVE,
    RateLimiter,
    hold,
    is_group,
    release,
)

log = logging.getLogger(__name__)

# Redis answers in well under a millisecond here; when a window is full we sleep until its oldest entry
# leaves, but never less than this, so a busy budget does not spin on Redis.
MIN_POLL_SECONDS = 0.005


class SendBudget(Protocol):
    async def acquire(self, chat_id: str, *, reply: bool = False) -> Any:
        """Wait until a send to chat_id fits, count it, and return a slot for done()."""

    def done(self, slot: Any) -> None:
        """The request is answered: the send counts from now if its write was not reported, or if now is
        sooner than its write's stamp."""

    async def pause(self, seconds: float) -> None:
        """Telegram answered 429: nothing is sent with this token for `seconds`."""

    async def close(self) -> None: ...


# Why not the `limits` library's Redis moving window: it stamps a send when its slot is taken, and
# Telegram counts it when the request arrives. With two `credit-bot deliver` processes the requests of one
# second bunched up on arrival and the local Bot API server answered 34 of 240 notices with 429
# (tests/e2e/test_shared_budget.py). These windows are sorted sets whose entries move to the moment the
# request was written, or answered, as the in-process RateLimiter's do. The clock is Redis's own (TIME),
# so processes on several hosts agree on it: a write is placed on it as the grant's Redis time plus the
# local seconds from asking for the slot to the write, which is never earlier than the true moment.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local paused = tonumber(redis.call('GET', KEYS[1]) or '0')
if paused > now then return tostring(paused - now) .. ' 0' end
local wait, global = 0, '0'
for i = 2, #KEYS do
  local limit, seconds = tonumber(ARGV[2 * i - 2]), tonumber(ARGV[2 * i - 1])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - seconds)
  local n = redis.call('ZCARD', KEYS[i])
  if n >= limit then
    local oldest = redis.call('ZRANGE', KEYS[i], n - limit, n - limit, 'WITHSCORES')
    local w = tonumber(oldest[2]) + seconds - now
    if w > wait then wait = w end
    if i == 2 then global = '1' end
  end
end
if wait > 0 then return tostring(wait) .. ' ' .. global end
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[i], math.ceil(tonumber(ARGV[2 * i - 1]) * 1000) + 1000)
end
return '0 0 ' .. string.format('%.6f', now)
"""
_DONE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
for i = 1, #KEYS do redis.call('ZADD', KEYS[i], 'XX', 'GT', now, ARGV[1]) end
return 1
"""
_ANSWERED = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
for i = 1, #KEYS do redis.call('ZADD', KEYS[i], 'XX', 'LT', now, ARGV[1]) end
return 1
"""
_WRITTEN = """
for i = 1, #KEYS do redis.call('ZADD', KEYS[i], 'XX', 'GT', ARGV[2], ARGV[1]) end
return 1
"""
_PAUSE = """
local t = redis.call('TIME')
local untl = tonumber(t[1]) + tonumber(t[2]) / 1000000 + tonumber(ARGV[1])
if untl > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], tostring(untl), 'PX', math.ceil(tonumber(ARGV[1]) * 1000) + 1000)
end
return 1
"""


class RedisSlot:
    """A send counted in Redis: its member in each window, and what places its write on Redis's clock."""

    __slots__ = ("member", "keys", "taken_at", "asked_at", "written_at", "finished", "_budget", "_stamping")

    def __init__(self, member: str, keys: list[str], budget: RedisBudget) -> None:
        self.member = member
        self.keys = keys
        self.taken_at = 0.0  # Redis's clock when the slot was granted
        self.asked_at = 0.0  # the local clock when that TAKE was sent: at or before the grant
        self.written_at: float | None = None  # the local clock at the latest reported write
        self.finished = False
        self._budget = budget
        self._stamping = False  # a WRITTEN call is under way; it sends the latest write when it is done

    def written(self) -> None:
        if self.finished:
            return
        self.written_at = self._budget.clock()
        if not self._stamping:
            self._stamping = True
            self._budget.spawn(self._stamp())

    async def _stamp(self) -> None:
        try:
            stamped: float | None = None
            while self.written_at != stamped:
                stamped = self.written_at
                assert stamped is not None
                at = self.taken_at + (stamped - self.asked_at) + ARRIVAL_MARGIN_SECONDS
                await self._budget.restamp(self, at)
            if self.finished:  # answered meanwhile: after the write's stamp, never before it
                await self._budget.answered(self)
        finally:
            self._stamping = False


class RedisBudget:
    """Telegram's limits kept in Redis for every process of one deployment (one bot token)."""

    def __init__(
        self,
        url: str,
        bot_id: str,
        *,
        global_per_second: float,
        per_chat_per_second: float,
        per_group_per_minute: int,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        import coredis

        self._redis = coredis.Redis.from_url(url, decode_responses=True)
        self._take = self._redis.register_script(_TAKE)
        self._done = self._redis.register_script(_DONE)
        self._written = self._redis.register_script(_WRITTEN)
        self._answered = self._redis.register_script(_ANSWERED)
        self._pause = self._redis.register_script(_PAUSE)
        self._prefix = f"credit-bot:{bot_id}"
        self._global = _window(global_per_second)
        self._per_chat = _window(per_chat_per_second)
        self._per_group = (per_group_per_minute, GROUP_WINDOW_SECONDS)
        self._sleep = sleep
        self.clock = clock
        self._pending: set[asyncio.Task[Any]] = set()
        self._notice_turn = asyncio.Lock()

    async def acquire(self, chat_id: str, *, reply: bool = False) -> RedisSlot:
        global_limit = self._global[0] if reply else max(1, self._global[0] - REPLY_RESERVE)
        windows = [
            (f"{self._prefix}:global", global_limit, self._global[1]),
            (f"{self._prefix}:chat:{chat_id}", *self._per_chat),
        ]
        if is_group(chat_id):
            windows.append((f"{self._prefix}:group:{chat_id}", *self._per_group))
        member = uuid.uuid4().hex
        keys = [key for key, _, _ in windows]
        args: list[str | int | float] = [member]
        for _, limit, seconds in windows:
            args += [limit, seconds]
        slot = RedisSlot(member, keys, self)
        while True:
            if reply:
                wait, _ = await self._try(slot, args)
                if wait <= 0:
                    break
            else:
                # One notice of this process at a time polls the global window: thirty waiting notices
                # woke together and called Redis 19 times per send (bench/delivery.py, 3 processes).
                # A notice held back by its own chat or group lets the others go meanwhile.
                async with self._notice_turn:
                    while True:
                        wait, on_global = await self._try(slot, args)
                        if wait <= 0 or not on_global:
                            break
                        await self._sleep(max(wait, MIN_POLL_SECONDS))
                if wait <= 0:
                    break
            await self._sleep(max(wait, MIN_POLL_SECONDS))
        hold(slot)
        return slot

    async def _try(self, slot: RedisSlot, args: list[str | int | float]) -> tuple[float, bool]:
        """(seconds to wait, 0 when the slot was taken; whether the global window is what is full)."""
        asked_at = self.clock()
        answer = str(await self._take(keys=[f"{self._prefix}:paused", *slot.keys], args=args))
        wait, on_global, *taken_at = answer.split()
        if taken_at:
            slot.asked_at, slot.taken_at = asked_at, float(taken_at[0])
        return float(wait), on_global == "1"

    def done(self, slot: Any) -> None:
        # Not awaited by the caller: the next send must not wait a Redis round trip for it (the task is
        # held until it ran). As limits.Slot.answered: from the answer if no write was reported, or if the
        # answer is sooner than the write's stamp.
        slot.finished = True
        release(slot)
        if slot.written_at is None:
            self.spawn(self._done(keys=slot.keys, args=[slot.member]))
        elif not slot._stamping:  # else the write's stamp is still on its way, and this follows it
            self.spawn(self.answered(slot))

    async def answered(self, slot: RedisSlot) -> None:
        """The answer came: count slot's send from now (Redis's clock) if that is sooner than its stamp."""
        await self._answered(keys=slot.keys, args=[slot.member])

    async def restamp(self, slot: RedisSlot, at: float) -> None:
        """Count slot's send from `at` on Redis's clock, if that is later than its stamp."""
        await self._written(keys=slot.keys, args=[slot.member, repr(at)])

    def spawn(self, call: Coroutine[Any, Any, Any]) -> None:
        """Run a budget update in the background; close() waits for it, a failure is logged."""
        task = asyncio.ensure_future(call)
        self._pending.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("send budget: a Redis update failed: %r", task.exception())

    async def pause(self, seconds: float) -> None:
        await self._pause(keys=[f"{self._prefix}:paused"], args=[max(seconds, 0.0)])

    async def settled(self) -> None:
        """Wait until the background updates started so far (done, written) have reached Redis."""
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def close(self) -> None:
        await self.settled()
        self._redis.connection_pool.disconnect()


def _window(per_second: float) -> tuple[int, float]:
    """(sends, seconds): 30/s is 30 per second and 0.5/s one per 2 s, as limits._window_for_rate."""
    limit = max(1, math.floor(per_second))
    return limit, limit / per_second


def make_budget(
    setting: str,
    token: str,
    *,
    global_per_second: float,
    per_chat_per_second: float,
    per_group_per_minute: int,
) -> SendBudget:
    """The budget SEND_BUDGET names: "memory" or a redis:// URL."""
    if setting == "memory":
        return RateLimiter(global_per_second, per_chat_per_second, per_group_per_minute)
    if setting.startswith(("redis://", "rediss://")):
        return RedisBudget(
            setting,
            token.split(":", 1)[0],  # the bot's id, never the secret half of the token
            global_per_second=global_per_second,
            per_chat_per_second=per_chat_per_second,
            per_group_per_minute=per_group_per_minute,
        )
    raise ValueError(f"SEND_BUDGET must be 'memory' or a redis:// URL, not {setting!r}")
