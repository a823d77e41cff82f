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


async def test_upgrade_keeps_rows_written_under_the_first_schema(db_url: str) -> None:
    """0002 adds NOT NULL columns: a database already in use upgrades in place (server defaults)."""
    engine = make_engine(db_url)
    async with engine.begin() as conn:
        await conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    await drop_all(engine)
    await asyncio.to_thread(migrate.upgrade, db_url, "0001")
    async with engine.begin() as conn:
        await conn.exec_driver_sql(
            "INSERT INTO subject (kind, name, region_code, created_at) "
            "VALUES ('enterprise', '老企业', '370402', CURRENT_TIMESTAMP)"
        )
        await conn.exec_driver_sql(
            "INSERT INTO credit_record (subject_id, kind, severity, decision_no, decision_date, authority, facts,"
            " basis, content, status, created_at) VALUES ((SELECT id FROM subject), 'penalty', 'general', 'X1',"
            " '2026-05-20', '局', '', '', '', 'published', CURRENT_TIMESTAMP)"
        )
    await asyncio.to_thread(migrate.upgrade, db_url)
    async with engine.connect() as conn:
        subject = (await conn.exec_driver_sql("SELECT category, created_by, codes FROM subject")).one()
        record = (
            await conn.exec_driver_sql("SELECT notices_required, origin, remarks FROM credit_record")
        ).one()
    await engine.dispose()
    assert subject[0] == "" and subject[1] == "" and subject[2] in ({}, "{}")
    assert bool(record[0]) is True and record[1] == "" and record[2] == ""
