"""Writing notices to people into the outbox, in the same transaction as the fact that causes them.
Templates are referenced by name; notifications/ renders and delivers them. Also what a delivery outcome
means for the domain: a chat that is gone loses its bindings, and a record is served (三书同达, §6) only
once one chat has received all three notices."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    AuditEntry,
    ChatBinding,
    CreditRecord,
    DataTransfer,
    OutboxMessage,
    OutboxStatus,
    RecordStatus,
    Staff,
    StaffRole,
    Subject,
    utcnow,
)
from workflows.alert_groups import alert_group_of
from workflows.audit import log_change
from workflows.errors import UserError

log = logging.getLogger(__name__)

SANSHU_KIND = "sanshu"  # the outbox kind of the three 三书同达 notices (workflows/penalties.py)
UNDELIVERABLE_TEMPLATE = "notice_undeliverable"


def notice_button(label: str, label_en: str, action: str, **payload: Any) -> dict[str, Any]:
    return {"label": label, "label_en": label_en, "action": action, "payload": payload}


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


def jsonable(value: Any) -> Any:
    """Outbox context is stored as JSON: dates become ISO strings. A value that is JSON already comes
    back as the same object, so the rows a sweep writes from one context serialise it once."""
    if type(value) in _JSON_SCALARS:
        return value
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, dict):
        converted: dict[Any, Any] | None = None  # a copy, made at the first value that changes
        for k, v in value.items():
            if type(v) not in _JSON_SCALARS and (new := jsonable(v)) is not v:
                converted = converted or dict(value)
                converted[k] = new
        return value if converted is None else converted
    if isinstance(value, list):
        items = [jsonable(v) for v in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    if isinstance(value, tuple):
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
    Sweeps write thousands of rows: one executemany, not a compiled INSERT per row (on PostgreSQL one
    INSERT ... SELECT FROM unnest of one array per column: bench/sweep.py writes ~76,000 reminders)."""
    if not rows:
        return 0
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        return await _insert_unnest(conn, rows)
    stmt = (
        sqlite.insert(OutboxMessage)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(col(OutboxMessage.id))
    )
    result = await conn.execute(stmt, rows)
    return len(result.all())


async def _insert_unnest(conn: AsyncConnection, rows: list[dict[str, Any]]) -> int:
    """PostgreSQL: the rows as one array per column, each value through its column type's bind
    processing as an ordinary insert would. A column with one value in every row (status, times, ...)
    goes as one parameter, and JSON is serialised once per shared object (rows of one event)."""
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    names = list(rows[0])
    params: list[Any] = []
    arrays: list[str] = []  # unnest's arguments
    selected: list[str] = []  # what each column gets: the unnested array, or the one value
    for name in names:
        column = table.c[name]
        process = column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        values = [row[name] for row in rows]
        if process is not None:
            done: dict[Any, Any] = {}  # by identity (a shared context), falsy ones by repr ([], {}, None)
            values = [
                done[k] if (k := id(v) if v else repr(v)) in done else done.setdefault(k, process(v))
                for v in values
            ]
        sql_type = column.type.compile(dialect=conn.dialect)
        first = values[0]
        if name != "dedupe_key" and all(v == first and type(v) is type(first) for v in values):
            params.append(first)
            selected.append(f"${len(params)}::{sql_type}")
        else:
            params.append(values)
            arrays.append(f"${len(params)}::{sql_type}[]")
            selected.append(f"u.c{len(arrays)}")
    sql = (
        f"WITH written AS (INSERT INTO {table.name} ({', '.join(names)}) "
        f"SELECT {', '.join(selected)} FROM unnest({', '.join(arrays)}) "
        f"AS u({', '.join(f'c{n}' for n in range(1, len(arrays) + 1))}) "
        "ON CONFLICT (dedupe_key) DO NOTHING RETURNING 1) SELECT count(*) FROM written"
    )
    return int((await conn.exec_driver_sql(sql, tuple(params))).scalar_one())


