"""The embedded database's one-hop dialect (models/sqlite_driver.py) behaves as the stock aiosqlite one:
rows, counts, errors and transactions, with one trip to the connection's thread per statement."""

from __future__ import annotations

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


async def test_one_trip_per_statement_and_none_to_reset_a_committed_connection(
    engine: AsyncEngine, trips: Counter[str]
) -> None:
    async with engine.begin() as conn:  # BEGIN IMMEDIATE, two statements, COMMIT
        await conn.execute(text("INSERT INTO item (name) VALUES ('a')"))
        (await conn.execute(text("SELECT * FROM item"))).all()
    # The stock adapter made 3 + 3 + 4 trips and a rollback when the pool took the connection back.
    assert trips == Counter({"_run": 3, "commit": 1})
