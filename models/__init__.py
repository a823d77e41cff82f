"""SQLModel tables and the database. Importing this package registers every table on the metadata."""

from models.applications import (
    ApplicationStatus,
    Commitment,
    CommitmentKind,
    Deadline,
    DeadlineStatus,
    Fulfilment,
    Interview,
    InterviewStatus,
    Material,
    Objection,
    RepairApplication,
    RiskWarning,
)
from models.audit import AuditEntry
from models.base import utcnow
from models.outbox import OutboxMessage, OutboxStatus
from models.people import (
    BindingCode,
    BindingRequest,
    ButtonToken,
    ChatBinding,
    ConversationState,
    Staff,
    StaffRole,
)
from models.records import AssessmentCycle, CreditRecord, DriverViolation, RecordKind, RecordStatus, Severity
from models.subjects import Subject, SubjectKind

__all__ = [
    "ApplicationStatus",
    "AssessmentCycle",
    "AuditEntry",
    "BindingCode",
    "BindingRequest",
    "ButtonToken",
    "ChatBinding",
    "Commitment",
    "CommitmentKind",
    "ConversationState",
    "CreditRecord",
    "Deadline",
    "DeadlineStatus",
    "DriverViolation",
    "Fulfilment",
    "Interview",
    "InterviewStatus",
    "Material",
    "Objection",
    "OutboxMessage",
    "OutboxStatus",
    "RecordKind",
    "RecordStatus",
    "RepairApplication",
    "RiskWarning",
    "Severity",
    "Staff",
    "StaffRole",
    "Subject",
    "SubjectKind",
    "utcnow",
]
