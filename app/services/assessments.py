"""End-of-plan assessments: a monitor's judgement of each commitment, with justifications.

Two scales (OGP's Independent Reporting Mechanism's): completion and whether the commitment
opened government. The form pre-selects a completion suggested from the commitment's progress
(the complete milestones' share of the weight, app/services/lights.py):
0 → not started; under 0.5 → limited; under 1 → substantial; 1 → complete.
Assessments are only ever added: revising one appends a new row, and the newest is shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.database import write_transaction
from app.extensions import db
from app.models import Commitment
from app.models.plan import COMPLETION_LEVELS, OPENED_GOVERNMENT_LEVELS, Assessment
from app.services import audit, lights
from app.services.errors import DomainError

COMPLETION_LABELS = {
    "not_started": _l("Not started"),
    "limited": _l("Limited"),
    "substantial": _l("Substantial"),
    "complete": _l("Complete"),
}
OPENED_GOVERNMENT_LABELS = {
    "worsened": _l("Worsened"),
    "did_not_change": _l("Did not change"),
    "marginal": _l("Marginal"),
    "major": _l("Major"),
    "outstanding": _l("Outstanding"),
}


class InvalidAssessment(DomainError):
    """An assessment form has problems; nothing was stored."""


def commitment_progress(commitment: Commitment, as_of: date | None = None) -> float:
    return lights.progress([lights.MilestoneDates(m.starts_on, m.ends_on, m.weight,
                                                  m.completed_on)
                            for m in commitment.milestones], as_of)


def suggest_completion(progress: float) -> str:
    """Suggest a completion level from progress (a fraction of 1)."""
    if progress <= 0:
        return "not_started"
    if progress < 0.5:
        return "limited"
    if progress < 1:
        return "substantial"
    return "complete"


def latest(commitment: Commitment) -> Assessment | None:
    return db.session.scalar(
        db.select(Assessment).where(Assessment.commitment_id == commitment.id)
        .order_by(Assessment.assessed_at.desc(), Assessment.id.desc()).limit(1))


def record(commitment: Commitment, form: Mapping, actor) -> Assessment:
    """Validate and append an assessment; every problem is listed and nothing is stored."""
    completion = (form.get("completion") or "").strip()
    opened = (form.get("opened_government") or "").strip()
    why_completion = (form.get("completion_justification") or "").strip()
    why_opened = (form.get("opened_government_justification") or "").strip()
    problems = []
    if completion not in COMPLETION_LEVELS:
        problems.append(_("Completion: choose one of the levels."))
    if not why_completion:
        problems.append(_("Justification of the completion: it is required."))
    if opened not in OPENED_GOVERNMENT_LEVELS:
        problems.append(_("Did it open government?: choose one of the levels."))
    if not why_opened:
        problems.append(_("Justification of whether it opened government: it is required."))
    if problems:
        raise InvalidAssessment(_("The assessment has %(num)d problem(s); nothing was stored.",
                                  num=len(problems)), problems)
    with write_transaction() as session:
        assessment = Assessment(
            commitment_id=commitment.id, completion=completion,
            completion_justification=why_completion, opened_government=opened,
            opened_government_justification=why_opened,
            assessed_by_id=getattr(actor, "id", None))
        session.add(assessment)
        session.flush()
        audit.record("assessment.recorded", actor=actor, object_type="commitment",
                     object_id=f"{commitment.plan.slug}/{commitment.number}",
                     completion=completion, opened_government=opened,
                     assessment=assessment.id)
    return assessment
