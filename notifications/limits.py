"""Telegram's broadcast limits and the in-process send budget (notifications/budget.py shares it across
processes through Redis).

Source: Telegram Bot FAQ, "My bot is hitting limits, how do I avoid this?"
https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this (as published 2024-2025).
Telegram gives these as guidance, not a contract; a 429 with `retry_after` is the authority (see pause()).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

GLOBAL_MESSAGES_PER_SECOND = 30  # "not more than about 30 messages per second" in bulk notifications
PER_CHAT_MESSAGES_PER_SECOND = 1  # "avoid sending more than one message per second" in one chat
PER_GROUP_MESSAGES_PER_MINUTE = 20  # "not more than 20 messages per minute" in the same group

MAX_MESSAGE_LENGTH = 4096  # Bot API sendMessage: text of 1-4096 characters
MAX_CALLBACK_DATA_BYTES = 64  # Bot API InlineKeyboardButton.callback_data: 1-64 bytes

GROUP_WINDOW_SECONDS = 60.0
# Replies go first (issue #10): notices may fill the global window only up to this many sends below the
# limit, so a user's reply finds a free slot at once even while a backlog drains at full speed. One slot of
# 30 keeps delivery at 29/s, above the 0.95 of 30/s.
REPLY_RESERVE = 1
_PRUNE_ABOVE = 1024  # idle per-chat windows are dropped once this many are tracked


class _SlidingWindow:
    """At most `capacity` events in any `seconds`-long window."""

    def __init__(self, capacity: int, seconds: float) -> None:
        self.capacity = capacity
        self.seconds = seconds
        self._times: deque[list[float]] = deque()  # one-element lists: a send's stamp can move later

    def wait_needed(self, now: float, reserve: int = 0) -> float:
        """Seconds until one more send fits, keeping `reserve` of the capacity free."""
        while self._times and self._times[0][0] <= now - self.seconds:
            self._times.popleft()
        capacity = max(1, self.capacity - reserve)
        if len(self._times) < capacity:
            return 0.0
        return self._times[len(self._times) - capacity][0] + self.seconds - now

    def record(self, now: float) -> list[float]:
        entry = [now]
        self._times.append(entry)
        return entry

    def restamp(self, entry: list[float], when: float) -> None:
        """Count the send from when its request finished: Telegram counts it on arrival, which can be
        milliseconds after we were cleared, and an early count lets a 31st request into its second."""
        if when > entry[0]:
            entry[0] = when
            if entry is not self._times[-1]:  # usually the newest send: nothing to reorder
                self._times = deque(sorted(self._times, key=lambda e: e[0]))

    def idle(self, now: float) -> bool:
        return not self._times or self._times[-1][0] <= now - self.seconds


SlidingWindow = _SlidingWindow  # public for other platforms' budgets (notifications/robots.py)


def _window_for_rate(per_second: float) -> _SlidingWindow:
    # 30/s becomes 30 per 1 s and 0.5/s becomes 1 per 2 s, so fractional rates stay exact.
    capacity = max(1, math.floor(per_second))
    return _SlidingWindow(capacity, capacity / per_second)


@dataclass(frozen=True)
class Slot:
    """A counted send, so its stamp can be moved to when the request finished."""

    entries: list[tuple[_SlidingWindow, list[float]]]


def is_group(chat_id: str) -> bool:
    """Telegram group and supergroup ids are negative; private chats are positive."""
    return chat_id.startswith("-")


class RateLimiter:
    """Waits before each send so the bot stays inside Telegram's limits; shared by all sending tasks of
    one process (replies and notices alike). Replies go first: a notice waits while any reply waits, and
    leaves REPLY_RESERVE of the global window free.

    `clock` and `sleep` are injectable so tests advance a fake clock instead of sleeping.
    """

    def __init__(
        self,
        global_per_second: float = GLOBAL_MESSAGES_PER_SECOND,
        per_chat_per_second: float = PER_CHAT_MESSAGES_PER_SECOND,
        per_group_per_minute: int = PER_GROUP_MESSAGES_PER_MINUTE,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.per_chat_per_second = per_chat_per_second
        self.per_group_per_minute = per_group_per_minute
        self._clock = clock
        self._sleep = sleep
        self._global = _window_for_rate(global_per_second)
        self._chats: dict[str, _SlidingWindow] = {}
        self._groups: dict[str, _SlidingWindow] = {}
        self._paused_until = 0.0
        self._replies_waiting = 0

    async def pause(self, seconds: float) -> None:
        """After a 429 Telegram wants silence from the whole bot for `retry_after` seconds."""
        self._paused_until = max(self._paused_until, self._clock() + max(seconds, 0.0))

    def wait_needed(self, chat_id: str, *, reply: bool = False) -> float:
        """Seconds until a send to chat_id is allowed (0: now); counts nothing."""
        now = self._clock()
        if self._paused_until > now:
            return self._paused_until - now
        reserve = 0 if reply else REPLY_RESERVE
        return max(
            self._global.wait_needed(now, reserve),
            *(window.wait_needed(now) for window in self._windows(chat_id)[1:]),
        )

    async def acquire(self, chat_id: str, *, reply: bool = False) -> Slot:
        """Return when a send to chat_id is allowed, and count that send. Pass the result to done()
        when the request has finished. A reply goes before every notice that is waiting."""
        if reply:
            self._replies_waiting += 1
        try:
            while True:
                wait = self.wait_needed(chat_id, reply=reply)
                if wait <= 0 and (reply or self._replies_waiting == 0):
                    break
                # A notice held back only by a waiting reply checks again soon: the reply takes its
                # slot within one loop turn.
                await self._sleep(wait if wait > 0 else 0.01)
        finally:
            if reply:
                self._replies_waiting -= 1
        # No await between the check and the record: concurrent tasks cannot both take the last slot.
        now = self._clock()
        slot = Slot([(window, window.record(now)) for window in self._windows(chat_id)])
        self._prune(now)
        return slot

    async def close(self) -> None:
        """Nothing to release in process (the Redis budget closes its connection)."""

    def done(self, slot: Slot) -> None:
        """The request is answered: from now on the send counts from this moment."""
        now = self._clock()
        for window, entry in slot.entries:
            window.restamp(entry, now)

    def _windows(self, chat_id: str) -> list[_SlidingWindow]:
        windows = [
            self._global,
            self._chats.setdefault(chat_id, _window_for_rate(self.per_chat_per_second)),
        ]
        if is_group(chat_id):
            windows.append(
                self._groups.setdefault(
                    chat_id, _SlidingWindow(self.per_group_per_minute, GROUP_WINDOW_SECONDS)
                )
            )
        return windows

    def _prune(self, now: float) -> None:
        # A long-running dispatcher meets many chats; forget those with nothing left in their window.
        for table in (self._chats, self._groups):
            if len(table) > _PRUNE_ABOVE:
                for chat_id in [c for c, w in table.items() if w.idle(now)]:
                    del table[chat_id]
