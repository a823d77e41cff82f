"""The outbox's Telegram Sender over aiogram 3: renders an OutgoingMessage as Telegram calls and turns
aiogram's errors into the delivery contract's RetryLater / TransientFailure / PermanentFailure (RecipientGone
when the chat itself is gone)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
)
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup

from bot.channels.common import CHANNEL, split_text
from notifications.budget import SendBudget
from notifications.delivery import (
    DeliveryError,
    OutgoingButton,
    OutgoingMessage,
    PermanentFailure,
    RecipientGone,
    RetryLater,
    TransientFailure,
)

# 400 answers that mean the chat itself is gone, not that this message was wrong (Bot API descriptions).
CHAT_GONE_PHRASES = ("chat not found", "user not found", "group chat was deactivated", "peer_id_invalid")


def _keyboard(rows: list[list[OutgoingButton]]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=b.label, callback_data=b.data) for b in row] for row in rows
        ]
    )


def _target(chat_id: str) -> int | str:
    """Numeric ids go as integers; "@channelname" stays a string."""
    return int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id


def delivery_error(err: Exception) -> DeliveryError | None:
    """The contract's error for an aiogram / aiohttp error, or None when it is not a delivery error."""
    if isinstance(err, TelegramRetryAfter):
        return RetryLater(err.retry_after)
    if isinstance(err, TelegramForbiddenError):  # 403: blocked by the user, kicked from the group
        return RecipientGone(f"blocked: {err.message}")
    if isinstance(err, TelegramMigrateToChat):  # the group became a supergroup with a new id
        return PermanentFailure(f"chat migrated to {err.migrate_to_chat_id}")
    if isinstance(err, TelegramBadRequest):  # 400: chat not found, message rejected
        if any(phrase in err.message.lower() for phrase in CHAT_GONE_PHRASES):
            return RecipientGone(err.message)
        return PermanentFailure(err.message)
    if isinstance(err, TelegramEntityTooLarge):  # 413 (a TelegramNetworkError subclass): never fits
        return PermanentFailure(f"too large: {err.message}")
    if isinstance(err, TelegramAPIError):
        # 5xx, network errors, and 401/404/409 (a bad token or API base): retrying after a fix delivers.
        return TransientFailure(f"{type(err).__name__}: {err.message}")
    if isinstance(err, ClientDecodeError | aiohttp.ClientError | asyncio.TimeoutError):
        return TransientFailure(f"{type(err).__name__}: {err}")
    return None


class AiogramSender:
    """One notice may take several requests (a long text in parts, a document). The dispatcher takes the
    budget slot of the first; this sender takes one for each further request, from the same budget."""

    channel = CHANNEL

    def __init__(
        self,
        bot: Bot,
        *,
        budget: SendBudget | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.bot = bot
        self.budget = budget
        self._sleep = sleep

    async def send(self, chat_id: str, message: OutgoingMessage) -> None:
        target = _target(chat_id)
        calls: list[Callable[[], Awaitable[Any]]] = []
        parts = split_text(message.text) if message.text else []
        markup = _keyboard(message.buttons)
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            calls.append(
                lambda p=part, m=(markup if last else None): self.bot.send_message(target, p, reply_markup=m)
            )
        if message.document is not None:
            file = BufferedInputFile(message.document, message.document_name or "document")
            calls.append(lambda: self.bot.send_document(target, file))
        for i, call in enumerate(calls):
            try:
                if i == 0:
                    await call()
                else:
                    await self._further(chat_id, call)
            except Exception as err:
                translated = delivery_error(err)
                if translated is None:
                    raise
                raise translated from err

    async def _further(self, chat_id: str, call: Callable[[], Awaitable[Any]]) -> None:
        """A later part: earlier parts are delivered already, so a 429 is waited out here (retrying the
        whole message would repeat them)."""
        while True:
            slot = await self.budget.acquire(chat_id) if self.budget is not None else None
            try:
                await call()
                return
            except TelegramRetryAfter as err:
                if self.budget is not None:
                    await self.budget.pause(err.retry_after)
                else:
                    await self._sleep(err.retry_after)
            finally:
                if slot is not None and self.budget is not None:
                    self.budget.done(slot)
