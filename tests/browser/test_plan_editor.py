"""In a real browser, in Spanish: a coordinator adds a commitment with its first milestone to a
plan, and a mistyped date is named as on the form."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.services.plans import export_plan, get_by_slug, load_plan
from tests.conftest import PASSWORD
from tests.plans.conftest import small_plan

pytestmark = pytest.mark.browser


def _accessible(page) -> None:
    """No WCAG 2.1 A/AA violation found by axe on the current page."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]})
    assert results.violations_count == 0, results.generate_report()


def test_coordinator_adds_a_commitment_with_a_milestone(live_server, page, make_user,
                                                        make_consultation):
    make_consultation("closed", slug="consulta-ampliada-2016")
    load_plan(small_plan())
    make_user("coordinator", email="coord@example.org")
    page.goto(live_server + "/auth/login")
    page.fill("#email", "coord@example.org")
    page.fill("#password", PASSWORD)
    page.locator("form.form button, form.form input[type=submit]").first.click()
    page.goto(live_server + "/planning/")
    page.get_by_role("link", name="Plan de prueba").click()
    page.get_by_role("link", name="Agregar un compromiso").click()
    expect(page.locator("#number")).to_have_value("2")
    _accessible(page)
    page.fill("#title_es", "Datos abiertos municipales")
    page.fill("#starts_on", "2017-02")
    page.fill("#ends_on", "2017-11")
    page.get_by_label("Seguridad").check()
    page.fill("#lead_agency", "Secretaría de Transparencia")
    page.fill("#actor_name_1", "ITESO")
    page.select_option("#actor_sector_1", "academia")
    page.get_by_label("Rendición de cuentas").check()
    page.fill("#milestone_description_es", "Inventario de datos")
    page.fill("#milestone_starts_on", "2017-02")
    page.fill("#milestone_ends_on", "2017-13")
    page.get_by_role("button", name="Agregar compromiso").click()
    expect(page.locator("#error-summary")).to_contain_text("Compromiso 2, hito 1: fecha de fin")
    page.fill("#milestone_ends_on", "2017-04")
    page.get_by_role("button", name="Agregar compromiso").click()
    expect(page.locator("h1")).to_contain_text("Compromiso 2: Datos abiertos municipales")
    expect(page.get_by_role("link", name="Inventario de datos")).to_be_visible()
    _accessible(page)
    page.screenshot(path="/tmp/followup_commitment.png", full_page=True)
    db.session.expire_all()
    item = export_plan(get_by_slug("plan-prueba"))["commitments"][1]
    assert item["title"] == {"es": "Datos abiertos municipales"}
    assert item["actors"] == [{"name": "ITESO", "sector": "academia"}]
    assert item["ogp_values"] == ["accountability"]
    assert len(item["themes"]) == 1
    assert item["milestones"][0]["ends_on"] == "2017-04-30"
