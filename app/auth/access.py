"""Who may see what, for rules that depend on the data rather than on the route alone."""

from __future__ import annotations

from flask_login import current_user

from app.models import Consultation
from app.util import local_today

RESULT_ROLES = ("analyst", "admin")


def can_see_results(consultation: Consultation) -> bool:
    """Results are public once a consultation closes; before that only analysts and admins."""
    if consultation.status(local_today()) == "closed":
        return True
    return current_user.is_authenticated and current_user.has_role(*RESULT_ROLES)
