"""Who is talking: the bindings of a chat, and which one is active."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, String, and_, bindparam, literal_column, true
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import ChatBinding, ConversationState, Staff, Subject, SubjectKind
from models.base import built
from models.direct import DirectStatement
from models.late_lock import VERSION_SQL

_Row = TypeVar("_Row", ChatBinding, ConversationState, Staff, Subject)


@dataclass(frozen=True)
class Identity:
    binding: ChatBinding | None
    subject: Subject | None
    staff: Staff | None
    binding_count: int

    @property
    def role(self) -> str:
        """unbound | enterprise | driver | staff — the main menu adapts to it."""
        if self.staff is not None:
            return "staff"
        if self.subject is not None:
            return "enterprise" if self.subject.kind == SubjectKind.ENTERPRISE else "driver"
        return "unbound"


NOBODY = Identity(None, None, None, 0)


async def chat_bindings(session: AsyncSession, channel: str, chat_id: str) -> list[ChatBinding]:
    stmt = (
        select(ChatBinding)
        .where(ChatBinding.channel == channel, ChatBinding.chat_id == chat_id, ChatBinding.active)
        .order_by(ChatBinding.id)
    )
    return list((await session.exec(stmt)).all())


async def resolve_identity(session: AsyncSession, state: ConversationState) -> Identity:
    """The chat's bindings with their subject or staff member, in one query."""
    params = {"channel": state.channel, "chat_id": state.chat_id}
    rows = (await session.exec(_IDENTITY, params=params)).all()
    return _identity([(binding, subject, staff) for binding, subject, staff in rows], state)


async def state_and_identity(
    session: AsyncSession,
    channel: str,
    chat_id: str,
    *,
    lock: bool,
    connection: AsyncConnection | None = None,
) -> tuple[ConversationState | None, Identity]:
    """A chat's state (row-locked when `lock`, for PostgreSQL) and who is talking, in one query: it runs
    on every event. The state is None for a chat without a state row yet; its bindings still count (an
    admin may have bound the chat before it ever wrote).

    A Core query, its rows made into objects as the ORM's loader would (models/base.py built): the ORM's
    own query cost about 0.2 ms more on every event (issue #10). The state stays out of the session (the
    engine writes its changes: bot/step_writes.py); the bindings, subjects and staff members join the
    session as if loaded, one object per row of theirs, so a change a dialog makes to them is flushed.
    `connection` is the session's, when the caller has it at hand (asking the session costs a greenlet)."""
    connection = connection or await session.connection()
    params = {"channel": channel, "chat_id": chat_id}
    if connection.dialect.name == "sqlite":
        # Below SQLAlchemy's execution layer (models/direct.py), inside the transaction as ever. Not on
        # PostgreSQL, where that runs outside the adapter's transaction handling.
        rows: Sequence[Sequence[Any]] = await _DIRECT_STATE_AND_IDENTITY.fetch(connection, params)
    else:
        stmt = _STATE_AND_IDENTITY_LOCKED if lock else _STATE_AND_IDENTITY
        rows = (await connection.execute(stmt, params)).all()
    return _objects(session, rows)


async def state_identity_and_version(
    session: AsyncSession, connection: AsyncConnection, channel: str, chat_id: str
) -> tuple[ConversationState | None, Identity, str | None]:
    """state_and_identity unlocked, on PostgreSQL, with the state row's version (models/late_lock.py). It
    runs outside any transaction, straight on the driver (models/direct.py)."""
    rows = await _DIRECT_STATE_IDENTITY_AND_VERSION.fetch(
        connection, {"channel": channel, "chat_id": chat_id}
    )
    state, identity = _objects(session, rows)
    return state, identity, rows[0][_VERSION_AT] if rows else None


def _objects(
    session: AsyncSession, rows: Sequence[Sequence[Any]]
) -> tuple[ConversationState | None, Identity]:
    state = _row_object(ConversationState, _STATE_KEYS, rows[0], 0) if rows else None
    bindings = []
    for row in rows:
        binding = _row_object(ChatBinding, _BINDING_KEYS, row, _BINDING_AT)
        if binding is None:
            continue
        subject = _attached(session, _row_object(Subject, _SUBJECT_KEYS, row, _SUBJECT_AT))
        staff = _attached(session, _row_object(Staff, _STAFF_KEYS, row, _STAFF_AT))
        bindings.append((_attached(session, binding), subject, staff))
    return state, _identity(bindings, state)


def _attached(session: AsyncSession, obj: _Row | None) -> _Row | None:
    """The object in the session as if loaded; the one already there when two bindings share a subject."""
    if obj is None:
        return None
    key = session.sync_session.identity_key(instance=obj)  # from the primary key, as the loader keys it
    present = session.sync_session.identity_map.get(key)
    if present is not None:
        return present  # type: ignore[no-any-return]
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


def _row_object(model: type[_Row], keys: tuple[str, ...], row: Any, at: int) -> _Row | None:
    """The model's columns from row[at:], or None when the outer join found no row (no primary key)."""
    values = row[at : at + len(keys)]
    if values[0] is None:
        return None
    return built(model, **dict(zip(keys, values, strict=True)))


