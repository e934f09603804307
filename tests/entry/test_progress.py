"""The progress page: issued, entered once, verified, in discrepancy, accepted."""

from __future__ import annotations

import csv
import io

import pytest

from app.services import imports, paper
from tests.entry.helpers import csv_bytes, row
from tests.entry.test_keying import key


@pytest.fixture
def busy(make_consultation, people):
    consultation = make_consultation()
    paper.create_batch(consultation, "14039", 10, actor=people.boss)
    paper.create_batch(consultation, "14039", 5, actor=people.boss)
    paper.create_batch(consultation, "14097", 5, actor=people.boss)
    key(consultation, "14039-000001", people.gdl1)
    key(consultation, "14039-000001", people.gdl2)  # verified, accepted
    key(consultation, "14039-000002", people.gdl1)  # entered once
    key(consultation, "14039-000003", people.gdl1)
    key(consultation, "14039-000003", people.gdl2, q_age="50")  # in discrepancy
    key(consultation, "14039-000004", people.gdl1)
    key(consultation, "14039-000004", people.gdl2, q_age="51")
    paper.resolve(consultation, "14039-000004", {"age": "second"}, actor=people.boss)
    imports.import_file(consultation, io.BytesIO(csv_bytes([
        row("14097-900001", municipality="14097"), row("14097-900002", municipality="14097"),
        row("", channel="online", municipality="14097")])), "t.csv", actor=None)
    return consultation


def as_dict(rows):
    return {r.municipality_code: {name: getattr(r, name) for name in paper.PROGRESS_COLUMNS}
            for r in rows}


def test_counts_per_municipality(busy, people):
    rows = paper.progress(busy, people.boss)
    assert as_dict(rows) == {
        "14039": {"issued": 15, "entered_once": 1, "verified": 1, "discrepancy": 1,
                  "accepted": 2},
        "14097": {"issued": 5, "entered_once": 0, "verified": 0, "discrepancy": 0,
                  "accepted": 2},
    }
    totals = paper.region_totals(rows)
    assert [(t.region_number, t.issued, t.accepted) for t in totals] == [(12, 20, 4)]


def test_staff_see_only_their_municipalities(busy, people):
    assert list(as_dict(paper.progress(busy, people.gdl1))) == ["14039"]
    assert list(as_dict(paper.progress(busy, people.tlajo))) == ["14097"]


def test_filters(busy, people):
    assert list(as_dict(paper.progress(busy, people.boss, municipality="Tlajomulco de Zúñiga"))
                ) == ["14097"]
    assert list(as_dict(paper.progress(busy, people.boss, municipality="14039"))) == ["14039"]
    assert paper.progress(busy, people.boss, region=1) == []


def test_progress_page_and_csv(client, login_as, people, busy):
    login_as(people.gdl1)
    page = client.get(f"/entry/{busy.slug}/progress")
    assert page.status_code == 200
    assert "Guadalajara (14039)" in page.text
    assert "14097" not in page.text
    assert "En discrepancia" in page.text
    login_as(people.boss)
    page = client.get(f"/entry/{busy.slug}/progress")
    assert "Tlajomulco de Zúñiga (14097)" in page.text
    assert "12 Centro" in page.text
    download = client.get(f"/entry/{busy.slug}/progress?format=csv&municipality=14097")
    assert download.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(download.data.decode("utf-8-sig"))))
    assert rows == [{"region": "12", "region_name": "Centro", "municipality": "14097",
                     "municipality_name": "Tlajomulco de Zúñiga", "issued": "5",
                     "entered_once": "0", "verified": "0", "discrepancy": "0",
                     "accepted": "2"}]
    empty = client.get(f"/entry/{busy.slug}/progress?region=1")
    assert "Todavía no hay cuestionarios en papel para esta selección." in empty.text
    assert client.get(f"/entry/{busy.slug}/progress?region=abc").status_code == 200


def test_progress_needs_an_entry_role(client, login_as, people, busy):
    login_as(people.analyst)
    assert client.get(f"/entry/{busy.slug}/progress").status_code == 403
