"""Count tables from the open-data CSV (one row per accepted response), for notebooks and the CLI.

The open data (GET /api/v1/consultations/<slug>/responses.csv) has columns channel,
municipality, region, metro, themes (codes separated by ';', in priority order) and one column
per single/multiple question. These functions build the same count tables the app builds with
SQL, so the same analysis functions apply.
"""

from __future__ import annotations

import pandas as pd

from analysis.schema import require

REQUIRED = ("channel", "municipality", "themes")


def read(path) -> pd.DataFrame:
    """Read an open-data CSV (UTF-8, a BOM accepted) with codes kept as text."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return require(frame, REQUIRED, str(path))


def theme_lists(frame: pd.DataFrame) -> pd.Series:
    return frame["themes"].map(lambda text: [t for t in text.split(";") if t.strip()])


def patterns(frame: pd.DataFrame, theme_max: int | None = None) -> pd.DataFrame:
    """Return region, theme_1 … theme_m, count: the distinct answer patterns."""
    lists = theme_lists(frame)
    m = theme_max or max((len(x) for x in lists), default=1) or 1
    data = {"region": frame["region"].astype(int) if "region" in frame else 0}
    for p in range(m):
        data[f"theme_{p + 1}"] = lists.map(lambda x, p=p: x[p] if p < len(x) else None)
    table = pd.DataFrame(data)
    keys = list(table.columns)
    grouped = table.fillna("\0").groupby(keys, as_index=False).size().rename(
        columns={"size": "count"})
    for p in range(m):
        column = f"theme_{p + 1}"
        values = grouped[column].astype(object)
        values[values == "\0"] = None
        grouped[column] = values
    return grouped


def municipality_channel(frame: pd.DataFrame) -> pd.DataFrame:
    """Return municipality, channel, respondents."""
    return frame.groupby(["municipality", "channel"], as_index=False).size().rename(
        columns={"size": "respondents"})
