"""Binding a chat with a one-time code: success, deep link, wrong codes, lockout, expiry, single use."""

from __future__ import annotations

from sqlmodel import select

from bot.app import App
from models import AuditEntry, ChatBinding
from tests.support.chat import ChatUser
from workflows import rules
from workflows.clock import FrozenClock


async def test_driver_binds_with_code_and_sees_driver_menu(demo: App) -> None:
    user = ChatUser(demo.engine, "new-driver")
    await user.send("/start")
    assert "还没有绑定" in user.text
    await user.press("输入绑定码")
    await user.send("drva 2468")  # lower case and a space: normalised
    assert "绑定成功" in user.text and "张伟" in user.text
    assert "370402198506123417" not in user.text  # the ID-based certificate number is masked
    assert [b.label for b in user.buttons][0] == "🚗 我的诚信考核"
    async with demo.sessions() as s:
        audit = (await s.exec(select(AuditEntry).where(AuditEntry.action == "binding.create"))).all()
        assert len(audit) == 1


async def test_deep_link_start_binds(demo: App) -> None:
    user = ChatUser(demo.engine, "deep")
    await user.send("/start ENTA2468")
    assert "绑定成功" in user.text and "安达" in user.text
    assert "我的信用记录" in user.buttons[0].label


async def test_code_is_single_use(demo: App) -> None:
    await ChatUser(demo.engine, "first").send("/start ENTB2468")
    second = ChatUser(demo.engine, "second")
    await second.send("/start ENTB2468")
    assert "已经用过" in second.text
    async with demo.sessions() as s:
        bound = (await s.exec(select(ChatBinding).where(ChatBinding.chat_id == "second"))).all()
        assert bound == []


async def test_code_expires_after_ttl(demo: App, clock: FrozenClock) -> None:
    clock.advance(hours=rules.BINDING_CODE_TTL_HOURS, seconds=1)
    user = ChatUser(demo.engine, "late")
    await user.send("/start DRVB2468")
    assert "已过期" in user.text


async def test_five_wrong_codes_lock_the_chat_for_15_minutes(demo: App, clock: FrozenClock) -> None:
    user = ChatUser(demo.engine, "guesser")
    await user.send("/start")
    await user.press("输入绑定码")
    for i in range(1, rules.BINDING_MAX_WRONG_CODES):
        await user.send("ABCDEFGH")
        assert f"还可尝试 {rules.BINDING_MAX_WRONG_CODES - i} 次" in user.text
    await user.send("ABCDEFGH")
    assert "已暂停 15 分钟" in user.text
    await user.send("DRVC2468")  # even the right code is refused while locked
    assert "已暂停" in user.text
    clock.advance(minutes=rules.BINDING_LOCKOUT_MINUTES, seconds=1)
    await user.send("DRVC2468")
    assert "绑定成功" in user.text and "王强" in user.text
    async with demo.sessions() as s:
        assert (
            await s.exec(select(AuditEntry).where(AuditEntry.action == "binding.lockout"))
        ).first() is not None


async def test_staff_issues_a_code_that_binds_a_new_chat(demo: App) -> None:
    staff = ChatUser(demo.engine, "staff-chat")
    await staff.send("/start STAF2468")
    await staff.press("签发绑定码")
    await staff.send("91370403MA3M9RUX5H")
    code = next(line.strip() for line in staff.text.splitlines() if len(line.strip()) == 8)
    user = ChatUser(demo.engine, "shuntong")
    await user.send(code)  # an unbound user may just type the code
    assert "绑定成功" in user.text and "顺通" in user.text


async def test_staff_typo_in_uscc_is_explained(demo: App) -> None:
    staff = ChatUser(demo.engine, "staff-chat")
    await staff.send("/start STAF2468")
    await staff.press("签发绑定码")
    await staff.send("91370403MA3M9RUX5A")  # wrong check character
    assert "校验位应为H" in staff.text
    await staff.send("91370403MA3M9RUX5H")  # still waiting for the code: the conversation goes on
    assert "已为 薛城区顺通危险货物运输有限公司" in staff.text


async def test_non_staff_cannot_issue_codes_even_with_a_staff_button(demo: App) -> None:
    """A driver chat replaying a staff button from another chat is refused and audited."""
    staff = ChatUser(demo.engine, "staff-chat")
    await staff.send("/start STAF2468")
    staff_button = staff.button("签发绑定码")
    driver = ChatUser(demo.engine, "driver-chat")
    await driver.send("/start DRVA2468")
    await driver.press_data(staff_button.data)
    assert "不属于当前对话" in driver.text
    async with demo.sessions() as s:
        assert (
            await s.exec(select(AuditEntry).where(AuditEntry.action == "button.forged"))
        ).first() is not None
