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


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    # (recipient, event, occasion): a rerun or second sweep writes nothing new.
    dedupe_key: str = Field(max_length=200, unique=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    template: str = Field(max_length=64)
    context: dict[str, Any] = json_field()
    buttons: list[Any] = json_field(list)
    legally_required: bool = False
    status: OutboxStatus = enum_field(OutboxStatus.PENDING)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
