"""Action plans and their public follow-up: commitments, milestones, evidence, reviews.

Texts are bilingual JSON objects ({"es": …, "en": …}), as in the plan file (DESIGN.md, "Action
plan file"); a text may be given in one language only. What the follow-up writes (evidence,
reviews, milestone events, indicator reports, assessments) is never deleted: a plan file
loaded again may change texts and dates, never drop a row that evidence or history rests on
(app/services/plans.py refuses such a file).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.util import utcnow

PLAN_STATUSES = ("draft", "approved")
ACTOR_SECTORS = ("government", "civil_society", "academia", "private", "citizen", "other")
OGP_VALUES = (
    "access_to_information", "accountability", "citizen_participation", "technology_innovation",
)
EVIDENCE_KINDS = ("file", "link")
EVIDENCE_STATES = ("pending", "accepted", "rejected")
REVIEW_DECISIONS = ("accepted", "rejected")
# "loaded": a completion date recorded in the plan file (history kept elsewhere).
MILESTONE_EVENT_KINDS = ("submitted", "accepted", "rejected", "reopened", "completed", "loaded")
# End-of-plan assessment scales (OGP's Independent Reporting Mechanism's).
COMPLETION_LEVELS = ("not_started", "limited", "substantial", "complete")
OPENED_GOVERNMENT_LEVELS = ("worsened", "did_not_change", "marginal", "major", "outstanding")
REMINDER_EVENTS = ("due_soon", "overdue", "awaiting_review")


class Plan(db.Model):
    """An action plan: commitments built from one or more consultations' themes."""

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[dict] = mapped_column(JSON)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    # Days a milestone may be overdue before its commitment turns red.
    grace_days: Mapped[int] = mapped_column(Integer, default=30)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    approved_at: Mapped[datetime | None] = mapped_column(DateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    consultation_links: Mapped[list[PlanConsultation]] = relationship(
        back_populates="plan", order_by="PlanConsultation.position",
        cascade="all, delete-orphan",
    )
    commitments: Mapped[list[Commitment]] = relationship(
        back_populates="plan", order_by="Commitment.number", cascade="all, delete-orphan"
    )
    approved_by = relationship("User")

    @property
    def consultations(self) -> list:
        return [link.consultation for link in self.consultation_links]

    def period_ended(self, on: date) -> bool:
        return on > self.ends_on

    def commitment_by_number(self) -> dict[int, Commitment]:
        return {commitment.number: commitment for commitment in self.commitments}


class PlanConsultation(db.Model):
    """A consultation whose themes the plan's commitments come from."""

    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)

    plan: Mapped[Plan] = relationship(back_populates="consultation_links")
    consultation = relationship("Consultation")


