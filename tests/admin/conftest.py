"""Fixtures of the builder's tests: a signed-in administrator, settings forms, responses."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.extensions import db
from app.models import AuditEvent, Consultation
from app.services.responses import new_receipt_code, new_response
from app.util import local_today


@pytest.fixture
def admin(client, auth, make_user):
    """Sign in an administrator on the default client; return the client."""
    make_user("admin", email="admin@example.org")
    auth.login("admin@example.org")
    return client


def settings_form(**overrides) -> dict:
    """Return a complete, valid settings form (both languages filled)."""
    today = local_today()
    form = {
        "slug": "consulta-2027",
        "title_es": "Consulta 2027", "title_en": "Consultation 2027",
        "description_es": "Qué problemas importan.", "description_en": "Which problems matter.",
        "opens_on": today.isoformat(), "closes_on": (today + timedelta(days=10)).isoformat(),
        "channels": ["online", "paper"], "double_entry": "y",
        "theme_label_es": "Elija temas", "theme_label_en": "Choose themes",
        "theme_min": "1", "theme_max": "2", "theme_ranked": "y",
    }
    form.update(overrides)
    return {key: value for key, value in form.items() if value is not None}


def get(slug: str) -> Consultation | None:
    db.session.expire_all()
    return db.session.scalar(db.select(Consultation).where(Consultation.slug == slug))


def consultation_count() -> int:
    return db.session.scalar(db.select(db.func.count(Consultation.id)))


def audit_events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def add_response(consultation: Consultation) -> None:
    """Store one accepted online response to a consultation built from the demo definition."""
    db.session.add(new_response(
        consultation, channel="online", source="online", municipality_code="14039",
        theme_codes=[consultation.themes[0].code], answers={},
        receipt_code=new_receipt_code(),
    ))
    db.session.commit()


@pytest.fixture
def draft(admin):
    """Create through the web a draft with two themes, a single question and two options."""
    client = admin
    assert client.post("/admin/new", data=settings_form()).status_code == 302
    base = "/admin/c/consulta-2027"
    for code, es, en in (("security", "Inseguridad", "Insecurity"), ("health", "Salud",
                                                                        "Health")):
        version = get("consulta-2027").version
        response = client.post(base + "/themes/new", data={
            "code": code, "name_es": es, "name_en": en, "version": version})
        assert response.status_code == 302, response.get_data(as_text=True)
    response = client.post(base + "/questions/new", data={
        "code": "sector", "type": "single", "required": "y", "label_es": "Sector",
        "label_en": "Sector", "version": get("consulta-2027").version})
    assert response.status_code == 302
    for code, es, en in (("private", "Privado", "Private"), ("public", "Público", "Public")):
        response = client.post(base + "/questions/sector/options/new", data={
            "code": code, "label_es": es, "label_en": en,
            "version": get("consulta-2027").version})
        assert response.status_code == 302, response.get_data(as_text=True)
    return get("consulta-2027")
