"""Public results of a consultation: ranking chart, participation, methodology, open data."""

from __future__ import annotations

from flask import Response, abort, current_app, render_template
from flask_login import current_user

from app.auth.access import RESULT_ROLES, can_see_results
from app.auth.decorators import public
from app.models import Consultation
from app.results import bp
from app.security import image_rate_limit
from app.services import consultations as consultation_service
from app.services import public_results as results
from app.util import local_today


def _consultation(slug: str) -> Consultation:
    staff = current_user.is_authenticated and current_user.has_role(*RESULT_ROLES)
    found = consultation_service.get_by_slug(slug, include_drafts=staff)
    if found is None:
        abort(404)
    if not can_see_results(found):
        abort(403)
    return found


@bp.route("/c/<slug>/results")
@public
def page(slug: str):
    consultation = _consultation(slug)
    min_cell = current_app.config["MIN_CELL_SIZE"]
    return render_template(
        "results/page.html", consultation=consultation, status=consultation.status(
            local_today()), ranking=results.ranking(consultation),
        regions=results.participation_by_region(consultation, min_cell), min_cell=min_cell)


@bp.route("/c/<slug>/results/ranking.png")
@public
@image_rate_limit
def ranking_chart(slug: str):
    consultation = _consultation(slug)
    return Response(results.ranking_chart_png(consultation), mimetype="image/png",
                    headers={"Cache-Control": "no-store"})
