"""JSON API v1: the contract of DESIGN.md, filters, access, errors, and exact numbers."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Municipality
from tests.api.conftest import add_rows, generated_rows

BASE = "/api/v1/consultations"


def themes_of(body):
    return {t["code"]: t for t in body["themes"]}


def test_ranking_contract_and_hand_computed_numbers(client, closed):
    response = client.get(f"{BASE}/closed-one/ranking")
    assert response.status_code == 200
    body = response.get_json()
    assert {"consultation", "respondents", "votes", "weighting", "themes",
            "concentration"} <= set(body)
    assert body["consultation"] == "closed-one"
    assert body["respondents"] == 5  # the voided response does not count
    assert body["votes"] == 10
    assert body["weighting"] == "none"
    assert [t["code"] for t in body["themes"][:4]] == ["security", "health", "education",
                                                       "corruption"]
    security = body["themes"][0]
    assert set(security) >= {"code", "name", "votes", "vote_share", "respondent_share", "borda",
                             "rank", "ci95"}
    assert security["name"] == "Inseguridad"  # Spanish by default
    assert (security["votes"], security["borda"], security["rank"]) == (4, 11, 1)
    assert security["vote_share"] == pytest.approx(0.4)
    assert security["respondent_share"] == pytest.approx(0.8)
    low, high = security["ci95"]
    assert 0 <= low <= 0.4 <= high <= 1
    # Eight themes nobody chose tie for fifth place, ordered by code.
    rest = body["themes"][4:]
    assert [t["rank"] for t in rest] == [5] * 8
    assert [t["code"] for t in rest] == sorted(t["code"] for t in rest)
    assert all(t["votes"] == 0 and t["ci95"] == [0, 0] for t in rest)
    assert sum(t["vote_share"] for t in body["themes"]) == pytest.approx(1)
    assert body["concentration"]["top_k_share"]["1"] == pytest.approx(0.4)
    assert body["concentration"]["top_k_share"]["2"] == pytest.approx(0.7)
    assert body["concentration"]["themes_for_80pct"] == 3


def test_participation_contract(client, closed):
    body = client.get(f"{BASE}/closed-one/participation").get_json()
    assert body["respondents"] == 5
    assert body["by_channel"] == {"online": 2, "paper": 3}
    regions = {r["number"]: r for r in body["by_region"]}
    assert len(regions) == 12
    assert regions[12]["respondents"] == 3
    assert regions[12]["name"] == "Centro"
    assert regions[3]["share"] == pytest.approx(0.4)
    assert body["metro"] == {"inside": 3, "outside": 2, "outside_share": pytest.approx(0.4)}
    assert body["municipalities_participating"] == 3
    assert body["by_question"]["sector"] == {"private": 3, "academia": 1, "public": 1,
                                             "civil_society": 0, "other": 0}
    assert body["by_question"]["heard_via"]["school"] == 5
    assert "age" not in body["by_question"]


@pytest.mark.parametrize(("query", "respondents"), [
    ("channel=paper", 3), ("channel=online", 2), ("region=12", 3), ("region=1", 0),
    ("municipality=14120", 1), ("metro=0", 2), ("metro=1", 3), ("sector=private", 3),
    ("channel=online&sector=private", 2),
])
def test_filters(client, closed, query, respondents):
    ranking = client.get(f"{BASE}/closed-one/ranking?{query}").get_json()
    participation = client.get(f"{BASE}/closed-one/participation?{query}").get_json()
    assert ranking["respondents"] == respondents
    assert participation["respondents"] == respondents


def test_empty_filter_result(client, closed):
    body = client.get(f"{BASE}/closed-one/ranking?region=1").get_json()
    assert body["votes"] == 0
    assert all(t["vote_share"] == 0 and t["rank"] == 1 for t in body["themes"])
    assert body["concentration"]["themes_for_80pct"] is None
    body = client.get(f"{BASE}/closed-one/participation?region=1").get_json()
    assert body["metro"]["outside_share"] is None


@pytest.mark.parametrize(("query", "parameter"), [
    ("channel=fax", "channel"), ("region=13", "region"), ("region=x", "region"),
    ("municipality=99999", "municipality"), ("metro=2", "metro"), ("weight=heavy", "weight"),
    ("sector=nope", "sector"), ("age=30", "age"), ("colour=red", "colour"), ("lang=fr", "lang"),
])
def test_bad_parameters_are_named(client, closed, query, parameter):
    response = client.get(f"{BASE}/closed-one/ranking?{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["parameter"] == parameter
    assert body["error"] == "bad_parameter"
    assert body["message"]


def test_weight_is_not_a_participation_parameter(client, closed):
    response = client.get(f"{BASE}/closed-one/participation?weight=population")
    assert response.status_code == 400
    assert response.get_json()["parameter"] == "weight"


def test_unknown_slug(client):
    for path in ("ranking", "participation"):
        response = client.get(f"{BASE}/nope/{path}")
        assert response.status_code == 404
        assert response.get_json()["error"] == "not_found"


def test_open_consultation_is_for_analysts_and_admins(client, auth, make_consultation,
                                                      make_user):
    consultation = make_consultation("open", slug="still-open")
    add_rows(consultation)
    for path in ("ranking", "participation"):
        response = client.get(f"{BASE}/still-open/{path}")
        assert response.status_code == 403
        assert response.is_json
        assert response.get_json()["error"] == "forbidden"
    staff = make_user("staff")
    auth.login(staff.email)
    assert client.get(f"{BASE}/still-open/ranking").status_code == 403
    auth.logout()
    for role in ("analyst", "admin"):
        user = make_user(role)
        auth.login(user.email)
        response = client.get(f"{BASE}/still-open/ranking")
        assert response.status_code == 200, role
        assert response.get_json()["respondents"] == 5
        auth.logout()


def test_names_follow_lang_and_accept_language(client, closed):
    english = client.get(f"{BASE}/closed-one/ranking?lang=en").get_json()
    assert english["themes"][0]["name"] == "Insecurity"
    header = client.get(f"{BASE}/closed-one/ranking", headers={"Accept-Language": "en-US"})
    assert header.get_json()["themes"][0]["name"] == "Insecurity"


def test_population_weighting_is_consistent(client, closed):
    plain = client.get(f"{BASE}/closed-one/ranking").get_json()
    weighted = client.get(f"{BASE}/closed-one/ranking?weight=population").get_json()
    assert weighted["weighting"] == "population"
    assert weighted["respondents"] == plain["respondents"] == 5
    assert sum(t["vote_share"] for t in weighted["themes"]) == pytest.approx(1)
    assert sum(t["votes"] for t in weighted["themes"]) == pytest.approx(weighted["votes"])
    details = weighted["weighting_details"]
    # Only regions 3 and 12 have respondents: the other ten are left out of the target.
    assert details["regions_without_respondents"] == [1, 2, 4, 5, 6, 7, 8, 9, 10, 11]
    assert details["design_effect"] > 1
    assert details["effective_sample_size"] == pytest.approx(5 / details["design_effect"])
    assert plain["weighting_details"]["design_effect"] == 1
    # Region 3 (2 of 5 respondents) is far less than 40% of the people of regions 3 and 12,
    # so its corruption vote weighs less than unweighted.
    assert themes_of(weighted)["corruption"]["vote_share"] < themes_of(plain)["corruption"][
        "vote_share"]


def test_no_responses(client, make_consultation):
    make_consultation("closed", slug="empty-one")
    body = client.get(f"{BASE}/empty-one/ranking").get_json()
    assert body["respondents"] == 0
    assert body["votes"] == 0
    assert len(body["themes"]) == 12
    weighted = client.get(f"{BASE}/empty-one/ranking?weight=population").get_json()
    assert weighted["respondents"] == 0
    assert client.get(f"{BASE}/empty-one/participation").get_json()["respondents"] == 0


def test_consultations_list(client, closed, make_consultation):
    make_consultation("open", slug="still-open")
    body = client.get(BASE).get_json()
    listed = {c["slug"]: c for c in body}
    assert listed["closed-one"]["respondents"] == 5
    assert listed["closed-one"]["status"] == "closed"
    assert set(listed["closed-one"]) == {"slug", "title", "status", "opens_on", "closes_on",
                                         "respondents"}
    assert listed["still-open"]["status"] == "open"


def test_openapi_describes_the_endpoints(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    assert {path for path in document["paths"] if path.startswith("/consultations")} == {
        "/consultations", "/consultations/{slug}/ranking", "/consultations/{slug}/participation"}
    ranking = document["paths"]["/consultations/{slug}/ranking"]["get"]
    assert {"200", "400", "403", "404"} <= set(ranking["responses"])
    assert "weight" in {p["name"] for p in ranking["parameters"]}


def test_known_proportions_come_out_exactly(client, make_consultation):
    consultation = make_consultation("closed", slug="generated")
    add_rows(consultation, generated_rows(200))
    body = client.get(f"{BASE}/generated/ranking").get_json()
    assert body["respondents"] == 200
    assert body["votes"] == 290
    top = [(t["code"], t["votes"], t["borda"], t["rank"]) for t in body["themes"][:4]]
    assert top == [("health", 110, 280, 1), ("security", 100, 300, 2),
                   ("education", 40, 120, 3), ("water", 40, 80, 3)]
    shares = themes_of(body)
    assert shares["health"]["vote_share"] == pytest.approx(110 / 290)
    assert shares["security"]["respondent_share"] == pytest.approx(0.5)
    assert shares["water"]["respondent_share"] == pytest.approx(0.2)
    participation = client.get(f"{BASE}/generated/participation").get_json()
    assert participation["by_channel"] == {"online": 150, "paper": 50}
    assert participation["metro"] == {"inside": 140, "outside": 60,
                                      "outside_share": pytest.approx(0.3)}
    assert participation["municipalities_participating"] == 3
    assert participation["by_question"]["sector"]["public"] == 40
    regions = {r["number"]: r for r in participation["by_region"]}
    assert (regions[12]["respondents"], regions[3]["respondents"],
            regions[11]["respondents"]) == (120, 60, 20)
    population = db.session.scalar(select(func.sum(Municipality.population)).where(
        Municipality.region_number == 3))
    assert regions[3]["per_10k"] == pytest.approx(60 / population * 10_000)
    paper = client.get(f"{BASE}/generated/ranking?channel=paper").get_json()
    assert paper["respondents"] == 50


def test_a_draft_is_not_found_by_the_public(client, auth, make_user, make_consultation):
    consultation = make_consultation("closed", slug="draft-one")
    consultation.is_draft = True
    db.session.commit()
    assert client.get(f"{BASE}/draft-one/ranking").status_code == 404
    assert "draft-one" not in {c["slug"] for c in client.get(BASE).get_json()}
    auth.login(make_user("analyst").email)
    assert client.get(f"{BASE}/draft-one/ranking").status_code == 200


def test_cooccurrence_matrix_for_the_workshops(closed):
    from app.services import results

    square = results.cooccurrence_matrix(closed)
    assert square.shape == (12, 12)
    assert square.loc["security", "health"] == pytest.approx(3 / 24 ** 0.5)
    assert square.loc["health", "security"] == square.loc["security", "health"]
    assert square.loc["security", "security"] == 1.0
    counts = results.cooccurrence_matrix(closed, value="count", diagonal=0)
    assert counts.loc["education", "health"] == 2
