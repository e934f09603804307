"""Importing a spreadsheet: every row checked first, all stored in one batch or none."""

from __future__ import annotations

import io

import pytest
from flask_babel import force_locale

from app.extensions import db
from app.models import AuditEvent, ImportBatch, PaperBatch, Response
from app.services import imports
from app.services.errors import DomainError, OutOfScope
from app.services.imports import checks, store
from app.util import local_today
from tests.entry.helpers import HEADER, csv_bytes, row, serials, xlsx_bytes


@pytest.fixture(autouse=True)
def english(app):
    with force_locale("en"):
        yield


def count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def run(consultation, data: bytes, name: str = "forms.csv", actor=None):
    return imports.import_file(consultation, io.BytesIO(data), name, actor=actor)


def rejected(consultation, data: bytes, name: str = "forms.csv", actor=None):
    with pytest.raises(imports.ImportRejected) as info:
        run(consultation, data, name, actor)
    assert count(Response) == 0
    assert count(ImportBatch) == 0
    return info.value


def test_valid_csv_with_bom_is_stored_as_one_batch(make_consultation):
    consultation = make_consultation()
    data = csv_bytes([*serials(3), row("", channel="online", municipality="14097",
                                       submitted_on=local_today().isoformat())], bom=True)
    result = run(consultation, data)
    assert result.row_count == 4
    responses = db.session.scalars(db.select(Response).order_by(Response.id)).all()
    assert [r.form_serial for r in responses] == ["14039-000001", "14039-000002",
                                                    "14039-000003", None]
    first = responses[0]
    assert (first.channel, first.source, first.batch_id) == ("paper", "import", result.batch.id)
    assert [t.position for t in first.themes] == [1, 2]
    assert len(first.answers) == 5  # sector, two heard_via options, age, problem
    assert responses[3].channel == "online"
    assert db.session.scalar(db.select(AuditEvent.action)) == "import.stored"


def test_xlsx_is_read_like_csv(make_consultation):
    consultation = make_consultation()
    data = xlsx_bytes([row("A-1", age=34), row("A-2", age=None, submitted_on=None)])
    assert run(consultation, data, "forms.xlsx").row_count == 2
    assert count(Response) == 2


def test_same_file_twice_stores_nothing_the_second_time(make_consultation):
    consultation = make_consultation()
    data = csv_bytes(serials(2))
    run(consultation, data)
    error = rejected_after(consultation, data)
    assert "already imported" in error.problems[0]
    assert any("already stored" in p for p in error.problems)
    assert count(Response) == 2
    assert count(ImportBatch) == 1


def rejected_after(consultation, data):
    with pytest.raises(imports.ImportRejected) as info:
        run(consultation, data)
    return info.value


def problem_for(error, column):
    return [p for p in error.rows if p.column == column]


@pytest.mark.parametrize(
    ("values", "column", "reason"),
    [
        ({"themes": "security;nope"}, "themes", "unknown theme code"),
        ({"themes": "security;health;water;education"}, "themes", "too many themes: at most 3"),
        ({"themes": ""}, "themes", "choose at least 1 theme"),
        ({"themes": "health;health"}, "themes", "a theme is repeated"),
        ({"sector": "pirates"}, "sector", "unknown option code"),
        ({"sector": ""}, "sector", "an answer is required"),
        ({"heard_via": "radio_tv;carrier_pigeon"}, "heard_via", "unknown option code"),
        ({"age": "7"}, "age", "must be between 12 and 120"),
        ({"age": "old"}, "age", "not a number"),
        ({"problem": "x" * 2001}, "problem", "the text is too long (2001 characters"),
        ({"submitted_on": "2999-01-01"}, "submitted_on", "the date is in the future"),
        ({"submitted_on": "17/10/2016"}, "submitted_on", "not a date"),
        ({"municipality": "99999"}, "municipality", "unknown INEGI municipality code"),
        ({"channel": "fax"}, "channel", "must be \"paper\" or \"online\""),
        ({"form_serial": ""}, "form_serial", "required for paper forms"),
        ({"sector": "=HYPERLINK(\"http://x\")"}, "sector", "formulas are not accepted"),
        ({"problem": "@SUM(A1)"}, "problem", "formulas are not accepted"),
    ],
)
def test_a_bad_cell_rejects_the_whole_file(make_consultation, values, column, reason):
    consultation = make_consultation()
    error = rejected(consultation, csv_bytes([row("S-1"), row("S-2", **values), row("S-3")]))
    found = problem_for(error, column)
    assert found, error.problems
    assert found[0].row == 3
    assert reason in found[0].reason
    assert "nothing was stored" in error.message


