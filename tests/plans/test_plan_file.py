"""Plan files: validation with every problem listed, load, export round trip, safe reloads."""

from __future__ import annotations

import copy
import json
from datetime import date

import pytest

from app.extensions import db
from app.models import Evidence, Milestone, MilestoneEvent, Plan
from app.services import plans
from app.services.plans import InvalidPlan, PlanChangeRefused, load_plan, parse_day
from tests.plans.conftest import SHARED_PLAN, small_plan


@pytest.fixture(autouse=True)
def english(app):
    """Check the messages in English (the Spanish catalog is checked by test_translations)."""
    from flask_babel import force_locale

    with force_locale("en"):
        yield


@pytest.mark.parametrize(("value", "end", "expected"), [
    ("2017-01", False, date(2017, 1, 1)),
    ("2017-02", True, date(2017, 2, 28)),
    ("2016-02", True, date(2016, 2, 29)),
    ("2017-12", True, date(2017, 12, 31)),
    ("2017-03-20", True, date(2017, 3, 20)),
    ("2017-13", False, None),
    ("2017-1-5", False, None),
    ("20170105", False, None),
    (2017, False, None),
])
def test_dates_are_days_or_months(value, end, expected):
    assert parse_day(value, end) == expected


def problems_of(data) -> list[str]:
    problems, _warnings = plans.validate_plan(data)
    return problems


def test_the_small_plan_is_valid(demo_consultation):
    assert plans.validate_plan(small_plan()) == ([], [])


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: d["commitments"].append(copy.deepcopy(d["commitments"][0])),
     "commitments[2].number: number 1 is used twice"),
    (lambda d: d["commitments"][0]["milestones"][1].update(number=1),
     "commitments[1].milestones[2].number: number 1 is used twice"),
    (lambda d: d["commitments"][0]["milestones"][0].update(ends_on="2016-12"),
     "commitments[1].milestones[1].ends_on: the end 2016-12-31 is before the start 2017-01-01"),
    (lambda d: d["commitments"][0].update(ends_on="2016-06-30"),
     "commitments[1].ends_on: the end 2016-06-30 is before the start 2017-01-01"),
    (lambda d: d.update(ends_on="2016-11"),
     "ends_on: the end 2016-11-30 is before the start 2017-01-01"),
    (lambda d: d["commitments"][0].update(themes=["security", "ufo"]),
     "commitments[1].themes: unknown theme \"ufo\""),
    (lambda d: d["commitments"][0]["actors"].append({"name": "X", "sector": "church"}),
     "commitments[1].actors[2].sector: unknown sector \"church\""),
    (lambda d: d["commitments"][0].update(ogp_values=["transparency"]),
     "commitments[1].ogp_values: unknown value \"transparency\""),
    (lambda d: d.update(consultations=["nope"]),
     "consultations[1]: no consultation with slug \"nope\""),
    (lambda d: d["commitments"][0]["milestones"][0].update(starts_on="enero"),
     "commitments[1].milestones[1].starts_on: \"enero\" is not a date"),
    (lambda d: d["commitments"][0]["milestones"][0].update(weight=0),
     "commitments[1].milestones[1].weight: must be more than 0"),
    (lambda d: d["commitments"][0]["milestones"][0].update(completed_on="2999-01-01"),
     "commitments[1].milestones[1].completed_on: 2999-01-01 is in the future"),
    (lambda d: d["commitments"][0].pop("lead_agency"),
     "commitments[1].lead_agency: is required"),
    (lambda d: d["commitments"][0].update(milestones=[]),
     "commitments[1].milestones: must list at least one milestone"),
    (lambda d: d["commitments"][0].update(title={"es": " "}),
     "commitments[1].title: needs a text in at least one language"),
    (lambda d: d.update(colour="red"), "colour: unknown field"),
    (lambda d: d.update(grace_days=-1), "grace_days: must be a whole number"),
])
def test_each_problem_is_named_with_its_path(demo_consultation, change, expected):
    data = small_plan()
    change(data)
    found = problems_of(data)
    assert any(p.startswith(expected) for p in found), found


def test_every_problem_is_listed_and_nothing_is_stored(demo_consultation):
    data = small_plan()
    data["commitments"][0]["themes"] = ["ufo"]
    data["commitments"][0]["actors"][0]["sector"] = "church"
    data["commitments"][0]["milestones"][1]["number"] = 1
    with pytest.raises(InvalidPlan) as error:
        load_plan(data)
    assert len(error.value.problems) == 3
    assert "3 problem(s)" in error.value.message
    assert db.session.scalar(db.select(db.func.count(Plan.id))) == 0


def test_a_milestone_outside_its_commitment_is_a_warning(demo_consultation):
    data = small_plan()
    data["commitments"][0]["milestones"][1]["ends_on"] = "2018-02"
    result = load_plan(data)
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("commitments[1].milestones[2]: ")
    assert "2018-02-28" in result.warnings[0]


