"""Open data downloads: responses as CSV or XLSX, the data dictionary, the data package."""

from __future__ import annotations

from flask import Response, abort, jsonify, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.access import RESULT_ROLES, can_see_results
from app.auth.decorators import public
from app.i18n import language
from app.models import Consultation
from app.opendata import bp
from app.services import consultations as consultation_service
from app.services import opendata

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


def _attachment(name: str) -> dict:
    return {"Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store"}


@bp.route("/consultations/<slug>/responses.csv")
@public
def responses_csv(slug: str):
    consultation = _consultation(slug)
    return Response(stream_with_context(opendata.csv_stream(consultation)),
                    mimetype="text/csv", headers=_attachment(f"{slug}-responses.csv"))


@bp.route("/consultations/<slug>/responses.xlsx")
@public
def responses_xlsx(slug: str):
    consultation = _consultation(slug)
    handle = opendata.write_xlsx(consultation)

    def chunks():
        with handle:
            while block := handle.read(64 * 1024):
                yield block

    response = Response(chunks(), mimetype=XLSX, headers=_attachment(f"{slug}-responses.xlsx"))
    response.call_on_close(handle.close)
    return response


@bp.route("/consultations/<slug>/dictionary")
@public
def dictionary(slug: str):
    consultation = _consultation(slug)
    wanted = request.args.get("format", "json")
    if wanted == "csv":
        return Response(opendata.dictionary_csv(consultation), mimetype="text/csv",
                        headers=_attachment(f"{slug}-dictionary.csv"))
    if wanted != "json":
        abort(400, description=_("format must be json or csv, not \"%(value)s\"",
                                 value=wanted))
    return jsonify(opendata.dictionary_json(consultation))


@bp.route("/consultations/<slug>/datapackage.json")
@public
def datapackage(slug: str):
    consultation = _consultation(slug)
    return jsonify(opendata.datapackage(
        consultation,
        csv_url=url_for("opendata.responses_csv", slug=slug, _external=True),
        dictionary_url=url_for("opendata.dictionary", slug=slug, format="csv", _external=True),
        lang=language(),
    ))
