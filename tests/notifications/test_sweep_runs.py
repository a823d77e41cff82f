"""Each scheduler run notes its start and finish in sweep_run, shared by every instance through the
database, and its duration in the metrics; recording never stops a sweep, and a failed run is not finished."""

from __future__ import annotations

import logging

import pytest
from sqlmodel import select

from bot.app import App
from models import SweepRun
from notifications import metrics
from notifications import scheduler as scheduler_module
from notifications.scheduler import CreditScheduler
from workflows.clock import FrozenClock


def _scheduler(app: App, clock: FrozenClock, instance: str = "host-a:1") -> CreditScheduler:
    return CreditScheduler(
        app.sessions, clock=clock, calendar=app.engine.services.calendar, risk_rules=[], instance=instance
    )


async def _runs(app: App) -> dict[str, SweepRun]:
    async with app.sessions() as s:
        return {r.name: r for r in (await s.exec(select(SweepRun))).all()}


def _sweeps_observed(name: str) -> float:
    return metrics.REGISTRY.get_sample_value("credit_sweep_seconds_count", {"name": name}) or 0.0


async def test_a_sweep_writes_its_run(demo: App, clock: FrozenClock) -> None:
    before = _sweeps_observed("sweep")
    assert await _scheduler(demo, clock).sweep() is not None
    run = (await _runs(demo))["sweep"]
    assert run.last_started_at == clock.now() and run.last_finished_at == clock.now()
    assert run.instance == "host-a:1"
    assert run.last_duration_seconds is not None and run.last_duration_seconds >= 0
    assert _sweeps_observed("sweep") == before + 1


async def test_the_daily_scan_writes_its_own_row(demo: App, clock: FrozenClock) -> None:
    before = _sweeps_observed("daily")
    assert await _scheduler(demo, clock).daily() is not None
    runs = await _runs(demo)
    assert set(runs) == {"daily"} and runs["daily"].last_finished_at == clock.now()
    assert _sweeps_observed("daily") == before + 1


async def test_another_instance_overwrites_the_one_row(app: App, clock: FrozenClock) -> None:
    await _scheduler(app, clock, "host-a:1").sweep()
    clock.advance(minutes=10)
    await _scheduler(app, clock, "host-b:7").sweep()
    runs = await _runs(app)
    assert list(runs) == ["sweep"]
    assert runs["sweep"].instance == "host-b:7" and runs["sweep"].last_finished_at == clock.now()


async def test_a_failed_sweep_is_started_but_not_finished(
    app: App, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _scheduler(app, clock).sweep()
    finished = clock.now()

    async def database_gone(*args: object, **kwargs: object) -> None:
        raise OSError("connection reset")

    monkeypatch.setattr(scheduler_module, "sweep_deadlines", database_gone)
    clock.advance(minutes=10)
    before = _sweeps_observed("sweep")
    assert await _scheduler(app, clock).sweep() is None
    run = (await _runs(app))["sweep"]
    assert run.last_started_at == clock.now() and run.last_finished_at == finished
    assert _sweeps_observed("sweep") == before  # only completed runs are timed


async def test_recording_failure_does_not_stop_the_sweep(
    app: App, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A database that was not migrated to 0005 (no sweep_run table) still gets its reminders."""
    async with app.db.begin() as conn:
        await conn.exec_driver_sql("DROP TABLE sweep_run")
    scheduler = _scheduler(app, clock)
    with caplog.at_level(logging.WARNING, logger="notifications.scheduler"):
        stats = await scheduler.sweep()
        again = await scheduler.sweep()
    assert stats is not None and again is not None
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and warnings[0].startswith("sweep_run sweep not recorded")  # once, not per run
