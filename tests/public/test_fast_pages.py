"""A first-time visitor's form and thank-you page, served before Flask (app/public/fast.py):
the same pages as Flask's, tokens Flask accepts, and everything else left to Flask."""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from flask import Flask

from app.extensions import db
from app.models import Response
from app.public import answer
from app.public.fast import FastPages
from app.services import public_form
from tests.conftest import PASSWORD
from tests.public.answer_helpers import CSRF_RE, TOKEN_RE, form_token, valid_answer

FORM = "/c/abierta/answer"
ENGLISH = {"Accept-Language": "en-US,en;q=0.8"}


@pytest.fixture
def consultation(make_consultation):
    return make_consultation("open", slug="abierta")


@pytest.fixture
def flask_calls(app):
    """Count the requests that reach Flask's own wsgi_app (the rest were served fast)."""
    fast = app.wsgi_app
    assert isinstance(fast, FastPages)
    calls: list[str] = []
    flask_wsgi_app = fast.wsgi_app

    def counted(environ, start_response):
        calls.append(environ["PATH_INFO"])
        return flask_wsgi_app(environ, start_response)

    fast.wsgi_app = counted
    yield calls
    fast.wsgi_app = flask_wsgi_app


@contextmanager
def flask_only(app: Flask):
    """Serve every request with Flask, as with FAST_PUBLIC_PAGES off."""
    fast = app.wsgi_app
    app.wsgi_app = fast.wsgi_app
    try:
        yield
    finally:
        app.wsgi_app = fast


def comparable(response) -> tuple:
    """Return the response's status, headers and body with the per-visitor values masked."""
    body = response.get_data(as_text=True)
    body = CSRF_RE.sub('name="csrf_token" value="CSRF"', body)
    body = TOKEN_RE.sub('name="submission_token" value="TOKEN"', body)
    headers = sorted((name, re.sub(r"^session=[^;]*", "session=VALUE", value)
                      if name == "Set-Cookie" else value)
                     for name, value in response.headers)
    return response.status_code, headers, body


def session_of(app: Flask, client) -> dict:
    cookie = client.get_cookie("session")
    return app.session_interface.get_signing_serializer(app).loads(cookie.value)


@pytest.mark.parametrize("headers", [{}, ENGLISH], ids=["spanish", "english"])
def test_the_form_page_is_the_one_flask_serves(app, consultation, flask_calls, headers):
    with flask_only(app):
        by_flask = app.test_client().get(FORM, headers=headers)
    flask_calls.clear()
    fast = app.test_client().get(FORM, headers=headers)  # Flask kept the page above
    assert flask_calls == []
    assert comparable(fast) == comparable(by_flask)
    assert fast.status_code == 200
    assert ("Cache-Control", "no-store") in fast.headers.items()
    assert fast.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert fast.headers["Vary"] == "Cookie"
    cookie = fast.headers["Set-Cookie"]
    for attribute in ("HttpOnly", "SameSite=Lax", "Path=/"):
        assert attribute in cookie
    html = fast.get_data(as_text=True)
    assert ("Municipio donde vives" if not headers else "Municipality where you live") in html


def test_each_fast_form_has_new_tokens_that_flask_accepts(app, consultation, flask_calls):
    app.config["WTF_CSRF_ENABLED"] = True
    app.test_client().get(FORM)  # Flask renders and keeps the page
    flask_calls.clear()
    seen = set()
    for _ in range(3):
        client = app.test_client()
        html = client.get(FORM).get_data(as_text=True)
        csrf_token, token = CSRF_RE.search(html).group(1), form_token(html)
        assert (csrf_token, token) not in seen
        seen.add((csrf_token, token))
        assert set(session_of(app, client)) == {"csrf_token"}
        posted = client.post(FORM, data=valid_answer(token, csrf_token=csrf_token))
        assert posted.status_code == 303, posted.get_data(as_text=True)[:500]
    assert flask_calls == [FORM] * 3  # the three posts, not the forms


def test_a_forged_csrf_token_is_refused_after_a_fast_form(app, consultation):
    app.config["WTF_CSRF_ENABLED"] = True
    app.test_client().get(FORM)
    client = app.test_client()
    token = form_token(client.get(FORM).get_data(as_text=True))
    other = app.test_client()
    other_csrf = CSRF_RE.search(other.get(FORM).get_data(as_text=True)).group(1)
    posted = client.post(FORM, data=valid_answer(token, csrf_token=other_csrf))
    assert posted.status_code == 400


