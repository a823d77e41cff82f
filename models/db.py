"""Engine and session factory: a SQLite file by default, PostgreSQL through DATABASE_URL."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

import models  # noqa: F401  (registers every table on SQLModel.metadata)
from models import late_lock, sqlite_driver

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/credit.db"


def normalise_url(url: str) -> str:
    """Accept the plain forms people paste (postgresql://, sqlite:///) and pick the async drivers."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        url = "sqlite+aiosqlite://" + url.removeprefix("sqlite://")
    return url


def is_sqlite(url_or_engine: str | AsyncEngine) -> bool:
    name = (
        url_or_engine.dialect.name
        if isinstance(url_or_engine, AsyncEngine)
        else make_url(url_or_engine).get_backend_name()
    )
    return name == "sqlite"


# PostgreSQL connections a process keeps open (DATABASE_POOL_SIZE), and how many more it may open for a
# moment. A polling process handles up to 100 updates at once (bot/channels/common.py), each wanting a
# connection: with SQLAlchemy's default of 5 kept, the rest were opened and closed again and again (367 new
# server processes in 7,000 updates of bench/throughput.py, a fork and a handshake each), which cost about
# a fifth of the bot's CPU per update (1.59 -> 1.29 ms on plain text). 20 kept ended that; more did not help on 2 cores. N processes
# may open N x (pool + overflow) connections: keep that under the server's max_connections (default 100).
DEFAULT_POOL_SIZE = 20
POOL_OVERFLOW = 10


def make_engine(
    url: str = DEFAULT_DATABASE_URL, *, echo: bool = False, pool_size: int = DEFAULT_POOL_SIZE
) -> AsyncEngine:
    url = normalise_url(url)
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        if sqlite_driver.supported():  # one thread hop per statement (models/sqlite_driver.py)
            url = make_url(url).set(drivername=f"sqlite+{sqlite_driver.DRIVER}").render_as_string(False)
        engine = create_async_engine(
            url,
            echo=echo,
            connect_args={"timeout": sqlite_driver.LOCK_WAIT_SECONDS, "check_same_thread": False},
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # WAL lets the scheduler read while the bot writes; foreign keys are off by default in SQLite.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
            # The driver would begin transactions only at the first write, so two read-check-write
            # transactions could both pass their check (a lost update). We begin them ourselves:
            dbapi_conn.isolation_level = None

        @event.listens_for(engine.sync_engine, "begin")
        def _begin_immediate(conn):  # type: ignore[no-untyped-def]
            # ...taking SQLite's single write lock up front: transactions run one after another, as
            # PostgreSQL's row locks (SELECT ... FOR UPDATE) make the same steps do there.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if make_url(url).drivername == "postgresql+asyncpg":  # the state row locked late (models/late_lock.py)
        url = make_url(url).set(drivername=f"postgresql+{late_lock.DRIVER}").render_as_string(False)
    engine = create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=POOL_OVERFLOW)
    _ping_when_idle(engine)
    return engine


# A pooled connection idle longer than this is pinged before use: one that sat through a database restart
# is replaced instead of failing the next event. Busy connections (reused within milliseconds on a
# results day) skip the ping, which costs the asyncpg dialect three round trips (BEGIN; ";"; ROLLBACK).
PING_AFTER_IDLE_SECONDS = 5.0


def _ping_when_idle(engine: AsyncEngine) -> None:
    """pool_pre_ping, but only for connections that were idle (SQLAlchemy's "pessimistic disconnect
    handling" recipe: DisconnectionError at checkout makes the pool retry with a fresh connection)."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(_dbapi_conn, record):  # type: ignore[no-untyped-def]
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checkout(dbapi_conn, record, _proxy):  # type: ignore[no-untyped-def]
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < PING_AFTER_IDLE_SECONDS:
            return  # a new connection, or one in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as err:
            raise DisconnectionError("stale pooled connection") from err


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


async def create_all(engine: AsyncEngine) -> None:
    """Tests and throw-away databases; real databases go through the Alembic migration (models.migrate)."""
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)


async def drop_all(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.drop_all)
