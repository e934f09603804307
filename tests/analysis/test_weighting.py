"""Post-stratification by region, design effect, a region with no respondents."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import weighting
from analysis.ranking import position_counts_from_patterns, ranking

POPULATION = pd.DataFrame({"region": [1, 2, 3], "population": [100, 300, 600]})


def test_weights_with_a_region_without_respondents():
    respondents = pd.DataFrame({"region": [1, 2, 1], "respondents": [2, 1, 1]})
    table = weighting.region_weights(respondents, POPULATION).set_index("region")
    # Region 3 has nobody: the target is regions 1 and 2 (population 400): shares 1/4, 3/4.
    assert list(table["respondents"]) == [3, 1, 0]
    assert list(table["population_share"]) == pytest.approx([0.25, 0.75, 0.0])
    assert list(table["sample_share"]) == pytest.approx([0.75, 0.25, 0.0])
    assert list(table["weight"]) == pytest.approx([1 / 3, 3.0, 0.0])
    # Weighted respondents still add up to n.
    assert (table["weight"] * table["respondents"]).sum() == pytest.approx(4)
    summary = weighting.design_summary(table.reset_index())
    # deff = n Σw² / (Σw)² = 4 × (3/9 + 9) / 16 = 7/3.
    assert summary["design_effect"] == pytest.approx(7 / 3)
    assert summary["effective_sample_size"] == pytest.approx(12 / 7)
    assert summary["regions_without_respondents"] == [3]
    assert summary["population_covered"] == pytest.approx(0.4)


def test_proportional_sample_has_design_effect_one():
    respondents = pd.DataFrame({"region": [1, 2, 3], "respondents": [1, 3, 6]})
    table = weighting.region_weights(respondents, POPULATION)
    assert list(table["weight"]) == pytest.approx([1, 1, 1])
    assert weighting.design_summary(table)["design_effect"] == pytest.approx(1)


def test_no_respondents():
    table = weighting.region_weights(pd.DataFrame({"region": [], "respondents": []}), POPULATION)
    assert list(table["weight"]) == [0, 0, 0]
    summary = weighting.design_summary(table)
    assert summary["design_effect"] is None
    assert summary["effective_sample_size"] == 0
    assert summary["regions_without_respondents"] == [1, 2, 3]


def test_weighted_ranking_turns_an_over_represented_region_around():
    patterns = pd.DataFrame({"region": [1, 2], "theme_1": ["a", "b"], "count": [3, 1]})
    counts = patterns.rename(columns={"count": "respondents"})[["region", "respondents"]]
    table = weighting.region_weights(counts, POPULATION)
    weights = weighting.pattern_weights(patterns, table)
    assert list(weights) == pytest.approx([1 / 3, 3])
    unweighted = ranking(position_counts_from_patterns(patterns), ["a", "b"], 4, 1)
    weighted = ranking(position_counts_from_patterns(patterns, weights), ["a", "b"], 4, 1)
    assert list(unweighted["theme"]) == ["a", "b"]
    assert list(weighted["theme"]) == ["b", "a"]
    assert list(weighted["vote_share"]) == pytest.approx([0.75, 0.25])
    # Totals are consistent: weighted votes sum to the weighted respondents (one choice each).
    assert weighted["votes"].sum() == pytest.approx(4)
    assert weighted["vote_share"].sum() == pytest.approx(1)


def test_unweighted_summary():
    assert weighting.unweighted_summary(10) == {
        "design_effect": 1.0, "effective_sample_size": 10.0,
        "regions_without_respondents": [], "population_covered": None}
