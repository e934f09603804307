"""A browser that just answered: Back and a form loaded before the answer do not count twice,
the form shows this browser's receipt, and "Answer for another person" lets the next person on
a shared device answer (the session keeps only the receipt code)."""

from __future__ import annotations

import re

import pytest
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.models import Response
from tests.public.answer_helpers import CSRF_RE, form_token, valid_answer

FORM = "/c/abierta/answer"


def count_responses() -> int:
    return db.session.scalar(db.select(db.func.count(Response.id)))


@pytest.fixture
def consultation(make_consultation):
    return make_consultation("open", slug="abierta")


def receipt_of(location: str) -> str:
    return location.rsplit("/", 1)[1]


def test_the_form_is_kept_out_of_caches_and_not_refilled_by_the_browser(client, consultation):
    response = client.get(FORM)
    assert response.headers["Cache-Control"] == "no-store"
    assert re.search(r'<form [^>]*id="answer-form"[^>]*autocomplete="off"', response.text)


def test_after_answering_the_form_shows_this_browsers_receipt(client, consultation):
    before = client.get(FORM).get_data(as_text=True)  # a second tab, loaded before answering
    sent = client.post(FORM, data=valid_answer(form_token(client.get(FORM).text)))
    assert sent.status_code == 303
    receipt = receipt_of(sent.headers["Location"])

    again = client.get(FORM)
    html = again.get_data(as_text=True)
    assert again.status_code == 200
    assert again.headers["Cache-Control"] == "no-store"
    assert "Ya respondiste esta consulta desde este navegador." in html
    assert receipt in html
    assert 'name="submission_token"' not in html
    assert "Responder por otra persona" in html

    # The older form, sent now from this browser (Back, or the other tab): nothing stored.
    posted = client.post(FORM, data=valid_answer(form_token(before), q_problem="Otra cosa"))
    assert posted.status_code == 409
    assert "El formulario que acabas de enviar no se guardó" in posted.text
    assert receipt in posted.text
    assert posted.headers["Cache-Control"] == "no-store"
    assert count_responses() == 1


def test_a_replay_of_the_stored_form_still_shows_its_receipt(client, consultation):
    data = valid_answer(form_token(client.get(FORM).text))
    first = client.post(FORM, data=data)
    second = client.post(FORM, data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert count_responses() == 1


def test_answer_for_another_person_shows_an_empty_form_and_stores_a_second_answer(
        client, consultation):
    first = client.post(FORM, data=valid_answer(form_token(client.get(FORM).text)))
    page = client.get(FORM).get_data(as_text=True)
    another = client.post(f"{FORM}/another",
                          data={"csrf_token": CSRF_RE.search(page).group(1)})
    assert another.status_code == 303
    assert another.headers["Location"].endswith(FORM)
    empty = client.get(FORM).get_data(as_text=True)
    assert 'name="submission_token"' in empty
    assert "Ya respondiste" not in empty
    assert "selected" not in empty.split('id="municipality"')[1].split("</select>")[0]
    second = client.post(FORM, data=valid_answer(form_token(empty), municipality="14120"))
    assert second.status_code == 303
    assert second.headers["Location"] != first.headers["Location"]
    assert count_responses() == 2
    # Now this browser remembers the second answer.
    assert receipt_of(second.headers["Location"]) in client.get(FORM).text


def test_answer_for_another_person_keeps_the_answers_sent_after_answering(client,
                                                                         consultation):
    before = client.get(FORM).get_data(as_text=True)
    client.post(FORM, data=valid_answer(form_token(client.get(FORM).text)))
    posted = client.post(FORM, data=valid_answer(form_token(before), q_problem="Falta agua.",
                                                 municipality="14120", q_age="71"))
    assert posted.status_code == 409
    carried = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">',
                              posted.text))
    assert carried["carried"] == "1"
    assert "submission_token" not in carried
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', posted.text)
    form = client.post(f"{FORM}/another", data=MultiDict(fields))
    html = form.get_data(as_text=True)
    assert form.status_code == 200
    assert "Falta agua.</textarea>" in html
    assert 'value="71"' in html
    assert '<option value="14120" selected>' in html
    stored = client.post(FORM, data=valid_answer(form_token(html), q_problem="Falta agua.",
                                                 municipality="14120", q_age="71"))
    assert stored.status_code == 303
    assert count_responses() == 2


def test_another_browser_is_not_affected(app, client, consultation):
    client.post(FORM, data=valid_answer(form_token(client.get(FORM).text)))
    other = app.test_client()
    assert 'name="submission_token"' in other.get(FORM).text
