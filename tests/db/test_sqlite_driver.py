"""The embedded database's one-hop dialect (models/sqlite_driver.py) behaves as the stock aiosqlite one:
rows, counts, errors and transactions, with at most one trip to the connection's thread per statement,
and none for the conversation engine's point statements, BEGIN, COMMIT and ROLLBACK."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from models import sqlite_driver
from models.db import make_engine


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    db = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with db.begin() as conn:
        await conn.exec_driver_sql("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)")
        # A table of the engine's name: its point statements run on the loop's thread.
        await conn.exec_driver_sql("CREATE TABLE conversation_state (id INTEGER PRIMARY KEY, state TEXT)")
    yield db
    await db.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts the calls aiosqlite runs on its thread (observed, not replaced)."""
    counted: Counter[str] = Counter()
    original = aiosqlite.Connection._execute

    async def counting(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        counted[getattr(fn, "__name__", "?")] += 1
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counting)
    return counted


def test_the_installed_versions_get_the_one_hop_dialect(engine: AsyncEngine) -> None:
    assert sqlite_driver.supported()
    assert engine.dialect.driver == sqlite_driver.DRIVER
    assert engine.dialect.name == "sqlite"


async def test_rows_counts_and_ids(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        first = await conn.execute(text("INSERT INTO item (name) VALUES ('a')"))
        assert first.lastrowid == 1
        many = await conn.execute(text("INSERT INTO item (name) VALUES (:n)"), [{"n": "b"}, {"n": "c"}])
        assert many.rowcount == 2
        updated = await conn.execute(text("UPDATE item SET name = name || '!' WHERE id > 1"))
        assert updated.rowcount == 2
        rows = (await conn.execute(text("SELECT id, name FROM item ORDER BY id"))).all()
    assert [tuple(r) for r in rows] == [(1, "a"), (2, "b!"), (3, "c!")]
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT name FROM item WHERE id = 9"))).first() is None


async def test_a_failed_transaction_is_rolled_back_and_the_error_is_sqlalchemys(engine: AsyncEngine) -> None:
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO item (name) VALUES ('x')"))
            await conn.execute(text("INSERT INTO item (name) VALUES ('x')"))
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM item"))).scalar() == 0


async def test_no_transaction_is_left_open_for_the_next_writer(engine: AsyncEngine) -> None:
    # A connection back in the pool must not hold SQLite's write lock (every transaction is BEGIN
    # IMMEDIATE): two connections at once, each writing after the other returned its own.
    for name in ("p", "q"):
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO item (name) VALUES (:n)"), {"n": name})
    async with engine.connect() as one, engine.connect() as two:
        async with one.begin():
            await one.execute(text("INSERT INTO item (name) VALUES ('r')"))
        async with two.begin():
            await two.execute(text("INSERT INTO item (name) VALUES ('s')"))
        assert (await two.execute(text("SELECT count(*) FROM item"))).scalar() == 4


async def test_one_trip_per_statement_and_none_to_begin_commit_or_reset(
    engine: AsyncEngine, trips: Counter[str]
) -> None:
    async with engine.begin() as conn:  # BEGIN IMMEDIATE, two statements, COMMIT
        await conn.execute(text("INSERT INTO item (name) VALUES ('a')"))
        (await conn.execute(text("SELECT * FROM item"))).all()
    # The stock adapter made 3 + 3 + 4 trips and a rollback when the pool took the connection back; the
    # BEGIN rides with the first statement, and the commit is made on the loop's thread.
    assert trips == Counter({"_run": 2})


async def test_the_engines_point_statements_make_no_trip(engine: AsyncEngine, trips: Counter[str]) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO conversation_state (id, state) VALUES (1, 'menu')"))
        await conn.execute(text("UPDATE conversation_state SET state = 'bind' WHERE id = 1"))
        rows = (await conn.execute(text("SELECT conversation_state.state FROM conversation_state"))).all()
    assert [tuple(r) for r in rows] == [("bind",)]
    with pytest.raises(IntegrityError):  # errors are SQLAlchemy's, as on the thread
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO conversation_state (id, state) VALUES (1, 'x')"))
    assert trips == Counter()


async def test_a_begin_that_would_wait_waits_on_the_thread_not_the_loop(
    engine: AsyncEngine, trips: Counter[str]
) -> None:
    ticks = 0

    async def ticking() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(ticking())
    async with engine.connect() as holder, engine.connect() as waiter:
        trips.clear()  # a new connection's pragmas
        await holder.begin()
        await holder.execute(text("INSERT INTO item (name) VALUES ('held')"))  # holds the write lock

        async def write() -> None:
            async with waiter.begin():
                await waiter.execute(text("INSERT INTO conversation_state (id, state) VALUES (7, 'w')"))

        writing = asyncio.create_task(write())
        await asyncio.sleep(0.3)
        assert not writing.done()  # waiting for the lock...
        assert ticks >= 10  # ...on the connection's thread: the loop kept running
        await holder.commit()
        await asyncio.wait_for(writing, 5)
    ticker.cancel()
    assert trips["_run"] == 2  # the holder's insert, and the waiter's BEGIN with its insert
    async with engine.connect() as conn:
        assert (
            await conn.execute(text("SELECT conversation_state.state FROM conversation_state"))
        ).all() == [("w",)]


async def test_a_many_row_insert_rides_with_the_next_statement(
    engine: AsyncEngine, trips: Counter[str]
) -> None:
    async with engine.begin() as conn:
        many = await conn.execute(text("INSERT INTO item (name) VALUES (:n)"), [{"n": "b"}, {"n": "c"}])
        assert many.rowcount == 2
        assert trips == Counter()  # BEGIN and the insert are both held
        # ...and run, in order, before a statement that reads them:
        assert (await conn.execute(text("SELECT count(*) FROM item"))).scalar() == 2
        await conn.execute(text("INSERT INTO item (name) VALUES (:n)"), [{"n": "d"}, {"n": "e"}])
    assert trips == Counter({"_run": 1})  # the last insert went with the commit, on the loop's thread
    async with engine.connect() as conn:
        names = (await conn.execute(text("SELECT name FROM item ORDER BY id"))).scalars().all()
    assert names == ["b", "c", "d", "e"]


async def test_a_held_insert_that_fails_fails_its_transaction(engine: AsyncEngine) -> None:
    with pytest.raises(IntegrityError):  # raised by the commit, which ran the held insert
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO item (name) VALUES (:n)"), [{"n": "x"}, {"n": "x"}])
    async with engine.begin() as conn:  # nothing of it stayed, and no lock either
        await conn.execute(text("INSERT INTO item (name) VALUES (:n)"), [{"n": "y"}, {"n": "z"}])
        assert (await conn.execute(text("SELECT name FROM item ORDER BY id"))).scalars().all() == ["y", "z"]


async def test_inserts_that_may_skip_rows_or_return_some_are_not_held(
    engine: AsyncEngine, trips: Counter[str]
) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO item (name) VALUES ('a')"))
        skipped = await conn.execute(
            text("INSERT INTO item (name) VALUES (:n) ON CONFLICT DO NOTHING"), [{"n": "a"}, {"n": "b"}]
        )
        assert skipped.rowcount == 1  # counted by SQLite, not assumed
        ignored = await conn.execute(text("INSERT OR IGNORE INTO item (name) VALUES (:n)"), [{"n": "b"}])
        assert ignored.rowcount == 0
    assert trips == Counter({"_run": 3})


async def test_a_transaction_that_runs_nothing_makes_no_trip(
    engine: AsyncEngine, trips: Counter[str]
) -> None:
    async with engine.begin():
        pass
    async with engine.connect() as conn:
        await conn.begin()
        await conn.rollback()
    assert trips == Counter()
    async with engine.begin() as conn:  # and the connection is as good as new
        await conn.execute(text("INSERT INTO item (name) VALUES ('a')"))
    assert trips == Counter({"_run": 1})
