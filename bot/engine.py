"""The conversation engine: one event, one transaction.

Load the chat's state (row-locked on PostgreSQL), run the dialog step, write state and domain changes,
commit, then hand the replies to the channel. A user error rolls everything back and answers in Chinese;
a crash rolls back too, so the conversation resumes where it was.

On PostgreSQL a typed message takes the row lock late, at the step's first statement; a step that runs
none (most of a results day's) needs no transaction at all: its state is written in one statement that
checks nothing changed since the read (models/late_lock.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import weakref
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import dialogs
from bot.context import Ctx, Services
from bot.dialogs import registry
from bot.dialogs.groups import on_group_event
from bot.dialogs.menu import COMMANDS, run_command, unknown_text
from bot.i18n import N_, error_text
from bot.replies import Event, Outcome, Reply
from bot.step_writes import write_step
from models import ButtonToken, ConversationState, late_lock
from models.base import built
from models.db import is_sqlite
from models.late_lock import StateMoved, forget_lock, in_transaction, lock_before_first_statement, outside
from workflows import rules
from workflows.audit import log_change
from workflows.clock import utc_now
from workflows.errors import ForgedAttempt, UserError
from workflows.identity import NOBODY, Identity, state_and_identity, state_identity_and_version
from workflows.text import clean_optional

log = logging.getLogger(__name__)

# After a crash the chat's language is unknown: the crash text is in both at once.
CRASH_TEXT = (
    "抱歉，系统处理时出错了。您的对话和草稿都已保留，请稍后再试，或发送 /menu 返回主菜单。\n"  # both languages
    "Sorry, something went wrong. Nothing was lost; please try again or send /menu."  # both languages
)


class Engine:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], services: Services) -> None:
        dialogs.load()
        self.sessions = sessions
        self.services = services
        # One event at a time per chat in this process; other processes wait on the row lock, or find the
        # state moved on when they write it (models/late_lock.py).
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._row_lock = not is_sqlite(str(sessions.kw["bind"].url))
        self._late_locks = late_lock.supported(sessions.kw["bind"])
        # SQLite has one writer: events queue here in order instead of retrying its lock with sleeps
        # (bench/engine.py: p99 with 50 users at once fell several-fold). PostgreSQL runs them in parallel.
        self._writer = contextlib.nullcontext() if self._row_lock else asyncio.Lock()

    async def handle(self, event: Event) -> Outcome:
        event = _cleaned(event)
        key = (event.channel, event.chat_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock, self._writer:
            try:
                try:
                    return await self._handle(event, late_lock=self._late_lock(event))
                except StateMoved:
                    # Another process moved the chat on since it was read: again, locked from the start.
                    return await self._handle(event, late_lock=False)
                except IntegrityError as err:
                    if not _new_state_raced(err):
                        raise
                    # Another process created the chat's state first.
                    return await self._handle(event, late_lock=False)
            except Exception:
                log.exception("event failed for chat %s:%s", event.channel, event.chat_id)
                return Outcome([Reply(CRASH_TEXT)], "出错了 / Error")  # both languages: the crash toast

    def _late_lock(self, event: Event) -> bool:
        """PostgreSQL, a private chat's typed message: the state row is locked only if the step runs a
        statement (models/late_lock.py), which most typed messages do not (a /menu, a refused text). A
        button press always reads its token, so it locks from the start as before."""
        return self._late_locks and event.private and event.callback is None

    async def _handle(self, event: Event, *, late_lock: bool) -> Outcome:
        lang = "zh"
        waiting = "menu"  # the state before the event: still the state when it is refused
        async with self.sessions() as session:
            try:
                async with session.begin():
                    connection = await session.connection()
                    state, identity, version = await self._load(session, connection, event, late_lock)
                    lang, waiting = state.lang, state.state
                    if state.id is None:
                        # A new chat's row is inserted by the step's first query or the commit: an event
                        # refused at once (most first messages) writes nothing. Two processes creating
                        # it at once: the second insert waits on the unique key, fails, and is retried.
                        session.add(state)
                    ctx = Ctx(session, state, event, identity, self.services)
                    await self._dispatch(ctx)
                    tokens = ctx.finish()
                    state.updated_at = utc_now(self.services.clock)
                    ctx.outcome.expects_text = event.private and state.state in registry.texts
                    await self._write(session, connection, state, tokens, version)
                return ctx.outcome
            except UserError as err:
                # Rolled back: the conversation stays where it was and nothing is written...
                if isinstance(err, ForgedAttempt):  # ...except the trace of a forged attempt.
                    async with session.begin():
                        await log_change(
                            session,
                            actor=f"chat:{event.channel}:{event.chat_id}",
                            action=err.action,
                            entity=err.entity,
                            entity_id=err.entity_id,
                        )
                return Outcome(
                    [Reply(error_text(err, lang))],
                    error_text(err, lang)[:190] if event.callback else None,
                    expects_text=event.private and waiting in registry.texts,
                )

    async def _load(
        self, session: AsyncSession, connection: AsyncConnection, event: Event, late_lock: bool
    ) -> tuple[ConversationState, Identity, str | None]:
        """The chat's state, row-locked on PostgreSQL (a new chat's is transient: not yet in the session),
        and who is talking. A group is nobody, whatever was once bound to it: identity lives in private
        chats. With `late_lock`, the state is read outside any transaction, and its version comes back
        for the lock or the write that follows (models/late_lock.py)."""
        identity = NOBODY
        version = None
        if late_lock:
            state, identity, version = await state_identity_and_version(
                session, connection, event.channel, event.chat_id
            )
            if state is not None and version is not None:
                lock_before_first_statement(connection, state.id, version)  # type: ignore[arg-type]
        elif event.private:
            state, identity = await state_and_identity(
                session, event.channel, event.chat_id, lock=self._row_lock, connection=connection
            )
        else:
            stmt = _STATE_FOR_UPDATE if self._row_lock else _STATE
            params = {"channel": event.channel, "chat_id": event.chat_id}
            state = (await session.exec(stmt, params=params)).first()
        if state is None:
            lang = "en" if (event.language_code or "").startswith("en") else "zh"
            # Made as the loader makes rows (models/base.py built): on most events of a results day.
            state = built(
                ConversationState,
                channel=event.channel,
                chat_id=event.chat_id,
                lang=lang,
                data={},
                updated_at=utc_now(self.services.clock),
            )
        return state, identity, version

    async def _write(
        self,
        session: AsyncSession,
        connection: AsyncConnection,
        state: ConversationState,
        tokens: list[dict[str, Any]],
        version: str | None,
    ) -> None:
        """The step's state and buttons. A late-locked step that ran no statement and leaves nothing else to
        flush writes them in one statement of its own, if the state is still the version it read."""
        alone = version is not None and not in_transaction(connection)
        if alone and not (session.new or session.dirty or session.deleted):
            forget_lock(connection)
            async with outside(connection):
                if not await write_step(session, state, tokens, version=version, connection=connection):
                    raise StateMoved
            return
        await write_step(session, state, tokens, connection=connection)

    async def _dispatch(self, ctx: Ctx) -> None:
        event = ctx.event
        if not event.private:
            await on_group_event(ctx)
        elif event.callback is not None:
            await self._on_button(ctx, event.callback)
        elif event.text is not None:
            await self._on_text(ctx, event.text)
        elif event.file is not None:
            handler = registry.files.get(ctx.state.state)
            if handler is None:
                raise UserError(N_("这里不需要发送文件。请使用按钮，或输入 /menu 返回主菜单。"))
            await handler(ctx, event.file)
        else:
            raise UserError(N_("暂不支持这类消息（贴纸、语音、位置等）。请使用按钮或输入文字。"))

    async def _on_text(self, ctx: Ctx, text: str) -> None:
        if len(text) > rules.MAX_TEXT_LENGTH:
            raise UserError(
                ctx._("消息太长（{n} 字），请控制在 {most} 字以内。", n=len(text), most=rules.MAX_TEXT_LENGTH)
            )
        stripped = text.strip()
        if not stripped:
            raise UserError(N_("消息是空的，请输入内容或使用按钮。"))
        if stripped.startswith("/"):
            name, _, arg = stripped[1:].partition(" ")
            name = name.split("@", 1)[0].lower()  # "/start@bot_name" in groups
            if name in COMMANDS:
                await run_command(ctx, name, arg.strip())
                return
            raise UserError(
                ctx._("未知命令 /{name}。可用命令：/start /menu /help /cancel /lang", name=name[:32])
            )
        handler = registry.texts.get(ctx.state.state)
        if handler is None:
            await unknown_text(ctx, stripped)
        else:
            await handler(ctx, stripped)

    async def _on_button(self, ctx: Ctx, data: str) -> None:
        token = await ctx.session.get(ButtonToken, data) if 0 < len(data) <= 16 else None
        if token is not None and (token.channel, token.chat_id) != (ctx.state.channel, ctx.state.chat_id):
            # Someone replayed another chat's button: refuse and keep a trace.
            await log_change(
                ctx.session,
                actor=ctx.actor,
                action="button.forged",
                entity="button_token",
                entity_id=data,
                after={"owner_chat": f"{token.channel}:{token.chat_id}"},
            )
            ctx.notice(ctx._("按钮无效"))
            ctx.say(ctx._("这个按钮不属于当前对话，已拒绝。请发送 /menu 查看您的菜单。"))
            return
        if token is None or (token.screen != ctx.state.screen and not token.persistent):
            ctx.notice(ctx._("按钮已过期"))
            ctx.say(ctx._("这个按钮已过期（来自较早的消息）。请使用最新消息中的按钮，或发送 /menu。"))
            return
        handler = registry.actions[token.action]
        await handler(ctx, dict(token.payload))


# Built once: the state is read on every event (SQLAlchemy still caches the compiled form per dialect).
_STATE = select(ConversationState).where(
    col(ConversationState.channel) == bindparam("channel"),
    col(ConversationState.chat_id) == bindparam("chat_id"),
)
_STATE_FOR_UPDATE = _STATE.with_for_update()


def _new_state_raced(err: IntegrityError) -> bool:
    """The unique key of conversation_state refused a new chat's row: another process inserted it first."""
    statement = err.statement or ""
    return statement.lstrip().upper().startswith("INSERT INTO CONVERSATION_STATE")


def _cleaned(event: Event) -> Event:
    """Control characters never reach a handler (PostgreSQL refuses U+0000; the rest corrupt exports)."""
    return dataclasses.replace(
        event,
        text=clean_optional(event.text),
        user_name=clean_optional(event.user_name),
        chat_title=clean_optional(event.chat_title),
        file=event.file and dataclasses.replace(event.file, file_name=clean_optional(event.file.file_name)),
    )