def test_every_problem_is_listed_with_row_column_value(make_consultation):
    consultation = make_consultation()
    error = rejected(consultation, csv_bytes([
        row("S-1", sector="pirates"), row("S-2"), row("S-3", age="500", themes="x")]))
    assert [(p.row, p.column, p.value) for p in error.rows] == [
        (2, "sector", "pirates"), (4, "themes", "x"), (4, "age", "500")]


def test_report_is_translated(make_consultation):
    consultation = make_consultation()
    with force_locale("es_MX"), pytest.raises(imports.ImportRejected) as info:
        run(consultation, csv_bytes([row("S-1", sector="pirates")]))
    assert "código de opción desconocido" in info.value.rows[0].reason
    assert "no se guardó nada" in info.value.message


def test_duplicated_serials_inside_one_file(make_consultation):
    consultation = make_consultation()
    error = rejected(consultation, csv_bytes([row("S-1"), row("S-2"), row("S-1")]))
    assert [(p.row, p.reason) for p in error.rows] == [(4, "duplicate serial: also in row 2")]


def test_unknown_and_missing_columns(make_consultation):
    consultation = make_consultation()
    header = ["form_serial", "municipality", "themes", "colour", "colour"]
    error = rejected(consultation, csv_bytes([{"form_serial": "S-1", "municipality": "14039",
                                               "themes": "health"}], header=header))
    reasons = {(p.column, p.reason.split(";")[0]) for p in error.rows}
    assert ("colour", "unknown column") in reasons
    assert ("colour", "the column appears more than once") in reasons
    assert ("sector", "this column is missing") in reasons


def test_latin1_file_is_refused_naming_the_line(make_consultation):
    consultation = make_consultation()
    data = csv_bytes([row("S-1"), row("S-2", problem="Niños sin educación")],
                     encoding="latin-1")
    error = rejected(consultation, data)
    assert error.rows[0].row == 3
    assert "not UTF-8" in error.rows[0].reason


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\r\n\r\n"])
def test_empty_file(make_consultation, data):
    error = rejected(make_consultation(), data)
    assert "empty" in error.rows[0].reason


def test_header_only_has_no_data_rows(make_consultation):
    error = rejected(make_consultation(), csv_bytes([]))
    assert error.rows[0].reason == "the file has no data rows"


def test_million_character_cell(make_consultation):
    consultation = make_consultation()
    error = rejected(consultation, csv_bytes([row("S-1", problem="y" * 1_000_000),
                                              row("S-2", sector="z" * 1_000_000)]))
    assert [(p.row, p.column) for p in error.rows] == [(2, "problem"), (3, "sector")]
    assert all(len(p.value) < 100 for p in error.rows)
    assert "1000000" in error.rows[0].reason


def test_cell_beyond_the_reader_limit(make_consultation):
    data = csv_bytes([row("S-1", problem="y" * 2_500_000)])
    error = rejected(make_consultation(), data)
    assert "cannot be read as CSV" in error.rows[0].reason


def test_formulas_in_xlsx_cells(make_consultation):
    consultation = make_consultation()
    data = xlsx_bytes([row("S-1", age="=20+14")])
    error = rejected(consultation, data, "forms.xlsx")
    assert (error.rows[0].column, error.rows[0].value) == ("age", "=20+14")


def test_not_an_xlsx(make_consultation):
    error = rejected(make_consultation(), b"PK\x03\x04 broken", "forms.xlsx")
    assert "not a valid XLSX" in error.rows[0].reason


def test_other_extensions_are_refused(make_consultation):
    with pytest.raises(DomainError, match="Only .csv and .xlsx"):
        run(make_consultation(), b"a,b", "forms.ods")


def test_serial_already_stored_is_a_duplicate(make_consultation):
    consultation = make_consultation()
    run(consultation, csv_bytes([row("S-1")]))
    with pytest.raises(imports.ImportRejected) as info:
        run(consultation, csv_bytes([row("S-2"), row("S-1")]))
    assert [(p.row, p.column) for p in info.value.rows] == [(3, "form_serial")]
    assert count(Response) == 1


