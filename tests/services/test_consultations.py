"""Consultation definitions: every problem listed, texts updatable, structure locked."""

from __future__ import annotations

import copy

import pytest
from flask_babel import force_locale

from app.extensions import db
from app.models import Consultation, Option, Question, Theme
from app.services.consultations import (
    export_definition,
    load_definition,
    parse_json,
    validate_definition,
)
from app.services.errors import InvalidDefinition, StructureLocked
from app.services.responses import new_response
from tests.conftest import demo_definition


def test_demo_definition_is_valid(app):
    assert validate_definition(demo_definition()) == []


def _broken(mutate) -> dict:
    data = demo_definition()
    mutate(data)
    return data


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["title"].pop("en"), 'title: the text in language "en" is missing'),
        (lambda d: d["description"].update(es=" "), 'description: the text in language "es"'),
        (lambda d: d["themes"].append(copy.deepcopy(d["themes"][0])),
         'themes[13].code: code "security" is used twice'),
        (lambda d: d["theme_question"].update(min=4, max=3), "min (4) is greater than max (3)"),
        (lambda d: d["questions"][0].update(type="slider"), 'questions[1].type: unknown type'),
        (lambda d: d.update(closes_on="2016-10-01"),
         "closes_on: the closing date 2016-10-01 is before the opening date 2016-10-17"),
        (lambda d: d.update(opens_on="17/10/2016"), 'opens_on: "17/10/2016" is not a date'),
        (lambda d: d.update(slug="Consulta 2016"), "slug: must be 2 to 80 lowercase"),
        (lambda d: d.update(channels=["online", "fax"]), 'channels: unknown channel "fax"'),
        (lambda d: d.pop("themes"), "themes: is required"),
        (lambda d: d["questions"][0].update(options=[]), "questions[1].options: a single"),
        (lambda d: d["questions"][0]["options"].append({"code": "private", "label": {"es": "x",
                                                                                    "en": "x"}}),
         'questions[1].options[6].code: code "private" is used twice'),
        (lambda d: d["questions"][3].update(code="municipality"), "is reserved"),
        (lambda d: d["theme_question"].update(max=1, min=1), "a ranked question needs max"),
        (lambda d: d["theme_question"].update(max=20), "max (20) is more than the 12 themes"),
        (lambda d: d.update(color="red"), "color: unknown field"),
        (lambda d: d["questions"][2].update(min=90, max=10), "min (90) is greater than max (10)"),
        (lambda d: d["questions"][3].update(max_length=0), "questions[4].max_length: must be a"),
    ],
)
def test_invalid_definitions_name_the_problem(app, mutate, expected):
    with force_locale("en"):
        problems = validate_definition(_broken(mutate))
    assert any(expected in problem for problem in problems), problems


def test_every_problem_is_listed_at_once(app):
    def mutate(d):
        d["title"].pop("en")
        d["theme_question"].update(min=5, max=2)
        d.update(closes_on="2016-01-01")

    with force_locale("en"), pytest.raises(InvalidDefinition) as caught:
        load_definition(_broken(mutate))
    assert len(caught.value.problems) == 3
    assert db.session.scalar(db.select(db.func.count(Consultation.id))) == 0


def test_problems_are_translated(app):
    with force_locale("es_MX"):
        problems = validate_definition(_broken(lambda d: d["title"].pop("en")))
    assert problems == ['title: falta el texto en el idioma "en"']


def test_malformed_json_is_reported_with_its_position(app):
    with force_locale("en"), pytest.raises(InvalidDefinition) as caught:
        parse_json('{"slug": "x",,}')
    assert "Line 1, column 14" in caught.value.problems[0]


def test_load_creates_the_whole_questionnaire(app):
    consultation, created = load_definition(demo_definition())
    assert created
    assert [t.code for t in consultation.themes][:3] == ["security", "employment_inequality",
                                                         "health"]
    assert consultation.theme_ranked
    assert consultation.theme_max == 3
    sector = consultation.question_by_code()["sector"]
    assert [o.code for o in sector.options] == ["private", "academia", "public", "civil_society",
                                                "other"]
    assert consultation.question_by_code()["problem"].max_length == 2000


def test_export_then_load_gives_an_identical_consultation(app):
    consultation, _ = load_definition(demo_definition())
    exported = export_definition(consultation)
    exported["slug"] = "copia"
    copy_, _ = load_definition(exported)
    again = export_definition(copy_)
    again["slug"] = consultation.slug
    assert again == export_definition(consultation)


def test_reload_updates_texts_and_dates_in_place(app):
    consultation, _ = load_definition(demo_definition())
    theme_ids = [t.id for t in consultation.themes]
    data = demo_definition(closes_on="2016-10-25")
    data["themes"][0]["name"]["en"] = "Crime and insecurity"
    updated, created = load_definition(data)
    assert not created
    assert updated.closes_on.isoformat() == "2016-10-25"
    assert updated.themes[0].name["en"] == "Crime and insecurity"
    assert [t.id for t in updated.themes] == theme_ids
    assert db.session.scalar(db.select(db.func.count(Consultation.id))) == 1


def _add_response(consultation):
    db.session.add(new_response(consultation, channel="online", source="online",
                                municipality_code="14039", theme_codes=["security"],
                                answers={"sector": "private"}))
    db.session.commit()


def test_structural_change_is_refused_once_responses_exist(app):
    consultation, _ = load_definition(demo_definition())
    _add_response(consultation)
    data = demo_definition()
    data["themes"].pop()
    data["title"]["en"] = "Changed"
    with force_locale("en"), pytest.raises(StructureLocked, match="already has 1 response"):
        load_definition(data)
    db.session.expire_all()
    kept = db.session.get(Consultation, consultation.id)
    assert len(kept.themes) == 12
    assert kept.title["en"] != "Changed"


def test_structural_change_is_allowed_without_responses(app):
    load_definition(demo_definition())
    data = demo_definition()
    data["themes"].pop()
    data["questions"][0]["options"].pop()
    updated, _ = load_definition(data)
    assert len(updated.themes) == 11
    assert db.session.scalar(db.select(db.func.count(Theme.id))) == 11
    assert db.session.scalar(db.select(db.func.count(Option.id))) == 4 + 5
    assert db.session.scalar(db.select(db.func.count(Question.id))) == 4


def test_text_changes_are_allowed_after_responses(app):
    consultation, _ = load_definition(demo_definition())
    _add_response(consultation)
    data = demo_definition()
    data["questions"][0]["label"]["en"] = "Your sector"
    updated, _ = load_definition(data)
    assert updated.question_by_code()["sector"].label["en"] == "Your sector"


def test_status_follows_the_dates(app, make_consultation):
    from app.util import local_today

    today = local_today()
    assert make_consultation("open").status(today) == "open"
    assert make_consultation("upcoming").status(today) == "upcoming"
    assert make_consultation("closed").status(today) == "closed"
    last_day = make_consultation("open", closes_on=today.isoformat())
    assert last_day.status(today) == "open"  # dates are inclusive
