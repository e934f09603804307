"""Implementers' evidence: file types read from the content, the size limit, dates, links,
the agency scope (403), indicator values; nothing is stored when anything is wrong."""

from __future__ import annotations

import hashlib
import io
from datetime import date, timedelta
from pathlib import Path

import pytest

from app.extensions import db
from app.models import AuditEvent, Evidence, IndicatorReport, MilestoneEvent
from app.services import evidence as service
from app.util import local_today
from tests.conftest import PASSWORD
from tests.followup.conftest import (
    CSV,
    DOCX,
    EXE,
    JPEG,
    ODS,
    ODT,
    PDF,
    PLAIN_ZIP,
    PNG,
    XLSX,
    milestone,
)


def sign_in(client, user):
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302


def post_evidence(client, milestone_id, *, data=b"", name="informe.pdf", url="",
                  description="Informe final firmado", done_on="2017-03-20"):
    form = {"url": url, "description": description, "done_on": done_on}
    if data:
        form["file"] = (io.BytesIO(data), name)
    return client.post(f"/followup/milestones/{milestone_id}/evidence", data=form,
                       content_type="multipart/form-data")


def stored_files(app) -> list[Path]:
    folder = Path(app.config["EVIDENCE_FOLDER"])
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


@pytest.mark.parametrize(("data", "media_type", "extension"), [
    (PDF, "application/pdf", "pdf"), (PNG, "image/png", "png"), (JPEG, "image/jpeg", "jpg"),
    (XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    (DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    (ODS, "application/vnd.oasis.opendocument.spreadsheet", "ods"),
    (ODT, "application/vnd.oasis.opendocument.text", "odt"), (CSV, "text/csv", "csv"),
])
def test_every_accepted_kind_is_recognised_by_its_content(data, media_type, extension):
    kind = service.sniff(data)
    assert service.FILE_TYPES[kind] == (media_type, extension)


@pytest.mark.parametrize("data", [EXE, PLAIN_ZIP, b"", b"plain words without separator",
                                  b"a,b\x00c", b"PK\x03\x04 not really a zip"])
def test_other_content_is_not_recognised(data):
    assert service.sniff(data) is None


def test_a_pdf_is_stored_outside_the_web_root_with_its_sha256(app, client, plan, people):
    sign_in(client, people["implementer"])
    target = milestone(plan)
    response = post_evidence(client, target.id, data=PDF, name="Informe final (v2).pdf")
    assert response.status_code == 303, response.get_data(as_text=True)
    evidence = db.session.scalars(db.select(Evidence)).one()
    assert evidence.state == "pending"
    assert evidence.kind == "file"
    assert evidence.sha256 == hashlib.sha256(PDF).hexdigest()
    assert evidence.media_type == "application/pdf"
    assert evidence.size == len(PDF)
    assert evidence.file_name == "Informe-final-v2.pdf"
    assert evidence.done_on == date(2017, 3, 20)
    assert evidence.milestone_id == target.id
    path = service.stored_path(evidence)
    assert path.read_bytes() == PDF
    assert Path(app.config["EVIDENCE_FOLDER"]) in path.parents
    assert Path(app.static_folder) not in path.parents
    event = db.session.scalars(db.select(MilestoneEvent)).one()
    assert (event.kind, event.evidence_id, event.actor_id) == (
        "submitted", evidence.id, people["implementer"].id)
    assert db.session.scalars(db.select(AuditEvent.action).where(
        AuditEvent.action == "evidence.submit")).all() == ["evidence.submit"]


def test_a_png_named_pdf_is_kept_as_the_png_it_is(client, plan, people):
    sign_in(client, people["implementer"])
    response = post_evidence(client, milestone(plan).id, data=PNG, name="acta.pdf")
    assert response.status_code == 303
    evidence = db.session.scalars(db.select(Evidence)).one()
    assert evidence.media_type == "image/png"
    assert evidence.file_name == "acta.png"


def test_a_program_renamed_pdf_is_refused_and_nothing_is_stored(app, client, plan, people):
    sign_in(client, people["implementer"])
    response = post_evidence(client, milestone(plan).id, data=EXE, name="informe.pdf")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "The evidence was not saved." in page
    assert "informe.pdf" in page
    assert "content was checked" in page
    assert db.session.scalar(db.select(db.func.count(Evidence.id))) == 0
    assert db.session.scalar(db.select(db.func.count(MilestoneEvent.id))) == 0
    assert stored_files(app) == []


def test_a_file_over_the_size_limit_is_refused(app, client, plan, people):
    app.config["EVIDENCE_MAX_BYTES"] = 1024
    sign_in(client, people["implementer"])
    big = PDF + b"0" * 1024
    response = post_evidence(client, milestone(plan).id, data=big, name="grande.pdf")
    assert response.status_code == 400
    assert "larger than the limit of 1 KB" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Evidence.id))) == 0
    assert stored_files(app) == []
    # At the limit it passes.
    exact = PDF + b"0" * (1024 - len(PDF))
    assert post_evidence(client, milestone(plan).id, data=exact).status_code == 303