def after_the_check(monkeypatch, action) -> None:
    """Run action() once, right after the next import's file check (before its store)."""
    check = store.check_file

    def check_then_act(*args, **kwargs):
        checked = check(*args, **kwargs)
        monkeypatch.setattr(store, "check_file", check)  # an import in action() checks plainly
        action()
        return checked

    monkeypatch.setattr(store, "check_file", check_then_act)


def test_a_row_added_between_the_check_and_the_store_stores_nothing(make_consultation,
                                                                  monkeypatch):
    consultation = make_consultation()
    data = csv_bytes(serials(1000))
    stream = io.BytesIO(data)

    def add_a_row():
        stream.seek(0, io.SEEK_END)
        stream.write(csv_bytes(serials(1, start=5000)).split(b"\r\n", 1)[1])

    after_the_check(monkeypatch, add_a_row)
    with pytest.raises(imports.ImportRejected, match="changed while it was being imported"):
        imports.import_file(consultation, stream, "forms.csv", actor=None)
    assert count(Response) == 0
    assert count(ImportBatch) == 0


def test_a_serial_stored_between_the_check_and_the_store_stores_nothing(make_consultation,
                                                                      monkeypatch):
    """Another upload stores a serial of this file after it was checked: nothing of it stays.

    The serial is in the third chunk of 500, so the first two were already written.
    """
    consultation = make_consultation()
    after_the_check(monkeypatch, lambda: run(consultation, csv_bytes([row("14039-001100")])))
    with pytest.raises(DomainError, match="at the same moment"):
        run(consultation, csv_bytes(serials(1200)))
    assert count(Response) == 1
    assert count(ImportBatch) == 1


def test_a_file_changed_between_the_check_and_the_store_stores_nothing(make_consultation,
                                                                     monkeypatch):
    """The last row turns bad after the check, when two chunks of 500 were already written."""
    consultation = make_consultation()
    data = csv_bytes(serials(1200))
    stream = io.BytesIO(data)

    def change_the_last_row():
        at = data.rindex(b"security;health")
        stream.getbuffer()[at:at + 15] = b"security;healtx"

    after_the_check(monkeypatch, change_the_last_row)
    with pytest.raises(imports.ImportRejected, match="changed while it was being imported"):
        imports.import_file(consultation, stream, "forms.csv", actor=None)
    assert count(Response) == 0
    assert count(ImportBatch) == 0


def test_serial_issued_for_another_municipality_is_refused(make_consultation):
    consultation = make_consultation()
    db.session.add(PaperBatch(consultation_id=consultation.id, municipality_code="14097",
                              first_sequence=1, last_sequence=10, count=10))
    db.session.commit()
    error = rejected(consultation, csv_bytes([row("14097-000003", municipality="14039"),
                                              row("14097-000004", municipality="14097"),
                                              row("14097-000099", municipality="14039")]))
    assert [(p.row, p.reason) for p in error.rows] == [
        (2, "this serial was issued for municipality 14097")]


def test_municipality_outside_the_uploaders_scope(make_consultation, make_user):
    consultation = make_consultation()
    staff = make_user("staff", municipalities=["14097"])
    with pytest.raises(OutOfScope) as info:
        run(consultation, csv_bytes([row("S-1", municipality="14097"),
                                     row("S-2", municipality="14039")]), actor=staff)
    assert info.value.problems == [
        'row 3, municipality "14039": your account may not work on this municipality']
    assert count(Response) == 0
    assert run(consultation, csv_bytes([row("S-1", municipality="14097")]),
               actor=staff).row_count == 1


def test_void_batch_keeps_the_rows_with_who_and_why(make_consultation, make_user):
    consultation = make_consultation()
    supervisor = make_user("supervisor", all_municipalities=True)
    batch = run(consultation, csv_bytes(serials(3))).batch
    with pytest.raises(DomainError, match="reason"):
        imports.void_batch(batch.id, actor=supervisor, reason=" ")
    imports.void_batch(batch.id, actor=supervisor, reason="Typed twice")
    states = db.session.scalars(db.select(Response.state)).all()
    assert states == ["voided"] * 3
    voided = db.session.scalar(db.select(Response))
    assert (voided.voided_by_id, voided.void_reason) == (supervisor.id, "Typed twice")
    assert db.session.get(ImportBatch, batch.id).voided_by_id == supervisor.id
    assert db.session.scalar(db.select(AuditEvent).where(
        AuditEvent.action == "import.voided")).details["responses"] == 3
    with pytest.raises(DomainError, match="already voided"):
        imports.void_batch(batch.id, actor=supervisor, reason="again")


