"""Printed questionnaires: batches of serials, the two keyings of each form, and resolutions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
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


class PaperBatch(db.Model):
    """A run of serials printed for one municipality: sequences first..last, never reused."""

    __table_args__ = (
        # Two batches created at the same moment cannot both take the next sequence.
        UniqueConstraint("consultation_id", "municipality_code", "first_sequence"),
        UniqueConstraint("consultation_id", "municipality_code", "last_sequence"),
        CheckConstraint("first_sequence >= 1 AND last_sequence >= first_sequence",
                        name="sequence_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id"), index=True)
    municipality_code: Mapped[str] = mapped_column(ForeignKey("municipality.code"), index=True)
    first_sequence: Mapped[int] = mapped_column(Integer)
    last_sequence: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    municipality = relationship("Municipality")
    created_by = relationship("User")

    def serials(self) -> list[str]:
        return [
            f"{self.municipality_code}-{sequence:06d}"
            for sequence in range(self.first_sequence, self.last_sequence + 1)
        ]


# A keying or a resolution is voided when voided_at is set: kept with who and why, and no longer
# blocking a new keying of its serial (the unique indexes below cover the live rows only).
LIVE = "voided_at IS NULL"


class PaperKeying(db.Model):
    """One transcription of one paper form; pass 1 and pass 2 are kept as typed, forever.

    Voiding a form, or correcting a first keying, sets voided_at on the keyings it replaces.
    """

    __table_args__ = (
        Index("uq_paper_keying_live_pass", "consultation_id", "serial", "pass_number",
              unique=True, sqlite_where=text(LIVE), postgresql_where=text(LIVE)),
        # The same account can never key both live passes of one form.
        Index("uq_paper_keying_live_keyer", "consultation_id", "serial", "keyed_by_id",
              unique=True, sqlite_where=text(LIVE), postgresql_where=text(LIVE)),
        CheckConstraint("pass_number IN (1, 2)", name="pass_number"),
        Index("ix_paper_keying_consultation_municipality", "consultation_id",
              "municipality_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id"))
    serial: Mapped[str] = mapped_column(String(40))
    municipality_code: Mapped[str] = mapped_column(ForeignKey("municipality.code"))
    pass_number: Mapped[int] = mapped_column(Integer)
    keyed_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    answers: Mapped[dict] = mapped_column(JSON)
    # Set on the second pass: True when it differs from the first one in any field.
    mismatch: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    voided_at: Mapped[datetime | None] = mapped_column(DateTime)
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    void_reason: Mapped[str | None] = mapped_column(Text)

    keyed_by = relationship("User", foreign_keys=[keyed_by_id])


class PaperResolution(db.Model):
    """A supervisor's field-by-field decision on a form whose two keyings differ."""

    __table_args__ = (
        Index("uq_paper_resolution_live", "consultation_id", "serial", unique=True,
              sqlite_where=text(LIVE), postgresql_where=text(LIVE)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id"))
    serial: Mapped[str] = mapped_column(String(40))
    # {field: {"choice": "first" | "second" | "typed", "value": ...}} for each field that
    # differed ("typed": the supervisor typed what the paper says; then every field is listed).
    decisions: Mapped[dict] = mapped_column(JSON)
    answers: Mapped[dict] = mapped_column(JSON)
    response_id: Mapped[int | None] = mapped_column(ForeignKey("response.id"))
    resolved_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    resolved_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Why the supervisor settled it so (required when they typed the paper's answers).
    reason: Mapped[str | None] = mapped_column(Text)
    voided_at: Mapped[datetime | None] = mapped_column(DateTime)
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    void_reason: Mapped[str | None] = mapped_column(Text)

    resolved_by = relationship("User", foreign_keys=[resolved_by_id])
