"""A bare aiogram 3 echo bot: long polling, each text message answered with the same text. The yardstick of
bench/throughput.py: what aiogram and aiohttp alone cost per update, on the same Bot API server.

    .venv/bin/python -m bench.echo_bot TOKEN API_BASE
    TELEGRAM_BOT_TOKEN=... TELEGRAM_API_BASE=http://127.0.0.1:8081 .venv/bin/python -m bench.echo_bot

The client is built as the product's `bot/channels/telegram.py: make_bot` builds it, and polls with the
same arguments but one: the product also caps the updates it holds at once (tasks_concurrency_limit =
bot/channels/common.py UPDATES_IN_FLIGHT), which the issue's bare echo bot does not. No logging is
configured (a bare bot). Stop it with SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message


async def serve(token: str, api_base: str) -> None:
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_base)))
    router = Router()

    @router.message()
    async def echo(message: Message) -> None:
        await bot.send_message(message.chat.id, message.text or "?")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    try:
        await bot.delete_webhook(drop_pending_updates=False)
        await dispatcher.start_polling(
            bot, handle_signals=False, allowed_updates=["message", "callback_query"]
        )
    finally:
        await bot.session.close()


def main(argv: list[str]) -> int:
    token = argv[0] if argv else os.environ.get("TELEGRAM_BOT_TOKEN")
    api_base = argv[1] if len(argv) > 1 else os.environ.get("TELEGRAM_API_BASE", "https://api.telegram.org")
    if not token:
        print("usage: python -m bench.echo_bot TOKEN [API_BASE]  (or TELEGRAM_BOT_TOKEN)", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(token, api_base))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
