"""A Core statement compiled once by SQLAlchemy and run below its execution layer (issue #10).

The engine runs two or three statements on every event of a results day: the chat's state read, its write
and the reply's buttons. Through SQLAlchemy's Connection each cost about 100-150 µs of CPU (the compiled
cache lookup, the execution context, parameter and result processing, the cursor adapter and its greenlet
switch), more than the statement itself; straight on asyncpg the state read cost 60 µs (3,000 runs).

- On asyncpg, the statement runs on the driver's connection itself, outside SQLAlchemy's transaction
  handling: only for statements that run outside any transaction (models/late_lock.py). A failed
  statement invalidates the connection, as SQLAlchemy would, so a broken one never goes back to the pool.
- Elsewhere (SQLite), it runs on the DB-API cursor, inside the connection's transaction like any other
  statement: our SQLite driver still holds and begins it (models/sqlite_driver.py).

The statement is still SQLAlchemy's, compiled for the dialect in use, and its values still go through the
column types' own processors (JSON, our UTC datetimes, SQLite's booleans), both ways.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement

_Processor = Callable[[Any], Any]
_ASYNCPG = ("asyncpg", "asyncpg_latelock")  # models/late_lock.py's driver is asyncpg's adapter


@dataclass(frozen=True)
class _Compiled:
    sql: str
    on_asyncpg: bool
    binds: tuple[tuple[str, _Processor | None, Any], ...]  # positional, with a literal's own value
    results: tuple[tuple[int, _Processor], ...]  # the result columns that have a processor

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        args = []
        for name, process, value in self.binds:
            value = params.get(name, value)
            args.append(value if process is None else process(value))
        return args

    def rows(self, records: Sequence[Sequence[Any]]) -> list[list[Any]]:
        rows = []
        for record in records:
            row = list(record)
            for at, process in self.results:
                row[at] = process(row[at])
            rows.append(row)
        return rows


class DirectStatement:
    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: weakref.WeakKeyDictionary[Dialect, _Compiled] = weakref.WeakKeyDictionary()

    async def fetch(self, connection: AsyncConnection, params: Mapping[str, Any]) -> list[list[Any]]:
        compiled = self._for(connection.dialect)
        args = compiled.args(params)
        if compiled.on_asyncpg:
            try:
                records = await _driver(connection).fetch(compiled.sql, *args)
            except BaseException:
                await _drop(connection)
                raise
        else:
            records, _ = await connection.run_sync(_on_cursor, compiled.sql, args)
        return compiled.rows(records)

    async def execute(self, connection: AsyncConnection, params: Mapping[str, Any]) -> int:
        """The number of rows the statement changed."""
        compiled = self._for(connection.dialect)
        args = compiled.args(params)
        if not compiled.on_asyncpg:
            _, count = await connection.run_sync(_on_cursor, compiled.sql, args)
            return count
        try:
            status: str = await _driver(connection).execute(compiled.sql, *args)  # "UPDATE 1", "INSERT 0 5"
        except BaseException:
            await _drop(connection)
            raise
        return int(status.rsplit(" ", 1)[-1])

    async def executemany(self, connection: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
        compiled = self._for(connection.dialect)
        many = [compiled.args(row) for row in rows]
        if not compiled.on_asyncpg:
            await connection.run_sync(_on_cursor, compiled.sql, many, True)
            return
        try:
            await _driver(connection).executemany(compiled.sql, many)
        except BaseException:
            await _drop(connection)
            raise

    def _for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect)
        if compiled is None:
            compiled = self._compiled[dialect] = _compile(self.statement, dialect)
        return compiled


def _compile(statement: ClauseElement, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    names: Sequence[str] = compiled.positiontup or ()  # type: ignore[attr-defined]
    binds = []
    for name in names:
        bind = compiled.binds[name]
        binds.append((name, bind.type.dialect_impl(dialect).bind_processor(dialect), bind.value))
    results = []
    for at, column in enumerate(getattr(statement, "selected_columns", ())):
        process = column.type.dialect_impl(dialect).result_processor(dialect, None)
        if process is not None:
            results.append((at, process))
    return _Compiled(str(compiled), dialect.driver in _ASYNCPG, tuple(binds), tuple(results))


def _driver(connection: AsyncConnection) -> Any:
    return connection.sync_connection.connection.driver_connection  # type: ignore[union-attr]


def _on_cursor(
    connection: Connection, sql: str, args: Sequence[Any], many: bool = False
) -> tuple[list[Any], int]:
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if many:
            cursor.executemany(sql, args)
        else:
            cursor.execute(sql, args)
        return (cursor.fetchall() if cursor.description else []), cursor.rowcount
    finally:
        cursor.close()


async def _drop(connection: AsyncConnection) -> None:
    """A failed statement may have left the driver's connection broken (a database restart): the pool must
    not hand it out again. SQLAlchemy would have told; here we invalidate it ourselves."""
    if not connection.invalidated:
        await connection.invalidate()
