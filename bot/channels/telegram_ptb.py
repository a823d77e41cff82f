"""Telegram through python-telegram-bot 22 (BOT_FRAMEWORK=ptb): the same translation as the aiogram
channel, for deployments that standardise on PTB."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import BadRequest, RetryAfter
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bot.channels.common import CHANNEL, download, split_text
from bot.dialogs.groups import GROUP_COMMAND_MENU
from bot.dialogs.menu import COMMAND_MENU
from bot.engine import Engine
from bot.replies import Event, IncomingFile, Reply

log = logging.getLogger(__name__)


def build_application(token: str, api_base: str) -> Application:
    return (
        Application.builder()
        .token(token)
        .base_url(f"{api_base}/bot")
        .base_file_url(f"{api_base}/file/bot")
        .build()
    )


def _keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in reply.buttons]
    )


def message_event(message: Message) -> Event:
    user = message.from_user
    base = {
        "channel": CHANNEL,
        "chat_id": str(message.chat_id),
        "user_id": str(user.id if user else message.chat_id),
        "language_code": user.language_code if user else None,
        "user_name": user.first_name if user else None,
        "chat_type": message.chat.type,
        "chat_title": message.chat.title,
    }
    if message.document is not None:
        doc = message.document

        async def fetch_document() -> bytes:
            return await download(lambda: _download(doc))

        return Event(**base, file=IncomingFile(doc.file_name, doc.mime_type, doc.file_size, fetch_document))
    if message.photo:
        photo = message.photo[-1]

        async def fetch_photo() -> bytes:
            return await download(lambda: _download(photo))

        return Event(**base, file=IncomingFile("photo.jpg", "image/jpeg", photo.file_size, fetch_photo))
    if message.text is not None:
        return Event(**base, text=message.text)
    return Event(**base, other="unsupported")


async def _download(attachment: Any) -> bytes:
    return bytes(await (await attachment.get_file()).download_as_bytearray())


class PtbChannel:
    def __init__(self, engine: Engine, application: Application) -> None:
        self.engine = engine
        self.app = application
        self.app.add_handler(CallbackQueryHandler(self.on_callback))
        # New messages only: an edited message or a channel post is not something the user asked now.
        self.app.add_handler(MessageHandler(filters.UpdateType.MESSAGE, self.on_message))

    async def on_message(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_message is None:
            return
        outcome = await self.engine.handle(message_event(update.effective_message))
        await self.send(update.effective_message.chat_id, outcome.replies)

    async def on_callback(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        chat_id = query.message.chat.id if query.message else query.from_user.id
        event = Event(
            channel=CHANNEL,
            chat_id=str(chat_id),
            user_id=str(query.from_user.id),
            callback=query.data or "",
            language_code=query.from_user.language_code,
            chat_type=query.message.chat.type if query.message else "private",
        )
        outcome = await self.engine.handle(event)
        await query.answer(outcome.callback_notice or None)
        await self.send(chat_id, outcome.replies, query.message.message_id if query.message else None)

    async def send(self, chat_id: int, replies: list[Reply], edit_message_id: int | None = None) -> None:
        bot = self.app.bot
        for reply in replies:
            parts = split_text(reply.text)
            markup = _keyboard(reply)
            if reply.edit and edit_message_id is not None and len(parts) == 1:
                try:
                    await bot.edit_message_text(
                        parts[0], chat_id=chat_id, message_id=edit_message_id, reply_markup=markup
                    )
                    continue
                except BadRequest as err:
                    if "not modified" in err.message:
                        continue
                    log.info("edit failed (%s); sending a new message", err.message)
            for i, part in enumerate(parts):
                m = markup if i == len(parts) - 1 else None
                try:
                    await bot.send_message(chat_id, part, reply_markup=m)
                except RetryAfter as err:  # flood control on a reply: wait as told, once
                    await asyncio.sleep(
                        float(
                            err.retry_after
                            if isinstance(err.retry_after, int | float)
                            else err.retry_after.total_seconds()
                        )
                    )
                    await bot.send_message(chat_id, part, reply_markup=m)
            if reply.document is not None:
                await bot.send_document(chat_id, reply.document.content, filename=reply.document.file_name)

    async def setup(self) -> None:
        await self.app.bot.delete_webhook()
        for lang, commands in COMMAND_MENU.items():
            await self.app.bot.set_my_commands(
                [BotCommand(c, d) for c, d in commands], language_code=None if lang == "zh" else lang
            )
        for lang, commands in GROUP_COMMAND_MENU.items():
            await self.app.bot.set_my_commands(
                [BotCommand(c, d) for c, d in commands],
                scope=BotCommandScopeAllGroupChats(),
                language_code=None if lang == "zh" else lang,
            )

    async def start(self) -> None:
        await self.app.initialize()
        await self.setup()
        await self.app.start()
        assert self.app.updater is not None
        await self.app.updater.start_polling(allowed_updates=["message", "callback_query"], poll_interval=0)

    async def stop(self) -> None:
        assert self.app.updater is not None
        await self.app.updater.stop()
        await self.app.stop()
        await self.app.shutdown()