@pytest.mark.parametrize(("done_on", "message"), [
    ("future", "is in the future"),
    ("2016-12-31", "is before the milestone&#39;s start (2017-01-01)"),
    ("", "Give the date the work was done."),
    ("31/12/2017", "is not a date: write it as YYYY-MM-DD"),
])
def test_a_bad_date_is_refused_with_a_clear_message(client, plan, people, done_on, message):
    if done_on == "future":
        done_on = (local_today() + timedelta(days=1)).isoformat()
    sign_in(client, people["implementer"])
    response = post_evidence(client, milestone(plan).id, data=PDF, done_on=done_on)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Evidence.id))) == 0


def test_today_and_the_milestones_first_day_are_accepted(plan, people):
    target = milestone(plan)
    for day in (local_today(), target.starts_on):
        service.submit_evidence(target.id, people["implementer"], upload=None,
                                url="https://example.org/acta.pdf", description="Acta",
                                done_on=day)
    assert db.session.scalar(db.select(db.func.count(Evidence.id))) == 2


@pytest.mark.parametrize(("url", "message"), [
    ("javascript:alert(1)", "must be a public web address"),
    ("ftp://example.org/file", "must be a public web address"),
    ("https://user:secret@example.org/", "must not carry a user name or password"),
])
def test_a_link_must_be_a_public_web_address(client, plan, people, url, message):
    sign_in(client, people["implementer"])
    response = post_evidence(client, milestone(plan).id, url=url)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Evidence.id))) == 0


def test_a_link_is_recorded(client, plan, people):
    sign_in(client, people["implementer"])
    response = post_evidence(client, milestone(plan).id, url="https://example.org/acta.pdf")
    assert response.status_code == 303
    evidence = db.session.scalars(db.select(Evidence)).one()
    assert (evidence.kind, evidence.url, evidence.sha256) == (
        "link", "https://example.org/acta.pdf", None)


def test_file_and_link_together_or_neither_or_no_description_are_refused(client, plan, people):
    sign_in(client, people["implementer"])
    target = milestone(plan).id
    both = post_evidence(client, target, data=PDF, url="https://example.org/a")
    assert "Give a file or a link, not both." in both.get_data(as_text=True)
    neither = post_evidence(client, target)
    assert "Give a file or a link." in neither.get_data(as_text=True)
    undescribed = post_evidence(client, target, url="https://example.org/a", description=" ")
    assert "Describe what the evidence shows." in undescribed.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Evidence.id))) == 0


def test_an_implementer_of_another_agency_gets_403(client, plan, people):
    sign_in(client, people["other"])
    target = milestone(plan, commitment=1)
    assert client.get(f"/followup/milestones/{target.id}/evidence").status_code == 403
    assert post_evidence(client, target.id, data=PDF).status_code == 403
    commitment = target.commitment
    assert client.get(f"/followup/commitments/{commitment.id}/indicator").status_code == 403
    assert db.session.scalar(db.select(db.func.count(Evidence.id))) == 0
    with pytest.raises(service.NotYourCommitment):
        service.submit_evidence(target.id, people["other"], upload=None,
                                url="https://example.org/a", description="x",
                                done_on=date(2017, 3, 1))


def test_the_follow_up_page_lists_only_the_agencys_commitments(client, plan, people):
    sign_in(client, people["implementer"])
    page = client.get("/followup/").get_data(as_text=True)
    assert "Commitment 1" in page or "Compromiso 1" in page
    assert "Otro compromiso" not in page
    assert "Another commitment" not in page
    assert "Overdue" in page or "Vencido" in page


def test_coordinators_see_every_agencys_commitments(client, plan, people):
    sign_in(client, people["coordinator"])
    page = client.get("/followup/").get_data(as_text=True)
    assert "Secretaría de Prueba" in page
    assert "Otra Secretaría" in page


def test_an_indicator_value_is_reported_with_its_evidence(client, plan, people):
    sign_in(client, people["implementer"])
    commitment = milestone(plan).commitment
    response = client.post(f"/followup/commitments/{commitment.id}/indicator", data={
        "value": "7,5", "done_on": "2017-06-30", "url": "https://example.org/conteo.csv",
        "description": "Conteo de colonias"}, content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)
    report = db.session.scalars(db.select(IndicatorReport)).one()
    assert report.value == 7.5
    assert report.measured_on == date(2017, 6, 30)
    assert report.evidence.state == "pending"
    assert report.evidence.milestone_id is None
    bad = client.post(f"/followup/commitments/{commitment.id}/indicator", data={
        "value": "siete", "done_on": "2017-06-30", "url": "https://example.org/c.csv",
        "description": "Conteo"}, content_type="multipart/form-data")
    assert bad.status_code == 400
    assert "is not a number" in bad.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(IndicatorReport.id))) == 1
