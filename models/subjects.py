"""Credit subjects: enterprises (统一社会信用代码) and drivers (从业资格证号 + 身份证号)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from models.base import enum_field, utcnow


class SubjectKind(StrEnum):
    ENTERPRISE = "enterprise"
    DRIVER = "driver"


class Subject(SQLModel, table=True):
    __tablename__ = "subject"

    id: int | None = Field(default=None, primary_key=True)
    kind: SubjectKind = enum_field(index=True)
    name: str = Field(max_length=200)
    uscc: str | None = Field(default=None, max_length=18, unique=True, index=True)
    cert_no: str | None = Field(default=None, max_length=32, unique=True, index=True)
    # Stored in full for matching; every message and log shows it through mask_id_number().
    id_number: str | None = Field(default=None, max_length=18, index=True)
    cert_first_issued: date | None = None  # drivers: the assessment cycle is anchored here (rules §12 D1)
    region_code: str = Field(default="", max_length=6)
    legal_rep: str | None = Field(default=None, max_length=64)
    department: str | None = Field(default=None, max_length=64)  # the supervising 科室 / 支队
    created_at: datetime = Field(default_factory=utcnow)
