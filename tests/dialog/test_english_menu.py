"""Issue #9, English is complete: after /lang en the menu, help, records, assessment, my applications,
binding and a group's explanation carry no Chinese but data values (names, decision numbers, facts)."""

from __future__ import annotations

from sqlmodel import select

from bot.app import App
from models import (
    ConversationState,
    CreditRecord,
    Objection,
    RepairApplication,
    Subject,
)
from tests.support.chat import ChatUser
from tests.support.english import assert_english


async def _assert_english(app: App, user: ChatUser) -> None:
    await assert_english(app, user)


async def _english(app: App, chat: str, code: str | None = None) -> ChatUser:
    user = ChatUser(app.engine, chat)
    if code is not None:
        await user.send(f"/start {code}")
    await user.send("/lang en")
    assert "Language: English." in user.text
    await _assert_english(app, user)
    return user


async def test_unbound_menu_help_binding_and_binding_request_in_english(demo: App) -> None:
    user = await _english(demo, "en-unbound")
    assert "You are not bound yet" in user.text
    await user.send("/help")
    assert "Commands:" in user.text and "/notices — Notices on/off" in user.text
    await _assert_english(demo, user)
    await user.press("Menu")
    await user.press("Enter binding code")
    await _assert_english(demo, user)
    await user.send("DRVA2468")
    assert "✅ Bound: 张伟" in user.text and "Driver: 张伟" in user.text
    await _assert_english(demo, user)

    asker = await _english(demo, "en-asker")
    await asker.press("No code?")
    await _assert_english(demo, asker)
    await asker.send("91110000MA01ABCD1M")
    assert "name and role" in asker.text
    await _assert_english(demo, asker)
    await asker.send("Zhang San, manager")
    assert "Submitted" in asker.text
    await _assert_english(demo, asker)


async def test_enterprise_records_detail_and_applications_in_english(demo: App) -> None:
    async with demo.sessions() as s, s.begin():
        anda = (await s.exec(select(Subject).where(Subject.uscc.is_not(None)))).first()  # type: ignore[union-attr]
        assert anda is not None and anda.id is not None
        record = (await s.exec(select(CreditRecord).where(CreditRecord.subject_id == anda.id))).first()
        assert record is not None and record.id is not None
        s.add(
            RepairApplication(
                ref_no="XF20261124001", subject_id=anda.id, record_id=record.id, regime="令36号"
            )
        )
        s.add(Objection(ref_no="DRAFT-1", subject_id=anda.id, record_id=record.id))
    user = await _english(demo, "en-enterprise", "ENTA2468")
    assert "Subject: 枣庄市安达货物运输有限公司 (USCC" in user.text
    await user.send("/help")
    assert "'My credit records'" in user.text
    await _assert_english(demo, user)
    await user.press("Menu")
    await user.press("My credit records")
    assert "📋 My credit records (" in user.text and "Credit class:" in user.text
    await _assert_english(demo, user)
    await user.press("Details 1")
    assert "Penalty type: " in user.text or "Grade: " in user.text
    await _assert_english(demo, user)
    await user.press("Back")
    await user.press("Details 2")
    await _assert_english(demo, user)
    await user.press("Main menu")
    await user.press("My applications")
    assert "🛠 Repair XF20261124001: " in user.text and "⚖️ Objection draft: draft" in user.text
    await _assert_english(demo, user)


async def test_driver_assessment_in_english(demo: App) -> None:
    user = await _english(demo, "en-driver", "DRVA2468")
    await user.press("My integrity assessment")
    assert "Points deducted: 8 / 20" in user.text and "Violations this cycle:" in user.text
    await _assert_english(demo, user)
    await user.press("Menu")
    await user.press("My applications")
    assert "No applications yet" in user.text
    await _assert_english(demo, user)


async def test_staff_menu_and_help_in_english(demo: App) -> None:
    user = await _english(demo, "en-staff", "STAF2468")
    assert "Signed in as staff 陈科员" in user.text and "To do" in user.buttons[0].label
    await user.send("/help")
    assert "one-time binding code" in user.text
    await _assert_english(demo, user)


async def test_a_group_is_told_in_english(demo: App) -> None:
    async with demo.sessions() as s, s.begin():  # a group whose first message came from an English Telegram
        s.add(ConversationState(channel="test", chat_id="-1009", lang="en"))
    group = ChatUser(demo.engine, "-1009", user_id="m1", chat_type="supergroup")
    await group.send("/help")
    assert "works in private chats only" in group.text
    await _assert_english(demo, group)
    await group.send("DRVA2468")
    assert "Binding codes work only in a private chat" in group.text
    await _assert_english(demo, group)
