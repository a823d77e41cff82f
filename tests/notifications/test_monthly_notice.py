"""The monthly lists reach the chief (and admins) on the month's first working day, once, with a button
that brings the workbook and the chart into the chat (issue #8; Zaozhuang #9)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import select

from bot.app import App
from models import ButtonToken, ConversationState, OutboxMessage
from notifications.sweeps import daily_scan
from tests.support.chat import ChatUser
from workflows.clock import SHANGHAI
from workflows.risk import load_rules


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 8, 30, tzinfo=SHANGHAI).astimezone(UTC)


async def _lists_rows(app: App) -> list[OutboxMessage]:
    async with app.sessions() as s:
        return list(
            (await s.exec(select(OutboxMessage).where(OutboxMessage.template == "monthly_lists"))).all()
        )


async def test_first_working_day_sends_last_months_lists_to_chief_and_admin_once(demo: App) -> None:
    calendar, rules_ = demo.engine.services.calendar, load_rules()
    for day in (date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 1), date(2026, 12, 2)):
        await daily_scan(demo.sessions, now=at(day), calendar=calendar, risk_rules=rules_)
    rows = await _lists_rows(demo)
    assert sorted(r.chat_id for r in rows) == ["admin", "chief"]  # not the 经办, and only once
    assert rows[0].context["year"] == 2026 and rows[0].context["month"] == 11
    assert any("对象清单" in line for line in rows[0].context["lines"])
    button = rows[0].buttons[0][0]
    assert button["action"] == "lists.month" and button["payload"] == {"year": 2026, "month": 11}


async def test_the_button_brings_the_workbook_and_chart_and_refuses_a_handler(demo: App) -> None:
    async def press(persona: str) -> ChatUser:
        user = ChatUser(demo.engine, persona, channel="console")
        await user.send("/menu")
        async with demo.sessions() as s, s.begin():
            state = (
                await s.exec(select(ConversationState).where(ConversationState.chat_id == persona))
            ).one()
            token = ButtonToken(
                channel="console",
                chat_id=persona,
                action="lists.month",
                payload={"year": 2026, "month": 11},
                screen=state.screen,
                persistent=True,
            )
            s.add(token)
        await user.press_data(token.token)
        return user

    chief = await press("chief")
    documents = [r.document for r in chief.last.replies if r.document is not None]
    assert [d.file_name for d in documents] == [
        "信用工作月度清单_2026年11月.xlsx",
        "信用工作月度成效_2026年11月.png",
    ]
    assert documents[0].content[:2] == b"PK" and documents[1].content[:8] == b"\x89PNG\r\n\x1a\n"
    assert "2026年11月 信用工作月度清单" in chief.text
    handler = await press("staff")
    assert "仅限" in handler.text and not any(r.document for r in handler.last.replies)
