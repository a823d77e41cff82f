"""APScheduler (3.x) only triggers the sweeps: the database holds every deadline, reminder and warning,
so a restart or a second instance loses nothing and duplicates nothing (unique outbox keys)."""

from __future__ import annotations

import logging
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.dispatcher import DATABASE_ERRORS
from notifications.sweeps import SweepStats, daily_scan, sweep_deadlines, sweep_interviews
from workflows import rules
from workflows.calendar import WorkdayCalendar
from workflows.clock import SHANGHAI, Clock
from workflows.risk import RiskRule, load_rules

log = logging.getLogger(__name__)


class CreditScheduler:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Clock,
        calendar: WorkdayCalendar,
        risk_rules: list[RiskRule] | None = None,
    ) -> None:
        self.sessions = sessions
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
            id="sweep",
            next_run_time=datetime.now(SHANGHAI),
            **common,
        )
        self.scheduler.add_job(self.daily, "cron", hour=hour, minute=minute, id="daily", **common)
        self.scheduler.start()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def sweep(self) -> SweepStats | None:
        """Deadlines and interviews. The database going away makes this run log and wait for the next."""
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

    async def daily(self) -> SweepStats | None:
        try:
            stats = await daily_scan(
                self.sessions, now=self.clock.now(), calendar=self.calendar, risk_rules=self.risk_rules
            )
        except DATABASE_ERRORS as err:
            log.warning("daily scan skipped, database unavailable (%s); it runs again tomorrow", err)
            return None
        log.info("daily scan: %s", stats.details)
        return stats
