"""The public results page and its ranking chart."""

from __future__ import annotations

import io

import pytest
from matplotlib.image import imread

from app.extensions import db
from tests.workshops.helpers import add_patterns


@pytest.fixture(autouse=True)
def english(client):
    client.get("/language/en")


@pytest.fixture
def closed(make_consultation):
    consultation = make_consultation("closed")
    add_patterns(consultation)
    return consultation


def test_closed_results_are_public(client, closed):
    response = client.get(f"/c/{closed.slug}/results")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "20 people answered." in page
    assert "Insecurity" in page
    assert "26.3%" in page  # security: 10 of 38 votes
    assert f"/api/v1/consultations/{closed.slug}/responses.csv" in page
    assert f"/api/v1/consultations/{closed.slug}/datapackage.json" in page
    assert "How these numbers were computed" in page
    assert "<img" in page
    assert 'alt="Bar chart' in page


def test_small_regions_are_suppressed(client, closed):
    page = client.get(f"/c/{closed.slug}/results").get_data(as_text=True)
    assert '<td class="num" colspan="3">fewer than 5</td>' not in page  # regions: 7 and 13
    from tests.workshops.helpers import add_patterns as more

    more(closed, [(2, "14013", ["water"], "private", "x")])  # Atotonilco, Ciénega: 2 people
    page = client.get(f"/c/{closed.slug}/results").get_data(as_text=True)
    assert '<td class="num" colspan="3">fewer than 5</td>' in page


def test_chart_is_a_png(client, closed):
    response = client.get(f"/c/{closed.slug}/results/ranking.png")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    image = imread(io.BytesIO(response.data), format="png")
    assert image.shape[0] > 100


def test_empty_consultation_has_a_page_and_a_chart(client, make_consultation):
    empty = make_consultation("closed")
    assert "0 people answered." in client.get(f"/c/{empty.slug}/results").get_data(
        as_text=True)
    assert client.get(f"/c/{empty.slug}/results/ranking.png").status_code == 200


@pytest.mark.parametrize("suffix", ["results", "results/ranking.png"])
def test_open_consultation_results_are_hidden_from_the_public(client, auth, make_user,
                                                              make_consultation, suffix):
    running = make_consultation("open")
    assert client.get(f"/c/{running.slug}/{suffix}").status_code == 403
    auth.login(make_user("facilitator").email)
    assert client.get(f"/c/{running.slug}/{suffix}").status_code == 403
    auth.logout()
    auth.login(make_user("analyst").email)
    assert client.get(f"/c/{running.slug}/{suffix}").status_code == 200


def test_unknown_and_draft_consultations_are_404(client, make_consultation):
    assert client.get("/c/nope/results").status_code == 404
    draft = make_consultation("closed")
    draft.is_draft = True
    db.session.commit()
    assert client.get(f"/c/{draft.slug}/results").status_code == 404


def test_consultation_page_links_to_results_once_closed(client, closed, make_consultation):
    page = client.get(f"/c/{closed.slug}").get_data(as_text=True)
    assert f'href="/c/{closed.slug}/results"' in page
    running = make_consultation("open")
    assert "/results" not in client.get(f"/c/{running.slug}").get_data(as_text=True)
