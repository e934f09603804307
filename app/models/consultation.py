"""Consultations and their questionnaire: themes, questions, options (bilingual JSON texts)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.util import utcnow

CHANNELS = ("online", "paper")
QUESTION_TYPES = ("single", "multiple", "text", "number")


class Consultation(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[dict] = mapped_column(JSON)
    description: Mapped[dict] = mapped_column(JSON)
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)
    channels: Mapped[list] = mapped_column(JSON)
    theme_label: Mapped[dict] = mapped_column(JSON)
    theme_min: Mapped[int] = mapped_column(Integer, default=1)
    theme_max: Mapped[int] = mapped_column(Integer, default=3)
    theme_ranked: Mapped[bool] = mapped_column(default=True)
    # Paper forms are keyed twice by two accounts unless the administrator says otherwise.
    double_entry: Mapped[bool] = mapped_column(default=True)
    publish_free_text: Mapped[bool] = mapped_column(default=False)
    # A draft is invisible to citizens until an administrator publishes it.
    is_draft: Mapped[bool] = mapped_column(default=False)
    closed_early_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    # Optimistic locking: a stale save from a second editor is refused, never merged.
    version: Mapped[int] = mapped_column(Integer, default=1)

    themes: Mapped[list[Theme]] = relationship(
        back_populates="consultation", order_by="Theme.position", cascade="all, delete-orphan"
    )
    questions: Mapped[list[Question]] = relationship(
        back_populates="consultation", order_by="Question.position", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def effective_closes_on(self) -> date:
        return self.closed_early_on or self.closes_on

    def status(self, today: date) -> str:
        """Return draft, upcoming, open or closed on the given local date."""
        if self.is_draft:
            return "draft"
        if today < self.opens_on:
            return "upcoming"
        if today > self.effective_closes_on:
            return "closed"
        return "open"

    def is_open(self, today: date) -> bool:
        return self.status(today) == "open"

    def theme_by_code(self) -> dict[str, Theme]:
        return {theme.code: theme for theme in self.themes}

    def question_by_code(self) -> dict[str, Question]:
        return {question.code: question for question in self.questions}


class Theme(db.Model):
    __table_args__ = (UniqueConstraint("consultation_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id"), index=True)
    code: Mapped[str] = mapped_column(String(60))
    name: Mapped[dict] = mapped_column(JSON)
    position: Mapped[int] = mapped_column(Integer)

    consultation: Mapped[Consultation] = relationship(back_populates="themes")


class Question(db.Model):
    __table_args__ = (UniqueConstraint("consultation_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id"), index=True)
    code: Mapped[str] = mapped_column(String(60))
    type: Mapped[str] = mapped_column(String(10))
    required: Mapped[bool] = mapped_column(default=False)
    label: Mapped[dict] = mapped_column(JSON)
    max_length: Mapped[int | None] = mapped_column(Integer)
    min_value: Mapped[float | None]
    max_value: Mapped[float | None]
    position: Mapped[int] = mapped_column(Integer)

    consultation: Mapped[Consultation] = relationship(back_populates="questions")
    options: Mapped[list[Option]] = relationship(
        back_populates="question", order_by="Option.position", cascade="all, delete-orphan"
    )

    @property
    def has_options(self) -> bool:
        return self.type in ("single", "multiple")

    def option_by_code(self) -> dict[str, Option]:
        return {option.code: option for option in self.options}


class Option(db.Model):
    __table_args__ = (UniqueConstraint("question_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"), index=True)
    code: Mapped[str] = mapped_column(String(60))
    label: Mapped[dict] = mapped_column(JSON)
    position: Mapped[int] = mapped_column(Integer)

    question: Mapped[Question] = relationship(back_populates="options")
