"""One long-polling process per database (issue #10).

Two processes polling one bot would each take updates from Telegram and answer some of them twice or
out of order; the second refuses to start instead. PostgreSQL: a session-level advisory lock held on a
connection of its own for the life of the poller (released when the process ends, even by kill -9).
SQLite: an exclusive lock on a file beside the database (SQLite serves one machine, so a file lock
covers every process that can open it).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

# Any constant 64-bit key; it names "the Telegram poller of this database" for pg_try_advisory_lock.
POLLER_LOCK_KEY = 0x63726564_706F6C6C  # "credpoll"


class AlreadyPolling(RuntimeError):
    """Another process is already polling Telegram for this database."""


@contextlib.asynccontextmanager
async def poller_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            got = await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": POLLER_LOCK_KEY})
            await conn.commit()  # the lock is the session's, not the transaction's
            if not got:
                raise AlreadyPolling("PostgreSQL advisory lock held by another process")
            try:
                yield
            finally:
                with contextlib.suppress(Exception):  # the connection may be gone with the database
                    await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": POLLER_LOCK_KEY})
        return
    database = make_url(str(engine.url)).database
    if not database or database == ":memory:":
        yield  # a private in-memory database cannot be shared with another process
        return
    path = Path(database + ".poller.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise AlreadyPolling(f"{path.name} is locked by another process") from err
        yield
    finally:
        os.close(fd)  # closing releases the lock
