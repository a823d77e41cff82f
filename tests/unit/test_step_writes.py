"""bot/step_writes.py: a step's state changes and button tokens are written, in one statement on
PostgreSQL, and a new chat's state is left to the flush."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from bot.app import App
from bot.step_writes import STALE_TOKEN_SWEEP, write_step
from models import ButtonToken, ConversationState
from models.base import built
from models.db import is_sqlite
from models.late_lock import outside
from workflows.identity import state_and_identity, state_identity_and_version

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def _tokens(chat_id: str, screen: int, n: int) -> list[dict[str, Any]]:
    return [
        {
            "token": f"{chat_id}-{screen}-{i}",
            "channel": "test",
            "chat_id": chat_id,
            "action": "menu.open",
            "payload": {"page": i},
            "screen": screen,
            "persistent": False,
            "created_at": NOW,
        }
        for i in range(n)
    ]


async def _statements(app: App) -> list[str]:
    """The statements the database runs: SQLite's own trace (the engine's statements run below
    SQLAlchemy's execution layer there: models/direct.py), SQLAlchemy's cursor events on PostgreSQL."""
    seen: list[str] = []

    def note(statement: str) -> None:
        seen.append(" ".join(statement.split())[:40])

    if is_sqlite(app.db):
        await app.db.dispose()  # new connections, traced from the start

        @event.listens_for(app.db.sync_engine, "connect")
        def _trace(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.driver_connection._conn.set_trace_callback(note)

    else:
        event.listen(app.db.sync_engine, "before_cursor_execute", lambda _c, _k, sql, *_a: note(sql))
    return seen


async def test_a_known_chats_state_and_tokens(app: App) -> None:
    async with app.sessions() as session, session.begin():
        session.add(ConversationState(channel="test", chat_id="k", data={"a": 1}))
    seen = await _statements(app)
    async with app.sessions() as session, session.begin():
        state, _ = await state_and_identity(session, "test", "k", lock=False)
        assert state is not None
        state.screen, state.state = 5, "records.list"
        await write_step(session, state, _tokens("k", 5, 3))
    skip = ("WITH chat_state", "BEGIN", "SELECT", "COMMIT", "PRAGMA")
    writes = [s for s in seen if not s.startswith(skip)]
    if is_sqlite(app.db):  # the tokens' rows (one executemany), then the state
        kinds = [" ".join(w.split()[:3]) for w in writes]
        assert kinds == ["INSERT INTO button_token"] * 3 + ["UPDATE conversation_state SET"]
    else:  # one statement, one round trip
        assert len(writes) == 1 and writes[0].startswith("WITH new_tokens AS (INSERT INTO button")
    async with app.sessions() as session:
        row = (await session.exec(select(ConversationState).where(ConversationState.chat_id == "k"))).one()
        tokens = (await session.exec(select(ButtonToken).order_by(ButtonToken.token))).all()
    assert (row.screen, row.state, row.data) == (5, "records.list", {"a": 1})  # data was not touched
    assert [(t.token, t.payload, t.screen) for t in tokens] == [
        (f"k-5-{i}", {"page": i}, 5) for i in range(3)
    ]


async def test_a_new_chats_state_is_inserted_by_the_flush_and_its_tokens_by_write_step(app: App) -> None:
    async with app.sessions() as session, session.begin():
        state = built(ConversationState, channel="test", chat_id="n", data={}, updated_at=NOW)
        session.add(state)
        state.screen = 1
        await write_step(session, state, _tokens("n", 1, 2))
    async with app.sessions() as session:
        row = (await session.exec(select(ConversationState).where(ConversationState.chat_id == "n"))).one()
        tokens = (await session.exec(select(ButtonToken))).all()
    assert row.screen == 1 and len(tokens) == 2


async def test_a_group_state_read_by_the_orm_leaves_the_session(app: App) -> None:
    async with app.sessions() as session, session.begin():
        session.add(ConversationState(channel="test", chat_id="-100"))
    async with app.sessions() as session, session.begin():
        state = (await session.exec(select(ConversationState))).one()
        state.lang = "en"
        await write_step(session, state, [])
        assert state not in session  # the commit's flush will not write it again
    async with app.sessions() as session:
        assert (await session.exec(select(ConversationState.lang))).one() == "en"


async def test_on_postgresql_a_value_too_long_is_refused_not_cut(app: App) -> None:
    if is_sqlite(app.db):
        pytest.skip("SQLite does not check a VARCHAR's length")
    async with app.sessions() as session, session.begin():
        session.add(ConversationState(channel="test", chat_id="long"))
    tokens = _tokens("long", 1, 1)
    # The column is VARCHAR(64): the JSON rows take the table's own types, which refuse it.
    tokens[0]["action"] = "x" * 65
    with pytest.raises(DBAPIError, match="too long"):
        async with app.sessions() as session, session.begin():
            state, _ = await state_and_identity(session, "test", "long", lock=True)
            assert state is not None
            state.screen = 1
            await write_step(session, state, tokens)


@pytest.mark.parametrize("versioned", [False, True])
async def test_every_few_screens_the_stale_tokens_go_and_the_persistent_ones_stay(
    app: App, versioned: bool
) -> None:
    if versioned and is_sqlite(app.db):
        pytest.skip("the versioned write is PostgreSQL's (models/late_lock.py)")
    async with app.sessions() as session, session.begin():
        session.add(ConversationState(channel="test", chat_id="s"))
    for screen in range(1, STALE_TOKEN_SWEEP + 1):
        tokens = _tokens("s", screen, 2)
        tokens[0]["persistent"] = screen == 1  # e.g. a notice's button, kept for later
        async with app.sessions() as session, session.begin():
            connection = await session.connection()
            if versioned:
                async with outside(connection):
                    state, _, version = await state_identity_and_version(session, connection, "test", "s")
                    assert state is not None
                    state.screen = screen
                    assert await write_step(session, state, tokens, version=version, connection=connection)
            else:
                state, _ = await state_and_identity(session, "test", "s", lock=not is_sqlite(app.db))
                assert state is not None
                state.screen = screen
                await write_step(session, state, tokens)
    async with app.sessions() as session:
        left = sorted((t.screen, t.persistent) for t in (await session.exec(select(ButtonToken))).all())
    assert left == [(1, True), (STALE_TOKEN_SWEEP, False), (STALE_TOKEN_SWEEP, False)]