def answered(app, headers=None):
    """Return a client that answered the form (fast form page), and its thank-you address."""
    client = app.test_client()
    token = form_token(client.get(FORM, headers=headers).get_data(as_text=True))
    posted = client.post(FORM, data=valid_answer(token), headers=headers)
    assert posted.status_code == 303
    return client, posted.headers["Location"]


@pytest.mark.parametrize("headers", [{}, ENGLISH], ids=["spanish", "english"])
def test_the_thank_you_page_is_the_one_flask_serves(app, consultation, flask_calls, headers):
    app.test_client().get(FORM, headers=headers)
    client, thanks = answered(app, headers)
    with flask_only(app):
        client.get(thanks, headers=headers)  # Flask renders the page and keeps it
        by_flask = client.get(thanks, headers=headers)
    flask_calls.clear()
    fast = client.get(thanks, headers=headers)
    assert flask_calls == []
    assert comparable(fast) == comparable(by_flask)
    assert fast.status_code == 200
    assert "Set-Cookie" not in fast.headers
    html = fast.get_data(as_text=True)
    assert thanks.rsplit("/", 1)[1] in html
    assert ("Gracias" if not headers else "Thank you") in html


def test_a_new_days_date_is_formatted_on_the_fast_thank_you_page(app, consultation,
                                                                  flask_calls):
    app.test_client().get(FORM)
    client, thanks = answered(app)
    expected = client.get(thanks).get_data(as_text=True)
    answer.LONG_DATES.clear()
    flask_calls.clear()
    assert client.get(thanks).get_data(as_text=True) == expected
    assert flask_calls == []


def test_the_first_visit_of_a_version_and_language_is_rendered_by_flask(app, consultation,
                                                                        flask_calls):
    app.test_client().get(FORM)
    app.test_client().get(FORM, headers=ENGLISH)
    assert flask_calls == [FORM, FORM]
    app.test_client().get(FORM)
    app.test_client().get(FORM, headers=ENGLISH)
    assert flask_calls == [FORM, FORM]


@pytest.mark.parametrize("request_kind", [
    "query string", "a cookie", "HEAD", "unknown consultation", "closed consultation",
    "draft consultation", "trusted hosts"])
def test_other_form_requests_go_to_flask(app, consultation, make_consultation, flask_calls,
                                         request_kind):
    app.test_client().get(FORM)
    flask_calls.clear()
    client = app.test_client()
    path, expected = FORM, 200
    if request_kind == "query string":
        path = FORM + "?lang=en"
    elif request_kind == "a cookie":
        client.set_cookie("other", "1")
    elif request_kind == "unknown consultation":
        path, expected = "/c/nothing-here/answer", 404
    elif request_kind == "closed consultation":
        make_consultation("closed", slug="cerrada")
        path = "/c/cerrada/answer"
        app.test_client().get(path)
        flask_calls.clear()
    elif request_kind == "trusted hosts":
        app.config["TRUSTED_HOSTS"] = ["localhost"]  # Flask checks the host
    elif request_kind == "draft consultation":
        consultation.is_draft = True
        db.session.commit()
        expected = 404
    response = (client.head(path) if request_kind == "HEAD" else client.get(path))
    assert response.status_code == expected
    assert flask_calls == [path.split("?")[0]]
    if request_kind == "closed consultation":
        assert "csrf_token" not in response.get_data(as_text=True)


@pytest.mark.parametrize("request_kind", [
    "no kept page yet", "another cookie", "language chosen", "message waiting",
    "signed in", "letter case", "unknown receipt", "query string"])
def test_other_thank_you_requests_go_to_flask(app, consultation, flask_calls, make_user,
                                              request_kind):
    app.test_client().get(FORM)
    client, thanks = answered(app)
    if request_kind != "no kept page yet":
        client.get(thanks)  # Flask keeps the page
    flask_calls.clear()
    expected = 200
    if request_kind == "another cookie":
        client.set_cookie("other", "1")
    elif request_kind in ("language chosen", "message waiting"):
        with client.session_transaction() as session:
            if request_kind == "language chosen":
                session["lang"] = "en"
            else:
                session["_flashes"] = [("info", "Hola")]
    elif request_kind == "signed in":
        make_user("analyst", email="ana@example.org")
        client.post("/auth/login", data={"email": "ana@example.org", "password": PASSWORD})
        flask_calls.clear()
    elif request_kind == "letter case":
        thanks = thanks[:-14] + thanks[-14:].lower()
    elif request_kind == "unknown receipt":
        thanks, expected = thanks[:-14] + "AAAA-AAAA-AAAA", 404
    elif request_kind == "query string":
        thanks += "?x=1"
    response = client.get(thanks)
    assert response.status_code == expected
    assert flask_calls == [thanks.split("?")[0]]


