"""The rate limiter keeps Telegram's FAQ limits on a fake clock: nothing here sleeps."""

from __future__ import annotations

import asyncio
import heapq

from notifications.limits import (
    ARRIVAL_MARGIN_SECONDS,
    RateLimiter,
    SlidingWindow,
    is_group,
    request_written,
)


class FakeTime:
    """A monotonic clock that sleeping advances."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)  # let other acquirers run, as a real sleep would


class VirtualTime:
    """A clock that moves only when every task sleeps. Sleepers due at the same moment wake the latest
    first: asyncio promises no order among timers due together."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._asked = 0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._asked += 1
        heapq.heappush(self._sleepers, (self.now + seconds, -self._asked, woken))
        await woken

    async def settle(self) -> None:
        for _ in range(50):
            await asyncio.sleep(0)

    async def run_until(self, done: asyncio.Future[object]) -> None:
        """Wake sleepers one at a time, in time order, until `done`."""
        await self.settle()
        while not done.done() and self._sleepers:
            when, _, woken = heapq.heappop(self._sleepers)
            self.now = max(self.now, when)
            woken.set_result(None)
            await self.settle()


def limiter(time: FakeTime | VirtualTime, **limits: float) -> RateLimiter:
    return RateLimiter(**limits, clock=time, sleep=time.sleep)  # type: ignore[arg-type]


async def send_times(rl: RateLimiter, time: FakeTime, chats: list[str], *, reply: bool = True) -> list[float]:
    times = []
    for chat in chats:
        await rl.acquire(chat, reply=reply)
        times.append(time.now)
    return times


async def test_first_send_to_a_chat_does_not_wait() -> None:
    time = FakeTime()
    await limiter(time).acquire("42")
    assert time.slept == []


async def test_a_private_chat_gets_at_most_one_message_per_second() -> None:
    time = FakeTime()
    assert await send_times(limiter(time), time, ["42", "42", "42"]) == [0.0, 1.0, 2.0]


async def test_different_chats_share_the_global_limit_of_30_per_second() -> None:
    time = FakeTime()
    times = await send_times(limiter(time), time, [str(n) for n in range(1, 32)])
    assert times[:30] == [0.0] * 30  # thirty different chats go at once
    assert times[30] == 1.0  # the 31st waits for the one-second window to move on


async def test_notices_leave_a_slot_of_every_second_to_replies() -> None:
    time = FakeTime()
    rl = limiter(time)
    times = await send_times(rl, time, [str(n) for n in range(1, 31)], reply=False)
    assert times[:29] == [0.0] * 29 and times[29] == 1.0  # the 30th notice waits...
    time.now = 0.5
    await rl.acquire("99", reply=True)
    assert time.now == 0.5  # ...while a reply goes at once


async def test_a_waiting_reply_goes_before_waiting_notices() -> None:
    time = FakeTime()
    rl = limiter(time)
    await rl.acquire("1", reply=True)  # chat 1 is busy for one second
    order: list[str] = []

    async def send(chat: str, kind: str, reply: bool) -> None:
        await rl.acquire(chat, reply=reply)
        order.append(kind)

    # The reply waits for chat 1's second; the notice to chat 2 could go at once but lets it go first.
    await asyncio.gather(send("1", "reply", True), send("2", "notice", False))
    assert order == ["reply", "notice"]


async def test_a_group_gets_at_most_20_messages_per_minute() -> None:
    time = FakeTime()
    times = await send_times(limiter(time), time, ["-100123"] * 21)
    assert times[:20] == [float(n) for n in range(20)]  # one per second, as in any chat
    assert times[20] == 60.0  # then the minute's quota is used up


async def test_negative_ids_are_groups() -> None:
    assert is_group("-100123") and is_group("-5") and not is_group("42")


async def test_pause_after_429_holds_back_every_chat() -> None:
    time = FakeTime()
    rl = limiter(time)
    await rl.acquire("1")
    await rl.pause(5)
    await rl.pause(1)  # a shorter retry_after does not cut the longer pause short
    assert rl.wait_needed("2") == 5.0
    await rl.acquire("2")
    assert time.now == 5.0


async def test_concurrent_senders_to_one_chat_never_share_a_second() -> None:
    time = FakeTime()
    rl = limiter(time)
    done: list[float] = []

    async def send() -> None:
        await rl.acquire("42")
        done.append(time.now)

    await asyncio.gather(*(send() for _ in range(5)))
    gaps = [b - a for a, b in zip(done, done[1:], strict=False)]
    assert len(done) == 5 and all(gap >= 1.0 for gap in gaps), done


async def test_fractional_rates_are_exact() -> None:
    time = FakeTime()
    times = await send_times(limiter(time, per_chat_per_second=0.5), time, ["42", "42"])
    assert times == [0.0, 2.0]


