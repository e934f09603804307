"""Citizens answer a consultation online: validation, storage, replays, closed consultations."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import Answer, Response, ResponseTheme
from app.util import local_today
from tests.public.answer_helpers import form_token, valid_answer


def count_responses() -> int:
    return db.session.scalar(db.select(db.func.count(Response.id)))


def count_rows() -> tuple[int, int, int]:
    return tuple(db.session.scalar(db.select(db.func.count()).select_from(model))
                 for model in (Response, ResponseTheme, Answer))


@pytest.fixture
def consultation(make_consultation):
    return make_consultation("open", slug="abierta")


@pytest.fixture
def token(client, consultation):
    return form_token(client.get("/c/abierta/answer").get_data(as_text=True))


def post(client, data, lang=None):
    path = "/c/abierta/answer" + (f"?lang={lang}" if lang else "")
    return client.post(path, data=data)


def test_form_shows_every_question_with_the_fixed_field_names(client, consultation):
    response = client.get("/c/abierta/answer")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for name in ("csrf_token", "submission_token", "municipality", "theme_1", "theme_2",
                 "theme_3", "q_sector", "q_heard_via", "q_age", "q_problem", "consent",
                 "website"):
        assert f'name="{name}"' in html, name
    assert 'name="theme_4"' not in html
    assert '<optgroup label="Región 12 Centro">' in html
    assert '<option value="14039">Guadalajara</option>' in html
    assert 'value="y"' in html
    assert "<legend>¿A qué sector perteneces?" in html
    assert "Salud" in html
    assert "Health" not in html


def test_head_of_the_form_answers_as_its_get_without_a_body(client, consultation):
    response = client.head("/c/abierta/answer")
    assert response.status_code == 200
    assert response.get_data() == b""
    assert count_rows() == (0, 0, 0)


def test_a_valid_answer_is_stored_once_with_a_receipt(client, consultation, token):
    response = post(client, valid_answer(token))
    assert response.status_code == 303
    location = response.headers["Location"]
    assert re.fullmatch(r"/c/abierta/thanks/[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}", location)
    stored = db.session.scalar(db.select(Response))
    assert (stored.channel, stored.source, stored.state) == ("online", "online", "accepted")
    assert stored.municipality_code == "14039"
    assert stored.submission_token == token
    assert stored.submitted_on == local_today()  # a day in Mexico City, like the dates
    assert location.endswith(stored.receipt_code)
    themes = {t.theme_id: t.position for t in stored.themes}
    by_code = consultation.theme_by_code()
    assert themes == {by_code["health"].id: 1, by_code["security"].id: 2}
    questions = {q.id: q.code for q in consultation.questions}
    options = {o.id: o.code for q in consultation.questions for o in q.options}
    values = sorted((questions[a.question_id], options.get(a.option_id, ""), a.text_value,
                     a.number_value) for a in stored.answers)
    assert values == [
        ("age", "", None, 34.0),
        ("heard_via", "school", None, None),
        ("heard_via", "social_media", None, None),
        ("problem", "", "Faltan medicinas.", None),
        ("sector", "academia", None, None),
    ]
    page = client.get(location).get_data(as_text=True)
    assert stored.receipt_code in page
    assert "Gracias por responder" in page


def test_optional_questions_may_stay_empty(client, consultation, token):
    data = valid_answer(token, q_heard_via=None, q_age="", q_problem="  ", theme_2="")
    assert post(client, data).status_code == 303
    stored = db.session.scalar(db.select(Response))
    assert len(stored.themes) == 1
    assert [a.question_id for a in stored.answers] == [consultation.question_by_code()[
        "sector"].id]


def test_receipt_page_of_another_consultation_or_unknown_code_is_404(client, make_consultation,
                                                                   consultation, token):
    location = post(client, valid_answer(token)).headers["Location"]
    make_consultation("open", slug="otra")
    code = location.rsplit("/", 1)[1]
    assert client.get(f"/c/otra/thanks/{code}").status_code == 404
    assert client.get("/c/abierta/thanks/AAAA-BBBB-CCCC").status_code == 404


BAD_INPUT = [
    ({"municipality": ""}, "municipality", "Elige tu municipio."),
    ({"municipality": "99999"}, "municipality", '"99999" no es un municipio de Jalisco'),
    ({"municipality": "09015"}, "municipality", '"09015" no es un municipio de Jalisco'),
    ({"theme_2": "health"}, "theme_2", "Elegiste Salud dos veces"),
    ({"theme_1": "", "theme_2": "", "theme_3": ""}, "themes", "Elige al menos 1 tema."),
    ({"theme_3": "water", "theme_4": "education"}, "themes", "Elige como máximo 3 temas."),
    ({"theme_1": "", "theme_2": "health", "theme_3": "security"}, "theme_1",
     "La prioridad 1 está vacía"),
    ({"theme_2": "", "theme_3": "water"}, "theme_2", "La prioridad 2 está vacía"),
    ({"theme_1": "unicorns"}, "theme_1", '"unicorns" no es uno de los temas.'),
    ({"q_sector": "martians"}, "q_sector", '"martians" no es una de las opciones.'),
    ({"q_sector": ["private", "academia"]}, "q_sector", "Elige solo una opción."),
    ({"q_sector": None}, "q_sector", "Elige una opción."),
    ({"q_heard_via": ["school", "pigeon"]}, "q_heard_via", '"pigeon" no es una de las opciones.'),
    ({"q_heard_via": ["school", "school"]}, "q_heard_via", "Elegiste una opción dos veces."),
    ({"q_problem": "x" * 2001}, "q_problem", "Usa como máximo 2000 caracteres; esta respuesta "
                                            "tiene 2001."),
    ({"q_age": "treinta"}, "q_age", '"treinta" no es un número.'),
    ({"q_age": "nan"}, "q_age", '"nan" no es un número.'),
    ({"q_age": "3e1"}, "q_age", '"3e1" no es un número.'),
    ({"q_age": "11"}, "q_age", "Escribe un número de 12 a 120."),
    ({"q_age": "121"}, "q_age", "Escribe un número de 12 a 120."),
    ({"q_age": ["30", "40"]}, "q_age", "Esta pregunta admite una sola respuesta."),
    ({"consent": None}, "consent", "Para enviar tus respuestas, acepta el aviso de privacidad."),
    ({"consent": "yes"}, "consent", "Para enviar tus respuestas, acepta el aviso de privacidad."),
]


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_INPUT)
def test_bad_input_is_refused_next_to_its_field_and_nothing_is_stored(
        client, consultation, token, overrides, field, message):
    response = post(client, valid_answer(token, **overrides))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    # The message sits next to its field (error id) and in the summary at the top.
    assert f'id="{field}-error"' in html
    error = re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', html, re.S)
    assert message in error.group(1).replace("&#34;", '"')
    assert 'class="error-summary"' in html
    assert html.index("error-summary") < html.index('id="answer-form"')
    assert count_rows() == (0, 0, 0)
    # The same token is offered again: the person can correct and send.
    assert form_token(html) == token


def test_required_questions_of_every_type(client, make_consultation):
    from tests.conftest import demo_definition

    definition = demo_definition()
    questions = [dict(q, required=True) for q in definition["questions"]]
    make_consultation("open", slug="obligatoria", questions=questions)
    token = form_token(client.get("/c/obligatoria/answer").get_data(as_text=True))
    data = valid_answer(token, q_sector=None, q_heard_via=None, q_age="", q_problem="")
    html = client.post("/c/obligatoria/answer", data=data).get_data(as_text=True)
    for field, message in (("q_sector", "Elige una opción."),
                           ("q_heard_via", "Elige al menos una opción."),
                           ("q_age", "Escribe un número."),
                           ("q_problem", "Escribe una respuesta.")):
        assert re.search(rf'id="{field}-error">.*?{re.escape(message)}', html, re.S), field
    assert count_responses() == 0


def test_unranked_theme_question_uses_checkboxes(client, make_consultation):
    make_consultation("open", slug="libre",
                      theme_question={"label": {"es": "Temas", "en": "Themes"}, "min": 2,
                                      "max": 3, "ranked": False})
    html = client.get("/c/libre/answer").get_data(as_text=True)
    assert 'type="checkbox" name="themes" id="themes-security" value="security"' in html
    assert 'name="theme_1"' not in html
    token = form_token(html)
    base = valid_answer(token, theme_1=None, theme_2=None, theme_3=None)
    cases = [
        (["health"], "Elige al menos 2 temas."),
        (["health", "water", "security", "education"], "Elige como máximo 3 temas."),
        (["health", "health"], "Elegiste Salud dos veces."),
        (["health", "dragons"], '"dragons" no es uno de los temas.'),
    ]
    for themes, message in cases:
        response = client.post("/c/libre/answer", data={**base, "themes": themes})
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        error = re.search(r'id="themes-error">(.*?)</p>', html, re.S).group(1)
        assert message in error.replace("&#34;", '"')
        assert count_responses() == 0
    response = client.post("/c/libre/answer", data={**base, "themes": ["water", "health"]})
    assert response.status_code == 303
    assert len(db.session.scalar(db.select(Response)).themes) == 2


def test_answers_are_kept_after_an_error(client, consultation, token):
    data = valid_answer(token, consent=None, q_problem="Baches <b>por</b> todos lados",
                        municipality="14120", theme_3="water", q_age="40")
    html = post(client, data).get_data(as_text=True)
    assert '<option value="14120" selected>Zapopan</option>' in html
    assert re.search(r'name="theme_1".*?<option value="health" selected>', html, re.S)
    assert re.search(r'name="theme_3".*?<option value="water" selected>', html, re.S)
    assert 'id="q_sector-academia" value="academia" checked' in html
    assert 'id="q_heard_via-school" value="school" checked' in html
    assert 'id="q_heard_via-social_media" value="social_media" checked' in html
    assert 'id="q_heard_via-radio_tv" value="radio_tv">' in html
    assert 'value="40"' in html
    # Free text is escaped, never rendered as markup.
    assert "Baches &lt;b&gt;por&lt;/b&gt; todos lados</textarea>" in html


def test_error_summary_links_to_the_fields(client, consultation, token):
    html = post(client, valid_answer(token, municipality="", q_sector=None, consent=None,
                                     theme_2="health")).get_data(as_text=True)
    summary = re.search(r'<div class="error-summary".*?</div>', html, re.S).group(0)
    links = re.findall(r'<a href="#([^"]+)">', summary)
    assert links == ["municipality", "theme_2", "q_sector-private", "consent"]
    for anchor in links:
        assert f'id="{anchor}"' in html
    assert "Corrige 4 respuestas:" in summary
    assert "Municipio donde vives — Elige tu municipio." in summary
    assert "Temas — Elegiste Salud dos veces (también como prioridad 1)." in summary
    assert '<title>Error: ' in html
    assert 'aria-invalid="true"' in html


def test_messages_are_in_the_chosen_language(client, consultation):
    token = form_token(client.get("/c/abierta/answer?lang=en").get_data(as_text=True))
    html = post(client, valid_answer(token, q_age="old", consent=None)).get_data(as_text=True)
    assert '"old" is not a number.' in html.replace("&#34;", '"')
    assert "To send your answers, accept the privacy notice." in html
    assert "Which sector do you belong to?" in html


@pytest.mark.parametrize("target", ["en", "es_MX"])
def test_switching_language_keeps_the_answers_without_storing(client, consultation, token,
                                                              target):
    if target == "es_MX":
        client.get("/language/en")
    data = valid_answer(token, consent=None, q_problem="Mi colonia", municipality="14120",
                        switch_language=target)
    response = post(client, data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'class="field-error"' not in html
    assert "error-summary" not in html
    assert '<option value="14120" selected>Zapopan</option>' in html
    assert "Mi colonia</textarea>" in html
    assert form_token(html) == token
    if target == "en":
        assert '<html lang="en">' in html
        assert "Which sector do you belong to?" in html
        assert 'value="es_MX"' in html
    else:
        assert '<html lang="es-MX">' in html
        assert "¿A qué sector perteneces?" in html
    assert count_responses() == 0
    # The language stays chosen for the next pages.
    assert ('<html lang="en">' in client.get("/").get_data(as_text=True)) == (target == "en")


def test_unknown_language_re_renders_without_storing(client, consultation, token):
    response = post(client, valid_answer(token, switch_language="fr"))
    assert response.status_code == 200
    assert count_responses() == 0


def test_double_submit_and_replay_store_one_response(client, consultation, token):
    first = post(client, valid_answer(token))
    second = post(client, valid_answer(token))
    # A replay with other answers (or even invalid ones) still shows the first receipt.
    third = post(client, valid_answer(token, municipality="14120", theme_1="water"))
    fourth = post(client, valid_answer(token, consent=None))
    assert first.status_code == second.status_code == third.status_code == 303
    assert fourth.status_code == 303
    assert len({r.headers["Location"] for r in (first, second, third, fourth)}) == 1
    assert count_responses() == 1
    assert db.session.scalar(db.select(Response)).municipality_code == "14039"


def test_two_tabs_get_two_tokens_and_store_two_answers(client, app, consultation):
    first = form_token(client.get("/c/abierta/answer").get_data(as_text=True))
    second = form_token(client.get("/c/abierta/answer").get_data(as_text=True))
    assert first != second
    assert post(client, valid_answer(first)).status_code == 303
    # Two browsers (two people): each stores its answer.
    assert app.test_client().post("/c/abierta/answer",
                                  data=valid_answer(second)).status_code == 303
    assert count_responses() == 2
    # The same browser's second tab, sent after the first answer, stores nothing: it shows
    # the receipt (tests/public/test_answer_again.py).
    assert post(client, valid_answer(second)).status_code == 303  # a replay of that token
    assert count_responses() == 2


def test_unique_token_column_refuses_a_second_insert(app, consultation):
    """The database, not a prior check, is what stops a replay: store() sees the conflict."""
    from app.services import submissions

    with app.test_request_context():
        token = submissions.issue_token(consultation)
        values = submissions.read_form(consultation, _multidict(valid_answer(token)))
        cleaned, problems = submissions.validate(consultation, values)
        assert problems == []
        first = submissions.store(consultation, token, cleaned)
        second = submissions.store(consultation, token, cleaned)
    assert first.replayed is False
    assert second.replayed is True
    assert second.response_id == first.response_id
    assert count_responses() == 1


def _multidict(data):
    from werkzeug.datastructures import MultiDict

    items = []
    for key, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            items.append((key, item))
    return MultiDict(items)


@pytest.mark.parametrize("tampered", [
    None,
    "",
    "garbage",
    "abc.def",
    "x" * 200,
])
def test_tampered_submission_token_is_refused(client, consultation, token, tampered):
    data = valid_answer(token, submission_token=tampered)
    response = post(client, data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Este formulario se modificó o caducó" in html
    assert '<option value="14039" selected>Guadalajara</option>' in html
    assert count_responses() == 0
    # A fresh genuine token is offered, so the person can still send.
    fresh = form_token(html)
    assert fresh != tampered
    assert post(client, valid_answer(fresh)).status_code == 303


def test_token_of_another_consultation_is_refused(client, make_consultation, consultation):
    make_consultation("open", slug="otra")
    other = form_token(client.get("/c/otra/answer").get_data(as_text=True))
    response = post(client, valid_answer(other))
    assert response.status_code == 400
    assert count_responses() == 0


def test_honeypot_refuses_quietly(client, consultation, token):
    response = post(client, valid_answer(token, website="http://spam.example"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Gracias por responder" in html
    assert "código de recibo" not in html
    assert count_rows() == (0, 0, 0)


@pytest.mark.parametrize("status", ["upcoming", "closed"])
def test_a_consultation_not_open_shows_its_dates_and_no_form(client, make_consultation, status):
    consultation = make_consultation(status, slug="fuera")
    response = client.get("/c/fuera/answer")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="answer-form"' not in html
    assert 'name="submission_token"' not in html
    from flask_babel import format_date

    with client.application.test_request_context():
        assert format_date(consultation.opens_on, "long") in html
        assert format_date(consultation.closes_on, "long") in html
    expected = "todavía no está abierta" if status == "upcoming" else "está cerrada"
    assert expected in html


@pytest.mark.parametrize("status", ["upcoming", "closed"])
def test_posting_to_a_consultation_not_open_is_refused(client, make_consultation, status):
    make_consultation(status, slug="fuera")
    from app.services import submissions

    consultation = make_consultation("open", slug="abierta-token")
    with client.application.test_request_context():
        token = submissions.issue_token(consultation)
    response = client.post("/c/fuera/answer", data=valid_answer(token))
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "Tus respuestas no se aceptaron" in html
    assert "No se guardó nada." in html
    assert count_rows() == (0, 0, 0)


def test_consultation_closing_while_the_form_is_open_stores_nothing(client, consultation,
                                                                    token):
    from datetime import timedelta

    from app.util import local_today

    consultation.closed_early_on = local_today() - timedelta(days=1)
    db.session.commit()
    response = post(client, valid_answer(token))
    assert response.status_code == 403
    assert count_responses() == 0


def test_paper_only_consultation_has_no_online_form(client, make_consultation):
    make_consultation("open", slug="papel", channels=["paper"])
    html = client.get("/c/papel/answer").get_data(as_text=True)
    assert 'id="answer-form"' not in html
    assert "solo en papel" in html
    assert "/c/papel/answer" not in client.get("/").get_data(as_text=True)
    assert client.post("/c/papel/answer", data={}).status_code == 403


def test_unknown_or_draft_consultation_is_404(client, make_consultation):
    assert client.get("/c/nada/answer").status_code == 404
    draft = make_consultation("open", slug="borrador")
    draft.is_draft = True
    db.session.commit()
    assert client.get("/c/borrador/answer").status_code == 404
    assert client.post("/c/borrador/answer", data={}).status_code == 404


def test_home_and_consultation_pages_link_to_answering(client, make_consultation):
    make_consultation("open", slug="abierta")
    make_consultation("closed", slug="cerrada")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/c/abierta/answer"' in home
    assert 'href="/c/cerrada/answer"' not in home
    assert 'href="/c/abierta/answer"' in client.get("/c/abierta").get_data(as_text=True)
    assert "/answer" not in client.get("/c/cerrada").get_data(as_text=True)


def test_text_length_counts_line_breaks_once(client, consultation, token):
    text = ("a" * 999 + "\r\n") * 2  # 2000 characters once CRLF is one line break
    assert post(client, valid_answer(token, q_problem=text.strip())).status_code == 303
    stored = db.session.scalar(db.select(Answer).where(Answer.text_value.is_not(None)))
    assert "\r" not in stored.text_value


def test_decimal_comma_is_accepted(client, consultation, token):
    assert post(client, valid_answer(token, q_age="34,5")).status_code == 303
    stored = db.session.scalar(db.select(Answer).where(Answer.number_value.is_not(None)))
    assert stored.number_value == 34.5


def test_no_third_party_requests_from_the_form(client, consultation):
    html = client.get("/c/abierta/answer").get_data(as_text=True)
    assert not re.search(r'(src|href|action)="(https?:)?//', html)
    assert "<script>" not in html
    assert "style=" not in html
    assert " onclick" not in html


def test_answers_and_receipts_are_not_cached(client, consultation, token):
    assert client.get("/c/abierta/answer").headers["Cache-Control"] == "no-store"
    error = post(client, valid_answer(token, consent=None))
    assert error.headers["Cache-Control"] == "no-store"
    location = post(client, valid_answer(token)).headers["Location"]
    assert client.get(location).headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")