async def enqueue(session: AsyncSession, **fields: Any) -> bool:
    """One outbox row unless its dedupe key exists (fields as outbox_row). True when written."""
    return await enqueue_many(session, [outbox_row(**fields)]) == 1


async def subject_chats(session: AsyncSession, subject_id: int) -> list[ChatBinding]:
    stmt = select(ChatBinding).where(ChatBinding.subject_id == subject_id, col(ChatBinding.active).is_(True))
    return list((await session.exec(stmt)).all())


def chat_key(event_key: str, channel: str, chat_id: str) -> str:
    """The dedupe key of one event's notice to one chat."""
    return f"{event_key}|{channel}:{chat_id}"


def sanshu_event_key(record_id: int, template: str) -> str:
    return f"record:{record_id}:{template}"


def rows_for_chats(
    chats: Iterable[tuple[str, str]], *, event_key: str, **fields: Any
) -> list[dict[str, Any]]:
    """One row per chat; the key (event, occasion, recipient) makes a repeated call write nothing new.
    The rows share one context dict (serialised once on PostgreSQL)."""
    rows: list[dict[str, Any]] = []
    for channel, chat_id in chats:
        dedupe_key = chat_key(event_key, channel, chat_id)
        if rows:
            rows.append({**rows[0], "channel": channel, "chat_id": chat_id, "dedupe_key": dedupe_key[:200]})
        else:
            rows.append(outbox_row(channel=channel, chat_id=chat_id, dedupe_key=dedupe_key, **fields))
    return rows


async def _chats_where(session: AsyncSession, *where: ColumnElement[bool]) -> list[tuple[str, str]]:
    """(channel, chat_id) of the active bindings that match. The session is flushed first only when a
    binding waits in it: the daily scan takes down ~1,000 records and tells each subject, and its
    changes then go in one batched flush instead of two statements per record (bench/sweep.py)."""
    if any(isinstance(o, ChatBinding) for o in (*session.new, *session.dirty, *session.deleted)):
        await session.flush()
    b = ChatBinding
    stmt = select(b.channel, b.chat_id).where(*where, col(b.active).is_(True))
    return [
        (channel, chat_id) for channel, chat_id in (await (await session.connection()).execute(stmt)).all()
    ]


async def notify_subject(session: AsyncSession, subject_id: int, *, event_key: str, **fields: Any) -> int:
    """Every bound chat of the subject (fields as outbox_row: template, context, kind, buttons, ...)."""
    chats = await _chats_where(session, col(ChatBinding.subject_id) == subject_id)
    return await enqueue_many(
        session, rows_for_chats(chats, event_key=event_key, subject_id=subject_id, **fields)
    )


async def staff_chats(session: AsyncSession, staff: Staff) -> list[ChatBinding]:
    stmt = select(ChatBinding).where(ChatBinding.staff_id == staff.id, col(ChatBinding.active).is_(True))
    return list((await session.exec(stmt)).all())


async def notify_staff(session: AsyncSession, staff: Staff, *, event_key: str, **fields: Any) -> int:
    """Every chat bound to the staff member."""
    chats = await _chats_where(session, col(ChatBinding.staff_id) == staff.id)
    return await enqueue_many(
        session, rows_for_chats(chats, event_key=event_key, staff_id=staff.id, **fields)
    )


# -- delivery outcomes: the dispatcher calls these in the transaction that records the outcome ------


async def end_bindings_of_gone_chat(session: AsyncSession, channel: str, chat_id: str, *, reason: str) -> int:
    """The chat blocked the bot, was deleted or removed the bot: its bindings end, so nothing more is
    queued for it and no record counts as served there. Binding again (a new code) restores it."""
    stmt = select(ChatBinding).where(
        ChatBinding.channel == channel, ChatBinding.chat_id == chat_id, col(ChatBinding.active).is_(True)
    )
    bindings = list((await session.exec(stmt)).all())
    for binding in bindings:
        binding.active = False
        await log_change(
            session,
            actor="system",
            action="binding.chat_gone",
            entity="chat_binding",
            entity_id=binding.id,
            subject_id=binding.subject_id,
            before={"active": True},
            after={"active": False, "staff_id": binding.staff_id, "reason": reason[:300]},
        )
    # An alert group that removed the bot stops being one (an admin registers it again if it comes back).
    group = await alert_group_of(session, channel, chat_id)
    if group is not None:
        group.active = False
        await log_change(
            session,
            actor="system",
            action="alert_group.chat_gone",
            entity="alert_group",
            entity_id=group.id,
            before={"active": True},
            after={"active": False, "reason": reason[:300]},
        )
    return len(bindings)


