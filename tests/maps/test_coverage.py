"""The coverage service: the participation table, one SQL aggregate, targets and their input."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import event, func, select

from app.extensions import db
from app.models import AuditEvent, ParticipationTarget
from app.services import coverage
from app.services.coverage import InvalidTarget, MapQuery
from app.services.datasets import FilterError, Filters, municipality_theme_counts
from tests.maps.helpers import add_responses

GUADALAJARA, ZAPOPAN, ACATIC = "14039", "14120", "14001"


@pytest.fixture
def consultation(make_consultation):
    consultation = make_consultation("open")
    add_responses(consultation, GUADALAJARA, 6, themes=["security", "health"])
    add_responses(consultation, GUADALAJARA, 2, channel="paper", themes=["health"])
    add_responses(consultation, ACATIC, 3, themes=["security"], sector="public")
    return consultation


def row(table, place):
    return table[table["place"] == place].iloc[0]


def test_participation_table_by_municipality(consultation, make_user):
    table = coverage.participation_table(consultation, MapQuery(filters=Filters()))
    assert len(table) == 125
    gdl = row(table, GUADALAJARA)
    assert (gdl["respondents"], gdl["online"], gdl["paper"]) == (8, 6, 2)
    assert gdl["per_10k"] == pytest.approx(8 / 1385629 * 10_000)
    assert math.isnan(gdl["target"])
    assert row(table, ZAPOPAN)["respondents"] == 0
    assert row(table, ACATIC)["region_name"] == "Altos Sur"
    paper = coverage.participation_table(consultation, MapQuery(filters=Filters(channel="paper")))
    assert row(paper, GUADALAJARA)["respondents"] == 2
    assert row(paper, ACATIC)["respondents"] == 0


def test_theme_share_by_municipality_and_region(consultation):
    query = MapQuery(filters=Filters(), theme="security")
    table = coverage.participation_table(consultation, query)
    assert row(table, GUADALAJARA)["theme_count"] == 6
    assert row(table, GUADALAJARA)["value"] == pytest.approx(6 / 8)
    assert row(table, ACATIC)["value"] == pytest.approx(1.0)
    regions = coverage.participation_table(
        consultation, MapQuery(filters=Filters(), theme="security", level="region"))
    assert len(regions) == 12
    centro = row(regions, "12")
    assert (centro["respondents"], centro["theme_count"]) == (8, 6)
    frame = coverage.map_frame(regions, MapQuery(filters=Filters(), level="region"))
    assert len(frame) == 125
    assert frame.loc[frame["municipality"] == ZAPOPAN, "value"].iloc[0] == pytest.approx(0.75)
    counts = municipality_theme_counts(consultation, Filters(options={"sector": "public"}))
    assert counts.to_dict("records") == [{"municipality": ACATIC, "theme": "security",
                                          "count": 3}]
    every = municipality_theme_counts(consultation)
    assert set(zip(every["municipality"], every["theme"], every["count"], strict=True)) == {
        (GUADALAJARA, "security", 6), (GUADALAJARA, "health", 8), (ACATIC, "security", 3)}
    health = municipality_theme_counts(consultation, theme="health")
    assert health.to_dict("records") == [{"municipality": GUADALAJARA, "theme": "health",
                                          "count": 8}]


def test_summary_names_the_silent_regions(consultation):
    table = coverage.participation_table(consultation, MapQuery(filters=Filters()))
    summary = coverage.coverage_summary(table)
    assert (summary["answered"], summary["total"]) == (2, 125)
    assert "Norte" in summary["silent_regions"]
    assert "Centro" not in summary["silent_regions"]
    text = coverage.summary_text(summary)
    # Messages outside a request are in the default language, Spanish.
    assert text.startswith("2 de 125 municipios han respondido; ninguna aún en las regiones Norte")


def test_suppressed_places(consultation):
    table = coverage.participation_table(consultation, MapQuery(filters=Filters()))
    assert coverage.suppressed_places(table, 5) == {ACATIC}
    themed = coverage.participation_table(consultation,
                                          MapQuery(filters=Filters(), theme="health"))
    # Guadalajara has 8 respondents but only... 8 chose health: shown; Acatic hidden.
    assert coverage.suppressed_places(themed, 5, theme=True) == {ACATIC}
    assert coverage.suppressed_places(themed, 9, theme=True) == {ACATIC, GUADALAJARA}


@pytest.mark.parametrize(("args", "parameter"), [
    ({"metric": "votes"}, "metric"),
    ({"level": "state"}, "level"),
    ({"theme": "weather"}, "theme"),
    ({"channel": "fax"}, "channel"),
    ({"sector": "martian"}, "sector"),
    ({"colour": "red"}, "colour"),
])
def test_bad_map_parameters_are_named(consultation, args, parameter):
    with pytest.raises(FilterError) as error:
        coverage.parse_map_query(consultation, args)
    assert error.value.parameter == parameter


def count_statements(function):
    statements = []

    def listen(conn, cursor, statement, *args):  # noqa: ARG001
        if not statement.startswith("BEGIN"):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        function()
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    return statements


def test_the_table_costs_the_same_queries_for_10_or_300_responses(make_consultation):
    small, large = make_consultation("open"), make_consultation("open")
    add_responses(small, GUADALAJARA, 10)
    for code in (GUADALAJARA, ZAPOPAN, ACATIC):
        add_responses(large, code, 100, themes=["security", "health"])
    query = dict(filters=Filters(), theme="security")
    assert all((small.id, large.id))  # load the consultations: only counts are measured
    few = count_statements(lambda: coverage.participation_table(small, MapQuery(**query)))
    many = count_statements(lambda: coverage.participation_table(large, MapQuery(**query)))
    # Geography, the count tables' freshness check (index-only look-ups), the counts, the
    # consultation's themes and the targets: the same statements whatever the responses.
    assert len(few) == len(many)
    # Each count is one GROUP BY, not one row per response.
    assert all("GROUP BY" in s or "FROM municipality" in s or "participation_target" in s
               or "FROM theme" in s or "LIMIT" in s or "max(response.id)" in s for s in many)


def test_targets_typed_and_from_population(consultation, make_user):
    supervisor = make_user("supervisor", all_municipalities=True)
    coverage.set_target(consultation, "m" + GUADALAJARA, "100", supervisor)
    coverage.set_target(consultation, "r3", "40", supervisor)
    coverage.set_target(consultation, "m" + GUADALAJARA, "16", supervisor)  # replaces
    table = coverage.participation_table(consultation, MapQuery(filters=Filters(),
                                                                metric="target_share"))
    assert row(table, GUADALAJARA)["target"] == 16
    assert row(table, GUADALAJARA)["value"] == pytest.approx(0.5)
    regions = coverage.participation_table(consultation, MapQuery(filters=Filters(),
                                                                  level="region"))
    assert row(regions, "3")["target"] == 40
    assert row(regions, "12")["target"] == 16  # no region target: its municipalities' sum
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions.count("target.set") == 3
    last = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "target.set")
                              .order_by(AuditEvent.id.desc())).first()
    assert last.details == {"place": "m14039", "before": 100, "after": 16}

    assert coverage.targets_from_population(consultation, "2", "municipality", supervisor) == 125
    table = coverage.participation_table(consultation, MapQuery(filters=Filters()))
    assert row(table, GUADALAJARA)["target"] == math.ceil(1385629 * 2 / 10_000)
    assert db.session.scalar(select(func.count()).select_from(ParticipationTarget)) == 126
    assert coverage.targets_from_population(consultation, "1,5", "region", supervisor) == 12
    coverage.remove_target(consultation, "r3", supervisor)
    assert db.session.scalar(select(func.count()).select_from(ParticipationTarget)) == 136


def test_coverage_rows_put_silent_municipalities_first_then_furthest_from_target(
        consultation, make_user):
    supervisor = make_user("supervisor", all_municipalities=True)
    coverage.set_target(consultation, "m" + GUADALAJARA, "80", supervisor)
    coverage.set_target(consultation, "m" + ACATIC, "4", supervisor)
    rows = coverage.coverage_rows(consultation)
    silent = rows[rows["silent"]]
    assert len(silent) == 123
    assert list(rows["place"][123:]) == [GUADALAJARA, ACATIC]  # 10 % before 75 %
    assert rows.iloc[0]["place"] == ZAPOPAN or rows.iloc[0]["population"] >= 1_000_000
    assert rows[rows["place"] == GUADALAJARA]["missing"].iloc[0] == 72


@pytest.mark.parametrize(("place", "value", "field", "message"), [
    ("m14039", "-3", "respondents", "no puede ser negativa"),
    ("m14039", "abc", "respondents", "número entero"),
    ("m14039", "1.5", "respondents", "número entero"),
    ("m14039", "", "respondents", "Escriba una meta"),
    ("m14039", "99999999", "respondents", "población de Jalisco"),
    ("m99999", "10", "place", "no es una región ni un municipio"),
    ("r13", "10", "place", "no es una región ni un municipio"),
    ("14039", "10", "place", "no es una región ni un municipio"),
])
def test_bad_targets_store_nothing(consultation, make_user, place, value, field, message):
    supervisor = make_user("supervisor", all_municipalities=True)
    with pytest.raises(InvalidTarget) as error:
        coverage.set_target(consultation, place, value, supervisor)
    assert error.value.field == field
    assert message in error.value.message
    assert db.session.scalar(select(func.count()).select_from(ParticipationTarget)) == 0
    assert not db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.like("target.%"))).all()


@pytest.mark.parametrize(("rate", "level", "field"), [
    ("0", "municipality", "rate"), ("-1", "municipality", "rate"),
    ("abc", "municipality", "rate"), ("", "region", "rate"), ("NaN", "region", "rate"),
    ("20000", "region", "rate"), ("2", "state", "level"),
])
def test_bad_population_rates_store_nothing(consultation, make_user, rate, level, field):
    supervisor = make_user("supervisor", all_municipalities=True)
    with pytest.raises(InvalidTarget) as error:
        coverage.targets_from_population(consultation, rate, level, supervisor)
    assert error.value.field == field
    assert db.session.scalar(select(func.count()).select_from(ParticipationTarget)) == 0


def test_coverage_rows_show_paper_forms_issued_and_keyed(consultation, make_user):
    from app.models import PaperBatch, PaperKeying

    clerk, other = make_user("staff"), make_user("staff")
    db.session.add_all([
        PaperBatch(consultation_id=consultation.id, municipality_code=ZAPOPAN,
                   first_sequence=1, last_sequence=50, count=50),
        PaperBatch(consultation_id=consultation.id, municipality_code=ZAPOPAN,
                   first_sequence=51, last_sequence=60, count=10),
        # Serial 1 keyed twice (two passes) counts once; serial 2 once.
        PaperKeying(consultation_id=consultation.id, serial="14120-000001",
                    municipality_code=ZAPOPAN, pass_number=1, keyed_by_id=clerk.id, answers={}),
        PaperKeying(consultation_id=consultation.id, serial="14120-000001",
                    municipality_code=ZAPOPAN, pass_number=2, keyed_by_id=other.id, answers={}),
        PaperKeying(consultation_id=consultation.id, serial="14120-000002",
                    municipality_code=ZAPOPAN, pass_number=1, keyed_by_id=clerk.id, answers={}),
    ])
    db.session.commit()
    rows = coverage.coverage_rows(consultation).set_index("place")
    assert (rows.loc[ZAPOPAN, "issued"], rows.loc[ZAPOPAN, "keyed"]) == (60, 2)
    assert (rows.loc[GUADALAJARA, "issued"], rows.loc[GUADALAJARA, "keyed"]) == (0, 0)
