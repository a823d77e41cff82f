"""Issue #9 over real HTTP, with both Telegram libraries: a code sent in a group binds nothing (and still
works in a private chat), a group is told once, edited messages and channel posts are not new messages,
and a file Telegram will not serve gets a clear answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlmodel import select

from bot.app import App
from bot.channels.telegram import AiogramChannel, make_bot
from bot.channels.telegram_ptb import PtbChannel, build_application
from models import ChatBinding
from tests.support.botapi import FakeBotAPI

MEMBER = 700201
GROUP = -1_009_000_000_001
CHANNEL_CHAT = -1_009_000_000_002


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture(params=["aiogram", "ptb"])
async def running(
    request: pytest.FixtureRequest, demo: App, api: FakeBotAPI
) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """The bot polling the local server through one of the two libraries."""
    if request.param == "aiogram":
        bot = make_bot(api.token, api.base_url)
        channel = AiogramChannel(demo.engine, bot)
        task = asyncio.create_task(channel.run())
        yield api.wait_idle
        await channel.stop()
        await asyncio.wait_for(task, 10)
        await bot.session.close()
    else:
        ptb = PtbChannel(demo.engine, build_application(api.token, api.base_url))
        await ptb.start()
        yield api.wait_idle
        await ptb.stop()


async def _bindings_of(app: App, chat_id: int) -> list[ChatBinding]:
    async with app.sessions() as s:
        return list((await s.exec(select(ChatBinding).where(ChatBinding.chat_id == str(chat_id)))).all())


async def test_a_code_in_a_group_binds_nothing_and_works_in_private(
    demo: App, api: FakeBotAPI, running: Callable[[], Awaitable[None]]
) -> None:
    mark = api.mark()
    api.push_text(GROUP, "DRVA2468", user_id=MEMBER)
    warned = await api.wait_for(lambda s: s.chat_id == GROUP, since=mark)
    assert "只能在与机器人的私聊中使用" in warned.visible_text and "张伟" not in warned.visible_text
    assert await _bindings_of(demo, GROUP) == []

    mark = api.mark()
    api.push_text(GROUP, "大家好", user_id=MEMBER)
    told = await api.wait_for(lambda s: s.chat_id == GROUP, since=mark)
    assert "只在私聊中提供" in told.visible_text and not told.buttons
    mark = api.mark()
    api.push_text(GROUP, "收到", user_id=MEMBER + 1)
    await running()
    assert api.messages_to(GROUP)[-1].message_id == told.message_id  # said once: no answer now

    mark = api.mark()
    api.push_text(MEMBER, "DRVA2468")
    bound = await api.wait_for(lambda s: s.chat_id == MEMBER, since=mark)
    assert "绑定成功" in bound.visible_text and "张伟" in bound.visible_text


async def test_edited_messages_and_channel_posts_are_not_answered(
    demo: App, api: FakeBotAPI, running: Callable[[], Awaitable[None]]
) -> None:
    mark = api.mark()
    api.push_edited_text(MEMBER, "DRVA2468")
    api.push_channel_post(CHANNEL_CHAT, "/start")
    api.push_text(MEMBER, "/help")  # a real message after them: the bot is alive and answers it
    await api.wait_for(lambda s: s.chat_id == MEMBER and "帮助" in s.visible_text, since=mark)
    await running()
    assert [s.chat_id for s in api.sent[mark:]] == [MEMBER]
    assert await _bindings_of(demo, MEMBER) == []


async def test_a_file_telegram_cannot_serve_gets_a_clear_answer(
    demo: App, api: FakeBotAPI, running: Callable[[], Awaitable[None]]
) -> None:
    mark = api.mark()
    api.push_text(MEMBER, "ADMN2468")
    await api.wait_for(lambda s: s.chat_id == MEMBER and "绑定成功" in s.visible_text, since=mark)
    api.fail_next("getFile", 400, "Bad Request: file is too big")
    mark = api.mark()
    api.push_document(MEMBER, "处罚.csv", "行政相对人名称\n".encode(), "text/csv")
    answer = await api.wait_for(lambda s: s.chat_id == MEMBER, since=mark)
    assert "文件无法读取，请重新发送" in answer.visible_text
    mark = api.mark()
    api.push_text(MEMBER, "/menu")
    menu = await api.wait_for(lambda s: s.chat_id == MEMBER, since=mark)
    assert "待办" in str(menu.buttons)


async def test_a_binding_request_reveals_no_name_over_http(
    demo: App, api: FakeBotAPI, running: Callable[[], Awaitable[None]]
) -> None:
    stranger = MEMBER + 7
    mark = api.mark()
    api.push_text(stranger, "/start")
    menu = await api.wait_for(lambda s: s.chat_id == stranger and "还没有绑定" in s.visible_text, since=mark)
    mark = api.mark()
    api.push_callback(stranger, menu.message_id, menu.callback_data("📝 没有绑定码？申请绑定"))
    await api.wait_for(lambda s: s.chat_id == stranger and "统一社会信用代码" in s.visible_text, since=mark)
    api.push_text(stranger, "370403199002284525")  # 李娜's certificate number
    await api.wait_for(lambda s: s.chat_id == stranger and "姓名和身份" in s.visible_text, since=mark)
    api.push_text(stranger, "张三 驾驶员本人")
    await api.wait_for(lambda s: s.chat_id == stranger and "已提交" in s.visible_text, since=mark)
    seen = "\n".join(s.visible_text for s in api.messages_to(stranger))
    assert "李娜" not in seen
