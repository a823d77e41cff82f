"""Issue #10: two `credit-bot deliver` processes share one send budget through Redis (SEND_BUDGET), so
together they stay within Telegram's limits (the local Bot API server answers 429 past them), and every
notice arrives exactly once. Skipped, saying so, where no Redis server runs on 127.0.0.1:6379."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import build_app
from tests.support.botapi import FakeBotAPI, TelegramLimits
from tests.support.processes import migrated_database, numbers, queue_numbered_notices
from workflows.settings import Settings

REDIS = ("127.0.0.1", 6379)
NOTICES = 240  # about eight seconds at the shared 29/s


def _redis_up() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=0.5):
            return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(
    not _redis_up(), reason="no Redis on 127.0.0.1:6379: shared budget not tested"
)


async def test_two_deliverers_share_one_budget(tmp_path: Path) -> None:
    url = await migrated_database(tmp_path, "shared")
    app = await build_app(Settings(database_url=url, _env_file=None), migrate_db=False)  # type: ignore[call-arg]
    await queue_numbered_notices(app, NOTICES, first_chat=820000, key="shared")
    await app.close()

    # A bot id of its own: the budget's Redis keys belong to this run only.
    token = f"{random.randint(10**8, 10**9)}:SHARED-BUDGET-TEST"
    async with FakeBotAPI(token, limits=TelegramLimits()) as api:
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_API_BASE": api.base_url,
            "SEND_BUDGET": f"redis://{REDIS[0]}:{REDIS[1]}/0",
        }
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "bot", "deliver"],
                env=env,
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(2)
        ]
        try:
            for _ in range(600):
                if len(api.sent) >= NOTICES:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # anything sent twice would arrive now
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(10)

    delivered = numbers(x.text for x in api.sent)
    assert len(delivered) == NOTICES and set(delivered.values()) == {1}
    assert api.too_many_requests <= NOTICES // 100, f"{api.too_many_requests} answers 429"
