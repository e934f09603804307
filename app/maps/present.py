"""Turn the participation table into what people read: cells, tooltips, labels, the map."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from flask import current_app
from flask_babel import format_decimal, format_percent
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from analysis import maps
from app.auth.access import can_see_results
from app.extensions import db
from app.i18n import localized
from app.models import Consultation, Municipality, Region
from app.services.coverage import MapQuery, map_frame, suppressed_places
from app.util import local_today

GEOJSON = Path(__file__).resolve().parent.parent / "data" / "jalisco_municipalities.geojson"
STAFF_ROLES = ("supervisor", "analyst")
# Share of target: fixed breaks, so 100 % always means the same colour from one day to the next.
TARGET_BREAKS = [0.0, 0.25, 0.5, 0.75, 1.0, math.inf]

METRIC_LABELS = {
    "per_10k": _l("Respondents per 10,000 inhabitants"),
    "respondents": _l("Respondents"),
    "target_share": _l("Share of target"),
}
# Columns of the table, in order: key -> header. Which appear depends on the view.
COLUMN_LABELS = {
    "name": _l("Place"),
    "region_name": _l("Region"),
    "population": _l("Population (2020)"),
    "respondents": _l("Respondents"),
    "online": _l("Online"),
    "paper": _l("Paper"),
    "per_10k": _l("Per 10,000 inhabitants"),
    "target": _l("Target"),
    "target_share": _l("Share of target"),
    "theme_count": _l("Chose the theme"),
    "theme_share": _l("Share choosing the theme"),
}
# Cells that rest on the respondents of the place (suppressed together in public outputs).
RESPONDENT_CELLS = ("respondents", "online", "paper", "per_10k", "target_share")
THEME_CELLS = ("theme_count", "theme_share")


def can_see_map(consultation: Consultation) -> bool:
    """Results rule, plus supervisors during the consultation (they send visits and forms)."""
    if can_see_results(consultation):
        return True
    return current_user.is_authenticated and current_user.has_role("supervisor")


def sees_exact_numbers() -> bool:
    """Staff (supervisors, analysts, admins) see exact figures; everyone else the public rule."""
    return current_user.is_authenticated and current_user.has_role(*STAFF_ROLES)


def min_cell() -> int:
    return int(current_app.config["MIN_CELL_SIZE"])


def fewer_than() -> str:
    return _("fewer than %(n)d", n=min_cell())


def columns_for(query: MapQuery, exact: bool) -> list[str]:
    columns = ["name"]
    if query.level == "municipality":
        columns.append("region_name")
    columns += ["population", "respondents"]
    if exact:
        columns += ["online", "paper"]
    columns += ["per_10k", "target", "target_share"]
    if query.theme:
        columns += ["theme_count", "theme_share"]
    return columns


def _format(column: str, value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if column in ("target_share", "theme_share"):
        return format_percent(value, "#,##0%")
    if column == "per_10k":
        return format_decimal(value, "#,##0.0")
    return format_decimal(int(value), "#,##0")


def hidden_cells(row, query: MapQuery, exact: bool) -> set[str]:
    """Return the columns of a row shown as "fewer than 5" (none for staff)."""
    if exact:
        return set()
    limit = min_cell()
    hidden = set()
    if 0 < row["respondents"] < limit:
        hidden.update(RESPONDENT_CELLS + THEME_CELLS)
    if query.theme and 0 < row["theme_count"] < limit:
        hidden.update(THEME_CELLS)
    return hidden


def table_rows(table: pd.DataFrame, query: MapQuery, exact: bool) -> list[dict]:
    """Return display rows: place, name and a formatted cell per column."""
    columns = columns_for(query, exact)
    rows = []
    for _index, row in table.iterrows():
        hidden = hidden_cells(row, query, exact)
        cells = {}
        for column in columns:
            if column in hidden and not pd.isna(row[column]):
                cells[column] = fewer_than()
            elif column in ("name", "region_name"):
                cells[column] = row[column]
            else:
                cells[column] = _format(column, row[column])
        rows.append({"place": row["place"], "cells": cells})
    return rows


def sort_table(table: pd.DataFrame, query: MapQuery, exact: bool, sort: str,
               order: str) -> pd.DataFrame:
    """Sort by a column; hidden cells sort together (by name), never by their true value."""
    if sort not in columns_for(query, exact):
        sort = "name"
    ordered = table.sort_values("name", kind="stable")
    if sort in ("name", "region_name"):
        key = ordered[sort].str.lower()
    else:
        key = ordered[sort].astype(float).copy()
        if not exact:
            for index, row in ordered.iterrows():
                if sort in hidden_cells(row, query, exact):
                    key[index] = 1e-9  # above zero, below any shown figure: all together
        key = key.fillna(-1.0)
    ordered = ordered.assign(_key=key.values).sort_values(
        "_key", ascending=(order != "desc"), kind="stable")
    return ordered.drop(columns="_key")


def tooltip(row, query: MapQuery, exact: bool, theme_name: str) -> str:
    """Return the SVG tooltip of a place: its name and its figure (public rule applied)."""
    hidden = hidden_cells(row, query, exact)
    name = row["name"]
    if "respondents" in hidden:
        return _("%(name)s: %(figure)s respondents", name=name, figure=fewer_than())
    respondents = _format("respondents", row["respondents"])
    if query.theme:
        if "theme_share" in hidden:
            share = fewer_than()
        else:
            share = _format("theme_share", row["theme_share"])
        return _("%(name)s: %(share)s chose %(theme)s (%(respondents)s respondents)",
                 name=name, share=share, theme=theme_name, respondents=respondents)
    text = _("%(name)s: %(respondents)s respondents, %(rate)s per 10,000 inhabitants",
             name=name, respondents=respondents, rate=_format("per_10k", row["per_10k"]))
    if not pd.isna(row["target"]):
        text += "; " + _("%(share)s of a target of %(target)s",
                         share=_format("target_share", row["target_share"]),
                         target=_format("target", row["target"]))
    return text


def filters_description(consultation: Consultation, query: MapQuery) -> str:
    """Describe the filters in words, e.g. "Channel: paper · Sector: Private sector"."""
    parts = []
    filters = query.filters
    if filters.channel:
        parts.append(_("Channel: %(value)s", value=_("Online") if filters.channel == "online"
                       else _("Paper")))
    if filters.region is not None:
        region = db.session.get(Region, filters.region)
        parts.append(_("Region: %(value)s", value=region.name))
    if filters.municipality:
        municipality = db.session.get(Municipality, filters.municipality)
        parts.append(_("Municipality: %(value)s", value=municipality.name))
    if filters.metro is not None:
        parts.append(_("Guadalajara metropolitan zone") if filters.metro
                     else _("Outside the Guadalajara metropolitan zone"))
    questions = consultation.question_by_code()
    for code, option_code in filters.options.items():
        question = questions[code]
        option = question.option_by_code()[option_code]
        parts.append(f"{localized(question.label)}: {localized(option.label)}")
    return " · ".join(parts)


def theme_name(consultation: Consultation, query: MapQuery) -> str:
    if not query.theme:
        return ""
    return localized(consultation.theme_by_code()[query.theme].name)


def _percent(value: float) -> str:
    return format_percent(value, "#,##0%")


def _whole(value: float) -> str:
    return format_decimal(value, "#,##0")


def _rate(value: float) -> str:
    return format_decimal(value, "#,##0.0")


def draw(consultation: Consultation, table: pd.DataFrame, query: MapQuery, exact: bool):
    """Return the map Figure for the table, with translated labels and the public rule."""
    theme = theme_name(consultation, query)
    if query.theme:
        legend = _("Share of respondents choosing %(theme)s", theme=theme)
        no_data = _("No response, or nobody chose it")
    else:
        legend = str(METRIC_LABELS[query.metric])
        no_data = (_("No response or no target") if query.metric == "target_share"
                   else _("No response yet"))
    if query.level == "region":
        legend += " (" + _("by region") + ")"
    hidden = set() if exact else suppressed_places(table, min_cell(), bool(query.theme))
    frame = map_frame(table, query)
    if query.level == "region":
        hidden_regions = {int(place) for place in hidden}
        hidden = set(frame.loc[frame["region"].isin(hidden_regions), "municipality"])
    shown = [v for c, v in zip(frame["municipality"], frame["value"], strict=True)
             if c not in hidden]
    if query.theme:
        breaks, fmt = maps.quantile_breaks(shown), _percent
    elif query.metric == "target_share":
        breaks, fmt = TARGET_BREAKS, _percent
    elif query.metric == "respondents":
        breaks, fmt = maps.quantile_breaks(shown, integer=True), _whole
    else:
        breaks, fmt = maps.quantile_breaks(shown), _rate
    labels = maps.MapLabels(
        title=localized(consultation.title),
        subtitle=filters_description(consultation, query),
        source=_("Source: INEGI, Marco Geoestadístico and Censo 2020; responses: Consulta "
                 "Abierta (%(date)s).", date=local_today().isoformat()),
        legend_title=legend,
        no_data=no_data,
        suppressed=_("Fewer than %(n)d respondents (not shown)", n=min_cell()),
        regions=_("Region borders"),
        metro=_("Guadalajara metropolitan zone"),
    )
    figure = maps.render_map(frame, GEOJSON, labels, breaks=breaks, fmt=fmt, suppressed=hidden)
    return figure, frame


def tooltips(consultation: Consultation, table: pd.DataFrame, query: MapQuery,
             exact: bool) -> dict[str, str]:
    """Return the tooltip of each municipality (its region's when the map is by region)."""
    theme = theme_name(consultation, query)
    by_place = {row["place"]: tooltip(row, query, exact, theme) for _i, row in table.iterrows()}
    if query.level == "municipality":
        return by_place
    geography = map_frame(table, query)
    names = dict(db.session.execute(db.select(Municipality.code, Municipality.name)).all())
    return {code: f"{names[code]} — {by_place[str(region)]}"
            for code, region in zip(geography["municipality"], geography["region"], strict=True)}
