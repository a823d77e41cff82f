"""Writing notices to people into the outbox, in the same transaction as the fact that causes them.
Templates are referenced by name; notifications/ renders and delivers them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import ChatBinding, OutboxMessage, OutboxStatus, Staff, utcnow


def notice_button(label: str, label_en: str, action: str, **payload: Any) -> dict[str, Any]:
    return {"label": label, "label_en": label_en, "action": action, "payload": payload}


def jsonable(value: Any) -> Any:
    """Outbox context is stored as JSON: dates become ISO strings."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def outbox_row(
    *,
    channel: str,
    chat_id: str,
    template: str,
    context: dict[str, Any],
    dedupe_key: str,
    kind: str = "notice",
    buttons: list[list[dict[str, Any]]] | None = None,
    subject_id: int | None = None,
    staff_id: int | None = None,
    legally_required: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The column values of one outbox row (every column, so many rows insert as one executemany).
    `now` (the injected clock) makes the row due from then; default: the wall clock."""
    at = now or utcnow()
    return {
        "dedupe_key": dedupe_key[:200],
        "channel": channel,
        "chat_id": chat_id,
        "kind": kind,
        "template": template,
        "context": jsonable(context),
        "buttons": buttons or [],
        "subject_id": subject_id,
        "staff_id": staff_id,
        "legally_required": legally_required,
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": at,
        "claimed_by": None,
        "claimed_at": None,
        "sent_at": None,
        "error": None,
        "created_at": at,
    }


async def enqueue_many(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Insert the rows whose dedupe key is new, in one statement; returns how many were written.
    Sweeps write thousands of rows: one executemany, not a compiled INSERT per row."""
    if not rows:
        return 0
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(OutboxMessage)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(col(OutboxMessage.id))
    )
    result = await (await session.connection()).execute(stmt, rows)
    return len(result.all())


async def enqueue(session: AsyncSession, **fields: Any) -> bool:
    """One outbox row unless its dedupe key exists (fields as outbox_row). True when written."""
    return await enqueue_many(session, [outbox_row(**fields)]) == 1


async def subject_chats(session: AsyncSession, subject_id: int) -> list[ChatBinding]:
    stmt = select(ChatBinding).where(ChatBinding.subject_id == subject_id, col(ChatBinding.active).is_(True))
    return list((await session.exec(stmt)).all())


def rows_for_chats(
    chats: Iterable[tuple[str, str]], *, event_key: str, **fields: Any
) -> list[dict[str, Any]]:
    """One row per chat; the key (event, occasion, recipient) makes a repeated call write nothing new."""
    return [
        outbox_row(channel=channel, chat_id=chat_id, dedupe_key=f"{event_key}|{channel}:{chat_id}", **fields)
        for channel, chat_id in chats
    ]


async def notify_subject(session: AsyncSession, subject_id: int, *, event_key: str, **fields: Any) -> int:
    """Every bound chat of the subject (fields as outbox_row: template, context, kind, buttons, ...)."""
    chats = [(b.channel, b.chat_id) for b in await subject_chats(session, subject_id)]
    return await enqueue_many(
        session, rows_for_chats(chats, event_key=event_key, subject_id=subject_id, **fields)
    )


async def notify_staff(session: AsyncSession, staff: Staff, *, event_key: str, **fields: Any) -> int:
    """Every chat bound to the staff member."""
    stmt = select(ChatBinding).where(ChatBinding.staff_id == staff.id, col(ChatBinding.active).is_(True))
    chats = [(b.channel, b.chat_id) for b in (await session.exec(stmt)).all()]
    return await enqueue_many(
        session, rows_for_chats(chats, event_key=event_key, staff_id=staff.id, **fields)
    )
