"""Differences between groups of respondents (paper vs online, metropolitan vs rest, sectors).

Each group's ranking is shown side by side; whether the groups differ more than chance is tested
with Pearson's chi-square on the group × theme contingency table of FIRST choices. First choices
are used because each respondent makes exactly one, so the cells are independent counts, which
the test needs; all choices (up to theme_max per respondent) are not.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def group_shares(group_counts: pd.DataFrame, themes: Sequence[str]) -> pd.DataFrame:
    """Return a themes × groups table of vote shares from (group, theme, count) votes.

    Columns keep the order in which groups first appear; a group with no votes shares 0.
    """
    groups = list(dict.fromkeys(group_counts["group"]))
    wide = group_counts.pivot_table(index="theme", columns="group", values="count",
                                    aggfunc="sum", fill_value=0)
    wide = wide.reindex(index=list(themes), columns=groups, fill_value=0).astype(float)
    totals = wide.sum(axis=0)
    return wide.div(totals.where(totals > 0, np.nan), axis=1).fillna(0.0)


def chi_square(contingency: pd.DataFrame) -> dict:
    """Test independence of a groups × themes (or themes × groups) table of counts.

    Rows and columns that are all zero are dropped first (they carry no information and would
    make expected counts zero). Returns chi2, dof, p_value, cramers_v, n and min_expected
    (Cochran's rule: the test is unreliable when expected counts fall below 5), or all None
    but n when fewer than two rows or columns remain.
    """
    table = contingency.to_numpy(dtype=float)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    n = float(table.sum())
    if table.ndim != 2 or min(table.shape) < 2:
        return {"chi2": None, "dof": None, "p_value": None, "cramers_v": None, "n": n,
                "min_expected": None}
    # Pearson's statistic without continuity correction, as scipy.stats.chi2_contingency(table,
    # correction=False) computes it (a test checks they agree). scipy.special's chi-square
    # survival function gives the p-value: importing scipy.stats for this took 0.4-0.9 s of a
    # new worker's first dashboard page.
    from scipy.special import chdtrc

    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    statistic = float(((table - expected) ** 2 / expected).sum())
    dof = (table.shape[0] - 1) * (table.shape[1] - 1)
    v = np.sqrt(statistic / (n * (min(table.shape) - 1)))
    return {"chi2": statistic, "dof": int(dof), "p_value": float(chdtrc(dof, statistic)),
            "cramers_v": float(v), "n": n, "min_expected": float(expected.min())}


def compare(
    votes: pd.DataFrame, first_choices: pd.DataFrame, themes: Sequence[str]
) -> dict:
    """Compare groups: shares (themes × groups DataFrame of vote shares) and test (chi_square).

    votes and first_choices: columns group, theme, count.
    """
    contingency = first_choices.pivot_table(index="group", columns="theme", values="count",
                                            aggfunc="sum", fill_value=0)
    return {"shares": group_shares(votes, themes), "test": chi_square(contingency)}
