"""Telegram through aiogram 3: long polling, inline keyboards, the command menu. Only translates between
Telegram objects and the engine's Event / Reply values."""

from __future__ import annotations

import logging

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods.base import Response
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import ClientSession, TraceConfig, TraceRequestChunkSentParams, web

from bot.channels.common import ALLOWED_UPDATES, CHANNEL, UPDATES_IN_FLIGHT, Webhook, download, split_text
from bot.channels.outbound import ChatOrder, Handling, ReplySender
from bot.channels.telegram_sender import delivery_error
from bot.dialogs.groups import GROUP_COMMAND_MENU
from bot.dialogs.menu import COMMAND_MENU
from bot.engine import Engine
from bot.replies import Event, IncomingFile, Reply
from notifications.budget import SendBudget
from notifications.limits import RateLimiter, request_written

log = logging.getLogger(__name__)

# aiogram parses every answer as Response[<the method's result type>]; pydantic caches such generic
# classes only weakly, so they were collected and rebuilt again and again (4.5 % of the bot's CPU in a
# profile of bench/throughput.py). Holding the ones every update needs keeps them built.
_RESPONSE_TYPES = (Response[Message], Response[bool], Response[list[Update]])


async def _body_written(session: ClientSession, context: object, params: TraceRequestChunkSentParams) -> None:
    request_written()  # aiohttp calls this just before it hands the chunk to the socket


def _write_trace() -> TraceConfig:
    trace = TraceConfig()
    trace.on_request_chunk_sent.append(_body_written)
    trace.freeze()
    return trace


_WRITE_TRACE = _write_trace()


class BudgetedSession(AiohttpSession):
    """aiogram's HTTP session, telling the send budget when each request's body is written: Telegram counts
    a send when it arrives, and the write is the closest this process sees to that (notifications/limits)."""

    async def create_session(self) -> ClientSession:
        session = await super().create_session()
        if _WRITE_TRACE not in session.trace_configs:
            # The session's own list: aiogram builds the ClientSession and takes no trace_configs.
            session.trace_configs.append(_WRITE_TRACE)
        return session


def make_bot(token: str, api_base: str) -> Bot:
    return Bot(token, session=BudgetedSession(api=TelegramAPIServer.from_base(api_base)))


def _keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=b.label, callback_data=b.data) for b in row] for row in reply.buttons
        ]
    )


def message_event(bot: Bot, message: Message) -> Event:
    user = message.from_user
    base = {
        "channel": CHANNEL,
        "chat_id": str(message.chat.id),
        "user_id": str(user.id if user else message.chat.id),
        "language_code": user.language_code if user else None,
        "user_name": user.first_name if user else None,
        "chat_type": message.chat.type,
        "chat_title": message.chat.title,
    }
    if message.document is not None:
        doc = message.document

        async def fetch_document() -> bytes:
            return await download(lambda: _download(bot, doc.file_id))

        return Event(**base, file=IncomingFile(doc.file_name, doc.mime_type, doc.file_size, fetch_document))
    if message.photo:
        photo = message.photo[-1]  # the largest size

        async def fetch_photo() -> bytes:
            return await download(lambda: _download(bot, photo.file_id))

        return Event(**base, file=IncomingFile("photo.jpg", "image/jpeg", photo.file_size, fetch_photo))
    if message.text is not None:
        return Event(**base, text=message.text)
    return Event(**base, other=message.content_type)


async def _download(bot: Bot, file_id: str) -> bytes:
    data = await bot.download(file_id)
    if data is None:
        raise FileNotFoundError(file_id)
    return data.read()


