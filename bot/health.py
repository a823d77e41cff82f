"""`/healthz` and `/metrics` (issue #10): on the webhook server, or on METRICS_LISTEN in polling mode.

Health is read from the database, not from this process: several instances share one database, and the
sweeps may run in another one. The JSON body is for load balancers and monitors, so its keys are English.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import func
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import OutboxMessage, OutboxStatus
from notifications import metrics
from notifications.scheduler import SWEEP, sweep_runs
from workflows import rules
from workflows.clock import Clock, utc_now

log = logging.getLogger(__name__)

# A probe must answer before the load balancer's own timeout (typically 5 s): a database that cannot
# say SELECT 1 within this is as good as down for a chat that waits on it.
DATABASE_TIMEOUT_SECONDS = 3.0
# Sweeps run every rules.SWEEP_EVERY_MINUTES (workflows/rules.py); one late or failed run is tolerated,
# three missed intervals mean reminders and warnings have stopped going out.
MAX_SWEEP_AGE = timedelta(minutes=3 * rules.SWEEP_EVERY_MINUTES)
# The dispatcher polls every second and sends up to 30 messages/s (Telegram's broadcast limit), so even a
# morning's digests leave the outbox within minutes; a due notice waiting this long means delivery stopped.
MAX_OLDEST_PENDING = timedelta(minutes=15)


@dataclass
class OutboxBacklog:
    pending: int  # pending and due now
    oldest_pending_seconds: float  # 0 when nothing is due


@dataclass
class HealthReport:
    checked_at: datetime
    database: bool
    sweeps: dict[str, dict[str, Any]] = field(default_factory=dict)  # name → ages, duration, instance
    outbox: OutboxBacklog | None = None
    problems: list[str] = field(default_factory=list)  # empty when healthy

    @property
    def healthy(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.healthy else "unhealthy",
            "checked_at": self.checked_at.isoformat(),
            "database": "ok" if self.database else "unreachable",
            "sweeps": self.sweeps,
            "outbox": None
            if self.outbox is None
            else {
                "pending": self.outbox.pending,
                "oldest_pending_seconds": round(self.outbox.oldest_pending_seconds, 1),
            },
            "problems": self.problems,
        }


async def outbox_backlog(session: AsyncSession, now: datetime) -> OutboxBacklog:
    """Messages a dispatcher could send now but has not (retries waiting for their time do not count)."""
    due = (col(OutboxMessage.status) == OutboxStatus.PENDING) & (col(OutboxMessage.next_attempt_at) <= now)
    count, oldest = (
        await session.exec(select(func.count(), func.min(col(OutboxMessage.next_attempt_at))).where(due))
    ).one()
    return OutboxBacklog(pending=int(count), oldest_pending_seconds=_age(now, oldest) or 0.0)


async def check_health(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    *,
    max_sweep_age: timedelta = MAX_SWEEP_AGE,
    max_oldest_pending: timedelta = MAX_OLDEST_PENDING,
) -> HealthReport:
    now = utc_now(clock)
    reachable = False
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS):
            async with sessions() as session, session.begin():
                await (await session.connection()).exec_driver_sql("SELECT 1")
                reachable = True  # from here on a failure is a schema or query problem, not the network
                runs = await sweep_runs(session)
                backlog = await outbox_backlog(session, now)
    except (SQLAlchemyError, OSError) as err:  # asyncio's TimeoutError is an OSError
        problem = f"database error ({type(err).__name__})" if reachable else "database unreachable"
        # Debug only: a probe every few seconds would repeat it; the 503 body and the dispatcher say it.
        log.debug("health check: %s: %s", problem, err)
        return HealthReport(checked_at=now, database=reachable, problems=[problem])

    report = HealthReport(checked_at=now, database=True, outbox=backlog)
    for name, run in sorted(runs.items()):
        report.sweeps[name] = {
            "last_started_at": run.last_started_at.isoformat() if run.last_started_at else None,
            "last_finished_at": run.last_finished_at.isoformat() if run.last_finished_at else None,
            "age_seconds": _age(now, run.last_finished_at),
            "duration_seconds": run.last_duration_seconds,
            "instance": run.instance,
        }
    sweep = runs.get(SWEEP)
    if sweep is None or sweep.last_finished_at is None:
        report.problems.append("no sweep has finished yet")
    elif now - sweep.last_finished_at > max_sweep_age:
        report.problems.append(f"last sweep finished {_minutes(now - sweep.last_finished_at)} ago")
    if backlog.oldest_pending_seconds > max_oldest_pending.total_seconds():
        report.problems.append(
            f"{backlog.pending} outbox messages due, the oldest for "
            f"{_minutes(timedelta(seconds=backlog.oldest_pending_seconds))}"
        )
    return report


def add_routes(app: web.Application, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
    """GET /healthz (200 healthy, 503 not) and GET /metrics (Prometheus text format)."""

    async def healthz(_request: web.Request) -> web.Response:
        report = await check_health(sessions, clock)
        return web.json_response(report.as_json(), status=200 if report.healthy else 503)

    async def metrics_page(_request: web.Request) -> web.Response:
        await refresh_outbox_gauges(sessions, clock)
        body, content_type = metrics.render_latest()
        # web.Response(content_type=) refuses parameters; the header goes as prometheus_client spells it.
        response = web.Response(body=body)
        response.headers["Content-Type"] = content_type
        return response

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_page)


async def refresh_outbox_gauges(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
    """Read the backlog at scrape time; an unreachable database leaves the gauges NaN, not stale."""
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS):
            async with sessions() as session, session.begin():
                backlog = await outbox_backlog(session, utc_now(clock))
    except (SQLAlchemyError, OSError) as err:
        log.debug("metrics: outbox backlog unavailable (%s)", err)  # every scrape: the NaN says it
        metrics.set_outbox_backlog(None, None)
        return
    metrics.set_outbox_backlog(backlog.pending, backlog.oldest_pending_seconds)


async def serve(listen: str, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> web.AppRunner:
    """A server with only /healthz and /metrics on "host:port" (polling mode's METRICS_LISTEN). The caller
    stops it with `await runner.cleanup()`; port 0 picks a free port (see runner.addresses)."""
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"METRICS_LISTEN={listen!r}: expected host:port, e.g. 127.0.0.1:9100")
    app = web.Application()
    add_routes(app, sessions, clock)
    runner = web.AppRunner(app, access_log=None)  # a scrape every few seconds is not worth a log line
    await runner.setup()
    await web.TCPSite(runner, host.strip("[]"), int(port)).start()
    return runner


def _age(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else max(0.0, (now - then).total_seconds())


def _minutes(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:.0f} min"
