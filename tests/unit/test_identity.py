"""Who is talking: the chat's state and its bindings come back from one query, with or without a state row."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import App
from bot.step_writes import write_step
from models import ChatBinding, ConversationState, Staff, StaffRole, Subject, SubjectKind
from models.db import is_sqlite
from workflows.identity import NOBODY, state_and_identity


async def _world(session: AsyncSession) -> tuple[Subject, Staff]:
    subject = Subject(
        kind=SubjectKind.ENTERPRISE, name="枣庄市安达货物运输有限公司", uscc="91370402MA3C4K7D2E"
    )
    staff = Staff(name="王芳", department="信用科", role=StaffRole.REVIEWER)
    session.add_all([subject, staff])
    await session.flush()
    return subject, staff


async def test_a_new_chat_is_nobody_and_has_no_state(app: App) -> None:
    async with app.sessions() as session, session.begin():
        assert await state_and_identity(session, "test", "new", lock=False) == (None, NOBODY)


async def test_a_chat_bound_before_it_ever_wrote_is_known_at_its_first_message(app: App) -> None:
    async with app.sessions() as session, session.begin():
        subject, _ = await _world(session)
        session.add(ChatBinding(channel="test", chat_id="ent", user_id="ent", subject_id=subject.id))
    async with app.sessions() as session, session.begin():
        # Locked as the engine locks it on PostgreSQL: the state row is read in a CTE (no outer-join lock).
        state, identity = await state_and_identity(session, "test", "ent", lock=not is_sqlite(app.db))
    assert state is None
    assert identity.role == "enterprise" and identity.subject is not None
    assert identity.subject.name == "枣庄市安达货物运输有限公司"


async def test_the_active_binding_of_several_is_the_one_the_state_names(app: App) -> None:
    async with app.sessions() as session, session.begin():
        subject, staff = await _world(session)
        first = ChatBinding(channel="test", chat_id="two", user_id="two", subject_id=subject.id)
        second = ChatBinding(channel="test", chat_id="two", user_id="two", staff_id=staff.id)
        gone = ChatBinding(channel="test", chat_id="two", user_id="two", subject_id=subject.id, active=False)
        session.add_all([first, second, gone])
        await session.flush()
        session.add(ConversationState(channel="test", chat_id="two", active_binding_id=first.id))
    async with app.sessions() as session, session.begin():
        state, identity = await state_and_identity(session, "test", "two", lock=False)
    assert state is not None and state.active_binding_id == identity.binding.id  # type: ignore[union-attr]
    assert identity.role == "enterprise" and identity.binding_count == 2
    async with app.sessions() as session, session.begin():
        state, _ = await state_and_identity(session, "test", "two", lock=False)
        assert state is not None
        state.active_binding_id = second.id
        await write_step(session, state, [])
    async with app.sessions() as session, session.begin():
        _, identity = await state_and_identity(session, "test", "two", lock=False)
    assert identity.role == "staff" and identity.staff is not None and identity.staff.name == "王芳"


async def test_on_postgresql_a_second_step_of_the_chat_waits_for_the_first(app: App) -> None:
    if is_sqlite(app.db):
        pytest.skip("SQLite runs one writer at a time: the engine queues steps itself")
    async with app.sessions() as session, session.begin():
        session.add(ConversationState(channel="test", chat_id="busy"))
    async with app.sessions() as first, first.begin():
        state, _ = await state_and_identity(first, "test", "busy", lock=True)
        assert state is not None

        async def second_step() -> int:
            async with app.sessions() as second, second.begin():
                found, _ = await state_and_identity(second, "test", "busy", lock=True)
                assert found is not None
                return found.screen

        waiting = asyncio.create_task(second_step())
        async with app.sessions() as probe:
            for _ in range(500):  # until PostgreSQL shows the second step waiting on the row lock
                sql = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
                if (await probe.exec(text(sql))).scalar_one():  # type: ignore[call-overload]
                    break
                await asyncio.sleep(0.01)
            else:
                pytest.fail("the second step did not wait for the first one's row lock")
        assert not waiting.done()
        state.screen = 7
        await write_step(first, state, [])
    assert await waiting == 7  # it read the row as the first step left it


async def test_a_change_to_who_is_talking_is_flushed_and_the_state_is_written_by_write_step(app: App) -> None:
    # The rows come from a Core query: the bindings, subjects and staff join the session as if loaded (a
    # dialog's change to them is flushed at the commit); the state stays out, written by write_step.
    async with app.sessions() as session, session.begin():
        _, staff = await _world(session)
        session.add(ChatBinding(channel="test", chat_id="st", user_id="st", staff_id=staff.id))
        session.add(ConversationState(channel="test", chat_id="st", lang="en"))
    async with app.sessions() as session, session.begin():
        state, identity = await state_and_identity(session, "test", "st", lock=False)
        assert state is not None and state not in session
        assert identity.staff in session and identity.binding in session
        identity.staff.muted_kinds = ["digest"]  # type: ignore[union-attr]
        state.state = "queue.view"
        state.screen = 3
        await write_step(session, state, [])
    async with app.sessions() as session:
        again, identity = await state_and_identity(session, "test", "st", lock=False)
    assert identity.staff is not None and identity.staff.muted_kinds == ["digest"]
    assert again is not None and (again.state, again.screen, again.lang) == ("queue.view", 3, "en")


async def test_two_bindings_to_one_subject_share_its_object(app: App) -> None:
    async with app.sessions() as session, session.begin():
        subject, _ = await _world(session)
        for _ in range(2):  # e.g. bound twice, by two binding codes
            session.add(ChatBinding(channel="test", chat_id="twice", user_id="twice", subject_id=subject.id))
    async with app.sessions() as session, session.begin():
        _, identity = await state_and_identity(session, "test", "twice", lock=False)
        subjects = await _subjects_in(session)
    assert identity.binding_count == 2 and identity.subject is not None
    assert subjects == 1  # one Subject object in the session, as the ORM's loader would have it


async def _subjects_in(session: AsyncSession) -> int:
    return sum(isinstance(obj, Subject) for obj in session.sync_session.identity_map.values())
