"""CSRF and per-address rate limits of the answer form, turned on as in production."""

from __future__ import annotations

import re

import pytest

from app.extensions import db, limiter
from app.models import Response
from tests.public.answer_helpers import CSRF_RE, form_token, valid_answer


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True, "RATELIMIT_ENABLED": True,
            "ANSWER_RATE_LIMIT": "3 per minute"}


@pytest.fixture(autouse=True)
def _fresh_limits(app):
    limiter.reset()
    yield
    limiter.reset()


def count_responses() -> int:
    return db.session.scalar(db.select(db.func.count(Response.id)))


def fetch_form(client, address="10.0.0.1"):
    html = client.get("/c/abierta/answer",
                      environ_base={"REMOTE_ADDR": address}).get_data(as_text=True)
    return CSRF_RE.search(html).group(1), form_token(html)


@pytest.fixture
def consultation(make_consultation):
    return make_consultation("open", slug="abierta")


def test_a_valid_csrf_token_is_accepted(client, consultation):
    csrf_token, token = fetch_form(client)
    response = client.post("/c/abierta/answer", data=valid_answer(token, csrf_token=csrf_token),
                           environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert response.status_code == 303
    assert count_responses() == 1


@pytest.mark.parametrize("csrf_value", [None, "", "forged-token"])
def test_a_missing_or_tampered_csrf_token_keeps_the_answers_and_stores_nothing(
        client, consultation, csrf_value):
    _, token = fetch_form(client)
    data = valid_answer(token, csrf_token=csrf_value, municipality="14120")
    response = client.post("/c/abierta/answer", data=data,
                           environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Este formulario se modificó o caducó" in html
    assert '<option value="14120" selected>Zapopan</option>' in html
    assert count_responses() == 0
    # The re-rendered form carries a fresh CSRF token that works.
    fresh = CSRF_RE.search(html).group(1)
    response = client.post("/c/abierta/answer",
                           data=valid_answer(form_token(html), csrf_token=fresh),
                           environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert response.status_code == 303
    assert count_responses() == 1


def test_posts_are_limited_per_address_with_a_friendly_page(client, consultation):
    csrf_token, _ = fetch_form(client)
    statuses = []
    for _i in range(3):
        # Three people on one connection: each answers for another person (the browser
        # remembers the answer before, tests/public/test_answer_again.py).
        client.post("/c/abierta/answer/another", data={"csrf_token": csrf_token})
        _, token = fetch_form(client)
        statuses.append(client.post("/c/abierta/answer",
                                    data=valid_answer(token, csrf_token=csrf_token),
                                    environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code)
    assert statuses == [303, 303, 303]
    client.post("/c/abierta/answer/another", data={"csrf_token": csrf_token})
    _, token = fetch_form(client)
    response = client.post("/c/abierta/answer",
                           data=valid_answer(token, csrf_token=csrf_token, q_problem="Mi texto"),
                           environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert "Se enviaron muchas respuestas desde tu conexión" in html
    # The typed answers are kept, ready to send again later.
    assert "Mi texto</textarea>" in html
    assert count_responses() == 3
    # Reading the form is never limited, and another address may still post.
    assert client.get("/c/abierta/answer",
                      environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 200
    client.post("/c/abierta/answer/another", data={"csrf_token": csrf_token})
    _, token = fetch_form(client, "10.0.0.2")
    response = client.post("/c/abierta/answer", data=valid_answer(token, csrf_token=csrf_token),
                           environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert response.status_code == 303


def test_the_limit_page_is_translated(client, consultation):
    client.get("/language/en")
    csrf_token, _ = fetch_form(client)
    for _i in range(4):
        _, token = fetch_form(client)
        response = client.post("/c/abierta/answer",
                               data=valid_answer(token, csrf_token=csrf_token, consent=None),
                               environ_base={"REMOTE_ADDR": "10.0.0.3"})
    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert "Many answers were sent from your connection" in html
    assert re.search(r'<html lang="en">', html)
