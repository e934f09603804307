"""Follow-up of action plans by staff: implementers' evidence and the committee's review."""

from flask import Blueprint

bp = Blueprint("followup", __name__)

from app.followup import routes  # noqa: E402, F401
