"""Issue #9 over real HTTP, with both Telegram libraries and the outbox delivering: a reviewer's 更正 is
validated, recomputes the dates and shows the diff, and the enterprise is told in words; a 整改 report
after an interview closes its loop. Notices go out through aiogram's client, as `credit-bot run` does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.app import App
from bot.channels.telegram import AiogramChannel, make_bot
from bot.channels.telegram_ptb import PtbChannel, build_application
from bot.channels.telegram_sender import AiogramSender
from models import Deadline, DeadlineStatus, Staff, StaffRole, Subject
from tests.support.botapi import FakeBotAPI, SentMessage
from tests.support.chat import PDF
from workflows import interviews
from workflows.binding import issue_code
from workflows.clock import SHANGHAI

ENTERPRISE, REVIEWER = 730001, 730002


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture(params=["aiogram", "ptb"])
async def running(request: pytest.FixtureRequest, demo: App, api: FakeBotAPI) -> AsyncIterator[None]:
    """One library polling the local server, and the dispatcher delivering the outbox beside it."""
    bot = make_bot(api.token, api.base_url)
    stop = asyncio.Event()
    dispatcher = demo.dispatcher({"telegram": AiogramSender(bot)})
    delivery = asyncio.create_task(dispatcher.run_forever(stop, 0.05))
    if request.param == "aiogram":
        channel = AiogramChannel(demo.engine, bot)
        polling = asyncio.create_task(channel.run())
        yield
        await channel.stop()
        await asyncio.wait_for(polling, 10)
    else:
        ptb = PtbChannel(demo.engine, build_application(api.token, api.base_url))
        await ptb.start()
        yield
        await ptb.stop()
    stop.set()
    await asyncio.wait_for(delivery, 10)
    await bot.session.close()


def _shows(message: SentMessage, chat: int, expect: str) -> bool:
    """The message to `chat` says `expect`, in its text or on one of its buttons."""
    return message.chat_id == chat and (
        expect in message.visible_text or any(expect in b["text"] for b in message.buttons)
    )


async def say(api: FakeBotAPI, chat: int, text: str, expect: str) -> SentMessage:
    mark = api.mark()
    api.push_text(chat, text)
    return await api.wait_for(lambda s: _shows(s, chat, expect), since=mark)


async def press(api: FakeBotAPI, chat: int, label: str, expect: str) -> SentMessage:
    """Press the button whose label contains `label` on the latest message that has one."""
    message = next(m for m in reversed(api.messages_to(chat)) if any(label in b["text"] for b in m.buttons))
    button = next(b["text"] for b in message.buttons if label in b["text"])
    mark = api.mark()
    api.push_callback(chat, message.message_id, message.callback_data(button))
    return await api.wait_for(lambda s: _shows(s, chat, expect), since=mark)


async def _reviewer_code(app: App) -> str:
    async with app.sessions() as s, s.begin():
        staff = Staff(name="审核员", department="信用科", role=StaffRole.REVIEWER)
        s.add(staff)
        await s.flush()
        return (await issue_code(s, issued_by="cli", clock=app.engine.services.clock, staff_id=staff.id)).code


async def test_a_correction_is_validated_recomputed_shown_and_told_in_words(
    demo: App, api: FakeBotAPI, running: None
) -> None:
    await say(api, ENTERPRISE, "/start ENTB2468", "绑定成功")
    await press(api, ENTERPRISE, "我的信用记录", "我的信用记录")
    await press(api, ENTERPRISE, "详情 1", "1033号")
    await press(api, ENTERPRISE, "提出异议", "异议")
    await press(api, ENTERPRISE, "信息错误", "说明")
    await say(api, ENTERPRISE, "罚款金额有误，应为 0.1 万元。", "完成")
    await press(api, ENTERPRISE, "完成", "承诺书")
    await press(api, ENTERPRISE, "确认承诺书", "请核对异议内容")
    await press(api, ENTERPRISE, "提交异议", "异议已提交")

    await say(api, REVIEWER, f"/start {await _reviewer_code(demo)}", "绑定成功")
    await press(api, REVIEWER, "待办", "处理 1")
    await press(api, REVIEWER, "处理 1", "罚款（万元）：0.2")
    await press(api, REVIEWER, "更正", "罚款（万元）")
    await press(api, REVIEWER, "罚款（万元）", "现为：0.2")
    await say(api, REVIEWER, "-5", "不能为负数")  # the validator penalty entry uses
    await say(api, REVIEWER, "0.1", "罚款（万元）：0.2 → 0.1")
    await press(api, REVIEWER, "失信程度", "严重")
    diff = await press(api, REVIEWER, "严重", "失信程度：一般 → 严重")
    assert "公示截止期：2027-09-25 → 2029-09-25" in diff.visible_text  # recomputed, shown before approving
    await press(api, REVIEWER, "完成更正", "已更正")

    told = await api.wait_for(lambda s: s.chat_id == ENTERPRISE and "已予更正" in s.visible_text)
    assert "罚款（万元）：0.2 → 0.1" in told.visible_text and "公示截止期" in told.visible_text
    for leak in ("fine_wan", "severity", "general", "提议", "None"):
        assert leak not in told.visible_text


async def test_a_rectification_report_closes_its_loop(demo: App, api: FakeBotAPI, running: None) -> None:
    clock = demo.engine.services.clock
    calendar = demo.engine.services.calendar
    await say(api, ENTERPRISE, "/start ENTB2468", "绑定成功")
    async with demo.sessions() as s, s.begin():
        subject = (await s.exec(select(Subject).where(Subject.uscc == "91370403168734521M"))).one()
        staff = (await s.exec(select(Staff).where(Staff.role == StaffRole.HANDLER))).first()
        assert staff is not None
        held_at = datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI).astimezone(UTC)
        iv = await interviews.schedule(
            s,
            subject_id=subject.id or 0,
            staff=staff,
            reason="多次违法",
            scheduled_at=clock.now() + timedelta(days=2),
            place="305 会议室",
            online=False,
            attendees=["陈科员"],
            now=clock.now(),
            calendar=calendar,
        )
        iv.scheduled_at = held_at  # it took place yesterday
        await s.flush()
        await interviews.record_outcome(
            s,
            iv.id or 0,
            staff=staff,
            expected_version=iv.version,
            attended=True,
            issues="灭火器过期",
            rectification_items=["更换灭火器"],
            rectification_due=None,
            commitment_signed=False,
            today=clock.now().astimezone(SHANGHAI).date(),
            calendar=calendar,
            now=clock.now(),
        )
    await api.wait_for(lambda s: s.chat_id == ENTERPRISE and "报送整改情况" in str(s.buttons))
    await press(api, ENTERPRISE, "报送整改情况", "整改")
    await say(api, ENTERPRISE, "已更换全部灭火器。", "提交报送")
    mark = api.mark()
    api.push_document(ENTERPRISE, "整改照片.pdf", PDF, "application/pdf")  # through getFile
    await api.wait_for(lambda s: _shows(s, ENTERPRISE, "整改照片.pdf"), since=mark)
    await press(api, ENTERPRISE, "提交报送", "已报送")

    await say(api, REVIEWER, f"/start {await _reviewer_code(demo)}", "绑定成功")
    await press(api, REVIEWER, "待办", "处理 1")
    await press(api, REVIEWER, "处理 1", "已更换全部灭火器")
    await press(api, REVIEWER, "验收通过", "验收通过")
    await api.wait_for(lambda s: s.chat_id == ENTERPRISE and "验收通过" in s.visible_text)
    async with demo.sessions() as s:
        deadline = (await s.exec(select(Deadline).where(Deadline.kind == "rectification"))).one()
    assert deadline.status == DeadlineStatus.DONE
