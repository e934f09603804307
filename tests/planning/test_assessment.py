"""Monitors' end-of-plan assessment: the suggestion from progress, validation, revisions."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import AuditEvent
from app.models.plan import Assessment
from app.services.assessments import suggest_completion
from tests.conftest import PASSWORD


@pytest.mark.parametrize(("progress", "level"), [
    (0, "not_started"), (0.0001, "limited"), (0.4999, "limited"), (0.5, "substantial"),
    (0.9999, "substantial"), (1, "complete")])
def test_suggestion_rule(progress, level):
    assert suggest_completion(progress) == level


def _monitor(client, make_user):
    user = make_user("monitor", email="comite@example.org")
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    client.get("/?lang=en")
    return user


def test_form_preselects_the_suggestion(client, make_user, plan):
    _monitor(client, make_user)
    page = client.get("/planning/plan-prueba/1/assessment").get_data(as_text=True)
    # No milestone complete yet: progress 0, "not started" pre-selected.
    assert 'value="not_started" checked' in page


def test_record_validate_and_revise(client, make_user, plan):
    user = _monitor(client, make_user)
    url = "/planning/plan-prueba/1/assessment"
    response = client.post(url, data={"completion": "limited", "opened_government": "huge",
                                      "completion_justification": "  "})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Justification of the completion: it is required." in page
    assert "Did it open government?: choose one of the levels." in page
    assert "Justification of whether it opened government: it is required." in page
    assert db.session.scalar(db.select(db.func.count(Assessment.id))) == 0

    form = {"completion": "limited", "completion_justification": "Solo un hito",
            "opened_government": "marginal", "opened_government_justification": "Poco"}
    assert client.post(url, data=form).status_code == 302
    form.update(completion="substantial", completion_justification="Revisado")
    assert client.post(url, data=form).status_code == 302
    rows = db.session.scalars(db.select(Assessment).order_by(Assessment.id)).all()
    assert [r.completion for r in rows] == ["limited", "substantial"]
    assert rows[-1].assessed_by_id == user.id
    page = client.get(url).get_data(as_text=True)
    assert "Revisado" in page
    assert "Solo un hito" not in page
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id)).where(
        AuditEvent.action == "assessment.recorded")) == 2


@pytest.mark.parametrize("role", ["implementer", "staff", "analyst"])
def test_assessment_forbidden_to_other_roles(client, make_user, plan, role):
    user = make_user(role, email=f"{role}@example.org")
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    url = "/planning/plan-prueba/1/assessment"
    assert client.get(url).status_code == 403
    assert client.post(url, data={"completion": "complete"}).status_code == 403
    assert db.session.scalar(db.select(db.func.count(Assessment.id))) == 0


def test_monitor_lists_commitments_to_assess(client, make_user, plan):
    _monitor(client, make_user)
    page = client.get("/planning/assessments").get_data(as_text=True)
    assert "/planning/plan-prueba/1/assessment" in page
    assert "Not assessed yet" in page
