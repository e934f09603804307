"""Bootstrap intervals on answer patterns: reproducible, exact in degenerate cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.uncertainty import bootstrap, indicator

PATTERNS = pd.DataFrame({
    "region": [12, 12, 12, 3, 3],
    "theme_1": ["security", "security", "health", "security", "corruption"],
    "theme_2": ["health", None, "security", "health", None],
    "theme_3": ["education", None, None, "education", None],
    "count": [40, 25, 20, 10, 5],
})
THEMES = ["corruption", "education", "health", "security", "water"]


def test_indicator():
    matrix = indicator(PATTERNS, THEMES)
    assert matrix.tolist()[0] == [0, 1, 1, 1, 0]
    assert matrix.tolist()[4] == [1, 0, 0, 0, 0]


def test_reproducible_with_a_fixed_seed():
    first = bootstrap(PATTERNS, THEMES, replicates=300, seed=7)
    again = bootstrap(PATTERNS, THEMES, replicates=300, seed=7)
    other = bootstrap(PATTERNS, THEMES, replicates=300, seed=8)
    pd.testing.assert_frame_equal(first, again)
    assert not first["low"].equals(other["low"])


def test_intervals_surround_the_estimate():
    table = bootstrap(PATTERNS, THEMES, replicates=500).set_index("theme")
    # security: 40 + 25 + 20 + 10 = 95 of 235 votes.
    assert table.loc["security", "low"] < 95 / 235 < table.loc["security", "high"]
    assert table.loc["security", "p_top_1"] == pytest.approx(1.0)
    assert (table[["p_top_1", "p_top_3", "p_top_5"]].to_numpy() <= 1).all()
    assert table["p_top_5"].tolist() == [1.0] * 5


def test_a_theme_nobody_chose_has_a_zero_interval():
    row = bootstrap(PATTERNS, THEMES, replicates=200).set_index("theme").loc["water"]
    assert (row["low"], row["high"]) == (0.0, 0.0)
    # Tied with nobody above it? No: every chosen theme has more votes.
    assert row["p_top_1"] == 0.0


def test_single_pattern_has_no_uncertainty():
    one = pd.DataFrame({"theme_1": ["a"], "theme_2": ["b"], "count": [1]})
    table = bootstrap(one, ["a", "b", "c"], replicates=50).set_index("theme")
    assert table["low"].tolist() == [0.5, 0.5, 0.0]
    assert table["high"].tolist() == [0.5, 0.5, 0.0]
    assert table["p_top_1"].tolist() == [1.0, 1.0, 0.0]  # a and b tie for first


def test_empty():
    empty = pd.DataFrame({"theme_1": [], "count": []})
    table = bootstrap(empty, ["a", "b"], replicates=10)
    assert table[["low", "high", "p_top_1"]].to_numpy().tolist() == [[0, 0, 0], [0, 0, 0]]


def test_stratified_weighted_bootstrap_keeps_each_region():
    # One pattern per region: each stratum redraws the same counts, so no uncertainty at all.
    patterns = pd.DataFrame({"region": [1, 2], "theme_1": ["a", "b"], "count": [3, 1]})
    table = bootstrap(patterns, ["a", "b"], weights=[1 / 3, 3], stratify=True,
                      replicates=50).set_index("theme")
    assert table["low"].tolist() == pytest.approx([0.25, 0.75])
    assert table["high"].tolist() == pytest.approx([0.25, 0.75])
    assert table["p_top_1"].tolist() == [0.0, 1.0]


def test_interval_matches_the_binomial_approximation():
    # 1,000 respondents, one choice each, 30% for a: the 95% interval is about ± 2.84 points.
    patterns = pd.DataFrame({"theme_1": ["a", "b"], "count": [300, 700]})
    row = bootstrap(patterns, ["a", "b"], replicates=2000).set_index("theme").loc["a"]
    half = 1.96 * np.sqrt(0.3 * 0.7 / 1000)
    assert row["low"] == pytest.approx(0.3 - half, abs=0.004)
    assert row["high"] == pytest.approx(0.3 + half, abs=0.004)
