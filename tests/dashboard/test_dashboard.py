"""The analysts' dashboard: access, the same numbers as the API, filters, downloads."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from app.extensions import db
from app.services.responses import new_response
from tests.api.conftest import ROWS

PAGE = "/dashboard/closed-one"


@pytest.fixture
def app_config() -> dict:
    return {"BOOTSTRAP_REPLICATES": 200}


@pytest.fixture
def closed(make_consultation):
    consultation = make_consultation("closed", slug="closed-one")
    for municipality, channel, themes, sector in ROWS:
        db.session.add(new_response(consultation, channel=channel, source="online",
                                    municipality_code=municipality, theme_codes=themes,
                                    answers={"sector": sector}))
    db.session.commit()
    return consultation


@pytest.fixture
def analyst(auth, make_user):
    user = make_user("analyst")
    auth.login(user.email)
    return user


def test_anonymous_is_sent_to_sign_in(client, closed):
    response = client.get(PAGE)
    assert response.status_code in (302, 401)


@pytest.mark.parametrize("role", ["staff", "supervisor", "facilitator"])
def test_other_roles_are_refused(client, auth, make_user, closed, role):
    auth.login(make_user(role).email)
    assert client.get(PAGE).status_code == 403
    assert client.get(f"{PAGE}/tables/ranking.csv").status_code == 403


def test_admin_passes(client, auth, make_user, closed):
    auth.login(make_user("admin").email)
    assert client.get(PAGE).status_code == 200


def test_index_lists_consultations(client, analyst, closed):
    page = client.get("/dashboard/").get_data(as_text=True)
    assert f'href="{PAGE}"' in page


def test_page_shows_the_api_numbers(client, analyst, closed):
    api = client.get("/api/v1/consultations/closed-one/ranking").get_json()
    page = client.get(PAGE).get_data(as_text=True)
    assert 'id="respondents">5<' in page
    assert "Inseguridad" in page
    # Spanish number formats: 40.0 % or 40.0% depending on the locale data.
    security = api["themes"][0]
    assert security["vote_share"] == pytest.approx(0.4)
    assert "40.0" in page
    assert 'id="ranking-table"' in page
    assert 'id="regions-table"' in page
    assert 'id="pairs-table"' in page


@pytest.mark.parametrize("query", ["", "channel=paper", "weight=population&metro=1",
                                   "sector=private"])
def test_ranking_download_equals_the_api(client, analyst, closed, query):
    api = client.get(f"/api/v1/consultations/closed-one/ranking?{query}").get_json()
    response = client.get(f"{PAGE}/tables/ranking.csv?{query}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    code, votes, share = header.index("Código"), header.index("Votos"), header.index(
        "Proporción del voto")
    assert [(r[code], float(r[votes]), float(r[share])) for r in body] == [
        (t["code"], pytest.approx(t["votes"]), pytest.approx(t["vote_share"]))
        for t in api["themes"]]


def test_filters_change_the_page(client, analyst, closed):
    page = client.get(f"{PAGE}?channel=paper").get_data(as_text=True)
    assert 'id="respondents">3<' in page
    assert '<option value="paper" selected>' in page


def test_bad_filter_is_named_next_to_its_field(client, analyst, closed):
    response = client.get(f"{PAGE}?region=99")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="region-error"' in page
    assert 'aria-invalid="true"' in page
    assert 'id="ranking-table"' not in page
    assert client.get(f"{PAGE}/tables/ranking.csv?weight=x").status_code == 400


@pytest.mark.parametrize("name", ["ranking", "regions", "municipalities", "questions",
                                  "comparisons", "cooccurrence", "weights", "region-themes"])
def test_every_table_downloads_as_csv_and_xlsx(client, analyst, closed, name):
    csv_response = client.get(f"{PAGE}/tables/{name}.csv")
    assert csv_response.status_code == 200
    assert csv_response.mimetype == "text/csv"
    assert len(csv_response.get_data().decode("utf-8-sig").splitlines()) >= 2
    xlsx = client.get(f"{PAGE}/tables/{name}.xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    assert sheet.max_row >= 2


@pytest.mark.parametrize("name", ["ranking", "pareto", "heatmap", "participation"])
def test_every_chart_as_png_and_svg(client, analyst, closed, name):
    png = client.get(f"{PAGE}/charts/{name}.png?download=1")
    assert png.status_code == 200
    assert png.get_data().startswith(b"\x89PNG")
    assert png.headers["Content-Disposition"].startswith("attachment")
    svg = client.get(f"{PAGE}/charts/{name}.svg?weight=population")
    assert svg.mimetype == "image/svg+xml"
    assert b"<svg" in svg.get_data()


def test_unknown_names_and_slugs(client, analyst, closed):
    assert client.get(f"{PAGE}/tables/secrets.csv").status_code == 404
    assert client.get(f"{PAGE}/tables/ranking.pdf").status_code == 404
    assert client.get(f"{PAGE}/charts/pie.png").status_code == 404
    assert client.get("/dashboard/nope").status_code == 404


def test_comparisons_show_a_chi_square(client, analyst, closed):
    page = client.get(PAGE).get_data(as_text=True)
    assert "Canal" in page
    assert "Chi cuadrada" in page


def test_english_page(client, analyst, closed):
    page = client.get(f"{PAGE}?lang=en").get_data(as_text=True)
    assert "Insecurity" in page
    assert "Theme ranking" in page


def test_a_consultation_without_responses(client, analyst, make_consultation):
    make_consultation("closed", slug="empty-one")
    page = client.get("/dashboard/empty-one")
    assert page.status_code == 200
    assert 'id="respondents">0<' in page.get_data(as_text=True)
    for name in ("ranking", "pareto", "heatmap", "participation"):
        assert client.get(f"/dashboard/empty-one/charts/{name}.png").status_code == 200, name
    for name in ("ranking", "regions", "comparisons", "cooccurrence", "region-themes"):
        response = client.get(f"/dashboard/empty-one/tables/{name}.xlsx?weight=population")
        assert response.status_code == 200, name


def test_open_consultation_is_visible_to_analysts(client, analyst, make_consultation):
    consultation = make_consultation("open", slug="still-open")
    db.session.add(new_response(consultation, channel="online", source="online",
                                municipality_code="14039", theme_codes=["water"], answers={}))
    db.session.commit()
    page = client.get("/dashboard/still-open").get_data(as_text=True)
    assert 'id="respondents">1<' in page


def test_empty_selects_mean_all(client, analyst, closed):
    page = client.get(f"{PAGE}?channel=paper&region=&municipality=&metro=&sector=&weight=none")
    assert page.status_code == 200
    assert 'id="respondents">3<' in page.get_data(as_text=True)


def test_weighted_page_shows_weights_and_left_out_regions(client, analyst, closed):
    page = client.get(f"{PAGE}?weight=population").get_data(as_text=True)
    assert 'id="weights-heading"' in page
    assert "03 Altos Sur" in page
    assert "Las regiones sin participantes (1, 2, 4, 5, 6, 7, 8, 9, 10, 11)" in page
