"""The open data as people download it: from a real gunicorn process (issue 18, items 2-3).

The test client shares the test's app context and session, which hid a 500 on every
responses.csv (the streamed rows lazy-loaded the consultation after the request's session had
ended). Here each file comes from gunicorn; the ranking is recomputed with pandas from the
downloaded CSV and compared to the same server's /ranking; the data package, with its data,
passes the reference Frictionless validator.
"""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.parse
import urllib.request

import pandas as pd
import pytest
from openpyxl import load_workbook

from tests.opendata.test_disclosure import (
    MINIMUM,
    assert_no_small_combination,
    assert_ranking_matches,
    populate,
)

FILES = ("responses.csv", "responses.xlsx", "datapackage.json", "dictionary.csv",
         "dictionary?format=csv", "dictionary")


def get(url: str, **headers: str) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def closed(make_consultation):
    consultation = make_consultation("closed")
    populate(consultation, total=200)
    return consultation


def test_every_download_answers_from_gunicorn(gunicorn_server, closed):
    """Every streamed or generated open data file: 200 from a real server, not 500."""
    base = gunicorn_server()
    for name in FILES:
        status, _headers, body = get(f"{base}/api/v1/consultations/{closed.slug}/{name}")
        assert status == 200, (name, body[:300])
        assert body


def test_ranking_recomputed_from_the_served_csv_is_the_served_ranking(gunicorn_server, closed):
    base = gunicorn_server()
    api = f"{base}/api/v1/consultations/{closed.slug}"
    _status, _headers, body = get(f"{api}/responses.csv")
    frame = pd.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False)
    assert len(frame) == 200
    _status, _headers, ranking = get(f"{api}/ranking")
    assert_ranking_matches(frame, json.loads(ranking))
    assert_no_small_combination(frame, MINIMUM)
    # The XLSX holds the same rows.
    _status, _headers, xlsx = get(f"{api}/responses.xlsx")
    rows = list(load_workbook(io.BytesIO(xlsx))["responses"].iter_rows(values_only=True))
    assert sorted(row[0] for row in rows[1:]) == sorted(frame["id"])
    assert_ranking_matches(pd.DataFrame(rows[1:], columns=rows[0]), json.loads(ranking))


def test_data_package_passes_frictionless_with_its_data(gunicorn_server, closed, tmp_path):
    from frictionless import validate

    base = gunicorn_server()
    api = f"{base}/api/v1/consultations/{closed.slug}"
    # As downloaded into a folder: the package and its files side by side (relative paths).
    for name in ("datapackage.json", "responses.csv", "dictionary.csv"):
        status, _headers, body = get(f"{api}/{name}")
        assert status == 200
        (tmp_path / name).write_bytes(body)
    package = json.loads((tmp_path / "datapackage.json").read_text())
    assert [resource["path"] for resource in package["resources"]] == [
        "responses.csv", "dictionary.csv"]
    report = validate(str(tmp_path / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    assert report.stats["tasks"] == 2


def test_data_package_urls_come_from_public_base_url(gunicorn_server, closed):
    """Absolute URLs are PUBLIC_BASE_URL's, whatever Host the request claims; the package,
    pointed back at this server, validates with its data."""
    from frictionless import validate

    public = "https://datos.example.org"
    base = gunicorn_server(PUBLIC_BASE_URL=public + "/")
    url = f"{base}/api/v1/consultations/{closed.slug}/datapackage.json"
    _status, _headers, body = get(url, Host="evil.example")
    package = json.loads(body)
    assert "evil.example" not in body.decode()
    assert [resource["path"] for resource in package["resources"]] == [
        f"{public}/api/v1/consultations/{closed.slug}/responses.csv",
        f"{public}/api/v1/consultations/{closed.slug}/dictionary.csv"]
    for resource in package["resources"]:
        resource["path"] = resource["path"].replace(public, base)
    report = validate(package)
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])


def test_cache_control_public_when_closed_private_when_open(gunicorn_server, closed,
                                                            make_consultation, make_user):
    open_one = make_consultation("open")
    base = gunicorn_server(PUBLIC_CACHE_SECONDS="600")
    for name in (*FILES, "ranking", "participation"):
        status, headers, _body = get(f"{base}/api/v1/consultations/{closed.slug}/{name}")
        assert status == 200
        assert headers["Cache-Control"] == "public, max-age=600", name
        assert "Accept-Language" in headers["Vary"]
        assert "Cookie" in headers["Vary"]
        # An open consultation's results are for staff only: never kept by any cache.
        status, headers, _body = get(f"{base}/api/v1/consultations/{open_one.slug}/{name}")
        assert status == 403
        assert "no-store" in headers["Cache-Control"], name
    _status, headers, _body = get(f"{base}/api/v1/consultations")
    assert headers["Cache-Control"] == "public, max-age=60"


def test_open_consultation_csv_streams_for_staff_from_gunicorn(gunicorn_server, make_consultation,
                                                               make_user):
    """Staff download an open consultation's file through a signed-in session: 200, and
    never cached."""
    import http.cookiejar
    import re

    consultation = make_consultation("open")
    populate(consultation, total=60)
    make_user("analyst", email="analyst@example.org")
    base = gunicorn_server()
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/auth/login").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    from tests.conftest import PASSWORD

    data = {"email": "analyst@example.org", "password": PASSWORD}
    if token:
        data["csrf_token"] = token.group(1)
    opener.open(f"{base}/auth/login", data=urllib.parse.urlencode(data).encode()).read()
    with opener.open(f"{base}/api/v1/consultations/{consultation.slug}/responses.csv") as r:
        assert r.status == 200
        assert "no-store" in r.headers["Cache-Control"]
        frame = pd.read_csv(io.BytesIO(r.read()), dtype=str, keep_default_na=False)
    assert len(frame) == 60
