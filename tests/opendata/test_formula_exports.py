"""Stored text leaves for a spreadsheet neutralized, in every export (issue 18, item 1).

Citizens write "=SUM(A1) corrupción", "@todos baches" or "+52 33 1234 5678": the database
keeps them exactly as typed; every CSV and XLSX the app writes prefixes such a cell with an
apostrophe, through the one helper (analysis.export.neutralize, app.services.spreadsheet).
The texts reach the exports through free text (open data, workshop statements) and through
names people type (themes, options, municipalities).
"""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from app.models import Answer, Municipality, WorkshopPlan
from app.services.responses import new_response
from app.services.spreadsheet import FORMULA_PREFIXES
from tests.conftest import demo_definition

CITIZEN_TEXTS = ["=SUM(A1) corrupción", "@todos baches", "+52 33 1234 5678"]
SUM, TODOS, PHONE = CITIZEN_TEXTS


@pytest.fixture
def closed(make_consultation):
    """A closed consultation whose theme, option and answers carry formula-like text."""
    definition = demo_definition()
    themes = definition["themes"]
    themes[0]["name"] = {"es": SUM, "en": SUM}  # security
    sector = next(q for q in definition["questions"] if q["code"] == "sector")
    sector["options"][0]["label"] = {"es": TODOS, "en": TODOS}  # private
    consultation = make_consultation("closed", themes=themes, questions=definition["questions"],
                                     publish_free_text=True)
    for number in range(18):
        db.session.add(new_response(
            consultation, channel="online", source="online", municipality_code="14039",
            theme_codes=["security", "health"], answers={
                "sector": "private", "problem": CITIZEN_TEXTS[number % 3]},
            submitted_on=date(2016, 10, 18)))
    db.session.commit()
    return consultation


@pytest.fixture
def odd_municipality(app):
    """Guadalajara renamed "+52 33 1234 5678" for one test (the geography is kept between
    tests: the name is put back)."""
    municipality = db.session.get(Municipality, "14039")
    name = municipality.name
    municipality.name = PHONE
    db.session.commit()
    yield
    db.session.get(Municipality, "14039").name = name
    db.session.commit()


def text_cells_of_csv(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for cell in row]


def text_cells_of_xlsx(body: bytes) -> list[str]:
    workbook = load_workbook(io.BytesIO(body))
    for sheet in workbook:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
    return [cell for sheet in workbook for row in sheet.iter_rows(values_only=True)
            for cell in row if isinstance(cell, str)]


def assert_safe(cells: list[str], *expected: str) -> None:
    """No text cell starts a formula; each expected text is there, behind an apostrophe."""
    for cell in cells:
        if cell.startswith(FORMULA_PREFIXES):
            try:
                float(cell)  # a negative number written by a CSV writer is a number
            except ValueError:
                pytest.fail(f"unneutralized cell {cell!r}")
    for text in expected:
        assert f"'{text}" in cells, (text, cells[:80])


def test_stored_text_is_kept_exactly_as_typed(closed):
    stored = set(db.session.scalars(select(Answer.text_value).where(
        Answer.text_value.is_not(None))))
    assert stored == set(CITIZEN_TEXTS)


def test_open_data_csv_and_xlsx(client, closed):
    api = f"/api/v1/consultations/{closed.slug}"
    cells = text_cells_of_csv(client.get(f"{api}/responses.csv").get_data(as_text=True))
    # Published free text is scrubbed first (app/services/anonymize.py): the phone number and
    # the "@todos" handle are gone; what is left is neutralized.
    assert_safe(cells, SUM)
    assert not any(PHONE[1:] in cell for cell in cells)
    assert_safe(text_cells_of_xlsx(client.get(f"{api}/responses.xlsx").get_data()), SUM)
    # The dictionary names the theme and option labels: neutralized too.
    assert_safe(text_cells_of_csv(client.get(f"{api}/dictionary.csv").get_data(as_text=True)))


def test_dashboard_tables(client, auth, make_user, closed, odd_municipality):
    from app.services.results import TABLES

    auth.login(make_user("analyst").email)
    seen_csv, seen_xlsx = [], []
    for name in TABLES:
        csv_response = client.get(f"/dashboard/{closed.slug}/tables/{name}.csv")
        assert csv_response.status_code == 200, name
        seen_csv += text_cells_of_csv(csv_response.get_data(as_text=True))
        xlsx_response = client.get(f"/dashboard/{closed.slug}/tables/{name}.xlsx")
        assert xlsx_response.status_code == 200, name
        seen_xlsx += text_cells_of_xlsx(xlsx_response.get_data())
    assert_safe(seen_csv, SUM, TODOS, PHONE)
    assert_safe(seen_xlsx, SUM, TODOS, PHONE)


def test_workshop_shortlist_csv_and_xlsx(client, auth, make_user, closed):
    auth.login(make_user("facilitator").email)
    client.post(f"/workshops/{closed.slug}/new",
                data={"name": "Mesas 2016", "workshops": "1", "themes": "2"})
    plan = db.session.scalars(select(WorkshopPlan)).one()
    cells = text_cells_of_xlsx(client.get(
        f"/workshops/plans/{plan.id}/export.xlsx?lang=es&confirm=1").get_data())
    # Statements (scrubbed free text) and the theme's name.
    assert_safe(cells, SUM)
    cells = text_cells_of_csv(client.get(
        f"/workshops/plans/{plan.id}/export.csv?lang=es&confirm=1").get_data(as_text=True))
    assert_safe(cells, SUM)


def test_participation_map_table(client, closed, odd_municipality):
    response = client.get(f"/maps/{closed.slug}/table.csv?level=municipality")
    assert response.status_code == 200
    assert_safe(text_cells_of_csv(response.get_data(as_text=True)), PHONE)


def test_paper_progress_csv(client, auth, make_user, closed, odd_municipality):
    db.session.add(new_response(closed, channel="paper", source="import",
                                municipality_code="14039", theme_codes=["health"], answers={},
                                form_serial="P-1"))
    db.session.commit()
    auth.login(make_user("supervisor", municipalities=["14039"]).email)
    response = client.get(f"/entry/{closed.slug}/progress?format=csv")
    assert response.status_code == 200
    assert_safe(text_cells_of_csv(response.get_data(as_text=True)), PHONE)


def test_cli_ranking_and_participation_csv(runner, closed):
    result = runner.invoke(args=["analysis", "ranking", closed.slug, "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert_safe(text_cells_of_csv(result.output), SUM)
    result = runner.invoke(args=["analysis", "participation", closed.slug, "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert_safe(text_cells_of_csv(result.output))
