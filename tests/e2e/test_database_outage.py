"""Issue #10: the database goes away in the middle of a batch (every connection reset, new ones refused, as
in a restart). Notices already sent are recorded once it is back, not sent again after the lease, and the
outage is not counted as a failed delivery attempt. PostgreSQL through a proxy the test cuts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import make_url
from sqlmodel import select

from bot.app import App, build_app
from bot.channels.telegram import make_bot
from bot.channels.telegram_sender import AiogramSender
from models import OutboxMessage, OutboxStatus
from models.db import is_sqlite
from notifications.delivery import OutgoingMessage
from tests.support.botapi import FakeBotAPI
from tests.support.processes import numbers, queue_numbered_notices
from tests.support.tcpproxy import CuttableProxy
from workflows.settings import Settings

NOTICES = 40
CUT_AFTER = 12  # sends
OUTAGE_SECONDS = 2.0


class CutAfterSends:
    """The real aiogram Sender; after its n-th send the database goes away for a while."""

    def __init__(self, sender: AiogramSender, proxy: CuttableProxy) -> None:
        self.channel = sender.channel
        self.sender = sender
        self.proxy = proxy
        self.sends = 0
        self.restored = asyncio.Event()

    async def send(self, chat_id: str, message: OutgoingMessage) -> None:
        await self.sender.send(chat_id, message)
        self.sends += 1
        if self.sends == CUT_AFTER:
            self.proxy.cut()  # sent, not yet marked: the mark meets the outage
            asyncio.get_running_loop().call_later(OUTAGE_SECONDS, self._restore)

    def _restore(self) -> None:
        self.proxy.restore()
        self.restored.set()


@pytest.fixture
async def proxied(fresh_db: str, clock) -> AsyncIterator[tuple[App, App, CuttableProxy]]:  # type: ignore[no-untyped-def]
    """The app twice on one database: through the proxy (the dispatcher) and direct (the test's eyes)."""
    if is_sqlite(fresh_db):
        pytest.skip("a database outage is a server going away: PostgreSQL only")
    url = make_url(fresh_db)
    proxy = CuttableProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    settings = Settings(database_url=through, _env_file=None)  # type: ignore[call-arg]
    app = await build_app(settings, clock=clock, migrate_db=False)
    direct = await build_app(Settings(database_url=fresh_db, _env_file=None), clock=clock, migrate_db=False)  # type: ignore[call-arg]
    yield app, direct, proxy
    await app.close()
    await direct.close()
    await proxy.stop()


async def test_sends_are_recorded_across_a_database_outage_and_none_repeats(
    proxied: tuple[App, App, CuttableProxy],
) -> None:
    app, direct, proxy = proxied
    now = app.engine.services.clock.now()
    await queue_numbered_notices(direct, NOTICES, first_chat=810000, key="outage", now=now)
    async with FakeBotAPI() as api:
        bot = make_bot(api.token, api.base_url)
        sender = CutAfterSends(AiogramSender(bot), proxy)
        # concurrency 4: a dozen sends happen before the cut, and some are in flight when it comes
        dispatcher = app.dispatcher({"telegram": sender})
        dispatcher.concurrency = 4
        stop = asyncio.Event()
        task = asyncio.create_task(dispatcher.run_forever(stop, idle_seconds=0.1))
        try:
            for _ in range(900):  # up to 90 s on a loaded machine
                async with direct.sessions() as s:
                    rows = (await s.exec(select(OutboxMessage))).all()
                if all(r.status == OutboxStatus.SENT for r in rows):
                    break
                await asyncio.sleep(0.1)
        finally:
            stop.set()
            await asyncio.wait_for(task, 40)
            await bot.session.close()
        assert sender.restored.is_set(), f"the outage should have happened mid-batch ({sender.sends} sends)"
        delivered = numbers(x.text for x in api.sent)

    assert sorted(delivered) == [f"REF{i:04d}" for i in range(NOTICES)]
    assert set(delivered.values()) == {1}, "a notice sent before the outage was sent again"
    assert {r.status for r in rows} == {OutboxStatus.SENT}
    assert {r.attempts for r in rows} == {1}  # the outage cost no delivery attempt
