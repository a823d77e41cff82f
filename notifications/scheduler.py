"""APScheduler (3.x) only triggers the sweeps: the database holds every deadline, reminder and warning,
so a restart or a second instance loses nothing and duplicates nothing (unique outbox keys)."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import SweepRun
from notifications import metrics
from notifications.dispatcher import DATABASE_ERRORS
from notifications.sweeps import SweepStats, daily_scan, sweep_deadlines, sweep_interviews
from workflows import rules
from workflows.calendar import WorkdayCalendar
from workflows.clock import SHANGHAI, Clock, utc_now
from workflows.risk import RiskRule, load_rules

log = logging.getLogger(__name__)

SWEEP = "sweep"  # deadlines and interviews, every rules.SWEEP_EVERY_MINUTES
DAILY = "daily"  # risk scan, repair opportunities, digests, at rules.DAILY_SCAN_TIME


class CreditScheduler:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Clock,
        calendar: WorkdayCalendar,
        risk_rules: list[RiskRule] | None = None,
        instance: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.instance = instance or f"{socket.gethostname()}:{os.getpid()}"
        self._note_failing = False  # one warning per outage, not one per run
        self.clock = clock
        self.calendar = calendar
        # Loaded now: a malformed rules file stops the start with its file and line, not a 08:30 crash.
        self.risk_rules = risk_rules if risk_rules is not None else load_rules()
        self.scheduler = AsyncIOScheduler(timezone=SHANGHAI)

    def start(self) -> None:
        hour, minute = (int(x) for x in rules.DAILY_SCAN_TIME.split(":"))
        common = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600}
        self.scheduler.add_job(
            self.sweep,
            "interval",
            minutes=rules.SWEEP_EVERY_MINUTES,
            id=SWEEP,
            next_run_time=datetime.now(SHANGHAI),
            **common,
        )
        self.scheduler.add_job(self.daily, "cron", hour=hour, minute=minute, id=DAILY, **common)
        self.scheduler.start()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def sweep(self) -> SweepStats | None:
        """Deadlines and interviews. The database going away makes this run log and wait for the next."""
        return await self._recorded(SWEEP, self._sweep)

    async def daily(self) -> SweepStats | None:
        return await self._recorded(DAILY, self._daily)

    async def _sweep(self) -> SweepStats | None:
        try:
            now = self.clock.now()
            stats = await sweep_deadlines(self.sessions, now=now, calendar=self.calendar)
            more = await sweep_interviews(self.sessions, now=now, calendar=self.calendar)
        except DATABASE_ERRORS as err:
            log.warning("sweep skipped, database unavailable (%s); retrying at the next run", err)
            return None
        for name, n in more.details.items():
            stats.add(f"interview_{name}", n)
        log.info("sweep: %s", stats.details)
        return stats

    async def _daily(self) -> SweepStats | None:
        try:
            stats = await daily_scan(
                self.sessions, now=self.clock.now(), calendar=self.calendar, risk_rules=self.risk_rules
            )
        except DATABASE_ERRORS as err:
            log.warning("daily scan skipped, database unavailable (%s); it runs again tomorrow", err)
            return None
        log.info("daily scan: %s", stats.details)
        return stats

    async def _recorded(
        self, name: str, run: Callable[[], Awaitable[SweepStats | None]]
    ) -> SweepStats | None:
        """Run one job and note its start and finish in sweep_run (for /healthz on every instance) and its
        duration in the metrics. Only a completed run counts as finished: a failing sweep goes stale."""
        await self._note(name, last_started_at=utc_now(self.clock))
        began = time.perf_counter()  # a duration is measured, not read off the (injectable) clock
        stats = await run()
        if stats is None:
            return None
        seconds = time.perf_counter() - began
        metrics.observe_sweep(name, seconds)
        await self._note(name, last_finished_at=utc_now(self.clock), last_duration_seconds=seconds)
        return stats

    async def _note(self, name: str, **values: Any) -> None:
        """Its own short transaction; a failure is logged and the sweep goes on (the record is advisory)."""
        try:
            async with self.sessions() as session, session.begin():
                await record_sweep_run(session, name, instance=self.instance, **values)
        except (SQLAlchemyError, OSError) as err:
            log.log(
                logging.DEBUG if self._note_failing else logging.WARNING,
                "sweep_run %s not recorded (%s)",
                name,
                err,
            )
            self._note_failing = True
            return
        self._note_failing = False


async def record_sweep_run(session: AsyncSession, name: str, *, instance: str, **values: Any) -> None:
    """Create or update the job's row in one statement (two instances may finish at the same moment)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(SweepRun).values(name=name, instance=instance, **values)
    stmt = stmt.on_conflict_do_update(index_elements=["name"], set_={"instance": instance, **values})
    await (await session.connection()).execute(stmt)


async def sweep_runs(session: AsyncSession) -> dict[str, SweepRun]:
    """Every job's last run, by name ("sweep", "daily")."""
    return {run.name: run for run in (await session.exec(select(SweepRun))).all()}
