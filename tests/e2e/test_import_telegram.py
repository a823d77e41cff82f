"""The chat import over real HTTP, as an admin does it in Telegram (issue #8): a spreadsheet sent as a
document is checked; a bad one comes back as an errors file; a clean one waits for the 确认导入 button and
is then imported. Both Telegram libraries, against the local Bot API server."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import select

from bot.app import App
from bot.channels.telegram import AiogramChannel, make_bot
from bot.channels.telegram_ptb import PtbChannel, build_application
from models import CreditRecord
from tests.support.botapi import FakeBotAPI

ADMIN = 730001
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS = ["行政相对人名称", "统一社会信用代码", "行政处罚决定书文号", "违法事实", "处罚依据", "处罚类别", "处罚内容",
           "罚款金额(万元)", "处罚决定日期", "处罚机关"]  # fmt: skip


def sheet(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(HEADERS)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


GOOD = ["枣庄市新兴物流有限公司", "91110108551385082Q", "枣交罚〔2026〕2001号", "超限运输", "《公路法》", "02",
        "罚款 0.3 万元", 0.3, "2026-06-01", "枣庄市交通运输局"]  # fmt: skip


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


async def _aiogram(app: App, api: FakeBotAPI) -> tuple[Callable[[], Awaitable[None]], list[asyncio.Task]]:
    bot = make_bot(api.token, api.base_url)
    channel = AiogramChannel(app.engine, bot)
    tasks = [asyncio.create_task(channel.run())]

    async def stop() -> None:
        await channel.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
        await bot.session.close()

    return stop, tasks


async def _ptb(app: App, api: FakeBotAPI) -> tuple[Callable[[], Awaitable[None]], list[asyncio.Task]]:
    channel = PtbChannel(app.engine, build_application(api.token, api.base_url))
    await channel.start()
    return channel.stop, []


@pytest.mark.parametrize("start", [_aiogram, _ptb], ids=["aiogram", "ptb"])
async def test_admin_uploads_a_sheet_gets_the_errors_file_then_confirms_a_clean_one(
    demo: App, api: FakeBotAPI, start: Callable[..., Awaitable[tuple]]
) -> None:
    stop, _ = await start(demo, api)
    try:
        mark = api.mark()
        api.push_text(ADMIN, "ADMN2468")
        await api.wait_for(lambda s: "绑定成功" in s.visible_text, since=mark)

        bad = [*GOOD[:7], -1, "2026-06-01", GOOD[9]]
        mark = api.mark()
        api.push_document(ADMIN, "处罚.xlsx", sheet([GOOD, bad]), XLSX)
        report = await api.wait_for(lambda s: "发现 1 处问题" in s.visible_text, since=mark)
        assert "第 3 行「罚款金额(万元)」“-1”：金额不能为负数" in report.visible_text
        errors = await api.wait_for(lambda s: s.document is not None, since=mark)
        assert errors.document is not None and errors.document.file_name == "处罚.errors.xlsx"
        ws = load_workbook(io.BytesIO(errors.document.content)).active
        assert ws.cell(1, len(HEADERS) + 1).value == "错误说明"
        assert "负数" in ws.cell(3, len(HEADERS) + 1).value and not ws.cell(2, len(HEADERS) + 1).value
        async with demo.sessions() as s:
            assert (
                await s.exec(select(CreditRecord).where(CreditRecord.decision_no == GOOD[2]))
            ).first() is None

        mark = api.mark()
        api.push_document(ADMIN, "处罚-改.xlsx", sheet([GOOD]), XLSX)
        checked = await api.wait_for(lambda s: "确认导入" in str(s.reply_markup), since=mark)
        assert "将新增 1 条" in checked.visible_text
        mark = api.mark()
        api.push_callback(ADMIN, checked.message_id, checked.callback_data("✅ 确认导入"))
        done = await api.wait_for(lambda s: "已新增 1 条" in s.visible_text, since=mark)
        assert "新建主体 1 个" in done.visible_text
        mark = api.mark()
        api.push_callback(ADMIN, checked.message_id, checked.callback_data("✅ 确认导入"))  # pressed again
        again = await api.wait_for(lambda s: s.chat_id == ADMIN, since=mark)
        assert "已过期" in again.visible_text or "已导入或已失效" in again.visible_text
        async with demo.sessions() as s:
            rows = (await s.exec(select(CreditRecord).where(CreditRecord.decision_no == GOOD[2]))).all()
        assert len(rows) == 1
    finally:
        await stop()
