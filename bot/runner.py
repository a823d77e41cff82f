"""`credit-bot run`: the Telegram channel (aiogram or PTB), the outbox dispatcher and the scheduler,
in one process, stopped together."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.app import build_app
from bot.channels.telegram import AiogramChannel, make_bot
from bot.channels.telegram_sender import AiogramSender
from notifications.limits import RateLimiter
from notifications.scheduler import CreditScheduler
from workflows.settings import Settings

log = logging.getLogger(__name__)


async def run_telegram(settings: Settings) -> None:
    assert settings.telegram_bot_token
    built = await build_app(settings)
    # Notices always go out through aiogram's client (also under BOT_FRAMEWORK=ptb): one sender to
    # keep right under Telegram's limits.
    bot = make_bot(settings.telegram_bot_token, settings.telegram_api_base)
    dispatcher = built.dispatcher({"telegram": AiogramSender(bot)}, limiter=RateLimiter())
    scheduler = CreditScheduler(
        built.sessions, clock=built.engine.services.clock, calendar=built.engine.services.calendar
    )
    scheduler.start()
    stop = asyncio.Event()
    background = [asyncio.create_task(dispatcher.run_forever(stop), name="outbox")]
    try:
        if settings.bot_framework == "ptb":
            from bot.channels.telegram_ptb import PtbChannel, build_application

            ptb = PtbChannel(
                built.engine, build_application(settings.telegram_bot_token, settings.telegram_api_base)
            )
            await ptb.start()
            try:
                await asyncio.Event().wait()  # until cancelled (Ctrl-C)
            finally:
                await ptb.stop()
        else:
            await AiogramChannel(built.engine, bot).run()
    finally:
        scheduler.shutdown()
        stop.set()
        for task in background:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 10)
        await bot.session.close()
        await built.close()


async def run_scheduler(settings: Settings) -> None:
    """`credit-bot scheduler`: the sweeps alone (and delivery, when a token is set), for a deployment
    that runs the chat front end elsewhere."""
    built = await build_app(settings)
    scheduler = CreditScheduler(
        built.sessions, clock=built.engine.services.clock, calendar=built.engine.services.calendar
    )
    scheduler.start()
    stop = asyncio.Event()
    bot = (
        make_bot(settings.telegram_bot_token, settings.telegram_api_base)
        if settings.telegram_bot_token
        else None
    )
    try:
        if bot is not None:
            await built.dispatcher({"telegram": AiogramSender(bot)}, limiter=RateLimiter()).run_forever(stop)
        else:
            log.warning(
                "no TELEGRAM_BOT_TOKEN: sweeps write notices; a `credit-bot run` process delivers them"
            )
            await asyncio.Event().wait()
    finally:
        scheduler.shutdown()
        if bot is not None:
            await bot.session.close()
        await built.close()


async def run_delivery(settings: Settings) -> None:
    """`credit-bot deliver`: only the outbox dispatcher (more delivery processes may run side by side)."""
    assert settings.telegram_bot_token
    built = await build_app(settings)
    bot = make_bot(settings.telegram_bot_token, settings.telegram_api_base)
    try:
        await built.dispatcher({"telegram": AiogramSender(bot)}, limiter=RateLimiter()).run_forever(
            asyncio.Event(), idle_seconds=0.2
        )
    finally:
        await bot.session.close()
        await built.close()
