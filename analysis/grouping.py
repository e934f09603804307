"""Group themes into workshops from a theme × theme association matrix (pure pandas + scipy).

Themes that people choose together should be discussed together. The association (lift, phi
or any "higher = more together" measure) is rescaled to [0, 1] over the off-diagonal cells,
turned into a distance 1 − association, and clustered with average-linkage hierarchical
clustering, cut into exactly the requested number of groups. The input order is fixed first
(by the given ranking, then by code) so the same data always gives the same grouping.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


class GroupingError(ValueError):
    """The association matrix or the number of groups cannot be grouped; the message says why."""


def check_association(association: pd.DataFrame) -> None:
    """Raise GroupingError unless association is a square, symmetric, finite, labelled matrix."""
    if association.shape[0] != association.shape[1]:
        raise GroupingError(f"association must be square, not {association.shape}")
    if list(association.index) != list(association.columns):
        raise GroupingError("association must have the same labels on rows and columns")
    if association.index.has_duplicates:
        raise GroupingError("association has duplicate labels")
    values = association.to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise GroupingError("association has missing or infinite values")
    if not np.allclose(values, values.T):
        raise GroupingError("association must be symmetric")


def distances(association: pd.DataFrame) -> pd.DataFrame:
    """Return 1 − association rescaled to [0, 1] off the diagonal, with a zero diagonal."""
    check_association(association)
    values = association.to_numpy(dtype=float).copy()
    size = len(values)
    off = ~np.eye(size, dtype=bool)
    if size > 1:
        low, high = values[off].min(), values[off].max()
        scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    else:
        scaled = np.zeros_like(values)
    out = 1.0 - np.clip(scaled, 0.0, 1.0)
    np.fill_diagonal(out, 0.0)
    return pd.DataFrame(out, index=association.index, columns=association.columns)


def group_themes(
    association: pd.DataFrame, n_groups: int, order: Sequence[str] | None = None
) -> list[list[str]]:
    """Return n_groups lists of theme labels; every theme in exactly one list.

    `order` (e.g. themes by votes, best first) fixes the input order, the order of themes inside
    each group, and the order of the groups (by their best-ranked theme). Labels missing from
    `order` follow it, sorted.
    """
    check_association(association)
    labels = list(association.index)
    if not labels:
        raise GroupingError("there are no themes to group")
    if not 1 <= n_groups <= len(labels):
        raise GroupingError(
            f"cannot make {n_groups} groups from {len(labels)} themes (1 to {len(labels)})"
        )
    rank = {label: i for i, label in enumerate(order or [])}
    labels.sort(key=lambda label: (rank.get(label, len(rank)), str(label)))
    ordered = association.loc[labels, labels]
    if n_groups == len(labels):
        return [[label] for label in labels]
    if n_groups == 1:
        return [labels]
    # scipy is slow to import (seconds on a busy machine): only when a plan is grouped.
    from scipy.cluster.hierarchy import cut_tree, linkage
    from scipy.spatial.distance import squareform

    condensed = squareform(distances(ordered).to_numpy(), checks=False)
    tree = linkage(condensed, method="average")
    cluster_of = cut_tree(tree, n_clusters=n_groups).ravel()
    groups: dict[int, list[str]] = {}
    for label, cluster in zip(labels, cluster_of, strict=True):
        groups.setdefault(int(cluster), []).append(label)
    # labels are in rank order, so each group's first member is its best-ranked theme.
    return sorted(groups.values(), key=lambda members: labels.index(members[0]))

