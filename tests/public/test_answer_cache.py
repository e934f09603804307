"""The answer form keeps its questionnaire per process: never stale, and few statements."""

from __future__ import annotations

import copy
from contextlib import contextmanager

import pytest
from sqlalchemy import event, text

from app.extensions import db
from app.models import Response
from app.services import builder
from app.services.consultations import load_definition
from tests.conftest import demo_definition
from tests.public.answer_helpers import form_token, valid_answer

FORM = "/c/abierta/answer"


@pytest.fixture
def definition():
    from datetime import timedelta

    from app.util import local_today

    today = local_today()
    return demo_definition(slug="abierta", opens_on=(today - timedelta(days=2)).isoformat(),
                           closes_on=(today + timedelta(days=10)).isoformat())


@pytest.fixture
def consultation(app, definition):
    return load_definition(definition)[0]


def edited(definition, change):
    data = copy.deepcopy(definition)
    change(data)
    return data


def rename_theme(data, code="health", es="Salud pública", en="Public health"):
    theme = next(t for t in data["themes"] if t["code"] == code)
    theme["name"] = {"es": es, "en": en}


def test_a_theme_renamed_with_consultations_load_shows_on_the_next_form(client, consultation,
                                                                         definition):
    assert ">Salud<" in client.get(FORM).get_data(as_text=True)  # the copy is now kept
    load_definition(edited(definition, rename_theme))
    html = client.get(FORM).get_data(as_text=True)
    assert ">Salud pública<" in html
    assert ">Salud<" not in html
    assert ">Public health<" in client.get(FORM + "?lang=en").get_data(as_text=True)


def test_a_question_changed_in_the_builder_shows_on_the_next_form(client, consultation):
    assert "¿A qué sector perteneces?" in client.get(FORM).get_data(as_text=True)

    def change(data):
        sector = next(q for q in data["questions"] if q["code"] == "sector")
        sector["label"] = {"es": "¿De qué sector eres?", "en": "Which sector are you from?"}
        sector["options"].append({"code": "retired", "label": {"es": "Jubilado", "en": "Retired"}})

    builder.edit("abierta", consultation.version, change, actor=None, action="test.edit")
    html = client.get(FORM).get_data(as_text=True)
    assert "¿De qué sector eres?" in html
    assert "¿A qué sector perteneces?" not in html
    assert 'value="retired"' in html


def test_an_edit_by_another_process_is_seen_through_the_database_alone(client, consultation):
    """Nothing tells this process about the edit: the version it reads per request does."""
    assert ">Salud<" in client.get(FORM).get_data(as_text=True)
    db.session.execute(text("UPDATE theme SET name = :name WHERE code = 'health'"),
                       {"name": '{"es": "Salud y medicinas", "en": "Health care"}'})
    db.session.execute(text("UPDATE consultation SET version = version + 1"))
    db.session.commit()
    assert ">Salud y medicinas<" in client.get(FORM).get_data(as_text=True)


def test_an_unpublished_consultation_stops_answering_at_once(client, consultation):
    assert client.get(FORM).status_code == 200
    builder.unpublish("abierta", consultation.version, actor=None)
    assert client.get(FORM).status_code == 404


def test_an_edit_while_a_post_is_checked_stores_nothing(app, consultation, definition):
    """The version is read again under the write lock: an answer checked against the old
    questionnaire is not stored against the new one."""
    from werkzeug.datastructures import MultiDict

    from app.services import public_form, submissions

    with app.test_request_context():
        form = public_form.get_published("abierta")
        token = submissions.issue_token(form)
        values = submissions.read_form(form, MultiDict(valid_answer(token)))
        cleaned, problems = submissions.validate(form, values)
        assert problems == []
        load_definition(edited(definition, rename_theme))
        with pytest.raises(submissions.FormChanged):
            submissions.store(form, token, cleaned)
        assert db.session.scalar(db.select(db.func.count(Response.id))) == 0
        stored = submissions.store(public_form.get_published("abierta"), token, cleaned)
    assert stored.replayed is False
    assert db.session.scalar(db.select(db.func.count(Response.id))) == 1


