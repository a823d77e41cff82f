"""Writing many rows in one statement (an import writes up to 100,000 records, bench/import.py): column
values come from the models' own defaults, so a bulk row is the row the ORM would have written."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic_core import PydanticUndefined
from sqlalchemy import func, insert, select, text
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from models import AuditEntry


def defaults(model: type[SQLModel]) -> dict[str, Any]:
    """Every column's default (factories called once: one timestamp for the batch)."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name == "id":
            continue
        if info.default_factory is not None:
            out[name] = info.default_factory()  # type: ignore[call-arg]
        elif info.default is not PydanticUndefined:
            out[name] = info.default
    return out


async def new_ids(session: AsyncSession, table: Any, n: int) -> list[int]:
    """n ids for rows about to be inserted, taken in one statement. RETURNING in bulk would make SQLAlchemy
    send one INSERT per row to keep the order on SQLite (bench/import.py: most of an import's time).
    PostgreSQL: from the column's sequence. SQLite: after the largest id, safe because the transaction
    holds SQLite's only write lock (BEGIN IMMEDIATE, models/db.py) — as SQLite itself would number them."""
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        result = await conn.execute(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
            {"table": table.name, "n": n},
        )
        return [r[0] for r in result.all()]
    top = (await conn.execute(select(func.max(table.c.id)))).scalar() or 0
    return list(range(top + 1, top + 1 + n))


async def insert_rows(
    session: AsyncSession, model: type[SQLModel], rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Insert with every default filled in, as one batched statement; the new ids in the order of `rows`.
    Columns that are NULL in every row are left out (the database writes NULL), and values go to the
    driver's executemany with the column types' own conversions: SQLAlchemy's per-row parameter handling
    was most of an import's write time (bench/import.py)."""
    if not rows:
        return []
    table = model.__table__  # type: ignore[attr-defined]
    ids = await new_ids(session, table, len(rows))
    base = defaults(model)
    full = [{**base, **row, "id": i} for row, i in zip(rows, ids, strict=True)]
    keys = [c.key for c in table.columns if any(r.get(c.key) is not None for r in full)]
    conn = await session.connection()
    dialect = conn.dialect
    statement = insert(table).compile(dialect=dialect, column_keys=keys)
    order = statement.positiontup or keys
    # The column types' conversions, each value converted once (dates and timestamps repeat down a batch).
    convert = [
        (j, f, {}) for j, k in enumerate(order) if (f := table.c[k].type._cached_bind_processor(dialect))
    ]
    params = []
    for r in full:
        values = [r.get(k) for k in order]
        for j, f, seen in convert:
            value = values[j]
            if value is not None:
                try:
                    values[j] = seen[value]
                except KeyError:
                    values[j] = seen[value] = f(value)
                except TypeError:  # unhashable (a JSON dict)
                    values[j] = f(value)
        params.append(tuple(values))
    if dialect.name == "postgresql":
        # COPY, in this transaction: twice as fast as a batched INSERT for 20,000 records (bench/import.py).
        driver = (await conn.get_raw_connection()).driver_connection
        await driver.copy_records_to_table(table.name, records=params, columns=list(order))
    else:
        await conn.exec_driver_sql(str(statement), params)
    return ids


def audit_row(
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: object,
    subject_id: int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "subject_id": subject_id,
        "before": before or {},
        "after": after or {},
    }


async def insert_audit(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    table = AuditEntry.__table__  # type: ignore[attr-defined]
    base = defaults(AuditEntry)
    conn = await session.connection()
    await conn.execute(insert(table), [{**base, **row} for row in rows])
