"""Account management and the audit log, for administrators."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

bp = Blueprint("accounts", __name__)

ROLE_LABELS = {
    "admin": _l("Administrator"),
    "supervisor": _l("Supervisor"),
    "staff": _l("Municipal staff"),
    "analyst": _l("Analyst"),
    "facilitator": _l("Workshop facilitator"),
    "coordinator": _l("Action plan coordinator"),
    "implementer": _l("Agency liaison (implementer)"),
    "monitor": _l("Follow-up Committee member"),
}


@bp.app_template_filter("role_label")
def role_label(role: str) -> str:
    """Name a role in the interface language."""
    return str(ROLE_LABELS.get(role, role))


from app.accounts import routes  # noqa: E402, F401
