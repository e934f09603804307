"""Uploading a spreadsheet on the web: report table, scope, template, void, progress."""

from __future__ import annotations

import io
import time

import pytest

from app.extensions import db
from app.models import ImportBatch, Response
from tests.entry.helpers import csv_bytes, row, serials, xlsx_bytes


def count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def upload(client, slug, data: bytes, name="forms.csv"):
    """Post a file; the job runs at once (TASK_QUEUE_IMMEDIATE) and its page is returned."""
    return client.post(f"/entry/{slug}/import", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data", follow_redirects=True)


def test_page_needs_staff_or_supervisor(client, login_as, people, make_consultation):
    consultation = make_consultation()
    assert client.get(f"/entry/{consultation.slug}/import").status_code == 302
    login_as(people.analyst)
    assert client.get(f"/entry/{consultation.slug}/import").status_code == 403
    login_as(people.gdl1)
    page = client.get(f"/entry/{consultation.slug}/import")
    assert page.status_code == 200
    assert "Importar una hoja de cálculo" in page.text


def test_valid_upload_is_stored(client, auth, people, make_consultation):
    consultation = make_consultation()
    auth.login(people.gdl1.email)
    page = upload(client, consultation.slug, csv_bytes(serials(3)))
    assert page.status_code == 200
    assert "Se importaron 3 respuesta(s) de forms.csv como lote" in page.text
    assert count(Response) == 3
    assert db.session.scalar(db.select(ImportBatch.created_by_id)) == people.gdl1.id


def test_xlsx_upload(client, auth, people, make_consultation):
    consultation = make_consultation()
    auth.login(people.gdl1.email)
    upload(client, consultation.slug, xlsx_bytes(serials(2)), "forms.xlsx")
    assert count(Response) == 2


def test_bad_file_shows_every_problem_in_a_table(client, auth, people, make_consultation):
    consultation = make_consultation()
    auth.login(people.gdl1.email)
    page = upload(client, consultation.slug, csv_bytes([
        row("S-1", themes="security;health;water;education"), row("S-2", sector="=1+1"),
        row("S-1", submitted_on="2999-01-01")]))
    assert page.status_code == 200
    assert "Se rechazó el archivo: 4 problemas; no se guardó nada." in page.text
    assert "demasiados temas: máximo 3" in page.text
    assert "no se aceptan fórmulas" in page.text
    assert "folio duplicado: también en la fila 2" in page.text
    assert "la fecha está en el futuro" in page.text
    assert page.text.count("<tr><td>") == 4
    assert count(Response) == 0


def test_english_report(client, auth, people, make_consultation):
    consultation = make_consultation()
    auth.login(people.gdl1.email)
    client.get("/language/en")
    page = upload(client, consultation.slug, csv_bytes([row("S-1", sector="pirates")]))
    assert "unknown option code" in page.text


def test_outside_scope_is_403_and_stores_nothing(client, auth, people, make_consultation):
    consultation = make_consultation()
    auth.login(people.tlajo.email)
    page = upload(client, consultation.slug, csv_bytes([row("S-1", municipality="14039")]))
    assert page.status_code == 403
    assert count(Response) == 0
    assert count(ImportBatch) == 0


def test_same_file_twice(client, auth, people, make_consultation):
    consultation = make_consultation()
    auth.login(people.gdl1.email)
    data = csv_bytes(serials(2))
    upload(client, consultation.slug, data)
    page = upload(client, consultation.slug, data)
    assert "este archivo ya se importó" in page.text
    assert count(Response) == 2


@pytest.mark.parametrize(("data", "name", "message"), [
    (b"", "forms.csv", "el archivo está vacío"),
    (csv_bytes([row("S-1", problem="Niños")], encoding="latin-1"), "forms.csv",
     "no es texto UTF-8"),
    (b"a", "forms.pdf", "Solo se pueden importar archivos .csv y .xlsx"),
])
def test_unreadable_files(client, auth, people, make_consultation, data, name, message):
    consultation = make_consultation()
    auth.login(people.gdl1.email)
    page = upload(client, consultation.slug, data, name)
    # A wrong extension is refused on upload; an unreadable file by its job.
    assert page.status_code == (422 if name.endswith(".pdf") else 200)
    assert message in page.text
    assert count(Response) == 0


def test_no_file_chosen(client, auth, people, make_consultation):
    consultation = make_consultation()
    auth.login(people.gdl1.email)
    page = client.post(f"/entry/{consultation.slug}/import", data={})
    assert page.status_code == 422
    assert "Elige un archivo CSV o XLSX" in page.text


def test_template_download(client, auth, people, make_consultation):
    consultation = make_consultation()
    auth.login(people.gdl1.email)
    response = client.get(f"/entry/{consultation.slug}/import/template.csv")
    assert response.mimetype == "text/csv"
    assert response.data.decode("utf-8-sig").startswith("form_serial,channel,municipality")


def test_progress_poll_reads_the_job_row(client, auth, people, make_consultation, app):
    """The poll answers from the database row the worker's heartbeat writes, on any host."""
    from app.models import Job
    from app.services import jobs

    consultation = make_consultation()
    auth.login(people.gdl1.email)
    job = Job(kind="import", consultation_id=consultation.id, created_by_id=people.gdl1.id,
              filename="big.csv", state="running", phase="start", worker=jobs.worker_id(),
              heartbeat_at=jobs.utcnow())
    db.session.add(job)
    db.session.commit()
    beat = jobs.Heartbeat(job.id, 0.05)
    beat.progress("store", 1000, 1200)
    beat.start()
    url = f"/entry/{consultation.slug}/import/jobs/{job.id}/state"
    try:
        for _ in range(100):
            db.session.rollback()  # the test's session is the requests' too: read afresh
            state = client.get(url).json
            if state["phase"] == "store":
                break
            time.sleep(0.05)
    finally:
        beat.stop()
    assert state == {"state": "running", "phase": "store", "done": 1000, "total": 1200}
    page = client.get(f"/entry/{consultation.slug}/import/jobs/{job.id}")
    assert "Guardando…" in page.text
    assert 'value="92"' in page.text  # half for checking, then 1000/1200 of the storing half
    # Someone else's job, or one of another consultation, is not found.
    other = make_consultation()
    assert client.get(f"/entry/{other.slug}/import/jobs/{job.id}/state").status_code == 404
    auth.logout()
    auth.login(people.gdl2.email)
    assert client.get(url).status_code == 404


def test_a_progress_poll_leaves_the_session_cookie_alone(client, auth, people,
                                                         make_consultation):
    """A poll answered while the upload is being posted must not send back the session it
    started with: it would replace the cookie carrying the import's message."""
    consultation = make_consultation()
    auth.login(people.gdl1.email)
    upload(client, consultation.slug, csv_bytes(serials(1)))
    from app.models import Job

    job_id = db.session.scalar(db.select(Job.id))
    with client.session_transaction() as session:
        session["last_seen_at"] -= 3600  # an hour idle: any other request moves the clock
    response = client.get(f"/entry/{consultation.slug}/import/jobs/{job_id}/state")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert "Set-Cookie" in client.get(f"/entry/{consultation.slug}/import").headers


def test_supervisor_voids_a_batch(client, auth, people, make_consultation, login_as):
    consultation = make_consultation()
    auth.login(people.gdl1.email)
    upload(client, consultation.slug, csv_bytes(serials(2)))
    batch_id = db.session.scalar(db.select(ImportBatch.id))
    url = f"/entry/{consultation.slug}/import/{batch_id}/void"
    assert client.post(url, data={"reason": "x"}).status_code == 403  # staff may not void
    login_as(people.boss)
    page = client.post(url, data={"reason": ""}, follow_redirects=True)
    assert "Indica el motivo" in page.text
    page = client.post(url, data={"reason": "Capturado dos veces"}, follow_redirects=True)
    assert f"Lote de importación {batch_id} anulado." in page.text
    assert db.session.scalars(db.select(Response.state)).all() == ["voided", "voided"]
    assert "Anulado: Capturado dos veces" in page.text
