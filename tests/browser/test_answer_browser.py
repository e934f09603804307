"""In Chromium: answering by keyboard only in Spanish and English, without JavaScript, at
360 px, and axe-core on the form, its error state and the thank-you page in both languages."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe

from app.extensions import db
from app.models import Response

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(make_consultation):
    return make_consultation("open", slug="abierta")


def new_page(browser, **options):
    context = browser.new_context(locale="es-MX", **options)
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page


def tab_to(page, selector: str, limit: int = 400) -> None:
    """Press Tab (only the keyboard) until the element matching selector has the focus."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)",
                         selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def wait_for_error_page(page) -> None:
    """Wait until the page that lists the errors has loaded and its deferred script has run."""
    page.wait_for_selector("#error-summary")
    page.wait_for_load_state("load")


def stored_response(receipt: str) -> Response:
    db.session.rollback()
    return db.session.scalar(db.select(Response).where(Response.receipt_code == receipt))


def describe(response: Response, consultation) -> dict:
    themes = {t.id: t.code for t in consultation.themes}
    questions = {q.id: q for q in consultation.questions}
    options = {o.id: o.code for q in consultation.questions for o in q.options}
    answers: dict = {}
    for answer in response.answers:
        code = questions[answer.question_id].code
        if answer.option_id:
            answers.setdefault(code, []).append(options[answer.option_id])
        else:
            answers[code] = answer.text_value if answer.text_value is not None \
                else answer.number_value
    return {
        "channel": response.channel,
        "source": response.source,
        "municipality": response.municipality_code,
        "themes": [themes[t.theme_id] for t in sorted(response.themes,
                                                       key=lambda t: t.position)],
        "answers": {k: sorted(v) if isinstance(v, list) else v for k, v in answers.items()},
    }


def test_answer_in_spanish_with_the_keyboard_only(browser, live_server, demo):
    context, page = new_page(browser)
    page.goto(live_server + "/")
    tab_to(page, 'a[href="/c/abierta/answer"]')
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/c/abierta/answer$"))
    assert page.locator("h1").inner_text() == "Consulta ampliada de gobierno abierto 2016"

    # The search box (added by JavaScript) narrows the list; one match is chosen.
    tab_to(page, "#municipality-filter")
    page.keyboard.type("zapopan")
    assert page.locator("#municipality").input_value() == "14120"
    assert page.locator("#municipality-filter-count").inner_text() == "Coincide un municipio."

    tab_to(page, "#theme_1")
    page.keyboard.type("Salud")
    tab_to(page, "#theme_2")
    page.keyboard.type("Corrup")
    assert page.locator("#theme_1").input_value() == "health"
    assert page.locator("#theme_2").input_value() == "corruption"

    tab_to(page, 'input[name="q_sector"]')
    page.keyboard.press("Space")
    page.keyboard.press("ArrowDown")
    assert page.locator("#q_sector-academia").is_checked()
    tab_to(page, "#q_heard_via-town_hall")
    page.keyboard.press("Space")
    tab_to(page, "#q_age")
    page.keyboard.type("29")
    tab_to(page, "#q_problem")
    page.keyboard.type("Falta agua en mi colonia.")
    assert page.locator("#q_problem-count").inner_text() == "25 de 2000 caracteres"
    page.keyboard.insert_text("x" * 1976)
    assert page.locator("#q_problem-count").inner_text() == "Sobra 1 carácter"
    page.keyboard.press("Control+A")
    page.keyboard.type("Falta agua en mi colonia.")
    assert page.locator("#q_problem-count").inner_text() == "25 de 2000 caracteres"
    tab_to(page, "#consent")
    page.keyboard.press("Space")
    tab_to(page, "#send")
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(r"/c/abierta/thanks/"))
    assert page.locator("h1").inner_text() == "Gracias por responder"
    receipt = page.url.rsplit("/", 1)[1]
    assert receipt in page.locator(".receipt-code").inner_text()
    assert describe(stored_response(receipt), demo) == {
        "channel": "online", "source": "online", "municipality": "14120",
        "themes": ["health", "corruption"],
        "answers": {"sector": ["academia"], "heard_via": ["town_hall"], "age": 29.0,
                    "problem": "Falta agua en mi colonia."},
    }
    context.close()


