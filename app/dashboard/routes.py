"""The analysts' dashboard: rankings, participation, comparisons and downloads per consultation.

Views parse the GET filters and call app.services.results; every number comes from there (the
same functions as the API and the CLI), never from a query written here.
"""

from __future__ import annotations

from flask import Response, abort, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from analysis import charts
from analysis.export import to_csv, to_xlsx
from app.auth.decorators import role_required
from app.dashboard import bp
from app.i18n import language
from app.services import consultations as consultation_service
from app.services import geography, results
from app.services.datasets import FilterError, Filters, parse_filters
from app.util import local_today

# Query parameters that are not filters.
OPTIONS = ("weight", "lang", "download")
TABLE_FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _consultation(slug: str):
    consultation = consultation_service.get_by_slug(slug)
    if consultation is None:
        abort(404)
    return consultation


def _parameters(consultation):
    """Return (filters, weight, errors {parameter: message})."""
    errors = {}
    # The form sends every select; an empty one means "All".
    args = MultiDict([(k, v) for k, v in request.args.items(multi=True) if v != ""])
    try:
        filters = parse_filters(consultation, args, ignore=OPTIONS)
    except FilterError as error:
        filters = Filters()
        errors[error.parameter] = error.message
    try:
        weight = results.check_weight(args.get("weight"))
    except results.BadParameter as error:
        weight = "none"
        errors[error.parameter] = error.message
    return filters, weight, errors


def _query(filters: Filters, weight: str) -> dict:
    """Return the query parameters that reproduce the current view (for links and downloads)."""
    query = {key: str(value) for key, value in filters.as_dict().items()}
    if weight != "none":
        query["weight"] = weight
    return query


@bp.route("/")
@role_required("analyst")
def index():
    today = local_today()
    items = [(c, c.status(today)) for c in consultation_service.listed(include_drafts=True)]
    return render_template("dashboard/index.html", items=items)


@bp.route("/<slug>")
@role_required("analyst")
def consultation(slug: str):
    consultation = _consultation(slug)
    filters, weight, errors = _parameters(consultation)
    context = {}
    if not errors:
        context = results.overview(consultation, filters, weight, language())
    return render_template(
        "dashboard/consultation.html", consultation=consultation, filters=filters,
        weight=weight, errors=errors, query=_query(filters, weight),
        regions=geography.municipalities_by_region(), tables=results.TABLES,
        **context,
    ), (400 if errors else 200)


@bp.route("/<slug>/tables/<name>.<fmt>")
@role_required("analyst")
def table(slug: str, name: str, fmt: str):
    consultation = _consultation(slug)
    if name not in results.TABLES or fmt not in TABLE_FORMATS:
        abort(404)
    filters, weight, errors = _parameters(consultation)
    if errors:
        abort(400, description=" ".join(errors.values()))
    frame = results.table(consultation, name, filters, weight, language())
    body = to_csv(frame) if fmt == "csv" else to_xlsx(frame, name)
    return _download(body, TABLE_FORMATS[fmt], f"{slug}-{name}.{fmt}")


@bp.route("/<slug>/charts/<name>.<fmt>")
@role_required("analyst")
def chart(slug: str, name: str, fmt: str):
    consultation = _consultation(slug)
    if name not in results.CHARTS or fmt not in charts.FORMATS:
        abort(404)
    filters, weight, errors = _parameters(consultation)
    if errors:
        abort(400, description=" ".join(errors.values()))
    body = results.chart(consultation, name, fmt, filters, weight, language())
    attachment = request.args.get("download") == "1"
    return _download(body, charts.FORMATS[fmt], f"{slug}-{name}.{fmt}", attachment)


def _download(body: bytes, mimetype: str, filename: str, attachment: bool = True) -> Response:
    response = Response(body, mimetype=mimetype)
    if attachment:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def download_url(endpoint: str, slug: str, name: str, fmt: str, query: dict, **extra) -> str:
    return url_for(endpoint, slug=slug, name=name, fmt=fmt, **query, **extra)


bp.add_app_template_global(download_url, "download_url")
