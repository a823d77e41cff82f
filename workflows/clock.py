"""Time is injected: production uses the system clock, tests freeze it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")  # humans read Beijing time; storage is UTC (design: Time)


class Clock(Protocol):
    def now(self) -> datetime: ...  # aware, UTC


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FrozenClock:
    current: datetime = field(default_factory=lambda: datetime(2026, 11, 24, 2, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


def utc_now(clock: Clock) -> datetime:
    """The form stored in the database (see models.base.utcnow): aware, UTC."""
    return clock.now().astimezone(UTC)


def local_today(clock: Clock) -> date:
    return clock.now().astimezone(SHANGHAI).date()


def to_local(stored: datetime) -> datetime:
    return stored.astimezone(SHANGHAI)
