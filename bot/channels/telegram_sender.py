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
    channel = CHANNEL

    def __init__(self, bot: Bot, *, sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self.bot = bot
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
                await self._call(call, first=i == 0)
            except Exception as err:
                translated = delivery_error(err)
                if translated is None:
                    raise
                raise translated from err

    async def _call(self, call: Callable[[], Awaitable[Any]], *, first: bool) -> None:
        try:
            await call()
        except TelegramRetryAfter as err:
            if first:
                raise
            # Earlier parts are delivered already: retrying the whole message would repeat them.
            await self._sleep(err.retry_after)
            await call()