def test_the_real_plan_loads_with_its_one_warning(plan_file):
    result = load_plan(plan_file)
    assert result.created
    assert [w.split(":")[0] for w in result.warnings] == ["commitments[6].milestones[5]"]
    plan = result.plan
    assert plan.starts_on == date(2017, 1, 1)
    assert plan.ends_on == date(2018, 12, 31)
    assert len(plan.commitments) == 7
    assert sum(len(c.milestones) for c in plan.commitments) == 25
    assert plan.commitments[0].milestones[0].ends_on == date(2017, 3, 31)


def test_the_shared_file_loads_as_it_is(demo_consultation):
    if not SHARED_PLAN.exists():
        # A clone without the steering repository beside it must pass (users never have it):
        # the project's own copy is tested above.
        pytest.skip(f"{SHARED_PLAN} is not there (the steering repository is not beside this "
                    "clone)")
    data = json.loads(SHARED_PLAN.read_text(encoding="utf-8"))
    plan = load_plan(data).plan
    exported = plans.export_plan(plan)
    assert not load_plan(json.loads(json.dumps(exported))).created
    assert plans.export_plan(plans.get_by_slug(data["slug"])) == exported
    assert [c["lead_agency"] for c in exported["commitments"]] == [
        c["lead_agency"] for c in data["commitments"]]
    assert [[m["description"] for m in c["milestones"]] for c in exported["commitments"]] == [
        [m["description"] for m in c["milestones"]] for c in data["commitments"]]


def test_export_loads_back_to_the_same_plan(plan_file):
    plan = load_plan(plan_file).plan
    first = plans.export_plan(plan)
    assert not load_plan(json.loads(json.dumps(first))).created
    assert plans.export_plan(plans.get_by_slug(plan.slug)) == first
    # The same plan as the file, with months written as days.
    assert first["starts_on"] == "2017-01-01"
    assert first["ends_on"] == "2018-12-31"
    original = json.loads(json.dumps(plan_file))
    for commitment, exported in zip(original["commitments"], first["commitments"],
                                    strict=True):
        assert exported["title"] == commitment["title"]
        assert exported["themes"] == commitment["themes"]
        assert exported["problem"] == commitment["problem"]
        assert [m["description"] for m in exported["milestones"]] == [
            m["description"] for m in commitment["milestones"]]
        assert [parse_day(m["ends_on"], end=True).isoformat()
                for m in commitment["milestones"]] == [m["ends_on"]
                                                       for m in exported["milestones"]]


def test_export_keeps_every_optional_field(demo_consultation):
    data = small_plan()
    data["commitments"][0].update(
        new=False, responsible={"name": "Ana", "title": "Directora", "email": "a@b.mx",
                                "phone": "+52 33 1234 5678"},
        ogp_relevance={"es": "Rinde cuentas"}, problem={"en": "Only English"})
    data["commitments"][0]["milestones"][0].update(
        verification={"es": "Acta"}, completed_on="2017-03-20", weight=1.5)
    plan = load_plan(data).plan
    exported = plans.export_plan(plan)
    again = load_plan(exported).plan
    assert plans.export_plan(again) == exported
    commitment = exported["commitments"][0]
    assert commitment["responsible"]["phone"] == "+52 33 1234 5678"
    assert commitment["indicator"] == data["commitments"][0]["indicator"]
    assert commitment["milestones"][0]["completed_on"] == "2017-03-20"
    assert commitment["milestones"][0]["weight"] == 1.5
    assert commitment["new"] is False


def test_completed_on_loads_as_history(demo_consultation):
    data = small_plan()
    data["commitments"][0]["milestones"][0]["completed_on"] = "2017-03-20"
    plan = load_plan(data).plan
    milestone = plan.commitments[0].milestones[0]
    assert milestone.completed_on == date(2017, 3, 20)
    assert [(e.kind, e.completed_on) for e in milestone.events] == [("loaded", date(2017, 3, 20))]
    load_plan(data)  # the same file again adds nothing
    assert db.session.scalar(db.select(db.func.count(MilestoneEvent.id))) == 1


def _evidence_on(milestone: Milestone) -> Evidence:
    evidence = Evidence(commitment_id=milestone.commitment_id, milestone_id=milestone.id,
                        kind="link", url="https://example.org/acta.pdf",
                        description="Acta", done_on=date(2017, 3, 1), state="accepted")
    db.session.add(evidence)
    db.session.flush()
    db.session.add(MilestoneEvent(milestone_id=milestone.id, kind="completed",
                                  evidence_id=evidence.id, completed_on=date(2017, 3, 1)))
    milestone.completed_on = date(2017, 3, 1)
    db.session.commit()
    return evidence