class Commitment(db.Model):
    __table_args__ = (UniqueConstraint("plan_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[dict] = mapped_column(JSON)
    problem: Mapped[dict | None] = mapped_column(JSON)
    objective: Mapped[dict | None] = mapped_column(JSON)
    description: Mapped[dict | None] = mapped_column(JSON)
    ogp_relevance: Mapped[dict | None] = mapped_column(JSON)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    # The file's "new": a commitment new in this plan (not carried over from an earlier one).
    is_new: Mapped[bool | None] = mapped_column()
    lead_agency: Mapped[str] = mapped_column(String(200), index=True)
    responsible_name: Mapped[str | None] = mapped_column(String(200))
    responsible_title: Mapped[str | None] = mapped_column(String(200))
    responsible_email: Mapped[str | None] = mapped_column(String(254))
    responsible_phone: Mapped[str | None] = mapped_column(String(60))
    ogp_values: Mapped[list] = mapped_column(JSON, default=list)
    # The metric the learning report asks for; all empty: "no metric yet".
    indicator_name: Mapped[dict | None] = mapped_column(JSON)
    indicator_unit: Mapped[dict | None] = mapped_column(JSON)
    indicator_baseline: Mapped[float | None] = mapped_column(Float)
    indicator_target: Mapped[float | None] = mapped_column(Float)

    plan: Mapped[Plan] = relationship(back_populates="commitments")
    theme_links: Mapped[list[CommitmentTheme]] = relationship(
        back_populates="commitment", order_by="CommitmentTheme.position",
        cascade="all, delete-orphan",
    )
    actors: Mapped[list[CommitmentActor]] = relationship(
        back_populates="commitment", order_by="CommitmentActor.position",
        cascade="all, delete-orphan",
    )
    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="commitment", order_by="Milestone.number", cascade="all, delete-orphan"
    )
    origins: Mapped[list[CommitmentOrigin]] = relationship(
        back_populates="commitment", order_by="CommitmentOrigin.position",
        cascade="all, delete-orphan",
    )

    @property
    def has_indicator(self) -> bool:
        return bool(self.indicator_name)

    def theme_codes(self) -> list[str]:
        """Return the theme codes in the file's order, once each (a code may be in two
        consultations of the plan)."""
        codes: list[str] = []
        for link in self.theme_links:
            if link.theme.code not in codes:
                codes.append(link.theme.code)
        return codes

    def milestone_by_number(self) -> dict[int, Milestone]:
        return {milestone.number: milestone for milestone in self.milestones}


class CommitmentTheme(db.Model):
    """A consultation theme behind a commitment."""

    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitment.id"), primary_key=True)
    theme_id: Mapped[int] = mapped_column(ForeignKey("theme.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)

    commitment: Mapped[Commitment] = relationship(back_populates="theme_links")
    theme = relationship("Theme")


class CommitmentActor(db.Model):
    """Another actor of a commitment (an organization, with its sector)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitment.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    sector: Mapped[str] = mapped_column(String(20))

    commitment: Mapped[Commitment] = relationship(back_populates="actors")


class Milestone(db.Model):
    __table_args__ = (UniqueConstraint("commitment_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitment.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    description: Mapped[dict] = mapped_column(JSON)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    weight: Mapped[float] = mapped_column(Float, default=1)
    verification: Mapped[dict | None] = mapped_column(JSON)
    # The day the work was done, from accepted evidence (or the plan file's history).
    completed_on: Mapped[date | None] = mapped_column(Date)

    commitment: Mapped[Commitment] = relationship(back_populates="milestones")
    evidence: Mapped[list[Evidence]] = relationship(
        back_populates="milestone", order_by="Evidence.submitted_at"
    )
    # A milestone is removed only when nothing but the file's "loaded" events rest on it
    # (app/services/plans.py refuses the rest), so those go with it.
    events: Mapped[list[MilestoneEvent]] = relationship(
        back_populates="milestone", order_by="MilestoneEvent.id", cascade="all, delete-orphan"
    )


class CommitmentOrigin(db.Model):
    """A theme's rank and vote share in its consultation, frozen at load or approval."""

    __table_args__ = (UniqueConstraint("commitment_id", "theme_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitment.id"), index=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id"))
    theme_id: Mapped[int] = mapped_column(ForeignKey("theme.id"))
    position: Mapped[int] = mapped_column(Integer)
    # Null when the consultation had no votes for ranking at freezing time.
    rank: Mapped[int | None] = mapped_column(Integer)
    vote_share: Mapped[float | None] = mapped_column(Float)
    respondents: Mapped[int | None] = mapped_column(Integer)
    frozen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    commitment: Mapped[Commitment] = relationship(back_populates="origins")
    consultation = relationship("Consultation")
    theme = relationship("Theme")


class Evidence(db.Model):
    """Evidence an implementer submits for a milestone (or for an indicator report).

    A file is stored outside the web root under its SHA-256; a link is a public URL. The state
    moves pending → accepted or rejected by the monitors' reviews; never public before accepted.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitment.id"), index=True)
    # Null for evidence of an indicator report that backs no milestone.
    milestone_id: Mapped[int | None] = mapped_column(ForeignKey("milestone.id"), index=True)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[str] = mapped_column(String(10))
    file_path: Mapped[str | None] = mapped_column(String(500))
    file_name: Mapped[str | None] = mapped_column(String(255))
    sha256: Mapped[str | None] = mapped_column(String(64))
    media_type: Mapped[str | None] = mapped_column(String(120))
    size: Mapped[int | None] = mapped_column(Integer)
    url: Mapped[str | None] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(Text, default="")
    # The day the work was done, as the evidence says: a milestone completes on it.
    done_on: Mapped[date] = mapped_column(Date)
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(10), default="pending", index=True)

    milestone: Mapped[Milestone | None] = relationship(back_populates="evidence")
    commitment = relationship("Commitment")
    submitted_by = relationship("User")
    reviews: Mapped[list[EvidenceReview]] = relationship(
        back_populates="evidence", order_by="EvidenceReview.id"
    )


class EvidenceReview(db.Model):
    """A monitor's decision on one piece of evidence; one per monitor and evidence."""

    __table_args__ = (UniqueConstraint("evidence_id", "monitor_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    evidence_id: Mapped[int] = mapped_column(ForeignKey("evidence.id"), index=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    decision: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    evidence: Mapped[Evidence] = relationship(back_populates="reviews")
    monitor = relationship("User")


class MilestoneEvent(db.Model):
    """One step of a milestone's public history; rows are only ever added."""

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestone.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    evidence_id: Mapped[int | None] = mapped_column(ForeignKey("evidence.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    # The completion date this event set (completed, loaded), or None.
    completed_on: Mapped[date | None] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    milestone: Mapped[Milestone] = relationship(back_populates="events")
    evidence = relationship("Evidence")
    actor = relationship("User")


class IndicatorReport(db.Model):
    """A value of a commitment's indicator on a day, with the evidence behind it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitment.id"), index=True)
    value: Mapped[float] = mapped_column(Float)
    measured_on: Mapped[date] = mapped_column(Date)
    evidence_id: Mapped[int | None] = mapped_column(ForeignKey("evidence.id"))
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    commitment = relationship("Commitment")
    evidence = relationship("Evidence")
    reported_by = relationship("User")


class Assessment(db.Model):
    """A monitor's end-of-plan assessment of a commitment; the newest one is shown."""

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitment.id"), index=True)
    completion: Mapped[str] = mapped_column(String(20))
    completion_justification: Mapped[str] = mapped_column(Text)
    opened_government: Mapped[str] = mapped_column(String(20))
    opened_government_justification: Mapped[str] = mapped_column(Text)
    assessed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    assessed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    commitment = relationship("Commitment")
    assessed_by = relationship("User")


class ReminderSent(db.Model):
    """A reminder e-mailed once per milestone, event and recipient."""

    __table_args__ = (UniqueConstraint("milestone_id", "event", "recipient"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestone.id"), index=True)
    event: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(String(254))
    sent_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class UserAgency(db.Model):
    """A lead agency an implementer may report for (as staff are scoped to municipalities)."""

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True)
    lead_agency: Mapped[str] = mapped_column(String(200), primary_key=True)


# --- The follow-up's history is append-only --------------------------------------------------
# A review or a milestone event, once written, is never changed or deleted: a light must not
# change without a trace. (The plan file's "loaded" events go with a milestone the file drops,
# which app/services/plans.py allows only when nothing else rests on it.)


def _refuse_change(mapper, connection, target) -> None:
    raise ValueError(f"{type(target).__name__} rows are append-only: never updated or deleted.")


def _refuse_delete(mapper, connection, target) -> None:
    if isinstance(target, MilestoneEvent) and target.kind == "loaded":
        return
    _refuse_change(mapper, connection, target)


for _model in (MilestoneEvent, EvidenceReview):
    event.listen(_model, "before_update", _refuse_change)
    event.listen(_model, "before_delete", _refuse_delete)
