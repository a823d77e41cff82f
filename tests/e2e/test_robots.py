"""Issue #11 over real HTTP: group robots of 企业微信, 钉钉 and 飞书 get a department's alerts through the
outbox and the robot Sender, against local fakes that check keys, signatures and per-robot limits
(tests/support/robots.py)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.app import App, build_app
from models import OutboxMessage, OutboxStatus, Robot
from notifications.robots import RobotLimiter, RobotSender
from tests.support.robots import FakeRobots, Platform, Refusal
from workflows import robots as registry
from workflows.notices import enqueue
from workflows.settings import Settings

LINK = "https://t.me/credit_transport_bot"
SECRET = "SEC0123456789abcdef"


class WallClock:
    """Epoch seconds shared by the fake platforms, the robot Sender and its limiter; sleeping advances it."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
async def fake() -> AsyncIterator[FakeRobots]:
    async with FakeRobots() as server:
        yield server


async def _add(app: App, name: str, kind: str, url: str, secret: str | None) -> Robot:
    async with app.sessions() as s, s.begin():
        return await registry.add_robot(
            s, name=name, department="信用科", kind=kind, webhook_url=url, secret=secret,
            notice_kinds=None, actor="test", now=app.engine.services.clock.now(),
        )  # fmt: skip


async def _alert(app: App, robot: Robot, n: int) -> None:
    async with app.sessions() as s, s.begin():
        await enqueue(
            s,
            channel=registry.ROBOT_CHANNEL,
            chat_id=str(robot.id),
            template="robot_test",
            context={"robot_name": robot.name, "department": "信用科", "sent_at": f"第{n}条"},
            dedupe_key=f"robot-test:{robot.id}:{n}",
            kind="escalation",
            now=app.engine.services.clock.now(),
        )


