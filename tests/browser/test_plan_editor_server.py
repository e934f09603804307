"""As production serves it (gunicorn, CSRF on): a coordinator creates a plan, is told an empty
plan cannot be approved, adds a commitment and approves it; a monitor assesses it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models.plan import Assessment
from app.services.plans import get_by_slug
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def _sign_in(page, base: str, email: str) -> None:
    page.goto(base + "/auth/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.locator("form.form button, form.form input[type=submit]").first.click()


def test_create_approve_and_assess_through_gunicorn(gunicorn_server, browser, make_user,
                                                    make_consultation):
    make_consultation("closed", slug="consulta-ampliada-2016")
    make_user("coordinator", email="coord@example.org")
    make_user("monitor", email="comite@example.org")
    base = gunicorn_server()
    context = browser.new_context(locale="es-MX")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        _sign_in(page, base, "coord@example.org")
        page.goto(base + "/planning/new")
        page.fill("#slug", "plan-servidor")
        page.fill("#title_es", "Plan en el servidor")
        page.fill("#starts_on", "2017-01")
        page.fill("#ends_on", "2018-12")
        page.locator("input[name=consultations][value=consulta-ampliada-2016]").check()
        page.get_by_role("button", name="Crear plan").click()
        expect(page.locator("h1")).to_have_text("Plan en el servidor")
        page.get_by_role("button", name="Aprobar el plan").click()
        expect(page.locator(".flash-error").first).to_contain_text("no se puede aprobar")
        page.get_by_role("link", name="Agregar un compromiso").click()
        page.fill("#title_es", "Compromiso del servidor")
        page.fill("#starts_on", "2017-01")
        page.fill("#ends_on", "2017-12")
        page.fill("#lead_agency", "Secretaría de Prueba")
        page.fill("#milestone_description_es", "Único hito")
        page.fill("#milestone_starts_on", "2017-01")
        page.fill("#milestone_ends_on", "2017-06")
        page.get_by_role("button", name="Agregar compromiso").click()
        expect(page.locator("h1")).to_contain_text("Compromiso 1")
        page.goto(base + "/planning/plan-servidor")
        page.get_by_role("button", name="Aprobar el plan").click()
        expect(page.locator(".flash-success").first).to_contain_text("Plan aprobado")
        context.clear_cookies()

        _sign_in(page, base, "comite@example.org")
        page.goto(base + "/planning/assessments")
        page.get_by_role("link", name="1. Compromiso del servidor").click()
        expect(page.locator("input[name=completion][value=not_started]")).to_be_checked()
        page.fill("#completion_justification", "No hay evidencia de avance.")
        page.get_by_label("Marginal").check()
        page.fill("#opened_government_justification", "Sin cambios visibles.")
        page.get_by_role("button", name="Registrar evaluación").click()
        expect(page.locator(".flash-success").first).to_contain_text("Evaluación registrada")
    finally:
        context.close()
    db.session.expire_all()
    assert get_by_slug("plan-servidor").status == "approved"
    assert db.session.scalar(db.select(Assessment.opened_government)) == "marginal"