async def test_a_send_counts_from_when_its_request_finished() -> None:
    """Regression (delivery bench): counting at clearance let a 31st request into the server's second."""
    time = FakeTime()
    rl = limiter(time)
    slots = [await rl.acquire(str(chat), reply=True) for chat in range(30)]
    time.now = 0.02  # the requests were answered 20 ms later
    for slot in slots:
        rl.done(slot)
    time.now = 1.01
    assert abs(rl.wait_needed("99") - 0.01) < 1e-9  # not free at 1.0 as the clearance time would say
    await rl.acquire("99")
    assert abs(time.now - 1.02) < 1e-9


async def test_a_send_counts_from_when_its_request_was_written() -> None:
    """Issue #10: counted from the answer, every slot was held a round trip too long (about 26 of 30/s
    under load); Telegram counts a send when it arrives, just after it was written."""
    time = FakeTime()
    rl = limiter(time)
    slots = [await rl.acquire(str(chat), reply=True) for chat in range(30)]
    time.now = 0.005  # the requests were written 5 ms after their slots were granted
    for slot in slots:
        slot.written()
    time.now = 0.005 + ARRIVAL_MARGIN_SECONDS + 0.1  # and answered later than the margin
    for slot in slots:
        rl.done(slot)
    time.now = 1.0
    assert abs(rl.wait_needed("99") - (0.005 + ARRIVAL_MARGIN_SECONDS)) < 1e-9
    await rl.acquire("99")
    assert abs(time.now - (1.005 + ARRIVAL_MARGIN_SECONDS)) < 1e-9


async def test_an_answer_sooner_than_the_margin_counts_the_send_from_the_answer() -> None:
    """The request arrived before its answer came back, so on a quiet line the answer is the better stamp."""
    time = FakeTime()
    rl = limiter(time)
    slots = [await rl.acquire(str(chat), reply=True) for chat in range(30)]
    time.now = 0.001
    for slot in slots:
        slot.written()
    time.now = 0.003  # answered 2 ms after the write: sooner than the margin
    for slot in slots:
        rl.done(slot)
    time.now = 1.0
    assert abs(rl.wait_needed("99") - 0.003) < 1e-9


async def test_a_write_moves_the_slot_its_own_task_took_and_no_other() -> None:
    time = FakeTime()
    rl = limiter(time)
    taken = asyncio.Event()

    async def send(chat: str, written_at: float) -> float | None:
        slot = await rl.acquire(chat, reply=True)
        await taken.wait()  # both slots are taken before either request is written
        time.now = written_at
        request_written()
        rl.done(slot)
        request_written()  # a later request of this task, under no slot: moves nothing
        return slot.written_at

    tasks = [asyncio.create_task(send("1", 0.3)), asyncio.create_task(send("2", 0.1))]
    await asyncio.sleep(0)
    taken.set()
    assert await asyncio.gather(*tasks) == [0.3, 0.1]


async def test_a_write_reported_after_done_moves_nothing() -> None:
    time = FakeTime()
    rl = limiter(time)
    slot = await rl.acquire("42", reply=True)
    rl.done(slot)
    time.now = 5.0
    slot.written()  # e.g. a task started under the slot makes a request later
    assert slot.written_at is None
    assert rl.wait_needed("42") == 0.0


def test_restamping_keeps_the_window_in_time_order_among_equal_times() -> None:
    """Regression: restamp re-sorted the whole window for every send that was not the newest (1.2 M key
    calls in a profile of the bench); it now moves the one entry, found by identity, not by its time."""
    window = SlidingWindow(2, 1.0)
    a, b, c = window.record(0.0), window.record(0.0), window.record(0.2)
    window.restamp(a, 0.6)  # a, not b of the same time, moves to the end: b 0.0, c 0.2, a 0.6
    assert window.wait_needed(0.5) == 0.2 + 1.0 - 0.5  # the second newest is c
    window.restamp(b, 0.4)  # a move to before the newest goes to its place: c 0.2, b 0.4, a 0.6
    assert window.wait_needed(0.5) == 0.4 + 1.0 - 0.5
    window.restamp(c, 0.1)  # never earlier
    assert window.wait_needed(0.5) == 0.4 + 1.0 - 0.5
    window.move(a, 0.3)  # an answer sooner than the margin moves a send earlier: c 0.2, a 0.3, b 0.4
    assert window.wait_needed(0.5) == 0.3 + 1.0 - 0.5


async def test_waiting_notices_take_free_slots_in_the_order_they_asked() -> None:
    """Regression (bench/delivery.py): waiting notices all slept until the same moment and whichever woke
    first took the slot; one group's notice lost for 24 s in a row, and its chat's notices formed a tail
    at 20/min after everything else was sent."""
    time = VirtualTime()
    rl = limiter(time)
    for chat in range(29):  # the notices' share of the window, freeing one slot every 10 ms from t=1
        await rl.acquire(str(chat))
        time.now += 0.01
    order: list[str] = []

    async def send(chat: str) -> None:
        await rl.acquire(chat)
        order.append(chat)

    asked = ["-100200", "300", "301", "302", "303"]
    tasks = []
    for chat in asked:
        tasks.append(asyncio.create_task(send(chat)))
        await time.settle()  # each asks after the one before it
    await time.run_until(asyncio.gather(*tasks))
    assert order == asked
    assert time.now < 1.05  # one freed slot each, as the window frees them
