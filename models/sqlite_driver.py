"""SQLAlchemy's aiosqlite dialect with at most one thread hop per statement instead of three or four, and
none for the conversation engine's point statements.

aiosqlite runs every call on the connection's own thread, and SQLAlchemy's adapter makes a call for each
part of a statement: open a cursor, execute, fetch the rows, close the cursor. Each call is a trip to that
thread and back through the event loop's self-pipe, and these trips cost more than SQLite's own work: a
dialog step on the embedded database made 13 of them for plain text and 15 for /menu (bench/throughput.py,
issue #10). Here a statement is one function run on that thread (cursor, execute, fetch and close
together), and the pool's rollback on returning a connection is skipped when no transaction is open (we
begin every transaction ourselves: models/db.py).

Two kinds of statement wait for the next statement instead of making their own trip: our `BEGIN IMMEDIATE`
(it runs just before the transaction's first statement, and a transaction with none costs nothing), and a
many-row INSERT that returns nothing (the step's button tokens: they run just before whatever comes next,
the commit at the latest). Order and transaction are the same; only an error of a held INSERT surfaces at
the next statement instead of its own. Such an INSERT reports one row per parameter set, as it would have
(one that may skip rows is never held).

The engine's point statements (AT_ONCE), COMMIT and ROLLBACK make no trip at all: they run on the loop's
thread (the connection is opened with check_same_thread off; it is still used by one task at a time). A
BEGIN IMMEDIATE run there never waits for the write lock: when another connection holds it, the BEGIN goes
to the connection's thread, which may wait without holding up the loop.

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


Held = list[tuple[str, Any, bool]]  # statements waiting for the next trip: (operation, parameters, many)

# How long a statement on the connection's thread waits for another connection's write lock (SQLite's
# busy timeout). A statement run on the event loop's thread never waits: see _begin_at_once.
LOCK_WAIT_SECONDS = 30

# Statements run on the event loop's own thread, without a trip: the conversation engine's point reads
# and writes by unique key (a chat's state and bindings, its button tokens), which take SQLite microseconds
# where a trip costs far more (a queue, a thread switch, the loop's self-pipe, and the GIL passed back and
# forth), on every event of a results day. Anything else, a report's scan or the scheduler's sweep, keeps
# its trip so that it never holds up the loop.
AT_ONCE = (
    "WITH chat_state AS",  # workflows/identity.py: the state and bindings of a chat
    "SELECT conversation_state.",
    "UPDATE conversation_state SET",
    "INSERT INTO conversation_state ",
    "SELECT button_token.",
    "INSERT INTO button_token ",
    "DELETE FROM button_token WHERE button_token.channel = ",  # a chat's stale tokens (bot/context.py)
)


class _WouldWait(Exception):
    """Another connection holds the write lock: the BEGIN must wait, on the connection's thread."""


def _run(
    conn: sqlite3.Connection,
    held: Held,
    operation: str,
    parameters: Any,
    many: bool,
    at_once: bool = False,
) -> tuple[Any, list[Any] | None, int | None, int]:
    """The held statements, then the whole statement, rows included: on the connection's thread, or on
    the loop's (`at_once`)."""
    _run_held(conn, held, at_once)
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


def _run_held(conn: sqlite3.Connection, held: Held, at_once: bool = False) -> None:
    for operation, parameters, many in held:
        if many:
            conn.executemany(operation, parameters).close()
        elif at_once and _is_begin(operation):
            _begin_at_once(conn, operation)
        else:
            conn.execute(operation, parameters or ()).close()


def _begin_at_once(conn: sqlite3.Connection, operation: str) -> None:
    """BEGIN IMMEDIATE without waiting: on the loop's thread, a wait for the write lock would stop the
    loop, and with it the connection that holds the lock, if it is ours. Busy: _WouldWait, and the BEGIN
    is run again on the connection's thread, where it may wait."""
    conn.execute("PRAGMA busy_timeout = 0").close()
    try:
        conn.execute(operation).close()
    except sqlite3.OperationalError as error:
        if conn.in_transaction or "lock" not in str(error):
            raise
        raise _WouldWait from error
    finally:
        conn.execute(f"PRAGMA busy_timeout = {LOCK_WAIT_SECONDS * 1000}").close()


def _commit(conn: sqlite3.Connection, held: Held, at_once: bool = False) -> None:
    _run_held(conn, held, at_once)
    conn.commit()


