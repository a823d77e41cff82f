"""The outbox: every message to a person is a row, written with the fact that caused it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.base import enum_field, json_field, utcnow


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # permanent: blocked, chat not found, template error
    SKIPPED = "skipped"  # the recipient muted this kind (never a legally required notice)


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
        Index("ix_outbox_chat_order", "channel", "chat_id", "id"),  # a chat's oldest unfinished notice
    )

    id: int | None = Field(default=None, primary_key=True)
    # (recipient, event, occasion): a rerun or second sweep writes nothing new.
    dedupe_key: str = Field(max_length=200, unique=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    kind: str = Field(default="notice", max_length=32)  # what users and staff can mute by
    template: str = Field(max_length=64)  # notifications/templates/<template>.<lang>.j2
    context: dict[str, Any] = json_field()  # JSON values only: dates as ISO strings
    # Rows of buttons: [[{"label": "申请修复", "label_en": "Apply for repair", "action": "...", "payload": {}}]]
    buttons: list[Any] = json_field(list)
    subject_id: int | None = Field(default=None, foreign_key="subject.id")
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    legally_required: bool = False  # 三书同达 and decisions: cannot be muted; failures are reported to staff
    status: OutboxStatus = enum_field(OutboxStatus.PENDING)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    claimed_by: str | None = Field(default=None, max_length=64)  # dispatcher instance holding the row
    claimed_at: datetime | None = None  # a SENDING row older than the lease is reclaimed after a crash
    sent_at: datetime | None = None
    error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
