"""The SQL count tables, checked against a handful of hand-made responses."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from app.services import datasets
from app.services.datasets import FilterError, Filters, parse_filters
from tests.api.conftest import make_closed


@pytest.fixture
def consultation(make_consultation):
    return make_closed(make_consultation)


def counts(frame, *keys):
    return {tuple(row[k] for k in keys): row["count"] for _, row in frame.iterrows()}


def test_respondents_with_each_filter(consultation):
    assert datasets.respondent_count(consultation) == 5  # the voided one does not count
    assert datasets.respondent_count(consultation, Filters(channel="paper")) == 3
    assert datasets.respondent_count(consultation, Filters(region=12)) == 3
    assert datasets.respondent_count(consultation, Filters(region=3)) == 2
    assert datasets.respondent_count(consultation, Filters(metro=False)) == 2
    assert datasets.respondent_count(consultation, Filters(municipality="14120")) == 1
    assert datasets.respondent_count(consultation, Filters(options={"sector": "private"})) == 3
    assert datasets.respondent_count(
        consultation, Filters(channel="online", options={"sector": "private"})) == 2
    assert datasets.respondent_count(consultation, Filters(region=1)) == 0


def test_theme_position_counts(consultation):
    table = counts(datasets.theme_position_counts(consultation), "theme", "position")
    assert table == {("security", 1): 3, ("security", 2): 1, ("health", 1): 1,
                     ("health", 2): 2, ("education", 3): 2, ("corruption", 1): 1}


def test_region_theme_counts(consultation):
    table = counts(datasets.region_theme_counts(consultation), "region", "theme")
    assert table[(12, "security")] == 3
    assert table[(3, "security")] == 1
    assert table[(3, "corruption")] == 1
    assert sum(table.values()) == 10


def test_pattern_counts(consultation):
    frame = datasets.pattern_counts(consultation)
    assert frame["count"].sum() == 5
    patterns = counts(frame, "region", "theme_1", "theme_2", "theme_3")
    assert patterns[(12, "security", "health", "education")] == 1
    assert patterns[(3, "security", "health", "education")] == 1
    assert len(patterns) == 5


def test_cooccurrence_counts(consultation):
    table = {frozenset((r.theme_a, r.theme_b)): r.count
             for r in datasets.cooccurrence_counts(consultation).itertuples()}
    assert table == {frozenset({"security", "health"}): 3,
                     frozenset({"security", "education"}): 2,
                     frozenset({"health", "education"}): 2}


def test_municipality_and_option_counts(consultation):
    muni = datasets.municipality_channel_counts(consultation)
    assert muni["respondents"].sum() == 5
    options = counts(datasets.option_counts(consultation), "question", "option")
    assert options[("sector", "private")] == 3
    assert options[("heard_via", "school")] == 5


def test_geography_table(app):
    table = datasets.geography_table()
    assert len(table) == 125
    assert table["population"].sum() == 8_348_151


@pytest.mark.parametrize(
    ("args", "parameter"),
    [
        ({"channel": "fax"}, "channel"),
        ({"region": "13"}, "region"),
        ({"region": "x"}, "region"),
        ({"municipality": "99999"}, "municipality"),
        ({"metro": "yes"}, "metro"),
        ({"sector": "astronaut"}, "sector"),
        ({"problem": "x"}, "problem"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_filters_name_the_parameter(consultation, args, parameter):
    with pytest.raises(FilterError) as caught:
        parse_filters(consultation, MultiDict(args))
    assert caught.value.parameter == parameter


def test_parse_filters(consultation):
    filters = parse_filters(consultation, MultiDict(
        {"channel": "online", "region": "12", "metro": "1", "sector": "private", "weight": "none"}
    ), ignore=("weight",))
    assert filters == Filters(channel="online", region=12, metro=True,
                              options={"sector": "private"})
    assert filters.as_dict() == {"channel": "online", "region": 12, "metro": 1,
                                 "sector": "private"}
