"""Bootstrap intervals for vote shares, resampling respondents through their answer patterns.

A pattern is a distinct ordered list of themes (with its region). Drawing n respondents with
replacement is the same as drawing pattern counts from a multinomial(n, count / n), so the
bootstrap costs a function of the number of distinct patterns, never of the respondents.
Under post-stratification the draw is stratified by region (each region keeps its n_r), the
weights stay fixed. A fixed seed makes every interval reproducible.

The vote share depends only on WHICH themes a pattern chose (and its weight), not on their
order, so patterns are first collapsed into cells: one per distinct row of the weighted
indicator matrix (and region, when stratified). Summing some cells of a multinomial gives the
multinomial of the merged cells (with the summed probabilities), so drawing the collapsed
counts has exactly the same distribution of vote shares as drawing every pattern, at a cost of
at most 298 cells (12 themes, up to 3 choices) per stratum instead of thousands of
region × ordered-pattern cells. Unstratified, the region is summed away the same way. The
cells are put in a canonical (sorted) order, so the seeded draws do not depend on the order
in which the database returned the patterns.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.schema import theme_columns

SEED = 20161017
REPLICATES = 1000
TOP_K = (1, 3, 5)
# Replicates drawn at once: bounds memory to BATCH × patterns integers.
BATCH = 200


def indicator(patterns: pd.DataFrame, themes: Sequence[str]) -> np.ndarray:
    """Return a patterns × themes 0/1 matrix: does the pattern choose the theme."""
    index = pd.Index(list(themes), dtype=object)
    matrix = np.zeros((len(patterns), len(index)))
    for column in theme_columns(patterns):
        found = index.get_indexer(patterns[column].to_numpy(dtype=object))  # -1: None, NaN
        rows = np.nonzero(found >= 0)[0]
        matrix[rows, found[rows]] = 1.0
    return matrix


def collapse(chosen: np.ndarray, counts: np.ndarray, strata: np.ndarray | None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Merge the cells with the same row of `chosen` (and stratum): (chosen, counts, strata).

    Exact for the bootstrap: the merged cells' counts of a multinomial draw are a multinomial
    draw of the merged cells, and the vote shares only see the merged counts. Rows come out
    sorted (stratum first), whatever the input order; strata come back as 0, 1, … codes.
    """
    if strata is not None:
        strata = pd.factorize(np.asarray(strata), sort=True)[0].astype(float)
    keys = chosen if strata is None else np.column_stack([strata, chosen])
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    merged = np.bincount(inverse.ravel(), weights=counts, minlength=len(unique))
    if strata is None:
        return unique, merged, None
    return unique[:, 1:], merged, unique[:, 0]


def _draw(rng: np.random.Generator, counts: np.ndarray, strata: np.ndarray | None,
          size: int) -> np.ndarray:
    """Draw `size` bootstrap replicates of the pattern counts (size × patterns)."""
    out = np.zeros((size, len(counts)))
    groups = [np.arange(len(counts))] if strata is None else [
        np.nonzero(strata == value)[0] for value in np.unique(strata)]
    for members in groups:
        n = int(counts[members].sum())
        if n == 0:
            continue
        out[:, members] = rng.multinomial(n, counts[members] / n, size=size)
    return out


def bootstrap(
    patterns: pd.DataFrame,
    themes: Sequence[str],
    weights: Sequence[float] | None = None,
    stratify: bool = False,
    replicates: int = REPLICATES,
    seed: int = SEED,
    top_k: Sequence[int] = TOP_K,
    level: float = 0.95,
) -> pd.DataFrame:
    """Return per theme: low, high (percentile interval of the vote share) and p_top_<k>.

    patterns: theme_1 … theme_m, count (and region when stratify=True).
    weights: one weight per pattern row (post-stratification), None for unweighted.
    p_top_<k>: the share of replicates in which the theme's rank (ties share the best rank)
    is at most k. With no respondents every interval is [0, 0] and every probability 0.
    """
    themes = list(themes)
    counts = patterns["count"].to_numpy(dtype=float)
    columns = ["theme", "low", "high", *(f"p_top_{k}" for k in top_k)]
    if counts.sum() == 0:
        empty = pd.DataFrame({"theme": themes, "low": 0.0, "high": 0.0})
        for k in top_k:
            empty[f"p_top_{k}"] = 0.0
        return empty[columns]
    w = np.ones(len(counts)) if weights is None else np.asarray(weights, dtype=float)
    chosen = indicator(patterns, themes) * w[:, None]
    strata = patterns["region"].to_numpy() if stratify else None
    chosen, counts, strata = collapse(chosen, counts, strata)
    rng = np.random.default_rng(seed)
    shares = []
    for start in range(0, replicates, BATCH):
        size = min(BATCH, replicates - start)
        votes = _draw(rng, counts, strata, size) @ chosen
        totals = votes.sum(axis=1, keepdims=True)
        shares.append(np.divide(votes, totals, out=np.zeros_like(votes), where=totals > 0))
    share = np.vstack(shares)
    alpha = (1 - level) / 2
    low, high = np.quantile(share, [alpha, 1 - alpha], axis=0)
    # Rank in each replicate: 1 + number of themes with a strictly larger share.
    ranks = 1 + (share[:, None, :] > share[:, :, None]).sum(axis=2)
    frame = pd.DataFrame({"theme": themes, "low": low, "high": high})
    for k in top_k:
        frame[f"p_top_{k}"] = (ranks <= k).mean(axis=0)
    return frame[columns]
