"""Writing notices to people into the outbox, in the same transaction as the fact that causes them.
Templates are referenced by name; notifications/ renders and delivers them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import ChatBinding, OutboxMessage, Staff


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


async def enqueue(
    session: AsyncSession,
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
) -> bool:
    """Insert one outbox row unless its dedupe key exists. Returns True when a row was written.
    `now` (the injected clock) makes the row due from then; default: the wall clock."""
    values = {
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
    }
    row = OutboxMessage(**values)  # fills defaults (status, timestamps) the same way as the ORM would
    if now is not None:
        row.next_attempt_at = row.created_at = now
    data = row.model_dump(exclude={"id"})
    bind = session.get_bind()
    dialect = postgresql if bind.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(OutboxMessage).values(**data).on_conflict_do_nothing(index_elements=["dedupe_key"])
    result = await session.exec(stmt)  # type: ignore[call-overload]
    return bool(result.rowcount)


async def subject_chats(session: AsyncSession, subject_id: int) -> list[ChatBinding]:
    stmt = select(ChatBinding).where(ChatBinding.subject_id == subject_id, col(ChatBinding.active).is_(True))
    return list((await session.exec(stmt)).all())


async def notify_subject(
    session: AsyncSession,
    subject_id: int,
    *,
    event_key: str,
    template: str,
    context: dict[str, Any],
    kind: str = "notice",
    buttons: list[list[dict[str, Any]]] | None = None,
    legally_required: bool = False,
    now: datetime | None = None,
) -> int:
    """One row per bound chat of the subject; the key makes a repeated call write nothing new."""
    written = 0
    for b in await subject_chats(session, subject_id):
        written += await enqueue(
            session,
            channel=b.channel,
            chat_id=b.chat_id,
            template=template,
            context=context,
            dedupe_key=f"{event_key}|{b.channel}:{b.chat_id}",
            kind=kind,
            buttons=buttons,
            subject_id=subject_id,
            legally_required=legally_required,
            now=now,
        )
    return written


async def notify_staff(
    session: AsyncSession,
    staff: Staff,
    *,
    event_key: str,
    template: str,
    context: dict[str, Any],
    kind: str = "notice",
    buttons: list[list[dict[str, Any]]] | None = None,
    legally_required: bool = False,
    now: datetime | None = None,
) -> int:
    stmt = select(ChatBinding).where(ChatBinding.staff_id == staff.id, col(ChatBinding.active).is_(True))
    written = 0
    for b in (await session.exec(stmt)).all():
        written += await enqueue(
            session,
            channel=b.channel,
            chat_id=b.chat_id,
            template=template,
            context=context,
            dedupe_key=f"{event_key}|{b.channel}:{b.chat_id}",
            kind=kind,
            buttons=buttons,
            staff_id=staff.id,
            legally_required=legally_required,
            now=now,
        )
    return written
