"""The entry screen, the discrepancy queue and voiding, through the web."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import AuditEvent, PaperKeying, PaperResolution, Response
from app.services import paper

FORM = {"serial": "14039-000001", "theme_security": "1", "theme_health": "2",
        "q_sector": "private", "q_heard_via": ["radio_tv"], "q_age": "34", "q_problem": ""}


def count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


@pytest.fixture
def consultation(make_consultation, people):
    found = make_consultation()
    paper.create_batch(found, "14039", 10, actor=people.boss)
    paper.create_batch(found, "14097", 10, actor=people.boss)
    return found


def post(client, consultation, **changes):
    data = dict(FORM, **changes)
    return client.post(f"/entry/{consultation.slug}/key", data=data, follow_redirects=True)


def test_entry_screen(client, login_as, people, consultation):
    login_as(people.gdl1)
    page = client.get(f"/entry/{consultation.slug}/key")
    assert page.status_code == 200
    assert 'id="serial" name="serial" required autofocus' in page.text
    assert "Capturados hoy: 0" in page.text
    assert "0 · En blanco" in page.text
    assert "? · Ilegible" in page.text
    assert '/static/js/entry.js' in page.text


def test_key_a_form_and_the_counters_move(client, login_as, people, consultation):
    login_as(people.gdl1)
    page = post(client, consultation)
    assert "Cuestionario 14039-000001 guardado (primera captura)" in page.text
    assert "Capturados hoy: 1" in page.text
    assert "Faltan en el lote 1: 10" in page.text
    serial_input = page.text.split('id="serial"')[1].split(">")[0]
    assert 'value=""' in serial_input  # an empty serial field for the next form
    login_as(people.gdl2)
    page = post(client, consultation)
    assert "Cuestionario 14039-000001 guardado y aceptado." in page.text
    assert "Faltan en el lote 1: 9" in page.text
    assert count(Response) == 1


def test_bad_answers_are_shown_next_to_their_field(client, login_as, people, consultation):
    login_as(people.gdl1)
    response = client.post(f"/entry/{consultation.slug}/key",
                           data=dict(FORM, q_age="7", theme_water="9"))
    assert response.status_code == 422
    assert 'id="age-error">Fuera del rango 12 a 120' in response.text
    assert 'id="themes-error">Los números de prioridad van de 1 a 3' in response.text
    assert 'value="14039-000001"' in response.text  # what was typed is kept
    assert count(PaperKeying) == 0


@pytest.mark.parametrize(("serial", "message"), [
    ("14039-000011", "El folio 14039-000011 no se emitió para esta consulta"),
    ("abc", "no es un folio"),
])
def test_serial_problems(client, login_as, people, consultation, serial, message):
    login_as(people.gdl1)
    response = client.post(f"/entry/{consultation.slug}/key", data=dict(FORM, serial=serial))
    assert response.status_code == 422
    assert 'id="serial-error">' in response.text
    assert message in response.text
    assert count(PaperKeying) == 0


def test_staff_of_tlajomulco_posting_for_guadalajara_gets_403(client, login_as, people,
                                                               consultation):
    login_as(people.tlajo)
    response = client.post(f"/entry/{consultation.slug}/key", data=FORM)
    assert response.status_code == 403
    assert "Tu cuenta no puede trabajar en el municipio 14039." in response.text
    assert count(PaperKeying) == 0
    event = db.session.scalar(db.select(AuditEvent).where(
        AuditEvent.action == "access.out_of_scope"))
    assert (event.actor_id, event.details["path"]) == (people.tlajo.id,
                                                       f"/entry/{consultation.slug}/key")
    assert count(Response) == 0
    assert post(client, consultation, serial="14097-000001").status_code == 200
    assert count(PaperKeying) == 1


def test_same_person_twice(client, login_as, people, consultation):
    login_as(people.gdl1)
    post(client, consultation)
    page = post(client, consultation)
    assert "Ya capturaste el cuestionario 14039-000001" in page.text
    assert count(PaperKeying) == 1


def test_analysts_cannot_key(client, login_as, people, consultation):
    login_as(people.analyst)
    assert client.post(f"/entry/{consultation.slug}/key", data=FORM).status_code == 403
    assert count(PaperKeying) == 0


def test_discrepancy_queue_and_resolution(client, login_as, people, consultation):
    login_as(people.gdl1)
    post(client, consultation)
    login_as(people.gdl2)
    page = post(client, consultation, q_sector="public")
    assert "las dos capturas difieren" in page.text
    assert client.get(f"/entry/{consultation.slug}/discrepancies").status_code == 403
    login_as(people.boss)
    queue = client.get(f"/entry/{consultation.slug}/discrepancies")
    assert "Resolver 14039-000001" in queue.text
    url = f"/entry/{consultation.slug}/discrepancies/14039-000001"
    page = client.get(url)
    assert "Primera captura: Sector privado" in page.text
    assert "Segunda captura: Sector público" in page.text
    assert "gdl1@example.org" in page.text
    response = client.post(url, data={})
    assert response.status_code == 422
    assert "Elige la primera o la segunda captura." in response.text
    page = client.post(url, data={"decide_sector": "second"}, follow_redirects=True)
    assert "Cuestionario 14039-000001 resuelto y aceptado." in page.text
    assert "No hay discrepancias." in page.text
    assert count(Response) == 1
    assert count(PaperResolution) == 1
    again = client.post(url, data={"decide_sector": "first"}, follow_redirects=True)
    assert "El cuestionario 14039-000001 ya fue resuelto." in again.text
    assert client.get(url).status_code == 302
    assert count(Response) == 1


def test_server_refuses_adjudication_by_a_keyer(client, login_as, people, consultation):
    login_as(people.boss)
    post(client, consultation)
    login_as(people.gdl1)
    post(client, consultation, q_age="35")
    login_as(people.boss)
    url = f"/entry/{consultation.slug}/discrepancies/14039-000001"
    assert "Tú capturaste este cuestionario" in client.get(url).text
    page = client.post(url, data={"decide_age": "first"}, follow_redirects=True)
    assert "Tú capturaste el cuestionario 14039-000001" in page.text
    assert count(Response) == 0
    assert count(PaperResolution) == 0


def test_supervisor_voids_an_accepted_form(client, login_as, people, consultation):
    login_as(people.gdl1)
    post(client, consultation)
    login_as(people.gdl2)
    post(client, consultation)
    url = f"/entry/{consultation.slug}/void"
    assert client.post(url, data={"serial": "14039-000001", "reason": "x"}).status_code == 403
    login_as(people.boss)
    page = client.post(url, data={"serial": "14039-000001", "reason": ""},
                       follow_redirects=True)
    assert "Indica el motivo para anular el cuestionario." in page.text
    page = client.post(url, data={"serial": "14039-000001", "reason": "Duplicado"},
                       follow_redirects=True)
    assert "Cuestionario 14039-000001 anulado." in page.text
    assert db.session.scalar(db.select(Response.state)) == "voided"
