"""End to end: the outbox dispatcher with the aiogram Sender over real HTTP to the local Bot API server.
Flood-control waits run on the frozen clock (the limiter sleeps by advancing it), so nothing here sleeps."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from bot.app import App
from bot.channels.telegram import make_bot
from bot.channels.telegram_sender import AiogramSender
from models import (
    ButtonToken,
    ChatBinding,
    OutboxMessage,
    OutboxStatus,
    Staff,
    StaffRole,
    Subject,
    SubjectKind,
)
from notifications.delivery import OutgoingMessage
from notifications.dispatcher import Dispatcher
from notifications.limits import RateLimiter
from notifications.render import TEMPLATES, Renderer
from tests.support.botapi import FakeBotAPI
from workflows.clock import FrozenClock
from workflows.notices import enqueue, notice_button

USER, BLOCKED, GONE, ADMIN = 710001, 710002, 710003, 710009


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
async def sender(api: FakeBotAPI) -> AsyncIterator[AiogramSender]:
    bot = make_bot(api.token, api.base_url)
    yield AiogramSender(bot)
    await bot.session.close()


@pytest.fixture
def limiter(clock: FrozenClock) -> RateLimiter:
    async def wait_on_frozen_clock(seconds: float) -> None:
        clock.advance(seconds=seconds)

    return RateLimiter(clock=lambda: clock.now().timestamp(), sleep=wait_on_frozen_clock)


@pytest.fixture
def dispatcher(
    app: App, sender: AiogramSender, limiter: RateLimiter, clock: FrozenClock, tmp_path: Path
) -> Dispatcher:
    directory = tmp_path / "templates"
    directory.mkdir()
    (directory / "penalty.zh.j2").write_text(
        "您有一条行政处罚信息：{{ decision_no }}\n{{ extra }}", encoding="utf-8"
    )
    for path in TEMPLATES.glob("delivery_failed.*.j2"):
        shutil.copy(path, directory / path.name)
    return Dispatcher(
        app.sessions,
        {"telegram": sender},
        renderer=Renderer(directory),
        clock=clock,
        instance="e2e",
        limiter=limiter,
    )


async def add(app: App, clock: FrozenClock, chat_id: int, extra: str = "", **kw: Any) -> int:
    key = f"e2e|{chat_id}"
    async with app.sessions() as s, s.begin():
        await enqueue(
            s, channel="telegram", chat_id=str(chat_id), template="penalty", dedupe_key=key,
            context={"decision_no": "枣交罚〔2026〕17号", "extra": extra}, **kw,
        )  # fmt: skip
    await make_written_rows_due(app, clock)
    return (await row_by_key(app, key)).id or 0


async def make_written_rows_due(app: App, clock: FrozenClock) -> None:
    """enqueue() stamps next_attempt_at with the wall clock, not the injected one; line them up with it."""
    async with app.sessions() as s, s.begin():
        conn = await s.connection()
        await conn.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.status) == OutboxStatus.PENDING, col(OutboxMessage.attempts) == 0)
            .values(next_attempt_at=clock.now())
        )


async def row_by_key(app: App, key: str) -> OutboxMessage:
    async with app.sessions() as s:
        return (await s.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == key))).one()


async def row(app: App, row_id: int) -> OutboxMessage:
    async with app.sessions() as s:
        found = await s.get(OutboxMessage, row_id)
    assert found is not None
    return found


async def test_notices_reach_users_and_dead_chats_are_recorded_and_reported(
    app: App, api: FakeBotAPI, dispatcher: Dispatcher, clock: FrozenClock
) -> None:
    async with app.sessions() as s, s.begin():
        admin = Staff(name="管理员", department="信用科", role=StaffRole.ADMIN)
        subject = Subject(
            kind=SubjectKind.ENTERPRISE, name="枣庄市顺达运输有限公司", uscc="91370400MA3C5X7K2L"
        )
        s.add_all([admin, subject])
        await s.flush()
        s.add(ChatBinding(channel="telegram", chat_id=str(ADMIN), user_id=str(ADMIN), staff_id=admin.id))
        subject_id = subject.id
    api.blocked_chats.add(BLOCKED)
    api.unknown_chats.add(GONE)
    delivered = await add(
        app, clock, USER, buttons=[[notice_button("申请修复", "Apply for repair", "repair.start")]]
    )
    blocked = await add(app, clock, BLOCKED, legally_required=True, subject_id=subject_id)
    gone = await add(app, clock, GONE)

    stats = await dispatcher.run_once()

    assert (stats.sent, stats.failed) == (1, 2)
    [message] = api.messages_to(USER)
    assert message.visible_text.startswith("您有一条行政处罚信息：枣交罚〔2026〕17号")
    async with app.sessions() as s:
        token = await s.get(ButtonToken, message.callback_data("申请修复"))
    assert token is not None and token.persistent and token.chat_id == str(USER)
    assert (await row(app, delivered)).status == OutboxStatus.SENT
    assert (await row(app, blocked)).error == "blocked: Forbidden: bot was blocked by the user"
    assert (await row(app, gone)).error == "Bad Request: chat not found"

    # The blocked chat's notice was legally required: the admin is told, in the next run.
    await make_written_rows_due(app, clock)
    assert (await dispatcher.run_once()).sent == 1
    [report] = api.messages_to(ADMIN)
    assert "法定通知未能送达" in report.visible_text and "对方已屏蔽机器人" in report.visible_text
    assert str(BLOCKED) not in report.visible_text  # no chat id on a screen (issue #9)
    assert "枣庄市顺达运输有限公司" in report.visible_text
    clock.advance(days=1)
    assert (await dispatcher.run_once()).total == 0  # dead chats are not retried


async def test_flood_control_is_obeyed_then_the_notice_is_sent(
    app: App, api: FakeBotAPI, dispatcher: Dispatcher, limiter: RateLimiter, clock: FrozenClock
) -> None:
    row_id = await add(app, clock, USER)
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)

    assert (await dispatcher.run_once()).retried == 1
    assert api.messages_to(USER) == []
    waiting = await row(app, row_id)
    assert waiting.status == OutboxStatus.PENDING and waiting.next_attempt_at == clock.now() + timedelta(
        seconds=1
    )
    assert limiter.wait_needed(str(ADMIN)) == 1.0  # the whole bot holds back, not only this chat

    calls = len(api.calls)
    assert (await dispatcher.run_once()).total == 0 and len(api.calls) == calls  # not due yet: no request
    clock.advance(seconds=1)
    assert (await dispatcher.run_once()).sent == 1
    assert len(api.messages_to(USER)) == 1


async def test_a_bad_gateway_is_retried_with_backoff(
    app: App, api: FakeBotAPI, dispatcher: Dispatcher, clock: FrozenClock
) -> None:
    row_id = await add(app, clock, USER)
    api.fail_next("sendMessage", 502, "Bad Gateway")

    assert (await dispatcher.run_once()).retried == 1
    retry = await row(app, row_id)
    assert retry.status == OutboxStatus.PENDING and retry.attempts == 1
    assert "TelegramServerError" in (retry.error or "")
    clock.advance(seconds=3)  # past the first backoff (2 s ± 20 %)
    assert (await dispatcher.run_once()).sent == 1
    assert len(api.messages_to(USER)) == 1


async def test_a_long_notice_is_split_with_its_buttons_on_the_last_part(
    app: App, api: FakeBotAPI, dispatcher: Dispatcher, clock: FrozenClock
) -> None:
    extra = "\n".join(f"第{n}条：违法行为及处罚依据说明。" + "详" * 40 for n in range(120))
    await add(
        app,
        clock,
        USER,
        extra=extra,
        buttons=[[notice_button("申请修复", "Apply for repair", "repair.start")]],
    )
    assert (await dispatcher.run_once()).sent == 1
    parts = api.messages_to(USER)
    assert len(parts) == 2 and all(len(p.visible_text) <= 4096 for p in parts)
    assert parts[0].buttons == [] and [b["text"] for b in parts[1].buttons] == ["申请修复"]


async def test_the_sender_delivers_a_document(api: FakeBotAPI, sender: AiogramSender) -> None:
    await sender.send(
        str(USER), OutgoingMessage("决定书见附件", document_name="决定书.pdf", document=b"%PDF-1.4")
    )
    text, document = api.messages_to(USER)
    assert text.visible_text == "决定书见附件"
    assert document.document is not None and document.document.file_name == "决定书.pdf"


async def test_flood_control_after_a_delivered_part_is_waited_out_without_repeating_it(
    api: FakeBotAPI,
) -> None:
    slept: list[float] = []

    async def record_sleep(seconds: float) -> None:
        slept.append(seconds)

    bot = make_bot(api.token, api.base_url)
    try:
        api.fail_next("sendDocument", 429, "Too Many Requests: retry after 3", retry_after=3)
        await AiogramSender(bot, sleep=record_sleep).send(
            str(USER), OutgoingMessage("决定书见附件", document_name="决定书.pdf", document=b"%PDF-1.4")
        )
    finally:
        await bot.session.close()
    assert slept == [3]
    assert [m.method for m in api.messages_to(USER)] == ["sendMessage", "sendDocument"]  # the text went once
