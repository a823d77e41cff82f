"""The rate limiter keeps Telegram's FAQ limits on a fake clock: nothing here sleeps."""

from __future__ import annotations

import asyncio

from notifications.limits import RateLimiter, is_group


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


def limiter(time: FakeTime, **limits: float) -> RateLimiter:
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