def test_answer_in_english_switching_language_mid_form_keyboard_only(browser, live_server,
                                                                     demo):
    context, page = new_page(browser)
    page.goto(live_server + "/c/abierta/answer")
    # Spanish first: choose a municipality with the select's own type-ahead.
    tab_to(page, "#municipality")
    page.keyboard.type("Puerto Vallarta")
    assert page.locator("#municipality").input_value() == "14067"
    tab_to(page, "#theme_1")
    page.keyboard.type("Inseg")
    # Switch to English with the form's button: what was chosen stays.
    tab_to(page, 'button[name="switch_language"]')
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert page.locator("legend").first.inner_text().startswith("Which themes concern you most?")
    assert page.locator("#municipality").input_value() == "14067"
    assert page.locator("#theme_1").input_value() == "security"

    tab_to(page, "#theme_2")
    page.keyboard.type("Water")
    tab_to(page, 'input[name="q_sector"]')
    for _ in range(3):
        page.keyboard.press("ArrowDown")  # private -> academia -> public -> civil society
    assert page.locator("#q_sector-civil_society").is_checked()
    tab_to(page, "#consent")
    page.keyboard.press("Space")
    # Enter inside a text field sends the answers (not the language button).
    tab_to(page, "#q_age")
    page.keyboard.type("41")
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(r"/c/abierta/thanks/"))
    assert page.locator("h1").inner_text() == "Thank you for answering"
    receipt = page.url.rsplit("/", 1)[1]
    assert describe(stored_response(receipt), demo) == {
        "channel": "online", "source": "online", "municipality": "14067",
        "themes": ["security", "water"],
        "answers": {"sector": ["civil_society"], "age": 41.0},
    }
    context.close()


def test_errors_are_announced_and_linked_and_answers_kept(browser, live_server, demo):
    context, page = new_page(browser)
    page.goto(live_server + "/c/abierta/answer")
    tab_to(page, "#q_age")
    page.keyboard.type("cien")
    tab_to(page, "#send")
    page.keyboard.press("Enter")
    wait_for_error_page(page)
    # The summary takes the focus; its links lead to the fields.
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.locator("#q_age").input_value() == "cien"
    tab_to(page, '#error-summary a[href="#q_age"]')
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#q_age"
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Response.id))) == 0
    context.close()


def test_works_without_javascript_including_the_language_switch(browser, live_server, demo):
    context, page = new_page(browser, java_script_enabled=False)
    page.goto(live_server + "/c/abierta/answer")
    assert page.locator("#municipality-filter").count() == 0
    page.select_option("#municipality", "14039")
    page.select_option("#theme_1", "education")
    page.fill("#q_problem", "Sin JavaScript")
    page.click('button[name="switch_language"]')
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#municipality").input_value() == "14039"
    assert page.locator("#q_problem").input_value() == "Sin JavaScript"
    page.check("#q_sector-other")
    page.check("#consent")
    page.click("#send")
    page.wait_for_url(re.compile(r"/c/abierta/thanks/"))
    receipt = page.url.rsplit("/", 1)[1]
    assert describe(stored_response(receipt), demo)["themes"] == ["education"]
    context.close()


def test_header_language_link_keeps_the_answers_with_javascript(browser, live_server, demo):
    context, page = new_page(browser)
    page.goto(live_server + "/c/abierta/answer")
    tab_to(page, "#q_problem")
    page.keyboard.type("Texto escrito")
    tab_to(page, ".language-switch a")
    page.keyboard.press("Enter")
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert page.locator("#q_problem").input_value() == "Texto escrito"
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Response.id))) == 0
    context.close()


