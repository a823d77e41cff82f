"""What subjects and staff open: commitments, repair applications, objections, interviews, warnings,
working-day deadlines and uploaded materials. Later flows fill in the behaviour."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, LargeBinary, UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from models.base import enum_field, json_field, utcnow


class CommitmentKind(StrEnum):
    APPROVAL_SUBSTITUTE = "approval_substitute"  # 审批替代型（告知承诺）
    TOLERANCE = "tolerance"  # 容缺受理型
    CERTIFICATE = "certificate"  # 证明事项型
    VOLUNTARY = "voluntary"  # 主动公示型
    SELF_REGULATION = "self_regulation"  # 行业自律型
    REPAIR = "repair"  # 信用修复型


class Fulfilment(StrEnum):
    PENDING = "pending"  # 待认定
    FULL = "full"  # 全部履行
    PARTIAL = "partial"  # 部分履行
    NONE = "none"  # 全部未履行


class Commitment(SQLModel, table=True):
    __tablename__ = "commitment"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, unique=True)  # 承诺编码: region 6 + YYYYMMDD + serial 6
    subject_id: int = Field(foreign_key="subject.id", index=True)
    kind: CommitmentKind = enum_field()
    matter: str = ""  # 承诺事由
    content: str = ""  # 承诺内容
    liability: str = ""  # 违诺责任
    made_on: date
    valid_until: date | None = None
    missing_materials: str | None = None  # 容缺: what is still owed
    materials_due: date | None = None
    materials_received_on: date | None = None  # 容缺: the day the missing materials arrived (confirmed)
    fulfilment: Fulfilment = enum_field(Fulfilment.PENDING)
    fulfilment_decided_on: date | None = None
    decided_by: int | None = Field(default=None, foreign_key="staff.id")
    accepting_unit: str = ""
    letter: str = ""  # the rendered letter exactly as the subject confirmed it
    breach_record_id: int | None = None  # the credit record a breach created
    repair_application_id: int | None = Field(default=None, foreign_key="repair_application.id")
    version: int = 0
    created_at: datetime = Field(default_factory=utcnow)


class ApplicationStatus(StrEnum):
    DRAFT = "draft"  # 草稿
    SUBMITTED = "submitted"  # 已提交
    ACCEPTED = "accepted"  # 已受理
    NEEDS_MORE = "needs_more"  # 待补正
    APPROVED = "approved"  # 通过 / 更正
    REJECTED = "rejected"  # 不予修复 / 维持
    WITHDRAWN = "withdrawn"  # 已撤回


class RepairApplication(SQLModel, table=True):
    __tablename__ = "repair_application"
    __table_args__ = (Index("ix_repair_application_record_status", "record_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    ref_no: str = Field(max_length=32, unique=True)
    subject_id: int = Field(foreign_key="subject.id", index=True)
    record_id: int = Field(foreign_key="credit_record.id")
    regime: str = Field(max_length=16)  # which rules regime decided eligibility (rules.REGIMES)
    status: ApplicationStatus = enum_field(ApplicationStatus.DRAFT)
    draft: dict[str, Any] = json_field()  # step answers, survives /cancel and restarts
    submitted_at: datetime | None = None
    due_on: date | None = None  # staff's working-day limit
    decided_at: datetime | None = None
    decided_by: int | None = Field(default=None, foreign_key="staff.id")
    reason: str | None = None  # 不予修复 reason or 补正 request
    version: int = 0  # optimistic lock: two staff deciding at once, one wins
    created_at: datetime = Field(default_factory=utcnow)


class Objection(SQLModel, table=True):
    __tablename__ = "objection"
    # Every records page asks which of its records are under objection.
    __table_args__ = (Index("ix_objection_record_status", "record_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    ref_no: str = Field(max_length=32, unique=True)
    subject_id: int = Field(foreign_key="subject.id", index=True)
    record_id: int | None = Field(default=None, foreign_key="credit_record.id")
    violation_id: int | None = Field(default=None, foreign_key="driver_violation.id")
    reason: str = Field(default="", max_length=32)  # 信息错误 / 信息不完整 / 重复 / ...
    description: str = ""
    status: ApplicationStatus = enum_field(ApplicationStatus.DRAFT)
    draft: dict[str, Any] = json_field()
    submitted_at: datetime | None = None
    due_on: date | None = None
    decided_at: datetime | None = None
    decided_by: int | None = Field(default=None, foreign_key="staff.id")
    outcome: str | None = None  # 更正 / 维持
    outcome_reason: str | None = None
    version: int = 0
    created_at: datetime = Field(default_factory=utcnow)


class Material(SQLModel, table=True):
    """An uploaded file for an application step; the bytes live in the database so nothing is lost."""

    __tablename__ = "material"
    __table_args__ = (Index("ix_material_owner", "owner_kind", "owner_id"),)

    id: int | None = Field(default=None, primary_key=True)
    owner_kind: str = Field(max_length=32)  # repair_application / objection / commitment
    owner_id: int
    step: str = Field(max_length=32)
    file_name: str = Field(max_length=255)
    mime_type: str = Field(max_length=100)
    size: int
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    uploaded_at: datetime = Field(default_factory=utcnow)


class ObligationFulfilment(SQLModel, table=True):
    """履行: the obligations of a penalty decision were met (罚款已缴纳 / 整改完成). Declared by the enterprise
    and confirmed by staff, recorded by staff, or imported; a confirmed one opens repair (issue #8)."""

    __tablename__ = "obligation_fulfilment"
    __table_args__ = (Index("ix_obligation_fulfilment_record", "record_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    ref_no: str = Field(max_length=32, unique=True)  # LX20261124 0001: people read it out
    subject_id: int = Field(foreign_key="subject.id", index=True)
    record_id: int = Field(foreign_key="credit_record.id")
    fulfilled_on: date
    method: str = Field(max_length=16)  # rules.FULFILMENT_METHODS
    note: str = ""
    source: str = Field(max_length=16)  # enterprise / staff / import
    status: ApplicationStatus = enum_field(ApplicationStatus.SUBMITTED)  # submitted / approved / rejected
    submitted_at: datetime = Field(default_factory=utcnow)
    due_on: date | None = None  # staff's working-day limit for confirming a declaration
    decided_at: datetime | None = None
    decided_by: int | None = Field(default=None, foreign_key="staff.id")
    reason: str | None = None  # why a declaration was not confirmed
    version: int = 0
    created_at: datetime = Field(default_factory=utcnow)


class FollowUpReport(SQLModel, table=True):
    """报送: what a subject owes by a deadline, handed in through chat and checked by staff — the 整改情况
    after a 约谈 (kind "rectification", ref an interview) or the missing materials of a 容缺受理 commitment
    (kind "tolerance_materials", ref a commitment). One row per round: a report sent back stays on file."""

    __tablename__ = "follow_up_report"
    __table_args__ = (Index("ix_follow_up_report_ref", "ref_kind", "ref_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    ref_no: str = Field(max_length=32, unique=True)  # ZG20261124 0001 (整改) / BQ… (补齐): people read it out
    kind: str = Field(max_length=32)  # the Deadline.kind it answers
    ref_kind: str = Field(max_length=32)  # interview / commitment
    ref_id: int
    subject_id: int = Field(foreign_key="subject.id", index=True)
    description: str = ""  # the subject's account (整改情况说明)
    status: ApplicationStatus = enum_field(ApplicationStatus.DRAFT)  # draft / submitted / approved / rejected
    submitted_at: datetime | None = None
    due_on: date | None = None  # staff's working-day limit for checking it
    decided_at: datetime | None = None
    decided_by: int | None = Field(default=None, foreign_key="staff.id")
    reason: str | None = None  # why staff sent it back
    version: int = 0
    created_at: datetime = Field(default_factory=utcnow)


class InterviewStatus(StrEnum):
    SCHEDULED = "scheduled"
    CONFIRMED = "confirmed"
    HELD = "held"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


class Interview(SQLModel, table=True):
    __tablename__ = "interview"

    id: int | None = Field(default=None, primary_key=True)
    subject_id: int = Field(foreign_key="subject.id", index=True)
    warning_id: int | None = Field(default=None, foreign_key="risk_warning.id")
    reason: str = ""
    scheduled_at: datetime  # UTC
    place: str = ""
    online: bool = False
    attendees: list[Any] = json_field(list)
    status: InterviewStatus = enum_field(InterviewStatus.SCHEDULED)
    confirmed_at: datetime | None = None
    outcome: dict[str, Any] = json_field()  # issues, rectification items, commitment signed
    created_by: int | None = Field(default=None, foreign_key="staff.id")
    version: int = 0
    created_at: datetime = Field(default_factory=utcnow)


class RiskWarning(SQLModel, table=True):
    __tablename__ = "risk_warning"
    # The same warning is raised once per subject, rule and period (issue: no repeats).
    __table_args__ = (UniqueConstraint("subject_id", "rule_id", "period_key"),)

    id: int | None = Field(default=None, primary_key=True)
    subject_id: int = Field(foreign_key="subject.id")
    rule_id: str = Field(max_length=64)
    period_key: str = Field(max_length=32)
    details: dict[str, Any] = json_field()
    raised_at: datetime = Field(default_factory=utcnow)
    closed_at: datetime | None = None


class DeadlineStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class Deadline(SQLModel, table=True):
    """Every working-day limit in the system; the scheduler sweeps this table, not one job per row."""

    __tablename__ = "deadline"
    __table_args__ = (
        Index("ix_deadline_status_due", "status", "due_on"),
        UniqueConstraint("ref_kind", "ref_id", "kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(
        max_length=32
    )  # repair_review / objection_review / publication / tolerance_materials / ...
    ref_kind: str = Field(max_length=32)
    ref_id: int
    subject_id: int | None = Field(default=None, foreign_key="subject.id")
    responsible_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    due_on: date
    status: DeadlineStatus = enum_field(DeadlineStatus.OPEN)
    done_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
