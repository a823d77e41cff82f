"""One row per import or export of a file: who, which file (name and SHA-256), what it did. A chat upload
keeps its bytes here between the check and the 确认导入 press, and drops them once imported."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, LargeBinary
from sqlmodel import Field, SQLModel

from models.base import json_field, utcnow


class DataTransfer(SQLModel, table=True):
    __tablename__ = "data_transfer"

    id: int | None = Field(default=None, primary_key=True)
    direction: str = Field(max_length=8)  # import / export
    kind: str = Field(max_length=16)  # subjects / penalties / violations / grades / fulfilment / lists
    file_name: str = Field(max_length=255)
    sha256: str = Field(max_length=64)
    status: str = Field(max_length=16)  # checked / refused / imported / exported / discarded
    counts: dict[str, Any] = json_field()  # rows, new, changed, unchanged, errors
    actor: str = Field(max_length=96)
    content: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