def _no_horizontal_overflow(page) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths


def test_nothing_overflows_at_360_px(browser, live_server, demo):
    context, page = new_page(browser, viewport={"width": 360, "height": 740})
    page.goto(live_server + "/")
    _no_horizontal_overflow(page)
    page.goto(live_server + "/c/abierta/answer")
    _no_horizontal_overflow(page)
    page.click("#send")
    wait_for_error_page(page)
    _no_horizontal_overflow(page)
    page.select_option("#municipality", "14039")
    page.select_option("#theme_1", "health")
    page.check("#q_sector-public")
    page.check("#consent")
    page.click("#send")
    page.wait_for_url(re.compile(r"/c/abierta/thanks/"))
    _no_horizontal_overflow(page)
    context.close()


SERIOUS = {"serious", "critical"}


def _axe_problems(page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"] if v["impact"] in SERIOUS
    ]


@pytest.mark.parametrize("lang", ["es_MX", "en"])
def test_axe_finds_no_serious_violation(browser, live_server, demo, lang):
    # The Content-Security-Policy would block the injected axe script: bypass it in tests.
    context, page = new_page(browser, bypass_csp=True)
    page.goto(f"{live_server}/c/abierta/answer?lang={lang}")
    problems = {"form": _axe_problems(page)}
    page.fill("#q_age", "x")
    page.fill("#q_problem", "y" * 2001)
    page.select_option("#theme_2", "health")
    page.click("#send")
    wait_for_error_page(page)
    problems["errors"] = _axe_problems(page)
    page.select_option("#municipality", "14039")
    page.select_option("#theme_1", "health")
    page.select_option("#theme_2", "")
    page.fill("#q_age", "30")
    page.fill("#q_problem", "")
    page.check("#q_sector-public")
    page.check("#consent")
    page.click("#send")
    page.wait_for_url(re.compile(r"/c/abierta/thanks/"))
    problems["thanks"] = _axe_problems(page)
    assert problems == {"form": [], "errors": [], "thanks": []}
    context.close()


def count_responses() -> int:
    db.session.rollback()
    return db.session.scalar(db.select(db.func.count(Response.id)))


def fill_and_send(page, problem: str = "") -> None:
    page.select_option("#municipality", "14039")
    page.select_option("#theme_1", "health")
    page.check("#q_sector-public")
    if problem:
        page.fill("#q_problem", problem)
    page.check("#consent")
    page.click("#send")


def test_back_after_answering_does_not_count_twice_and_another_person_can_answer(
        browser, live_server, demo):
    context, page = new_page(browser)
    form = live_server + "/c/abierta/answer"
    # A second tab of the same browser holds the form loaded before the answer.
    older = context.new_page()
    older.goto(form)
    page.goto(form)
    fill_and_send(page, problem="Faltan medicinas.")
    page.wait_for_url(re.compile(r"/thanks/"))
    receipt = page.url.rsplit("/", 1)[1]
    assert count_responses() == 1

    # Back: the form is not shown refilled; this browser's receipt is.
    page.go_back()
    page.wait_for_load_state("load")
    assert "Ya respondiste esta consulta desde este navegador." in page.content()
    assert receipt in page.content()
    assert page.locator("#q_problem").count() == 0

    # The form loaded before the answer, sent now: nothing stored, the receipt shown.
    fill_and_send(older, problem="Otra vez.")
    older.wait_for_selector("#answer-another")
    assert "no se guardó" in older.content()
    assert receipt in older.content()
    assert count_responses() == 1

    # Another person on this device: an empty form, and their answer is stored.
    page.click("#answer-another")
    page.wait_for_selector("#answer-form")
    assert page.input_value("#q_problem") == ""
    assert page.input_value("#municipality") == ""
    fill_and_send(page, problem="Falta alumbrado.")
    page.wait_for_url(re.compile(r"/thanks/"))
    assert page.url.rsplit("/", 1)[1] != receipt
    assert count_responses() == 2
    context.close()