def test_the_fast_form_shows_an_edit_within_the_recheck_time(app, consultation, flask_calls,
                                                             monkeypatch):
    from app.services import builder

    app.config["PUBLIC_FORM_RECHECK_SECONDS"] = 30
    now = [1000.0]
    monkeypatch.setattr(public_form.time, "monotonic", lambda: now[0])
    app.test_client().get(FORM)  # Flask: the version is read and the page kept
    old_client = app.test_client()
    old_page = old_client.get(FORM).get_data(as_text=True)  # fast, no statement
    assert "¿A qué sector perteneces?" in old_page

    def change(data):
        sector = next(q for q in data["questions"] if q["code"] == "sector")
        sector["label"] = {"es": "¿De qué sector eres?", "en": "Which sector are you from?"}

    builder.edit("abierta", consultation.version, change, actor=None, action="test.edit")
    now[0] += 29
    assert "¿A qué sector perteneces?" in app.test_client().get(FORM).get_data(as_text=True)
    # An answer sent from the older page is checked against the stored version (and stored:
    # it is valid for that one too).
    posted = old_client.post(FORM, data=valid_answer(form_token(old_page)))
    assert posted.status_code == 303
    assert db.session.scalar(db.select(db.func.count(Response.id))) == 1
    now[0] += 2
    flask_calls.clear()
    html = app.test_client().get(FORM).get_data(as_text=True)
    assert "¿De qué sector eres?" in html
    assert flask_calls == [FORM]  # the new version's page is rendered by Flask, then kept


@pytest.mark.parametrize("app_config", [{"FAST_PUBLIC_PAGES": False}])
def test_the_fast_pages_can_be_turned_off(app, consultation):
    assert not isinstance(app.wsgi_app, FastPages)
    assert app.test_client().get(FORM).status_code == 200


def test_a_fault_in_a_fast_page_leaves_it_to_flask(app, consultation, flask_calls,
                                                   monkeypatch, caplog):
    from app.services import submissions

    app.test_client().get(FORM)
    flask_calls.clear()
    issue_token = submissions.issue_token
    calls = []

    def failing_once(consultation):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return issue_token(consultation)

    monkeypatch.setattr(submissions, "issue_token", failing_once)
    app.testing = False
    try:
        response = app.test_client().get(FORM)
    finally:
        app.testing = True
    assert response.status_code == 200
    assert flask_calls == [FORM]
    assert "The fast page failed" in caplog.text


# The request hooks that fast.py's pages were checked against. Flask runs them for every
# other request; a new one may change these pages too: review app/public/fast.py, then add it.
REVIEWED_HOOKS = {
    "before_request": {None: ["CSRFProtect.init_app.<locals>.csrf_protect",
                              "_enforce_session_timeouts", "_require_admin_two_factor",
                              "refuse_nul"]},
    "after_request": {None: ["LoginManager._update_remember_cookie", "_add_security_headers"],
                      "public": ["_no_store"],
                      # Cache-Control of the open data's error answers: not a fast page's.
                      "opendata": ["_errors_not_kept"]},
    "teardown_request": {},
    "url_value_preprocessor": {},
}


def test_the_app_has_no_request_hook_the_fast_pages_were_not_checked_against(app):
    found = {
        "before_request": app.before_request_funcs,
        "after_request": app.after_request_funcs,
        "teardown_request": app.teardown_request_funcs,
        "url_value_preprocessor": app.url_value_preprocessors,
    }
    names = {kind: {blueprint: [f.__qualname__ for f in functions]
                    for blueprint, functions in hooks.items() if functions}
             for kind, hooks in found.items()}
    assert names == REVIEWED_HOOKS


def test_a_browser_that_answered_gets_its_receipt_from_flask_not_a_fast_form(app, consultation,
                                                                            flask_calls):
    app.test_client().get(FORM)  # Flask keeps the form's page
    client, thanks = answered(app)
    flask_calls.clear()
    page = client.get(FORM)
    assert flask_calls == [FORM]
    assert thanks.rsplit("/", 1)[1] in page.get_data(as_text=True)
    assert 'name="submission_token"' not in page.get_data(as_text=True)
