"""Rankings and concentration against hand-computed examples."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.ranking import concentration, position_counts_from_patterns, ranking
from analysis.schema import SchemaError

THEMES = ["corruption", "education", "health", "security", "water"]


def positions(rows):
    return pd.DataFrame(rows, columns=["theme", "position", "count"])


# The five respondents of tests/services/test_datasets.py:
# [security, health, education] ×2, [security], [health, security], [corruption].
FIVE = positions([("security", 1, 3), ("security", 2, 1), ("health", 1, 1), ("health", 2, 2),
                  ("education", 3, 2), ("corruption", 1, 1)])


def by_theme(table):
    return {row.theme: row for row in table.itertuples()}


def test_votes_shares_borda_and_ranks():
    table = ranking(FIVE, THEMES, respondents=5, theme_max=3)
    assert list(table["theme"]) == ["security", "health", "education", "corruption", "water"]
    rows = by_theme(table)
    assert rows["security"].votes == 4
    assert rows["security"].vote_share == pytest.approx(0.4)
    assert rows["security"].respondent_share == pytest.approx(0.8)
    assert rows["security"].borda == 11  # 3 first places × 3 + 1 second place × 2
    assert rows["health"].borda == 7  # 1 × 3 + 2 × 2
    assert rows["education"].borda == 2  # 2 third places × 1
    assert rows["corruption"].borda == 3
    assert list(table["rank"]) == [1, 2, 3, 4, 5]
    assert list(table["cumulative_share"]) == pytest.approx([0.4, 0.7, 0.9, 1.0, 1.0])


def test_a_theme_nobody_chose_is_listed_last_with_zero():
    rows = by_theme(ranking(FIVE, THEMES, 5, 3))
    assert rows["water"].votes == 0
    assert rows["water"].vote_share == 0
    assert rows["water"].borda == 0
    assert rows["water"].rank == 5


def test_ties_share_a_rank_and_are_ordered_by_code():
    table = ranking(positions([("b", 1, 2), ("a", 2, 2), ("c", 1, 1)]), ["c", "b", "a", "d"],
                    respondents=4, theme_max=2)
    assert list(table["theme"]) == ["a", "b", "c", "d"]
    assert list(table["rank"]) == [1, 1, 3, 4]
    assert by_theme(table)["b"].borda == 4
    assert by_theme(table)["a"].borda == 2


def test_single_respondent():
    table = ranking(positions([("a", 1, 1), ("b", 2, 1)]), ["a", "b", "c"], 1, 3)
    assert list(table["vote_share"]) == pytest.approx([0.5, 0.5, 0.0])
    assert list(table["respondent_share"]) == pytest.approx([1.0, 1.0, 0.0])
    assert list(table["rank"]) == [1, 1, 3]
    assert list(table["borda"]) == [3, 2, 0]


def test_empty_filter_result():
    table = ranking(positions([]), THEMES, 0, 3)
    assert list(table["votes"]) == [0] * 5
    assert list(table["vote_share"]) == [0] * 5
    assert list(table["rank"]) == [1] * 5
    assert list(table["theme"]) == THEMES
    summary = concentration(table)
    assert summary["themes_for_80pct"] is None
    assert summary["top_k_share"] == {str(k): 0.0 for k in range(1, 6)}


def test_unranked_question_has_no_borda():
    table = ranking(FIVE, THEMES, 5, 3, ranked=False)
    assert table["borda"].isna().all()


def test_shares_sum_to_one():
    assert ranking(FIVE, THEMES, 5, 3)["vote_share"].sum() == pytest.approx(1.0)


def test_concentration_reproduces_the_2016_report_statement():
    # Seven themes with 81.1% of 1,000 votes, four more with the rest.
    votes = [200, 160, 130, 110, 90, 65, 56, 55, 50, 45, 39]
    codes = [f"t{i:02d}" for i in range(11)]
    table = ranking(positions([(c, 1, v) for c, v in zip(codes, votes, strict=True)]),
                    codes, 1000, 1)
    summary = concentration(table)
    assert summary["themes_for_80pct"] == 7
    assert summary["top_k_share"]["7"] == pytest.approx(0.811)
    assert summary["top_k_share"]["1"] == pytest.approx(0.2)
    assert summary["top_k_share"]["11"] == pytest.approx(1.0)


def test_concentration_at_exactly_80_percent():
    table = ranking(positions([("a", 1, 8), ("b", 1, 2)]), ["a", "b"], 10, 1)
    assert concentration(table)["themes_for_80pct"] == 1


def test_unknown_theme_and_missing_columns_are_refused():
    with pytest.raises(ValueError, match="unknown theme"):
        ranking(positions([("nope", 1, 1)]), THEMES, 1, 3)
    with pytest.raises(SchemaError, match="missing column"):
        ranking(pd.DataFrame({"theme": ["a"], "count": [1]}), ["a"], 1, 3)


def test_position_counts_from_patterns_with_weights():
    patterns = pd.DataFrame({"region": [1, 2], "theme_1": ["a", "b"], "theme_2": ["b", None],
                             "count": [3, 1]})
    plain = position_counts_from_patterns(patterns)
    assert {(r.theme, r.position): r.count for r in plain.itertuples()} == {
        ("a", 1): 3, ("b", 1): 1, ("b", 2): 3}
    weighted = position_counts_from_patterns(patterns, [0.5, 2.0])
    assert {(r.theme, r.position): r.count for r in weighted.itertuples()} == {
        ("a", 1): 1.5, ("b", 1): 2.0, ("b", 2): 1.5}
