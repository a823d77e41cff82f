"""Telegram's broadcast limits and the in-process send budget (notifications/budget.py shares it across
processes through Redis).

Source: Telegram Bot FAQ, "My bot is hitting limits, how do I avoid this?"
https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this (as published 2024-2025).
Telegram gives these as guidance, not a contract; a 429 with `retry_after` is the authority (see pause()).

When a send counts: Telegram counts a message when its request arrives, between its write and its answer.
A budget counts it from the moment its slot is taken, then from when the request was written to the network
(a channel's HTTP client reports it through request_written()) plus ARRIVAL_MARGIN_SECONDS, and, once
answered (done()), from the answer if that came sooner: never early, and under load (answers late) never
held a whole round trip. Where no client reports the write, from the answer.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Protocol

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
# A written request reaches the server a little later, and not always equally late: two sends written
# exactly one second apart can arrive less than a second apart. A send counts from its answer (it arrived
# by then), or from its write plus this margin when the answer is later still: a request stalled after it
# was written holds its slot a quarter of a second, not until its answer. 10 ms was too little: with the
# bot and the local Bot API server on one busy event loop (tests/e2e/test_send_budget_telegram.py in CI)
# a request was handled more than 10 ms after its write and drew a 429. On a quiet machine answers come
# within ~8 ms, so the margin costs nothing there (bench/delivery.py: 0.96 of 30/s with one process).
ARRIVAL_MARGIN_SECONDS = 0.25
_PRUNE_ABOVE = 1024  # idle per-chat windows are dropped once this many are tracked


class Stamp:
    """When one send counts in one window. Compared by identity, so a window finds its own entry among
    entries of the same time."""

    __slots__ = ("at",)

    def __init__(self, at: float) -> None:
        self.at = at

    def __repr__(self) -> str:
        return f"Stamp({self.at!r})"


def _at(stamp: Stamp) -> float:
    return stamp.at


class _SlidingWindow:
    """At most `capacity` events in any `seconds`-long window."""

    def __init__(self, capacity: int, seconds: float) -> None:
        self.capacity = capacity
        self.seconds = seconds
        self._times: deque[Stamp] = deque()  # oldest first; a stamp can move later (restamp)

    def wait_needed(self, now: float, reserve: int = 0) -> float:
        """Seconds until one more send fits, keeping `reserve` of the capacity free."""
        times = self._times
        while times and times[0].at <= now - self.seconds:
            times.popleft()
        capacity = max(1, self.capacity - reserve)
        if len(times) < capacity:
            return 0.0
        return times[len(times) - capacity].at + self.seconds - now

    def record(self, now: float) -> Stamp:
        stamp = Stamp(now)
        self._times.append(stamp)
        return stamp

    def restamp(self, stamp: Stamp, when: float) -> None:
        """Count the send from `when` instead, if that is later (see the module's docstring)."""
        if when > stamp.at:
            self.move(stamp, when)

    def move(self, stamp: Stamp, when: float) -> None:
        """Count the send from `when` instead, earlier or later."""
        times = self._times
        if stamp is times[-1] and (len(times) == 1 or times[-2].at <= when):
            stamp.at = when  # the newest send stays the newest: the order holds
            return
        try:
            times.remove(stamp)  # by identity (Stamp has no __eq__), in C
        except ValueError:  # already left the window: nothing counts it any more
            stamp.at = when
            return
        stamp.at = when
        if not times or times[-1].at <= when:  # the usual case: `when` is now, the newest time
            times.append(stamp)
        else:
            times.insert(bisect.bisect_right(times, when, key=_at), stamp)

    def idle(self, now: float) -> bool:
        return not self._times or self._times[-1].at <= now - self.seconds


SlidingWindow = _SlidingWindow  # public for other platforms' budgets (notifications/robots.py)


def _window_for_rate(per_second: float) -> _SlidingWindow:
    # 30/s becomes 30 per 1 s and 0.5/s becomes 1 per 2 s, so fractional rates stay exact.
    capacity = max(1, math.floor(per_second))
    return _SlidingWindow(capacity, capacity / per_second)


class _Writable(Protocol):
    def written(self) -> None: ...


# The slot the current task took last and has not finished yet: the one its next request is sent under.
_holding: ContextVar[_Writable | None] = ContextVar("send_slot", default=None)


def request_written() -> None:
    """A channel's HTTP client calls this when it writes a request to the network (telegram.make_bot,
    telegram_ptb.build_application): the slot this task took last counts from now plus
    ARRIVAL_MARGIN_SECONDS. A later write under the same slot moves it again."""
    slot = _holding.get()
    if slot is not None:
        slot.written()


def hold(slot: _Writable) -> None:
    """The task's next request is sent under `slot` (a budget's acquire() calls this)."""
    _holding.set(slot)


def release(slot: _Writable) -> None:
    """`slot` is finished (a budget's done() calls this)."""
    if _holding.get() is slot:
        _holding.set(None)


class Slot:
    """A counted send, so its stamps can move to when the request was written or answered."""

    __slots__ = ("entries", "finished", "written_at", "_limiter")

    def __init__(self, entries: list[tuple[_SlidingWindow, Stamp]], limiter: RateLimiter) -> None:
        self.entries = entries
        self.written_at: float | None = None
        self.finished = False
        self._limiter = limiter

    def written(self) -> None:
        if not self.finished:
            self.written_at = self._limiter._clock()
            for window, stamp in self.entries:
                window.restamp(stamp, self.written_at + ARRIVAL_MARGIN_SECONDS)

    def answered(self, now: float) -> None:
        # The request arrived before its answer: `now` is a safe stamp, and the better one when sooner.
        if self.written_at is None:
            for window, stamp in self.entries:
                window.restamp(stamp, now)
        elif now < self.written_at + ARRIVAL_MARGIN_SECONDS:
            for window, stamp in self.entries:
                window.move(stamp, now)


def is_group(chat_id: str) -> bool:
    """Telegram group and supergroup ids are negative; private chats are positive."""
    return chat_id.startswith("-")


class RateLimiter:
    """Waits before each send so the bot stays inside Telegram's limits; shared by all sending tasks of
    one process (replies and notices alike). Replies go first: a notice waits while any reply waits, and
    leaves REPLY_RESERVE of the global window free. Notices take free slots in the order they asked.

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
        self._notice_turn = asyncio.Lock()  # FIFO: the notice that asked first takes the next free slot

    async def pause(self, seconds: float) -> None:
        """After a 429 Telegram wants silence from the whole bot for `retry_after` seconds."""
        self._paused_until = max(self._paused_until, self._clock() + max(seconds, 0.0))

    def wait_needed(self, chat_id: str, *, reply: bool = False) -> float:
        """Seconds until a send to chat_id is allowed (0: now); counts nothing."""
        return max(self._waits(chat_id, reply=reply))

    def _waits(self, chat_id: str, *, reply: bool) -> tuple[float, float]:
        """(seconds the shared budget needs: a 429's pause and the global window; seconds chat_id's own
        chat and group windows need)."""
        now = self._clock()
        windows = self._windows(chat_id)
        own = max(window.wait_needed(now) for window in windows[1:])
        if self._paused_until > now:
            return self._paused_until - now, own
        return windows[0].wait_needed(now, 0 if reply else REPLY_RESERVE), own

    async def acquire(self, chat_id: str, *, reply: bool = False) -> Slot:
        """Return when a send to chat_id is allowed, and count that send. Pass the result to done()
        when the request has finished. A reply goes before every notice that is waiting."""
        if reply:
            self._replies_waiting += 1
            try:
                while (wait := self.wait_needed(chat_id, reply=True)) > 0:
                    await self._sleep(wait)
            finally:
                self._replies_waiting -= 1
            return self._take(chat_id)
        while True:
            _, own = self._waits(chat_id, reply=False)
            if own > 0:  # a busy chat or group waits on its own, holding back no other notice
                await self._sleep(own)
                continue
            # Notices take the global window's free slots in the order they asked. When every waiting
            # notice slept until the same moment, whichever woke first took the slot (asyncio wakes timers
            # due together in no promised order): one group's notice lost for 24 s in a row, and its
            # chat's notices trailed at 1/s after everything else was sent (bench/delivery.py).
            async with self._notice_turn:
                while True:
                    shared, own = self._waits(chat_id, reply=False)
                    if own > 0:  # a reply to this chat came first: queue again once the chat is free
                        break
                    if shared <= 0 and self._replies_waiting == 0:
                        return self._take(chat_id)
                    # Held back only by a waiting reply: check again soon, the reply takes its slot
                    # within one loop turn.
                    await self._sleep(shared if shared > 0 else 0.01)

    def _take(self, chat_id: str) -> Slot:
        # No await between the check and the record: concurrent tasks cannot both take the last slot.
        now = self._clock()
        slot = Slot([(window, window.record(now)) for window in self._windows(chat_id)], self)
        self._prune(now)
        hold(slot)
        return slot

    async def close(self) -> None:
        """Nothing to release in process (the Redis budget closes its connection)."""

    def done(self, slot: Slot) -> None:
        """The request is answered: the send counts from now if its write was not reported, or if now is
        sooner than its write plus the margin."""
        slot.finished = True
        release(slot)
        slot.answered(self._clock())

    def _windows(self, chat_id: str) -> list[_SlidingWindow]:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _window_for_rate(self.per_chat_per_second)
        if not is_group(chat_id):
            return [self._global, chat]
        group = self._groups.get(chat_id)
        if group is None:
            group = self._groups[chat_id] = _SlidingWindow(self.per_group_per_minute, GROUP_WINDOW_SECONDS)
        return [self._global, chat, group]

    def _prune(self, now: float) -> None:
        # A long-running dispatcher meets many chats; forget those with nothing left in their window.
        for table in (self._chats, self._groups):
            if len(table) > _PRUNE_ABOVE:
                for chat_id in [c for c, w in table.items() if w.idle(now)]:
                    del table[chat_id]
