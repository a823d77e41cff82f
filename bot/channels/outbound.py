"""Sending a chat's replies under the one send budget (issue #10), for both Telegram libraries.

A reply is never dropped for flood control: a 429 pauses the whole budget for `retry_after` and the
request is tried again, until it is sent or the chat is gone. Network trouble is retried a few times
with backoff. A chat that blocked the bot (or no longer exists) is not an error: its bindings end, in
one line of log, and the rest of its replies are not attempted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.channels.common import CHANNEL
from bot.engine import Engine
from bot.replies import Event, Outcome, Reply
from notifications import metrics
from notifications.budget import SendBudget
from notifications.delivery import DeliveryError, RecipientGone, RetryLater, TransientFailure
from workflows.notices import end_bindings_of_gone_chat

log = logging.getLogger(__name__)

T = TypeVar("T")

NETWORK_RETRIES = 4  # then the reply is given up, logged once (the user can send again)
NETWORK_BACKOFF_SECONDS = 0.5  # 0.5, 1, 2, 4 s


def update_kind(event: Event) -> str:
    if event.callback is not None:
        return "button"
    if event.file is not None:
        return "file"
    if event.text is not None:
        return "command" if event.text.lstrip().startswith("/") else "text"
    return "other"


# Dialog steps of one process running at once. Each holds a database connection for its transaction,
# and the pool has 5 + 10 (SQLAlchemy's defaults); the rest is left to the dispatcher, the sweeps and
# /healthz. Without this limit a results-day burst (or a webhook answering 200 before handling) started
# hundreds of steps that queued for a connection and failed after the pool's 30 s timeout
# (bench/scaleout.py: 354 of 3,000 updates). Updates waiting their chat's turn hold no slot.
HANDLERS_AT_ONCE = 10


class Handling:
    """The engine's step for one update, under the process's limit, counted and timed for /metrics."""

    def __init__(self, engine: Engine, at_once: int = HANDLERS_AT_ONCE) -> None:
        self.engine = engine
        self._slots = asyncio.Semaphore(at_once)

    async def __call__(self, event: Event) -> Outcome:
        metrics.count_update(update_kind(event))
        async with self._slots:
            started = time.perf_counter()
            try:
                return await self.engine.handle(event)
            finally:
                metrics.observe_handler(time.perf_counter() - started)


class ChatGone(Exception):
    """The chat blocked the bot or was deleted while we answered it."""


class ChatOrder:
    """One event at a time per chat, handled and answered in arrival order, while other chats run
    concurrently (a burst from one chat never delays another)."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @contextlib.asynccontextmanager
    async def turn(self, chat_id: str) -> AsyncIterator[None]:
        lock = self._locks.get(chat_id)
        if lock is None:
            lock = self._locks[chat_id] = asyncio.Lock()
        async with lock:  # asyncio.Lock wakes waiters first come, first served
            yield


class ReplySender:
    """Takes a budget slot (replies first) for every request to Telegram and obeys its answers."""

    def __init__(
        self,
        budget: SendBudget,
        translate: Callable[[Exception], DeliveryError | None],
        sessions: async_sessionmaker[AsyncSession],
        *,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.budget = budget
        self._translate = translate
        self._sessions = sessions
        self._sleep = sleep

    async def call(self, chat_id: str, request: Callable[[], Awaitable[T]]) -> T:
        """Run one Bot API request for chat_id; raises ChatGone, or the library's error when the request
        itself was refused (a 400 other than "chat not found")."""
        failures = 0
        while True:
            slot = await self.budget.acquire(chat_id, reply=True)
            try:
                answer = await request()
                metrics.count_send("reply", "sent")
                return answer
            except Exception as err:
                translated = self._translate(err)
                if isinstance(translated, RetryLater):
                    metrics.count_429("reply")
                    log.info(
                        "flood control on a reply to %s: waiting %.0f s", chat_id, translated.retry_after
                    )
                    await self.budget.pause(translated.retry_after)
                    continue
                if isinstance(translated, RecipientGone):
                    metrics.count_send("reply", "gone")
                    raise ChatGone(str(translated)) from err
                if isinstance(translated, TransientFailure) and failures < NETWORK_RETRIES:
                    metrics.count_send("reply", "retry")
                    await self._sleep(NETWORK_BACKOFF_SECONDS * 2**failures)
                    failures += 1
                    continue
                metrics.count_send("reply", "failed")
                raise
            finally:
                self.budget.done(slot)

    async def send_all(
        self, chat_id: int, replies: list[Reply], send_one: Callable[[Reply], Awaitable[None]]
    ) -> None:
        """A step's replies in order. A chat that is gone ends quietly; a reply Telegram refused, or the
        network giving out, is one line of log, not a traceback (the user can send again)."""
        try:
            for reply in replies:
                await send_one(reply)
        except ChatGone as gone:
            await self.chat_gone(str(chat_id), str(gone))
        except Exception as err:
            log.warning(
                "reply to %s not sent: %s: %s", chat_id, type(err).__name__, err, extra={"chat_id": chat_id}
            )

    async def chat_gone(self, chat_id: str, reason: str) -> None:
        """A reply found the chat gone: end its bindings (as a failed notice would), quietly."""
        log.info("chat %s is gone (%s); its bindings end", chat_id, reason, extra={"chat_id": chat_id})
        async with self._sessions() as session, session.begin():
            await end_bindings_of_gone_chat(session, CHANNEL, chat_id, reason=reason)
