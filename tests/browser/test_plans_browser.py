"""In Chromium: the public plan board and a commitment's page at 360 px (no horizontal
scroll) and 1280 px, in Spanish and English, with axe-core finding no serious or critical
violation; the filters and the "as of" date work by the form alone (no JavaScript)."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe

pytestmark = pytest.mark.browser

SERIOUS = {"serious", "critical"}
BOARD = "/plans/plan-accion-2016-2018"


@pytest.fixture
def demo_plan(app):
    from app.services.demo import load_demo

    load_demo(responses=80, open_responses=5)


def _axe_problems(page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"] if v["impact"] in SERIOUS
    ]


def _horizontal_overflow(page) -> int:
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth")


@pytest.mark.parametrize("lang", ["es_MX", "en"])
@pytest.mark.parametrize("width", [360, 1280])
def test_board_and_commitment_fit_and_pass_axe(browser, live_server, demo_plan, lang, width):
    # The Content-Security-Policy would block the injected axe script: bypass it in tests.
    context = browser.new_context(locale="es-MX", bypass_csp=True,
                                  viewport={"width": width, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    found = {}
    for name, path in [("list", "/plans/"), ("board", f"{BOARD}?as_of=2017-09-15"),
                       ("board-today", BOARD), ("commitment", f"{BOARD}/1"),
                       ("commitment-5", f"{BOARD}/5?as_of=2017-09-15")]:
        separator = "&" if "?" in path else "?"
        page.goto(f"{live_server}{path}{separator}lang={lang}")
        assert page.locator("h1").count() == 1
        found[name] = {"overflow": _horizontal_overflow(page), "axe": _axe_problems(page)}
    assert found == {name: {"overflow": 0, "axe": []} for name in found}
    context.close()


def test_filters_and_as_of_work_without_javascript(browser, live_server, demo_plan):
    context = browser.new_context(locale="en", java_script_enabled=False,
                                  viewport={"width": 360, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server}{BOARD}?lang=en")
    page.fill("#as_of", "2017-09-15")
    page.select_option("#light", "amber")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"light=amber"))
    assert "as_of=2017-09-15" in page.url
    # That day the demo board had one amber commitment (5 green, 1 red).
    cards = page.locator(".commitment-card")
    assert cards.count() == 1
    assert "Delayed (amber)" in cards.first.locator(".light").inner_text()
    assert "Showing 1 of 7 commitments." in page.content()
    # A day that is not one: a message, the board of today, no error page.
    page.goto(f"{live_server}{BOARD}?as_of=2017-02-31&lang=en")
    assert page.get_by_role("alert").inner_text().startswith('"2017-02-31" is not a date')
    # From a card to the commitment's page.
    page.goto(f"{live_server}{BOARD}?lang=en")
    page.click("#commitment-1 h3 a")
    page.wait_for_url(re.compile(r"/plans/plan-accion-2016-2018/1"))
    assert page.locator("h1").inner_text().startswith("Commitment 1:")
    context.close()
