"""What the delivery tests share: a migrated database real `python -m bot` processes can open together,
waiting while they work, numbered notices to count on arrival, and waiting until every row is marked."""

from __future__ import annotations

import asyncio
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from sqlmodel import func, select

from bot.app import App, build_app
from models import OutboxMessage, OutboxStatus
from models.db import drop_all, make_engine
from workflows.notices import enqueue
from workflows.settings import Settings


async def migrated_database(tmp_path: Path, name: str) -> str:
    """An empty, migrated database: the suite's PostgreSQL when it has one (rows are claimed with
    FOR UPDATE SKIP LOCKED there), else a SQLite file. Migrated here, once, so that processes starting
    together do not race to create the schema."""
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path}/{name}.db"
    if not url.startswith("sqlite"):
        engine = make_engine(url)
        async with engine.begin() as conn:
            await conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        await drop_all(engine)
        await engine.dispose()
    app = await build_app(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    await app.close()
    return url


async def until(predicate: Callable[[], bool], timeout: float) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("condition not reached")


NUMBER = re.compile(r"REF\d{4}")


async def queue_numbered_notices(
    app: App, count: int, *, first_chat: int, key: str, chats: int | None = None, now: datetime | None = None
) -> None:
    """`count` Telegram notices numbered REF0000…, one per chat from first_chat on (or over `chats` chats in
    turn), so a test can tell by its text which arrived and how often. `now`: due from then (a frozen clock)."""
    async with app.sessions() as s, s.begin():
        for i in range(count):
            await enqueue(
                s,
                channel="telegram",
                chat_id=str(first_chat + (i % chats if chats else i)),
                template="repair_accept",
                context={"ref_no": f"REF{i:04d}", "decision_no": "X"},
                dedupe_key=f"{key}:{i}",
                now=now,
            )


def numbers(texts: Iterable[str | None]) -> Counter[str]:
    """How often each notice number arrived."""
    return Counter(m.group(0) for text in texts if (m := NUMBER.search(text or "")))


async def wait_all_marked(app: App, channel: str, timeout: float = 10) -> int:
    """Rows of the channel not yet marked sent, after waiting for them up to `timeout` (the last sends are
    marked a moment after the server saw them)."""
    stmt = select(func.count()).where(
        OutboxMessage.channel == channel, OutboxMessage.status != OutboxStatus.SENT
    )
    for _ in range(int(timeout / 0.05)):
        async with app.sessions() as s:
            not_sent = int((await s.exec(stmt)).one())
        if not_sent == 0:
            break
        await asyncio.sleep(0.05)
    return not_sent
