"""In a real browser: the public map page loads its image, filters and sorts without JavaScript
errors, and passes an axe accessibility check."""

from __future__ import annotations

import pytest

from tests.maps.helpers import add_responses

pytestmark = pytest.mark.browser


def test_public_map_page_in_the_browser(live_server, page, make_consultation):
    consultation = make_consultation("closed", slug="cerrada")
    add_responses(consultation, "14039", 8)
    add_responses(consultation, "14001", 2)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server + "/maps/cerrada")
    image = page.locator("figure.participation-figure img")
    assert "2 de 125 municipios han respondido" in image.get_attribute("alt")
    page.wait_for_function(
        "document.querySelector('figure.participation-figure img').naturalWidth > 0")
    assert page.locator("figure.participation-figure img").evaluate("i => i.naturalWidth") == 1000
    row = page.get_by_role("row", name="Acatic")
    assert "menos de 5" in row.inner_text()
    page.get_by_role("link", name="Participantes", exact=True).click()
    page.get_by_role("link", name="Participantes", exact=True).click()  # descending
    first = page.locator("table.map-table tbody tr").first
    assert first.locator("th").inner_text() == "Guadalajara"
    page.select_option("#metric", "respondents")
    page.get_by_role("button", name="Mostrar").click()
    assert "metric=respondents" in page.url
    assert page.locator(".error-summary").count() == 0
    assert page.locator("#metric").input_value() == "respondents"
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
    assert errors == []
