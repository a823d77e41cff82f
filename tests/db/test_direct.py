"""A Core statement run below SQLAlchemy's execution layer gives what SQLAlchemy would (models/direct.py): on
asyncpg itself, and on SQLite's DB-API cursor."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest
from sqlalchemy import Integer, String, bindparam, cast, literal, select, update

from bot.app import App
from models import ConversationState
from models.db import is_sqlite
from models.direct import DirectStatement

_TABLE = ConversationState.__table__  # type: ignore[attr-defined]
_READ = DirectStatement(select(_TABLE).where(_TABLE.c.chat_id == bindparam("chat_id")))
_WRITE = DirectStatement(
    update(_TABLE)
    .where(_TABLE.c.chat_id == bindparam("chat_id"))
    .values(data=bindparam("data"), updated_at=bindparam("at"))
)


async def test_values_go_through_the_column_types_both_ways(app: App) -> None:
    async with app.sessions() as session, session.begin():
        session.add(ConversationState(channel="test", chat_id="direct"))
    at = datetime(2026, 11, 27, 8, 30, tzinfo=UTC)
    async with app.db.connect() as connection:
        changed = await _WRITE.execute(
            connection, {"chat_id": "direct", "data": {"草稿": [1, "二"]}, "at": at}
        )
        rows = await _READ.fetch(connection, {"chat_id": "direct"})
        assert changed == 1 and len(rows) == 1
        assert await _WRITE.execute(connection, {"chat_id": "nobody", "data": {}, "at": at}) == 0
        via_sqlalchemy = (await connection.execute(_READ.statement, {"chat_id": "direct"})).one()
    assert rows[0] == list(via_sqlalchemy)
    row = dict(zip(_TABLE.c.keys(), rows[0], strict=True))
    assert (
        row["data"] == {"草稿": [1, "二"]}
        and row["updated_at"] == at
        and row["updated_at"].tzinfo is not None
        and row["notices_muted"] is False  # SQLite keeps it as 0
    )


async def test_a_failed_statement_leaves_no_broken_connection_in_the_pool(app: App) -> None:
    if is_sqlite(app.db):
        pytest.skip("straight on asyncpg: PostgreSQL only")
    number = DirectStatement(select(cast(bindparam("n", type_=String), Integer) + literal(1, Integer)))
    async with app.db.connect() as connection:
        assert await number.fetch(connection, {"n": "41"}) == [[42]]  # the literal goes in with its value
        with pytest.raises(asyncpg.InvalidTextRepresentationError):
            await number.fetch(connection, {"n": "四十一"})
        assert connection.invalidated  # it may have been anything: a restart, a dropped socket
    async with app.db.connect() as connection:
        assert await _READ.fetch(connection, {"chat_id": "none"}) == []
