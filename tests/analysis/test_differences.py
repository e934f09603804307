"""Group comparisons and the chi-square test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.differences import chi_square, compare, group_shares


def test_chi_square_hand_computed():
    # Expected 15 in every cell: chi2 = 4 × 25 / 15 = 6.67, Cramér's V = √(6.67 / 60) = 1/3.
    result = chi_square(pd.DataFrame([[10, 20], [20, 10]]))
    assert result["chi2"] == pytest.approx(20 / 3)
    assert result["dof"] == 1
    assert result["p_value"] == pytest.approx(0.00982, abs=1e-5)
    assert result["cramers_v"] == pytest.approx(1 / 3)
    assert result["n"] == 60
    assert result["min_expected"] == 15


@pytest.mark.parametrize("seed", range(5))
def test_chi_square_agrees_with_scipy_stats(seed):
    from scipy.stats import chi2_contingency

    rng = np.random.default_rng(seed)
    table = rng.integers(1, 400, size=(int(rng.integers(2, 6)), int(rng.integers(2, 13))))
    result = chi_square(pd.DataFrame(table))
    reference = chi2_contingency(table, correction=False)
    assert result["chi2"] == pytest.approx(reference.statistic, rel=1e-12)
    assert result["dof"] == reference.dof
    assert result["p_value"] == pytest.approx(reference.pvalue, rel=1e-9, abs=1e-300)
    assert result["min_expected"] == pytest.approx(reference.expected_freq.min(), rel=1e-12)


def test_zero_rows_and_columns_are_dropped():
    result = chi_square(pd.DataFrame([[10, 20, 0], [20, 10, 0], [0, 0, 0]]))
    assert result["dof"] == 1


def test_a_single_group_cannot_be_tested():
    result = chi_square(pd.DataFrame([[10, 20], [0, 0]]))
    assert result["chi2"] is None
    assert result["n"] == 30


def test_group_shares_and_compare():
    votes = pd.DataFrame([("paper", "a", 3), ("paper", "b", 1), ("online", "b", 2)],
                         columns=["group", "theme", "count"])
    shares = group_shares(votes, ["a", "b", "c"])
    assert list(shares.columns) == ["paper", "online"]
    assert shares["paper"].tolist() == pytest.approx([0.75, 0.25, 0])
    assert shares["online"].tolist() == pytest.approx([0, 1, 0])
    result = compare(votes, votes, ["a", "b", "c"])
    assert result["test"]["dof"] == 1
