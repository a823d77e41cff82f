"""Who is talking: the bindings of a chat, and which one is active."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, String, and_, bindparam, true
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import ChatBinding, ConversationState, Staff, Subject, SubjectKind


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
    session: AsyncSession, channel: str, chat_id: str, *, lock: bool
) -> tuple[ConversationState | None, Identity]:
    """A chat's state (row-locked when `lock`, for PostgreSQL) and who is talking, in one query: it runs
    on every event. The state is None for a chat without a state row yet; its bindings still count (an
    admin may have bound the chat before it ever wrote)."""
    stmt = _STATE_AND_IDENTITY_LOCKED if lock else _STATE_AND_IDENTITY
    rows = (await session.exec(stmt, params={"channel": channel, "chat_id": chat_id})).all()
    state = rows[0][0] if rows else None
    bindings = [(binding, subject, staff) for _, binding, subject, staff in rows if binding is not None]
    return state, _identity(bindings, state)


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


def _state_and_identity(lock: bool) -> Select[Any]:
    """The chat's state row with its bindings (each with its subject or staff member), driven by the chat's
    key, so a chat without a state row still gets its bindings in the same query. PostgreSQL cannot lock
    the nullable side of an outer join, so the state row is read (and locked) in a CTE of its own."""
    key = select(
        bindparam("channel", type_=String).label("channel"),
        bindparam("chat_id", type_=String).label("chat_id"),
    ).subquery("chat_key")
    state_row = select(ConversationState).where(
        col(ConversationState.channel) == bindparam("channel"),
        col(ConversationState.chat_id) == bindparam("chat_id"),
    )
    state = aliased(ConversationState, (state_row.with_for_update() if lock else state_row).cte("chat_state"))
    return (
        select(state, ChatBinding, Subject, Staff)
        .select_from(key)
        .outerjoin(state, true())
        .outerjoin(
            ChatBinding,
            and_(
                col(ChatBinding.channel) == key.c.channel,
                col(ChatBinding.chat_id) == key.c.chat_id,
                col(ChatBinding.active),
            ),
        )
        .outerjoin(Subject, col(ChatBinding.subject_id) == col(Subject.id))
        .outerjoin(Staff, col(ChatBinding.staff_id) == col(Staff.id))
        .order_by(col(ChatBinding.id))
    )


_STATE_AND_IDENTITY = _state_and_identity(lock=False)
_STATE_AND_IDENTITY_LOCKED = _state_and_identity(lock=True)


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
