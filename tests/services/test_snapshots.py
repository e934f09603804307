"""Result snapshots (closed consultations' count tables across processes) and result caches."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest
from sqlalchemy import create_engine, select, text

from app.extensions import db
from app.models import ResultSnapshot
from app.services import datasets, results
from app.services.datasets import Filters
from app.services.responses import new_response
from tests.api.conftest import add_rows, make_closed


@pytest.fixture
def app_config() -> dict:
    return {"BOOTSTRAP_REPLICATES": 200, "MIN_CELL_SIZE": 1}


@pytest.fixture
def consultation(make_consultation):
    return make_closed(make_consultation)


def snapshots(consultation) -> dict[str, str]:
    """Return {key: fingerprint} of the stored snapshots."""
    db.session.rollback()  # see rows committed by the snapshot's own connection
    return dict(db.session.execute(select(ResultSnapshot.key, ResultSnapshot.fingerprint).where(
        ResultSnapshot.consultation_id == consultation.id)).all())


def new_process() -> None:
    """Forget what this process computed, as a newly started worker would."""
    datasets._PATTERN_CACHE.clear()
    results._RESULT_CACHE.clear()


def no_scan(monkeypatch) -> list:
    """Count the scans of the responses (the pattern query) from now on."""
    scans = []
    real = datasets._pattern_query

    def counted(*args, **kwargs):
        scans.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(datasets, "_pattern_query", counted)
    return scans


def positions(consultation, filters: Filters | None = None) -> dict:
    frame = datasets.theme_position_counts(consultation, filters or Filters())
    return {(r.theme, r.position): r.count for r in frame.itertuples()}


def test_the_table_round_trips_exactly(consultation):
    frame = datasets._pattern_query(consultation, {})
    pd.testing.assert_frame_equal(datasets.decode_table(datasets.encode_table(frame)), frame)
    empty = frame.iloc[0:0]
    pd.testing.assert_frame_equal(datasets.decode_table(datasets.encode_table(empty)), empty,
                                  check_index_type=False)
    options = datasets.option_counts(consultation)
    pd.testing.assert_frame_equal(datasets.decode_table(datasets.encode_table(options)),
                                  options)


def test_a_closed_consultation_is_snapshotted_and_read_by_a_new_process(consultation,
                                                                        monkeypatch):
    new_process()
    before = positions(consultation)
    participation = results.participation(consultation)
    stored = snapshots(consultation)
    assert datasets._snapshot_key("patterns", Filters()) in stored
    assert datasets._snapshot_key("options", Filters()) in stored
    new_process()
    scans = no_scan(monkeypatch)
    assert positions(consultation) == before
    assert results.participation(consultation) == participation
    assert datasets.respondent_count(consultation, Filters(region=12)) == 3
    assert scans == []  # everything came from the snapshot


def test_an_open_consultation_is_never_snapshotted(make_consultation):
    consultation = make_consultation("open")
    add_rows(consultation)
    new_process()
    assert positions(consultation)[("security", 1)] == 3
    results.participation(consultation)
    assert snapshots(consultation) == {}


@pytest.mark.parametrize("change", ["void", "add"])
def test_a_changed_response_invalidates_the_snapshot(consultation, monkeypatch, change):
    new_process()
    before = positions(consultation)
    old = snapshots(consultation)[datasets._snapshot_key("patterns", Filters())]
    if change == "void":
        response = db.session.scalars(db.select(datasets.Response).where(
            datasets.Response.state == "accepted").order_by(datasets.Response.id)).first()
        response.state = "voided"  # security, health, education
    else:
        db.session.add(new_response(consultation, channel="paper", source="import",
                                    municipality_code="14001", theme_codes=["security"],
                                    answers={"sector": "other"}, form_serial="LATE-1"))
    db.session.commit()
    new_process()
    scans = no_scan(monkeypatch)
    after = positions(consultation)
    assert scans  # the stale snapshot was not used
    expected = dict(before)
    expected[("security", 1)] += -1 if change == "void" else 1
    if change == "void":
        expected[("health", 2)] -= 1
        expected[("education", 3)] -= 1
    assert after == {k: v for k, v in expected.items() if v}
    # Replaced by the new fingerprint, which the next process uses.
    new = snapshots(consultation)[datasets._snapshot_key("patterns", Filters())]
    assert new != old
    new_process()
    scans.clear()
    assert positions(consultation) == after
    assert scans == []


def test_the_dashboard_comparisons_come_from_the_snapshots(consultation, monkeypatch):
    new_process()
    first = positions(consultation, Filters(options={"sector": "private"}))
    stored = snapshots(consultation)
    for option in ("private", "public", "academia", "civil_society", "other"):
        assert datasets._snapshot_key("patterns", Filters(options={"sector": option})) in stored
    new_process()
    scans = no_scan(monkeypatch)
    assert positions(consultation, Filters(options={"sector": "private"})) == first
    assert datasets.respondent_count(consultation, Filters(options={"sector": "academia"})) == 1
    assert scans == []


def test_the_comparison_split_is_snapshotted_and_read_by_a_new_process(consultation,
                                                                      monkeypatch):
    """The dashboard's comparison by sector: one scan grouped by option, kept in a snapshot
    of its own, and the same groups in a new process without a scan."""
    new_process()
    first = results.comparisons(consultation)
    key = datasets._snapshot_key(f"{datasets.OPTION_SPLIT}:sector", Filters())
    assert key in snapshots(consultation)
    # The per-municipality splits of the option-filtered views were not needed for it.
    assert datasets._snapshot_key("patterns", Filters(options={"sector": "private"})) \
        not in snapshots(consultation)
    new_process()
    scans = no_scan(monkeypatch)
    expanded = []  # patterns expanded: a scan's rows being made into a table
    real = datasets._with_theme_slots
    monkeypatch.setattr(datasets, "_with_theme_slots",
                        lambda *args: expanded.append(args) or real(*args))
    again = results.comparisons(consultation)
    assert scans == []
    assert expanded == []
    assert [(d["key"], d["groups"]) for d in again] == [(d["key"], d["groups"]) for d in first]
    for before, after in zip(first, again, strict=True):
        pd.testing.assert_frame_equal(before["shares"], after["shares"])


def test_a_locked_snapshot_table_never_fails_a_read(consultation, database_url):
    """A concurrent writer holding the table: the results are computed, the write given up."""
    new_process()
    expected = positions(consultation)
    assert snapshots(consultation)  # written when that transaction ended
    db.session.execute(db.delete(ResultSnapshot))
    db.session.commit()
    new_process()
    other = create_engine(database_url)
    with other.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.begin()
            connection.execute(text("LOCK TABLE result_snapshot IN EXCLUSIVE MODE"))
        assert positions(consultation) == expected
        started = time.perf_counter()
        db.session.commit()  # the end of the request: the snapshot is written now, and fails
        assert time.perf_counter() - started < 10
        connection.rollback()
    other.dispose()
    assert snapshots(consultation) == {}
    # The next request stores it.
    new_process()
    assert positions(consultation) == expected
    assert datasets._snapshot_key("patterns", Filters()) in snapshots(consultation)


def test_no_snapshot_from_a_transaction_that_wrote_and_was_rolled_back(consultation):
    new_process()
    db.session.add(new_response(consultation, channel="paper", source="import",
                                municipality_code="14001", theme_codes=["water"],
                                answers={"sector": "other"}, form_serial="NEVER-1"))
    db.session.flush()
    assert positions(consultation)[("water", 1)] == 1
    db.session.rollback()
    assert snapshots(consultation) == {}
    new_process()
    assert ("water", 1) not in positions(consultation)


def test_concurrent_writers_leave_one_snapshot(app, consultation):
    frame = datasets._pattern_query(consultation, {})
    fingerprint = datasets._fingerprint(consultation)
    key = datasets._snapshot_key("patterns", Filters())
    consultation_id = consultation.id
    errors = []

    def write():
        try:
            with app.app_context():
                mine = db.session.get(datasets.Consultation, consultation_id)
                for _ in range(5):
                    datasets.write_snapshot(mine, key, fingerprint, frame)
                db.session.remove()
        except Exception as error:  # noqa: BLE001 - any exception fails the test below
            errors.append(error)

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert list(snapshots(consultation)) == [key]
    payload = db.session.scalar(select(ResultSnapshot.payload))
    pd.testing.assert_frame_equal(datasets.decode_table(payload), frame)


def test_the_ranking_is_cached_until_a_response_changes(consultation, monkeypatch):
    new_process()
    first = results.ranking(consultation, weight="population")
    calls = []
    real = results.bootstrap
    monkeypatch.setattr(results, "bootstrap", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert results.ranking(consultation, weight="population") == first
    assert calls == []
    unweighted = results.ranking(consultation)
    assert calls == [1]
    assert unweighted["respondents"] == first["respondents"] == 5
    db.session.add(new_response(consultation, channel="paper", source="import",
                                municipality_code="14001", theme_codes=["water"],
                                answers={"sector": "other"}, form_serial="LATE-2"))
    db.session.commit()
    again = results.ranking(consultation)
    assert calls == [1, 1]
    assert again["respondents"] == 6
    assert {t["code"]: t["votes"] for t in again["themes"]}["water"] == 1


def test_cli_snapshot(consultation, make_consultation, runner):
    new_process()
    result = runner.invoke(args=["results", "snapshot", "closed-one"], env={"LANG": "en"})
    assert result.exit_code == 0, result.output
    assert "Stored 7 count tables" in result.output
    assert len(snapshots(consultation)) == 7  # all, five sectors, options
    open_one = make_consultation("open", slug="still-open")
    refused = runner.invoke(args=["results", "snapshot", "still-open"], env={"LANG": "en"})
    assert refused.exit_code == 1
    assert "is not closed" in refused.output
    assert snapshots(open_one) == {}
