"""Count tables by place: the geography, and respondents or paper forms per municipality.

Aggregates in SQL, like app/services/datasets.py (which re-exports these names).
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Consultation,
    Municipality,
    Region,
    Response,
    ResponseTheme,
    Theme,
)
from app.services.response_filters import Filters, _filtered


def geography_table() -> pd.DataFrame:
    """Return the 125 municipalities: municipality, name, region, region_name, metro, population."""
    query = select(
        Municipality.code, Municipality.name, Municipality.region_number, Region.name,
        Municipality.metro, Municipality.population,
    ).join(Region).order_by(Municipality.code)
    return pd.DataFrame(
        db.session.execute(query).all(),
        columns=["municipality", "name", "region", "region_name", "metro", "population"],
    )


def municipality_theme_counts(
    consultation: Consultation, filters: Filters = Filters(), theme: str | None = None
) -> pd.DataFrame:
    """Return columns municipality, theme, count: respondents who chose each theme, by place.

    A respondent chooses a theme at most once, so count is also a number of respondents.
    With theme (a code), only that theme is counted.
    """
    if theme is not None:
        # IN (the chosen theme's responses) lets the database read the theme's index once,
        # instead of looking up every response's themes (a million: 0.9 s rather than 4 s).
        chosen = consultation.theme_by_code()[theme]
        query = (
            _filtered(consultation, filters, Response.municipality_code, func.count())
            .where(Response.id.in_(select(ResponseTheme.response_id)
                                   .where(ResponseTheme.theme_id == chosen.id)))
            .group_by(Response.municipality_code)
        )
        rows = [(code, theme, count) for code, count in db.session.execute(query).all()]
        return pd.DataFrame(rows, columns=["municipality", "theme", "count"])
    query = (
        _filtered(consultation, filters, Response.municipality_code, Theme.code, func.count())
        .join(ResponseTheme, ResponseTheme.response_id == Response.id)
        .join(Theme, Theme.id == ResponseTheme.theme_id)
        .group_by(Response.municipality_code, Theme.code)
    )
    return pd.DataFrame(
        db.session.execute(query).all(), columns=["municipality", "theme", "count"]
    )


def municipality_paper_counts(consultation: Consultation) -> pd.DataFrame:
    """Return columns municipality, issued, keyed: forms printed, and forms keyed at least once.

    Two aggregate queries (batches, keyings), merged on the municipality.
    """
    from app.models import PaperBatch, PaperKeying

    issued = db.session.execute(
        select(PaperBatch.municipality_code, func.sum(PaperBatch.count))
        .where(PaperBatch.consultation_id == consultation.id)
        .group_by(PaperBatch.municipality_code)
    ).all()
    keyed = db.session.execute(
        select(PaperKeying.municipality_code, func.count(func.distinct(PaperKeying.serial)))
        .where(PaperKeying.consultation_id == consultation.id)
        .group_by(PaperKeying.municipality_code)
    ).all()
    frame = pd.DataFrame(issued, columns=["municipality", "issued"]).merge(
        pd.DataFrame(keyed, columns=["municipality", "keyed"]), on="municipality", how="outer")
    return frame.fillna(0).astype({"issued": int, "keyed": int})
