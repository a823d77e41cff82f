"""PostgreSQL: a chat's state is locked late, before the step's first statement, or written in one statement
that checks the row is still the version read (models/late_lock.py)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bot.app import App, build_app
from bot.engine import CRASH_TEXT
from bot.step_writes import write_step
from models import ButtonToken, ConversationState
from models.db import is_sqlite
from models.late_lock import StateMoved, in_transaction, lock_before_first_statement, outside
from tests.support.chat import ChatUser
from workflows.identity import state_identity_and_version
from workflows.settings import Settings


@pytest.fixture
def pg(app: App) -> App:
    if is_sqlite(app.db):
        pytest.skip("SQLite takes its one write lock at BEGIN: nothing is locked late there")
    return app


class Queries:
    """Every query the driver sends (BEGIN and COMMIT too), from connections opened after this starts."""

    def __init__(self, app: App) -> None:
        self.seen: list[str] = []
        event.listen(app.db.sync_engine, "connect", self._connected)

    def _connected(self, dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.driver_connection.add_query_logger(lambda logged: self.seen.append(logged.query))


async def _screen(app: App, chat: str) -> int:
    async with app.sessions() as session:
        sql = text("SELECT screen FROM conversation_state WHERE chat_id = :chat")
        return int((await (await session.connection()).execute(sql, {"chat": chat})).scalar_one())


async def test_a_menu_is_two_statements_and_no_transaction(pg: App) -> None:
    user = ChatUser(pg.engine, "menu")
    await user.send("/menu")  # the chat's first event creates its state row
    await pg.db.dispose()  # new connections, whose queries are seen
    queries = Queries(pg)
    outcome = await user.send("/menu")
    assert outcome.replies and outcome.replies[0].text != CRASH_TEXT and user.buttons
    assert len(queries.seen) == 2, queries.seen  # no BEGIN, no COMMIT: the read, then the write
    assert (
        "state_version" in queries.seen[0] and "xmin" in queries.seen[1] and "button_token" in queries.seen[1]
    )


async def test_a_step_that_runs_a_statement_locks_the_state_row_before_it(pg: App) -> None:
    async with pg.sessions() as session, session.begin():
        session.add(ConversationState(channel="test", chat_id="busy"))
    async with pg.sessions() as session, session.begin():
        connection = await session.connection()
        async with outside(connection):
            state, _, version = await state_identity_and_version(session, connection, "test", "busy")
        assert state is not None and version is not None
        assert not in_transaction(connection)
        lock_before_first_statement(connection, state.id, version)  # type: ignore[arg-type]
        await (await session.connection()).execute(text("SELECT 1"))  # the step's first statement
        assert in_transaction(connection)
        async with pg.sessions() as other:
            with pytest.raises(DBAPIError, match="could not obtain lock"):
                sql = "SELECT id FROM conversation_state WHERE chat_id = 'busy' FOR UPDATE NOWAIT"
                await (await other.connection()).execute(text(sql))


async def test_a_state_moved_on_since_it_was_read_is_refused_at_the_lock_and_at_the_write(pg: App) -> None:
    async with pg.sessions() as session, session.begin():
        session.add(ConversationState(channel="test", chat_id="moved"))
    async with pg.sessions() as session:
        connection = await session.connection()
        async with outside(connection):
            state, _, version = await state_identity_and_version(session, connection, "test", "moved")
        assert state is not None and version is not None
        async with pg.sessions() as other, other.begin():  # another process moves the chat on
            await (await other.connection()).execute(
                text("UPDATE conversation_state SET screen = 9 WHERE chat_id = 'moved'")
            )
        lock_before_first_statement(connection, state.id, version)  # type: ignore[arg-type]
        with pytest.raises(StateMoved):
            await (await session.connection()).execute(text("SELECT 1"))
        await session.rollback()

        connection = await session.connection()
        state.screen = 1
        token = {
            "token": "t-moved",
            "channel": "test",
            "chat_id": "moved",
            "action": "menu",
            "payload": {},
            "screen": 1,
            "persistent": False,
            "created_at": state.updated_at,
        }
        async with outside(connection):
            assert not await write_step(session, state, [token], version=version)
            assert not await write_step(session, state, [], version=version)
        assert (
            await session.get(ButtonToken, "t-moved") is None
        )  # the buttons go with the state or not at all
    assert await _screen(pg, "moved") == 9


async def test_two_processes_on_one_chat_lose_no_step(pg: App) -> None:
    # Two engines on one database, as two webhook instances: every /menu moves the chat's screen on by
    # one, so any step lost to the other process's write would show in the count.
    other = await build_app(
        Settings(database_url=str(pg.settings.database_url), _env_file=None), migrate_db=False
    )  # type: ignore[call-arg]
    try:
        first, second = ChatUser(pg.engine, "both"), ChatUser(other.engine, "both")
        await first.send("/menu")
        before = await _screen(pg, "both")
        outcomes = await asyncio.gather(*(user.send("/menu") for _ in range(15) for user in (first, second)))
        assert all(o.replies and o.replies[0].text != CRASH_TEXT for o in outcomes)
        assert await _screen(pg, "both") == before + 30
    finally:
        await other.close()


async def test_a_chat_moved_on_between_read_and_write_is_run_again_locked(pg: App) -> None:
    user = ChatUser(pg.engine, "raced")
    await user.send("/menu")
    before = await _screen(pg, "raced")
    await pg.db.dispose()  # new connections, whose queries are seen
    moved: list[str] = []

    def after_read(logged: Any) -> None:
        # Right after the step's read, another process writes: on a thread with a connection of its own,
        # while this loop waits, so the write is in before the step goes on.
        if "state_version" in logged.query and not moved:
            moved.append(logged.query)
            other = threading.Thread(target=asyncio.run, args=(_elsewhere(pg, _MOVE_ON),))
            other.start()
            other.join()

    def connected(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.driver_connection.add_query_logger(after_read)

    event.listen(pg.db.sync_engine, "connect", connected)
    outcome = await user.send("/menu")
    assert outcome.replies and outcome.replies[0].text != CRASH_TEXT
    # The other write kept, and this step's on top of it: run again after its write was refused.
    assert moved and await _screen(pg, "raced") == before + 100 + 1
    async with pg.sessions() as session:
        sql = text("SELECT count(*) FROM button_token WHERE chat_id = 'raced' AND screen = :screen")
        refused = await (await session.connection()).execute(sql, {"screen": before + 1})
        assert refused.scalar_one() == 0  # the buttons of the refused write were not kept either
    pressed = await user.press(user.buttons[0].label)  # the keyboard shown is the one the state knows
    assert pressed.callback_notice not in ("按钮已过期", "按钮无效")


_MOVE_ON = "UPDATE conversation_state SET screen = screen + 100 WHERE chat_id = 'raced'"


async def _elsewhere(app: App, sql: str) -> None:
    url = make_url(str(app.settings.database_url)).set(drivername="postgresql").render_as_string(False)
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()
