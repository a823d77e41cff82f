"""Who is talking: the bindings of a chat, and which one is active."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select
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
    bindings = await chat_bindings(session, state.channel, state.chat_id)
    if not bindings:
        return NOBODY
    active = next((b for b in bindings if b.id == state.active_binding_id), bindings[-1])
    if active.staff_id is not None:
        staff = await session.get(Staff, active.staff_id)
        if staff is not None and not staff.active:
            staff = None  # a disabled account keeps its binding row but loses its powers
        return Identity(active, None, staff, len(bindings))
    subject = await session.get(Subject, active.subject_id)
    return Identity(active, subject, None, len(bindings))


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
