"""Shared fixtures: a frozen clock, and one database per test on every backend that is available
(SQLite always; PostgreSQL when TEST_DATABASE_URL is set — otherwise those cases skip and say so)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.app import App, build_app
from models.db import create_all, drop_all, make_engine
from workflows.clock import FrozenClock
from workflows.settings import Settings

PG_URL = os.environ.get("TEST_DATABASE_URL")
PG_SKIP = "TEST_DATABASE_URL is not set: the PostgreSQL backend of this test is skipped"


def pytest_report_header(config: pytest.Config) -> str:
    return f"PostgreSQL suite: {'on, ' + PG_URL.split('@')[-1] if PG_URL else 'SKIPPED (' + PG_SKIP + ')'}"


@pytest.fixture
def clock() -> FrozenClock:
    # Tuesday 2026-11-24 10:00 in Beijing: an ordinary working day.
    return FrozenClock(datetime(2026, 11, 24, 2, 0, tzinfo=UTC))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/test.db"
    if not PG_URL:
        pytest.skip(PG_SKIP)
    return PG_URL


@pytest.fixture
async def fresh_db(db_url: str) -> str:
    """An empty schema at db_url (PostgreSQL tests share one server database, so start from scratch)."""
    engine = make_engine(db_url)
    async with engine.begin() as conn:
        await conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    await drop_all(engine)
    await create_all(engine)
    await engine.dispose()
    return db_url


@pytest.fixture
async def app(fresh_db: str, clock: FrozenClock) -> AsyncIterator[App]:
    built = await build_app(Settings(database_url=fresh_db, _env_file=None), clock=clock, migrate_db=False)  # type: ignore[call-arg]
    yield built
    await built.close()


@pytest.fixture
async def demo(app: App, clock: FrozenClock) -> App:
    """The demo data set, loaded as `credit-bot demo` does."""
    from workflows.demo_data import load_demo

    async with app.sessions() as session, session.begin():
        await load_demo(session, clock)
    return app
