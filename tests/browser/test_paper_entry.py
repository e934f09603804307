"""In a real browser, keyboard only: key a stack of paper forms, then settle a discrepancy."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import PaperKeying, PaperResolution, Response
from app.services import paper
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

STACK = 50


def sign_in(page, live_server, email):
    page.context.clear_cookies()
    page.goto(live_server + "/auth/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(live_server + "/")


def key_form(page, serial: str, age: str) -> None:
    """Type one paper form with the keyboard: Enter moves on, Space ticks, Enter saves."""
    assert page.evaluate("document.activeElement.id") == "serial"
    keyboard = page.keyboard
    keyboard.type(serial)
    keyboard.press("Enter")
    # Theme boxes in paper order: security gets 1, health (third box) gets 2.
    keyboard.type("1")
    keyboard.press("Enter")
    keyboard.press("Enter")
    keyboard.type("2")
    for _ in range(10):  # the remaining boxes stay empty
        keyboard.press("Enter")
    keyboard.press("Enter")  # past "illegible"
    assert page.evaluate("document.activeElement.id") == "q_sector"
    keyboard.type("1")  # 1 · Sector privado
    keyboard.press("Enter")
    keyboard.press("Space")  # heard via social media
    for _ in range(6):  # the other options and "illegible"
        keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "q_age"
    keyboard.type(age)
    keyboard.press("Enter")
    keyboard.press("Enter")  # problem left blank
    assert page.evaluate("document.activeElement.id") == "save"
    with page.expect_navigation():
        keyboard.press("Enter")


def fresh_count(model) -> int:
    db.session.rollback()
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_keyboard_only_stack_then_discrepancy(live_server, page, make_consultation, make_user):
    consultation = make_consultation()
    first = make_user("staff", email="first@example.org", municipalities=["14039"])
    make_user("staff", email="second@example.org", municipalities=["14039"])
    boss = make_user("supervisor", email="boss@example.org", all_municipalities=True)
    paper.create_batch(consultation, "14039", STACK, actor=boss)
    slug = consultation.slug
    assert first.id

    sign_in(page, live_server, "first@example.org")
    page.goto(f"{live_server}/entry/{slug}/key")
    for number in range(1, STACK + 1):
        key_form(page, f"14039-{number:06d}", "34")
        assert f"Cuestionario 14039-{number:06d} guardado (primera captura)" in \
            page.locator(".flashes").inner_text()
    assert f"Capturados hoy: {STACK}" in page.locator("#keyed-today").inner_text()
    assert f"Faltan en el lote 1: {STACK}" in page.locator("#remaining").inner_text()
    assert fresh_count(PaperKeying) == STACK

    # The second keyer: two match, one differs in the age.
    sign_in(page, live_server, "second@example.org")
    page.goto(f"{live_server}/entry/{slug}/key")
    key_form(page, "14039-000001", "34")
    key_form(page, "14039-000002", "43")
    assert "las dos capturas difieren" in page.locator(".flashes").inner_text()
    key_form(page, "14039-000003", "34")
    assert "guardado y aceptado" in page.locator(".flashes").inner_text()
    assert f"Faltan en el lote 1: {STACK - 3}" in page.locator("#remaining").inner_text()
    assert fresh_count(Response) == 2

    # The supervisor decides the age against the paper: the first keying was right.
    sign_in(page, live_server, "boss@example.org")
    page.goto(f"{live_server}/entry/{slug}/discrepancies")
    link = page.get_by_role("link", name="Resolver 14039-000002")
    link.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Primera captura: 34" in page.content()
    assert "Segunda captura: 43" in page.content()
    page.focus("#decide_age_first")
    page.keyboard.press("Space")
    page.keyboard.press("Tab")  # leaves the radio group for the button
    assert page.evaluate("document.activeElement.type") == "submit"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Cuestionario 14039-000002 resuelto y aceptado." in page.locator(".flashes").inner_text()
    assert fresh_count(Response) == 3
    assert fresh_count(PaperResolution) == 1
    age = consultation.question_by_code()["age"]
    resolved = db.session.scalar(db.select(Response).where(
        Response.form_serial == "14039-000002"))
    assert [a.number_value for a in resolved.answers if a.question_id == age.id] == [34]


def test_supervisor_types_what_the_paper_says(live_server, page, make_consultation, make_user):
    """Issue 18, 8: the third choice, keyboard only; the typed answers are the settled ones."""
    consultation = make_consultation()
    first = make_user("staff", email="first@example.org", municipalities=["14039"])
    second = make_user("staff", email="second@example.org", municipalities=["14039"])
    boss = make_user("supervisor", email="boss@example.org", all_municipalities=True)
    paper.create_batch(consultation, "14039", 3, actor=boss)
    from werkzeug.datastructures import MultiDict

    typed = MultiDict([("theme_security", "1"), ("theme_health", "2"), ("q_sector", "private"),
                       ("q_heard_via", "social_media"), ("q_problem", "")])
    for user, age in ((first, "43"), (second, "44")):
        answers = paper.parse_keying(consultation, MultiDict([*typed.items(multi=True),
                                                              ("q_age", age)]))
        paper.submit_keying(consultation, "14039-000001", answers, actor=user)
    slug = consultation.slug

    sign_in(page, live_server, "boss@example.org")
    page.goto(f"{live_server}/entry/{slug}/discrepancies/14039-000001")
    page.focus("#type-paper")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Dónde difieren las capturas" in page.content()
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
    assert page.locator("#differing").inner_text().count("43") == 1
    assert page.input_value("#q_age") == "43"  # pre-filled with the first keying
    assert page.input_value("#theme_security") == "1"
    # The cursor starts on the first field; the supervisor goes to the age and types the paper.
    assert page.evaluate("document.activeElement.id") == "theme_security"
    page.focus("#q_age")
    page.keyboard.press("Control+A")
    page.keyboard.type("45")
    page.keyboard.press("Enter")  # moves on, does not submit
    assert page.evaluate("document.activeElement.id") == "q_problem"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "reason"
    page.keyboard.type("El papel dice 45")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "save-typed"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Cuestionario 14039-000001 resuelto con lo que dice el papel, y aceptado." in \
        page.locator(".flashes").inner_text()
    db.session.rollback()
    age = consultation.question_by_code()["age"]
    resolved = db.session.scalar(db.select(Response).where(
        Response.form_serial == "14039-000001"))
    assert [a.number_value for a in resolved.answers if a.question_id == age.id] == [45]
    resolution = db.session.scalar(db.select(PaperResolution))
    assert (resolution.resolved_by_id, resolution.reason) == (boss.id, "El papel dice 45")


def test_import_shows_progress_then_the_result(live_server, app, page, make_consultation,
                                               make_user, tmp_path, monkeypatch):
    """The upload is queued; the job's page polls the job row, then shows the result."""
    import threading

    from app import tasks
    from app.services import jobs
    from tests.entry.helpers import csv_bytes, serials

    consultation = make_consultation()
    make_user("staff", email="importer@example.org", municipalities=["14039"])
    path = tmp_path / "forms.csv"
    path.write_bytes(csv_bytes(serials(4000)))
    sign_in(page, live_server, "importer@example.org")
    page.goto(f"{live_server}/entry/{consultation.slug}/import")
    assert page.locator("#import-progress").is_hidden()
    polls: list[dict] = []
    seen = threading.Event()

    def record(route):
        response = route.fetch()
        poll = response.json()
        polls.append(poll)
        if poll["phase"] in ("check", "store") and poll["done"] > 0:
            seen.set()
        route.fulfill(response=response)

    # The job waits, once, after its first progress report until the page has polled it: a
    # fast machine imports the 4,000 rows before the first poll.
    real_progress = jobs.Heartbeat.progress

    def progress(self, phase: str, done: int, total: int) -> None:
        real_progress(self, phase, done, total)
        if phase == "check" and done > 0 and not seen.is_set():
            self.beat()
            seen.wait(timeout=30)

    def worker(job_id: int) -> None:
        """Take the job as the queue's worker would, in a thread of this process."""
        def work() -> None:
            with app.app_context():
                jobs.run(job_id)

        threading.Thread(target=work, daemon=True).start()

    monkeypatch.setattr(jobs.Heartbeat, "progress", progress)
    monkeypatch.setattr(tasks, "run_job", worker)
    page.route("**/import/jobs/*/state", record)
    page.set_input_files("#file", str(path))
    page.focus("#import-form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("#job-result.flash-success", timeout=120_000)
    # While the upload was being checked and stored, the page polled its progress.
    assert any(poll["phase"] in ("check", "store") and poll["done"] > 0 for poll in polls), polls
    result = page.locator("#job-result").inner_text()
    assert "Se importaron 4000 respuesta(s) de forms.csv" in result
    assert fresh_count(Response) == 4000


def test_entry_pages_pass_axe(live_server, page, make_consultation, make_user):
    from axe_playwright_python.sync_playwright import Axe

    consultation = make_consultation()
    make_user("supervisor", email="axe@example.org", all_municipalities=True)
    sign_in(page, live_server, "axe@example.org")
    axe = Axe()
    for path in ("key", "import", "batches", "progress", "discrepancies", ""):
        page.goto(f"{live_server}/entry/{consultation.slug}/{path}")
        results = axe.run(page)
        assert results.violations_count == 0, (path, results.generate_report())
