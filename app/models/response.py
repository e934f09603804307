"""Responses: who answered (anonymously) through which channel, their themes and answers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.util import utcnow

RESPONSE_STATES = ("accepted", "voided")
# A response is voided when its state is 'voided' (kept with who, when and why, never deleted).
# Its paper serial is then free: the serial is unique among the responses NOT voided only.
NOT_VOIDED = "state <> 'voided'"


class ImportBatch(db.Model):
    """A spreadsheet of responses stored in one transaction, voidable as a whole."""

    # The same file is imported once, unless its batch was voided: then it may come again.
    __table_args__ = (
        Index("uq_import_batch_file_not_voided", "consultation_id", "sha256", unique=True,
              sqlite_where=text("voided_at IS NULL"), postgresql_where=text("voided_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    voided_at: Mapped[datetime | None] = mapped_column(DateTime)
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    void_reason: Mapped[str | None] = mapped_column(Text)


class Response(db.Model):
    __table_args__ = (
        # One live form per serial: a voided form keeps its serial, which can be keyed or
        # imported again (a partial unique index, on SQLite and PostgreSQL alike).
        Index("uq_response_serial_not_voided", "consultation_id", "form_serial", unique=True,
              sqlite_where=text(NOT_VOIDED), postgresql_where=text(NOT_VOIDED)),
        CheckConstraint("channel IN ('online', 'paper')", name="channel"),
        CheckConstraint("state IN ('accepted', 'voided')", name="state"),
        # The aggregate queries filter on these before grouping.
        Index("ix_response_consultation_state", "consultation_id", "state"),
        # Covers the analysis' one aggregate: accepted responses counted per pattern of themes,
        # channel and municipality, read in the index's order without touching the table.
        Index("ix_response_pattern", "consultation_id", "state", "theme_pattern", "channel",
              "municipality_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id"))
    channel: Mapped[str] = mapped_column(String(10))
    municipality_code: Mapped[str] = mapped_column(ForeignKey("municipality.code"), index=True)
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    submitted_on: Mapped[date] = mapped_column(Date)
    # online, import or entry (paper keyed twice in the app).
    source: Mapped[str] = mapped_column(String(10))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"), index=True)
    form_serial: Mapped[str | None] = mapped_column(String(40))
    receipt_code: Mapped[str | None] = mapped_column(String(20), unique=True)
    # The one-time token of an online form: a unique column makes a replay fail in the database.
    submission_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(10), default="accepted")
    voided_at: Mapped[datetime | None] = mapped_column(DateTime)
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    void_reason: Mapped[str | None] = mapped_column(Text)
    # The chosen themes' ids in position order ("4,1,7"; "" for none), stored with the themes
    # (see theme_pattern()): the analysis counts responses per pattern from this one column
    # instead of joining response_theme once per position (app.services.datasets).
    theme_pattern: Mapped[str] = mapped_column(String(200), default="", server_default="")

    themes: Mapped[list[ResponseTheme]] = relationship(
        back_populates="response", order_by="ResponseTheme.position", cascade="all, delete-orphan"
    )
    answers: Mapped[list[Answer]] = relationship(
        back_populates="response", cascade="all, delete-orphan"
    )


def theme_pattern(theme_ids: Iterable[int]) -> str:
    """Return Response.theme_pattern for theme ids in position order (1 = most important)."""
    return ",".join(str(theme_id) for theme_id in theme_ids)


def pattern_theme_ids(pattern: str) -> list[int]:
    """Return the theme ids of a Response.theme_pattern, in position order."""
    return [int(theme_id) for theme_id in pattern.split(",")] if pattern else []


class ResponseTheme(db.Model):
    """One theme chosen in a response, at its priority position (1 = most important)."""

    __table_args__ = (UniqueConstraint("response_id", "position"),)

    response_id: Mapped[int] = mapped_column(ForeignKey("response.id"), primary_key=True)
    theme_id: Mapped[int] = mapped_column(ForeignKey("theme.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)

    response: Mapped[Response] = relationship(back_populates="themes")


class Answer(db.Model):
    """One answer value: an option (one row per option for multiple), a text or a number."""

    # With the response last, one question's answers are read from the index alone, in
    # response order per option (the analysis' split by a single-choice question's options).
    __table_args__ = (Index("ix_answer_question_option", "question_id", "option_id",
                            "response_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("response.id"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"))
    option_id: Mapped[int | None] = mapped_column(ForeignKey("option.id"))
    text_value: Mapped[str | None] = mapped_column(Text)
    number_value: Mapped[float | None] = mapped_column(Float)

    response: Mapped[Response] = relationship(back_populates="answers")
