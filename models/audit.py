"""Append-only audit log: who did what, when, with the state before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.base import json_field, utcnow


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_subject_at", "subject_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow)
    actor: str = Field(max_length=96)  # "chat:telegram:123", "staff:4", "cli", "system"
    action: str = Field(max_length=64)
    entity: str = Field(default="", max_length=32)
    entity_id: str | None = Field(default=None, max_length=64)
    subject_id: int | None = Field(default=None, foreign_key="subject.id")
    before: dict[str, Any] = json_field()
    after: dict[str, Any] = json_field()
