"""The questionnaire editor: themes, questions and options, reordered without a mouse."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Option, Question, Theme
from tests.admin.conftest import add_response, audit_events, get

BASE = "/admin/c/consulta-2027"


def _text(response) -> str:
    return response.get_data(as_text=True).replace("&#34;", '"').replace("&quot;", '"')


def test_build_a_questionnaire(admin, draft):
    assert [t.code for t in draft.themes] == ["security", "health"]
    assert draft.themes[1].name == {"es": "Salud", "en": "Health"}
    question = draft.questions[0]
    assert (question.code, question.type, question.required) == ("sector", "single", True)
    assert [o.code for o in question.options] == ["private", "public"]
    for qtype, extra in (("multiple", {}), ("text", {"max_length": "500"}),
                         ("number", {"min_value": "12", "max_value": "120"})):
        response = admin.post(BASE + "/questions/new", data={
            "code": f"q-{qtype}", "type": qtype, "label_es": f"Pregunta {qtype}",
            "label_en": f"Question {qtype}", "version": get("consulta-2027").version, **extra})
        assert response.status_code == 302, _text(response)
    consultation = get("consulta-2027")
    by_code = consultation.question_by_code()
    assert by_code["q-text"].max_length == 500
    assert (by_code["q-number"].min_value, by_code["q-number"].max_value) == (12, 120)
    assert by_code["q-multiple"].type == "multiple"
    assert by_code["q-multiple"].options == []
    page = admin.get(BASE).get_data(as_text=True)
    assert "Pregunta number" in page
    assert "Mover hacia arriba" in page


def test_edit_a_theme_keeps_its_place(admin, draft):
    response = admin.post(BASE + "/themes/security", data={
        "code": "seguridad", "name_es": "Seguridad", "name_en": "Security",
        "version": draft.version})
    assert response.status_code == 302
    themes = get("consulta-2027").themes
    assert [(t.code, t.name["en"]) for t in themes] == [("seguridad", "Security"),
                                                         ("health", "Health")]


def test_reorder_with_buttons(admin, draft):
    response = admin.post(BASE + "/move", data={
        "kind": "theme", "code": "health", "direction": "up", "version": draft.version})
    assert response.status_code == 302
    consultation = get("consulta-2027")
    assert [t.code for t in consultation.themes] == ["health", "security"]
    admin.post(BASE + "/move", data={"kind": "option", "question": "sector", "code": "private",
                                     "direction": "down", "version": consultation.version})
    consultation = get("consulta-2027")
    assert [o.code for o in consultation.questions[0].options] == ["public", "private"]
    assert len(audit_events("consultation.move")) == 2


def test_remove_items(admin, draft):
    admin.post(BASE + "/remove", data={"kind": "option", "question": "sector",
                                       "code": "public", "version": draft.version})
    consultation = get("consulta-2027")
    assert [o.code for o in consultation.questions[0].options] == ["private"]
    admin.post(BASE + "/remove", data={"kind": "question", "code": "sector",
                                       "version": consultation.version})
    consultation = get("consulta-2027")
    assert consultation.questions == []
    assert db.session.scalar(db.select(db.func.count(Option.id))) == 0
    admin.post(BASE + "/remove", data={"kind": "theme", "code": "health",
                                       "version": consultation.version})
    assert [t.code for t in get("consulta-2027").themes] == ["security"]


def test_change_a_question_type(admin, draft):
    response = admin.post(BASE + "/questions/sector", data={
        "code": "sector", "type": "multiple", "label_es": "Sectores", "label_en": "Sectors",
        "version": draft.version})
    assert response.status_code == 302
    question = get("consulta-2027").questions[0]
    assert question.type == "multiple"
    assert [o.code for o in question.options] == ["private", "public"]
    response = admin.post(BASE + "/questions/sector", data={
        "code": "sector", "type": "text", "label_es": "Sector", "label_en": "Sector",
        "max_length": "100", "version": get("consulta-2027").version})
    assert response.status_code == 302
    question = get("consulta-2027").questions[0]
    assert (question.type, question.options, question.max_length) == ("text", [], 100)


@pytest.mark.parametrize(
    ("url", "data", "expected"),
    [
        ("/questions/sector/options/new", {"code": "private", "label_es": "x", "label_en": "x"},
         'code "private" is used twice'),
        ("/themes/new", {"code": "health", "name_es": "Salud", "name_en": "Health"},
         'code "health" is used twice'),
        ("/themes/new", {"code": "Mal Código", "name_es": "x", "name_en": "x"},
         "must be lowercase letters, digits"),
        ("/questions/new", {"code": "municipality", "type": "text", "label_es": "x",
                            "label_en": "x"}, "is reserved for a column"),
        ("/questions/new", {"code": "age", "type": "number", "label_es": "Edad",
                            "label_en": "Age", "min_value": "90", "max_value": "10"},
         "min (90) is greater than max (10)"),
    ],
)
def test_bad_questionnaire_input_is_refused(admin, draft, url, data, expected):
    before = (db.session.scalar(db.select(db.func.count(Theme.id))),
              db.session.scalar(db.select(db.func.count(Question.id))),
              db.session.scalar(db.select(db.func.count(Option.id))), draft.version)
    response = admin.post(BASE + url + "?lang=en", data={**data, "version": draft.version})
    assert response.status_code == 400
    page = _text(response)
    assert expected in page
    assert "nothing was stored" in page
    after = (db.session.scalar(db.select(db.func.count(Theme.id))),
             db.session.scalar(db.select(db.func.count(Question.id))),
             db.session.scalar(db.select(db.func.count(Option.id))), get("consulta-2027").version)
    assert after == before


def test_theme_max_above_themes_blocks_publishing_only(admin, draft):
    # max 2 with 2 themes is fine; removing one leaves a draft that cannot be published yet.
    admin.post(BASE + "/remove", data={"kind": "theme", "code": "health",
                                       "version": draft.version})
    consultation = get("consulta-2027")
    assert len(consultation.themes) == 1
    response = admin.post(BASE + "/publish?lang=en", data={"version": consultation.version},
                          follow_redirects=True)
    assert "max (2) is more than the 1 themes" in _text(response)
    assert get("consulta-2027").is_draft


def test_structure_is_locked_once_responses_exist(admin, make_consultation):
    consultation = make_consultation("open", slug="con-respuestas")
    add_response(consultation)
    base = "/admin/c/con-respuestas"
    version = get("con-respuestas").version
    page = admin.get(base).get_data(as_text=True)
    assert "Agregar un tema" not in page
    assert "ya no pueden cambiar" in page
    attempts = [
        (base + "/themes/new", {"code": "nuevo", "name_es": "Nuevo", "name_en": "New"}),
        (base + "/themes/security", {"code": "inseguridad", "name_es": "Inseguridad",
                                     "name_en": "Insecurity"}),
        (base + "/questions/sector/options/new", {"code": "otro", "label_es": "Otro",
                                                  "label_en": "Other"}),
    ]
    for url, data in attempts:
        response = admin.post(url + "?lang=en", data={**data, "version": version})
        assert response.status_code == 400
        assert "already has 1 response(s)" in _text(response)
    for kind, code in (("theme", "health"), ("question", "age")):
        response = admin.post(base + "/remove?lang=en", data={"kind": kind, "code": code,
                                                              "version": version},
                              follow_redirects=True)
        assert "already has 1 response(s)" in _text(response)
    from tests.admin.conftest import settings_form
    response = admin.post(base + "/settings?lang=en", data=settings_form(
        slug="con-respuestas", theme_min="1", theme_max="2", version=version,
        opens_on=consultation.opens_on.isoformat(), closes_on=consultation.closes_on.isoformat()))
    assert response.status_code == 400
    assert "already has 1 response(s)" in _text(response)
    unchanged = get("con-respuestas")
    assert unchanged.version == version
    assert len(unchanged.themes) == 12
    assert unchanged.theme_max == 3
    assert audit_events("consultation.theme") == []


def test_texts_can_be_corrected_after_responses_with_audit(admin, make_consultation):
    consultation = make_consultation("open", slug="con-respuestas")
    add_response(consultation)
    old_name = dict(consultation.themes[0].name)
    response = admin.post("/admin/c/con-respuestas/themes/security", data={
        "code": "security", "name_es": "Inseguridad pública", "name_en": "Public insecurity",
        "version": consultation.version})
    assert response.status_code == 302
    assert get("con-respuestas").themes[0].name == {"es": "Inseguridad pública",
                                                    "en": "Public insecurity"}
    event = audit_events("consultation.theme")[-1]
    assert event.details["before"] == {"themes[1].name.es": old_name["es"],
                                       "themes[1].name.en": old_name["en"]}
    assert event.details["after"]["themes[1].name.en"] == "Public insecurity"
    # Reordering does not touch what responses refer to, so it is allowed.
    response = admin.post("/admin/c/con-respuestas/move", data={
        "kind": "theme", "code": "security", "direction": "down",
        "version": get("con-respuestas").version})
    assert get("con-respuestas").themes[1].code == "security"
