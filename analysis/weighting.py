"""Post-stratification of respondents by region to the 2020 census population.

Each respondent of region r gets the weight w_r = (P_r / P) / (n_r / n): the share of the
population that region holds over its share of the respondents, so weighted respondents still
add up to n and an over-represented region no longer decides the ranking.

Regions with no respondents cannot be represented by anybody. They are left out of the
target: the population shares are re-normalised over the regions that have respondents
(the weights still add up to n), and the result names the regions left out and the share of
the population that the weighted figures do represent (`population_covered`). Nothing is
imputed for them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def region_weights(respondents: pd.DataFrame, population: pd.DataFrame) -> pd.DataFrame:
    """Return one row per region of `population`: respondents, population, shares and weight.

    respondents: columns region, respondents (regions missing count 0).
    population: columns region, population (every region of the state).
    Columns out: region, respondents, population, sample_share, population_share (over the
    regions with respondents), weight (0 for a region without respondents).
    """
    frame = population[["region", "population"]].copy()
    counts = respondents.groupby("region")["respondents"].sum()
    frame["respondents"] = frame["region"].map(counts).fillna(0).astype(int)
    n = frame["respondents"].sum()
    represented = frame["respondents"] > 0
    covered = frame.loc[represented, "population"].sum()
    frame["sample_share"] = frame["respondents"] / n if n else 0.0
    frame["population_share"] = np.where(represented, frame["population"] / covered, 0.0) \
        if covered else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(represented, frame["population_share"] / frame["sample_share"], 0.0)
    frame["weight"] = weight
    return frame[["region", "respondents", "population", "sample_share", "population_share",
                  "weight"]].reset_index(drop=True)


def design_summary(weights: pd.DataFrame) -> dict:
    """Return Kish's design effect and effective sample size for a region_weights() table.

    design_effect = n Σ w_i² / (Σ w_i)²  (1 when unweighted); effective_sample_size = n / deff.
    Also regions_without_respondents (numbers) and population_covered (fraction of 1).
    """
    n = float(weights["respondents"].sum())
    total_population = float(weights["population"].sum())
    empty = [int(r) for r in weights.loc[weights["respondents"] == 0, "region"]]
    covered = float(weights.loc[weights["respondents"] > 0, "population"].sum())
    if n == 0:
        return {"design_effect": None, "effective_sample_size": 0.0,
                "regions_without_respondents": empty, "population_covered": 0.0}
    sum_w = float((weights["respondents"] * weights["weight"]).sum())
    sum_w2 = float((weights["respondents"] * weights["weight"] ** 2).sum())
    deff = n * sum_w2 / sum_w**2
    return {
        "design_effect": deff,
        "effective_sample_size": n / deff,
        "regions_without_respondents": empty,
        "population_covered": covered / total_population if total_population else 0.0,
    }


def unweighted_summary(respondents: float) -> dict:
    """Return the design summary of unweighted figures (design effect 1)."""
    return {"design_effect": 1.0 if respondents else None,
            "effective_sample_size": float(respondents),
            "regions_without_respondents": [], "population_covered": None}


def pattern_weights(patterns: pd.DataFrame, weights: pd.DataFrame) -> pd.Series:
    """Return the weight of each row of a pattern table, looked up by its region."""
    lookup = weights.set_index("region")["weight"]
    return patterns["region"].map(lookup).fillna(0.0).astype(float)
