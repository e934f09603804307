"""The builder's rules, below the web: drafts may be incomplete, published ones may not."""

from __future__ import annotations

from flask_babel import force_locale

from app.services import builder
from tests.conftest import demo_definition


def test_missing_translations_are_listed():
    data = demo_definition()
    data["title"]["en"] = ""
    data["themes"][1]["name"] = {"es": "Salud"}
    assert builder.missing_translations(data) == [("title", "en"), ("themes[2].name", "en")]
    assert builder.missing_translations(demo_definition()) == []


def test_a_draft_may_be_incomplete_but_not_invalid(app):
    with force_locale("en"):
        _check_draft_rules()


def _check_draft_rules():
    data = demo_definition(themes=[])
    data["title"]["en"] = ""
    data["questions"][0]["options"] = []
    assert builder.draft_problems(data) == []
    problems = builder.publish_problems(data)
    assert 'title: the text in language "en" is missing' in problems
    assert "themes: must list at least one theme" in problems
    assert "questions[1].options: a single question needs at least one option" in problems
    data["theme_question"]["min"] = 5
    assert builder.draft_problems(data) == ["theme_question: min (5) is greater than max (3)"]


def test_changes_keep_only_what_differs():
    before = demo_definition()
    after = demo_definition()
    after["themes"][0]["name"]["en"] = "Public insecurity"
    after["channels"] = ["online"]
    old, new = builder.changes(before, after)
    assert old == {"themes[1].name.en": "Insecurity", "channels[2]": "paper"}
    assert new == {"themes[1].name.en": "Public insecurity"}


def test_moving_past_either_end_changes_nothing():
    data = demo_definition()
    codes = [t["code"] for t in data["themes"]]
    builder.move_item(data, "theme", codes[0], "up")
    builder.move_item(data, "theme", codes[-1], "down")
    assert [t["code"] for t in data["themes"]] == codes
