"""The traffic light of an action plan: one rule, computed from dates, never typed.

Pure functions over dates (no database, no Flask), so a citizen can check a light by hand
(DESIGN.md, "The traffic light"). As of a day D:
- a milestone is `complete` if its completed_on <= D, else `not_started` if D is before its
  start, `overdue` if D is after its end, otherwise `in_progress`;
- a commitment is `complete` if all its milestones are complete; otherwise `not_started` if D
  is before its start; otherwise `red` if a milestone ended more than grace_days before D and
  is not complete; otherwise `amber` if a milestone is overdue; otherwise `green`;
- progress is the complete milestones' share of the weight, expected the share of the weight
  whose end <= D; both fractions of 1 rounded to 4 decimals.
Lights go on being computed after the plan's end: oversight does not stop.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from app.util import local_today

MILESTONE_STATUSES = ("complete", "not_started", "in_progress", "overdue")
LIGHTS = ("complete", "green", "amber", "red", "not_started")
DECIMALS = 4


@dataclass(frozen=True)
class MilestoneDates:
    """What the rule needs of a milestone."""

    starts_on: date
    ends_on: date
    weight: float = 1.0
    completed_on: date | None = None


def _as_of(as_of: date | None) -> date:
    return local_today() if as_of is None else as_of


def is_complete(milestone: MilestoneDates, as_of: date | None = None) -> bool:
    """Return whether the milestone was complete on the day (completed_on <= D)."""
    day = _as_of(as_of)
    return milestone.completed_on is not None and milestone.completed_on <= day


def milestone_status(milestone: MilestoneDates, as_of: date | None = None) -> str:
    """Return complete, not_started, overdue or in_progress as of the day."""
    day = _as_of(as_of)
    if is_complete(milestone, day):
        return "complete"
    if day < milestone.starts_on:
        return "not_started"
    if day > milestone.ends_on:
        return "overdue"
    return "in_progress"


def days_overdue(milestone: MilestoneDates, as_of: date | None = None) -> int:
    """Return how many days past its end an incomplete milestone is (0 if not overdue)."""
    day = _as_of(as_of)
    if is_complete(milestone, day) or day <= milestone.ends_on:
        return 0
    return (day - milestone.ends_on).days


def commitment_light(
    starts_on: date,
    milestones: Sequence[MilestoneDates],
    grace_days: int,
    as_of: date | None = None,
) -> str:
    """Return the commitment's light: complete, not_started, red, amber or green."""
    day = _as_of(as_of)
    if all(is_complete(m, day) for m in milestones):
        return "complete"
    if day < starts_on:
        return "not_started"
    if any(days_overdue(m, day) > grace_days for m in milestones):
        return "red"
    if any(milestone_status(m, day) == "overdue" for m in milestones):
        return "amber"
    return "green"


def _share(part: float, total: float) -> float:
    return round(part / total, DECIMALS) if total > 0 else 0.0


def progress(milestones: Iterable[MilestoneDates], as_of: date | None = None) -> float:
    """Return the complete milestones' share of the weight (fraction of 1, 4 decimals)."""
    day = _as_of(as_of)
    milestones = list(milestones)
    total = sum(m.weight for m in milestones)
    return _share(sum(m.weight for m in milestones if is_complete(m, day)), total)


def expected(milestones: Iterable[MilestoneDates], as_of: date | None = None) -> float:
    """Return the share of the weight whose end is on or before the day (4 decimals)."""
    day = _as_of(as_of)
    milestones = list(milestones)
    total = sum(m.weight for m in milestones)
    return _share(sum(m.weight for m in milestones if m.ends_on <= day), total)


def summary(lights: Iterable[str]) -> dict[str, int]:
    """Count lights: {complete, green, amber, red, not_started}, every key present."""
    counts = dict.fromkeys(LIGHTS, 0)
    for light in lights:
        counts[light] += 1
    return counts


def next_due(milestones: Sequence[MilestoneDates], as_of: date | None = None) -> int | None:
    """Return the index of the incomplete milestone due soonest (overdue ones first), or None."""
    day = _as_of(as_of)
    pending = [(m.ends_on, i) for i, m in enumerate(milestones) if not is_complete(m, day)]
    return min(pending)[1] if pending else None
