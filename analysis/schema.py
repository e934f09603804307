"""Column checks for the count tables every analysis function takes."""

from __future__ import annotations

import pandas as pd

POSITION_COUNTS = ("theme", "position", "count")
PAIR_COUNTS = ("theme_a", "theme_b", "count")
REGION_THEME_COUNTS = ("region", "theme", "count")
MUNICIPALITY_CHANNEL_COUNTS = ("municipality", "channel", "respondents")
OPTION_COUNTS = ("question", "option", "count")
GEOGRAPHY = ("municipality", "name", "region", "region_name", "metro", "population")


class SchemaError(ValueError):
    """A count table lacks columns a function needs."""


def require(frame: pd.DataFrame, columns: tuple[str, ...], table: str) -> pd.DataFrame:
    """Return frame unchanged if it has every column; raise SchemaError naming the missing ones."""
    if not isinstance(frame, pd.DataFrame):
        raise SchemaError(f"{table}: expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise SchemaError(f"{table}: missing column(s) {', '.join(missing)}; "
                          f"expected {', '.join(columns)}")
    return frame


def theme_columns(patterns: pd.DataFrame) -> list[str]:
    """Return the theme_1 … theme_m columns of a pattern table, in position order."""
    columns = [c for c in patterns.columns if c.startswith("theme_") and c[6:].isdigit()]
    if not columns or "count" not in patterns.columns:
        raise SchemaError("patterns: expected columns theme_1 … theme_m and count")
    return sorted(columns, key=lambda c: int(c[6:]))
