"""The public results page: the API's ranking and participation, with small cells withheld."""

from __future__ import annotations

from app.models import Consultation
from app.services import results


def ranking(consultation: Consultation) -> dict:
    """Return the API's unweighted ranking of all accepted responses (names in the UI language)."""
    return results.ranking(consultation)


def participation_by_region(consultation: Consultation, min_cell: int) -> list[dict]:
    """Return the API's regions (number, name, respondents, share, per_10k), each with
    suppressed=True and no numbers when it rests on 1 to min_cell − 1 respondents."""
    regions = results.participation(consultation)["by_region"]
    out = []
    for region in regions:
        suppressed = 0 < (region["respondents"] or 0) < min_cell
        if suppressed:
            region = {**region, "respondents": None, "share": None, "per_10k": None}
        out.append({**region, "suppressed": suppressed})
    return out


def ranking_chart_png(consultation: Consultation) -> bytes:
    """Return the analysis ranking chart (vote shares with 95% intervals) as PNG."""
    return results.chart(consultation, "ranking", "png")
