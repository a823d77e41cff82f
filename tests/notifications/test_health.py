"""/healthz and /metrics (bot/health.py) on a real database: healthy after a sweep; 503 when the last sweep
is stale, when a due notice has waited too long, or when the database is gone; /metrics over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web

from bot.app import App
from bot.health import MAX_OLDEST_PENDING, MAX_SWEEP_AGE, add_routes, check_health, serve
from models import OutboxMessage, OutboxStatus
from models.db import make_engine, session_factory
from notifications import metrics
from notifications.scheduler import CreditScheduler
from workflows.clock import FrozenClock, utc_now


async def _sweep(app: App, clock: FrozenClock) -> None:
    scheduler = CreditScheduler(
        app.sessions, clock=clock, calendar=app.engine.services.calendar, risk_rules=[], instance="test:1"
    )
    assert await scheduler.sweep() is not None


async def _notice(
    app: App, key: str, due_ago: timedelta, status: OutboxStatus = OutboxStatus.PENDING
) -> None:
    now = utc_now(app.engine.services.clock)
    async with app.sessions() as s, s.begin():
        s.add(
            OutboxMessage(
                dedupe_key=key,
                channel="telegram",
                chat_id="42",
                template="t",
                context={},
                status=status,
                next_attempt_at=now - due_ago,
                created_at=now - due_ago,
            )
        )


@pytest.fixture
async def server(app: App, clock: FrozenClock) -> AsyncIterator[str]:
    """The standalone server of polling mode (METRICS_LISTEN), on a free port; yields its base URL."""
    runner = await serve("127.0.0.1:0", app.sessions, clock)
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}"
    await runner.cleanup()


async def _get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, response.headers["Content-Type"], await response.text()


async def test_healthy_after_a_sweep(app: App, clock: FrozenClock) -> None:
    await _sweep(app, clock)
    clock.advance(minutes=5)
    report = await check_health(app.sessions, clock)
    assert report.healthy and report.problems == []
    body = report.as_json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["sweeps"]["sweep"]["age_seconds"] == 300 and body["sweeps"]["sweep"]["instance"] == "test:1"
    assert body["outbox"] == {"pending": 0, "oldest_pending_seconds": 0}


async def test_no_sweep_yet_is_unhealthy(app: App, clock: FrozenClock) -> None:
    report = await check_health(app.sessions, clock)
    assert not report.healthy and report.problems == ["no sweep has finished yet"]


async def test_a_stale_sweep_is_unhealthy(app: App, clock: FrozenClock) -> None:
    await _sweep(app, clock)
    clock.advance(seconds=MAX_SWEEP_AGE.total_seconds())
    assert (await check_health(app.sessions, clock)).healthy  # at the limit: still fine
    clock.advance(minutes=1)
    report = await check_health(app.sessions, clock)
    assert not report.healthy and report.problems == ["last sweep finished 31 min ago"]


async def test_an_old_pending_notice_is_unhealthy(app: App, clock: FrozenClock) -> None:
    await _sweep(app, clock)
    await _notice(app, "recent", timedelta(minutes=5))
    await _notice(app, "retry-later", -timedelta(hours=1))  # waiting for its retry time: not a backlog
    await _notice(app, "sent-long-ago", timedelta(days=2), OutboxStatus.SENT)
    report = await check_health(app.sessions, clock)
    assert report.healthy and report.outbox is not None
    assert (report.outbox.pending, report.outbox.oldest_pending_seconds) == (1, 300)

    await _notice(app, "stuck", MAX_OLDEST_PENDING + timedelta(minutes=1))
    report = await check_health(app.sessions, clock)
    assert not report.healthy and report.problems == ["2 outbox messages due, the oldest for 16 min"]
    assert report.as_json()["outbox"] == {"pending": 2, "oldest_pending_seconds": 960}


async def test_thresholds_can_be_given(app: App, clock: FrozenClock) -> None:
    await _sweep(app, clock)
    clock.advance(minutes=2)
    report = await check_health(app.sessions, clock, max_sweep_age=timedelta(minutes=1))
    assert report.problems == ["last sweep finished 2 min ago"]


async def test_healthz_over_http_200_then_503(app: App, clock: FrozenClock, server: str) -> None:
    await _sweep(app, clock)
    status, content_type, body = await _get(f"{server}/healthz")
    assert status == 200 and content_type.startswith("application/json") and '"status": "ok"' in body
    clock.advance(hours=1)
    status, _, body = await _get(f"{server}/healthz")
    assert status == 503 and '"status": "unhealthy"' in body and "last sweep finished 60 min ago" in body


async def test_unreachable_database_is_503(clock: FrozenClock) -> None:
    engine = make_engine("postgresql://postgres@127.0.0.1:1/none")  # nothing listens there
    app = web.Application()
    add_routes(app, session_factory(engine), clock)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        host, port = runner.addresses[0][:2]
        status, _, body = await _get(f"http://{host}:{port}/healthz")
        assert status == 503 and '"database": "unreachable"' in body
        status, _, text = await _get(f"http://{host}:{port}/metrics")  # still answers, backlog unknown
        assert status == 200 and "credit_outbox_pending NaN" in text
    finally:
        await runner.cleanup()
        await engine.dispose()


async def test_a_database_not_migrated_is_an_error_not_an_outage(app: App, clock: FrozenClock) -> None:
    async with app.db.begin() as conn:
        await conn.exec_driver_sql("DROP TABLE sweep_run")
    report = await check_health(app.sessions, clock)
    assert report.as_json()["database"] == "ok" and report.problems[0].startswith("database error (")


async def test_metrics_over_http(app: App, clock: FrozenClock, server: str) -> None:
    await _sweep(app, clock)
    await _notice(app, "a", timedelta(minutes=2))
    await _notice(app, "b", timedelta(seconds=30))
    metrics.count_update("text")
    metrics.count_update("sticker")  # not a kind of ours: counted as "other"
    metrics.observe_handler(0.02)
    metrics.count_send("notice", "sent")
    metrics.count_429("reply")
    status, content_type, text = await _get(f"{server}/metrics")
    assert status == 200 and content_type.startswith("text/plain")
    for name in (
        "credit_updates_total",
        "credit_handler_seconds_bucket",
        "credit_sends_total",
        "credit_telegram_429_total",
        "credit_outbox_pending",
        "credit_outbox_oldest_pending_seconds",
        "credit_sweep_seconds_bucket",
    ):
        assert f"\n{name}" in text, name
    assert "credit_outbox_pending 2.0" in text and "credit_outbox_oldest_pending_seconds 120.0" in text
    assert (
        'credit_updates_total{kind="other"}' in text
        and 'credit_sends_total{outcome="gone",source="reply"}' in text
    )


def test_metric_helpers_refuse_unknown_labels() -> None:
    with pytest.raises(ValueError, match="outcome='lost'"):
        metrics.count_send("notice", "lost")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="source='group'"):
        metrics.count_429("group")  # type: ignore[arg-type]
