"""Issue #10: `credit-bot run --webhook`, two real instances behind a round-robin load balancer on one
database, with both Telegram libraries. Every update is answered exactly once, a request without the
secret token is refused, /healthz and /metrics answer on the webhook server, and a second long-polling
process on the same database refuses to start."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.support.balancer import RoundRobin
from tests.support.botapi import FakeBotAPI
from tests.support.processes import migrated_database

SECRET = "webhook-test-secret"
CHATS = 30
FIRST_CHAT = 730000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _healthy(http: aiohttp.ClientSession, base: str, timeout: float = 120) -> None:
    for _ in range(int(timeout / 0.2)):
        try:
            async with http.get(base + "/healthz") as answer:
                if answer.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{base}/healthz never answered 200")


@pytest.fixture(params=["aiogram", "ptb"])
async def instances(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[FakeBotAPI, RoundRobin, list[str]]]:
    url = await migrated_database(tmp_path, "webhook")
    ports = [_free_port(), _free_port()]
    backends = [f"http://127.0.0.1:{port}" for port in ports]
    async with FakeBotAPI() as api:
        balancer = RoundRobin(backends)
        await balancer.start()
        procs = []
        for port in ports:
            env = {
                **os.environ,
                "DATABASE_URL": url,
                "TELEGRAM_BOT_TOKEN": api.token,
                "TELEGRAM_API_BASE": api.base_url,
                "BOT_FRAMEWORK": request.param,
                "WEBHOOK_URL": balancer.url + "/telegram",
                "WEBHOOK_SECRET": SECRET,
                "WEBHOOK_LISTEN": f"127.0.0.1:{port}",
            }
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "bot", "run", "--webhook"],
                    env=env,
                    cwd=tmp_path,
                    stdout=subprocess.DEVNULL,
                    stderr=open(tmp_path / f"instance-{port}.log", "wb"),  # noqa: SIM115
                )
            )
        try:
            async with aiohttp.ClientSession() as http:
                for backend in backends:
                    await _healthy(http, backend)
            yield api, balancer, backends
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(15)
            await balancer.stop()


async def test_two_webhook_instances_answer_every_update_once(
    instances: tuple[FakeBotAPI, RoundRobin, list[str]],
) -> None:
    api, balancer, backends = instances
    assert api.webhook_url == balancer.url + "/telegram" and api.webhook_secret == SECRET

    # What one /help gets, then the load: two updates from each of 30 chats.
    mark = api.mark()
    api.push_text(FIRST_CHAT - 1, "/help")
    await api.wait_for(lambda s: s.chat_id == FIRST_CHAT - 1, since=mark)
    await api.wait_idle(quiet=0.5)
    per_help = len(api.messages_to(FIRST_CHAT - 1))
    for round_ in range(2):
        for chat in range(FIRST_CHAT, FIRST_CHAT + CHATS):
            api.push_text(chat, "/help" if round_ == 0 else "/lang")
    for _ in range(300):
        if all(len(api.messages_to(c)) >= per_help + 1 for c in range(FIRST_CHAT, FIRST_CHAT + CHATS)):
            break
        await asyncio.sleep(0.1)
    await api.wait_idle(quiet=1.0)

    for chat in range(FIRST_CHAT, FIRST_CHAT + CHATS):
        texts = [m.visible_text for m in api.messages_to(chat)]
        assert len(texts) == per_help + 1, (chat, texts)  # /help's answer and /lang's, each once
    assert all(status == 200 for _, status in api.webhook_posts)
    assert all(balancer.served[b] > 10 for b in backends)  # both instances took their share

    async with aiohttp.ClientSession() as http:
        update = {
            "update_id": 999999,
            "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}},
        }
        async with http.post(backends[0] + "/telegram", json=update) as forged:
            assert forged.status == 401  # no secret token: not Telegram
        async with http.post(
            backends[0] + "/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
        ) as forged:
            assert forged.status == 401
        async with http.get(backends[1] + "/healthz") as health:
            assert health.status == 200 and (await health.json())["status"] == "ok"
        async with http.get(backends[1] + "/metrics") as metrics:
            text = await metrics.text()
            assert 'credit_updates_total{kind="command"}' in text and "credit_handler_seconds_bucket" in text


async def test_a_second_poller_on_one_database_refuses_to_start(tmp_path: Path) -> None:
    url = await migrated_database(tmp_path, "webhook")
    async with FakeBotAPI() as api:
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_API_BASE": api.base_url,
        }
        first = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], env=env, cwd=tmp_path, stderr=subprocess.DEVNULL
        )
        try:
            await api.wait_for_call("getUpdates", timeout=30)
            second = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", env=env, cwd=tmp_path,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            _, err = await asyncio.wait_for(second.communicate(), 60)
            assert second.returncode == 2
            assert "已有另一个 credit-bot run" in err.decode() and "--webhook" in err.decode()
            assert first.poll() is None  # the first goes on polling
        finally:
            first.terminate()
            first.wait(15)
