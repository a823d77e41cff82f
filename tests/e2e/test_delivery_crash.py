"""kill -9 in the middle of delivery, then a restart: every notice arrives, none is lost, and only the
few that were in flight when the process died may arrive twice. Real processes (`credit-bot deliver`),
real HTTP to the local Bot API server, which enforces Telegram's rate limits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bot.app import build_app
from tests.support.botapi import FakeBotAPI, TelegramLimits
from tests.support.processes import numbers, queue_numbered_notices, until, wait_all_marked
from workflows.settings import Settings

NOTICES, CHATS = 120, 60


def spawn(env: dict[str, str], cwd: Path, command: str = "deliver") -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", command],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_kill_9_mid_delivery_then_restart_loses_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/crash.db"
    app = await build_app(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    await queue_numbered_notices(app, NOTICES, first_chat=800000, chats=CHATS, key="crash")
    await app.close()

    async with FakeBotAPI(limits=TelegramLimits()) as api:
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_API_BASE": api.base_url,
            # Short, so the restart reclaims what the killed process held without a long wait; not 1 s:
            # thirty claimed notices wait up to a second for the budget, and would expire over and over.
            "OUTBOX_LEASE_SECONDS": "5",
        }
        first = spawn(env, tmp_path)
        try:
            await until(lambda: len(api.sent) >= 30, 60)
        finally:
            first.send_signal(signal.SIGKILL)  # no cleanup, no marking: rows in flight stay 'sending'
            first.wait()
        sent_before_kill = len(api.sent)
        assert sent_before_kill < NOTICES, "the first process should not have finished"

        def delivered() -> Counter[str]:
            return numbers(s.text for s in api.sent)

        second = spawn(env, tmp_path)
        app = await build_app(Settings(database_url=url, _env_file=None), migrate_db=False)  # type: ignore[call-arg]
        try:
            await until(lambda: len(delivered()) == NOTICES, 90)
            not_sent = await wait_all_marked(app, "telegram")
        finally:
            second.terminate()
            second.wait(10)
            await app.close()

    counts = delivered()
    assert set(counts) == {f"REF{i:04d}" for i in range(NOTICES)}  # nothing lost
    repeated = sum(n - 1 for n in counts.values())
    assert repeated <= 30  # at most the messages in flight at the kill (the dispatcher's concurrency)
    assert not_sent == 0
