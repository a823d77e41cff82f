"""models/base.py built: a row object made without the model's constructor is inserted, read and tracked as
one made with it (on both backends)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from bot.app import App
from models import ConversationState
from models.base import built

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


async def test_a_built_row_is_inserted_as_a_constructed_one(app: App) -> None:
    quick = built(ConversationState, channel="t", chat_id="1", data={}, updated_at=NOW)
    slow = ConversationState(channel="t", chat_id="2", data={}, updated_at=NOW)
    assert quick.model_dump(exclude={"chat_id"}) == slow.model_dump(exclude={"chat_id"})
    async with app.sessions() as session, session.begin():
        session.add_all([quick, slow])
    async with app.sessions() as session:
        rows = (await session.exec(select(ConversationState).order_by(ConversationState.chat_id))).all()
        assert [r.model_dump(exclude={"id", "chat_id"}) for r in rows] == [
            slow.model_dump(exclude={"id", "chat_id"})
        ] * 2
        assert rows[0].id is not None and rows[0].state == "menu" and rows[0].lang == "zh"


async def test_a_built_row_tracks_changes_made_before_and_after_its_insert(app: App) -> None:
    state = built(ConversationState, channel="t", chat_id="3", lang="en", data={}, updated_at=NOW)
    state.state = "bind.await_code"  # before the insert: a new chat's first step moves on
    async with app.sessions() as session, session.begin():
        session.add(state)
        await session.flush()
        state.screen = 4  # after it: an UPDATE at the commit
    async with app.sessions() as session:
        row = (await session.exec(select(ConversationState).where(ConversationState.chat_id == "3"))).one()
    assert (row.state, row.screen, row.lang) == ("bind.await_code", 4, "en")


def test_a_column_without_a_plain_default_must_be_given() -> None:
    with pytest.raises(TypeError, match="data"):
        built(ConversationState, channel="t", chat_id="4", updated_at=NOW)
