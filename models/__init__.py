"""SQLModel tables and the database. Importing this package registers every table on the metadata."""

from models.applications import (
    ApplicationStatus,
    Commitment,
    CommitmentKind,
    Deadline,
    DeadlineStatus,
    FollowUpReport,
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
    AlertGroup,
    BindingCode,
    BindingRequest,
    ButtonToken,
    ChatBinding,
    ConversationState,
    SecurityTally,
    Staff,
    StaffRole,
)
from models.records import AssessmentCycle, CreditRecord, DriverViolation, RecordKind, RecordStatus, Severity
from models.robots import Robot, RobotKind
from models.subjects import SUBJECT_CATEGORIES, Subject, SubjectKind
from models.sweeps import SweepRun

__all__ = [
    "Robot",
    "RobotKind",
    "AlertGroup",
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
    "FollowUpReport",
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
    "SecurityTally",
    "Severity",
    "Staff",
    "StaffRole",
    "Subject",
    "SubjectKind",
    "SweepRun",
    "utcnow",
]
