"""In a real browser: an analyst filters the dashboard; charts load; no axe violations."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from app.extensions import db
from app.services.responses import new_response
from tests.api.conftest import ROWS
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config() -> dict:
    return {"BOOTSTRAP_REPLICATES": 100}


def test_analyst_filters_the_dashboard(live_server, page, make_consultation, make_user):
    consultation = make_consultation("closed", slug="cerrada")
    for municipality, channel, themes, sector in ROWS:
        db.session.add(new_response(consultation, channel=channel, source="online",
                                    municipality_code=municipality, theme_codes=themes,
                                    answers={"sector": sector}))
    db.session.commit()
    user = make_user("analyst")
    page.goto(live_server + "/auth/login")
    page.fill("#email", user.email)
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("link", name="Análisis").click()
    page.get_by_role("link", name="Consulta ampliada de gobierno abierto 2016").click()
    assert page.locator("#respondents").inner_text() == "5"
    page.get_by_label("Canal").select_option("paper")
    page.get_by_label("Ponderado por población de la región (censo 2020)").check()
    page.get_by_role("button", name="Aplicar").click()
    assert page.locator("#respondents").inner_text() == "3"
    assert "weight=population" in page.url
    images = page.locator("figure.chart img")
    assert images.count() == 4
    # Charts are drawn on request: give a busy machine time.
    page.wait_for_function(
        "() => [...document.querySelectorAll('figure.chart img')]"
        ".every(img => img.complete && img.naturalWidth > 0)", timeout=60_000)
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
