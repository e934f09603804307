"""An evidence file at /plans/<slug>/evidence/<id>, the address the open data lists.

Public once the Follow-up Committee accepted it; before that, 404 for the public and the file
for staff who may open it (reviewers, coordinators, the agency's implementers).
"""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from app.auth.decorators import public
from app.followup.routes import send_evidence_file
from app.plans import bp
from app.services import evidence as evidence_service
from app.services.review import may_download


@bp.route("/<slug>/evidence/<int:evidence_id>")
@public
def evidence_file(slug: str, evidence_id: int):
    evidence = evidence_service.get(evidence_id)
    if (evidence is None or evidence.kind != "file"
            or evidence.commitment.plan.slug != slug
            or not may_download(current_user, evidence)):
        abort(404)
    response = send_evidence_file(evidence)
    if evidence.state != "accepted":
        response.headers["Cache-Control"] = "private, no-store"
    return response
