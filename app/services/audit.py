"""Write audit events: who did what, when, with before/after values."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from flask import has_request_context, request

from app.extensions import db
from app.models import AuditEvent, User


def record(
    action: str,
    *,
    actor: User | None = None,
    actor_label: str | None = None,
    object_type: str | None = None,
    object_id: Any = None,
    **details: Any,
) -> AuditEvent:
    """Add an audit event to the current transaction (it commits or rolls back with the work)."""
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        actor_label=actor_label or (actor.email if actor is not None else None),
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        details=details,
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    return event


def actions() -> list[str]:
    """Return the distinct actions recorded so far, for the filter of the audit page."""
    return list(db.session.scalars(
        db.select(AuditEvent.action).distinct().order_by(AuditEvent.action)
    ))


def search(
    *,
    action: str | None = None,
    actor: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: date | None = None,
    until: date | None = None,
    page: int = 1,
    per_page: int = 50,
):
    """Return one page of audit events matching the filters, newest first.

    `actor` matches part of the email (or of the label typed at a failed sign-in); dates are
    inclusive and in UTC, as the events are stored.
    """
    query = db.select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if action:
        query = query.where(AuditEvent.action == action)
    if actor:
        pattern = "%" + actor.strip().lower().replace("%", r"\%").replace("_", r"\_") + "%"
        query = query.where(db.func.lower(AuditEvent.actor_label).like(pattern, escape="\\"))
    if object_type:
        query = query.where(AuditEvent.object_type == object_type.strip())
    if object_id:
        query = query.where(AuditEvent.object_id == object_id.strip())
    if since:
        query = query.where(AuditEvent.at >= datetime.combine(since, time.min))
    if until:
        query = query.where(AuditEvent.at < datetime.combine(until + timedelta(days=1), time.min))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)