class AiogramChannel:
    """Updates are handled concurrently (aiogram runs each as a task); one chat's in arrival order."""

    def __init__(self, engine: Engine, bot: Bot, budget: SendBudget | None = None) -> None:
        self.engine = engine
        self.bot = bot
        self.replies = ReplySender(budget or RateLimiter(), delivery_error, engine.sessions)
        self.order = ChatOrder()
        self.handle = Handling(engine)
        self.dp = Dispatcher()
        router = Router()
        router.message()(self.on_message)
        router.callback_query()(self.on_callback)
        self.dp.include_router(router)

    async def on_message(self, message: Message) -> None:
        async with self.order.turn(str(message.chat.id)):
            outcome = await self.handle(message_event(self.bot, message))
            await self.send(message.chat.id, outcome.replies)

    async def on_callback(self, query: CallbackQuery) -> None:
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
            # Every callback is answered, or the user's button keeps spinning. Answering a callback
            # sends no message, so it takes no slot of the budget.
            try:
                await query.answer(outcome.callback_notice or "")
            except TelegramBadRequest as err:  # "query is too old": the button still did its work
                log.info("callback answer refused: %s", err.message)
            message_id = query.message.message_id if query.message else None
            await self.send(chat_id, outcome.replies, edit_message_id=message_id)

    async def send(self, chat_id: int, replies: list[Reply], edit_message_id: int | None = None) -> None:
        await self.replies.send_all(
            chat_id,
            replies,
            lambda reply: self._send_one(chat_id, reply, edit_message_id if reply.edit else None),
        )

    async def _send_one(self, chat_id: int, reply: Reply, edit_message_id: int | None) -> None:
        parts = split_text(reply.text)
        markup = _keyboard(reply)
        call = self.replies.call
        target = str(chat_id)
        if edit_message_id is not None and len(parts) == 1:
            try:
                await call(
                    target,
                    lambda: self.bot.edit_message_text(
                        text=parts[0], chat_id=chat_id, message_id=edit_message_id, reply_markup=markup
                    ),
                )
                return
            except TelegramBadRequest as err:
                if "not modified" in err.message:
                    return
                log.info("edit failed (%s); sending a new message", err.message)
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            await call(
                target,
                lambda p=part, m=(markup if last else None): self.bot.send_message(
                    chat_id, p, reply_markup=m
                ),
            )
        if reply.document is not None:
            doc = reply.document
            await call(
                target, lambda: self.bot.send_document(chat_id, BufferedInputFile(doc.content, doc.file_name))
            )

    async def setup(self, webhook: Webhook | None = None) -> None:
        """Commands menu, and where updates come from: the webhook, or long polling (no webhook)."""
        if webhook is None:
            await self.bot.delete_webhook(drop_pending_updates=False)
        else:
            await self.bot.set_webhook(
                webhook.url, secret_token=webhook.secret, allowed_updates=ALLOWED_UPDATES
            )
        for lang, commands in COMMAND_MENU.items():
            await self.bot.set_my_commands(
                [BotCommand(command=c, description=d) for c, d in commands],
                language_code=None if lang == "zh" else lang,
            )
        for lang, commands in GROUP_COMMAND_MENU.items():
            await self.bot.set_my_commands(
                [BotCommand(command=c, description=d) for c, d in commands],
                scope=BotCommandScopeAllGroupChats(),
                language_code=None if lang == "zh" else lang,
            )

    async def run(self) -> None:
        await self.setup()
        await self.dp.start_polling(
            self.bot,
            handle_signals=False,
            allowed_updates=ALLOWED_UPDATES,
            tasks_concurrency_limit=UPDATES_IN_FLIGHT,
        )

    def add_webhook_route(self, app: web.Application, webhook: Webhook) -> None:
        """aiogram's own aiohttp handler: a request without the secret token is refused (401). An update is
        answered once it is handled (not at once, in the background): Telegram's connection limit then
        holds back a flood, and an instance that dies mid-step leaves the update to be sent again."""
        SimpleRequestHandler(
            dispatcher=self.dp, bot=self.bot, secret_token=webhook.secret, handle_in_background=False
        ).register(app, path=webhook.path)

    async def stop(self) -> None:
        await self.dp.stop_polling()