def _staff_id(actor: str) -> int | None:
    kind, _, number = actor.partition(":")
    return int(number) if kind == "staff" and number.isdigit() else None


async def recorded_by(session: AsyncSession, record: CreditRecord) -> Staff | None:
    """The staff member who recorded the record: its origin ("staff:3"), else the actor of its
    record.create audit entry, else whoever ran the import it came from; None for cli, demo, unknown."""
    staff_id = _staff_id(record.origin)
    if staff_id is None:
        created = (
            await session.exec(
                select(AuditEntry.actor).where(
                    AuditEntry.subject_id == record.subject_id,
                    AuditEntry.action == "record.create",
                    AuditEntry.entity == "credit_record",
                    AuditEntry.entity_id == str(record.id),
                )
            )
        ).first()
        staff_id = _staff_id(created or "")
    origin, _, transfer_id = record.origin.partition(":")
    if staff_id is None and origin == "import" and transfer_id.isdigit():
        transfer = await session.get(DataTransfer, int(transfer_id))
        staff_id = _staff_id(transfer.actor) if transfer is not None else None
    return await session.get(Staff, staff_id) if staff_id is not None else None


async def settle_sanshu(session: AsyncSession, row: OutboxMessage, *, now: datetime, chat_gone: bool) -> None:
    """One of a record's 三书 notices was delivered, or failed for good. The record is served
    (notices_served_at) from when the first chat had all three; once no chat can get all three any
    more it is not served, and whoever recorded it is told to serve it another way (post, in person)."""
    from workflows.penalties import SANSHU_TEMPLATES  # penalties imports this module

    record_id = row.context.get("record_id")
    if row.kind != SANSHU_KIND or not isinstance(record_id, int):
        return
    # The lock orders the outcomes of one record's notices (several chats, several dispatchers).
    record = await session.get(CreditRecord, record_id, with_for_update=True, populate_existing=True)
    if record is None or await served_in_writing(session, record_id):
        return  # served on paper: what happens to the chat notices no longer changes that
    bound = await session.exec(
        select(ChatBinding.channel, ChatBinding.chat_id).where(ChatBinding.subject_id == record.subject_id)
    )
    chats = {(row.channel, row.chat_id), *((channel, chat_id) for channel, chat_id in bound.all())}
    keys = [
        chat_key(sanshu_event_key(record_id, template), channel, chat_id)
        for template in SANSHU_TEMPLATES
        for channel, chat_id in chats
    ]
    rows = (await session.exec(select(OutboxMessage).where(col(OutboxMessage.dedupe_key).in_(keys)))).all()
    by_chat: dict[tuple[str, str], list[OutboxMessage]] = {}
    for found in rows:
        by_chat.setdefault((found.channel, found.chat_id), []).append(found)
    complete = [  # when each chat that has all three got the last of them
        max(r.sent_at or now for r in chat_rows)
        for chat_rows in by_chat.values()
        if len(chat_rows) == len(SANSHU_TEMPLATES) and all(r.status == OutboxStatus.SENT for r in chat_rows)
    ]
    if complete:
        await _mark_served(session, record, min(complete))
        return
    in_flight = (OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.SENT)
    if any(
        len(chat_rows) == len(SANSHU_TEMPLATES) and all(r.status in in_flight for r in chat_rows)
        for chat_rows in by_chat.values()
    ):
        return  # another chat may still get all three
    await _mark_served(session, record, None)
    if record.status == RecordStatus.WITHDRAWN:  # a revoked decision needs no serving
        return
    # One notice per round of serving (the rows written together), however many of its rows fail.
    served_round = max(r.created_at for r in rows) if rows else row.created_at
    if not await _tell_recorder(session, record, served_round, chat_gone=chat_gone, now=now):
        log.info("record %s: 三书 undeliverable; reported already or no staff chat to report to", record.id)


