"""Credit subjects: enterprises (统一社会信用代码) and drivers (从业资格证号 + 身份证号)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Field, SQLModel

from models.base import enum_field, json_field, utcnow

# 行政相对人类别 of the national 双公示 layout (domain-rules §3).
SUBJECT_CATEGORIES = ("法人及非法人组织", "自然人", "个体工商户")


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
    category: str = Field(default="", max_length=16)  # 行政相对人类别 (SUBJECT_CATEGORIES)
    # Legacy codes and the legal representative's ID from the 双公示 layout (reg_no, org_code, tax_no,
    # institution_no, social_org_no, legal_rep_id_type, legal_rep_id_number, id_type): exported as imported.
    codes: dict[str, Any] = json_field()
    created_by: str = Field(default="", max_length=64)  # "cli", "staff:3", "import:12" (created by import)
    created_at: datetime = Field(default_factory=utcnow)
