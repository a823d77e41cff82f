"""The fake Bot API server, driven by the real aiogram 3 and python-telegram-bot 22 clients over HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import telegram
from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from tests.support.botapi import FakeBotAPI, TelegramLimits

USER = 1001


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=text, callback_data=data)] for text, data in buttons]
    )


def aiogram_bot(api: FakeBotAPI, token: str | None = None) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
    return Bot(token or api.token, session=session)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    bot = aiogram_bot(api)
    yield bot
    await bot.session.close()


@pytest.fixture
async def ptb(api: FakeBotAPI) -> AsyncIterator[telegram.Bot]:
    bot = telegram.Bot(api.token, base_url=f"{api.base_url}/bot", base_file_url=f"{api.base_url}/file/bot")
    await bot.initialize()
    yield bot
    await bot.shutdown()


async def raw_call(
    api: FakeBotAPI, method: str, *, http: str = "POST", token: str | None = None, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(http, f"{api.base_url}/bot{token or api.token}/{method}", **kwargs) as response,
    ):
        return response.status, await response.json()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# ---- aiogram Bot ------------------------------------------------------------------------------------


async def test_aiogram_get_me_returns_the_bot_user(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "credit_transport_test_bot")


async def test_aiogram_sends_inline_keyboard_and_edits_it(api: FakeBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(
        USER, "<b>请选择</b>", parse_mode="HTML", reply_markup=keyboard(("确认", "ok"))
    )
    assert sent.text == "请选择"  # Telegram returns the visible text
    assert sent.reply_markup is not None and sent.reply_markup.inline_keyboard[0][0].callback_data == "ok"
    assert api.sent[0].callback_data("确认") == "ok"
    assert (api.sent[0].text, api.sent[0].visible_text) == ("<b>请选择</b>", "请选择")

    edited = await bot.edit_message_text("已确认", chat_id=USER, message_id=sent.message_id)
    assert isinstance(edited, Message) and edited.text == "已确认" and edited.reply_markup is None
    assert [(m.method, m.message_id, m.text, m.reply_markup) for m in api.messages_to(USER)] == [
        ("sendMessage", sent.message_id, "<b>请选择</b>", api.sent[0].reply_markup),
        ("editMessageText", sent.message_id, "已确认", None),
    ]

    await bot.edit_message_reply_markup(
        chat_id=USER, message_id=sent.message_id, reply_markup=keyboard(("撤销", "undo"))
    )
    assert api.sent[-1].method == "editMessageReplyMarkup" and api.sent[-1].callback_data("撤销") == "undo"


async def test_aiogram_edit_errors_match_telegram(bot: Bot) -> None:
    sent = await bot.send_message(USER, "状态", reply_markup=keyboard(("刷新", "r")))
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "状态", chat_id=USER, message_id=sent.message_id, reply_markup=keyboard(("刷新", "r"))
        )
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("新", chat_id=USER, message_id=999)


async def test_aiogram_answers_a_pushed_callback(api: FakeBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(USER, "提交申请？", reply_markup=keyboard(("提交", "submit:7")))
    callback_id = api.push_callback(USER, sent.message_id, "submit:7")

    [update] = await bot.get_updates(timeout=0)
    assert update.callback_query is not None
    assert (update.callback_query.id, update.callback_query.data) == (callback_id, "submit:7")
    assert isinstance(update.callback_query.message, Message)
    assert update.callback_query.message.message_id == sent.message_id

    assert await bot.answer_callback_query(callback_id, text="已提交", show_alert=True)
    assert api.answered_callbacks[callback_id]["text"] == "已提交"
    assert api.answered_callbacks[callback_id]["show_alert"] is True
    with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
        await bot.answer_callback_query(callback_id)  # a query is answered once


async def test_aiogram_sets_commands_per_language_and_scope(api: FakeBotAPI, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand(command="start", description="开始")])
    await bot.set_my_commands([BotCommand(command="start", description="Start")], language_code="en")
    await bot.set_my_commands(
        [BotCommand(command="queue", description="待办")], scope=BotCommandScopeChat(chat_id=7)
    )

    assert api.commands == {
        "": [{"command": "start", "description": "开始"}],
        "en": [{"command": "start", "description": "Start"}],
    }
    assert [c.command for c in await bot.get_my_commands(scope=BotCommandScopeChat(chat_id=7))] == ["queue"]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Start", description="大写不行")])


async def test_aiogram_uploads_a_document(api: FakeBotAPI, bot: Bot) -> None:
    content = "信用修复决定书".encode()
    sent = await bot.send_document(USER, BufferedInputFile(content, filename="决定书.pdf"), caption="请查收")
    assert sent.document is not None and sent.document.file_name == "决定书.pdf"
    item = api.sent[-1]
    assert (item.method, item.text) == ("sendDocument", "请查收")
    assert item.document is not None
    assert (item.document.file_name, item.document.content, item.document.mime_type) == (
        "决定书.pdf",
        content,
        "application/pdf",
    )

    await bot.send_document(USER, sent.document.file_id)  # re-sending by file_id needs no upload
    assert api.sent[-1].document is not None and api.sent[-1].document.content == content


async def test_aiogram_downloads_a_pushed_document_through_get_file(api: FakeBotAPI, bot: Bot) -> None:
    content = b"%PDF-1.4 materials"
    api.push_document(USER, "材料.pdf", content, "application/pdf", caption="修复材料")

    [update] = await bot.get_updates()
    assert update.message is not None and update.message.document is not None
    assert (update.message.document.file_name, update.message.caption) == ("材料.pdf", "修复材料")
    file = await bot.get_file(update.message.document.file_id)
    assert file.file_path is not None
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == content


async def test_aiogram_parses_pushed_photo_and_sticker(api: FakeBotAPI, bot: Bot) -> None:
    api.push_photo(USER, b"\xff\xd8\xff jpeg")
    api.push_sticker(USER)
    photo, sticker = await bot.get_updates()
    assert photo.message is not None and photo.message.photo is not None
    assert sticker.message is not None and sticker.message.sticker is not None
    downloaded = await bot.download(photo.message.photo[-1].file_id)
    assert downloaded is not None and downloaded.read() == b"\xff\xd8\xff jpeg"


# ---- aiogram Dispatcher (long polling) ---------------------------------------------------------------


async def test_aiogram_polling_receives_pushed_text_and_callback(api: FakeBotAPI, bot: Bot) -> None:
    dp = Dispatcher()

    @dp.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"收到：{message.text}", reply_markup=keyboard(("好的", "ack")))

    @dp.callback_query(F.data == "ack")
    async def acknowledge(query: CallbackQuery) -> None:
        await query.answer("已确认")
        assert isinstance(query.message, Message)
        await query.message.edit_text("已确认 ✅")

    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, close_bot_session=False))
    try:
        api.push_text(USER, "你好")
        reply = await api.wait_for(lambda m: m.chat_id == USER and m.text == "收到：你好", timeout=5)

        mark = api.mark()
        callback_id = api.push_callback(USER, reply.message_id, reply.callback_data("好的"))
        edit = await api.wait_for(lambda m: m.method == "editMessageText", timeout=5, since=mark)
        assert (edit.message_id, edit.text) == (reply.message_id, "已确认 ✅")
        assert (await api.wait_for_call("answerCallbackQuery"))["text"] == "已确认"
        assert callback_id in api.answered_callbacks
    finally:
        await dp.stop_polling()
        await polling


# ---- python-telegram-bot ------------------------------------------------------------------------------


async def test_ptb_get_me_send_and_get_updates(api: FakeBotAPI, ptb: telegram.Bot) -> None:
    me = await ptb.get_me()
    assert (me.id, me.username) == (123456, "credit_transport_test_bot")

    markup = telegram.InlineKeyboardMarkup([[telegram.InlineKeyboardButton("确认", callback_data="ok")]])
    sent = await ptb.send_message(USER, "您好", reply_markup=markup)
    assert sent.text == "您好" and sent.chat.type == "private"
    assert api.sent[-1].callback_data("确认") == "ok"

    api.push_text(USER, "/start", first_name="张三")
    [update] = await ptb.get_updates(timeout=5)
    assert update.message is not None and update.message.text == "/start"
    assert update.message.from_user is not None and update.message.from_user.first_name == "张三"
    assert update.message.entities[0].type == "bot_command"  # PTB's CommandHandler relies on it


async def test_ptb_long_poll_returns_when_an_update_is_pushed(api: FakeBotAPI, ptb: telegram.Bot) -> None:
    poll = asyncio.create_task(ptb.get_updates(timeout=5))
    await api.wait_for_call("getUpdates")
    started = time.monotonic()
    api.push_text(USER, "稍后到达")
    [update] = await poll
    assert time.monotonic() - started < 1
    assert update.message is not None and update.message.text == "稍后到达"

    started = time.monotonic()
    assert await ptb.get_updates(offset=update.update_id + 1, timeout=1) == ()  # confirmed, then nothing
    assert time.monotonic() - started >= 0.9


async def test_ptb_downloads_a_pushed_document(api: FakeBotAPI, ptb: telegram.Bot) -> None:
    api.push_document(USER, "承诺书.docx", b"PK\x03\x04", "application/octet-stream")
    [update] = await ptb.get_updates()
    assert update.message is not None and update.message.document is not None
    file = await ptb.get_file(update.message.document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"PK\x03\x04"


async def test_ptb_uploads_a_document(api: FakeBotAPI, ptb: telegram.Bot) -> None:
    # PTB names the file part after the parameter; a caption equal to that name must stay text.
    await ptb.send_document(
        USER, telegram.InputFile(b"a,b\n1,2\n", filename="records.csv"), caption="document"
    )
    item = api.sent[-1]
    assert item.document is not None and item.text == "document"
    assert (item.document.file_name, item.document.content) == ("records.csv", b"a,b\n1,2\n")


# ---- errors ---------------------------------------------------------------------------------------------


async def test_wrong_token_is_unauthorized(api: FakeBotAPI) -> None:
    intruder = aiogram_bot(api, token="999:WRONG")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await intruder.get_me()
    finally:
        await intruder.session.close()
    assert await raw_call(api, "getMe", token="999:WRONG") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )


async def test_unknown_method_is_not_found_and_names_are_case_insensitive(api: FakeBotAPI) -> None:
    assert await raw_call(api, "sendTelepathy") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    status, body = await raw_call(api, "GETME", http="GET")
    assert (status, body["result"]["id"]) == (200, 123456)
    assert api.calls[-1][0] == "getMe"


async def test_empty_and_too_long_texts_are_rejected(api: FakeBotAPI, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(USER, "")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER, "信" * 4097)
    await bot.send_message(USER, "信" * 4096)
    assert [m.text for m in api.sent] == ["信" * 4096]


async def test_callback_data_over_64_bytes_is_rejected(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "选择", reply_markup=keyboard(("长", "修" * 22)))  # 66 bytes in UTF-8


async def test_malformed_html_is_rejected(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match='Unsupported start tag "br"'):
        await bot.send_message(USER, "第一行<br>第二行", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="Can't find end tag"):
        await bot.send_message(USER, "<b>未闭合", parse_mode="HTML")


async def test_blocked_and_unknown_chats(api: FakeBotAPI, bot: Bot) -> None:
    api.blocked_chats.add(5)
    api.unknown_chats.add(6)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(5, "通知")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(6, "通知")
    assert api.sent == []


async def test_fail_next_injects_errors_in_order(api: FakeBotAPI, bot: Bot) -> None:
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
    api.fail_next("sendmessage", 502, "Bad Gateway", times=2)
    with pytest.raises(TelegramRetryAfter) as retry:
        await bot.send_message(USER, "一")
    assert retry.value.retry_after == 3
    for _ in range(2):
        with pytest.raises(TelegramServerError):
            await bot.send_message(USER, "一")
    await bot.send_message(USER, "一")
    assert [m.text for m in api.sent] == ["一"]
    with pytest.raises(ValueError):
        api.fail_next("sendTelepathy", 500, "typo")


# ---- encodings --------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["json", "urlencoded", "multipart", "query"])
async def test_params_are_parsed_in_every_encoding(api: FakeBotAPI, encoding: str) -> None:
    markup = '{"inline_keyboard": [[{"text": "是", "callback_data": "y"}]]}'
    fields = {"chat_id": str(USER), "text": "编码", "reply_markup": markup}
    if encoding == "json":
        kwargs: dict[str, Any] = {
            "json": {
                "chat_id": USER,
                "text": "编码",
                "reply_markup": {"inline_keyboard": [[{"text": "是", "callback_data": "y"}]]},
            }
        }
    elif encoding == "urlencoded":
        kwargs = {"data": fields}
    elif encoding == "multipart":
        form = aiohttp.FormData()
        for key, value in fields.items():
            form.add_field(key, value)
        form.add_field("unused", b"force multipart", filename="x.bin")
        kwargs = {"data": form}
    else:
        kwargs = {"params": fields, "http": "GET"}
    status, body = await raw_call(api, "sendMessage", **kwargs)
    assert status == 200 and body["result"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "y"
    assert api.calls[-1][1]["chat_id"] == USER
    assert api.calls[-1][1]["reply_markup"] == {"inline_keyboard": [[{"text": "是", "callback_data": "y"}]]}


# ---- rate limits ----------------------------------------------------------------------------------------


async def test_per_chat_limit_answers_429_with_retry_after() -> None:
    clock = FakeClock()
    async with FakeBotAPI(limits=TelegramLimits(), clock=clock) as api:
        bot = aiogram_bot(api)
        try:
            await bot.send_message(USER, "1")
            for text in ("2", "3"):
                with pytest.raises(TelegramRetryAfter) as retry:
                    await bot.send_message(USER, text)
                assert retry.value.retry_after == 1
            assert api.too_many_requests == 2
            await bot.send_message(USER + 1, "另一个聊天不受影响")

            clock.now += 1
            await bot.send_message(USER, "2")
            assert [m.text for m in api.messages_to(USER)] == ["1", "2"]
        finally:
            await bot.session.close()


async def test_group_and_global_limits() -> None:
    clock = FakeClock()
    limits = TelegramLimits(global_per_second=3, per_chat_per_second=1, per_group_per_minute=2)
    async with FakeBotAPI(limits=limits, clock=clock) as api:
        bot = aiogram_bot(api)
        try:
            for text in ("a", "b"):
                await bot.send_message(-42, text)
                clock.now += 1
            with pytest.raises(TelegramRetryAfter) as retry:
                await bot.send_message(-42, "c")  # third in a minute
            assert retry.value.retry_after == 58

            clock.now += 60
            for chat in (1, 2, 3):
                await bot.send_message(chat, "x")
            with pytest.raises(TelegramRetryAfter):
                await bot.send_message(4, "x")  # fourth this second, across chats
            assert api.too_many_requests == 2
        finally:
            await bot.session.close()


# ---- waiting and shutdown -----------------------------------------------------------------------------


async def test_wait_for_only_sees_items_after_the_mark(api: FakeBotAPI, bot: Bot) -> None:
    await bot.send_message(USER, "旧")
    mark = api.mark()
    with pytest.raises(TimeoutError, match="no matching message"):
        await api.wait_for(lambda m: m.text == "旧", timeout=0.05, since=mark)
    assert (await api.wait_for(lambda m: m.text == "旧")).message_id == 1
    await api.wait_idle(quiet=0.05, timeout=1)  # nothing is calling the API any more


async def test_stop_ends_a_pending_long_poll_at_once() -> None:
    api = FakeBotAPI()
    await api.start()
    poll = asyncio.create_task(raw_call(api, "getUpdates", json={"timeout": 30}))
    await api.wait_for_call("getUpdates")
    started = time.monotonic()
    await api.stop()
    assert await poll == (200, {"ok": True, "result": []})
    assert time.monotonic() - started < 2
