"""What the tests that start real `python -m bot` processes share: a migrated database the processes can
open together, and waiting for a condition while they work."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

from bot.app import build_app
from models.db import drop_all, make_engine
from workflows.settings import Settings


async def migrated_database(tmp_path: Path, name: str) -> str:
    """An empty, migrated database: the suite's PostgreSQL when it has one (rows are claimed with
    FOR UPDATE SKIP LOCKED there), else a SQLite file. Migrated here, once, so that processes starting
    together do not race to create the schema."""
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path}/{name}.db"
    if not url.startswith("sqlite"):
        engine = make_engine(url)
        async with engine.begin() as conn:
            await conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        await drop_all(engine)
        await engine.dispose()
    app = await build_app(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    await app.close()
    return url


async def until(predicate: Callable[[], bool], timeout: float) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("condition not reached")
