"""Issue #11: alerts to group robots go through the outbox with its guarantees. kill -9 in the middle of
delivery, then a restart: every alert arrives, none is lost, and only one in flight per robot at the kill
may arrive twice. Real processes (`credit-bot scheduler` delivers robots without a Telegram token), real
HTTP to the local 飞书 fake, which checks signatures and per-robot limits."""

from __future__ import annotations

import os
import signal
from collections import Counter
from pathlib import Path

from bot.app import build_app
from tests.e2e.test_delivery_crash import spawn
from tests.support.processes import numbers, until, wait_all_marked
from tests.support.robots import FakeRobots
from workflows import robots as registry
from workflows.demo_data import load_demo
from workflows.notices import enqueue
from workflows.settings import Settings

ROBOTS, PER_ROBOT = 3, 20
SECRET = "feishu-secret-0123"


async def test_kill_9_while_alerting_robots_then_restart_loses_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/robots-crash.db"
    async with FakeRobots() as fake:
        app = await build_app(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
        now = app.engine.services.clock.now()
        async with app.sessions() as s, s.begin():
            await load_demo(s, app.engine.services.clock)
            for r in range(ROBOTS):
                robot = await registry.add_robot(
                    s, name=f"飞书群{r}", department="信用科", kind="feishu",
                    webhook_url=fake.add_feishu(f"hook{r}", SECRET), secret=SECRET, notice_kinds=None,
                    actor="test", now=now,
                )  # fmt: skip
                for i in range(PER_ROBOT):
                    await enqueue(
                        s,
                        channel=registry.ROBOT_CHANNEL,
                        chat_id=str(robot.id),
                        template="robot_test",
                        context={
                            "robot_name": robot.name,
                            "department": "信用科",
                            "sent_at": f"REF{r}{i:03d}",
                        },
                        dedupe_key=f"crash:{r}:{i}",
                        kind="escalation",
                        now=now,
                    )
        await app.close()

        def delivered() -> Counter[str]:
            return numbers(x.text for x in fake.received)

        env = {**os.environ, "DATABASE_URL": url, "OUTBOX_LEASE_SECONDS": "1"}
        env.pop("TELEGRAM_BOT_TOKEN", None)
        first = spawn(env, tmp_path, "scheduler")
        try:
            await until(lambda: len(fake.received) >= 15, 90)
        finally:
            first.send_signal(signal.SIGKILL)  # no cleanup: rows in flight stay 'sending'
            first.wait()
        assert len(delivered()) < ROBOTS * PER_ROBOT, "the first process should not have finished"

        second = spawn(env, tmp_path, "scheduler")
        app = await build_app(Settings(database_url=url, _env_file=None), migrate_db=False)  # type: ignore[call-arg]
        try:
            await until(lambda: len(delivered()) == ROBOTS * PER_ROBOT, 90)
            not_sent = await wait_all_marked(app, registry.ROBOT_CHANNEL)
        finally:
            second.terminate()
            second.wait(10)
            await app.close()

    counts = delivered()
    assert len(counts) == ROBOTS * PER_ROBOT  # nothing lost
    assert sum(n - 1 for n in counts.values()) <= ROBOTS  # at most the one in flight per robot
    assert not_sent == 0
    assert sum(fake.refusals.values()) == 0  # signed, and within each robot's limits
