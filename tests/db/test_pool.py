"""PostgreSQL connections are kept open, not opened per burst: the pool's size comes from the settings."""

from __future__ import annotations

import pytest

from models.db import DEFAULT_POOL_SIZE, make_engine
from workflows.settings import Settings


async def test_a_postgresql_engine_keeps_the_configured_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine("postgresql://credit@127.0.0.1/credit")  # no connection is made here
    assert engine.pool.size() == DEFAULT_POOL_SIZE == 20  # type: ignore[attr-defined]
    await engine.dispose()
    monkeypatch.setenv("DATABASE_POOL_SIZE", "7")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    engine = make_engine("postgresql://credit@127.0.0.1/credit", pool_size=settings.database_pool_size)
    assert engine.pool.size() == 7  # type: ignore[attr-defined]
    await engine.dispose()
