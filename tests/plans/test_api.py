"""The plans API: list, board (contract shape, 400 naming the parameter, 404), CLI equality."""

from __future__ import annotations

import json
from datetime import date

import pytest

from app.services.plans import load_plan


@pytest.fixture
def real_plan(plan_file):
    return load_plan(plan_file).plan


BOARD_KEYS = {"plan", "as_of", "summary", "commitments"}
COMMITMENT_KEYS = {"number", "title", "themes", "lead_agency", "light", "progress", "expected",
                   "origin", "milestones"}
MILESTONE_KEYS = {"number", "starts_on", "ends_on", "status", "completed_on"}


def test_plans_list(client, real_plan):
    response = client.get("/api/v1/plans?lang=en")
    assert response.status_code == 200
    [item] = response.get_json()
    assert {"slug", "title", "starts_on", "ends_on", "commitments"} <= set(item)
    assert item["slug"] == "plan-accion-2016-2018"
    assert item["title"] == "Jalisco Open Government Local Action Plan 2016-2018"
    assert (item["starts_on"], item["ends_on"], item["commitments"]) == (
        "2017-01-01", "2018-12-31", 7)


def test_board_has_the_contract_fields(client, real_plan):
    response = client.get("/api/v1/plans/plan-accion-2016-2018/board?as_of=2017-05-15")
    assert response.status_code == 200
    board = response.get_json()
    assert BOARD_KEYS <= set(board)
    assert board["plan"] == "plan-accion-2016-2018"
    assert board["as_of"] == "2017-05-15"
    assert set(board["summary"]) == {"complete", "green", "amber", "red", "not_started"}
    assert sum(board["summary"].values()) == 7
    first = board["commitments"][0]
    assert COMMITMENT_KEYS <= set(first)
    assert first["themes"] == ["security"]
    assert first["lead_agency"] == "Gobierno Municipal de Guadalajara"
    assert set(first["milestones"][0]) >= MILESTONE_KEYS
    assert first["origin"] == [{"consultation": "consulta-ampliada-2016", "theme": "security",
                                "rank": None, "vote_share": None}]
    # Milestone 1 ended 2017-03-31: 45 days before, past the 30 days of grace.
    assert first["light"] == "red"
    assert first["milestones"][0]["status"] == "overdue"
    assert first["progress"] == 0.0
    assert first["expected"] == 0.2


def test_board_after_the_plan_ends_still_has_lights(client, real_plan):
    board = client.get("/api/v1/plans/plan-accion-2016-2018/board?as_of=2030-01-01").get_json()
    assert board["summary"]["red"] == 7
    assert board["period_ended"] is True


def test_board_shows_a_completion_only_from_its_day(client, plan_file):
    plan_file["commitments"][0]["milestones"][0]["completed_on"] = "2017-03-20"
    load_plan(plan_file)
    url = "/api/v1/plans/plan-accion-2016-2018/board?as_of="
    before = client.get(url + "2017-03-19").get_json()["commitments"][0]["milestones"][0]
    on = client.get(url + "2017-03-20").get_json()["commitments"][0]["milestones"][0]
    assert (before["status"], before["completed_on"]) == ("in_progress", None)
    assert (on["status"], on["completed_on"]) == ("complete", "2017-03-20")


@pytest.mark.parametrize(("query", "parameter"), [
    ("as_of=2017-02-30", "as_of"), ("as_of=yesterday", "as_of"), ("as_of=2017-1-5", "as_of"),
    ("lang=fr", "lang"),
])
def test_bad_parameters_answer_400_naming_them(client, real_plan, query, parameter):
    response = client.get(f"/api/v1/plans/plan-accion-2016-2018/board?{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["parameter"] == parameter
    assert parameter in body["message"]


def test_unknown_plan_is_404_json(client, app):
    response = client.get("/api/v1/plans/nope/board")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"
    assert client.get("/api/v1/plans/nope/commitments.csv").status_code == 404
    assert client.get("/plans/nope/calendar.ics").status_code == 404


def test_board_default_day_is_today_in_mexico_city(client, real_plan):
    from app.util import local_today

    board = client.get("/api/v1/plans/plan-accion-2016-2018/board").get_json()
    assert board["as_of"] == local_today().isoformat()


def test_cli_board_json_equals_the_api(client, runner, real_plan):
    api = client.get("/api/v1/plans/plan-accion-2016-2018/board?as_of=2017-08-01&lang=es")
    result = runner.invoke(args=["plans", "board", "plan-accion-2016-2018", "--as-of",
                                 "2017-08-01", "--format", "json", "--lang", "es"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == api.get_json()


def test_openapi_describes_the_plans_api(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "/plans" in paths
    assert "/plans/{slug}/board" in paths


def test_board_through_a_real_server(gunicorn_server, real_plan):
    import urllib.error
    import urllib.request

    from app.extensions import db

    db.session.commit()
    base = gunicorn_server(workers=1)
    with urllib.request.urlopen(f"{base}/api/v1/plans/plan-accion-2016-2018/board"
                                "?as_of=2017-06-01") as response:
        board = json.loads(response.read())
    assert board["as_of"] == date(2017, 6, 1).isoformat()
    assert len(board["commitments"]) == 7
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"{base}/api/v1/plans/plan-accion-2016-2018/board?as_of=x")
    assert error.value.code == 400
    error.value.close()
