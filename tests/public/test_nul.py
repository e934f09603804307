"""NUL characters in requests (app/nul.py): refused with a message naming the field or
parameter, never a 500, on SQLite and PostgreSQL; the online answer keeps every answer."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request

import pytest

from app.extensions import db
from app.models import Answer, PaperKeying, Response
from app.services import paper
from tests.public.answer_helpers import form_token, valid_answer

NUL = "\x00"


def count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


@pytest.fixture
def consultation(make_consultation):
    return make_consultation("open", slug="abierta")


def test_a_text_answer_with_nul_is_a_problem_of_its_question_with_every_answer_kept(
        client, consultation):
    token = form_token(client.get("/c/abierta/answer").get_data(as_text=True))
    response = client.post("/c/abierta/answer", data=valid_answer(
        token, q_problem="Faltan" + NUL + " medicinas.", q_age="41"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "no se puede guardar (NUL)" in html
    assert NUL not in html
    # Everything typed is kept, the text without its NUL.
    assert "Faltan medicinas.</textarea>" in html
    assert 'value="41"' in html
    assert '<option value="14039" selected>' in html
    assert count(Response) == 0
    # Sent again as shown, it is stored once, with the person's words.
    response = client.post("/c/abierta/answer",
                           data=valid_answer(form_token(html), q_problem="Faltan medicinas."))
    assert response.status_code == 303
    assert count(Response) == 1
    assert db.session.scalar(db.select(Answer.text_value).where(
        Answer.text_value.is_not(None))) == "Faltan medicinas."


def test_nul_in_a_code_of_the_answer_is_dropped_and_nothing_fails(client, consultation):
    token = form_token(client.get("/c/abierta/answer").get_data(as_text=True))
    response = client.post("/c/abierta/answer", data=valid_answer(
        token, municipality="140" + NUL + "39", q_age="3" + NUL + "4",
        theme_1="hea" + NUL + "lth", q_sector="academia" + NUL))
    assert response.status_code == 303
    assert count(Response) == 1


def test_nul_in_the_language_switch_and_the_honeypot_is_harmless(client, consultation):
    token = form_token(client.get("/c/abierta/answer").get_data(as_text=True))
    response = client.post("/c/abierta/answer", data=valid_answer(
        token, switch_language="e" + NUL + "n"))
    assert response.status_code == 200
    assert count(Response) == 0


@pytest.mark.parametrize(("path", "name"), [
    ("/api/v1/consultations/abierta/ranking?region=1%00", "region"),
    ("/api/v1/consultations/abierta/participation?channel=online%00", "channel"),
    ("/api/v1/consultations?x%00=1", "x\\0"),
])
def test_a_query_parameter_with_nul_is_a_json_400_naming_it(client, consultation, path, name):
    response = client.get(path)
    assert response.status_code == 400
    message = response.get_json()["message"]
    assert message.startswith(f'El parámetro "{name}" contiene un carácter que no se puede')


@pytest.mark.parametrize("path", [
    "/dashboard/abierta?region=%00",
    "/maps/abierta?theme=security%00",
    "/maps/abierta/map.png?level=%00",
    "/c/abierta/answer?lang=es%00",
    "/?q=%00",
])
def test_a_query_parameter_with_nul_on_a_page_is_a_400_page_naming_it(client, consultation,
                                                                       path):
    response = client.get(path)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    name = path.split("?")[1].split("=")[0]
    assert f"El parámetro &#34;{name}&#34; contiene un carácter que no se puede guardar" in html


@pytest.mark.parametrize("path", ["/c/abier%00ta/answer", "/c/abierta/thanks/K7MQ%00",
                                  "/c/abier%00ta", "/api/v1/consultations/abier%00ta/ranking"])
def test_an_address_with_nul_is_a_400(client, consultation, path):
    response = client.get(path)
    assert response.status_code == 400
    assert "(NUL)" in response.get_data(as_text=True)


def test_a_second_keying_field_with_nul_is_a_400_naming_it_and_stores_nothing(
        client, auth, make_user, make_consultation):
    found = make_consultation("open")
    boss = make_user("supervisor", all_municipalities=True)
    paper.create_batch(found, "14039", 5, actor=boss)
    staff = make_user("staff", municipalities=["14039"])
    auth.login(staff.email)
    response = client.post(f"/entry/{found.slug}/key", data={
        "serial": "14039-000001", "theme_security": "1", "q_sector": "private",
        "q_age": "34", "q_problem": "Baches" + NUL})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "El campo &#34;q_problem&#34; contiene un carácter que no se puede guardar" in html
    assert count(PaperKeying) == 0


def test_an_admin_form_field_with_nul_is_a_400(client, auth, make_user, consultation):
    admin = make_user("admin")
    auth.login(admin.email)
    response = client.post(f"/admin/c/{consultation.slug}/settings",
                           data={"title_es": "Consulta" + NUL})
    assert response.status_code == 400
    assert "title_es" in response.get_data(as_text=True)


def test_nul_through_a_real_server(gunicorn_server, consultation):
    base = gunicorn_server()
    with urllib.request.urlopen(base + "/c/abierta/answer") as response:
        cookie = response.headers["Set-Cookie"].split(";")[0]
        html = response.read().decode()
    csrf = html.split('name="csrf_token" value="')[1].split('"')[0]
    data = valid_answer(form_token(html), csrf_token=csrf, q_problem="Baches" + NUL + " aquí")
    request = urllib.request.Request(
        base + "/c/abierta/answer", data=urllib.parse.urlencode(data, doseq=True).encode(),
        headers={"Cookie": cookie})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 422
    page = refused.value.read().decode()
    refused.value.close()
    assert "no se puede guardar (NUL)" in page
    assert "Baches aquí</textarea>" in page
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(base + "/api/v1/consultations/abierta/ranking?region=%00")
    assert refused.value.code == 400
    refused.value.close()
    assert count(Response) == 0


def test_answers_carried_to_another_persons_form_lose_their_nul(client, consultation):
    client.post("/c/abierta/answer",
                data=valid_answer(form_token(client.get("/c/abierta/answer").text)))
    response = client.post("/c/abierta/answer/another", data={
        "carried": "1", "municipality": "14039", "q_problem": "Baches" + NUL + " aquí"})
    assert response.status_code == 200
    assert "Baches aquí</textarea>" in response.get_data(as_text=True)
