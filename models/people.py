"""Staff, chat bindings, one-time binding codes and per-chat conversation state."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import enum_field, json_field, utcnow


class StaffRole(StrEnum):
    HANDLER = "handler"  # 经办
    REVIEWER = "reviewer"  # 审核
    SUPERVISOR = "supervisor"  # 负责人
    ADMIN = "admin"  # 管理员


class Staff(SQLModel, table=True):
    __tablename__ = "staff"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    department: str = Field(max_length=64)  # 科室 / 执法支队
    role: StaffRole = enum_field()
    supervisor_id: int | None = Field(default=None, foreign_key="staff.id")
    active: bool = True
    muted_kinds: list[str] = json_field(list)
    created_at: datetime = Field(default_factory=utcnow)


class ChatBinding(SQLModel, table=True):
    """A chat's right to see one subject, or to act as one staff member."""

    __tablename__ = "chat_binding"
    __table_args__ = (
        Index("ix_chat_binding_chat", "channel", "chat_id"),
        Index("ix_chat_binding_subject", "subject_id"),
        Index("ix_chat_binding_staff", "staff_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    user_id: str = Field(max_length=64)
    subject_id: int | None = Field(default=None, foreign_key="subject.id")
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class BindingCode(SQLModel, table=True):
    __tablename__ = "binding_code"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=16, unique=True, index=True)
    subject_id: int | None = Field(default=None, foreign_key="subject.id")
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    issued_by: str = Field(max_length=64)  # "staff:<id>" or "cli"
    issued_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None
    used_by_chat: str | None = Field(default=None, max_length=96)


class BindingRequest(SQLModel, table=True):
    """A chat without a code asks to be bound to a subject; staff approve or refuse it from 待办."""

    __tablename__ = "binding_request"
    __table_args__ = (Index("ix_binding_request_status", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    user_id: str = Field(max_length=64)
    # None while the code typed matches no registered subject: the requester is told nothing either way,
    # and an admin sees what was typed (and may register the subject, then approve).
    subject_id: int | None = Field(default=None, foreign_key="subject.id")
    typed_code: str = Field(default="", max_length=64)  # the USCC / certificate number as typed
    requester_name: str = Field(default="", max_length=64)  # the messenger's display name
    applicant: str = Field(max_length=100)  # name and role as the applicant gave them
    status: str = Field(default="pending", max_length=16)  # pending / approved / rejected
    reason: str | None = None
    decided_by: int | None = Field(default=None, foreign_key="staff.id")
    decided_at: datetime | None = None
    version: int = 0
    created_at: datetime = Field(default_factory=utcnow)


class ConversationState(SQLModel, table=True):
    """One row per chat: where the dialog stands, its draft, language and binding-lockout counters."""

    __tablename__ = "conversation_state"
    __table_args__ = (UniqueConstraint("channel", "chat_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    state: str = Field(default="menu", max_length=64)
    data: dict[str, Any] = json_field()
    lang: str = Field(default="zh", max_length=8)
    screen: int = 0  # bumped on every reply; buttons from older screens are stale
    active_binding_id: int | None = Field(default=None, foreign_key="chat_binding.id")
    failed_codes: int = 0
    locked_until: datetime | None = None
    notices_muted: bool = False
    updated_at: datetime = Field(default_factory=utcnow)


class AlertGroup(SQLModel, table=True):
    """A group chat an admin registered for a department's alerts: it receives notices, never acts as
    anyone and is shown no data beyond the alert itself."""

    __tablename__ = "alert_group"
    __table_args__ = (
        UniqueConstraint("channel", "chat_id"),
        Index("ix_alert_group_department", "department"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    title: str = Field(default="", max_length=128)
    department: str = Field(max_length=64)
    registered_by: int | None = Field(default=None, foreign_key="staff.id")
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class SecurityTally(SQLModel, table=True):
    """Counts of one kind of suspicious event per time window, shared by every process (one row per
    window, incremented in the database): e.g. wrong binding codes from all chats together."""

    __tablename__ = "security_tally"

    name: str = Field(primary_key=True, max_length=32)
    window_start: datetime = Field(primary_key=True)
    count: int = 0


def new_token() -> str:
    """12 URL-safe characters: unguessable, and well within Telegram's 64-byte callback_data."""
    return secrets.token_urlsafe(9)


class ButtonToken(SQLModel, table=True):
    """Callback data is an opaque token (Telegram allows 64 bytes); the action lives here, server-side."""

    __tablename__ = "button_token"
    __table_args__ = (Index("ix_button_token_chat_screen", "channel", "chat_id", "screen"),)

    token: str = Field(default_factory=new_token, primary_key=True, max_length=16)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    action: str = Field(max_length=64)
    payload: dict[str, Any] = json_field()
    screen: int
    persistent: bool = False  # notice buttons stay valid after the chat moves on
    created_at: datetime = Field(default_factory=utcnow)
