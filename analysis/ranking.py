"""Theme rankings: votes, shares, Borda scores, tied ranks and the concentration of the vote."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.schema import POSITION_COUNTS, require

# Cumulative shares are compared with a tolerance: 0.8 built from floats may be 0.7999999999.
EPSILON = 1e-9


def competition_rank(values: pd.Series) -> pd.Series:
    """Return 1-based ranks, highest value first; equal values share the best rank (1, 2, 2, 4)."""
    return values.rank(method="min", ascending=False).astype(int)


def ranking(
    position_counts: pd.DataFrame,
    themes: Sequence[str],
    respondents: float,
    theme_max: int,
    ranked: bool = True,
) -> pd.DataFrame:
    """Rank themes from a (theme, position, count) table.

    - votes: how many times the theme was chosen (counts may be weighted floats);
    - vote_share: votes / all votes (the shares sum to 1 when anyone voted, else all 0);
    - respondent_share: votes / respondents (a respondent chooses a theme at most once);
    - borda: a choice in position p scores theme_max - p + 1 (None when not ranked);
    - rank: by votes, ties share the best rank; rows are ordered by rank, then code;
    - cumulative_share: running sum of vote_share in that order.

    `themes` lists every theme code of the consultation, so a theme nobody chose still appears
    (with 0 votes, tied for last). Counts of codes not in `themes` are refused.
    """
    require(position_counts, POSITION_COUNTS, "position_counts")
    unknown = set(position_counts["theme"]) - set(themes)
    if unknown:
        raise ValueError(f"position_counts: unknown theme(s) {', '.join(sorted(unknown))}")
    frame = position_counts.copy()
    frame["count"] = frame["count"].astype(float)
    frame["score"] = (theme_max - frame["position"].astype(int) + 1).clip(lower=0) * frame["count"]
    grouped = frame.groupby("theme")[["count", "score"]].sum()
    table = pd.DataFrame(index=pd.Index(list(themes), name="theme"))
    table["votes"] = grouped["count"].reindex(table.index, fill_value=0.0)
    table["borda"] = grouped["score"].reindex(table.index, fill_value=0.0)
    total = table["votes"].sum()
    table["vote_share"] = table["votes"] / total if total > 0 else 0.0
    table["respondent_share"] = table["votes"] / respondents if respondents > 0 else 0.0
    if not ranked:
        table["borda"] = None
    table = table.reset_index()
    table["rank"] = competition_rank(table["votes"])
    table = table.sort_values(["rank", "theme"], kind="mergesort").reset_index(drop=True)
    # Clipped: a float sum of shares may overshoot 1 by 1e-16.
    table["cumulative_share"] = table["vote_share"].cumsum().clip(upper=1.0)
    return table[["theme", "votes", "vote_share", "respondent_share", "borda", "rank",
                  "cumulative_share"]]


def concentration(table: pd.DataFrame, threshold: float = 0.8) -> dict:
    """Return {top_k_share: {"1": …, "2": …}, themes_for_80pct} from a ranking() table.

    top_k_share[k] is the vote share of the k first themes in rank order (ties ordered by code),
    for every k. themes_for_80pct is the least k whose share reaches the threshold, None when
    nobody voted. The 2016 report's "seven themes concentrated 81.1% of the vote" reads as
    top_k_share["7"] == 0.811 and themes_for_80pct == 7.
    """
    shares = table["vote_share"].to_numpy(dtype=float)
    cumulative = np.minimum(np.cumsum(shares), 1.0)
    top = {str(k): float(value) for k, value in enumerate(cumulative, start=1)}
    reached = np.nonzero(cumulative >= threshold - EPSILON)[0]
    needed = int(reached[0]) + 1 if shares.sum() > 0 and len(reached) else None
    return {"top_k_share": top, "themes_for_80pct": needed}


def position_counts_from_patterns(
    patterns: pd.DataFrame, weights: pd.Series | None = None
) -> pd.DataFrame:
    """Turn a pattern table (theme_1 … theme_m, count) into (theme, position, count).

    With `weights` (one value per pattern row, e.g. its region's post-stratification weight),
    each pattern counts count × weight.
    """
    from analysis.schema import theme_columns

    columns = theme_columns(patterns)
    count = patterns["count"].astype(float)
    if weights is not None:
        count = count * np.asarray(weights, dtype=float)
    parts = []
    for position, column in enumerate(columns, start=1):
        part = pd.DataFrame({"theme": patterns[column], "position": position, "count": count})
        parts.append(part[part["theme"].notna()])
    if not parts:
        return pd.DataFrame(columns=list(POSITION_COUNTS))
    long = pd.concat(parts, ignore_index=True)
    return long.groupby(["theme", "position"], as_index=False)["count"].sum()
