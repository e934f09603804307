"""Grouping themes into workshops from hand-made association matrices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.grouping import GroupingError, distances, group_themes


def matrix(labels, pairs, default=0.0):
    frame = pd.DataFrame(default, index=labels, columns=labels)
    for (a, b), value in pairs.items():
        frame.loc[a, b] = frame.loc[b, a] = value
    for label in labels:
        frame.loc[label, label] = 1.0
    return frame


TWO_BLOCKS = matrix(
    ["security", "spaces", "health", "education", "water"],
    {("security", "spaces"): 0.9, ("health", "education"): 0.8, ("health", "water"): 0.7,
     ("education", "water"): 0.75, ("security", "health"): 0.1},
)


def test_blocks_of_themes_chosen_together_go_together():
    groups = group_themes(TWO_BLOCKS, 2)
    assert sorted(map(sorted, groups)) == [["education", "health", "water"],
                                           ["security", "spaces"]]


def test_order_sets_group_and_member_order():
    order = ["health", "security", "water", "education", "spaces"]
    groups = group_themes(TWO_BLOCKS, 2, order=order)
    assert groups == [["health", "water", "education"], ["security", "spaces"]]


def test_deterministic_whatever_the_input_order():
    shuffled = TWO_BLOCKS.loc[TWO_BLOCKS.index[::-1], TWO_BLOCKS.index[::-1]]
    order = list(TWO_BLOCKS.index)
    assert group_themes(shuffled, 3, order) == group_themes(TWO_BLOCKS, 3, order)
    assert group_themes(TWO_BLOCKS, 3, order) == group_themes(TWO_BLOCKS, 3, order)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_exactly_n_groups_covering_every_theme_once(n):
    groups = group_themes(TWO_BLOCKS, n)
    assert len(groups) == n
    assert all(groups)
    members = [label for group in groups for label in group]
    assert sorted(members) == sorted(TWO_BLOCKS.index)


def test_ties_still_give_exactly_n_groups():
    flat = matrix(list("abcdef"), {}, default=0.5)
    groups = group_themes(flat, 4, order=list("abcdef"))
    assert len(groups) == 4
    assert sum(map(len, groups)) == 6


def test_negative_association_phi_is_rescaled():
    phi = matrix(list("abcd"), {("a", "b"): 0.6, ("c", "d"): 0.5, ("a", "c"): -0.4,
                                ("a", "d"): -0.3, ("b", "c"): -0.2, ("b", "d"): -0.5})
    assert sorted(map(sorted, group_themes(phi, 2))) == [["a", "b"], ["c", "d"]]
    dist = distances(phi)
    assert dist.loc["a", "b"] == pytest.approx(0.0)
    assert dist.loc["b", "d"] == pytest.approx(1.0)
    assert np.allclose(np.diag(dist), 0.0)


@pytest.mark.parametrize(("frame", "n", "message"), [
    (TWO_BLOCKS, 6, "cannot make 6 groups from 5 themes"),
    (TWO_BLOCKS, 0, "cannot make 0 groups"),
    (TWO_BLOCKS.iloc[:, :3], 2, "square"),
    (pd.DataFrame([[1.0, 0.2], [0.3, 1.0]], index=["a", "b"], columns=["a", "b"]), 1,
     "symmetric"),
    (pd.DataFrame([[1.0, 0.2], [0.2, 1.0]], index=["a", "b"], columns=["b", "a"]), 1,
     "same labels"),
    (pd.DataFrame([[1.0, np.nan], [np.nan, 1.0]], index=["a", "b"], columns=["a", "b"]), 1,
     "missing"),
    (pd.DataFrame(dtype=float), 1, "no themes"),
])
def test_bad_input_is_refused_with_a_reason(frame, n, message):
    with pytest.raises(GroupingError, match=message):
        group_themes(frame, n)