async def _nothing() -> None:
    return None


def _is_begin(operation: str) -> bool:
    return operation.lstrip()[:5].upper() == "BEGIN"


def _holdable_insert(operation: str) -> bool:
    """A many-row INSERT whose rows all land unless it fails, and that returns nothing."""
    head = operation.lstrip()[:7].upper()
    if head != "INSERT ":
        return False
    upper = operation.upper()
    return not any(word in upper for word in (" RETURNING ", " OR ", " ON CONFLICT"))


class _Cursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        self._statement(operation, parameters, many=False)

    def executemany(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        self._statement(operation, seq_of_parameters, many=True)

    def _statement(self, operation: Any, parameters: Any, *, many: bool) -> None:
        adapted: _Connection = self._adapt_connection  # type: ignore[assignment]
        head = operation.lstrip()[:9].upper()
        if _is_begin(head) or (many and adapted.in_transaction and _holdable_insert(operation)):
            adapted.held.append((operation, parameters, many))
            adapted.in_transaction = True
            # SQLAlchemy's async layer insists that a statement awaits something: this awaits nothing
            # (no trip to the thread, no turn of the event loop).
            self.await_(_nothing())
            self.description = None
            self.lastrowid = -1
            self.rowcount = len(parameters) if many else -1
            return
        held, adapted.held = adapted.held, []
        aio = self._connection
        try:
            if operation.startswith(AT_ONCE):
                try:
                    connection = aio._conn  # type: ignore[attr-defined]
                    description, rows, lastrowid, rowcount = _run(
                        connection, held, operation, parameters, many, at_once=True
                    )
                    self.await_(_nothing())
                except _WouldWait:
                    description, rows, lastrowid, rowcount = self.await_(
                        aio._execute(_run, aio._conn, held, operation, parameters, many)  # type: ignore[attr-defined]
                    )
            else:
                description, rows, lastrowid, rowcount = self.await_(
                    aio._execute(_run, aio._conn, held, operation, parameters, many)  # type: ignore[attr-defined]
                )
        except Exception as error:
            adapted._handle_exception(error)
        if head.startswith("SAVEPOINT"):
            adapted.in_transaction = True
        self.description = description
        if description is not None:
            self.lastrowid = self.rowcount = -1
            self._rows = deque(rows or ())
        else:
            self.lastrowid = lastrowid  # type: ignore[assignment]
            self.rowcount = rowcount


class _Connection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("in_transaction", "held")

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        # Unknown until our first BEGIN: the first rollback is a real one. Connections are in autocommit
        # mode (isolation_level None), so only an explicit BEGIN opens a transaction.
        self.in_transaction = True
        self.held: Held = []

    def cursor(self, server_side: bool = False) -> AsyncAdapt_aiosqlite_cursor:
        if server_side:
            self._run_held()  # a server-side cursor makes its own trips: what was held runs first
            return super().cursor(server_side)
        return _Cursor(self)

    def commit(self) -> None:
        """On the loop's thread: a commit in WAL mode waits for no one (the write lock is ours since the
        BEGIN IMMEDIATE). What is still held runs first; a BEGIN among it that would wait goes to the
        connection's thread with the rest."""
        held, self.held = self.held, []
        conn = self._connection._conn
        try:
            if len(held) == 1 and _is_begin(held[0][0]):
                pass  # a transaction that ran nothing: nothing to begin or commit
            else:
                try:
                    _commit(conn, held, at_once=True)
                except _WouldWait:
                    self.await_(self._connection._execute(_commit, conn, held))
            self.await_(_nothing())
        except Exception as error:
            self._handle_exception(error)
        self.in_transaction = False

    def rollback(self) -> None:
        held, self.held = self.held, []
        if not self.in_transaction or (held and _is_begin(held[0][0])):
            # The pool's reset after a commit or a rollback, or a transaction whose BEGIN never ran:
            # nothing to undo (what was held is dropped).
            self.in_transaction = False
            return
        try:
            self._connection._conn.rollback()  # on the loop's thread: a rollback waits for no one
            self.await_(_nothing())
        except Exception as error:
            self._handle_exception(error)
        self.in_transaction = False

    def _run_held(self) -> None:
        held, self.held = self.held, []
        if held:
            try:
                self.await_(self._connection._execute(_run_held, self._connection._conn, held))
            except Exception as error:
                self._handle_exception(error)


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
