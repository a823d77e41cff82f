"""A Core statement compiled once by SQLAlchemy and run straight on the asyncpg connection (issue #10).

The engine's two statements of a results-day event on PostgreSQL (the state read and its versioned write:
models/late_lock.py) run outside any transaction, so nothing of SQLAlchemy's transaction bookkeeping is
needed for them. Through SQLAlchemy each cost about 100-150 µs of CPU; on the driver, 60 µs
(measured on the state read, 3,000 runs): the compiled-cache lookup, the execution context, the cursor
adapter and its greenlet switch are skipped. The statement is still SQLAlchemy's, compiled for the
dialect in use, its values still go through the column types' own processors (JSON, our UTC datetimes),
and an error still leaves no broken connection in the pool.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement

_Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    binds: tuple[tuple[str, _Processor | None, Any], ...]  # positional ($1, $2, ...), with a literal's value
    results: tuple[tuple[int, _Processor], ...]  # the result columns that have a processor


class DirectStatement:
    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: weakref.WeakKeyDictionary[Dialect, _Compiled] = weakref.WeakKeyDictionary()

    async def fetch(self, connection: AsyncConnection, params: Mapping[str, Any]) -> list[list[Any]]:
        compiled, driver, args = self._prepare(connection, params)
        try:
            records = await driver.fetch(compiled.sql, *args)
        except BaseException:
            await _drop(connection)
            raise
        rows = []
        for record in records:
            row = list(record)
            for at, process in compiled.results:
                row[at] = process(row[at])
            rows.append(row)
        return rows

    async def execute(self, connection: AsyncConnection, params: Mapping[str, Any]) -> int:
        """The number of rows the statement changed (its status: "UPDATE 1", "INSERT 0 5")."""
        compiled, driver, args = self._prepare(connection, params)
        try:
            status: str = await driver.execute(compiled.sql, *args)
        except BaseException:
            await _drop(connection)
            raise
        return int(status.rsplit(" ", 1)[-1])

    def _prepare(
        self, connection: AsyncConnection, params: Mapping[str, Any]
    ) -> tuple[_Compiled, Any, list[Any]]:
        dialect = connection.dialect
        compiled = self._compiled.get(dialect)
        if compiled is None:
            compiled = self._compiled[dialect] = _compile(self.statement, dialect)
        args = []
        for name, process, value in compiled.binds:
            value = params.get(name, value)
            args.append(value if process is None else process(value))
        driver = connection.sync_connection.connection.driver_connection  # type: ignore[union-attr]
        return compiled, driver, args


def _compile(statement: ClauseElement, dialect: Dialect) -> _Compiled:
    if dialect.driver not in ("asyncpg", "asyncpg_latelock"):
        raise TypeError(f"DirectStatement runs on asyncpg, not {dialect.name}+{dialect.driver}")
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
    return _Compiled(str(compiled), tuple(binds), tuple(results))


async def _drop(connection: AsyncConnection) -> None:
    """A failed statement may have left the driver's connection broken (a database restart): the pool must
    not hand it out again. SQLAlchemy would have told; here we invalidate it ourselves."""
    if not connection.invalidated:
        await connection.invalidate()
