"""Co-occurrence counts, lift and phi; the square matrix the workshop grouping uses."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis.cooccurrence import association, matrix

# The five respondents: [security, health, education] ×2, [security], [health, security],
# [corruption]; nobody chose water.
PAIRS = pd.DataFrame([("health", "security", 3), ("education", "security", 2),
                      ("education", "health", 2)], columns=["theme_a", "theme_b", "count"])
CHOSEN = {"security": 4, "health": 3, "education": 2, "corruption": 1, "water": 0}


def rows(table):
    return {(r.theme_a, r.theme_b): r for r in table.itertuples()}


def test_counts_lift_and_phi():
    table = rows(association(PAIRS, CHOSEN, 5))
    assert len(table) == 10  # every pair of 5 themes
    pair = table[("health", "security")]
    assert pair.count == 3
    assert pair.lift == pytest.approx(5 * 3 / (4 * 3))
    assert pair.phi == pytest.approx((5 * 3 - 4 * 3) / math.sqrt(4 * 3 * 1 * 2))
    never = table[("corruption", "security")]
    assert never.count == 0
    assert never.lift == 0
    assert never.phi == pytest.approx(-1.0)
    # A theme nobody chose has no defined association.
    assert math.isnan(table[("security", "water")].lift)
    assert math.isnan(table[("security", "water")].phi)


def test_pairs_in_either_order_are_merged():
    flipped = PAIRS.rename(columns={"theme_a": "theme_b", "theme_b": "theme_a"})
    assert rows(association(flipped, CHOSEN, 5))[("health", "security")].count == 3


def test_matrix_is_square_and_symmetric():
    table = association(PAIRS, CHOSEN, 5)
    themes = ["security", "health", "education", "corruption", "water"]
    square = matrix(table, themes, "phi", diagonal=1.0)
    assert list(square.index) == themes
    assert list(square.columns) == themes
    assert square.loc["health", "security"] == square.loc["security", "health"]
    assert square.loc["security", "security"] == 1.0
    counts = matrix(table, themes, "count", diagonal=0)
    assert counts.loc["education", "health"] == 2
    with pytest.raises(ValueError, match="value must be"):
        matrix(table, themes, "cosine")
