"""Evidence files at /plans/<slug>/evidence/<id>: public only once accepted, always a download
with the stored media type, nosniff and a safe name."""

from __future__ import annotations

from datetime import date

from app.services import evidence as evidence_service
from app.services import review
from tests.followup.conftest import PNG, milestone
from tests.followup.test_evidence import sign_in


def fetch(client, url):
    """GET a file and close the response (it streams from disk)."""
    response = client.get(url)
    response.get_data()
    response.close()
    return response


def png_evidence(plan, people):
    return evidence_service.submit_evidence(
        milestone(plan).id, people["implementer"],
        upload=evidence_service.Upload(name='../../"acta" <final>.pdf', data=PNG),
        url="", description="Foto del acta", done_on=date(2017, 3, 20))


def test_a_file_is_public_only_once_accepted(app, plan, people, client):
    evidence = png_evidence(plan, people)
    url = f"/plans/{plan.slug}/evidence/{evidence.id}"
    assert fetch(client, url).status_code == 404
    sign_in(client, people["monitor"])
    staff = fetch(client, url)
    assert staff.status_code == 200
    assert staff.data == PNG
    assert "no-store" in staff.headers["Cache-Control"]
    assert fetch(client, f"/followup/evidence/{evidence.id}/file").data == PNG
    client.post("/auth/logout")
    review.review(evidence.id, people["monitor"], "accepted", "")
    public = fetch(app.test_client(), url)
    assert public.status_code == 200
    assert public.data == PNG
    assert public.mimetype == "image/png"
    assert public.headers["X-Content-Type-Options"] == "nosniff"
    disposition = public.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert 'filename=acta-final.png' in disposition
    assert fetch(app.test_client(), f"/plans/otro-plan/evidence/{evidence.id}").status_code == 404


def test_a_rejected_file_stays_private(app, plan, people, client):
    evidence = png_evidence(plan, people)
    review.review(evidence.id, people["monitor"], "rejected", "Borrosa")
    assert fetch(client, f"/plans/{plan.slug}/evidence/{evidence.id}").status_code == 404
    sign_in(client, people["other"])
    assert fetch(client, f"/plans/{plan.slug}/evidence/{evidence.id}").status_code == 404
    assert fetch(client, f"/followup/evidence/{evidence.id}/file").status_code == 403
    client.post("/auth/logout")
    sign_in(client, people["implementer"])
    assert fetch(client, f"/plans/{plan.slug}/evidence/{evidence.id}").status_code == 200


def test_the_open_data_lists_the_accepted_file_where_it_is_served(app, plan, people, client):
    evidence = png_evidence(plan, people)
    review.review(evidence.id, people["monitor"], "accepted", "")
    rows = fetch(client, f"/api/v1/plans/{plan.slug}/evidence.csv").get_data(as_text=True)
    url = f"http://localhost/plans/{plan.slug}/evidence/{evidence.id}"
    assert url in rows
    assert fetch(client, url.removeprefix("http://localhost")).data == PNG
