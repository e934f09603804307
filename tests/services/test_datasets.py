"""The SQL count tables, checked against a handful of hand-made responses."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.services import datasets
from app.services.datasets import FilterError, Filters, parse_filters
from app.services.responses import new_response
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


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters(region=12), {("security", 1): 2, ("security", 2): 1, ("health", 1): 1,
                              ("health", 2): 1, ("education", 3): 1}),
        (Filters(metro=False), {("security", 1): 1, ("health", 2): 1, ("education", 3): 1,
                                ("corruption", 1): 1}),
        (Filters(channel="paper", region=3), {("security", 1): 1, ("health", 2): 1,
                                              ("education", 3): 1, ("corruption", 1): 1}),
        (Filters(options={"sector": "private"}), {("security", 1): 1, ("security", 2): 1,
                                                  ("health", 1): 1, ("health", 2): 1,
                                                  ("education", 3): 1, ("corruption", 1): 1}),
        (Filters(region=1), {}),
    ],
)
def test_theme_tables_with_filters(consultation, filters, expected):
    table = counts(datasets.theme_position_counts(consultation, filters), "theme", "position")
    assert table == expected
    regions = datasets.region_theme_counts(consultation, filters)
    assert regions["count"].sum() == sum(expected.values())
    patterns = datasets.pattern_counts(consultation, filters)
    assert patterns["count"].sum() == datasets.respondent_count(consultation, filters)


def test_closed_results_are_cached_until_a_response_changes(consultation):
    before = counts(datasets.theme_position_counts(consultation), "theme", "position")
    assert datasets.theme_position_counts(consultation).equals(
        datasets.theme_position_counts(consultation))
    accepted = db.session.scalars(db.select(datasets.Response).where(
        datasets.Response.state == "accepted").order_by(datasets.Response.id)).first()
    accepted.state = "voided"  # the first response: security, health, education
    db.session.commit()
    after = counts(datasets.theme_position_counts(consultation), "theme", "position")
    assert after[("security", 1)] == before[("security", 1)] - 1
    assert after[("education", 3)] == before[("education", 3)] - 1
    db.session.add(new_response(consultation, channel="paper", source="import",
                                municipality_code="14001", theme_codes=["water"],
                                answers={"sector": "other"}, form_serial="X-1"))
    db.session.commit()
    table = counts(datasets.theme_position_counts(consultation), "theme", "position")
    assert table[("water", 1)] == 1
    assert datasets.pattern_counts(consultation)["count"].sum() == 5


def test_every_option_of_a_question_from_one_scan(consultation):
    """Sibling options are cached by the first scan; each must still be exactly right."""
    expected = {"private": 3, "public": 1, "academia": 1, "civil_society": 0, "other": 0}
    for option, respondents in expected.items():
        filters = Filters(options={"sector": option})
        assert datasets.pattern_counts(consultation, filters)["count"].sum() == respondents
        assert datasets.respondent_count(consultation, filters) == respondents
        channels = datasets.municipality_channel_counts(consultation, filters)
        assert channels["respondents"].sum() == respondents
    online_private = Filters(channel="online", options={"sector": "private"})
    assert counts(datasets.theme_position_counts(consultation, online_private),
                  "theme", "position") == {("security", 1): 1, ("health", 2): 1,
                                           ("education", 3): 1, ("health", 1): 1,
                                           ("security", 2): 1}


def test_option_counts_leave_out_voided_responses_answers(consultation):
    """Unfiltered counts are read from the answers alone, less the voided responses' answers."""
    before = counts(datasets.option_counts(consultation), "question", "option")
    voided = new_response(consultation, channel="paper", source="entry",
                          municipality_code="14039", theme_codes=["water"],
                          answers={"sector": "academia", "heard_via": ["school", "radio_tv"]})
    voided.state = "voided"
    db.session.add(voided)
    db.session.commit()
    after = counts(datasets.option_counts(consultation), "question", "option")
    assert after == before
    # The same as the per-channel counts, which join each answer to its response.
    by_channel: dict = {}
    for channel in ("online", "paper"):
        frame = datasets.option_counts(consultation, Filters(channel=channel))
        for key, count in counts(frame, "question", "option").items():
            by_channel[key] = by_channel.get(key, 0) + count
    assert after == by_channel


@pytest.mark.parametrize("filters", [
    Filters(), Filters(channel="paper"), Filters(region=12), Filters(region=1),
    Filters(metro=False), Filters(municipality="14039"),
    Filters(channel="online", metro=True), Filters(options={"heard_via": "school"}),
])
def test_option_groups_are_each_option_added_to_the_filters(consultation, filters):
    """The comparison's split (one scan grouped by option) gives, for every option, exactly
    what the filtered tables give with the option added, none chosen included."""
    question = consultation.question_by_code()["sector"]
    groups = datasets.option_groups(consultation, filters, question)
    assert list(groups) == [option.code for option in question.options]
    for code, (positions, respondents) in groups.items():
        with_option = Filters(channel=filters.channel, region=filters.region,
                              municipality=filters.municipality, metro=filters.metro,
                              options={**filters.options, "sector": code})
        expected = datasets.theme_position_counts(consultation, with_option)
        assert counts(positions, "theme", "position") == counts(expected, "theme", "position")
        assert list(positions.columns) == ["theme", "position", "count"]
        assert respondents == datasets.respondent_count(consultation, with_option)
    if filters == Filters():
        assert {code: n for code, (_, n) in groups.items()} == {
            "private": 3, "public": 1, "academia": 1, "civil_society": 0, "other": 0}


def test_option_groups_leave_out_voided_responses_and_count_those_without_themes(
        consultation):
    question = consultation.question_by_code()["sector"]
    db.session.add(new_response(consultation, channel="paper", source="import",
                                municipality_code="14001", theme_codes=[],
                                answers={"sector": "other"}, form_serial="NO-THEMES"))
    voided = new_response(consultation, channel="paper", source="import",
                          municipality_code="14001", theme_codes=["water"],
                          answers={"sector": "other"}, form_serial="VOIDED")
    voided.state = "voided"
    db.session.add(voided)
    db.session.commit()
    positions, respondents = datasets.option_groups(consultation, Filters(), question)["other"]
    assert respondents == 1
    assert positions.empty
