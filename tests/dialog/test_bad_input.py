"""Bad input gets a clear Chinese answer, the conversation stays where it was, and nothing is written."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from bot.app import App
from bot.dialogs import registry
from bot.engine import CRASH_TEXT
from bot.replies import IncomingFile
from models import AuditEntry, ChatBinding, ConversationState
from tests.support.chat import ChatUser


async def _state(app: App, chat: str) -> ConversationState:
    async with app.sessions() as s:
        return (await s.exec(select(ConversationState).where(ConversationState.chat_id == chat))).one()


async def _count(app: App, model: type) -> int:
    async with app.sessions() as s:
        return int((await s.exec(select(func.count()).select_from(model))).one())


@pytest.fixture
async def waiting(demo: App) -> ChatUser:
    """A chat in the middle of binding: it waits for a code."""
    user = ChatUser(demo.engine, "w")
    await user.send("/start")
    await user.press("输入绑定码")
    return user


@pytest.mark.parametrize(
    ("send", "expected"),
    [
        ("x" * 10_000, "消息太长（10000 字）"),
        ("   ", "消息是空的"),
        ("/frobnicate", "未知命令 /frobnicate"),
    ],
)
async def test_bad_text_is_refused_and_the_state_kept(
    demo: App, waiting: ChatUser, send: str, expected: str
) -> None:
    audits = await _count(demo, AuditEntry)
    await waiting.send(send)
    assert expected in waiting.text
    assert (await _state(demo, "w")).state == "bind.await_code"
    assert await _count(demo, AuditEntry) == audits
    await waiting.send("DRVA2468")  # and the conversation goes on
    assert "绑定成功" in waiting.text


async def test_sticker_and_unasked_file_are_refused(demo: App, waiting: ChatUser) -> None:
    await waiting.send_other("sticker")
    assert "暂不支持这类消息" in waiting.text
    await waiting.send_file(IncomingFile("a.pdf", "application/pdf", 10))
    assert "这里不需要发送文件" in waiting.text
    assert (await _state(demo, "w")).state == "bind.await_code"


async def test_free_text_where_a_button_is_expected(demo: App) -> None:
    user = ChatUser(demo.engine, "driver")  # pre-bound demo persona
    user.channel = "console"
    await user.send("/menu")
    await user.send("帮我查一下")
    assert "请使用消息下方的按钮" in user.text


async def test_button_from_an_old_message_is_stale(demo: App) -> None:
    user = ChatUser(demo.engine, "s")
    await user.send("/start DRVA2468")
    old = user.button("我的诚信考核")
    await user.press("帮助")  # a new keyboard: the menu message's buttons are now old
    await user.press_data(old.data)
    assert "按钮已过期" in user.last.callback_notice
    assert "较早的消息" in user.text


async def test_forged_button_data_is_refused(demo: App) -> None:
    user = ChatUser(demo.engine, "f")
    await user.send("/start DRVA2468")
    await user.press_data("not-a-token")
    assert "已过期" in user.text
    await user.press_data("x" * 200)
    assert "已过期" in user.text


async def test_a_crash_mid_conversation_loses_nothing(demo: App, monkeypatch: pytest.MonkeyPatch) -> None:
    user = ChatUser(demo.engine, "c")
    await user.send("/start DRVA2468")

    async def broken(ctx, payload):  # type: ignore[no-untyped-def]
        ctx.state.state = "half-written"
        raise RuntimeError("database went away")

    monkeypatch.setitem(registry.actions, "driver.assessment", broken)
    await user.press("我的诚信考核")
    assert user.text == CRASH_TEXT
    state = await _state(demo, "c")
    assert state.state == "menu"  # rolled back
    assert await _count(demo, ChatBinding) >= 1
    monkeypatch.undo()
    await user.press("我的诚信考核")  # the same keyboard still works after the crash
    assert "已扣分" in user.text
