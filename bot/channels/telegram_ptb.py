"""Telegram through python-telegram-bot 22 (BOT_FRAMEWORK=ptb): the same translation as the aiogram
channel, for deployments that standardise on PTB."""

from __future__ import annotations

import hmac
import logging
from typing import Any

import httpx
from aiohttp import web
from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters
from telegram.request import HTTPXRequest

from bot.channels.common import ALLOWED_UPDATES, CHANNEL, Webhook, download, split_text
from bot.channels.outbound import ChatOrder, Handling, ReplySender
from bot.channels.telegram_sender import CHAT_GONE_PHRASES
from bot.dialogs.groups import GROUP_COMMAND_MENU
from bot.dialogs.menu import COMMAND_MENU
from bot.engine import Engine
from bot.replies import Event, IncomingFile, Reply
from notifications.budget import SendBudget
from notifications.delivery import (
    DeliveryError,
    PermanentFailure,
    RecipientGone,
    RetryLater,
    TransientFailure,
)
from notifications.limits import RateLimiter, request_written

# Updates handled at once (PTB's default is one at a time: a burst from one chat held every other chat
# back). One chat's updates still run in order (ChatOrder).
CONCURRENT_UPDATES = 256

log = logging.getLogger(__name__)


CONNECTION_POOL_SIZE = 256  # PTB's own default for the bot's requests (ApplicationBuilder)


async def _body_written(event: str, info: dict[str, Any]) -> None:
    if event.endswith(".send_request_body.complete"):  # httpcore's trace: the request has been written
        request_written()


async def _trace_writes(request: httpx.Request) -> None:
    # The send budget counts a send from its write (notifications/limits), as aiogram's session reports it.
    request.extensions["trace"] = _body_written


def build_application(token: str, api_base: str) -> Application:
    return (
        Application.builder()
        .token(token)
        .base_url(f"{api_base}/bot")
        .base_file_url(f"{api_base}/file/bot")
        .request(
            HTTPXRequest(
                connection_pool_size=CONNECTION_POOL_SIZE,
                httpx_kwargs={"event_hooks": {"request": [_trace_writes]}},
            )
        )
        .concurrent_updates(CONCURRENT_UPDATES)
        .build()
    )


def delivery_error(err: Exception) -> DeliveryError | None:
    """The delivery contract's error for a python-telegram-bot error (as telegram_sender does for aiogram)."""
    if isinstance(err, RetryAfter):
        after = err.retry_after
        return RetryLater(float(after if isinstance(after, int | float) else after.total_seconds()))
    if isinstance(err, Forbidden):
        return RecipientGone(f"blocked: {err.message}")
    if isinstance(err, ChatMigrated):
        return PermanentFailure(f"chat migrated to {err.new_chat_id}")
    if isinstance(err, BadRequest):
        if any(phrase in err.message.lower() for phrase in CHAT_GONE_PHRASES):
            return RecipientGone(err.message)
        return PermanentFailure(err.message)
    if isinstance(err, NetworkError | TelegramError):  # TimedOut is a NetworkError
        return TransientFailure(f"{type(err).__name__}: {err.message}")
    return None


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
    def __init__(self, engine: Engine, application: Application, budget: SendBudget | None = None) -> None:
        self.engine = engine
        self.app = application
        self.replies = ReplySender(budget or RateLimiter(), delivery_error, engine.sessions)
        self.order = ChatOrder()
        self.handle = Handling(engine)
        self.app.add_handler(CallbackQueryHandler(self.on_callback))
        # New messages only: an edited message or a channel post is not something the user asked now.
        self.app.add_handler(MessageHandler(filters.UpdateType.MESSAGE, self.on_message))

    async def on_message(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None:
            return
        async with self.order.turn(str(message.chat_id)):
            outcome = await self.handle(message_event(message))
            await self.send(message.chat_id, outcome.replies)

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
        async with self.order.turn(str(chat_id)):
            outcome = await self.handle(event)
            try:  # answering a callback sends no message: no slot of the budget
                await query.answer(outcome.callback_notice or None)
            except BadRequest as err:  # "query is too old": the button still did its work
                log.info("callback answer refused: %s", err.message)
            await self.send(chat_id, outcome.replies, query.message.message_id if query.message else None)

    async def send(self, chat_id: int, replies: list[Reply], edit_message_id: int | None = None) -> None:
        await self.replies.send_all(
            chat_id,
            replies,
            lambda reply: self._send_one(chat_id, reply, edit_message_id if reply.edit else None),
        )

    async def _send_one(self, chat_id: int, reply: Reply, edit_message_id: int | None) -> None:
        bot = self.app.bot
        call = self.replies.call
        target = str(chat_id)
        parts = split_text(reply.text)
        markup = _keyboard(reply)
        if edit_message_id is not None and len(parts) == 1:
            try:
                await call(
                    target,
                    lambda: bot.edit_message_text(
                        parts[0], chat_id=chat_id, message_id=edit_message_id, reply_markup=markup
                    ),
                )
                return
            except BadRequest as err:
                if "not modified" in err.message:
                    return
                log.info("edit failed (%s); sending a new message", err.message)
        for i, part in enumerate(parts):
            m = markup if i == len(parts) - 1 else None
            await call(target, lambda p=part, m=m: bot.send_message(chat_id, p, reply_markup=m))
        if reply.document is not None:
            doc = reply.document
            await call(target, lambda: bot.send_document(chat_id, doc.content, filename=doc.file_name))

    async def setup(self, webhook: Webhook | None = None) -> None:
        if webhook is None:
            await self.app.bot.delete_webhook()
        else:
            await self.app.bot.set_webhook(
                webhook.url, secret_token=webhook.secret, allowed_updates=ALLOWED_UPDATES
            )
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

    async def start(self, webhook: Webhook | None = None) -> None:
        """Long polling, or (webhook) only the update queue that add_webhook_route feeds."""
        await self.app.initialize()
        await self.setup(webhook)
        await self.app.start()
        if webhook is None:
            assert self.app.updater is not None
            await self.app.updater.start_polling(allowed_updates=ALLOWED_UPDATES, poll_interval=0)

    def add_webhook_route(self, app: web.Application, webhook: Webhook) -> None:
        """PTB's custom-webhook pattern: our aiohttp server checks the secret and handles the update before
        answering (as the aiogram channel does: Telegram's connection limit is the backpressure)."""

        async def receive(request: web.Request) -> web.Response:
            given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
            if not hmac.compare_digest(given, webhook.secret):
                return web.Response(status=401, text="Unauthorized")
            try:
                update = Update.de_json(await request.json(), self.app.bot)
            except ValueError:
                return web.Response(status=400, text="Bad Request")
            await self.app.process_update(update)
            return web.Response()

        app.router.add_post(webhook.path, receive)

    async def stop(self) -> None:
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        await self.app.stop()
        await self.app.shutdown()
