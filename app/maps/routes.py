"""Participation map, its table and CSV, coverage against targets, and setting targets."""

from __future__ import annotations

import csv
import io

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from analysis import maps as map_drawing
from app import navigation
from app.auth.decorators import public, role_required
from app.maps import bp, present
from app.models import Consultation
from app.security import image_rate_limit
from app.services import consultations as consultation_service
from app.services import coverage
from app.services.coverage import FilterError, InvalidTarget, MapQuery
from app.services.datasets import geography_table
from app.services.spreadsheet import safe_row
from app.util import local_today

navigation.register("maps.index", _l("Participation maps"), "supervisor", "analyst", order=40)


def _consultation(slug: str) -> Consultation:
    """Return the consultation if the current person may see its map (404 / 403 otherwise)."""
    found = consultation_service.get_by_slug(slug, include_drafts=False)
    if found is None:
        abort(404)
    if not present.can_see_map(found):
        abort(403, _("The participation map of this consultation is public once it closes."))
    return found


def _query(consultation: Consultation) -> MapQuery:
    try:
        return coverage.parse_map_query(consultation, request.args)
    except FilterError as error:
        abort(400, error.message)


@bp.route("/")
@role_required("supervisor", "analyst")
def index():
    return render_template("maps/index.html", consultations=consultation_service.listed(),
                           today=local_today())


@bp.app_template_global("participation_map")
def participation_map(consultation: Consultation) -> dict | None:
    """Return what _participation_map.html shows for a consultation, or None if not allowed."""
    if not present.can_see_map(consultation):
        return None
    table = coverage.participation_table(consultation, MapQuery(filters=coverage.Filters()))
    return {
        "summary": coverage.summary_text(coverage.coverage_summary(table)),
        "png": url_for("maps.map_png", slug=consultation.slug),
        "svg": url_for("maps.map_svg", slug=consultation.slug),
        "page": url_for("maps.show", slug=consultation.slug),
        "csv": url_for("maps.table_csv", slug=consultation.slug),
    }


@bp.route("/<slug>")
@public
def show(slug: str):
    consultation = _consultation(slug)
    try:
        query = coverage.parse_map_query(consultation, request.args)
        error = None
    except FilterError as problem:
        query, error = MapQuery(filters=coverage.Filters()), problem
    exact = present.sees_exact_numbers()
    table = coverage.participation_table(consultation, query)
    summary = coverage.summary_text(coverage.coverage_summary(
        table if query.level == "municipality"
        else coverage.participation_table(consultation, MapQuery(filters=query.filters))))
    sort = request.args.get("sort", "name")
    order = "desc" if request.args.get("order") == "desc" else "asc"
    ordered = present.sort_table(table, query, exact, sort, order)
    args = query.as_args()
    return render_template(
        "maps/show.html", consultation=consultation, query=query, args=args, error=error,
        exact=exact, summary=summary, rows=present.table_rows(ordered, query, exact),
        columns=present.columns_for(query, exact), column_labels=present.COLUMN_LABELS,
        metric_labels=present.METRIC_LABELS, sort=sort, order=order,
        filters_text=present.filters_description(consultation, query),
        theme_name=present.theme_name(consultation, query), regions=_regions(),
        status=consultation.status(local_today()), min_cell=present.min_cell(),
    ), (400 if error else 200)


def _regions() -> list[tuple[int, str]]:
    geography = geography_table()
    pairs = geography[["region", "region_name"]].drop_duplicates().sort_values("region")
    return [(int(r), n) for r, n in zip(pairs["region"], pairs["region_name"], strict=True)]


def _figure(slug: str):
    consultation = _consultation(slug)
    query = _query(consultation)
    exact = present.sees_exact_numbers()
    table = coverage.participation_table(consultation, query)
    figure, _frame = present.draw(consultation, table, query, exact)
    return consultation, query, exact, table, figure


@bp.route("/<slug>/map.png")
@public
@image_rate_limit
def map_png(slug: str):
    _c, _q, _e, _t, figure = _figure(slug)
    return Response(map_drawing.figure_png(figure), mimetype="image/png",
                    headers={"Cache-Control": "private, max-age=60"})


@bp.route("/<slug>/map.svg")
@public
@image_rate_limit
def map_svg(slug: str):
    consultation, query, exact, table, figure = _figure(slug)
    tips = present.tooltips(consultation, table, query, exact)
    return Response(map_drawing.figure_svg(figure, tips), mimetype="image/svg+xml",
                    headers={"Cache-Control": "private, max-age=60"})


@bp.route("/<slug>/table.csv")
@public
def table_csv(slug: str):
    consultation = _consultation(slug)
    query = _query(consultation)
    exact = present.sees_exact_numbers()
    table = coverage.participation_table(consultation, query)
    columns = present.columns_for(query, exact)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    code_header = "inegi_code" if query.level == "municipality" else "region_number"
    writer.writerow(safe_row([code_header, *columns]))
    for _index, row in table.iterrows():
        hidden = present.hidden_cells(row, query, exact)
        values = []
        for column in columns:
            value = row[column]
            if column in hidden and value == value:
                values.append(present.fewer_than())
            elif column in ("target_share", "theme_share", "per_10k"):
                values.append("" if value != value else round(float(value), 4))
            elif column in ("name", "region_name"):
                values.append(value)
            else:
                values.append("" if value != value else int(value))
        writer.writerow(safe_row([row["place"], *values]))
    filename = f"{consultation.slug}-participation-{query.level}.csv"
    return Response(buffer.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/<slug>/coverage")
@role_required("supervisor", "analyst")
def coverage_page(slug: str):
    consultation = consultation_service.get_by_slug(slug)
    if consultation is None:
        abort(404)
    rows = coverage.coverage_rows(consultation)
    summary = coverage.coverage_summary(rows)
    regions = coverage.participation_table(
        consultation, MapQuery(filters=coverage.Filters(), level="region"))
    return render_template(
        "maps/coverage.html", consultation=consultation, rows=rows, regions=regions,
        summary=coverage.summary_text(summary), status=consultation.status(local_today()),
        fmt=present._format,
    )


@bp.route("/<slug>/targets", methods=["GET", "POST"])
@role_required("supervisor")
def targets(slug: str):
    consultation = consultation_service.get_by_slug(slug)
    if consultation is None:
        abort(404)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        action = request.form.get("action")
        try:
            if action == "population":
                count = coverage.targets_from_population(
                    consultation, request.form.get("rate", ""), request.form.get("level", ""),
                    current_user)
                flash(_("%(count)d targets set from the population.", count=count), "success")
            elif action == "remove":
                coverage.remove_target(consultation, request.form.get("place", ""),
                                       current_user)
                flash(_("Target removed."), "success")
            else:
                coverage.set_target(consultation, request.form.get("place", ""),
                                    request.form.get("respondents", ""), current_user)
                flash(_("Target saved."), "success")
            return redirect(url_for("maps.targets", slug=slug))
        except InvalidTarget as error:
            errors[f"{action or 'set'}.{error.field}"] = error.message
            status = 400
    geography = geography_table()
    return render_template(
        "maps/targets.html", consultation=consultation, errors=errors,
        targets=coverage.list_targets(consultation), regions=_regions(),
        municipalities=list(zip(geography["municipality"], geography["name"], strict=True)),
        form=request.form,
    ), status
