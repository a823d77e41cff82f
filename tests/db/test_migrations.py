"""The Alembic migration builds exactly the schema the models declare, on every backend."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from models import migrate
from models.db import drop_all, make_engine


async def test_migration_matches_models(db_url: str) -> None:
    engine = make_engine(db_url)
    async with engine.begin() as conn:
        await conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    await drop_all(engine)
    await asyncio.to_thread(migrate.upgrade, db_url)

    def diff(sync_conn):  # type: ignore[no-untyped-def]
        ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return compare_metadata(ctx, SQLModel.metadata)

    async with engine.connect() as conn:
        changes = await conn.run_sync(diff)
    await engine.dispose()
    assert changes == []


async def test_migration_is_idempotent(db_url: str) -> None:
    engine = make_engine(db_url)
    async with engine.begin() as conn:
        await conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    await drop_all(engine)
    await engine.dispose()
    await asyncio.to_thread(migrate.upgrade, db_url)
    await asyncio.to_thread(migrate.upgrade, db_url)  # a second `credit-bot migrate` changes nothing
