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
    ObligationFulfilment,
    RepairApplication,
    RiskWarning,
)
from models.audit import AuditEntry
from models.base import utcnow
from models.imports import DataTransfer
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
from models.subjects import SUBJECT_CATEGORIES, Subject, SubjectKind

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
    "DataTransfer",
    "Deadline",
    "DeadlineStatus",
    "DriverViolation",
    "Fulfilment",
    "Interview",
    "InterviewStatus",
    "Material",
    "ObligationFulfilment",
    "Objection",
    "OutboxMessage",
    "OutboxStatus",
    "RecordKind",
    "RecordStatus",
    "RepairApplication",
    "RiskWarning",
    "SUBJECT_CATEGORIES",
    "Severity",
    "Staff",
    "StaffRole",
    "Subject",
    "SubjectKind",
    "utcnow",
]
