"""Open data downloads: responses as CSV or XLSX, the data dictionary, the data package."""

from __future__ import annotations

from flask import Response, abort, current_app, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.access import RESULT_ROLES, can_see_results
from app.auth.decorators import public
from app.i18n import language
from app.models import Consultation
from app.opendata import bp
from app.services import consultations as consultation_service
from app.services import opendata
from app.services.caching import PRIVATE, cache_control

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _consultation(slug: str) -> Consultation:
    """Return the consultation whose open data may be read, or answer 404 / 403 (JSON)."""
    staff = current_user.is_authenticated and current_user.has_role(*RESULT_ROLES)
    found = consultation_service.get_by_slug(slug, include_drafts=staff)
    if found is None:
        abort(404, description=_("No consultation with the address \"%(slug)s\".", slug=slug))
    if not can_see_results(found):
        abort(403, description=_("The open data of a consultation is published when it "
                                 "closes."))
    return found


@bp.after_request
def _errors_not_kept(response):
    """An error (403 before the close, 404, 400) is never kept by a cache."""
    if response.status_code >= 400:
        response.headers["Cache-Control"] = PRIVATE
    return response


def _attachment(consultation: Consultation, name: str) -> dict:
    return {"Content-Disposition": f'attachment; filename="{name}"',
            **cache_control(consultation)}


def _url(endpoint: str, slug: str, relative: str) -> str:
    """Return the address of an open data file: PUBLIC_BASE_URL + its path when set, else
    relative to the data package (never made from the request's Host header)."""
    base = current_app.config.get("PUBLIC_BASE_URL", "")
    if not base:
        return relative
    return base + url_for(endpoint, slug=slug)


@bp.route("/consultations/<slug>/responses.csv")
@public
def responses_csv(slug: str):
    consultation = _consultation(slug)
    # csv_stream reads all it needs from the ORM now; the rows stream on their own connection
    # after this request's session has ended.
    return Response(opendata.csv_stream(consultation), mimetype="text/csv",
                    headers=_attachment(consultation, f"{slug}-responses.csv"))


@bp.route("/consultations/<slug>/responses.xlsx")
@public
def responses_xlsx(slug: str):
    consultation = _consultation(slug)
    handle = opendata.write_xlsx(consultation)

    def chunks():
        with handle:
            while block := handle.read(64 * 1024):
                yield block

    response = Response(chunks(), mimetype=XLSX,
                        headers=_attachment(consultation, f"{slug}-responses.xlsx"))
    response.call_on_close(handle.close)
    return response


@bp.route("/consultations/<slug>/dictionary")
@public
def dictionary(slug: str):
    consultation = _consultation(slug)
    wanted = request.args.get("format", "json")
    if wanted == "csv":
        return dictionary_csv(slug)
    if wanted != "json":
        abort(400, description=_("format must be json or csv, not \"%(value)s\"",
                                 value=wanted))
    response = jsonify(opendata.dictionary_json(consultation))
    response.headers.update(cache_control(consultation))
    return response


@bp.route("/consultations/<slug>/dictionary.csv")
@public
def dictionary_csv(slug: str):
    consultation = _consultation(slug)
    return Response(opendata.dictionary_csv(consultation), mimetype="text/csv",
                    headers=_attachment(consultation, f"{slug}-dictionary.csv"))


@bp.route("/consultations/<slug>/datapackage.json")
@public
def datapackage(slug: str):
    consultation = _consultation(slug)
    response = jsonify(opendata.datapackage(
        consultation,
        csv_url=_url("opendata.responses_csv", slug, "responses.csv"),
        dictionary_url=_url("opendata.dictionary_csv", slug, "dictionary.csv"),
        lang=language(),
    ))
    response.headers.update(cache_control(consultation))
    return response
