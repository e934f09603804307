"""In a real browser: the home page switches to English."""

import pytest

pytestmark = pytest.mark.browser


def test_switch_language_in_the_browser(live_server, page, make_consultation):
    make_consultation("open", slug="abierta")
    page.goto(live_server + "/")
    assert page.locator("html").get_attribute("lang") == "es-MX"
    assert page.locator("h1").inner_text() == "Consultas ciudadanas"
    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Citizen consultations"
    page.get_by_role("link", name="Amplified open-government consultation 2016").click()
    assert page.locator("h1").inner_text() == "Amplified open-government consultation 2016"
