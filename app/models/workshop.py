"""Workshop plans: the top themes of a consultation grouped into expert workshops."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.util import utcnow


class WorkshopPlan(db.Model):
    """A grouping of themes into workshops, saved by a facilitator; several per consultation."""

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The filters ({"region": 3, …}, the API's parameter names) and weighting the numbers use.
    filters: Mapped[dict] = mapped_column(JSON, default=dict)
    weighting: Mapped[str] = mapped_column(String(20), default="none")
    # What the consultation looked like when the plan was made: a later change is detected
    # (a new definition version, or responses added or voided) and shown before an export.
    snapshot_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    snapshot_version: Mapped[int] = mapped_column(Integer)
    snapshot_respondents: Mapped[int] = mapped_column(Integer)

    workshops: Mapped[list[Workshop]] = relationship(
        back_populates="plan", order_by="Workshop.position", cascade="all, delete-orphan"
    )
    consultation = relationship("Consultation")
    created_by = relationship("User", foreign_keys=[created_by_id])
    updated_by = relationship("User", foreign_keys=[updated_by_id])


class Workshop(db.Model):
    __table_args__ = (UniqueConstraint("plan_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("workshop_plan.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[dict] = mapped_column(JSON)

    plan: Mapped[WorkshopPlan] = relationship(back_populates="workshops")
    themes: Mapped[list[WorkshopTheme]] = relationship(
        back_populates="workshop", order_by="WorkshopTheme.position",
        cascade="all, delete-orphan",
    )


class WorkshopTheme(db.Model):
    """A theme in a workshop; plan_id is repeated so the database refuses a theme twice."""

    __table_args__ = (
        UniqueConstraint("plan_id", "theme_id"),
        UniqueConstraint("workshop_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("workshop_plan.id"), index=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshop.id"), index=True)
    theme_id: Mapped[int] = mapped_column(ForeignKey("theme.id"))
    position: Mapped[int] = mapped_column(Integer)

    workshop: Mapped[Workshop] = relationship(back_populates="themes")
    theme = relationship("Theme")


class HiddenStatement(db.Model):
    """A citizen's problem statement a facilitator hid from shortlists and exports."""

    answer_id: Mapped[int] = mapped_column(ForeignKey("answer.id"), primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id"), index=True)
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    hidden_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
