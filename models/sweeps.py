"""When each scheduled sweep last ran, shared by every instance: /healthz reads the age from here, not from
one process's memory (another instance may be the one running the sweeps)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class SweepRun(SQLModel, table=True):
    """One row per scheduled job ("sweep", "daily"), overwritten by whichever instance ran it last."""

    __tablename__ = "sweep_run"

    name: str = Field(primary_key=True, max_length=32)
    last_started_at: datetime | None = None
    last_finished_at: datetime | None = None  # set only when a run completes: a failing sweep goes stale
    last_duration_seconds: float | None = None
    instance: str = Field(default="", max_length=64)  # host:pid of the scheduler that wrote the row last
