"""Public pages of an action plan: for now its calendar feed."""

from __future__ import annotations

from flask import Response, abort, request
from flask_babel import gettext as _

from app.auth.decorators import public
from app.i18n import language
from app.plans import bp
from app.services import plans as plan_service
from app.services.plan_opendata import calendar


def plan_or_404(slug: str):
    plan = plan_service.get_by_slug(slug)
    if plan is None:
        abort(404, description=_("No action plan with slug \"%(slug)s\".", slug=slug))
    return plan


def requested_language() -> str:
    """Return ?lang=es|en, else the page rule (Accept-Language, else Spanish); 400 if bad."""
    requested = request.args.get("lang")
    if requested is None:
        return language()
    code = requested.split("_")[0].split("-")[0].lower()
    if code not in ("es", "en"):
        abort(400, description=_("lang must be es or en, not \"%(value)s\"", value=requested))
    return code


@bp.route("/<slug>/calendar.ics")
@public
def calendar_feed(slug: str):
    plan = plan_or_404(slug)
    body = calendar(plan, requested_language())
    return Response(body, mimetype="text/calendar",
                    headers={"Content-Disposition": f'inline; filename="{slug}.ics"',
                             "Vary": "Accept-Language"})
