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
from bot.step_writes import write_step
from models import ButtonToken, ConversationState
from models.base import built
from models.db import is_sqlite
from workflows.identity import state_and_identity

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


def _statements(app: App) -> list[str]:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split())[:40])

    event.listen(app.db.sync_engine, "before_cursor_execute", note)
    return seen


async def test_a_known_chats_state_and_tokens(app: App) -> None:
    async with app.sessions() as session, session.begin():
        session.add(ConversationState(channel="test", chat_id="k", data={"a": 1}))
    seen = _statements(app)
    async with app.sessions() as session, session.begin():
        state, _ = await state_and_identity(session, "test", "k", lock=False)
        assert state is not None
        state.screen, state.state = 5, "records.list"
        await write_step(session, state, _tokens("k", 5, 3))
    writes = [s for s in seen if not s.startswith(("WITH chat_state", "BEGIN", "SELECT"))]
    if is_sqlite(app.db):
        assert len(writes) == 2
        assert writes[0].startswith("INSERT INTO button_token") and writes[1].startswith(
            "UPDATE conversation_"
        )
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
    tokens[0]["action"] = (
        "x" * 65
    )  # the column is VARCHAR(64): the JSON rows take the table's types, which refuse it
    with pytest.raises(DBAPIError, match="too long"):
        async with app.sessions() as session, session.begin():
            state, _ = await state_and_identity(session, "test", "long", lock=True)
            assert state is not None
            state.screen = 1
            await write_step(session, state, tokens)
