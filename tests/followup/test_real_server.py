"""Evidence through a real server (gunicorn, CSRF on, real sign-in): an implementer uploads a
file, a program renamed .pdf is refused, a monitor accepts, the file turns public and the
milestone complete on the board."""

from __future__ import annotations

import json
import urllib.request
import uuid

from app.extensions import db
from app.models import Evidence
from tests.accounts.http import TOKEN, Answer, Browser
from tests.conftest import PASSWORD
from tests.followup.conftest import EXE, PDF, milestone


def post_multipart(browser: Browser, path: str, fields: dict, files: dict) -> Answer:
    """POST a form with files as a browser does (multipart/form-data), CSRF token included."""
    page = browser.request(path)
    fields = {**fields, "csrf_token": TOKEN.search(page.body).group(1)}
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     f"{value}\r\n".encode())
    for name, (filename, data) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="{filename}"\r\nContent-Type: application/pdf\r\n\r\n'.encode()
                     + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        browser.base + path, data=body,
        headers={**browser.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with browser.opener.open(request, timeout=60) as response:
            return Answer(response.status, dict(response.headers),
                          response.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as error:
        return Answer(error.code, dict(error.headers), error.read().decode("utf-8", "replace"))


def test_upload_review_and_public_file_through_gunicorn(app, gunicorn_server, plan, people,
                                                        tmp_path):
    target = milestone(plan)
    slug = plan.slug
    base = gunicorn_server(EVIDENCE_FOLDER=str(tmp_path / "server-evidence"))
    form = f"/followup/milestones/{target.id}/evidence"

    liaison = Browser(base)
    assert liaison.sign_in("enlace@example.org", PASSWORD).status == 302
    fields = {"description": "Informe final firmado", "done_on": "2017-03-20", "url": ""}
    refused = post_multipart(liaison, form, fields, {"file": ("informe.pdf", EXE)})
    assert refused.status == 400
    assert "is not a PDF, an image" in refused.body
    assert db.session.scalar(db.select(db.func.count(Evidence.id))) == 0
    db.session.rollback()  # end the read: see what the server writes next
    sent = post_multipart(liaison, form, fields, {"file": ("informe.pdf", PDF)})
    assert sent.status == 303, sent.body
    evidence = db.session.scalars(db.select(Evidence)).one()
    stored = tmp_path / "server-evidence" / evidence.file_path
    assert stored.read_bytes() == PDF
    public_url = f"/plans/{slug}/evidence/{evidence.id}"
    assert Browser(base).request(public_url).status == 404

    committee = Browser(base)
    assert committee.sign_in("monitor1@example.org", PASSWORD).status == 302
    assert f"#{evidence.id}" in committee.request("/followup/review").body
    answer = committee.post_form(f"/followup/evidence/{evidence.id}/review",
                                 {"decision": "accepted", "reason": "Acredita el hito"},
                                 token_from=f"/followup/evidence/{evidence.id}")
    assert answer.status == 303, answer.body

    download = Browser(base).request(public_url)
    assert download.status == 200
    assert download.body.encode() == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Disposition"] == "attachment; filename=informe.pdf"
    board = json.loads(Browser(base).request(f"/api/v1/plans/{slug}/board").body)
    first = board["commitments"][0]["milestones"][0]
    assert first["status"] == "complete"
    assert first["completed_on"] == "2017-03-20"


def test_two_members_accepting_at_once_reach_a_quorum_of_two(app, gunicorn_server, plan,
                                                              people):
    """Two members accepting in the same instant, on two workers: each transaction could
    count only its own review (PostgreSQL) and leave the evidence pending for ever."""
    import threading
    from datetime import date

    from app.services import evidence as evidence_service
    from app.services import review

    evidence = evidence_service.submit_evidence(
        milestone(plan).id, people["implementer"], upload=None,
        url="https://example.org/acta.pdf", description="Acta", done_on=date(2017, 3, 20))
    evidence_id = evidence.id
    db.session.commit()
    base = gunicorn_server(workers=2, EVIDENCE_QUORUM="2")
    members = []
    for email in ("monitor1@example.org", "monitor2@example.org"):
        browser = Browser(base)
        assert browser.sign_in(email, PASSWORD).status == 302
        members.append((browser, browser.token(f"/followup/evidence/{evidence_id}")))
    barrier = threading.Barrier(2)
    answers = []

    def accept(browser, token):
        barrier.wait()
        answers.append(browser.request(f"/followup/evidence/{evidence_id}/review",
                                       {"decision": "accepted", "reason": "",
                                        "csrf_token": token}).status)

    threads = [threading.Thread(target=accept, args=member) for member in members]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert answers == [303, 303]
    db.session.rollback()
    assert db.session.get(Evidence, evidence_id).state == "accepted"
    target = milestone(plan)
    assert target.completed_on == date(2017, 3, 20)
    assert [e.kind for e in review.history(target)].count("completed") == 1
