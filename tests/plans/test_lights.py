"""The traffic light on boundary dates: pure functions, no database."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.services.lights import (
    MilestoneDates,
    commitment_light,
    expected,
    milestone_status,
    next_due,
    progress,
    summary,
)

START = date(2017, 1, 1)
M1 = MilestoneDates(date(2017, 1, 1), date(2017, 3, 31))
M2 = MilestoneDates(date(2017, 4, 1), date(2017, 6, 30))


def light(milestones, day, grace=30, start=START):
    return commitment_light(start, milestones, grace, day)


@pytest.mark.parametrize(("day", "status"), [
    (date(2016, 12, 31), "not_started"),   # before the start
    (date(2017, 1, 1), "in_progress"),     # on the start
    (date(2017, 3, 31), "in_progress"),    # ending on D is not overdue
    (date(2017, 4, 1), "overdue"),         # the day after the end
])
def test_milestone_status_on_boundaries(day, status):
    assert milestone_status(M1, day) == status


def test_a_milestone_completed_on_d_is_complete_that_day_and_not_the_day_before():
    done = MilestoneDates(M1.starts_on, M1.ends_on, completed_on=date(2017, 5, 10))
    assert milestone_status(done, date(2017, 5, 10)) == "complete"
    assert milestone_status(done, date(2017, 5, 9)) == "overdue"


def test_grace_period_last_day_is_amber_and_the_day_after_is_red():
    last_grace_day = M1.ends_on + timedelta(days=30)
    assert light([M1, M2], M1.ends_on) == "green"
    assert light([M1, M2], M1.ends_on + timedelta(days=1)) == "amber"
    assert light([M1, M2], last_grace_day) == "amber"
    assert light([M1, M2], last_grace_day + timedelta(days=1)) == "red"


def test_grace_days_zero_turns_red_the_day_after_the_end():
    assert light([M1], M1.ends_on + timedelta(days=1), grace=0) == "red"


def test_before_the_commitment_starts_it_is_not_started():
    assert light([M1, M2], date(2016, 12, 31)) == "not_started"


def test_complete_when_every_milestone_is_complete_even_before_the_start():
    done = [MilestoneDates(m.starts_on, m.ends_on, completed_on=date(2016, 12, 1))
            for m in (M1, M2)]
    assert light(done, date(2016, 12, 15)) == "complete"


def test_lights_go_on_after_the_plan_ends():
    years_later = date(2021, 1, 1)
    assert light([M1, M2], years_later) == "red"
    late = MilestoneDates(M1.starts_on, M1.ends_on, completed_on=date(2020, 6, 1))
    late2 = MilestoneDates(M2.starts_on, M2.ends_on, completed_on=date(2020, 7, 1))
    assert light([late, late2], years_later) == "complete"
    # The board as it stood before the late completion.
    assert light([late, late2], date(2020, 6, 15)) == "red"


def test_a_completed_overdue_milestone_does_not_make_it_red():
    done = MilestoneDates(M1.starts_on, M1.ends_on, completed_on=date(2017, 5, 20))
    assert light([done, M2], date(2017, 6, 1)) == "green"


def test_progress_and_expected_are_weighted_and_rounded_to_four_decimals():
    ms = [
        MilestoneDates(date(2017, 1, 1), date(2017, 1, 31), 1, date(2017, 1, 20)),
        MilestoneDates(date(2017, 1, 1), date(2017, 2, 28), 1),
        MilestoneDates(date(2017, 1, 1), date(2017, 3, 31), 1),
    ]
    day = date(2017, 2, 28)
    assert progress(ms, day) == 0.3333
    assert expected(ms, day) == 0.6667
    weighted = [ms[0], MilestoneDates(date(2017, 1, 1), date(2017, 12, 31), 2)]
    assert progress(weighted, day) == 0.3333
    assert expected(weighted, date(2017, 12, 31)) == 1.0
    assert expected(weighted, date(2017, 12, 30)) == 0.3333


def test_progress_ignores_a_completion_after_the_day():
    ms = [MilestoneDates(date(2017, 1, 1), date(2017, 1, 31), 1, date(2017, 3, 1))]
    assert progress(ms, date(2017, 2, 1)) == 0.0
    assert progress(ms, date(2017, 3, 1)) == 1.0


def test_summary_has_every_light():
    assert summary(["red", "green", "red"]) == {
        "complete": 0, "green": 1, "amber": 0, "red": 2, "not_started": 0}


def test_next_due_is_the_incomplete_milestone_ending_first():
    done = MilestoneDates(M1.starts_on, M1.ends_on, completed_on=date(2017, 2, 1))
    assert next_due([done, M2], date(2017, 2, 2)) == 1
    assert next_due([M2, M1], date(2017, 2, 2)) == 1
    assert next_due([done], date(2017, 2, 2)) is None
