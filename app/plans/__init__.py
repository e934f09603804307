"""Action plans: the public follow-up (/plans/…) and their read-only API (/api/v1/plans/…)."""

from flask import Blueprint

# Public pages of a plan (the board, a commitment, the calendar) at /plans.
bp = Blueprint("plans", __name__)
# The plans API and open data, beside the consultations' at /api/v1.
api_bp = Blueprint("plans_api", __name__)

from app.plans import api, evidence_files, routes  # noqa: E402, F401
