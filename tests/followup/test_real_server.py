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