def _identity(
    rows: list[tuple[ChatBinding, Subject | None, Staff | None]], state: ConversationState | None
) -> Identity:
    if not rows:
        return NOBODY
    chosen = state.active_binding_id if state is not None else None
    active, subject, staff = next((row for row in rows if row[0].id == chosen), rows[-1])
    if active.staff_id is not None:
        if staff is not None and not staff.active:
            staff = None  # a disabled account keeps its binding row but loses its powers
        return Identity(active, None, staff, len(rows))
    return Identity(active, subject, None, len(rows))


# Built once; the outer joins fetch the subject or staff member of each binding with it.
_IDENTITY = (
    select(ChatBinding, Subject, Staff)
    .outerjoin(Subject, col(ChatBinding.subject_id) == col(Subject.id))
    .outerjoin(Staff, col(ChatBinding.staff_id) == col(Staff.id))
    .where(
        col(ChatBinding.channel) == bindparam("channel"),
        col(ChatBinding.chat_id) == bindparam("chat_id"),
        col(ChatBinding.active),
    )
    .order_by(col(ChatBinding.id))
)


def _columns(model: type[Any]) -> tuple[str, ...]:
    """The table's column keys, the primary key first (_row_object tells a missing row by it)."""
    table = model.__table__
    primary = [c.key for c in table.primary_key.columns]
    return (*primary, *(c.key for c in table.columns if c.key not in primary))


_STATE_KEYS = _columns(ConversationState)
_BINDING_KEYS = _columns(ChatBinding)
_SUBJECT_KEYS = _columns(Subject)
_STAFF_KEYS = _columns(Staff)
_BINDING_AT = len(_STATE_KEYS)
_SUBJECT_AT = _BINDING_AT + len(_BINDING_KEYS)
_STAFF_AT = _SUBJECT_AT + len(_SUBJECT_KEYS)
_VERSION_AT = _STAFF_AT + len(_STAFF_KEYS)


def _state_and_identity(lock: bool, versioned: bool = False) -> Select[Any]:
    """The chat's state row with its bindings (each with its subject or staff member), driven by the chat's
    key, so a chat without a state row still gets its bindings in the same query. PostgreSQL cannot lock
    the nullable side of an outer join, so the state row is read (and locked) in a CTE of its own. The
    columns come in the order of the _KEYS above, then the row's version when `versioned`."""
    key = select(
        bindparam("channel", type_=String).label("channel"),
        bindparam("chat_id", type_=String).label("chat_id"),
    ).subquery("chat_key")
    state_table = ConversationState.__table__  # type: ignore[attr-defined]
    version = [literal_column(VERSION_SQL).label("state_version")] if versioned else []
    state_row = select(state_table, *version).where(
        state_table.c.channel == bindparam("channel"),
        state_table.c.chat_id == bindparam("chat_id"),
    )
    state = (state_row.with_for_update() if lock else state_row).cte("chat_state")
    binding = ChatBinding.__table__  # type: ignore[attr-defined]
    subject = Subject.__table__  # type: ignore[attr-defined]
    staff = Staff.__table__  # type: ignore[attr-defined]
    return (
        select(
            *(state.c[k] for k in _STATE_KEYS),
            *(binding.c[k] for k in _BINDING_KEYS),
            *(subject.c[k] for k in _SUBJECT_KEYS),
            *(staff.c[k] for k in _STAFF_KEYS),
            *([state.c.state_version] if versioned else []),
        )
        .select_from(key)
        .outerjoin(state, true())
        .outerjoin(
            binding,
            and_(binding.c.channel == key.c.channel, binding.c.chat_id == key.c.chat_id, binding.c.active),
        )
        .outerjoin(subject, binding.c.subject_id == subject.c.id)
        .outerjoin(staff, binding.c.staff_id == staff.c.id)
        .order_by(binding.c.id)
    )


_STATE_AND_IDENTITY = _state_and_identity(lock=False)
_STATE_AND_IDENTITY_LOCKED = _state_and_identity(lock=True)
_DIRECT_STATE_AND_IDENTITY = DirectStatement(_STATE_AND_IDENTITY)
_DIRECT_STATE_IDENTITY_AND_VERSION = DirectStatement(_state_and_identity(lock=False, versioned=True))


async def binding_labels(
    session: AsyncSession, bindings: list[ChatBinding], lang: str = "zh"
) -> list[tuple[ChatBinding, str]]:
    out = []
    for b in bindings:
        if b.staff_id is not None:
            staff = await session.get(Staff, b.staff_id)
            name = staff.name if staff else ""
            out.append((b, f"Staff {name}" if lang == "en" else f"工作人员 {name}"))
        else:
            subject = await session.get(Subject, b.subject_id)
            out.append((b, subject.name if subject else str(b.subject_id)))
    return out


async def staff_of_person(session: AsyncSession, channel: str, user_id: str) -> Staff | None:
    """The active staff account a person holds in their own private chat with the bot (on Telegram a
    private chat's id is the user's id). Used where a person acts in a group: they are who their
    private chat says, never who the group was once bound to."""
    stmt = (
        select(Staff)
        .join(ChatBinding, ChatBinding.staff_id == Staff.id)  # type: ignore[arg-type]
        .where(
            ChatBinding.channel == channel,
            ChatBinding.chat_id == user_id,
            ChatBinding.active,
            Staff.active,
        )
        .order_by(ChatBinding.id)
    )
    return (await session.exec(stmt)).first()