def _editing_before_each_store(monkeypatch, definition, names: list[str]) -> None:
    """Have an administrator rename a theme right before each store of an answer."""
    from app.services import submissions

    original = submissions.store
    edits = iter(names)

    def edit_first(*args, **kwargs):
        name = next(edits, None)
        if name is not None:
            load_definition(edited(definition, lambda data: rename_theme(data, es=name)))
        return original(*args, **kwargs)

    monkeypatch.setattr(submissions, "store", edit_first)


def test_an_answer_that_meets_an_edit_is_checked_against_the_new_version_and_stored(
        client, consultation, definition, monkeypatch):
    """The first try stores against the kept copy without reading the version; refused by
    the edit, the view reads the new version, checks the answer against it and stores."""
    token = form_token(client.get(FORM).get_data(as_text=True))
    _editing_before_each_store(monkeypatch, definition, ["Salud pública"])
    response = client.post(FORM, data=valid_answer(token))
    assert response.status_code == 303
    stored = db.session.scalars(db.select(Response)).all()
    assert [response.submission_token for response in stored] == [token]
    codes = {theme.id: theme.code for theme in consultation.themes}
    assert [codes[chosen.theme_id] for chosen in stored[0].themes] == ["health", "security"]


def test_the_form_changed_answer_keeps_the_answers_and_shows_the_new_version(
        client, consultation, definition, monkeypatch):
    token = form_token(client.get(FORM).get_data(as_text=True))
    # Edited before the first try and again before the view's own store.
    _editing_before_each_store(monkeypatch, definition, ["Salud pública", "Salud pública 2"])
    response = client.post(FORM, data=valid_answer(token))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Este formulario se modificó o caducó" in html
    assert ">Salud pública 2<" in html
    assert 'value="health" selected' in html  # the answers are kept
    assert f'value="{token}"' in html  # and the unused token
    assert db.session.scalar(db.select(db.func.count(Response.id))) == 0
    assert client.post(FORM, data=valid_answer(token)).status_code == 303
    assert db.session.scalar(db.select(db.func.count(Response.id))) == 1


def test_each_language_gets_its_own_kept_form(client, consultation):
    spanish = client.get(FORM).get_data(as_text=True)
    english = client.get(FORM + "?lang=en").get_data(as_text=True)
    assert ">Salud<" in spanish
    assert ">Health<" not in spanish
    assert ">Health<" in english
    assert ">Salud<" not in english
    assert ">Health<" in client.get(FORM).get_data(as_text=True)  # the session keeps English


class _CountedCursor:
    """A driver cursor that notes each statement it runs (app.database.driver_connection)."""

    def __init__(self, cursor, statements: list[str]):
        self._cursor, self._statements = cursor, statements

    def execute(self, statement, *args):
        if statement.strip().upper() not in ("BEGIN", "BEGIN IMMEDIATE"):
            self._statements.append(statement)
        return self._cursor.execute(statement, *args)

    def executemany(self, statement, *args):
        self._statements.append(statement)
        return self._cursor.executemany(statement, *args)

    def __getattr__(self, name):
        return getattr(self._cursor, name)


class _CountedConnection:
    def __init__(self, connection, statements: list[str]):
        self._connection, self._statements = connection, statements

    def cursor(self, *args, **kwargs):
        return _CountedCursor(self._connection.cursor(*args, **kwargs), self._statements)

    def __getattr__(self, name):
        return getattr(self._connection, name)


@contextmanager
def counted_statements():
    """Note every statement run, through SQLAlchemy or on a driver connection it lends."""
    engine = db.engine
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        if statement.strip().upper() not in ("BEGIN", "BEGIN IMMEDIATE"):
            statements.append(statement)

    raw_connection = engine.raw_connection
    event.listen(engine, "before_cursor_execute", count)
    engine.raw_connection = lambda: _CountedConnection(raw_connection(), statements)
    try:
        yield statements
    finally:
        del engine.raw_connection
        event.remove(engine, "before_cursor_execute", count)


