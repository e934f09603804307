"""Database models; importing this package registers every table with the metadata."""

from app.models.account import ROLES, User, UserMunicipality, UserRegion, UserRole
from app.models.audit import AuditEvent
from app.models.consultation import (
    CHANNELS,
    QUESTION_TYPES,
    Consultation,
    Option,
    Question,
    Theme,
)
from app.models.geography import Municipality, Region
from app.models.job import JOB_KINDS, JOB_STATES, Job
from app.models.paper import PaperBatch, PaperKeying, PaperResolution
from app.models.plan import (
    Assessment,
    Commitment,
    CommitmentActor,
    CommitmentOrigin,
    CommitmentTheme,
    Evidence,
    EvidenceReview,
    IndicatorReport,
    Milestone,
    MilestoneEvent,
    Plan,
    PlanConsultation,
    ReminderSent,
    UserAgency,
)
from app.models.response import Answer, ImportBatch, Response, ResponseTheme
from app.models.snapshot import ResultSnapshot
from app.models.target import ParticipationTarget
from app.models.workshop import HiddenStatement, Workshop, WorkshopPlan, WorkshopTheme

__all__ = [
    "CHANNELS",
    "JOB_KINDS",
    "JOB_STATES",
    "QUESTION_TYPES",
    "ROLES",
    "Answer",
    "Assessment",
    "AuditEvent",
    "Commitment",
    "CommitmentActor",
    "CommitmentOrigin",
    "CommitmentTheme",
    "Consultation",
    "Evidence",
    "EvidenceReview",
    "HiddenStatement",
    "ImportBatch",
    "IndicatorReport",
    "Milestone",
    "MilestoneEvent",
    "Job",
    "Municipality",
    "Option",
    "PaperBatch",
    "PaperKeying",
    "PaperResolution",
    "ParticipationTarget",
    "Plan",
    "PlanConsultation",
    "Question",
    "Region",
    "ReminderSent",
    "Response",
    "ResponseTheme",
    "ResultSnapshot",
    "Theme",
    "User",
    "UserAgency",
    "UserMunicipality",
    "UserRegion",
    "UserRole",
    "Workshop",
    "WorkshopPlan",
    "WorkshopTheme",
]