SERVED_IN_WRITING = "record.served_in_writing"


async def served_in_writing(session: AsyncSession, record_id: int) -> bool:
    """Staff recorded that the 三书 were served on paper (邮寄送达 / 直接送达)."""
    stmt = select(AuditEntry.id).where(
        AuditEntry.action == SERVED_IN_WRITING,
        AuditEntry.entity == "credit_record",
        AuditEntry.entity_id == str(record_id),
    )
    return (await session.exec(stmt)).first() is not None


async def mark_served_in_writing(
    session: AsyncSession, record_id: int, *, staff: Staff, now: datetime
) -> CreditRecord:
    """The three notices could not reach a chat, so staff served them by post or in person: the record
    counts as served from now, and later chat outcomes do not unmark it."""
    record = await session.get(CreditRecord, record_id, with_for_update=True, populate_existing=True)
    if record is None:
        raise UserError("找不到该记录。", "No such record.")
    if record.notices_served_at is not None:
        raise UserError("该处罚的三书已送达，无需再登记。", "The three notices were served already.")
    record.notices_served_at = now
    await log_change(
        session,
        actor=f"staff:{staff.id}",
        action=SERVED_IN_WRITING,
        entity="credit_record",
        entity_id=record.id,
        subject_id=record.subject_id,
        before={"notices_served_at": None},
        after={"notices_served_at": jsonable(now)},
    )
    return record


async def _mark_served(session: AsyncSession, record: CreditRecord, served_at: datetime | None) -> None:
    if record.notices_served_at == served_at:
        return
    before = record.notices_served_at
    record.notices_served_at = served_at
    await log_change(
        session,
        actor="system",
        action="record.notices_served" if served_at else "record.notices_unserved",
        entity="credit_record",
        entity_id=record.id,
        subject_id=record.subject_id,
        before={"notices_served_at": jsonable(before)},
        after={"notices_served_at": jsonable(served_at)},
    )


async def _tell_recorder(
    session: AsyncSession, record: CreditRecord, served_round: datetime, *, chat_gone: bool, now: datetime
) -> int:
    """The staff member who recorded the record, or every active admin when that one cannot be reached;
    returns the outbox rows written (0 also when this round was reported already)."""
    subject = await session.get(Subject, record.subject_id)
    fields: dict[str, Any] = {
        "event_key": f"record:{record.id}:undeliverable:{served_round:%Y%m%d%H%M%S%f}",
        "template": UNDELIVERABLE_TEMPLATE,
        "context": {
            "decision_no": record.decision_no,
            "decision_date": record.decision_date,
            "authority": record.authority,
            "subject_name": subject.name if subject else "",
            "chat_gone": chat_gone,
        },
        "kind": "undeliverable",
        "legally_required": True,  # serving a decision is a duty: not mutable, and its failure is reported
        "now": now,
        "buttons": [
            [
                notice_button(
                    "📮 已书面送达", "📮 Served in writing", "staff.served_in_writing", record_id=record.id
                )
            ]
        ],
    }
    recorder = await recorded_by(session, record)
    if recorder is not None and recorder.active and await staff_chats(session, recorder):
        recipients = [recorder]
    else:
        stmt = select(Staff).where(Staff.role == StaffRole.ADMIN, col(Staff.active).is_(True))
        recipients = list((await session.exec(stmt)).all())
    written = sum([await notify_staff(session, staff, **fields) for staff in recipients])
    # The department's alert groups and robots hear of it too, without the button (issue #11).
    from workflows.alert_routing import alert_department  # it writes through this module: import here

    group_fields = {k: v for k, v in fields.items() if k not in ("buttons", "legally_required")}
    await alert_department(session, subject.department if subject else None, **group_fields)
    return written