async def _rows(app: App) -> list[OutboxMessage]:
    async with app.sessions() as s:
        return list((await s.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all())


def _url(fake: FakeRobots, kind: str, secret: str | None, ident: str = "r1") -> str:
    if kind == "wecom":
        return fake.add_wecom(ident)
    if kind == "dingtalk":
        return fake.add_dingtalk(ident, secret)
    return fake.add_feishu(ident, secret)


@pytest.mark.parametrize("kind", ["wecom", "dingtalk", "feishu"])
async def test_a_signed_alert_arrives_with_the_link_to_the_assistant(
    demo: App, fake: FakeRobots, kind: str
) -> None:
    robot = await _add(
        demo,
        "信用科群",
        kind,
        _url(fake, kind, None if kind == "wecom" else SECRET),
        None if kind == "wecom" else SECRET,
    )
    await _alert(demo, robot, 1)
    sender = RobotSender(demo.sessions, action_link=LINK)
    try:
        stats = await demo.dispatcher({registry.ROBOT_CHANNEL: sender}).drain()
    finally:
        await sender.close()
    assert stats.sent == 1
    [got] = fake.received
    assert got.platform == Platform(kind)
    assert "群机器人测试" in got.text and "信用科" in got.text and "第1条" in got.text
    assert "在信用交通助手中处理" in str(got.body) and LINK in str(got.body)
    assert sum(fake.refusals.values()) == 0


@pytest.mark.parametrize("kind", ["wecom", "dingtalk", "feishu"])
async def test_a_refused_key_or_signature_marks_the_robot_broken_and_tells_the_admins(
    demo: App, fake: FakeRobots, kind: str
) -> None:
    if kind == "wecom":
        url = fake.add_wecom("k1")
        fake.revoke(Platform.WECOM, "k1")  # the robot was removed from the group
        secret = None
    else:
        url, secret = _url(fake, kind, SECRET), "SECwrong"  # signed with the wrong secret
    robot = await _add(demo, "信用科群", kind, url, secret)
    await _alert(demo, robot, 1)
    await _alert(demo, robot, 2)
    sender = RobotSender(demo.sessions, action_link=LINK)
    try:
        await demo.dispatcher({registry.ROBOT_CHANNEL: sender}).drain()
    finally:
        await sender.close()

    async with demo.sessions() as s:
        broken = await s.get(Robot, robot.id)
    assert broken is not None and broken.broken_at is not None
    rows = await _rows(demo)
    robot_rows = [r for r in rows if r.channel == registry.ROBOT_CHANNEL]
    assert [r.status for r in robot_rows] == [OutboxStatus.FAILED, OutboxStatus.FAILED]
    assert fake.received == [] and fake.requests == 1  # refused once, then nothing more is tried
    told = [r for r in rows if r.template == registry.BROKEN_TEMPLATE]
    assert told and all(r.channel != registry.ROBOT_CHANNEL for r in told)  # the admins, in their chats
    assert told[0].context["robot_name"] == "信用科群" and SECRET not in str(told[0].context)
    reason = Refusal.INVALID_KEY if kind == "wecom" else Refusal.BAD_SIGNATURE
    assert fake.refused(Platform(kind), reason) == 1


async def test_an_over_limit_answer_is_waited_out(demo: App) -> None:
    clock = WallClock(demo.engine.services.clock.now().timestamp())
    # The platform allows fewer than we think (2 a minute): its 45009 is waited out, not a failure.
    async with FakeRobots(clock=clock, wecom_per_minute=2) as fake:
        robot = await _add(demo, "信用科群", "wecom", fake.add_wecom("k1"), None)
        for n in range(3):
            await _alert(demo, robot, n)
        sender = RobotSender(
            demo.sessions,
            action_link=LINK,
            limiter=RobotLimiter(clock=clock, sleep=clock.sleep),
            wall_clock=clock,
        )
        dispatcher = demo.dispatcher({registry.ROBOT_CHANNEL: sender})
        try:
            await dispatcher.drain()
            rows = await _rows(demo)
            assert [r.status for r in rows] == [OutboxStatus.SENT, OutboxStatus.SENT, OutboxStatus.PENDING]
            assert rows[2].attempts == 0  # the limit is not the message's fault
            assert fake.refused(Platform.WECOM, Refusal.RATE_LIMITED) == 1
            demo.engine.services.clock.advance(seconds=61)  # type: ignore[attr-defined]
            clock.now += 61
            await dispatcher.drain()
        finally:
            await sender.close()
    assert [r.status for r in await _rows(demo)] == [OutboxStatus.SENT] * 3
    assert [m.text.count("第") for m in fake.received] == [1, 1, 1]


async def test_an_admin_adds_a_dingtalk_robot_with_one_command_and_its_test_arrives_signed(
    fake: FakeRobots, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/robots.db"
    app = await build_app(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    async with app.sessions() as s, s.begin():
        from workflows.demo_data import load_demo

        await load_demo(s, app.engine.services.clock)
    await app.close()
    webhook = fake.add_dingtalk("tok123", SECRET)
    env = {**os.environ, "DATABASE_URL": url}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "robots", *args], env=env, cwd=tmp_path, capture_output=True,
            text=True, timeout=60,
        )  # fmt: skip

    added = cli("add", "信用科钉钉群", "--department", "信用科", "--kind", "dingtalk", "--webhook", webhook,
                "--secret", SECRET)  # fmt: skip
    assert added.returncode == 0, added.stderr
    listed = cli("list")
    assert "信用科钉钉群" in listed.stdout and "钉钉" in listed.stdout
    for secret_part in ("tok123", SECRET):
        assert secret_part not in added.stdout + listed.stdout  # never shown again

    tested = await asyncio.to_thread(cli, "test", "信用科钉钉群")
    assert tested.returncode == 0, tested.stderr
    [got] = fake.received
    assert got.platform == Platform.DINGTALK and "信用科钉钉群" in got.text
    assert sum(fake.refusals.values()) == 0  # signed as 加签 requires

    wrong = cli("add", "飞书群", "--department", "信用科", "--kind", "feishu", "--webhook", webhook)
    assert wrong.returncode == 1 and "不像飞书机器人" in wrong.stderr
    assert cli("remove", "信用科钉钉群").returncode == 0
    assert "还没有群机器人" in cli("list").stdout


async def test_the_next_sweeps_overdue_escalation_and_digest_for_the_department_reach_its_robot(
    demo: App, fake: FakeRobots
) -> None:
    """The issue's "done when": a DingTalk robot added to 信用科 gets the daily sweep's overdue escalation
    (and the department's digest), signed, through the outbox; another department's robot gets nothing."""
    from datetime import date

    from notifications.sweeps import digests, sweep_deadlines
    from tests.notifications.test_alert_routing import overdue_repair_review
    from tests.notifications.test_sweeps import at

    robot = await _add(demo, "信用科钉钉群", "dingtalk", fake.add_dingtalk("tok1", SECRET), SECRET)
    async with demo.sessions() as s, s.begin():
        other = await registry.add_robot(
            s, name="支队飞书群", department="执法支队", kind="feishu", webhook_url=fake.add_feishu("h2", SECRET),
            secret=SECRET, notice_kinds=None, actor="test", now=demo.engine.services.clock.now(),
        )  # fmt: skip
    await overdue_repair_review(demo)  # 安达, supervised by 信用科
    from tests.dialog.test_staff_review import _submitted_repair

    await _submitted_repair(demo)  # an item in 信用科's queue for the digest
    day = date(2026, 11, 24)
    await sweep_deadlines(demo.sessions, now=at(day), calendar=demo.engine.services.calendar)
    async with demo.sessions() as s, s.begin():
        await digests(s, today=day, now=at(day), calendar=demo.engine.services.calendar)
    rows = [r for r in await _rows(demo) if r.channel == registry.ROBOT_CHANNEL]
    assert {(r.chat_id, r.template) for r in rows} == {
        (str(robot.id), "deadline_escalation"),
        (str(robot.id), "daily_digest"),
    }
    assert all(r.chat_id != str(other.id) for r in rows)

    sender = RobotSender(demo.sessions, action_link=LINK)
    demo.engine.services.clock.current = at(day)  # type: ignore[attr-defined]
    try:
        await demo.dispatcher({registry.ROBOT_CHANNEL: sender}).drain()
    finally:
        await sender.close()
    texts = [m.text for m in fake.messages(Platform.DINGTALK)]
    assert any("信用修复申请 XF202611200001" in t for t in texts)
    assert any("信用科" in t and "今日待办" in t for t in texts)
    assert sum(fake.refusals.values()) == 0
