"""Public API results never show a number resting on fewer than MIN_CELL_SIZE respondents."""

from __future__ import annotations

import pytest

BASE = "/api/v1/consultations"


@pytest.fixture
def app_config() -> dict:
    return {"BOOTSTRAP_REPLICATES": 50, "MIN_CELL_SIZE": 5}


def test_a_small_filtered_ranking_is_withheld_from_the_public(client, closed):
    body = client.get(f"{BASE}/closed-one/ranking?municipality=14120").get_json()
    assert body["suppressed"] is True
    assert body["respondents"] is None
    assert body["votes"] is None
    assert body["themes"] == []
    assert body["min_cell_size"] == 5
    assert "Fewer than 5 respondents" in client.get(
        f"{BASE}/closed-one/ranking?municipality=14120&lang=en",
        headers={"Accept-Language": "en"}).get_json()["message"]


def test_the_unfiltered_ranking_and_empty_results_are_shown(client, closed):
    body = client.get(f"{BASE}/closed-one/ranking").get_json()
    assert body["respondents"] == 5
    assert "suppressed" not in body
    assert client.get(f"{BASE}/closed-one/ranking?region=1").get_json()["respondents"] == 0


def test_small_participation_cells_are_nulled(client, closed):
    body = client.get(f"{BASE}/closed-one/participation").get_json()
    regions = {r["number"]: r for r in body["by_region"]}
    assert regions[12]["respondents"] is None
    assert regions[12]["suppressed"] is True
    assert regions[1]["respondents"] == 0
    assert body["by_question"]["sector"]["private"] is None
    assert body["by_question"]["heard_via"]["school"] == 5
    assert body["min_cell_size"] == 5


def test_analysts_see_every_number(client, auth, make_user, closed):
    make_user("analyst", email="analyst@example.org")
    auth.login("analyst@example.org")
    body = client.get(f"{BASE}/closed-one/ranking?municipality=14120").get_json()
    assert body["respondents"] == 1
    assert "suppressed" not in body
