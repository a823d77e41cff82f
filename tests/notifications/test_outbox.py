"""Outbox rows: written once per key, fanned out to a subject's bound chats."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from bot.app import App
from models import ChatBinding, OutboxMessage, Subject, SubjectKind
from workflows.notices import enqueue, notify_subject


async def test_same_key_is_written_once(app: App) -> None:
    async with app.sessions() as s, s.begin():
        first = await enqueue(
            s, channel="telegram", chat_id="1", template="t", context={"d": date(2026, 1, 2)}, dedupe_key="k"
        )
        again = await enqueue(s, channel="telegram", chat_id="1", template="t", context={}, dedupe_key="k")
    assert (first, again) == (True, False)
    async with app.sessions() as s:
        rows = (await s.exec(select(OutboxMessage))).all()
    assert len(rows) == 1 and rows[0].context == {"d": "2026-01-02"} and rows[0].status == "pending"


async def test_notify_subject_fans_out_to_bound_chats(app: App) -> None:
    async with app.sessions() as s, s.begin():
        e = Subject(kind=SubjectKind.ENTERPRISE, name="甲", uscc="91350100M000100Y43")
        s.add(e)
        await s.flush()
        s.add_all(
            [ChatBinding(channel="telegram", chat_id=c, user_id=c, subject_id=e.id) for c in ("1", "2")]
        )
        await s.flush()
        assert await notify_subject(s, e.id, event_key="ev", template="t", context={}) == 2
        assert await notify_subject(s, e.id, event_key="ev", template="t", context={}) == 0