def test_void_batch_outside_scope(make_consultation, make_user):
    consultation = make_consultation()
    batch = run(consultation, csv_bytes(serials(2))).batch
    staff = make_user("staff", municipalities=["14097"])
    with pytest.raises(OutOfScope):
        imports.void_batch(batch.id, actor=staff, reason="not mine")
    assert db.session.scalars(db.select(Response.state)).all() == ["accepted"] * 2


def test_thousands_of_rows_report_progress(make_consultation):
    consultation = make_consultation()
    seen = []
    data = csv_bytes(serials(3000))
    result = imports.import_file(consultation, io.BytesIO(data), "big.csv", actor=None,
                                 progress=lambda phase, done, total: seen.append(
                                     (phase, done, total)))
    assert result.row_count == 3000
    assert ("check", len(data), len(data)) in seen
    assert ("store", 3000, 3000) in seen
    assert len([s for s in seen if s[0] == "store"]) >= 6


def test_template_lists_every_column(make_consultation):
    consultation = make_consultation()
    text = imports.template_csv(consultation)
    assert text.splitlines()[0] == ",".join(HEADER)
    # The template's example row is itself a valid import.
    assert run(consultation, text.encode()).row_count == 1


def test_a_long_file_name_is_kept_short(make_consultation):
    result = run(make_consultation(), csv_bytes([row("S-1")]), "f" * 300 + ".csv")
    assert len(result.batch.filename) <= 255


def stored_rows(response):
    themes = [(t.theme_id, t.position) for t in response.themes]
    answers = sorted((a.question_id, a.option_id, a.text_value, a.number_value)
                     for a in response.answers)
    return (response.channel, response.municipality_code, response.submitted_on,
            response.state, themes, answers)


def test_imported_rows_are_stored_as_new_response_builds_them(make_consultation):
    """The import writes rows without the ORM: they must equal what new_response builds."""
    from datetime import date

    from app.services.responses import new_response

    consultation = make_consultation()
    cases = [row("S-1"), row("S-2", heard_via="", age="", problem="", themes="water"),
             row("S-3", age="12.5", heard_via="school;radio_tv",
                 submitted_on=local_today().isoformat()),
             row("", channel="online", municipality="14097", sector="public")]
    run(consultation, csv_bytes(cases))
    imported = db.session.scalars(db.select(Response).order_by(Response.id)).all()
    checker = checks._RowChecker(consultation, None)
    for number, (values, response) in enumerate(zip(cases, imported, strict=True), start=2):
        parsed = checker.check(number, {k: str(v) for k, v in values.items()}, [], [])
        built = new_response(consultation, channel=parsed["channel"], source="import",
                             municipality_code=parsed["municipality_code"],
                             theme_codes=parsed["theme_codes"], answers=parsed["answers"],
                             submitted_on=parsed["submitted_on"])
        assert stored_rows(response) == stored_rows(built)
        assert (response.source, response.form_serial) == ("import", values["form_serial"]
                                                           or None)
        assert isinstance(response.submitted_on, date)
    db.session.rollback()


def test_ids_after_an_import_are_new(make_consultation):
    """Response ids are reserved by the import; later responses and imports do not clash."""
    consultation = make_consultation()
    first = run(consultation, csv_bytes(serials(3)))
    second = run(consultation, csv_bytes(serials(2, start=10)))
    from app.services.responses import new_response

    db.session.add(new_response(consultation, channel="online", source="online",
                                municipality_code="14039", theme_codes=["health"],
                                answers={"sector": "private"}))
    db.session.commit()
    ids = db.session.scalars(db.select(Response.id).order_by(Response.id)).all()
    assert len(set(ids)) == 6
    assert {r.batch_id for r in db.session.scalars(db.select(Response))} == {
        first.batch.id, second.batch.id, None}
