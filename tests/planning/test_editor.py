"""The coordinator's plan editor: create, edit, validate (named as on the form), approve."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import AuditEvent, Plan
from app.models.plan import Evidence
from app.services.plans import export_plan, get_by_slug
from tests.conftest import PASSWORD


def _commitment_form(**overrides) -> dict:
    form = {
        "number": "2", "title_es": "Datos abiertos", "title_en": "Open data",
        "starts_on": "2017-02", "ends_on": "2017-11", "new": "yes",
        "themes": ["security"], "lead_agency": "Secretaría de Transparencia",
        "responsible_name": "Ana López", "responsible_title": "Directora",
        "responsible_email": "ana@example.org", "responsible_phone": "33 1234 5678",
        "actor_name_1": "ITESO", "actor_sector_1": "academia",
        "actor_name_2": "", "actor_sector_2": "",
        "problem_es": "No hay datos", "problem_en": "No data",
        "objective_es": "Publicar datos", "description_es": "Un portal",
        "ogp_values": ["accountability", "access_to_information"],
        "ogp_relevance_es": "Transparencia",
        "indicator_name_es": "Conjuntos publicados", "indicator_unit_es": "conjuntos",
        "indicator_baseline": "0", "indicator_target": "12",
        "milestone_number": "1", "milestone_description_es": "Inventario",
        "milestone_description_en": "Inventory", "milestone_starts_on": "2017-02",
        "milestone_ends_on": "2017-04-15", "milestone_weight": "2",
        "milestone_verification_es": "Acta",
    }
    form.update(overrides)
    return form


def test_create_plan_then_commitment_then_approve(client, coordinator, demo_consultation):
    response = client.post("/planning/new", data={
        "slug": "plan-nuevo", "title_es": "Plan nuevo", "title_en": "New plan",
        "starts_on": "2017-01", "ends_on": "2018-12", "grace_days": "15",
        "consultations": ["consulta-ampliada-2016"]})
    assert response.status_code == 302, response.get_data(as_text=True)
    plan = get_by_slug("plan-nuevo")
    assert plan.grace_days == 15
    assert plan.status == "draft"

    response = client.post("/planning/plan-nuevo/commitments/new", data=_commitment_form())
    assert response.status_code == 302, response.get_data(as_text=True)
    data = export_plan(get_by_slug("plan-nuevo"))
    item = data["commitments"][0]
    assert item["number"] == 2
    assert item["title"] == {"es": "Datos abiertos", "en": "Open data"}
    assert item["themes"] == ["security"]
    assert item["new"] is True
    assert item["responsible"]["email"] == "ana@example.org"
    assert item["actors"] == [{"name": "ITESO", "sector": "academia"}]
    assert item["ogp_values"] == ["accountability", "access_to_information"]
    assert item["indicator"]["target"] == 12
    assert item["ends_on"] == "2017-11-30"
    assert item["milestones"] == [{
        "number": 1, "description": {"es": "Inventario", "en": "Inventory"},
        "starts_on": "2017-02-01", "ends_on": "2017-04-15", "weight": 2,
        "verification": {"es": "Acta"}}]

    response = client.post("/planning/plan-nuevo/2/milestones", data={
        "number": "2", "description_es": "Publicación", "starts_on": "2017-05",
        "ends_on": "2017-11", "weight": "1"})
    assert response.status_code == 302
    response = client.post("/planning/plan-nuevo/2", data=_commitment_form(
        title_en="Open data portal", lead_agency="Otra Secretaría"))
    assert response.status_code == 302
    commitment = get_by_slug("plan-nuevo").commitments[0]
    assert commitment.title["en"] == "Open data portal"
    assert commitment.lead_agency == "Otra Secretaría"
    assert [m.number for m in commitment.milestones] == [1, 2]  # editing keeps milestones

    response = client.post("/planning/plan-nuevo/approve")
    assert response.status_code == 302
    plan = get_by_slug("plan-nuevo")
    assert plan.status == "approved"
    assert plan.approved_by_id == coordinator.id
    assert [o.theme.code for o in plan.commitments[0].origins] == ["security"]
    frozen_at = plan.commitments[0].origins[0].frozen_at
    again = client.post("/planning/plan-nuevo/approve", follow_redirects=True)
    assert "already approved" in again.get_data(as_text=True)
    db.session.expire_all()
    assert get_by_slug("plan-nuevo").commitments[0].origins[0].frozen_at == frozen_at
    updated = db.session.scalars(db.select(AuditEvent).where(
        AuditEvent.action == "commitment.updated")).one()
    assert updated.details["changes"]["commitment 2.lead_agency"] == {
        "before": "Secretaría de Transparencia", "after": "Otra Secretaría"}
    actions = set(db.session.scalars(db.select(AuditEvent.action)))
    assert {"plan.editor.created", "commitment.created", "milestone.created",
            "commitment.updated", "plan.approved"} <= actions
    assert "plan-nuevo" in client.get("/planning/").get_data(as_text=True)


def test_problems_named_as_on_the_form_and_nothing_stored(client, coordinator, plan):
    before = export_plan(plan)
    response = client.post("/planning/plan-prueba/commitments/new", data=_commitment_form(
        number="3", ends_on="2016-05", themes=["ufo"], actor_sector_1="martians",
        indicator_target="veinte", milestone_ends_on="2017-13"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Commitment 3: end date: the end 2016-05-31 is before the start 2017-02-01" in page
    assert "Commitment 3: themes: unknown theme" in page
    assert "Commitment 3, actor 1: sector" in page
    assert "Commitment 3: indicator target: must be a number" in page
    assert "Commitment 3, milestone 1: end date" in page
    assert "commitments[" not in page
    assert 'value="veinte"' in page  # the form comes back as typed
    db.session.expire_all()
    assert export_plan(get_by_slug("plan-prueba")) == before


def test_problems_in_spanish(client, coordinator, plan):
    client.get("/?lang=es_MX")
    response = client.post("/planning/plan-prueba/1", data=_commitment_form(
        number="1", ends_on="2016-05", milestone_number=""))
    assert response.status_code == 422
    assert "Compromiso 1: fecha de fin" in response.get_data(as_text=True)


def test_duplicate_milestone_number_and_duplicate_slug(client, coordinator, plan):
    response = client.post("/planning/plan-prueba/1/milestones", data={
        "number": "2", "description_es": "Otro", "starts_on": "2017-05",
        "ends_on": "2017-06"})
    assert response.status_code == 422
    assert "Commitment 1, milestone 2: number: number 2 is used twice" in response.get_data(
        as_text=True)
    response = client.post("/planning/new", data={
        "slug": "plan-prueba", "title_es": "Otro", "starts_on": "2017-01",
        "ends_on": "2017-12"})
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)


def test_change_that_would_orphan_evidence_is_refused(client, coordinator, plan):
    milestone = plan.commitments[0].milestones[0]
    db.session.add(Evidence(commitment_id=milestone.commitment_id, milestone_id=milestone.id,
                            kind="link", url="https://example.org/acta.pdf",
                            description="Acta", done_on=milestone.ends_on))
    db.session.commit()
    response = client.post("/planning/plan-prueba/1/milestones/1/remove",
                           follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "would lose evidence or history" in page
    assert "commitment 1, milestone 1 has evidence or history and cannot be removed" in page
    response = client.post("/planning/plan-prueba/1/remove", follow_redirects=True)
    assert "commitment 1 has evidence or history" in response.get_data(as_text=True)
    db.session.expire_all()
    assert [m.number for m in get_by_slug("plan-prueba").commitments[0].milestones] == [1, 2]
    # A milestone nothing rests on may go.
    response = client.post("/planning/plan-prueba/1/milestones/2/remove")
    db.session.expire_all()
    assert [m.number for m in get_by_slug("plan-prueba").commitments[0].milestones] == [1]


def test_edit_milestone_keeps_completion(client, coordinator, plan):
    response = client.post("/planning/plan-prueba/1/milestones/1", data={
        "number": "1", "description_es": "Primero, corregido", "description_en": "First",
        "starts_on": "2017-01", "ends_on": "2017-02", "weight": "1.5"})
    assert response.status_code == 302
    db.session.expire_all()
    milestone = get_by_slug("plan-prueba").commitments[0].milestones[0]
    assert milestone.description == {"es": "Primero, corregido", "en": "First"}
    assert milestone.weight == 1.5
    assert client.get("/planning/plan-prueba/1/milestones/1").status_code == 200
    assert client.get("/planning/plan-prueba/1/milestones/9").status_code == 404


def test_approving_a_plan_without_commitments_is_refused(client, coordinator,
                                                         demo_consultation):
    client.post("/planning/new", data={"slug": "vacio", "title_es": "Vacío",
                                       "starts_on": "2017-01", "ends_on": "2017-12"})
    response = client.post("/planning/vacio/approve", follow_redirects=True)
    assert "cannot be approved" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(Plan.status).where(Plan.slug == "vacio")) == "draft"


@pytest.mark.parametrize("role", ["implementer", "monitor", "staff", "analyst"])
def test_editor_forbidden_to_other_roles(client, make_user, plan, role):
    user = make_user(role, email=f"{role}@example.org")
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    for url in ("/planning/", "/planning/new", "/planning/plan-prueba",
                "/planning/plan-prueba/1"):
        assert client.get(url).status_code == 403, url
    assert client.post("/planning/plan-prueba/approve").status_code == 403
    assert get_by_slug("plan-prueba").status == "draft"


def test_anonymous_is_sent_to_sign_in(client, plan):
    response = client.get("/planning/plan-prueba")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]