def test_reload_never_drops_a_milestone_or_commitment_with_evidence(demo_consultation):
    data = small_plan()
    plan = load_plan(data).plan
    _evidence_on(plan.commitments[0].milestones[1])

    without_milestone = small_plan()
    without_milestone["commitments"][0]["milestones"].pop()
    with pytest.raises(PlanChangeRefused) as error:
        load_plan(without_milestone)
    assert error.value.problems == [
        "commitment 1, milestone 2 has evidence or history and cannot be removed"]

    other = copy.deepcopy(data["commitments"][0])
    other["number"] = 2
    without_commitment = small_plan(commitments=[other])
    with pytest.raises(PlanChangeRefused) as error:
        load_plan(without_commitment)
    assert error.value.problems == [
        "commitment 1 has evidence or history and cannot be removed"]
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(Milestone.id))) == 2
    assert db.session.scalar(db.select(db.func.count(Evidence.id))) == 1


def test_reload_keeps_a_completion_from_evidence(demo_consultation):
    plan = load_plan(small_plan()).plan
    milestone = plan.commitments[0].milestones[0]
    _evidence_on(milestone)
    data = small_plan()
    data["commitments"][0]["title"] = {"es": "Nuevo título"}
    load_plan(data)  # no completed_on in the file: the evidence's date stays
    db.session.expire_all()
    milestone = db.session.get(Milestone, milestone.id)
    assert milestone.completed_on == date(2017, 3, 1)
    assert milestone.commitment.title == {"es": "Nuevo título"}
    data["commitments"][0]["milestones"][0]["completed_on"] = "2017-02-01"
    with pytest.raises(PlanChangeRefused, match="cannot be updated"):
        load_plan(data)


def test_reload_may_drop_a_milestone_without_evidence(demo_consultation):
    data = small_plan()
    data["commitments"][0]["milestones"][0]["completed_on"] = "2017-03-20"
    load_plan(data)
    data["commitments"][0]["milestones"].pop(0)
    plan = load_plan(data).plan
    assert [m.number for m in plan.commitments[0].milestones] == [2]


def test_a_completion_removed_from_the_file_is_reopened_in_history(demo_consultation):
    data = small_plan()
    data["commitments"][0]["milestones"][0]["completed_on"] = "2017-03-20"
    load_plan(data)
    del data["commitments"][0]["milestones"][0]["completed_on"]
    plan = load_plan(data).plan
    milestone = plan.commitments[0].milestones[0]
    assert milestone.completed_on is None
    assert [e.kind for e in milestone.events] == ["loaded", "reopened"]


def test_origin_is_frozen_from_the_ranking(make_consultation):
    from app.services.demo import load_demo  # noqa: F401 - the demo's synthetic responses

    consultation = make_consultation("closed", slug="consulta-ampliada-2016")
    from app.services.demo import _add_responses

    _add_responses(consultation, 60, 7, date(2016, 10, 17), 5)
    plan = load_plan(small_plan()).plan
    origin = plan.commitments[0].origins
    from app.services.results import ranking

    expected = {t["code"]: t for t in ranking(consultation)["themes"]}["security"]
    assert [(o.theme.code, o.rank, o.vote_share) for o in origin] == [
        ("security", expected["rank"], round(expected["vote_share"], 4))]


def test_implementers_are_scoped_to_their_agencies(demo_consultation, make_user):
    from app.models import UserAgency

    plan = load_plan(small_plan()).plan
    commitment = plan.commitments[0]
    liaison = make_user("implementer")
    assert not plans.may_report_for(liaison, commitment)
    db.session.add(UserAgency(user_id=liaison.id, lead_agency="Secretaría de Prueba"))
    db.session.commit()
    assert plans.lead_agencies_of(liaison) == {"Agencia de prueba", "Secretaría de Prueba"}
    assert plans.may_report_for(liaison, commitment)
    assert plans.may_report_for(make_user("coordinator"), commitment)
    assert plans.may_report_for(make_user("admin"), commitment)
    assert not plans.may_report_for(make_user("monitor"), commitment)


def test_loads_and_approval_are_audited(demo_consultation):
    from app.models import AuditEvent

    plan = load_plan(small_plan()).plan
    load_plan(small_plan())
    plans.approve_plan(plan)
    actions = list(db.session.scalars(
        db.select(AuditEvent.action).where(AuditEvent.object_id == "plan-prueba")
        .order_by(AuditEvent.id)))
    assert actions == ["plan.created", "plan.loaded", "plan.approved"]


def test_a_reopened_milestone_is_not_completed_again_by_an_old_file(demo_consultation):
    plan = load_plan(small_plan()).plan
    milestone = plan.commitments[0].milestones[0]
    _evidence_on(milestone)
    old_export = plans.export_plan(plan)
    db.session.add(MilestoneEvent(milestone_id=milestone.id, kind="reopened",
                                  reason="La evidencia no acredita el hito"))
    milestone.completed_on = None
    db.session.commit()
    with pytest.raises(PlanChangeRefused) as error:
        load_plan(old_export)
    assert error.value.problems == [
        "commitment 1, milestone 1: its completion is kept by the follow-up (evidence and "
        "reviews): not complete, the file says 2017-03-01"]