def test_statements_per_request(client, consultation):
    """A submission reads the consultation's version, not its whole questionnaire, and stores
    the response in one transaction."""
    client.get(FORM)  # the first form of a version loads the questionnaire
    with counted_statements() as form:
        token = form_token(client.get(FORM).get_data(as_text=True))
    with counted_statements() as post:
        response = client.post(FORM, data=valid_answer(token))
    assert response.status_code == 303
    with counted_statements() as thanks:
        assert client.get(response.headers["Location"]).status_code == 200
    # Form: the version. Post: the store alone, against the copy the form was read from: a
    # used token is refused by the unique column, not looked up first. On SQLite the store
    # reads the version under the write lock, then inserts the response, its themes and its
    # answers; on PostgreSQL it is one statement that inserts the three only while the
    # version is the answer's. Thanks: the version and the response, in one statement.
    assert len(form) == 1, form
    inserts = [s for s in post if s.lstrip().upper().startswith("INSERT")]
    if db.engine.dialect.name == "postgresql":
        assert len(post) == 1, post
        assert post[0].lstrip().startswith("WITH stored AS (INSERT INTO response"), post
    else:
        assert len(post) - len(inserts) == 1, post
        assert len(inserts) == 3, inserts
    assert len(thanks) == 1, thanks


TOKENS = r'name="(csrf_token|submission_token)" value="[^"]*"'


def _without_tokens(html: str) -> str:
    import re

    return re.sub(TOKENS, r'name="\1" value=""', html)


def _tokens(html: str) -> tuple[str, ...]:
    import re

    return tuple(re.findall(r'name="(?:csrf_token|submission_token)" value="([^"]*)"', html))


def test_the_kept_empty_page_is_the_rendered_page_with_new_tokens(client, consultation,
                                                                   monkeypatch):
    from app.public import answer

    first = client.get(FORM).get_data(as_text=True)
    second = client.get(FORM).get_data(as_text=True)
    monkeypatch.setattr(answer, "_same_for_everyone", lambda: False)
    rendered = client.get(FORM).get_data(as_text=True)
    assert _without_tokens(first) == _without_tokens(second) == _without_tokens(rendered)
    assert "slot" not in second
    csrf_1, token_1 = _tokens(first)
    csrf_2, token_2 = _tokens(second)
    assert token_1 != token_2
    assert all((csrf_1, csrf_2, token_1, token_2))


def test_the_kept_page_takes_a_new_title_and_its_tokens_work(client, consultation, definition):
    from tests.public.answer_helpers import valid_answer

    client.get(FORM)
    data = edited(definition, lambda d: d.update(title={"es": "Consulta renovada",
                                                        "en": "Renewed consultation"}))
    load_definition(data)
    html = client.get(FORM).get_data(as_text=True)
    assert "Consulta renovada" in html
    response = client.post(FORM, data=valid_answer(form_token(html)))
    assert response.status_code == 303
    assert db.session.scalar(db.select(db.func.count(Response.id))) == 1


def test_signed_in_staff_and_query_strings_get_the_page_rendered_for_them(
        client, consultation, make_user, auth):
    client.get(FORM)  # the kept page exists
    english = client.get(FORM + "?lang=en").get_data(as_text=True)
    assert 'lang="en"' in english.split("\n", 2)[1]  # rendered in English, not the kept page
    user = make_user("analyst")
    auth.login(user.email)
    html = client.get(FORM).get_data(as_text=True)
    assert 'action="/auth/logout"' in html


RECEIPT = r"[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}"


@pytest.mark.parametrize("lang", ["es_MX", "en"])
def test_the_kept_thank_you_page_is_the_rendered_page_with_its_receipt(
        client, consultation, monkeypatch, lang):
    import re

    from app.public import answer

    client.get(f"/language/{lang}")
    thanks = []
    for _ in range(3):
        client.post(FORM + "/another")  # three people answering from one browser
        token = form_token(client.get(FORM).get_data(as_text=True))
        thanks.append(client.post(FORM, data=valid_answer(token)).headers["Location"])
    first = client.get(thanks[0]).get_data(as_text=True)
    second = client.get(thanks[1]).get_data(as_text=True)
    monkeypatch.setattr(answer, "_same_for_everyone", lambda: False)
    rendered = client.get(thanks[2]).get_data(as_text=True)
    for location, html in zip(thanks, (first, second, rendered), strict=True):
        code = location.rsplit("/", 1)[1]
        assert html.count(code) == 2  # the receipt and the other language's link
        assert f"next={location}" in html
        assert "slot" not in html
    assert (re.sub(RECEIPT, "CODE", first) == re.sub(RECEIPT, "CODE", second)
            == re.sub(RECEIPT, "CODE", rendered))
    assert ("se recibieron el" if lang == "es_MX" else "were received on") in first


