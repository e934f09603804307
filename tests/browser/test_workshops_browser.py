"""In Chromium: a facilitator plans workshops end to end (the pages use no JavaScript);
axe-core finds no serious problem on the planning, shortlist and public results pages."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe

from app.extensions import db
from app.models import WorkshopPlan
from tests.conftest import PASSWORD
from tests.workshops.helpers import add_patterns

pytestmark = pytest.mark.browser
SERIOUS = {"serious", "critical"}


def axe_problems(page) -> list[str]:
    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
            for v in results.response["violations"] if v["impact"] in SERIOUS]


def test_plan_workshops_in_the_browser(browser, live_server, make_consultation, make_user):
    consultation = make_consultation("closed", slug="cerrada")
    add_patterns(consultation)
    user = make_user("facilitator")
    context = browser.new_context(locale="es-MX", bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server}/auth/login")
    page.fill("#email", user.email)
    page.fill("#password", PASSWORD)
    page.get_by_role("button").last.click()
    page.goto(f"{live_server}/workshops/")
    problems = {"index": axe_problems(page)}
    page.get_by_role("link", name=re.compile("Nuevo plan")).click()
    problems["new"] = axe_problems(page)
    page.fill("#name", "Mesas de prueba")
    page.fill("#workshops", "2")
    page.fill("#themes", "4")
    page.get_by_role("button", name="Proponer mesas").click()
    page.wait_for_url(re.compile(r"/workshops/plans/\d+$"))
    problems["plan"] = axe_problems(page)
    page.fill("#name_es_1", "Seguridad")
    page.select_option("#theme_public_spaces", "1")
    page.select_option("#theme_education", "")
    page.get_by_role("button", name="Guardar plan").click()
    assert page.locator(".flash-success").inner_text() == "Plan guardado."
    db.session.rollback()  # end the test thread's read snapshot: the server wrote since
    plan = db.session.scalars(db.select(WorkshopPlan)).one()
    assert [[row.theme.code for row in w.themes] for w in plan.workshops] == [
        ["security", "public_services", "public_spaces"], ["health"]]
    page.select_option("#theme_health", "")
    page.get_by_role("button", name="Guardar plan").click()
    assert "La mesa 2 no tiene temas" in page.locator(".error-summary").inner_text()
    problems["errors"] = axe_problems(page)
    page.get_by_role("link", name="Lista corta", exact=True).click()
    assert "Seguridad" in page.locator("h2").first.inner_text()
    problems["shortlist"] = axe_problems(page)
    page.goto(f"{live_server}/c/cerrada/results")
    problems["results"] = axe_problems(page)
    assert problems == {key: [] for key in problems}
    context.close()
