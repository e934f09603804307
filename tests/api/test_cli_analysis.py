"""flask analysis ranking|participation prints what the API answers, for the same filters."""

from __future__ import annotations

import csv
import io
import json

import pytest

API = "/api/v1/consultations/closed-one"


@pytest.fixture(autouse=True)
def english(monkeypatch):
    monkeypatch.setenv("CONSULTA_LANG", "en")


@pytest.mark.parametrize(("options", "query"), [
    ([], ""),
    (["--channel", "paper"], "channel=paper"),
    (["--region", "12", "--weight", "population"], "region=12&weight=population"),
    (["--metro", "0", "--option", "sector=private"], "metro=0&sector=private"),
    (["--municipality", "14039"], "municipality=14039"),
])
def test_ranking_json_is_the_api_json(runner, client, closed, options, query):
    result = runner.invoke(args=["analysis", "ranking", "closed-one", *options,
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    api = client.get(f"{API}/ranking?{query}&lang=en").get_json()
    assert json.loads(result.output) == api


def test_participation_json_is_the_api_json(runner, client, closed):
    result = runner.invoke(args=["analysis", "participation", "closed-one", "--channel",
                                 "online", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == client.get(f"{API}/participation?channel=online").get_json()


def test_table_and_csv(runner, closed):
    table = runner.invoke(args=["analysis", "ranking", "closed-one"])
    assert table.exit_code == 0, table.output
    assert "Insecurity" in table.output
    assert "40.0%" in table.output
    assert "Respondents: 5; weighting: none; themes for 80% of the vote: 3" in table.output
    result = runner.invoke(args=["analysis", "ranking", "closed-one", "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert rows[0]["code"] == "security"
    assert rows[0]["votes"] == "4"
    assert rows[0]["borda"] == "11"
    shown = runner.invoke(args=["analysis", "participation", "closed-one"])
    assert shown.exit_code == 0
    assert "Altos Sur" in shown.output
    assert "outside the metropolitan zone: 40.0%" in shown.output


def test_no_responses_gives_respondents_zero(runner, make_consultation):
    make_consultation("closed", slug="empty-one")
    result = runner.invoke(args=["analysis", "ranking", "empty-one", "--format", "json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["respondents"] == 0
    assert len(body["themes"]) == 12
    table = runner.invoke(args=["analysis", "ranking", "empty-one"])
    assert table.exit_code == 0
    assert "themes for 80% of the vote: -" in table.output


@pytest.mark.parametrize(("options", "message"), [
    (["--channel", "fax"], "--channel: channel must be online or paper"),
    (["--region", "13"], "--region: region must be a number from 1 to 12"),
    (["--option", "sector"], "--option must be QUESTION=OPTION"),
    (["--option", "sector=nope"], "--sector: \"nope\" is not an option of sector"),
    (["--weight", "heavy"], "--weight: weight must be none or population"),
])
def test_bad_options_exit_non_zero(runner, closed, options, message):
    result = runner.invoke(args=["analysis", "ranking", "closed-one", *options])
    assert result.exit_code != 0
    assert message in result.output


def test_unknown_slug(runner):
    result = runner.invoke(args=["analysis", "ranking", "nope"])
    assert result.exit_code != 0
    assert 'No consultation with slug "nope"' in result.output
