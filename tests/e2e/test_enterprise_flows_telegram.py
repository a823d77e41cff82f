"""End to end over real HTTP, as an enterprise sees it in Telegram: binding brings 三书同达; the notice's
button starts a repair; a PDF is uploaded through getFile; staff approve; the decision arrives. Also the
real `credit-bot run` wiring (channel + dispatcher) against the local Bot API server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date

import pytest
from sqlmodel import select

from bot.app import App
from bot.channels.telegram import AiogramChannel, make_bot
from bot.channels.telegram_sender import AiogramSender
from models import CreditRecord, RecordStatus, RepairApplication, Staff
from tests.support.botapi import FakeBotAPI
from tests.support.chat import PDF
from workflows import repair

USER = 720001


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


async def test_sanshu_then_repair_through_telegram(demo: App, api: FakeBotAPI) -> None:
    bot = make_bot(api.token, api.base_url)
    channel = AiogramChannel(demo.engine, bot)
    stop = asyncio.Event()
    dispatcher = demo.dispatcher({"telegram": AiogramSender(bot)})
    tasks = [asyncio.create_task(channel.run()), asyncio.create_task(dispatcher.run_forever(stop, 0.05))]
    try:
        mark = api.mark()
        api.push_text(USER, "ENTA2468")
        await api.wait_for(lambda s: "绑定成功" in s.visible_text, since=mark)
        notice = await api.wait_for(lambda s: "【信用修复告知书】" in s.visible_text, since=mark)
        await api.wait_for(lambda s: "【信用异议申请流程告知书】" in s.visible_text, since=mark)
        decision = [s for s in api.messages_to(USER) if "行政处罚决定送达通知" in s.visible_text]
        assert len(decision) == 1  # each of the three notices exactly once

        mark = api.mark()
        api.push_callback(USER, notice.message_id, notice.callback_data("🛠 申请信用修复"))
        await api.wait_for(lambda s: "第 1 步" in s.visible_text, since=mark)
        mark = api.mark()
        api.push_document(USER, "缴款凭证.pdf", PDF, "application/pdf")
        step2 = await api.wait_for(lambda s: "第 2 步" in s.visible_text, since=mark)
        mark = api.mark()
        api.push_callback(USER, step2.message_id, step2.callback_data("是，本人办理"))
        step3 = await api.wait_for(lambda s: "第 3 步" in s.visible_text, since=mark)
        mark = api.mark()
        api.push_callback(USER, step3.message_id, step3.callback_data("✅ 确认承诺书"))
        review = await api.wait_for(lambda s: "请核对材料" in s.visible_text, since=mark)
        assert "缴款凭证.pdf" in review.visible_text
        mark = api.mark()
        api.push_callback(USER, review.message_id, review.callback_data("📨 提交申请"))
        await api.wait_for(lambda s: "申请已提交，编号 XF202611240001" in s.visible_text, since=mark)

        async with demo.sessions() as s, s.begin():
            app_row = (await s.exec(select(RepairApplication))).one()
            staff = (await s.exec(select(Staff).where(Staff.role == "supervisor"))).one()
            await repair.decide(
                s,
                app_row.id,
                "approve",
                staff=staff,
                expected_version=app_row.version,
                today=date(2026, 11, 24),
                now=demo.engine.services.clock.now(),
                calendar=demo.engine.services.calendar,
            )
        await api.wait_for(lambda s: "信用修复申请 XF202611240001 已通过" in s.visible_text, since=mark)
        async with demo.sessions() as s:
            record = await s.get(CreditRecord, app_row.record_id)
        assert record is not None and record.status == RecordStatus.REPAIRED
    finally:
        stop.set()
        await channel.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
        await bot.session.close()


async def test_credit_bot_run_wiring(tmp_path, api: FakeBotAPI) -> None:  # type: ignore[no-untyped-def]
    """`credit-bot run` as deployed: migrations, channel, dispatcher — answering over HTTP."""
    from bot.runner import run_telegram
    from workflows.settings import Settings

    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/run.db",
        telegram_bot_token=api.token,
        telegram_api_base=api.base_url,
        _env_file=None,
    )  # type: ignore[call-arg]
    task = asyncio.create_task(run_telegram(settings))
    try:
        await api.wait_for_call("setMyCommands")
        mark = api.mark()
        api.push_text(USER, "/start")
        reply = await api.wait_for(lambda s: s.chat_id == USER, since=mark)
        assert "还没有绑定" in reply.visible_text
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
