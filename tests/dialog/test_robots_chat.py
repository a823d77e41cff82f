"""Issue #11: an admin registers a group robot in chat (platform, department, address, secret, name),
tests and removes it; wrong input gets a clear answer; nobody else can; the secret is never shown back."""

from __future__ import annotations

import re

from sqlmodel import select

from bot.app import App
from models import AuditEntry, OutboxMessage, Robot
from tests.support.chat import ChatUser

WEBHOOK = "https://oapi.dingtalk.com/robot/send?access_token=tok0123456789"
SECRET = "SEC0123456789abcdef"


async def test_an_admin_adds_tests_and_removes_a_dingtalk_robot_in_chat(demo: App) -> None:
    admin = ChatUser(demo.engine, "admin")
    await admin.send("/start ADMN2468")
    await admin.send("/menu")
    await admin.press("群机器人")
    assert "还没有群机器人" in admin.text
    await admin.press("添加群机器人")
    await admin.press("钉钉")
    await admin.press("信用科")
    await admin.send("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc")  # a WeCom address
    assert "这不像钉钉机器人的 webhook 地址" in admin.text
    await admin.send(WEBHOOK)
    assert "签名密钥" in admin.text
    await admin.send("too short")
    assert "8-256 个字符" in admin.text
    await admin.send(SECRET)
    await admin.send("信用科钉钉群")
    assert "已登记「信用科钉钉群」（钉钉 · 信用科）" in admin.text and "逾期督办" in admin.text
    assert SECRET not in admin.text and "tok0123456789" not in admin.text

    await admin.press("测试 信用科钉钉群")
    assert "测试消息已排队" in admin.text
    await admin.press("群机器人")
    assert "信用科钉钉群：钉钉 · 信用科" in admin.text and "正常" in admin.text
    assert SECRET not in admin.text and "tok0123456789" not in admin.text
    async with demo.sessions() as s:
        robot = (await s.exec(select(Robot))).one()
        queued = (await s.exec(select(OutboxMessage).where(OutboxMessage.channel == "robot"))).all()
        audit = (await s.exec(select(AuditEntry).where(AuditEntry.entity == "robot"))).all()
    assert robot.secret == SECRET and robot.webhook_url == WEBHOOK  # kept for sending
    assert [(q.chat_id, q.template) for q in queued] == [(str(robot.id), "robot_test")]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", queued[0].context["sent_at"])  # Beijing time, as shown
    assert [a.action for a in audit] == ["robot.add"] and SECRET not in str(audit[0].after)
    assert "tok0123456789" not in str(audit[0].after)

    await admin.press("移除 信用科钉钉群")
    assert "还没有群机器人" in admin.text


async def test_only_admins_manage_robots(demo: App) -> None:
    clerk = ChatUser(demo.engine, "clerk")
    await clerk.send("/start STAF2468")
    await clerk.send("/menu")
    assert not [b for b in clerk.buttons if "群机器人" in b.label]
    admin = ChatUser(demo.engine, "admin")
    await admin.send("/start ADMN2468")
    await admin.send("/menu")
    data = admin.button("群机器人").data
    await clerk.press_data(data)  # another chat's button: refused as forged
    assert "不属于当前对话" in clerk.text
