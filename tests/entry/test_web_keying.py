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


def test_a_serial_of_another_municipality_is_a_message_with_the_typed_form_kept(
        client, login_as, people, consultation):
    """Issue 18, 9: a serial typo (wrong municipality) gave a bare 403 and lost the typing."""
    login_as(people.tlajo)
    response = client.post(f"/entry/{consultation.slug}/key",
                           data=dict(FORM, q_problem="Baches en la calle"))
    assert response.status_code == 422
    assert ('id="serial-error">El folio 14039-000001 pertenece al municipio 14039, en el que '
            "tu cuenta no puede trabajar") in response.text
    assert 'value="14039-000001"' in response.text
    assert 'value="Baches en la calle"' in response.text
    assert '<option value="private" selected>' in response.text
    assert count(PaperKeying) == 0
    assert count(Response) == 0
    assert post(client, consultation, serial="14097-000001").status_code == 200
    assert count(PaperKeying) == 1


def test_another_municipalitys_discrepancy_by_url_is_still_403(client, login_as, people,
                                                                 consultation, make_user):
    login_as(people.gdl1)
    post(client, consultation)
    login_as(people.gdl2)
    post(client, consultation, q_age="40")
    login_as(make_user("supervisor", email="south@example.org", municipalities=["14097"]))
    url = f"/entry/{consultation.slug}/discrepancies/14039-000001"
    assert client.get(url).status_code == 403
    assert client.get(url + "/type").status_code == 403
    assert client.post(url + "/type", data=dict(FORM, reason="x")).status_code == 403
    assert count(Response) == 0
    event = db.session.scalar(db.select(AuditEvent).where(
        AuditEvent.action == "access.out_of_scope"))
    assert event.details["path"] == url


def test_no_keying_nor_batches_in_a_draft(client, login_as, people, consultation):
    """Issue 18, 10: staff could key into a draft by direct URL."""
    consultation.is_draft = True
    db.session.commit()
    login_as(people.gdl1)
    assert "Esta consulta es un borrador" in client.get(
        f"/entry/{consultation.slug}/key").text
    response = client.post(f"/entry/{consultation.slug}/key", data=FORM)
    assert response.status_code == 422
    assert "Esta consulta es un borrador: publícala antes de imprimir" in response.text
    response = client.post(f"/entry/{consultation.slug}/batches",
                           data={"municipality": "14039", "count": "5"})
    assert "Esta consulta es un borrador: publícala antes de imprimir" in response.text
    assert count(PaperKeying) == 0
    assert len(paper.batches(consultation, people.boss)) == 2


def test_correct_my_first_keying(client, login_as, people, consultation):
    login_as(people.gdl1)
    post(client, consultation, q_age="43")
    page = client.post(f"/entry/{consultation.slug}/key", data=dict(FORM, q_age="34"))
    assert page.status_code == 422
    assert 'id="correct" name="action" value="correct"' in page.text
    assert 'value="34"' in page.text  # what was typed is kept
    page = client.post(f"/entry/{consultation.slug}/key",
                       data=dict(FORM, q_age="34", action="correct", reason=""))
    assert page.status_code == 422
    assert 'id="reason-error">Indica qué estás corrigiendo.' in page.text
    page = client.post(f"/entry/{consultation.slug}/key",
                       data=dict(FORM, q_age="34", action="correct", reason="Edad 34"),
                       follow_redirects=True)
    assert "Tu primera captura del cuestionario 14039-000001 fue reemplazada" in page.text
    login_as(people.gdl2)
    assert "guardado y aceptado" in post(client, consultation, q_age="34").text


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
    assert "Elige la primera o la segunda captura, o escribe lo que dice el papel." in \
        response.text
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


def test_supervisor_types_what_the_paper_says(client, login_as, people, consultation):
    login_as(people.gdl1)
    post(client, consultation, q_age="43")
    login_as(people.gdl2)
    post(client, consultation, q_age="44", q_problem="Agua")
    login_as(people.boss)
    url = f"/entry/{consultation.slug}/discrepancies/14039-000001"
    assert f'href="{url}/type"' in client.get(url).text
    page = client.get(url + "/type")
    assert page.status_code == 200
    assert 'id="q_age" name="q_age"' in page.text
    assert 'value="43"' in page.text  # pre-filled with the first keying
    assert '<option value="private" selected>' in page.text
    response = client.post(url + "/type", data=dict(FORM, q_age="45", reason=""))
    assert response.status_code == 422
    assert 'id="reason-error">Indica por qué ninguna captura coincide' in response.text
    assert 'value="45"' in response.text
    assert count(Response) == 0
    page = client.post(url + "/type", data=dict(FORM, q_age="45", reason="Dice 45"),
                       follow_redirects=True)
    assert "resuelto con lo que dice el papel, y aceptado" in page.text
    response = db.session.scalar(db.select(Response))
    age = consultation.question_by_code()["age"]
    assert [a.number_value for a in response.answers if a.question_id == age.id] == [45]
    resolution = db.session.scalar(db.select(PaperResolution))
    assert (resolution.resolved_by_id, resolution.reason) == (people.boss.id, "Dice 45")
    assert client.get(url + "/type").status_code == 302  # already resolved


def test_void_a_form_keyed_once_then_key_it_again(client, login_as, people, consultation):
    login_as(people.gdl1)
    post(client, consultation, q_age="43")
    login_as(people.boss)
    page = client.post(f"/entry/{consultation.slug}/void",
                       data={"serial": "14039-000001", "reason": "Engrapado con otro"},
                       follow_redirects=True)
    assert "Cuestionario 14039-000001 anulado." in page.text
    login_as(people.gdl1)
    assert "primera captura" in post(client, consultation).text
    assert count(PaperKeying) == 2
