"""Credit records, driver violations and assessment cycles."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from models.base import enum_field, utcnow


class RecordKind(StrEnum):
    PENALTY = "penalty"  # 行政处罚
    DISHONESTY_LIST = "dishonesty_list"  # 严重失信主体名单
    EVALUATION = "evaluation"  # 信用评价等级
    COMMITMENT_BREACH = "commitment_breach"  # 违背信用承诺 (a breached commitment becomes a record)


class Severity(StrEnum):
    MINOR = "minor"  # 轻微
    GENERAL = "general"  # 一般
    SERIOUS = "serious"  # 严重


class RecordStatus(StrEnum):
    PUBLISHED = "published"  # 公示中
    REPAIRED = "repaired"  # 已修复，终止公示
    EXPIRED = "expired"  # 公示期满撤下
    WITHDRAWN = "withdrawn"  # 撤销 / 更正撤回


class CreditRecord(SQLModel, table=True):
    __tablename__ = "credit_record"
    __table_args__ = (
        Index("ix_credit_record_subject_decision", "subject_id", "decision_date"),
        Index("ix_credit_record_status_end", "status", "publicity_end"),  # daily auto take-down
        # Measured by bench/sweep.py at 1M records: the risk scan's windows (index-only), the repair-
        # opportunity windows, and the obligations / dishonesty-list lookups.
        # status last: the scan skips withdrawn records and stays index-only (issue #9).
        Index("ix_credit_record_kind_date", "kind", "decision_date", "subject_id", "authority", "status"),
        Index("ix_credit_record_kind_status_date", "kind", "status", "decision_date"),
        Index("ix_credit_record_kind_status_fulfilled", "kind", "status", "obligations_fulfilled_on"),
        # An import finds its rows by 行政处罚决定书文号 (+ subject): the natural key (bench/import.py).
        Index("ix_credit_record_decision_no", "decision_no", "subject_id"),
        # The staff queue's 双公示 items (records not yet published): a few among a million, read once per
        # staff member by the daily digest (bench/sweep.py: 25 × 0.1-0.9 s without it, 0.03 ms with it).
        Index(
            "ix_credit_record_unpublished",
            "id",
            postgresql_where=text("published_at IS NULL"),
            sqlite_where=text("published_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    subject_id: int = Field(foreign_key="subject.id")
    kind: RecordKind = enum_field()
    severity: Severity = enum_field(Severity.GENERAL)
    decision_no: str = Field(default="", max_length=128)  # 行政处罚决定书文号
    decision_date: date
    authority: str = Field(max_length=200)  # 处罚机关 / 认定单位
    authority_code: str | None = Field(default=None, max_length=18)
    penalty_type: str | None = Field(default=None, max_length=64)  # 处罚类别
    fine_wan: float | None = None  # 罚款金额（万元）
    procedure: str | None = Field(default=None, max_length=8)  # 简易 / 一般
    facts: str = ""  # 违法事实
    basis: str = ""  # 处罚依据
    content: str = ""  # 处罚内容
    grade: str | None = Field(default=None, max_length=8)  # evaluation records: AAA / AA / A / B
    publicity_end: date | None = None  # 公示截止期 (the maximum end), when the source system gave one
    # The rest of the national 双公示 layout (domain-rules §3), kept so an export gives back what came in.
    violation_type: str = ""  # 违法行为类型
    confiscated_wan: float | None = None  # 没收违法所得、没收非法财物的金额（万元）
    licence_affected: str = Field(default="", max_length=200)  # 暂扣或吊销证照名称及编号
    valid_until: date | None = None  # 处罚有效期
    data_source: str = Field(default="", max_length=200)  # 数据来源单位
    data_source_code: str | None = Field(default=None, max_length=18)
    remarks: str = ""  # 备注
    assessment_year: int | None = None  # evaluation records: 考核年度
    score: float | None = None  # evaluation records: 考核得分
    status: RecordStatus = enum_field(default=RecordStatus.PUBLISHED, index=True)
    obligations_fulfilled_on: date | None = None  # 履行法定义务之日 (fine paid, rectified)
    fulfilment_method: str | None = Field(default=None, max_length=16)  # 罚款已缴纳 / 整改完成 / 其他
    published_at: datetime | None = None  # 双公示 publication time (7-working-day limit)
    notices_served_at: datetime | None = None  # 三书同达 delivered; None while the subject has no bound chat
    # False for history loaded by import: its decisions were served on paper long ago (issue #8).
    notices_required: bool = True
    origin: str = Field(default="", max_length=32)  # "staff:3", "import:12", "demo"
    commitment_id: int | None = (
        None  # breach records: the commitment broken (no FK: commitment → repair → record)
    )
    status_changed_on: date | None = None
    created_at: datetime = Field(default_factory=utcnow)


class DriverViolation(SQLModel, table=True):
    __tablename__ = "driver_violation"
    __table_args__ = (Index("ix_driver_violation_subject_date", "subject_id", "occurred_on"),)

    id: int | None = Field(default=None, primary_key=True)
    subject_id: int = Field(foreign_key="subject.id")
    occurred_on: date
    item: str = Field(max_length=200)  # 违章行为 (Annex 1 item)
    points: int
    decision_no: str = Field(default="", max_length=128)
    authority: str = Field(default="", max_length=200)
    withdrawn: bool = False  # an upheld objection removes the deduction
    origin: str = Field(default="", max_length=32)  # "import:12", "demo"
    created_at: datetime = Field(default_factory=utcnow)


class AssessmentCycle(SQLModel, table=True):
    """A closed, endorsed (签注) cycle; the open cycle is computed from the violations."""

    __tablename__ = "assessment_cycle"
    __table_args__ = (Index("ix_assessment_cycle_subject_start", "subject_id", "start", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    subject_id: int = Field(foreign_key="subject.id")
    start: date
    end: date
    points: int
    grade: str = Field(max_length=8)
    endorsed_on: date | None = None
