"""Workshop planning through the web: access, proposal, editing, shortlist, exports."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select

from app.extensions import db
from app.models import HiddenStatement, WorkshopPlan
from app.services.responses import new_response
from tests.workshops.helpers import add_patterns


@pytest.fixture(autouse=True)
def english(client):
    """Read pages in English (the messages are asserted in English)."""
    client.get("/language/en")


@pytest.fixture
def closed(make_consultation):
    consultation = make_consultation("closed")
    add_patterns(consultation)
    return consultation


@pytest.fixture
def facilitator(make_user, auth):
    user = make_user("facilitator")
    auth.login(user.email)
    return user


def create(client, slug, **fields):
    data = {"name": "Mesas 2016", "workshops": "2", "themes": "4", **fields}
    return client.post(f"/workshops/{slug}/new", data=data)


def plan_count():
    return db.session.scalar(select(func.count(WorkshopPlan.id)))


def test_anonymous_is_sent_to_sign_in(client, closed):
    response = client.get("/workshops/")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_staff_role_is_refused(client, auth, make_user, closed):
    auth.login(make_user("staff").email)
    assert client.get("/workshops/").status_code == 403
    assert create(client, closed.slug).status_code == 403


def test_index_lists_closed_consultations_for_facilitators(client, facilitator, closed,
                                                           make_consultation):
    running = make_consultation("open")
    page = client.get("/workshops/").get_data(as_text=True)
    assert closed.slug in page
    assert running.slug not in page
    assert client.get(f"/workshops/{running.slug}/new").status_code == 403


def test_analyst_may_plan_a_running_consultation(client, auth, make_user, make_consultation):
    running = make_consultation("open")
    add_patterns(running)
    auth.login(make_user("analyst").email)
    assert running.slug in client.get("/workshops/").get_data(as_text=True)
    assert create(client, running.slug).status_code == 302
    assert plan_count() == 1


def test_create_proposes_and_saves_a_plan(client, facilitator, closed):
    form = client.get(f"/workshops/{closed.slug}/new")
    assert form.status_code == 200
    assert 'for="workshops"' in form.get_data(as_text=True)
    response = create(client, closed.slug)
    assert response.status_code == 302
    plan = db.session.scalars(select(WorkshopPlan)).one()
    assert plan.created_by_id == facilitator.id
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Insecurity · Public services" in page
    assert 'name="theme_security"' in page


@pytest.mark.parametrize(("fields", "message"), [
    ({"workshops": "9", "themes": ""}, "9 workshops need at least 9 themes"),
    ({"workshops": "6", "themes": "6"}, "only 5 themes have votes"),
    ({"workshops": "dos"}, "\"dos\" is not a whole number"),
    ({"workshops": ""}, "write a number"),
    ({"name": "  "}, "Plan name: write a name."),
    ({"region": "13"}, "region must be a number from 1 to 12"),
])
def test_bad_proposals_are_refused_on_the_form(client, facilitator, closed, fields, message):
    response = create(client, closed.slug, **fields)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True).replace("&#34;", "\"")
    assert plan_count() == 0


def test_no_responses_is_refused(client, facilitator, make_consultation):
    empty = make_consultation("closed")
    response = create(client, empty.slug)
    assert response.status_code == 422
    assert "no accepted responses" in response.get_data(as_text=True)
    assert plan_count() == 0


def made_plan(client, closed):
    location = create(client, closed.slug).headers["Location"]
    return db.session.scalars(select(WorkshopPlan)).one(), location


def edit_form(**extra):
    data = {"name": "Mesas finales", "count": "2",
            "name_es_1": "Seguridad", "name_en_1": "Security",
            "name_es_2": "Salud y educación", "name_en_2": "Health and education",
            "theme_security": "1", "theme_public_services": "1", "theme_public_spaces": "1",
            "theme_health": "2", "theme_education": "2", "action": "save"}
    data.update(extra)
    return data


def themes_of(plan_id):
    db.session.expire_all()
    plan = db.session.get(WorkshopPlan, plan_id)
    return [[row.theme.code for row in w.themes] for w in plan.workshops]


def test_edit_renames_moves_and_adds(client, facilitator, closed):
    plan, location = made_plan(client, closed)
    response = client.post(location, data=edit_form())
    assert response.status_code == 302
    assert themes_of(plan.id) == [["security", "public_services", "public_spaces"],
                                  ["health", "education"]]
    db.session.expire_all()
    plan = db.session.get(WorkshopPlan, plan.id)
    assert plan.workshops[1].name == {"es": "Salud y educación", "en": "Health and education"}
    assert plan.name == "Mesas finales"


def test_drop_a_theme_and_remove_a_workshop(client, facilitator, closed):
    plan, location = made_plan(client, closed)
    data = edit_form(theme_public_services="", remove_2="1")
    assert client.post(location, data=data).status_code == 302
    assert themes_of(plan.id) == [["security", "public_spaces"]]


def test_add_a_workshop_renders_an_empty_one_then_refuses_it_empty(client, facilitator,
                                                                    closed):
    plan, location = made_plan(client, closed)
    page = client.post(location, data=edit_form(action="add")).get_data(as_text=True)
    assert 'name="name_es_3"' in page
    response = client.post(location, data=edit_form(count="3", name_es_3="Tres",
                                                    name_en_3="Three"))
    assert response.status_code == 422
    assert "Workshop 3 has no themes" in response.get_data(as_text=True)
    ok = client.post(location, data=edit_form(count="3", name_es_3="Corrupción",
                                              name_en_3="Corruption", theme_corruption="3"))
    assert ok.status_code == 302
    assert themes_of(plan.id)[2] == ["corruption"]


@pytest.mark.parametrize(("extra", "message"), [
    ({"theme_health": ["1", "2"]}, "is in workshops 1 and 2"),
    ({"theme_health": "", "theme_education": ""}, "Workshop 2 has no themes"),
    ({"name_en_1": ""}, "Workshop 1: write its name in English."),
    ({"name": ""}, "Plan name: write a name."),
])
def test_bad_edits_are_refused_and_nothing_changes(client, facilitator, closed, extra,
                                                   message):
    plan, location = made_plan(client, closed)
    before = themes_of(plan.id)
    response = client.post(location, data=edit_form(**extra))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True).replace("&#34;", "\"")
    assert themes_of(plan.id) == before


def test_shortlist_shows_numbers_ranks_and_scrubbed_statements(client, facilitator, closed):
    plan, _ = made_plan(client, closed)
    page = client.get(f"/workshops/plans/{plan.id}/shortlist").get_data(as_text=True)
    assert "Insecurity" in page
    assert "Robos en mi colonia" in page
    assert "Ana Ruiz" not in page
    assert "1234 5678" not in page
    assert "Region 12" in page  # 13 respondents in region 12
    assert "Centro" in page


def test_hide_a_statement(client, facilitator, closed):
    add_patterns(closed, [(1, "14039", ["security"], "private", "Texto único de prueba")])
    plan, _ = made_plan(client, closed)
    from app.services import workshops

    statement = next(item for item in workshops.statements(closed, ["security"], limit=50)
                     if item["text"] == "Texto único de prueba")
    assert "Texto único de prueba" in client.get(
        f"/workshops/plans/{plan.id}/shortlist").get_data(as_text=True)
    response = client.post(f"/workshops/plans/{plan.id}/statements/{statement['id']}",
                           data={"action": "hide"})
    assert response.status_code == 302
    assert db.session.get(HiddenStatement, statement["id"]) is not None
    page = client.get(f"/workshops/plans/{plan.id}/shortlist").get_data(as_text=True)
    assert "1 hidden statement<" in page
    assert page.count("Texto único de prueba") == 1  # only in the hidden list
    assert page.index("Texto único de prueba") > page.index("1 hidden statement<")
    client.post(f"/workshops/plans/{plan.id}/statements/{statement['id']}",
                data={"action": "show"})
    assert db.session.get(HiddenStatement, statement["id"]) is None


def test_hide_a_statement_of_another_consultation_is_refused(client, facilitator, closed,
                                                             make_consultation):
    plan, _ = made_plan(client, closed)
    other = make_consultation("closed")
    add_patterns(other, [(1, "14039", ["water"], "private", "ajeno")])
    from app.models import Answer

    foreign = db.session.scalars(select(Answer.id).where(Answer.text_value == "ajeno")).one()
    response = client.post(f"/workshops/plans/{plan.id}/statements/{foreign}",
                           data={"action": "hide"}, follow_redirects=True)
    assert "is not a statement of this consultation" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(HiddenStatement)) == 0


def test_xlsx_export_sheets_and_safety(client, facilitator, closed):
    plan, _ = made_plan(client, closed)
    response = client.get(f"/workshops/plans/{plan.id}/export.xlsx?lang=en")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.get_data()))
    assert workbook.sheetnames[0] == "Summary"
    assert workbook.sheetnames[-1] == "Methodology"
    assert len(workbook.sheetnames) == 2 + 2
    method = {row[0]: row[1] for row in workbook["Methodology"].iter_rows(values_only=True)}
    assert closed.slug in method["Consultation"]
    assert method["Weighting"].startswith("none")
    assert "Filters" in method
    assert "Numbers computed on" in method
    for sheet in workbook:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f"
    texts = [cell for row in workbook.worksheets[1].iter_rows(values_only=True)
             for cell in row if isinstance(cell, str)]
    assert "Robos en mi colonia =1+1" in texts  # a statement, in the workshop's sheet
    spanish = load_workbook(io.BytesIO(client.get(
        f"/workshops/plans/{plan.id}/export.xlsx?lang=es").get_data()))
    assert spanish.sheetnames[0] == "Resumen"
    assert spanish.sheetnames[-1] == "Metodología"


def test_formula_in_a_workshop_name_is_neutralized(client, facilitator, closed):
    plan, location = made_plan(client, closed)
    client.post(location, data=edit_form(name_en_1="=cmd|' /C calc'!A0", name="@SUM(1)"))
    workbook = load_workbook(io.BytesIO(client.get(
        f"/workshops/plans/{plan.id}/export.xlsx?lang=en").get_data()))
    summary = list(workbook["Summary"].iter_rows(values_only=True))
    assert summary[1][0] == "'@SUM(1)"
    assert summary[4][0].startswith("'=cmd")
    rows = list(csv.reader(io.StringIO(client.get(
        f"/workshops/plans/{plan.id}/export.csv?lang=en").get_data(as_text=True))))
    assert rows[1][1].startswith("'=cmd")


def test_csv_export(client, facilitator, closed):
    plan, _ = made_plan(client, closed)
    response = client.get(f"/workshops/plans/{plan.id}/export.csv?lang=en")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["theme_code"] for row in rows] == ["security", "public_services", "health",
                                                   "education"]
    assert rows[0]["votes"] == "10"
    assert rows[0]["consultation"] == closed.slug
    assert rows[0]["weighting"] == "none"


@pytest.mark.parametrize(("lang", "expected"), [("es", "Mesa 1"), ("en", "Workshop 1")])
def test_pdf_brief(client, facilitator, closed, lang, expected):
    plan, _ = made_plan(client, closed)
    response = client.get(f"/workshops/plans/{plan.id}/workshops/1/brief.pdf?lang={lang}")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert expected in text
    assert "Inseguridad" in text if lang == "es" else "Insecurity" in text
    assert closed.slug in text


def test_pdf_of_a_missing_workshop_is_404(client, facilitator, closed):
    plan, _ = made_plan(client, closed)
    assert client.get(f"/workshops/plans/{plan.id}/workshops/9/brief.pdf").status_code == 404
    assert client.get("/workshops/plans/999/shortlist").status_code == 404
    assert client.get(f"/workshops/plans/{plan.id}/export.csv?lang=fr").status_code == 400


def test_export_after_a_change_warns_with_both_dates(client, facilitator, closed):
    plan, location = made_plan(client, closed)
    db.session.add(new_response(closed, channel="paper", source="import",
                                municipality_code="14039", theme_codes=["water"], answers={}))
    db.session.commit()
    response = client.get(f"/workshops/plans/{plan.id}/export.xlsx?lang=en")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "with 20 respondents" in page
    assert "now has 21 respondents" in page
    assert "confirm=1" in page
    assert "changed after this plan was made" in client.get(location).get_data(as_text=True)
    confirmed = client.get(f"/workshops/plans/{plan.id}/export.xlsx?lang=en&confirm=1")
    assert confirmed.status_code == 200
    method = {row[0]: row[1] for row in load_workbook(io.BytesIO(confirmed.data))[
        "Methodology"].iter_rows(values_only=True)}
    assert "respondents then 20, now 21" in method["Warning"]
    assert client.post(f"/workshops/plans/{plan.id}/refresh").status_code == 302
    assert client.get(f"/workshops/plans/{plan.id}/export.csv?lang=en").status_code == 200


def test_facilitator_cannot_open_a_plan_on_a_running_consultation(client, auth, make_user,
                                                                  make_consultation):
    running = make_consultation("open")
    add_patterns(running)
    auth.login(make_user("analyst").email)
    create(client, running.slug)
    plan = db.session.scalars(select(WorkshopPlan)).one()
    auth.logout()
    auth.login(make_user("facilitator").email)
    assert client.get(f"/workshops/plans/{plan.id}").status_code == 403
    assert client.get(f"/workshops/plans/{plan.id}/export.csv").status_code == 403


def test_shortlist_numbers_match_the_api(client, facilitator, closed):
    plan, _ = made_plan(client, closed)
    from app.services import workshops

    api = {theme["code"]: theme for theme in client.get(
        f"/api/v1/consultations/{closed.slug}/ranking").get_json()["themes"]}
    data = workshops.shortlist(plan)
    for workshop in data["workshops"]:
        for theme in workshop["themes"]:
            expected = api[theme["code"]]
            assert theme["votes"] == expected["votes"]
            assert theme["vote_share"] == pytest.approx(expected["vote_share"])
            assert theme["rank"] == expected["rank"]
            assert list(theme["ci95"]) == pytest.approx(expected["ci95"])


def test_population_weighting_matches_the_weighted_api(client, facilitator, closed):
    assert create(client, closed.slug, weighting="population").status_code == 302
    plan = db.session.scalars(select(WorkshopPlan)).one()
    assert plan.weighting == "population"
    from app.services import workshops

    api = {theme["code"]: theme for theme in client.get(
        f"/api/v1/consultations/{closed.slug}/ranking?weight=population").get_json()["themes"]}
    first = workshops.shortlist(plan)["workshops"][0]["themes"][0]
    assert first["vote_share"] == pytest.approx(api[first["code"]]["vote_share"])
    assert list(first["ci95"]) == pytest.approx(api[first["code"]]["ci95"])
    assert create(client, closed.slug, weighting="magic").status_code == 422
