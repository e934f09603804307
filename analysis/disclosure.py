"""Disclosure control for microdata: which quasi-identifiers of a row may be published.

Pure Python (no Flask, no database): count cells in, one publication level per cell out.

A row's quasi-identifiers are its place (municipality, region, metropolitan flag) and its
single-choice answers (e.g. sector, or an age group asked as options). The published
combination of a row is those values after blanking; every published combination must rest
on at least `minimum` rows, as every public table does (MIN_CELL_SIZE).

The rule, applied region by region, deterministic (the same counts give the same levels):

1. a (municipality, single answers) cell of a municipality with at least `minimum`
   respondents, and itself of at least `minimum` rows, is published whole (LEVEL_FULL);
2. the rest, grouped by (region, metro flag, single answers): a group of at least `minimum`
   rows is published without the municipality (LEVEL_NO_MUNICIPALITY);
3. the rest, grouped by (region, metro flag): a group of at least `minimum` rows is
   published without the municipality and the single answers (LEVEL_PLACE_ONLY);
4. the rest of the region (region only: no municipality, metro flag or single answers,
   LEVEL_REGION_ONLY): when fewer than `minimum` rows are left, whole published groups of
   the region join them, smallest first (coarsest level first, then by size, then by key),
   until they reach `minimum`;
5. a region with fewer than `minimum` respondents in all is published with nothing but the
   themes and the other answers (LEVEL_NOTHING): the region too is left empty, since the
   public tables withhold it.

Themes are never touched: the ranking recomputed from the published rows is the ranking.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

LEVEL_FULL = 0
LEVEL_NO_MUNICIPALITY = 1
LEVEL_PLACE_ONLY = 2
LEVEL_REGION_ONLY = 3
LEVEL_NOTHING = 4

# Which quasi-identifiers each level publishes: (municipality, single answers, metro, region).
PUBLISHES = {
    LEVEL_FULL: (True, True, True, True),
    LEVEL_NO_MUNICIPALITY: (False, True, True, True),
    LEVEL_PLACE_ONLY: (False, False, True, True),
    LEVEL_REGION_ONLY: (False, False, False, True),
    LEVEL_NOTHING: (False, False, False, False),
}

Cell = tuple[str, int, int, tuple]  # (municipality, region, metro 0/1, single answers)


def publication_levels(counts: Iterable[tuple[Cell, int]], minimum: int
                       ) -> dict[tuple[str, tuple], int]:
    """Return {(municipality, single answers): level} for every cell with rows.

    counts: ((municipality, region, metro, single answers), rows) pairs; a cell may appear
    more than once (its rows add up). minimum: the smallest group that may be published.
    """
    cells: dict[Cell, int] = defaultdict(int)
    for cell, rows in counts:
        if rows:
            cells[cell] += rows
    by_region: dict[int, list[tuple[Cell, int]]] = defaultdict(list)
    for cell, rows in cells.items():
        by_region[cell[1]].append((cell, rows))
    levels: dict[tuple[str, tuple], int] = {}
    for region in sorted(by_region):
        levels.update(_region_levels(sorted(by_region[region]), minimum))
    return levels


def _region_levels(cells: list[tuple[Cell, int]], minimum: int) -> dict[tuple[str, tuple], int]:
    if sum(rows for _cell, rows in cells) < minimum:
        return {(cell[0], cell[3]): LEVEL_NOTHING for cell, _rows in cells}
    municipality_rows: dict[str, int] = defaultdict(int)
    for cell, rows in cells:
        municipality_rows[cell[0]] += rows
    # Published groups: (level, group key) -> [cells]; every group has >= minimum rows.
    groups: dict[tuple[int, tuple], list[tuple[Cell, int]]] = {}
    rest = []
    for cell, rows in cells:
        if municipality_rows[cell[0]] >= minimum and rows >= minimum:
            groups[(LEVEL_FULL, (cell[0], cell[3]))] = [(cell, rows)]
        else:
            rest.append((cell, rows))
    for level, key_of in ((LEVEL_NO_MUNICIPALITY, lambda cell: (cell[2], cell[3])),
                          (LEVEL_PLACE_ONLY, lambda cell: (cell[2],))):
        grouped: dict[tuple, list[tuple[Cell, int]]] = defaultdict(list)
        for item in rest:
            grouped[key_of(item[0])].append(item)
        rest = []
        for key in sorted(grouped):
            members = grouped[key]
            if sum(rows for _cell, rows in members) >= minimum:
                groups[(level, key)] = members
            else:
                rest.extend(members)
    left = sum(rows for _cell, rows in rest)
    if 0 < left < minimum:
        # Coarsest groups first, then the smallest, then by key: deterministic.
        order = sorted(groups, key=lambda group: (-group[0], sum(rows for _c, rows in
                                                                   groups[group]), group))
        for group in order:
            if left >= minimum:
                break
            members = groups.pop(group)
            rest.extend(members)
            left += sum(rows for _cell, rows in members)
    levels = {(cell[0], cell[3]): level for (level, _key), members in groups.items()
              for cell, _rows in members}
    levels.update({(cell[0], cell[3]): LEVEL_REGION_ONLY for cell, _rows in rest})
    return levels
