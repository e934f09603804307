"""Write audit events: who did what, when, with before/after values."""

from __future__ import annotations

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
