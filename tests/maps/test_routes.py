"""The map pages through the web: access, suppression, sorting, CSV, SVG, targets, include."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET

import pytest
from flask import render_template_string
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, ParticipationTarget
from tests.maps.helpers import add_responses

GUADALAJARA, ZAPOPAN, ACATIC = "14039", "14120", "14001"
SVG_TITLE = "{http://www.w3.org/2000/svg}title"


def fill(consultation):
    add_responses(consultation, GUADALAJARA, 7, themes=["security", "health"])
    add_responses(consultation, ZAPOPAN, 6, channel="paper", themes=["health"])
    add_responses(consultation, ACATIC, 3, themes=["security"], sector="public")
    return consultation


@pytest.fixture
def closed(make_consultation):
    return fill(make_consultation("closed"))


@pytest.fixture
def opened(make_consultation):
    return fill(make_consultation("open"))


def login(auth, make_user, *roles):
    # A supervisor sets targets within their scope only: these work on the whole state.
    user = make_user(*roles, all_municipalities=True if "supervisor" in roles else None)
    auth.login(user.email)
    return user


def table_cells(html: str) -> dict[str, list[str]]:
    """Return {place name: [cells]} from the page's table."""
    body = html.split('class="map-table"', 1)[1].split("</table>", 1)[0].split("<tbody>")[1]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [re.sub(r"\s+", " ", c).strip()
                 for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        rows[cells[0]] = cells[1:]
    return rows


PATHS = ["", "/map.png", "/map.svg", "/table.csv"]


@pytest.mark.parametrize("path", PATHS)
def test_open_consultation_map_is_for_supervisors_analysts_admins(
        client, auth, make_user, opened, path):
    url = f"/maps/{opened.slug}{path}"
    assert client.get(url).status_code == 403
    login(auth, make_user, "staff")
    assert client.get(url).status_code == 403
    for role in ("supervisor", "analyst", "admin"):
        auth.logout()
        login(auth, make_user, role)
        assert client.get(url).status_code == 200, role


@pytest.mark.parametrize("path", PATHS)
def test_closed_consultation_map_is_public(client, closed, path):
    response = client.get(f"/maps/{closed.slug}{path}")
    assert response.status_code == 200
    assert client.get(f"/maps/no-such-consultation{path}").status_code == 404


def test_public_page_suppresses_small_cells_and_summarizes_coverage(client, closed):
    page = client.get(f"/maps/{closed.slug}", headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    rows = table_cells(html)
    assert rows["Acatic"][:3] == ["Altos Sur", "23,175", "fewer than 5"]
    assert "3" not in rows["Acatic"][2:]
    assert rows["Guadalajara"][2] == "7"
    assert rows["Zapopan"][2] == "6"
    assert "Online" not in html.split('class="map-table"')[1]  # no channel split in public
    alt = re.search(r'<img src="[^"]*map.png[^"]*"\s+alt="([^"]*)"', html).group(1)
    assert "3 of 125 municipalities have answered; none yet in regions Norte" in alt


def test_public_page_in_spanish(client, closed):
    html = client.get(f"/maps/{closed.slug}",
                      headers={"Accept-Language": "es-MX"}).get_data(as_text=True)
    assert table_cells(html)["Acatic"][2] == "menos de 5"
    assert "3 de 125 municipios han respondido" in html


def test_staff_see_exact_numbers_and_channels(client, auth, make_user, opened):
    login(auth, make_user, "analyst")
    html = client.get(f"/maps/{opened.slug}",
                      headers={"Accept-Language": "en"}).get_data(as_text=True)
    rows = table_cells(html)
    assert rows["Acatic"][2:5] == ["3", "3", "0"]  # respondents, online, paper
    assert rows["Zapopan"][2:5] == ["6", "0", "6"]


def test_public_csv_and_svg_suppress_small_cells(client, closed):
    data = client.get(f"/maps/{closed.slug}/table.csv",
                      headers={"Accept-Language": "en"}).get_data(as_text=True)
    rows = {r["inegi_code"]: r for r in csv.DictReader(io.StringIO(data))}
    assert len(rows) == 125
    assert rows[ACATIC]["respondents"] == "fewer than 5"
    assert rows[ACATIC]["per_10k"] == "fewer than 5"
    assert rows[GUADALAJARA]["respondents"] == "7"
    assert rows["14002"]["respondents"] == "0"
    svg = client.get(f"/maps/{closed.slug}/map.svg", headers={"Accept-Language": "en"})
    assert svg.mimetype == "image/svg+xml"
    titles = [t.text for t in ET.fromstring(svg.data).iter(SVG_TITLE)]
    assert len(titles) == 125
    assert "Acatic: fewer than 5 respondents" in titles
    assert any(t.startswith("Guadalajara: 7 respondents") for t in titles)


def test_theme_filter_shows_the_theme_share(client, closed):
    html = client.get(f"/maps/{closed.slug}?theme=health&sector=private",
                      headers={"Accept-Language": "en"}).get_data(as_text=True)
    rows = table_cells(html)
    assert rows["Guadalajara"][-2:] == ["7", "100%"]
    assert rows["Acatic"][2] == "0"  # Acatic answered "public": filtered out
    assert "Private sector" in html.split('id="coverage-summary"')[1]  # filters in words
    svg = client.get(f"/maps/{closed.slug}/map.svg?theme=security",
                     headers={"Accept-Language": "en"})
    titles = [t.text for t in ET.fromstring(svg.data).iter(SVG_TITLE)]
    assert "Guadalajara: 100% chose Insecurity (7 respondents)" in titles
    assert "Zapopan: 0% chose Insecurity (6 respondents)" in titles
    assert "Acatic: fewer than 5 respondents" in titles
    data = client.get(f"/maps/{closed.slug}/table.csv?level=region&theme=security").data
    regions = {r["region_number"]: r for r in csv.DictReader(io.StringIO(data.decode()))}
    assert len(regions) == 12
    assert regions["12"]["theme_count"] == "7"


def test_server_side_sort_without_javascript(client, closed):
    url = f"/maps/{closed.slug}?sort=respondents&order=desc"
    html = client.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True)
    names = list(table_cells(html))
    assert names[:3] == ["Guadalajara", "Zapopan", "Acatic"]
    assert 'aria-sort="descending"' in html
    # The header link turns the order around, keeping the filters.
    html = client.get(f"/maps/{closed.slug}?sort=respondents&order=desc&channel=online",
                      headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert re.search(r'href="[^"]*sort=respondents&amp;order=asc[^"]*channel=online', html) \
        or re.search(r'href="[^"]*channel=online[^"]*sort=respondents&amp;order=asc', html)
    names = list(table_cells(client.get(f"/maps/{closed.slug}?sort=name").get_data(
        as_text=True)))
    assert (names[0], len(names)) == ("Acatic", 125)


def test_the_filter_form_with_nothing_chosen_shows_everything(client, closed):
    response = client.get(f"/maps/{closed.slug}?metric=per_10k&theme=&level=municipality"
                          "&channel=&region=&metro=&sector=&heard_via=")
    assert response.status_code == 200
    assert 'role="alert"' not in response.get_data(as_text=True)
    response = client.get(f"/maps/{closed.slug}?metro=1&channel=online&sector=private",
                          headers={"Accept-Language": "en"})
    rows = table_cells(response.get_data(as_text=True))
    assert rows["Guadalajara"][2] == "7"
    assert rows["Zapopan"][2] == "0"  # paper only


def test_bad_parameters_get_a_400_naming_them(client, closed):
    response = client.get(f"/maps/{closed.slug}?metric=votes",
                          headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert "metric must be one of" in response.get_data(as_text=True)
    assert client.get(f"/maps/{closed.slug}/map.png?region=13").status_code == 400
    assert client.get(f"/maps/{closed.slug}/table.csv?theme=weather").status_code == 400


def test_png_is_an_image(client, closed):
    response = client.get(f"/maps/{closed.slug}/map.png?metric=target_share&level=region")
    assert response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG")


def test_coverage_page_for_supervisors_and_analysts(client, auth, make_user, opened):
    url = f"/maps/{opened.slug}/coverage"
    assert client.get(url).status_code == 302  # sign in first
    login(auth, make_user, "staff")
    assert client.get(url).status_code == 403
    auth.logout()
    supervisor = login(auth, make_user, "supervisor")
    from app.services import coverage

    coverage.set_target(opened, "m" + GUADALAJARA, "70", supervisor)
    html = client.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "3 of 125 municipalities have answered" in html
    assert "Paper forms issued" in html
    table = html.split('class="coverage-table"')[1]
    names = re.findall(r'<th scope="row">([^<]*)', table)
    assert len(names) == 125
    # Silent first; then 10 % of target; then no target, fewest per 10,000 inhabitants first.
    assert [n.strip() for n in names[-3:]] == ["Guadalajara", "Zapopan", "Acatic"]
    assert names[0].strip() == "Tlajomulco de Zúñiga"  # the largest silent municipality


def test_supervisor_sets_targets_through_the_form(client, auth, make_user, opened):
    url = f"/maps/{opened.slug}/targets"
    login(auth, make_user, "analyst")
    assert client.get(url).status_code == 403
    auth.logout()
    login(auth, make_user, "supervisor")
    assert client.get(url).status_code == 200
    response = client.post(url, data={"action": "set", "place": "m14039", "respondents": "50"},
                           follow_redirects=True)
    assert response.status_code == 200
    response = client.post(url, data={"action": "population", "rate": "1.5",
                                      "level": "region"}, follow_redirects=True)
    assert response.status_code == 200
    assert db.session.scalar(select(func.count()).select_from(ParticipationTarget)) == 13
    response = client.post(url, data={"action": "remove", "place": "r1"},
                           follow_redirects=True)
    assert db.session.scalar(select(func.count()).select_from(ParticipationTarget)) == 12
    actions = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.action.like("target.%"))).all()
    assert sorted(actions) == ["target.from_population", "target.remove", "target.set"]


@pytest.mark.parametrize(("data", "message"), [
    ({"action": "set", "place": "m14039", "respondents": "-5"}, "cannot be negative"),
    ({"action": "set", "place": "m14039", "respondents": "lots"}, "whole number"),
    ({"action": "set", "place": "m99999", "respondents": "5"}, "not a region or a municipality"),
    ({"action": "population", "rate": "cero", "level": "municipality"}, "The rate must be"),
    ({"action": "population", "rate": "-2", "level": "municipality"}, "above 0"),
])
def test_bad_targets_are_refused_with_a_message_and_nothing_stored(
        client, auth, make_user, opened, data, message):
    login(auth, make_user, "supervisor")
    response = client.post(f"/maps/{opened.slug}/targets", data=data,
                           headers={"Accept-Language": "en"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert re.search(r'class="field-error"[^>]*>[^<]*' + message, html)
    assert db.session.scalar(select(func.count()).select_from(ParticipationTarget)) == 0


def test_include_for_the_public_results_page(app, closed, opened):
    source = '{% include "maps/_participation_map.html" %}'
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        html = render_template_string(source, consultation=closed)
        assert f"/maps/{closed.slug}/map.png" in html
        assert "3 of 125 municipalities have answered" in html
        assert render_template_string(source, consultation=opened).strip() == ""


def test_index_lists_consultations_for_staff(client, auth, make_user, opened):
    assert client.get("/maps/").status_code == 302
    login(auth, make_user, "supervisor")
    html = client.get("/maps/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f"/maps/{opened.slug}/coverage" in html
    assert f"/maps/{opened.slug}/targets" in html
    assert 'href="/maps/"' in html  # in the navigation
