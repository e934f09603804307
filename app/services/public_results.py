"""The public results page: ranking, participation by region, and the ranking chart."""

from __future__ import annotations

import io

import pandas as pd
from flask_babel import gettext as _
from matplotlib.figure import Figure

from app.i18n import localized
from app.models import Consultation
from app.services import datasets, workshops


def ranking(consultation: Consultation) -> pd.DataFrame:
    """Return the unweighted ranking of all accepted responses (see workshops.theme_table)."""
    table = workshops.theme_table(consultation)
    names = {theme.code: localized(theme.name) for theme in consultation.themes}
    table["name"] = table["theme"].map(names)
    return table


def participation_by_region(consultation: Consultation, min_cell: int) -> pd.DataFrame:
    """Return region, name, respondents, share, per_10k, suppressed for the 12 regions.

    A region with 1 to min_cell − 1 respondents has its numbers suppressed (None).
    """
    people = datasets.municipality_channel_counts(consultation)
    geography = datasets.geography_table()
    regions = geography.groupby(["region", "region_name"], as_index=False)["population"].sum()
    if people.empty:
        per_region = pd.Series(dtype=int)
    else:
        people["region"] = people["municipality"].map(
            geography.set_index("municipality")["region"])
        per_region = people.groupby("region")["respondents"].sum()
    total = int(per_region.sum()) if len(per_region) else 0
    rows = []
    for region, name, population in regions.itertuples(index=False):
        count = int(per_region.get(region, 0))
        suppressed = 0 < count < min_cell
        rows.append({
            "region": int(region), "name": name,
            "respondents": None if suppressed else count,
            "share": None if suppressed or not total else count / total,
            "per_10k": None if suppressed or not population else count * 10_000 / population,
            "suppressed": suppressed,
        })
    return pd.DataFrame(rows)


def ranking_chart_png(consultation: Consultation) -> bytes:
    """Return a horizontal bar chart of the vote share of each theme, best on top, as PNG."""
    table = ranking(consultation)
    table = table[table["votes"] > 0].iloc[::-1]
    figure = Figure(figsize=(7, 0.45 * max(len(table), 2) + 1.2), dpi=100)
    axes = figure.add_subplot()
    axes.barh(table["name"], table["vote_share"] * 100, color="#0b5cad")
    for y, share in enumerate(table["vote_share"]):
        axes.text(share * 100, y, f" {share:.1%}", va="center", fontsize=9)
    axes.set_xlabel(_("Share of votes (%)"))
    axes.set_title(localized(consultation.title), fontsize=10)
    axes.spines[["top", "right"]].set_visible(False)
    if table.empty:
        axes.text(0.5, 0.5, _("No responses yet"), ha="center", va="center",
                  transform=axes.transAxes)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
