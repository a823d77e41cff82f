"""SQLAlchemy's aiosqlite dialect with one thread hop per statement instead of three or four.

aiosqlite runs every call on the connection's own thread, and SQLAlchemy's adapter makes a call for each
part of a statement: open a cursor, execute, fetch the rows, close the cursor. Each call is a trip to that
thread and back through the event loop's self-pipe, and these trips cost more than SQLite's own work: a
dialog step on the embedded database made 13 of them for plain text and 15 for /menu (bench/throughput.py,
issue #10). Here a statement is one function run on that thread (cursor, execute, fetch and close
together), and the pool's rollback on returning a connection is skipped when no transaction is open (we
begin every transaction ourselves: models/db.py).

It uses aiosqlite's `Connection._execute(fn)` and `_conn`, the same internals SQLAlchemy's own adapter uses
for its isolation-level setter. `supported()` checks they are there; without them make_engine keeps the
stock dialect (tests/db/test_sqlite_driver.py says which one runs).
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Sequence
from threading import Thread
from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util.concurrency import await_only

DRIVER = "aiosqlite_onehop"  # the URL's driver name: sqlite+aiosqlite_onehop://


def supported() -> bool:
    import aiosqlite

    return hasattr(aiosqlite.Connection, "_execute") and hasattr(AsyncAdapt_aiosqlite_cursor, "execute")


def _run(
    conn: sqlite3.Connection, operation: str, parameters: Any, many: bool
) -> tuple[Any, list[Any] | None, int | None, int]:
    """On the connection's thread: the whole statement, rows included."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        if cursor.description:
            return cursor.description, cursor.fetchall(), None, -1
        return None, None, cursor.lastrowid, cursor.rowcount
    finally:
        cursor.close()


class _Cursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        self._statement(operation, parameters, many=False)

    def executemany(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        self._statement(operation, seq_of_parameters, many=True)

    def _statement(self, operation: Any, parameters: Any, *, many: bool) -> None:
        adapted: _Connection = self._adapt_connection  # type: ignore[assignment]
        aio = self._connection
        try:
            description, rows, lastrowid, rowcount = self.await_(
                aio._execute(_run, aio._conn, operation, parameters, many)  # type: ignore[attr-defined]
            )
        except Exception as error:
            adapted._handle_exception(error)
        if operation.lstrip()[:9].upper().startswith(("BEGIN", "SAVEPOINT")):  # both open a transaction
            adapted.in_transaction = True
        self.description = description
        if description is not None:
            self.lastrowid = self.rowcount = -1
            self._rows = deque(rows or ())
        else:
            self.lastrowid = lastrowid  # type: ignore[assignment]
            self.rowcount = rowcount


class _Connection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("in_transaction",)

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        # Unknown until our first BEGIN: the first rollback is a real one. Connections are in autocommit
        # mode (isolation_level None), so only an explicit BEGIN opens a transaction.
        self.in_transaction = True

    def cursor(self, server_side: bool = False) -> AsyncAdapt_aiosqlite_cursor:
        return super().cursor(server_side) if server_side else _Cursor(self)

    def commit(self) -> None:
        super().commit()
        self.in_transaction = False

    def rollback(self) -> None:
        if not self.in_transaction:
            return  # the pool's reset after a commit or a rollback: nothing to undo, no trip to the thread
        super().rollback()
        self.in_transaction = False


class _DBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> Any:
        if kw.get("async_fallback") or kw.get("async_creator_fn"):
            return super().connect(*arg, **kw)
        connection = self.aiosqlite.connect(*arg, **kw)
        thread = connection if isinstance(connection, Thread) else connection._thread
        thread.daemon = True  # as SQLAlchemy's adapter does: a forgotten connection does not hold up exit
        return _Connection(self, await_only(connection))


class OneHopDialect(SQLiteDialect_aiosqlite):
    driver = DRIVER
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> AsyncAdapt_aiosqlite_dbapi:
        return _DBAPI(__import__("aiosqlite"), __import__("sqlite3"))


registry.register(f"sqlite.{DRIVER}", __name__, "OneHopDialect")
