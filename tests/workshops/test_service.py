"""Workshop plans in the service: proposal, validation, saving, change detection, statements."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import HiddenStatement, Workshop, WorkshopPlan, WorkshopTheme
from app.services import workshops
from app.services.datasets import Filters
from app.services.responses import new_response
from app.services.workshops import NotAllowed, PlanError, WorkshopDraft
from tests.workshops.helpers import add_patterns


@pytest.fixture(autouse=True)
def english(app):
    """Messages are asserted in English."""
    from flask_babel import force_locale

    with force_locale("en"):
        yield


@pytest.fixture
def closed(make_consultation):
    consultation = make_consultation("closed")
    add_patterns(consultation)
    return consultation


@pytest.fixture
def facilitator(make_user):
    return make_user("facilitator")


def test_theme_table_counts_votes_shares_and_borda(closed):
    table = workshops.theme_table(closed).set_index("theme")
    assert table.attrs["respondents"] == 20
    assert table.attrs["votes"] == 38
    assert table.loc["security", "votes"] == 10
    assert table.loc["security", "borda"] == 6 * 3 + 4 * 2
    assert table.loc["security", "vote_share"] == pytest.approx(10 / 38)
    assert table.loc["security", "respondent_share"] == pytest.approx(10 / 20)
    assert table.loc["security", "rank"] == 1
    assert table.loc["public_services", "rank"] == 1  # same votes: the rank is shared
    low, high = table.loc["security", "ci95"]
    assert low < 10 / 38 < high
    assert table.loc["water", "votes"] == 0


def test_proposal_groups_themes_chosen_together(closed):
    groups = workshops.propose(closed, 2, n_themes=4)
    assert groups == [["security", "public_services"], ["health", "education"]]
    assert workshops.propose(closed, 2, n_themes=4) == groups  # deterministic


@pytest.mark.parametrize(("n_workshops", "n_themes", "message"), [
    (6, 6, "only 5 themes have votes"),
    (6, None, "6 workshops need at least 6 themes, but only 5"),
    (3, 2, "3 workshops need at least 3 themes"),
    (0, 3, "choose at least one"),
])
def test_bad_proposals_are_refused(closed, n_workshops, n_themes, message):
    with pytest.raises(PlanError, match=message):
        workshops.propose(closed, n_workshops, n_themes=n_themes)


def test_no_responses_is_refused(make_consultation, facilitator):
    empty = make_consultation("closed")
    with pytest.raises(PlanError, match="no accepted responses"):
        workshops.create_plan(empty, name="x", n_workshops=2, n_themes=None, filters=Filters(),
                              weighting="none", actor=facilitator)
    assert db.session.scalar(select(func.count(WorkshopPlan.id))) == 0


def test_create_plan_stores_who_when_and_snapshot(closed, facilitator):
    plan = workshops.create_plan(closed, name="Mesas 2016", n_workshops=2, n_themes=4,
                                 filters=Filters(), weighting="none", actor=facilitator)
    db.session.commit()
    assert plan.created_by_id == facilitator.id
    assert plan.snapshot_respondents == 20
    assert [[row.theme.code for row in w.themes] for w in plan.workshops] == [
        ["security", "public_services"], ["health", "education"]]
    assert plan.workshops[0].name == {"es": "Inseguridad · Servicios públicos",
                                      "en": "Insecurity · Public services"}
    assert not workshops.change_since(plan).changed


def test_facilitator_may_not_plan_a_running_consultation(make_consultation, facilitator,
                                                         make_user):
    running = make_consultation("open")
    add_patterns(running)
    with pytest.raises(NotAllowed):
        workshops.create_plan(running, name="x", n_workshops=1, n_themes=None,
                              filters=Filters(), weighting="none", actor=facilitator)
    analyst = make_user("analyst")
    assert workshops.may_plan(analyst, running)
    assert running not in workshops.plannable(facilitator)


def plan_for(closed, facilitator):
    plan = workshops.create_plan(closed, name="Mesas", n_workshops=2, n_themes=4,
                                 filters=Filters(), weighting="none", actor=facilitator)
    db.session.commit()
    return plan


def names(es, en=None):
    return {"es": es, "en": en or es}


def test_save_moves_renames_drops_and_adds(closed, facilitator):
    plan = plan_for(closed, facilitator)
    workshops.save_plan(plan, name="Mesas finales", actor=facilitator, drafts=[
        WorkshopDraft(names("Seguridad y espacios", "Security and spaces"),
                      ["security", "public_spaces"]),
        WorkshopDraft(names("Salud", "Health"), ["health", "education", "public_services"]),
    ])
    db.session.commit()
    db.session.expire_all()
    plan = db.session.get(WorkshopPlan, plan.id)
    assert plan.name == "Mesas finales"
    assert [w.name["en"] for w in plan.workshops] == ["Security and spaces", "Health"]
    assert [[row.theme.code for row in w.themes] for w in plan.workshops] == [
        ["security", "public_spaces"], ["health", "education", "public_services"]]
    assert db.session.scalar(select(func.count(WorkshopTheme.id))) == 5


@pytest.mark.parametrize(("drafts", "message"), [
    ([WorkshopDraft(names("A"), ["security"]), WorkshopDraft(names("B"), [])],
     "Workshop 2 has no themes"),
    ([WorkshopDraft(names("A"), ["security"]), WorkshopDraft(names("B"), ["security"])],
     "is in workshops 1 and 2"),
    ([WorkshopDraft({"es": "A", "en": ""}, ["security"])], "name in English"),
    ([WorkshopDraft(names("A"), ["nope"])], "\"nope\" is not a theme"),
    ([], "at least one workshop"),
])
def test_bad_plans_are_refused_and_nothing_changes(closed, facilitator, drafts, message):
    plan = plan_for(closed, facilitator)
    before = [[row.theme.code for row in w.themes] for w in plan.workshops]
    with pytest.raises(PlanError) as raised:
        workshops.save_plan(plan, name="Mesas", drafts=drafts, actor=facilitator)
    assert any(message in problem for problem in raised.value.problems)
    db.session.rollback()
    db.session.expire_all()
    plan = db.session.get(WorkshopPlan, plan.id)
    assert [[row.theme.code for row in w.themes] for w in plan.workshops] == before


def test_database_refuses_a_theme_in_two_workshops(closed, facilitator):
    plan = plan_for(closed, facilitator)
    theme_id = plan.workshops[0].themes[0].theme_id
    db.session.add(WorkshopTheme(plan_id=plan.id, workshop_id=plan.workshops[1].id,
                                 theme_id=theme_id, position=9))
    with pytest.raises(Exception, match="(?i)unique"):
        db.session.commit()
    db.session.rollback()


def test_change_detected_after_new_responses(closed, facilitator):
    plan = plan_for(closed, facilitator)
    db.session.add(new_response(closed, channel="paper", source="import",
                                municipality_code="14039", theme_codes=["water"], answers={}))
    db.session.commit()
    change = workshops.change_since(plan)
    assert change.changed
    assert (change.respondents_then, change.respondents_now) == (20, 21)
    assert change.consultation_date > change.plan_date
    workshops.refresh_snapshot(plan, facilitator)
    db.session.commit()
    assert not workshops.change_since(plan).changed


def test_statements_are_scrubbed_sampled_and_hideable(closed, facilitator):
    found = workshops.statements(closed, ["security", "public_services"])
    texts = {item["text"] for item in found}
    assert texts == {"Robos en mi colonia =1+1", "Me llamo [nombre], tel [teléfono]"}
    assert len(found) == 8  # the sample size
    target = found[0]["id"]
    workshops.hide_statement(closed, target, facilitator)
    db.session.commit()
    assert target not in {item["id"] for item in
                          workshops.statements(closed, ["security", "public_services"])}
    assert db.session.get(HiddenStatement, target).hidden_by_id == facilitator.id
    with pytest.raises(PlanError, match="not a statement of this consultation"):
        workshops.hide_statement(closed, 999999, facilitator)


def test_shortlist_numbers_regions_and_sectors(closed, facilitator):
    plan = plan_for(closed, facilitator)
    data = workshops.shortlist(plan, min_cell=1, lang="en")
    first = data["workshops"][0]
    assert [theme["code"] for theme in first["themes"]] == ["security", "public_services"]
    security = first["themes"][0]
    assert security["votes"] == 10
    assert security["regions"][12] == 1  # Centro (Guadalajara, Zapopan)
    assert security["sectors"]["private"] == 1
    assert data["respondents"] == 20
    strict = workshops.shortlist(plan, min_cell=8)
    assert strict["regions"] == [12]  # region 3 (7 respondents) is suppressed
    assert [option.code for option in strict["sectors"]] == ["private"]  # 11; public 4
    assert db.session.scalar(select(func.count(Workshop.id))) == 2
