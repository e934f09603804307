"""JSON API v1 (read-only): consultations, ranking and participation with filters.

`name` fields come in the language of ?lang=es|en, else the Accept-Language header, else
Spanish (the same rule as the pages). Results of a consultation that has not closed answer 403
for anyone but analysts and administrators.
"""

from __future__ import annotations

from flask import current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from app.api import bp
from app.api.openapi import openapi_document
from app.auth.access import RESULT_ROLES, can_see_results
from app.auth.decorators import public
from app.i18n import language
from app.services import results
from app.services.caching import PRIVATE, cache_control, listing
from app.services.consultations import get_by_slug
from app.services.datasets import FilterError, parse_filters

# Parameters that are not filters.
OPTIONS = ("weight", "lang")


def error(status: int, code: str, message: str, **extra):
    response = jsonify(error=code, message=message, **extra)
    response.status_code = status
    response.headers["Cache-Control"] = PRIVATE
    return response


def _cached(response, consultation):
    response.headers.update(cache_control(consultation))
    return response


def _consultation(slug: str):
    """Return (consultation, None) or (None, an error response) for 404 / 403."""
    consultation = get_by_slug(slug)
    is_analyst = current_user.is_authenticated and current_user.has_role(*RESULT_ROLES)
    if consultation is None or (consultation.is_draft and not is_analyst):
        return None, error(404, "not_found", _("No consultation with slug \"%(slug)s\".",
                                               slug=slug))
    if not can_see_results(consultation):
        return None, error(403, "forbidden", _(
            "The results of this consultation are published when it closes; until then only "
            "analysts and administrators see them."))
    return consultation, None


def _parameters(consultation, with_weight: bool):
    """Return (filters, weight) or raise FilterError / BadParameter."""
    ignore = OPTIONS if with_weight else ("lang",)
    filters = parse_filters(consultation, request.args, ignore=ignore)
    weight = results.check_weight(request.args.get("weight")) if with_weight else "none"
    return filters, weight


def _lang() -> str:
    """Return the language of names: ?lang=es|en, else the page rule (Accept-Language, Spanish)."""
    requested = request.args.get("lang")
    if requested is None:
        return language()
    code = requested.split("_")[0].split("-")[0].lower()
    if code not in ("es", "en"):
        raise results.BadParameter("lang", _("lang must be es or en, not \"%(value)s\"",
                                             value=requested))
    return code


def _suppressed(payload: dict, filters) -> dict:
    """Withhold small numbers from the public (DESIGN: cells under MIN_CELL_SIZE respondents).

    Analysts and administrators see everything. For anyone else a filtered result resting on
    fewer than MIN_CELL_SIZE respondents keeps its keys with null numbers and says why, and
    participation cells (regions, options, metropolitan zone) under the threshold are nulled.
    """
    if current_user.is_authenticated and current_user.has_role(*RESULT_ROLES):
        return payload
    minimum = current_app.config["MIN_CELL_SIZE"]

    def small(value) -> bool:
        return value is not None and 0 < value < minimum

    if filters.as_dict() and small(payload.get("respondents")):
        withheld = {key: None for key in payload if key not in ("consultation", "filters")}
        withheld.update(
            consultation=payload["consultation"], filters=payload["filters"],
            weighting=payload.get("weighting"), themes=[], suppressed=True,
            min_cell_size=minimum,
            message=_("Fewer than %(num)d respondents match these filters: the numbers are "
                      "withheld to protect them.", num=minimum))
        return withheld
    withheld_any = False
    for region in payload.get("by_region", []):
        if small(region["respondents"]):
            region.update(respondents=None, share=None, per_10k=None, suppressed=True)
            withheld_any = True
    for options in payload.get("by_question", {}).values():
        for code, count in options.items():
            if small(count):
                options[code] = None
                withheld_any = True
    metro = payload.get("metro")
    if metro and (small(metro.get("inside")) or small(metro.get("outside"))):
        payload["metro"] = {key: None for key in metro}
        withheld_any = True
    for channel, count in payload.get("by_channel", {}).items():
        if small(count):
            payload["by_channel"][channel] = None
            withheld_any = True
    if withheld_any:
        payload["min_cell_size"] = minimum
    return payload


def _bad(problem) -> object:
    return error(400, "bad_parameter", problem.message, parameter=problem.parameter)


@bp.route("/consultations")
@public
def consultations():
    try:
        lang = _lang()
    except results.BadParameter as bad:
        return _bad(bad)
    response = jsonify(results.consultation_summaries(lang))
    response.headers.update(listing())
    return response


@bp.route("/consultations/<slug>/ranking")
@public
def ranking(slug: str):
    consultation, problem = _consultation(slug)
    if problem is not None:
        return problem
    try:
        filters, weight = _parameters(consultation, with_weight=True)
        lang = _lang()
    except (FilterError, results.BadParameter) as bad:
        return _bad(bad)
    payload = results.jsonable(results.ranking(consultation, filters, weight, lang))
    return _cached(jsonify(_suppressed(payload, filters)), consultation)


@bp.route("/consultations/<slug>/participation")
@public
def participation(slug: str):
    consultation, problem = _consultation(slug)
    if problem is not None:
        return problem
    try:
        filters, _weight = _parameters(consultation, with_weight=False)
        lang = _lang()
    except (FilterError, results.BadParameter) as bad:
        return _bad(bad)
    payload = results.jsonable(results.participation(consultation, filters, lang))
    return _cached(jsonify(_suppressed(payload, filters)), consultation)


@bp.route("/openapi.json")
@public
def openapi():
    return jsonify(openapi_document())
