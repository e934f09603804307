"""Result snapshots: a closed consultation's aggregate count tables, kept across processes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.util import utcnow


class ResultSnapshot(db.Model):
    """One count table (app.services.datasets) of a closed consultation, as gzip'd CSV.

    key names the table and its filters; fingerprint is datasets' fingerprint of the accepted
    and voided responses when it was computed: a reader uses the row only when the current
    fingerprint is the same, so a voided or late-imported response is never hidden by it.
    """

    __table_args__ = (UniqueConstraint("consultation_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultation.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(500))
    fingerprint: Mapped[str] = mapped_column(String(200))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
