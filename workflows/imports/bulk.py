"""Writing many rows in one statement (an import writes up to 100,000 records, bench/import.py): column
values come from the models' own defaults, so a bulk row is the row the ORM would have written."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic_core import PydanticUndefined
from sqlalchemy import insert
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


async def insert_rows(
    session: AsyncSession, model: type[SQLModel], rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Insert with every default filled in; the new ids in the order of `rows`."""
    if not rows:
        return []
    base = defaults(model)
    table = model.__table__  # type: ignore[attr-defined]
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    conn = await session.connection()
    result = await conn.execute(stmt, [{**base, **row} for row in rows])
    return [r[0] for r in result.all()]


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
