"""PostgreSQL: a chat's state row locked late, only when the step runs a statement (issue #10).

The engine used to begin a transaction, read the chat's state FOR UPDATE, run the step, write, and commit:
four round trips on every event, though most events of a results day (a /menu, a refused text) run no
statement of their own. Now the state is read outside any transaction, and then:

- the step's first statement, if it runs one, is preceded by BEGIN and the same row lock as before, which
  also checks that the row is still the version that was read: a step that reads or writes anything runs
  serialised per chat exactly as before;
- a step that ran no statement writes the state (and its reply's buttons) in one statement on its own,
  which changes the row only if it is still the version that was read: two round trips instead of four,
  both straight on the driver (models/direct.py).

Either way a chat moved on by another process in between (webhook instances behind a load balancer) raises
StateMoved; the engine rolls back and runs the event again with the row locked from the start. The version
is the row's `xmin`, the transaction that wrote it: no column of ours, and every writer changes it.

The lock is taken where SQLAlchemy's asyncpg adapter begins a transaction, lazily before the first
statement of one: a driver of ours (`postgresql+asyncpg_latelock`, as models/sqlite_driver.py is for
SQLite) adds it there. An engine-wide statement hook (before_cursor_execute) would do it too, but any such
hook makes SQLAlchemy dispatch all its execution events on every statement of every process (tens of µs
per event in a profile), where the driver pays only at a BEGIN.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.postgresql.asyncpg import (
    AsyncAdapt_asyncpg_connection,
    AsyncAdapt_asyncpg_dbapi,
    PGDialect_asyncpg,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.util.concurrency import await_only

DRIVER = "asyncpg_latelock"  # the URL's driver name: postgresql+asyncpg_latelock://

# The state row's version as the engine reads it, and as write_step compares it (bot/step_writes.py).
VERSION_SQL = "conversation_state.xmin::text"
_LOCK_SQL = f"SELECT {VERSION_SQL} FROM conversation_state WHERE id = $1 FOR UPDATE"


class StateMoved(Exception):
    """Another process changed the chat's state since it was read: the event must run again."""


def supported(engine: AsyncEngine) -> bool:
    return engine.dialect.driver == DRIVER


def lock_before_first_statement(connection: AsyncConnection, state_id: int, version: str) -> None:
    _adapter(connection).pending_lock = (state_id, version)


def forget_lock(connection: AsyncConnection) -> None:
    _adapter(connection).pending_lock = None


def in_transaction(connection: AsyncConnection) -> bool:
    return bool(_adapter(connection)._started)


@contextlib.asynccontextmanager
async def outside(connection: AsyncConnection) -> AsyncIterator[None]:
    """Statements run here each on their own, in no transaction (the connection must not be in one)."""
    adapter = _adapter(connection)
    adapter.autocommit = True
    try:
        yield
    finally:
        adapter.autocommit = False


def _adapter(connection: AsyncConnection) -> _Connection:
    # The checked-out connection's DB-API adapter: a live connection's attribute, no I/O (unlike
    # AsyncConnection.get_raw_connection, which runs in a greenlet).
    return connection.sync_connection.connection.dbapi_connection  # type: ignore[union-attr, return-value]


class _Connection(AsyncAdapt_asyncpg_connection):
    __slots__ = ("pending_lock",)

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.pending_lock: tuple[int, str] | None = None

    async def _start_transaction(self) -> None:
        """BEGIN, as the adapter sends it before a transaction's first statement; then the pending lock."""
        await super()._start_transaction()
        pending, self.pending_lock = self.pending_lock, None
        if pending is None or not self._started:
            return
        try:
            row = await self._connection.fetchrow(_LOCK_SQL, pending[0])
        except Exception as error:
            self._handle_exception(error)
        if row is None or row[0] != pending[1]:
            raise StateMoved

    def commit(self) -> None:
        self.pending_lock = None
        super().commit()

    def rollback(self) -> None:
        # Also the pool's reset of a returned connection: nothing pending or autocommit is left to the next
        # user (outside() restores autocommit itself; this is a safety net).
        self.pending_lock = None
        self.autocommit = False
        super().rollback()


class _DBAPI(AsyncAdapt_asyncpg_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> Any:
        """As SQLAlchemy's adapter connects, with our connection class."""
        if kw.get("async_fallback"):
            return super().connect(*arg, **kw)
        kw.pop("async_fallback", None)
        creator_fn = kw.pop("async_creator_fn", self.asyncpg.connect)
        cache_size = kw.pop("prepared_statement_cache_size", 100)
        name_func = kw.pop("prepared_statement_name_func", None)
        return _Connection(
            self,
            await_only(creator_fn(*arg, **kw)),
            prepared_statement_cache_size=cache_size,
            prepared_statement_name_func=name_func,
        )


class LateLockDialect(PGDialect_asyncpg):
    driver = DRIVER
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> AsyncAdapt_asyncpg_dbapi:
        return _DBAPI(__import__("asyncpg"))


registry.register(f"postgresql.{DRIVER}", __name__, "LateLockDialect")
