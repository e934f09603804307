"""How often two themes are chosen together: counts, lift and phi; a square matrix for grouping."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations

import numpy as np
import pandas as pd

from analysis.schema import PAIR_COUNTS, require

MEASURES = ("count", "lift", "phi")


def association(
    pairs: pd.DataFrame, theme_respondents: Mapping[str, float], respondents: float
) -> pd.DataFrame:
    """Return one row per unordered pair of themes: theme_a < theme_b (by code), count, lift, phi.

    pairs: theme_a, theme_b, count (respondents choosing both; either order; pairs nobody chose
    may be absent). theme_respondents: {theme code: respondents choosing it}, listing every theme.
    respondents: all respondents n.
    - lift = n·n_ab / (n_a·n_b): 1 when the two are chosen together as often as chance predicts;
    - phi = (n·n_ab − n_a·n_b) / √(n_a·n_b·(n − n_a)·(n − n_b)): the correlation of the two
      0/1 choices, in [−1, 1].
    Either is NaN where undefined (a theme nobody, or everybody, chose).
    """
    require(pairs, PAIR_COUNTS, "pairs")
    observed: dict[tuple[str, str], float] = {}
    for a, b, count in pairs[list(PAIR_COUNTS)].itertuples(index=False):
        key = (a, b) if a < b else (b, a)
        observed[key] = observed.get(key, 0.0) + float(count)
    themes = sorted(theme_respondents)
    rows = []
    n = float(respondents)
    for a, b in combinations(themes, 2):
        n_ab = observed.get((a, b), 0.0)
        n_a, n_b = float(theme_respondents[a]), float(theme_respondents[b])
        lift = n * n_ab / (n_a * n_b) if n_a and n_b else np.nan
        denominator = n_a * n_b * (n - n_a) * (n - n_b)
        phi = (n * n_ab - n_a * n_b) / np.sqrt(denominator) if denominator > 0 else np.nan
        rows.append((a, b, n_ab, lift, phi))
    return pd.DataFrame(rows, columns=["theme_a", "theme_b", "count", "lift", "phi"])


def matrix(
    table: pd.DataFrame,
    themes: list[str],
    value: str = "phi",
    diagonal: float = np.nan,
) -> pd.DataFrame:
    """Return a square symmetric DataFrame (index and columns = themes, in the given order).

    table: an association() table; value: "count", "lift" or "phi"; diagonal: the value put
    on the diagonal (e.g. 1.0 for phi as a similarity, 0.0 for a distance). Pairs without a
    defined value are NaN. This is the input of the workshop grouping (e.g. clustering on
    1 − phi).
    """
    if value not in MEASURES:
        raise ValueError(f"value must be one of {', '.join(MEASURES)}, not {value!r}")
    out = pd.DataFrame(np.nan, index=pd.Index(themes, name="theme"), columns=list(themes))
    for a, b, v in table[["theme_a", "theme_b", value]].itertuples(index=False):
        if a in out.index and b in out.index:
            out.loc[a, b] = v
            out.loc[b, a] = v
    for theme in themes:
        out.loc[theme, theme] = diagonal
    return out
