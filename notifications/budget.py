"""One send budget for everything sent with the bot token (design: One send budget; issue #10).

Replies, edits, documents and notices all take a slot before their request, from one budget per
deployment:
- "memory" (the embedded default): notifications.limits.RateLimiter, shared by every task of the one
  process that both answers and delivers (`credit-bot run`);
- "redis://host:port/db": the same windows kept in Redis (coredis; one Lua script a send), so several
  processes (webhook instances, `credit-bot deliver`) stay within one set of limits together. A 429
  pauses them all: its end time is kept in Redis too.

Replies go first in both: notices leave limits.REPLY_RESERVE of the global window to replies.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from notifications.limits import GROUP_WINDOW_SECONDS, REPLY_RESERVE, RateLimiter, is_group

# Redis answers in well under a millisecond here; when a window is full we sleep until its oldest entry
# leaves, but never less than this, so a busy budget does not spin on Redis.
MIN_POLL_SECONDS = 0.005


class SendBudget(Protocol):
    async def acquire(self, chat_id: str, *, reply: bool = False) -> Any:
        """Wait until a send to chat_id fits, count it, and return a slot for done()."""

    def done(self, slot: Any) -> None:
        """The request is answered (the in-process budget counts the send from now)."""

    async def pause(self, seconds: float) -> None:
        """Telegram answered 429: nothing is sent with this token for `seconds`."""

    async def close(self) -> None: ...


# Why not the `limits` library's Redis moving window: it stamps a send when its slot is taken, and
# Telegram counts it when the request arrives. With two `credit-bot deliver` processes the requests of one
# second bunched up on arrival and the local Bot API server answered 34 of 240 notices with 429
# (tests/e2e/test_shared_budget.py). These windows are sorted sets whose entries move to the moment the
# request finished (done()), as the in-process RateLimiter's do; the clock is Redis's own (TIME), so
# processes on several hosts agree on it.
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
return '0 0'
"""
_DONE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
for i = 1, #KEYS do redis.call('ZADD', KEYS[i], 'XX', 'GT', now, ARGV[1]) end
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


@dataclass(frozen=True)
class RedisSlot:
    member: str
    keys: list[str]


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
    ) -> None:
        import coredis

        self._redis = coredis.Redis.from_url(url, decode_responses=True)
        self._take = self._redis.register_script(_TAKE)
        self._done = self._redis.register_script(_DONE)
        self._pause = self._redis.register_script(_PAUSE)
        self._prefix = f"credit-bot:{bot_id}"
        self._global = _window(global_per_second)
        self._per_chat = _window(per_chat_per_second)
        self._per_group = (per_group_per_minute, GROUP_WINDOW_SECONDS)
        self._sleep = sleep
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
        slot = RedisSlot(member, keys)
        while True:
            if reply:
                wait, _ = await self._try(slot, args)
                if wait <= 0:
                    return slot
            else:
                # One notice of this process at a time polls the global window: thirty waiting notices
                # woke together and called Redis 19 times per send (bench/delivery.py, 3 processes).
                # A notice held back by its own chat or group lets the others go meanwhile.
                async with self._notice_turn:
                    while True:
                        wait, on_global = await self._try(slot, args)
                        if wait <= 0:
                            return slot
                        if not on_global:
                            break
                        await self._sleep(max(wait, MIN_POLL_SECONDS))
            await self._sleep(max(wait, MIN_POLL_SECONDS))

    async def _try(self, slot: RedisSlot, args: list[str | int | float]) -> tuple[float, bool]:
        """(seconds to wait, 0 when the slot was taken; whether the global window is what is full)."""
        answer = str(await self._take(keys=[f"{self._prefix}:paused", *slot.keys], args=args))
        wait, on_global = answer.split()
        return float(wait), on_global == "1"

    def done(self, slot: Any) -> None:
        # Counted from when the request finished. Not awaited by the caller: the next send must not wait
        # a Redis round trip for it (the task is held until it ran).
        task = asyncio.ensure_future(self._done(keys=slot.keys, args=[slot.member]))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def pause(self, seconds: float) -> None:
        await self._pause(keys=[f"{self._prefix}:paused"], args=[max(seconds, 0.0)])

    async def close(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
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
