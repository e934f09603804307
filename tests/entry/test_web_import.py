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
        row("14039-900001", themes="security;health;water;education"),
        row("14039-900002", sector="=1+1"),
        row("14039-900001", submitted_on="2999-01-01")]))
    assert page.status_code == 200
    assert "Se rechazó el archivo: 4 problemas; no se guardó nada." in page.text
    assert "demasiados temas: máximo 3" in page.text
    assert "código o etiqueta de opción desconocidos" in page.text
    assert "folio duplicado: también en la fila 2" in page.text
    assert "la fecha está en el futuro" in page.text
    problems_table = page.text.split('id="problems"')[1].split("</table>")[0]
    assert problems_table.count("<tr><td>") == 4
    assert count(Response) == 0


def test_english_report(client, auth, people, make_consultation):
    consultation = make_consultation()
    auth.login(people.gdl1.email)
    client.get("/language/en")
    page = upload(client, consultation.slug, csv_bytes([row("14039-900001", sector="pirates")]))
    assert "unknown option code" in page.text


def test_outside_scope_is_a_row_problem_and_stores_nothing(client, auth, people,
                                                           make_consultation):
    """Issue 18: one out-of-scope row was a bare 403; it is a row of the problem table."""
    consultation = make_consultation()
    auth.login(people.tlajo.email)
    client.get("/language/en")
    page = upload(client, consultation.slug, csv_bytes([
        row("14097-900001", municipality="14097"), row("14039-900001", municipality="14039"),
        row("14097-900002", municipality="14097", age="7")]))
    assert page.status_code == 200  # the import job's page, its refusal shown
    assert "The file was refused: 2 problems; nothing was stored." in page.text
    assert ("<tr><td>3</td><td>municipality</td><td>14039</td><td>your account may not work "
            "on this municipality</td></tr>") in page.text
    assert "<tr><td>4</td><td>age</td><td>7</td><td>must be between 12 and 120</td></tr>" \
        in page.text
    # A way back to the import page, for the corrected file.
    assert f'href="/entry/{consultation.slug}/import"' in page.text
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
    (csv_bytes([row("14039-900001", problem="Niños")], encoding="latin-1"), "forms.csv",
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


# Issue 18 ------------------------------------------------------------------------------------


def test_template_download_is_importable_by_the_staff_who_downloads_it(client, login_as, people,
                                                                      make_consultation):
    consultation = make_consultation()
    login_as(people.tlajo)
    template = client.get(f"/entry/{consultation.slug}/import/template.csv").data
    assert template.decode("utf-8-sig").splitlines()[1].startswith("14097-000001,paper,14097,")
    page = upload(client, consultation.slug, template)
    assert "Se importaron 1 respuesta(s)" in page.text


def test_the_page_and_the_notes_list_codes_and_labels(client, login_as, people,
                                                      make_consultation):
    consultation = make_consultation()
    login_as(people.tlajo)
    page = client.get(f"/entry/{consultation.slug}/import")
    notes = page.text.split('id="template-notes"')[1].split("</details>")[0]
    assert "<tr><td>sector</td><td>private</td><td>Sector privado</td><td>Private sector</td>" \
        in notes
    assert "<tr><td>themes</td><td>security</td><td>Inseguridad</td><td>Insecurity</td>" in notes
    assert "<td>14097</td>" in notes
    assert "<td>14039</td>" not in notes
    response = client.get(f"/entry/{consultation.slug}/import/template-notes.csv")
    assert response.mimetype == "text/csv"
    lines = response.data.decode("utf-8-sig").splitlines()
    assert lines[0] == "column,code,label_es,label_en,note"
    assert "heard_via,radio_tv,Radio o televisión,Radio or television,varias separadas por ;" \
        in lines


def test_a_draft_takes_no_upload(client, login_as, people, make_consultation):
    consultation = make_consultation()
    consultation.is_draft = True
    db.session.commit()
    login_as(people.gdl1)
    page = upload(client, consultation.slug, csv_bytes(serials(2)))
    assert page.status_code == 422
    assert f"La consulta \"{consultation.slug}\" es un borrador" in page.text.replace(
        "&#34;", '"')
    assert count(Response) == 0


def test_unissued_serials_are_listed_after_the_upload(client, login_as, people,
                                                      make_consultation):
    consultation = make_consultation()
    login_as(people.gdl1)
    page = upload(client, consultation.slug, csv_bytes(serials(2)))
    assert page.status_code == 200
    assert "Se importaron 2 respuesta(s)" in page.text
    notices = page.text.split('id="notices"')[1].split("</table>")[0]
    assert notices.count("<tr><td>") == 2
    assert "<td>14039-000001</td><td>la aplicación no emitió este folio" in notices


def test_a_regional_supervisor_sees_and_voids_their_regions_batch(client, login_as, people,
                                                                  make_consultation, make_user):
    from app.models import Municipality, UserRegion

    consultation = make_consultation()
    login_as(people.gdl1)
    upload(client, consultation.slug, csv_bytes(serials(2)))
    batch_id = db.session.scalar(db.select(ImportBatch.id))
    supervisor = make_user("supervisor", email="region@example.org")
    supervisor.region_rows.append(UserRegion(
        region_number=db.session.get(Municipality, "14039").region_number))
    db.session.commit()
    login_as(supervisor)
    page = client.get(f"/entry/{consultation.slug}/import")
    assert f"Anular el lote {batch_id}" in page.text
    page = client.post(f"/entry/{consultation.slug}/import/{batch_id}/void",
                       data={"reason": "Capturado dos veces"}, follow_redirects=True)
    assert f"Lote de importación {batch_id} anulado." in page.text
    assert db.session.scalars(db.select(Response.state)).all() == ["voided", "voided"]


def signed_in_session(base: str, email: str):
    """Return a requests session signed in through the real sign-in form (CSRF included)."""
    import re

    import requests

    from tests.conftest import PASSWORD

    session = requests.Session()
    form = session.get(f"{base}/auth/login", timeout=30)
    token = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', form.text).group(1)
    signed = session.post(f"{base}/auth/login", timeout=30, allow_redirects=False,
                          data={"csrf_token": token, "email": email, "password": PASSWORD})
    assert signed.status_code == 302, signed.text[:500]
    return session


def post_file(session, base: str, slug: str, data: bytes, name: str = "forms.csv"):
    import re

    page = session.get(f"{base}/entry/{slug}/import", timeout=30)
    token = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
    return session.post(f"{base}/entry/{slug}/import", timeout=60,
                        data={"csrf_token": token, "token": "0123456789abcdef"},
                        files={"file": (name, data, "text/csv")})


def test_a_real_server_reports_an_out_of_scope_row_and_stores_citizens_words(
        gunicorn_server, people, make_consultation):
    """Issue 18.1 and 18.9 through gunicorn: a bare 403 and a refused "=SUM(A1) corrupción"."""
    import html

    from app.models import Answer

    consultation = make_consultation()
    email = people.tlajo.email
    # The import runs inside the request here; tests/entry/test_jobs.py runs a real worker.
    base = gunicorn_server(TASK_QUEUE_IMMEDIATE="true")
    session = signed_in_session(base, email)
    page = post_file(session, base, consultation.slug, csv_bytes([
        row("14097-900001", municipality="14097", problem="=SUM(A1) corrupción"),
        row("14039-900002", municipality="14039")]))
    assert page.status_code == 200  # the import job's page, its refusal shown
    text = html.unescape(page.text)
    assert "Se rechazó el archivo: 1 problema; no se guardó nada." in text
    assert ("<tr><td>3</td><td>municipality</td><td>14039</td><td>tu cuenta no puede trabajar "
            "en este municipio</td></tr>") in text
    assert f'href="/entry/{consultation.slug}/import"' in text
    assert count(Response) == 0
    page = post_file(session, base, consultation.slug, csv_bytes([
        row("14097-900001", municipality="14097", problem="=SUM(A1) corrupción"),
        row("14097-900002", municipality="14097", problem="@todos baches"),
        row("14097-900003", municipality="14097", problem="+52 33 1234 5678")]))
    assert page.status_code == 200
    assert "Se importaron 3 respuesta(s)" in html.unescape(page.text)
    db.session.rollback()  # end the test's read transaction: the server wrote after it began
    assert list(db.session.scalars(db.select(Answer.text_value).where(
        Answer.text_value.is_not(None)).order_by(Answer.response_id))) == [
        "=SUM(A1) corrupción", "@todos baches", "+52 33 1234 5678"]
