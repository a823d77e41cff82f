"""Column helpers shared by the tables: UTC timestamps and JSON columns."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, String
from sqlmodel import Field


def utcnow() -> datetime:
    """Aware UTC. SQLModel stores datetimes as UTC (timestamptz on PostgreSQL) and refuses naive ones."""
    return datetime.now(UTC)


def json_field(default_factory: Any = dict) -> Any:
    return Field(default_factory=default_factory, sa_column=Column(JSON, nullable=False))


_REQUIRED: Any = ...


def enum_field(default: Any = _REQUIRED, **kwargs: Any) -> Any:
    """Enums stored as their string value: new members need no ALTER TYPE on PostgreSQL."""
    return Field(default, sa_type=String(24), **kwargs)
