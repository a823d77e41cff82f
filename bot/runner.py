"""`credit-bot run` (long polling, or `--webhook`), `scheduler` and `deliver`: the Telegram channel (aiogram
or PTB), the outbox dispatcher and the scheduler, stopped together.

Everything one process sends with the bot token takes its slot from one send budget (SEND_BUDGET:
in process, or shared through Redis by every process of the deployment), replies before notices.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from bot import health
from bot.app import App, build_app
from bot.channels.common import Webhook
from bot.channels.telegram import AiogramChannel, make_bot
from bot.channels.telegram_sender import AiogramSender
from models.locks import AlreadyPolling, poller_lock
from notifications.budget import SendBudget, make_budget
from notifications.robots import RobotSender
from notifications.scheduler import CreditScheduler
from workflows.robots import ROBOT_CHANNEL
from workflows.settings import Settings

log = logging.getLogger(__name__)


class StartRefused(RuntimeError):
    """The process must not start; the message says why and what to do, in both languages."""


def budget_for(settings: Settings) -> SendBudget:
    assert settings.telegram_bot_token
    return make_budget(
        settings.send_budget,
        settings.telegram_bot_token,
        global_per_second=settings.telegram_per_second,
        per_chat_per_second=settings.telegram_per_chat_per_second,
        per_group_per_minute=settings.telegram_per_group_per_minute,
    )


def robot_sender(built: App) -> RobotSender:
    """Group robots link to the assistant where a Telegram notice has buttons."""
    return RobotSender(built.sessions, action_link=f"https://t.me/{built.settings.bot_username}")


def webhook_of(settings: Settings) -> Webhook:
    if not settings.webhook_url:
        raise StartRefused(
            "webhook 模式需要 WEBHOOK_URL（Telegram 访问本服务的 https 地址）。\n"
            "Webhook mode needs WEBHOOK_URL (the https address Telegram posts updates to)."
        )
    if not settings.webhook_secret:
        raise StartRefused(
            "webhook 模式需要 WEBHOOK_SECRET（1-256 个字母、数字、_ 或 -），用来拒绝冒充 Telegram 的请求；"
            "每个实例须相同。\nWebhook mode needs WEBHOOK_SECRET (the same on every instance) so that "
            "requests that do not come from Telegram are refused."
        )
    return Webhook(settings.webhook_url, settings.webhook_secret)


def _host_port(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host or "127.0.0.1", int(port)


@contextlib.asynccontextmanager
async def _http(app: web.Application, listen: str) -> AsyncIterator[None]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    host, port = _host_port(listen)
    await web.TCPSite(runner, host, port).start()
    log.info("listening on %s:%s", host, port)
    try:
        yield
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def _background(built: App, budget: SendBudget, settings: Settings) -> AsyncIterator[None]:
    """The scheduler and the outbox dispatcher of this process, for as long as the channel runs."""
    assert settings.telegram_bot_token
    bot = make_bot(settings.telegram_bot_token, settings.telegram_api_base)
    # Notices always go out through aiogram's client (also under BOT_FRAMEWORK=ptb), under the budget
    # the replies use; group robots (issue #11) each under their platform's own limits.
    robots = robot_sender(built)
    dispatcher = built.dispatcher(
        {"telegram": AiogramSender(bot, budget=budget), ROBOT_CHANNEL: robots}, limiter=budget
    )
    scheduler = CreditScheduler(
        built.sessions, clock=built.engine.services.clock, calendar=built.engine.services.calendar
    )
    scheduler.start()
    stop = asyncio.Event()
    outbox = asyncio.create_task(dispatcher.run_forever(stop), name="outbox")
    try:
        yield
    finally:
        scheduler.shutdown()
        stop.set()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(outbox, 35)
        await bot.session.close()
        await robots.close()


async def run_telegram(settings: Settings, *, webhook: bool = False) -> None:
    """Serve Telegram until cancelled (Ctrl-C, SIGTERM)."""
    assert settings.telegram_bot_token
    hook = webhook_of(settings) if webhook else None
    built = await build_app(settings)
    # What start-up built (modules, tables, templates: ~150,000 objects) lives as long as the process. Kept
    # out of the collector's scans, the collections a results day triggers look only at live updates' objects
    # (GC time per /menu step 0.058 -> 0.019 ms, measured in process).
    gc.freeze()
    budget = budget_for(settings)
    try:
        async with contextlib.AsyncExitStack() as stack:
            if hook is None:
                try:
                    await stack.enter_async_context(poller_lock(built.db))
                except AlreadyPolling as err:
                    raise StartRefused(
                        "已有另一个 credit-bot run 进程在用这个数据库轮询 Telegram，本进程不启动"
                        "（两个进程会重复处理同一批消息）。要多实例运行，请用 --webhook。\n"
                        "Another `credit-bot run` is already polling Telegram for this database; not "
                        f"starting a second one. Run several instances with --webhook. ({err})"
                    ) from err
            await stack.enter_async_context(_background(built, budget, settings))
            await _serve(built, budget, settings, hook, stack)
    finally:
        await budget.close()
        await built.close()


async def _serve(
    built: App, budget: SendBudget, settings: Settings, hook: Webhook | None, stack: contextlib.AsyncExitStack
) -> None:
    assert settings.telegram_bot_token
    clock = built.engine.services.clock
    http = web.Application()
    health.add_routes(http, built.sessions, clock)
    if settings.bot_framework == "ptb":
        from bot.channels.telegram_ptb import PtbChannel, build_application

        ptb = PtbChannel(
            built.engine, build_application(settings.telegram_bot_token, settings.telegram_api_base), budget
        )
        if hook is not None:
            ptb.add_webhook_route(http, hook)
        await ptb.start(hook)
        stack.push_async_callback(ptb.stop)
        await _serve_http(http, settings, hook, stack)
        await asyncio.Event().wait()  # until cancelled
        return
    bot = make_bot(settings.telegram_bot_token, settings.telegram_api_base)
    stack.push_async_callback(bot.session.close)
    channel = AiogramChannel(built.engine, bot, budget)
    if hook is None:
        await _serve_http(http, settings, hook, stack)
        await channel.run()
        return
    channel.add_webhook_route(http, hook)
    await _serve_http(http, settings, hook, stack)
    await channel.setup(hook)
    await asyncio.Event().wait()


async def _serve_http(
    http: web.Application, settings: Settings, hook: Webhook | None, stack: contextlib.AsyncExitStack
) -> None:
    """Webhook mode answers Telegram, /healthz and /metrics on WEBHOOK_LISTEN; polling mode serves the
    last two on METRICS_LISTEN when it is set."""
    listen = settings.webhook_listen if hook is not None else settings.metrics_listen
    if listen:
        await stack.enter_async_context(_http(http, listen))


async def run_scheduler(settings: Settings) -> None:
    """`credit-bot scheduler`: the sweeps alone (and delivery, when a token is set), for a deployment
    that runs the chat front end elsewhere."""
    built = await build_app(settings)
    try:
        if settings.telegram_bot_token:
            budget = budget_for(settings)
            try:
                async with _background(built, budget, settings):
                    await asyncio.Event().wait()
            finally:
                await budget.close()
            return
        scheduler = CreditScheduler(
            built.sessions, clock=built.engine.services.clock, calendar=built.engine.services.calendar
        )
        scheduler.start()
        log.warning(
            "no TELEGRAM_BOT_TOKEN: sweeps write notices; group robots get theirs from here, Telegram chats "
            "theirs from a `credit-bot run` process"
        )
        robots = robot_sender(built)
        stop = asyncio.Event()
        try:
            await built.dispatcher({ROBOT_CHANNEL: robots}).run_forever(stop)
        finally:
            scheduler.shutdown()
            await robots.close()
    finally:
        await built.close()


async def run_delivery(settings: Settings) -> None:
    """`credit-bot deliver`: only the outbox dispatcher. More delivery processes may run side by side; with
    SEND_BUDGET=redis://… they share Telegram's limits with each other and with the chat."""
    assert settings.telegram_bot_token
    built = await build_app(settings)
    budget = budget_for(settings)
    bot = make_bot(settings.telegram_bot_token, settings.telegram_api_base)
    robots = robot_sender(built)
    senders = {"telegram": AiogramSender(bot, budget=budget), ROBOT_CHANNEL: robots}
    try:
        await built.dispatcher(senders, limiter=budget).run_forever(asyncio.Event(), idle_seconds=0.2)
    finally:
        await bot.session.close()
        await robots.close()
        await budget.close()
        await built.close()
