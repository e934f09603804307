"""Every field of the real 2016-2018 plan goes through the editor's forms and back unchanged."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from app.services import plan_editor
from tests.plans.conftest import plan_data


def _as_form(values: dict) -> MultiDict:
    form = MultiDict()
    for key, value in values.items():
        if key == "actors":
            for i, actor in enumerate(value + [{}], start=1):
                form.add(f"actor_name_{i}", actor.get("name", ""))
                form.add(f"actor_sector_{i}", actor.get("sector", ""))
        elif isinstance(value, list):
            for item in value:
                form.add(key, item)
        else:
            form.add(key, "" if value is None else str(value))
    return form


def test_commitments_and_milestones_round_trip_through_the_forms():
    data = plan_data()
    assert data["commitments"]
    for item in data["commitments"]:
        form = _as_form(plan_editor.commitment_values(item))
        expected = {key: value for key, value in item.items() if key != "milestones"}
        assert plan_editor.commitment_fields(form) == expected, item["number"]
        for milestone in item["milestones"]:
            back = plan_editor.milestone_fields(_as_form(plan_editor.milestone_values(milestone)))
            wanted = {key: value for key, value in milestone.items() if key != "completed_on"}
            wanted.setdefault("weight", 1)
            assert back == wanted, (item["number"], milestone["number"])


def test_plan_fields_round_trip():
    data = plan_data()
    values = {"slug": data["slug"], "starts_on": data["starts_on"], "ends_on": data["ends_on"],
              "grace_days": data.get("grace_days", 30), "consultations": data["consultations"],
              "title_es": data["title"]["es"], "title_en": data["title"]["en"]}
    fields = plan_editor.plan_fields(_as_form(values))
    assert fields == {key: data.get(key, 30) for key in (
        "slug", "title", "starts_on", "ends_on", "grace_days", "consultations")}
