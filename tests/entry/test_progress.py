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


def test_progress_after_a_void_counts_the_form_again_as_to_do(busy, people):
    paper.void_form(busy, "14039-000001", "Keyed from the wrong stack", actor=people.boss)
    paper.void_form(busy, "14039-000003", "Torn", actor=people.boss)
    counts = as_dict(paper.progress(busy, people.boss))["14039"]
    assert counts == {"issued": 15, "entered_once": 1, "verified": 0, "discrepancy": 0,
                      "accepted": 1}


@pytest.fixture
def regional_supervisor(make_user):
    """A supervisor of Guadalajara's region only (issue 18, 10)."""
    from app.extensions import db
    from app.models import Municipality, UserRegion

    user = make_user("supervisor", email="region@example.org")
    region = db.session.get(Municipality, "14039").region_number
    user.region_rows.append(UserRegion(region_number=region))
    db.session.commit()
    return user, region


def test_a_regional_supervisor_sets_targets_only_in_their_region(busy, regional_supervisor,
                                                                 client, login_as):
    from app.extensions import db
    from app.models import Municipality, ParticipationTarget
    from app.services import coverage

    user, region = regional_supervisor
    outside = db.session.scalar(db.select(Municipality.code).where(
        Municipality.region_number != region).order_by(Municipality.code))
    coverage.set_target(busy, "m14039", "100", user)
    coverage.set_target(busy, f"r{region}", "500", user)
    for place in (f"m{outside}", f"r{1 if region != 1 else 2}"):
        with pytest.raises(coverage.InvalidTarget, match="no puede fijar metas") as info:
            coverage.set_target(busy, place, "10", user)
        assert info.value.field == "place"
        with pytest.raises(coverage.InvalidTarget, match="no puede fijar metas"):
            coverage.remove_target(busy, place, user)
    assert coverage.targets_from_population(busy, "2", "region", user) == 1
    in_region = db.session.scalar(db.select(db.func.count(Municipality.code)).where(
        Municipality.region_number == region))
    assert coverage.targets_from_population(busy, "2", "municipality", user) == in_region
    stored = db.session.scalars(db.select(ParticipationTarget.municipality_code).where(
        ParticipationTarget.municipality_code.is_not(None))).all()
    assert len(stored) == in_region
    assert outside not in stored

    # Through the page: a message next to the place, nothing stored.
    login_as(user)
    response = client.post(f"/maps/{busy.slug}/targets",
                           data={"action": "set", "place": f"m{outside}", "respondents": "10"})
    assert response.status_code == 400
    assert "Tu cuenta no puede fijar metas" in response.text
    assert db.session.scalar(db.select(ParticipationTarget.id).where(
        ParticipationTarget.municipality_code == outside)) is None
