"""Prometheus metrics (`/metrics`, issue #10). Callers use the small functions below, never the
prometheus_client objects, so label names and values are spelled in one place.

One registry of our own rather than prometheus_client's global one: building a second app in the same
process (tests, benches) registers nothing twice, and a library's metrics never leak into ours.
"""

from __future__ import annotations

import math
from typing import Literal, get_args

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

UpdateKind = Literal["text", "command", "button", "file", "other"]
SendSource = Literal["reply", "notice"]
SendOutcome = Literal["sent", "retry", "failed", "gone"]

UPDATE_KINDS: tuple[str, ...] = get_args(UpdateKind)
SEND_SOURCES: tuple[str, ...] = get_args(SendSource)
SEND_OUTCOMES: tuple[str, ...] = get_args(SendOutcome)
SWEEP_NAMES = ("sweep", "daily")  # the jobs of notifications/scheduler.py

# A dialog step is one short transaction: most take milliseconds; seconds mean a lock or a slow disk.
HANDLER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# A sweep writes reminders for a whole region: seconds normally, minutes after a long outage.
SWEEP_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)  # memory, CPU, open files: the first questions when a bot stalls

_updates = Counter("credit_updates", "Incoming chat updates by kind.", ["kind"], registry=REGISTRY)
_handler_seconds = Histogram(
    "credit_handler_seconds",
    "Time to handle one incoming update (load state, dialog step, commit).",
    buckets=HANDLER_BUCKETS,
    registry=REGISTRY,
)
_sends = Counter(
    "credit_sends",
    "Messages sent to chats, by source (reply or outbox notice) and outcome.",
    ["source", "outcome"],
    registry=REGISTRY,
)
_telegram_429 = Counter(
    "credit_telegram_429",
    "Telegram 'Too Many Requests' answers (retry_after obeyed), by source.",
    ["source"],
    registry=REGISTRY,
)
_outbox_pending = Gauge(
    "credit_outbox_pending",
    "Outbox messages pending and due now (read from the database at scrape time).",
    registry=REGISTRY,
)
_outbox_oldest = Gauge(
    "credit_outbox_oldest_pending_seconds",
    "How long the oldest due outbox message has waited (read from the database at scrape time).",
    registry=REGISTRY,
)
_sweep_seconds = Histogram(
    "credit_sweep_seconds",
    "Duration of completed scheduler runs, by job.",
    ["name"],
    buckets=SWEEP_BUCKETS,
    registry=REGISTRY,
)

# Every label value shows up from the start (as 0), so a rate() over a fresh process is not "no data".
for _kind in UPDATE_KINDS:
    _updates.labels(kind=_kind)
for _source in SEND_SOURCES:
    _telegram_429.labels(source=_source)
    for _outcome in SEND_OUTCOMES:
        _sends.labels(source=_source, outcome=_outcome)
for _name in SWEEP_NAMES:
    _sweep_seconds.labels(name=_name)


def count_update(kind: str) -> None:
    """One incoming update; kinds outside UPDATE_KINDS count as "other" (the label set stays bounded)."""
    _updates.labels(kind=kind if kind in UPDATE_KINDS else "other").inc()


def observe_handler(seconds: float) -> None:
    _handler_seconds.observe(seconds)


def count_send(source: SendSource, outcome: SendOutcome) -> None:
    _check(source, SEND_SOURCES, "source")
    _check(outcome, SEND_OUTCOMES, "outcome")
    _sends.labels(source=source, outcome=outcome).inc()


def count_429(source: SendSource) -> None:
    _check(source, SEND_SOURCES, "source")
    _telegram_429.labels(source=source).inc()


def observe_sweep(name: str, seconds: float) -> None:
    _sweep_seconds.labels(name=name).observe(seconds)


def set_outbox_backlog(pending: int | None, oldest_seconds: float | None) -> None:
    """The outbox gauges; None (database unreachable) shows as NaN rather than a stale value."""
    _outbox_pending.set(math.nan if pending is None else pending)
    _outbox_oldest.set(math.nan if oldest_seconds is None else oldest_seconds)


def render_latest() -> tuple[bytes, str]:
    """The exposition text and its Content-Type, for an HTTP handler."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def _check(value: str, allowed: tuple[str, ...], label: str) -> None:
    if value not in allowed:  # a typo in a caller, not something a user can cause
        raise ValueError(f"{label}={value!r}: expected one of {allowed}")
