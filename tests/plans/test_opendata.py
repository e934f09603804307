"""The plans' open data validated with frictionless (data included), and the calendar feed."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from frictionless import Package

from app.extensions import db
from app.models import Evidence, EvidenceReview
from app.services.plans import load_plan
from tests.plans.conftest import small_plan

BASE = "/api/v1/plans/plan-prueba"


@pytest.fixture
def plan(demo_consultation, make_user):
    data = small_plan()
    data["commitments"][0]["lead_agency"] = "=HYPERLINK(\"http://x\")"
    data["commitments"][0]["title"]["es"] = "+52 33 compromiso"
    data["commitments"][0]["actors"][0]["name"] = "@ITESO"
    data["commitments"][0]["milestones"][0]["completed_on"] = "2017-03-20"
    plan = load_plan(data).plan
    monitor = make_user("monitor")
    milestone = plan.commitments[0].milestones[0]
    for state, url in (("accepted", "https://example.org/acta.pdf"),
                       ("pending", "https://example.org/secreto.pdf")):
        evidence = Evidence(commitment_id=milestone.commitment_id, milestone_id=milestone.id,
                            kind="link", url=url, description="-1 acta firmada",
                            done_on=date(2017, 3, 20), state=state)
        db.session.add(evidence)
        db.session.flush()
        if state == "accepted":
            db.session.add(EvidenceReview(evidence_id=evidence.id, monitor_id=monitor.id,
                                          decision="accepted", reason="Consta el acta"))
    db.session.commit()
    return plan


def _rows(client, name):
    response = client.get(f"{BASE}/{name}.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_the_data_package_validates_with_its_data(client, plan, tmp_path):
    for name in ("commitments", "milestones", "evidence"):
        (tmp_path / f"{name}.csv").write_bytes(client.get(f"{BASE}/{name}.csv").data)
    descriptor = client.get(f"{BASE}/datapackage.json?lang=en").get_json()
    assert [r["profile"] for r in descriptor["resources"]] == ["tabular-data-resource"] * 3
    (tmp_path / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    report = Package(str(tmp_path / "datapackage.json")).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    assert [task.stats["rows"] for task in report.tasks] == [1, 2, 1]


def test_spanish_descriptions(client, plan):
    descriptor = client.get(f"{BASE}/datapackage.json?lang=es").get_json()
    fields = {f["name"]: f for f in descriptor["resources"][0]["schema"]["fields"]}
    assert fields["lead_agency"]["description"] != "Lead implementing agency"
    assert fields["title_en"]["description"].lower().endswith("inglés")


def test_formulas_are_neutralized(client, plan):
    [commitment] = _rows(client, "commitments")
    assert commitment["lead_agency"] == "'=HYPERLINK(\"http://x\")"
    assert commitment["title_es"] == "'+52 33 compromiso"
    assert commitment["actors"] == "'@ITESO (academia)"
    [evidence] = _rows(client, "evidence")
    assert evidence["description"] == "'-1 acta firmada"


def test_only_accepted_evidence_is_published(client, plan):
    [evidence] = _rows(client, "evidence")
    assert evidence["url"] == "https://example.org/acta.pdf"
    assert evidence["milestone"] == "1"
    assert evidence["accepted_on"]
    assert "secreto" not in client.get(f"{BASE}/evidence.csv").get_data(as_text=True)


def test_milestones_and_lights_of_the_day(client, plan):
    milestones = _rows(client, "milestones")
    assert [(m["number"], m["status"], m["completed_on"]) for m in milestones] == [
        ("1", "complete", "2017-03-20"), ("2", "overdue", "")]
    [commitment] = _rows(client, "commitments")
    assert commitment["light"] == "red"
    assert commitment["progress"] == "0.25"
    assert commitment["expected"] == "1.0"


def test_calendar_parses_with_stable_uids(client, plan):
    from icalendar import Calendar

    response = client.get("/plans/plan-prueba/calendar.ics?lang=en")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    feed = Calendar.from_ical(response.data)
    events = feed.walk("VEVENT")
    assert [str(e["uid"]) for e in events] == [
        "plan-prueba-c1-m1@plans.consulta-abierta", "plan-prueba-c1-m2@plans.consulta-abierta"]
    assert events[0].decoded("dtstart") == date(2017, 3, 31)
    assert events[0].decoded("dtend") == date(2017, 4, 1)
    assert str(events[0]["summary"]).startswith("Milestone 1.1 due: ")
    assert str(feed["x-wr-calname"]) == "Test plan"
    # Loading the plan again keeps the same events.
    load_plan(small_plan())
    again = Calendar.from_ical(client.get("/plans/plan-prueba/calendar.ics?lang=en").data)
    assert [str(e["uid"]) for e in again.walk("VEVENT")] == [str(e["uid"]) for e in events]


def test_calendar_language_from_accept_language(client, plan):
    from icalendar import Calendar

    spanish = Calendar.from_ical(client.get("/plans/plan-prueba/calendar.ics").data)
    assert str(spanish["x-wr-calname"]) == "Plan de prueba"
    english = Calendar.from_ical(client.get("/plans/plan-prueba/calendar.ics",
                                            headers={"Accept-Language": "en"}).data)
    assert str(english["x-wr-calname"]) == "Test plan"
    assert client.get("/plans/plan-prueba/calendar.ics?lang=fr").status_code == 400


def test_frictionless_validates_the_package_through_a_real_server(gunicorn_server, plan):
    db.session.commit()
    base = gunicorn_server(workers=1)
    package = Package(f"{base}{BASE}/datapackage.json")
    report = package.validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    assert [task.stats["rows"] for task in report.tasks] == [1, 2, 1]
