"""Plans API v1 (read-only, public): the list, the board as of a day, and the open data.

Titles come in the language of ?lang=es|en, else the Accept-Language header, else Spanish.
"""

from __future__ import annotations

from datetime import date

from flask import Response, jsonify, request
from flask_babel import gettext as _

from app.auth.decorators import public
from app.i18n import language
from app.plans import api_bp
from app.services import plan_opendata
from app.services import plans as plan_service
from app.services.plan_board import board, plan_summaries
from app.util import local_today


class BadParameter(ValueError):
    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter
        self.message = message


def _error(status: int, code: str, message: str, **extra):
    response = jsonify(error=code, message=message, **extra)
    response.status_code = status
    return response


def _bad(problem: BadParameter):
    return _error(400, "bad_parameter", problem.message, parameter=problem.parameter)


def _lang() -> str:
    requested = request.args.get("lang")
    if requested is None:
        return language()
    code = requested.split("_")[0].split("-")[0].lower()
    if code not in ("es", "en"):
        raise BadParameter("lang", _("lang must be es or en, not \"%(value)s\"",
                                     value=requested))
    return code


def _as_of() -> date:
    value = request.args.get("as_of")
    if value is None or value == "":
        return local_today()
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise BadParameter("as_of", _("as_of must be a date written YYYY-MM-DD, not "
                                      "\"%(value)s\"", value=value)) from None


def _plan(slug: str):
    plan = plan_service.get_by_slug(slug)
    if plan is None:
        return None, _error(404, "not_found", _("No action plan with slug \"%(slug)s\".",
                                                 slug=slug))
    return plan, None


@api_bp.route("/plans")
@public
def plans():
    try:
        lang = _lang()
    except BadParameter as bad:
        return _bad(bad)
    return jsonify(plan_summaries(lang))


@api_bp.route("/plans/<slug>/board")
@public
def plan_board(slug: str):
    plan, problem = _plan(slug)
    if problem is not None:
        return problem
    try:
        as_of, lang = _as_of(), _lang()
    except BadParameter as bad:
        return _bad(bad)
    return jsonify(board(plan, as_of, lang))


def _csv(slug: str, resource: str, rows: list[list]):
    disposition = f'attachment; filename="{slug}-{resource}.csv"'
    return Response(plan_opendata.to_csv(resource, rows), mimetype="text/csv",
                    headers={"Content-Disposition": disposition})


@api_bp.route("/plans/<slug>/commitments.csv")
@public
def commitments_csv(slug: str):
    plan, problem = _plan(slug)
    if problem is not None:
        return problem
    return _csv(slug, "commitments", plan_opendata.commitment_rows(plan, local_today()))


@api_bp.route("/plans/<slug>/milestones.csv")
@public
def milestones_csv(slug: str):
    plan, problem = _plan(slug)
    if problem is not None:
        return problem
    return _csv(slug, "milestones", plan_opendata.milestone_rows(plan, local_today()))


def evidence_file_url(evidence) -> str:
    """Return the public download of an accepted evidence file.

    /plans/<slug>/evidence/<id> is where the evidence pages serve an accepted file.
    """
    slug = evidence.commitment.plan.slug
    return f"{request.host_url.rstrip('/')}/plans/{slug}/evidence/{evidence.id}"


@api_bp.route("/plans/<slug>/evidence.csv")
@public
def evidence_csv(slug: str):
    plan, problem = _plan(slug)
    if problem is not None:
        return problem
    return _csv(slug, "evidence", plan_opendata.evidence_rows(plan, evidence_file_url))


@api_bp.route("/plans/<slug>/datapackage.json")
@public
def datapackage(slug: str):
    plan, problem = _plan(slug)
    if problem is not None:
        return problem
    try:
        lang = _lang()
    except BadParameter as bad:
        return _bad(bad)
    return jsonify(plan_opendata.datapackage(plan, lang))
