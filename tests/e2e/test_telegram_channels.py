"""End to end over real HTTP: the real aiogram and python-telegram-bot clients against the local Bot API
server; a driver binds and reads the assessment as a Telegram user would see it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.app import App
from bot.channels.telegram import AiogramChannel, make_bot
from bot.channels.telegram_ptb import PtbChannel, build_application
from tests.support.botapi import FakeBotAPI

USER = 700001


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


async def _play_driver(api: FakeBotAPI) -> None:
    mark = api.mark()
    api.push_text(USER, "/start")
    welcome = await api.wait_for(lambda s: s.chat_id == USER and "还没有绑定" in s.visible_text, since=mark)
    assert "🔑 输入绑定码" in [b["text"] for b in welcome.buttons]

    mark = api.mark()
    api.push_sticker(USER)
    await api.wait_for(lambda s: "暂不支持这类消息" in s.visible_text, since=mark)

    mark = api.mark()
    api.push_text(USER, "DRVA2468")
    menu = await api.wait_for(lambda s: "绑定成功" in s.visible_text, since=mark)
    assert "370402198506123417" not in menu.visible_text

    mark = api.mark()
    callback_id = api.push_callback(USER, menu.message_id, menu.callback_data("🚗 我的诚信考核"))
    report = await api.wait_for(lambda s: "已扣分" in s.visible_text, since=mark)
    assert report.method == "editMessageText" and report.message_id == menu.message_id
    assert "已扣分：8 / 20（剩余 12 分）" in report.visible_text and "AA（合格）" in report.visible_text
    await api.wait_for_call("answerCallbackQuery")
    assert callback_id in api.answered_callbacks

    # The menu message was replaced: its old button is stale now, and the user is told so.
    mark = api.mark()
    stale_id = api.push_callback(USER, menu.message_id, menu.callback_data("❓ 帮助"))
    await api.wait_for(lambda s: "按钮已过期" in s.visible_text or "较早的消息" in s.visible_text, since=mark)
    # Channels answer the callback before they send the reply, so the answer is in by now.
    assert "过期" in api.answered_callbacks[stale_id].get("text", "")


async def test_aiogram_channel_binds_a_driver_and_shows_the_assessment(demo: App, api: FakeBotAPI) -> None:
    bot = make_bot(api.token, api.base_url)
    channel = AiogramChannel(demo.engine, bot)
    task = asyncio.create_task(channel.run())
    try:
        await _play_driver(api)
        assert [c["command"] for c in api.commands[""]] == [
            "start",
            "menu",
            "help",
            "cancel",
            "lang",
            "notices",
        ]
        assert "en" in api.commands
        assert any(method == "deleteWebhook" for method, _ in api.calls)
    finally:
        await channel.stop()
        await asyncio.wait_for(task, 10)
        await bot.session.close()


async def test_ptb_channel_binds_a_driver_and_shows_the_assessment(demo: App, api: FakeBotAPI) -> None:
    channel = PtbChannel(demo.engine, build_application(api.token, api.base_url))
    await channel.start()
    try:
        await _play_driver(api)
        assert [c["command"] for c in api.commands[""]][0] == "start"
    finally:
        await channel.stop()
