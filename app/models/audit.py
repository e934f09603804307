"""The append-only audit log: who did what, when, with before/after values."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.util import utcnow


class AuditEvent(db.Model):
    __table_args__ = (Index("ix_audit_event_action_at", "action", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    # The email as typed, for failed sign-ins where there is no account to point to.
    actor_label: Mapped[str | None] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(80))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(45))

    actor = relationship("User")


class AuditLogIsAppendOnly(Exception):
    """Raised when code tries to change or delete an audit row."""


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_change(mapper, connection, target):  # noqa: ARG001 - SQLAlchemy's signature
    raise AuditLogIsAppendOnly("audit events cannot be changed or deleted")