def test_a_receipt_spelled_in_lower_case_gets_its_page_rendered(client, consultation):
    token = form_token(client.get(FORM).get_data(as_text=True))
    location = client.post(FORM, data=valid_answer(token)).headers["Location"]
    client.get(location)  # the kept page exists
    code = location.rsplit("/", 1)[1]
    html = client.get(location.lower()).get_data(as_text=True)
    assert f"<strong>{code}</strong>" in html
    assert f"next={location.lower()}" in html  # the path as it was asked for


def test_the_kept_thank_you_page_takes_a_new_title(client, consultation, definition):
    token = form_token(client.get(FORM).get_data(as_text=True))
    location = client.post(FORM, data=valid_answer(token)).headers["Location"]
    assert "Consulta renovada" not in client.get(location).get_data(as_text=True)
    load_definition(edited(definition, lambda d: d.update(title={"es": "Consulta renovada",
                                                                "en": "Renewed consultation"})))
    assert "Consulta renovada" in client.get(location).get_data(as_text=True)


@pytest.mark.parametrize("refusal", ["FormChanged", "ConsultationNotOpen"])
def test_a_replay_refused_by_an_edit_or_a_closing_still_shows_the_first_receipt(
        client, consultation, monkeypatch, refusal):
    """A used token is not looked up before storing; when store() refuses the replay for
    another reason, the first receipt is still what the person sees."""
    from app.services import submissions

    token = form_token(client.get(FORM).get_data(as_text=True))
    first = client.post(FORM, data=valid_answer(token))

    def refuse(*args, **kwargs):
        raise getattr(submissions, refusal)("refused")

    monkeypatch.setattr(submissions, "store", refuse)
    again = client.post(FORM, data=valid_answer(token))
    assert again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]
    assert db.session.scalar(db.select(db.func.count(Response.id))) == 1


def test_an_answer_sent_by_a_visitor_keeps_only_its_receipt_in_the_session(client, app,
                                                                          consultation):
    """Nobody is signed in: the session keeps the CSRF token, set by the form, and the
    receipt of the answer sent (so that the form shows it again rather than counting twice);
    nothing else."""
    form = client.get(FORM)
    assert "session=" in form.headers.get("Set-Cookie", "")
    response = client.post(FORM, data=valid_answer(form_token(form.get_data(as_text=True))))
    assert response.status_code == 303
    assert "session=" in response.headers["Set-Cookie"]
    session = app.session_interface.get_signing_serializer(app).loads(
        client.get_cookie("session").value)
    receipt = response.headers["Location"].rsplit("/", 1)[1]
    assert session == {"csrf_token": session["csrf_token"], "answered": {"abierta": receipt}}
    assert client.get(response.headers["Location"]).status_code == 200


def test_signed_in_staff_are_still_seen_on_the_public_pages(client, consultation, make_user,
                                                           auth):
    from app.security import signed_in

    auth.login(make_user("analyst").email)
    response = client.get(FORM)
    assert response.headers["Cache-Control"] == "no-store"
    assert 'action="/auth/logout"' in response.get_data(as_text=True)
    with client.application.test_request_context(FORM):
        assert signed_in() is False


def test_the_thank_you_page_of_an_unpublished_consultation_or_a_paper_receipt_is_404(
        client, consultation):
    token = form_token(client.get(FORM).get_data(as_text=True))
    location = client.post(FORM, data=valid_answer(token)).headers["Location"]
    assert client.get(location).status_code == 200
    db.session.execute(text("UPDATE response SET channel = 'paper'"))
    db.session.commit()
    assert client.get(location).status_code == 404
    db.session.execute(text("UPDATE response SET channel = 'online'"))
    # (the builder refuses to unpublish a consultation with responses: by hand here)
    db.session.execute(text("UPDATE consultation SET is_draft = :yes, version = version + 1"),
                       {"yes": True})
    db.session.commit()
    assert client.get(location).status_code == 404
