"""Public pages: the list of consultations, a consultation, the language switch."""

from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, session, url_for

from app.auth.decorators import public
from app.auth.routes import safe_next
from app.public import bp
from app.services import consultations as consultation_service
from app.services import plans as plan_service
from app.util import local_today


@bp.route("/")
@public
def index():
    today = local_today()
    groups: dict[str, list] = {"open": [], "upcoming": [], "closed": []}
    for consultation in consultation_service.listed():
        groups[consultation.status(today)].append(consultation)
    return render_template("public/index.html", groups=groups, today=today,
                           plans=plan_service.listed())


@bp.route("/c/<slug>")
@public
def consultation(slug: str):
    found = consultation_service.get_by_slug(slug, include_drafts=False)
    if found is None:
        abort(404)
    return render_template("public/consultation.html", consultation=found,
                           status=found.status(local_today()))


@bp.route("/language/<code>")
@public
def set_language(code: str):
    """Keep the chosen language in the session and go back to the page the person was on."""
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["lang"] = code
    return redirect(safe_next(request.args.get("next")) or url_for("public.index"))
