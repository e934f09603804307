"""Importing a spreadsheet: every row checked first, all stored in one batch or none."""

from __future__ import annotations

import io

import pytest
from flask_babel import force_locale
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import AuditEvent, ImportBatch, PaperBatch, Response
from app.services import imports, paper
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
    data = xlsx_bytes([row("14039-800001", age=34),
                       row("14039-800002", age=None, submitted_on=None)])
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
        ({"form_serial": "S-1"}, "form_serial", "not a form serial: a serial is the "
         "municipality's INEGI code, a hyphen and six digits, e.g. 14039-000123"),
        ({"form_serial": "14039-12"}, "form_serial", "not a form serial"),
        ({"sector": "Sector pirata"}, "sector", "unknown option code or label"),
        ({"themes": "Inseguridad;Salud;Agua;Educación"}, "themes", "too many themes"),
    ],
)
def test_a_bad_cell_rejects_the_whole_file(make_consultation, values, column, reason):
    consultation = make_consultation()
    error = rejected(consultation, csv_bytes([row("14039-900001"), row("14039-900002", **values),
                                              row("14039-900003")]))
    found = problem_for(error, column)
    assert found, error.problems
    assert found[0].row == 3
    assert reason in found[0].reason
    assert "nothing was stored" in error.message


def test_every_problem_is_listed_with_row_column_value(make_consultation):
    consultation = make_consultation()
    error = rejected(consultation, csv_bytes([
        row("14039-900001", sector="pirates"), row("14039-900002"),
        row("14039-900003", age="500", themes="x")]))
    assert [(p.row, p.column, p.value) for p in error.rows] == [
        (2, "sector", "pirates"), (4, "themes", "x"), (4, "age", "500")]


def test_report_is_translated(make_consultation):
    consultation = make_consultation()
    with force_locale("es_MX"), pytest.raises(imports.ImportRejected) as info:
        run(consultation, csv_bytes([row("14039-900001", sector="pirates")]))
    assert "código o etiqueta de opción desconocidos" in info.value.rows[0].reason
    assert "no se guardó nada" in info.value.message


def test_duplicated_serials_inside_one_file(make_consultation):
    consultation = make_consultation()
    error = rejected(consultation, csv_bytes([row("14039-900001"), row("14039-900002"),
                                              row("14039-900001")]))
    assert [(p.row, p.reason) for p in error.rows] == [(4, "duplicate serial: also in row 2")]


def test_unknown_and_missing_columns(make_consultation):
    consultation = make_consultation()
    header = ["form_serial", "municipality", "themes", "colour", "colour"]
    error = rejected(consultation, csv_bytes([{"form_serial": "14039-900001",
                                               "municipality": "14039", "themes": "health"}],
                                             header=header))
    reasons = {(p.column, p.reason.split(";")[0]) for p in error.rows}
    assert ("colour", "unknown column") in reasons
    assert ("colour", "the column appears more than once") in reasons
    assert ("sector", "this column is missing") in reasons


def test_latin1_file_is_refused_naming_the_line(make_consultation):
    consultation = make_consultation()
    data = csv_bytes([row("14039-900001"), row("14039-900002", problem="Niños sin educación")],
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
    error = rejected(consultation, csv_bytes([row("14039-900001", problem="y" * 1_000_000),
                                              row("14039-900002", sector="z" * 1_000_000)]))
    assert [(p.row, p.column) for p in error.rows] == [(2, "problem"), (3, "sector")]
    assert all(len(p.value) < 100 for p in error.rows)
    assert "1000000" in error.rows[0].reason


def test_cell_beyond_the_reader_limit(make_consultation):
    data = csv_bytes([row("14039-900001", problem="y" * 2_500_000)])
    error = rejected(make_consultation(), data)
    assert "cannot be read as CSV" in error.rows[0].reason


def test_a_formula_in_an_xlsx_number_cell_is_its_text_not_its_value(make_consultation):
    """A formula is read as typed ("=20+14"), never computed: as a number it is refused."""
    consultation = make_consultation()
    data = xlsx_bytes([row("14039-900001", age="=20+14")])
    error = rejected(consultation, data, "forms.xlsx")
    assert [(p.column, p.value, p.reason) for p in error.rows] == [
        ("age", "=20+14", "not a number")]


def test_not_an_xlsx(make_consultation):
    error = rejected(make_consultation(), b"PK\x03\x04 broken", "forms.xlsx")
    assert "not a valid XLSX" in error.rows[0].reason


def test_other_extensions_are_refused(make_consultation):
    with pytest.raises(DomainError, match="Only .csv and .xlsx"):
        run(make_consultation(), b"a,b", "forms.ods")


def test_serial_already_stored_is_a_duplicate(make_consultation):
    consultation = make_consultation()
    run(consultation, csv_bytes([row("14039-900001")]))
    with pytest.raises(imports.ImportRejected) as info:
        run(consultation, csv_bytes([row("14039-900002"), row("14039-900001")]))
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
    """An out-of-scope row is a row problem in the report, with every other problem."""
    consultation = make_consultation()
    staff = make_user("staff", municipalities=["14097"])
    error = rejected(consultation, csv_bytes([row("14097-900001", municipality="14097"),
                                              row("14039-900002", municipality="14039"),
                                              row("14097-900003", municipality="14097",
                                                  sector="pirates")]), actor=staff)
    assert [(p.row, p.column, p.value, p.reason) for p in error.rows] == [
        (3, "municipality", "14039", "your account may not work on this municipality"),
        (4, "sector", "pirates", "unknown option code or label")]
    assert count(Response) == 0
    trace = db.session.scalar(db.select(AuditEvent).where(
        AuditEvent.action == "access.out_of_scope"))
    assert (trace.actor_id, trace.details["rows"]) == (staff.id, [
        'row 3, municipality "14039": your account may not work on this municipality'])
    assert run(consultation, csv_bytes([row("14097-900001", municipality="14097")]),
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
    result = run(make_consultation(), csv_bytes([row("14039-900001")]), "f" * 300 + ".csv")
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
    cases = [row("14039-900001"),
             row("14039-900002", heard_via="", age="", problem="", themes="water"),
             row("14039-900003", age="12.5", heard_via="school;radio_tv",
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


# Issue 18 ------------------------------------------------------------------------------------

CITIZENS_WORDS = ["=SUM(A1) corrupción en el ayuntamiento", "@todos baches en mi calle",
                  "+52 33 1234 5678 no contestan", "-5 grados en las escuelas"]


def stored_texts() -> list[str]:
    from app.models import Answer

    return list(db.session.scalars(db.select(Answer.text_value).where(
        Answer.text_value.is_not(None)).order_by(Answer.response_id)))


def test_citizens_words_that_start_like_formulas_are_stored_as_typed(make_consultation):
    """Issue 18.1: "=SUM… corrupción", "@todos…", "+52 33…" were refused as formulas."""
    consultation = make_consultation()
    data = csv_bytes([row(f"14039-90000{i}", problem=text)
                      for i, text in enumerate(CITIZENS_WORDS, start=1)])
    assert run(consultation, data).row_count == 4
    assert stored_texts() == CITIZENS_WORDS


def test_a_formula_in_an_xlsx_cell_is_stored_as_its_text(make_consultation):
    """An XLSX cell that holds a real formula gives the formula as typed, not its value."""
    from openpyxl import load_workbook

    consultation = make_consultation()
    data = xlsx_bytes([row("14039-900001", problem="=SUM(A1)"),
                       row("14039-900002", problem="=SUM(A1) corrupción"),
                       row("14039-900003", problem="@todos baches"),
                       row("14039-900004", problem="+52 33 1234 5678")])
    cell = load_workbook(io.BytesIO(data)).active["H2"]
    assert (cell.data_type, cell.value) == ("f", "=SUM(A1)")  # a formula, not a text cell
    assert run(consultation, data, "forms.xlsx").row_count == 4
    assert stored_texts() == ["=SUM(A1)", "=SUM(A1) corrupción", "@todos baches",
                              "+52 33 1234 5678"]


@pytest.mark.parametrize("column", ["problem", "sector", "municipality", "form_serial",
                                    "themes", "age"])
def test_a_nul_byte_in_any_cell_is_a_row_problem(make_consultation, column):
    """Issue 18.6: a NUL byte gave a 500 on PostgreSQL (text cannot hold it)."""
    consultation = make_consultation()
    values = {"form_serial": "14039-900002", "problem": "Baches", "sector": "private",
              "municipality": "14039", "themes": "security", "age": "34"}
    values[column] = values[column][:3] + "\x00" + values[column][3:]
    error = rejected(consultation, csv_bytes([row("14039-900001"), row(**values)]))
    assert [(p.row, p.column) for p in error.rows] == [(3, column)]
    assert "NUL character" in error.rows[0].reason
    assert "\x00" not in error.rows[0].value


def test_a_nul_byte_in_the_header_is_a_problem(make_consultation):
    header = [*HEADER[:-1], "submitted\x00on"]
    error = rejected(make_consultation(), csv_bytes([row()], header=header))
    assert [(p.row, p.column) for p in error.rows][0] == (1, "column 9")
    assert "NUL character" in error.rows[0].reason


def xlsx_with(data: bytes, placeholder: str, raw: bytes) -> bytes:
    """Return the workbook with a placeholder's bytes replaced by raw bytes in its XML."""
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item.filename).replace(placeholder.encode(), raw))
    return out.getvalue()


@pytest.mark.parametrize("raw", [b"\x00", b"&#0;"])
def test_a_nul_byte_in_an_xlsx_cell_is_a_problem_not_an_error(make_consultation, raw):
    data = xlsx_bytes([row("14039-900001"), row("14039-900002", problem="NULHERE")])
    error = rejected(make_consultation(), xlsx_with(data, "NULHERE", b"Ba" + raw + b"ches"),
                     "forms.xlsx")
    assert [(p.row, p.column) for p in error.rows] == [(3, "problem")]
    assert "NUL byte" in error.rows[0].reason


def test_an_out_of_scope_serial_is_a_row_problem(make_consultation, make_user):
    """Issue 18.9: the serial's municipality outside the account is reported, not a 403."""
    consultation = make_consultation()
    staff = make_user("staff", municipalities=["14097"])
    error = rejected(consultation, csv_bytes([row("14039-900001", municipality="14097")]),
                     actor=staff)
    assert [(p.row, p.column, p.reason) for p in error.rows] == [
        (2, "form_serial", "your account may not work on this municipality")]


def test_template_example_is_in_the_users_scope(make_consultation, make_user):
    """Issue 18.9: the template's example row (Guadalajara) was out of scope for most staff."""
    consultation = make_consultation()
    staff = make_user("staff", municipalities=["14097"])
    text = imports.template_csv(consultation, staff)
    assert text.splitlines()[1].startswith("14097-000001,paper,14097,")
    assert run(consultation, text.encode(), actor=staff).row_count == 1
    assert imports.template_csv(consultation).splitlines()[1].startswith("14039-000001,")


def test_themes_and_options_by_label_in_either_language(make_consultation):
    """Issue 18.10: labels in Spanish or English, accent- and case-insensitive, as codes."""
    from app.models import Answer, Option, ResponseTheme, Theme

    consultation = make_consultation()
    run(consultation, csv_bytes([
        row("14039-900001", themes="INSEGURIDAD; educacion ;Water", sector="Sector Privado",
            heard_via="redes sociales;Radio or television"),
        row("14039-900002", themes="Corrupción", sector="ORGANIZED civil society",
            heard_via="")]))
    themes = db.session.execute(db.select(ResponseTheme.response_id, Theme.code).join(Theme)
                                .order_by(ResponseTheme.response_id,
                                          ResponseTheme.position)).all()
    assert [code for _, code in themes] == ["security", "education", "water", "corruption"]
    options = db.session.scalars(db.select(Option.code).join(Answer, Answer.option_id ==
                                                             Option.id)
                                 .order_by(Answer.response_id, Option.code)).all()
    assert options == ["private", "radio_tv", "social_media", "civil_society"]


def test_an_ambiguous_label_is_a_problem(make_consultation):
    from tests.conftest import demo_definition

    themes = demo_definition()["themes"]
    water = next(t for t in themes if t["code"] == "water")
    water["name"] = {"es": "Agua", "en": "Salud"}  # "salud" now names health and water
    consultation = make_consultation(themes=themes)
    error = rejected(consultation, csv_bytes([row("14039-900001", themes="salud")]))
    assert [(p.column, p.value, p.reason) for p in error.rows] == [
        ("themes", "salud", "ambiguous: this name fits several themes (health, water); "
                            "type the code")]


def test_header_names_ignore_case_and_surrounding_spaces(make_consultation):
    consultation = make_consultation()
    header = [" Form_Serial", "CHANNEL", "Municipality ", "Themes", "SECTOR", "heard_via",
              "Age", "problem", "Submitted_On"]
    data = csv_bytes([row()], header=HEADER).split(b"\r\n", 1)[1]
    assert run(consultation, (",".join(header) + "\r\n").encode() + data).row_count == 1


def test_a_column_twice_after_folding_is_a_problem(make_consultation):
    header = [*HEADER, "SECTOR"]
    error = rejected(make_consultation(), csv_bytes([row()], header=header))
    assert [(p.row, p.column, p.value, p.reason) for p in error.rows] == [
        (1, "sector", "sector / SECTOR", "the column appears more than once")]


def test_serials_the_app_did_not_issue_are_stored_and_listed(make_consultation):
    consultation = make_consultation()
    db.session.add(PaperBatch(consultation_id=consultation.id, municipality_code="14039",
                              first_sequence=1, last_sequence=10, count=10))
    db.session.commit()
    result = run(consultation, csv_bytes([row("14039-000003"), row("14039-000500"),
                                          row("", channel="online")]))
    assert result.row_count == 3
    assert [(n.row, n.column, n.value) for n in result.notices] == [
        (3, "form_serial", "14039-000500")]
    assert "did not issue this serial" in result.notices[0].reason


def test_a_draft_consultation_takes_no_import(make_consultation):
    """Issue 18.10: importing into a draft froze its questionnaire before publication."""
    consultation = make_consultation()
    consultation.is_draft = True
    db.session.commit()
    with pytest.raises(DomainError, match="is a draft"):
        run(consultation, csv_bytes([row()]))
    assert count(Response) == 0
    assert count(ImportBatch) == 0


def region_supervisor(make_user, municipality: str):
    from app.models import Municipality, UserRegion

    region = db.session.get(Municipality, municipality).region_number
    supervisor = make_user("supervisor")
    supervisor.region_rows.append(UserRegion(region_number=region))
    db.session.commit()
    return supervisor, region


def test_a_regional_supervisor_sees_and_voids_the_regions_imports(make_consultation, make_user):
    """Issue 18.10: a supervisor of a region saw only the batches they uploaded themselves."""
    from app.models import Municipality

    consultation = make_consultation()
    supervisor, region = region_supervisor(make_user, "14039")
    elsewhere = db.session.scalar(db.select(Municipality.code).where(
        Municipality.region_number != region).order_by(Municipality.code))
    gdl_staff = make_user("staff", municipalities=["14039"])
    other_staff = make_user("staff", municipalities=[elsewhere])
    mine = run(consultation, csv_bytes(serials(2)), actor=gdl_staff).batch
    theirs = run(consultation, csv_bytes(serials(2, municipality=elsewhere)),
                 actor=other_staff).batch
    assert [b.id for b in imports.batches(consultation, supervisor)] == [mine.id]
    assert [b.id for b in imports.batches(consultation, gdl_staff)] == [mine.id]
    imports.void_batch(mine.id, actor=supervisor, reason="Typed twice")
    with pytest.raises(OutOfScope):
        imports.void_batch(theirs.id, actor=supervisor, reason="not my region")


def test_a_voided_batch_frees_its_file_and_serials_for_the_check(make_consultation, make_user):
    """Issue 18.10: after voiding, the same file was refused as already imported."""
    consultation = make_consultation()
    supervisor = make_user("supervisor", all_municipalities=True)
    data = csv_bytes(serials(3))
    batch = run(consultation, data).batch
    imports.void_batch(batch.id, actor=supervisor, reason="wrong consultation")
    checked = imports.check_file(consultation, io.BytesIO(data), "csv", None)
    assert checked.problems == []
    # The database lets a second batch of the same file in once the first is voided ...
    db.session.add(ImportBatch(consultation_id=consultation.id, filename="again.csv",
                               sha256=batch.sha256, row_count=3))
    db.session.commit()
    # ... but never two live batches of one file.
    db.session.add(ImportBatch(consultation_id=consultation.id, filename="twice.csv",
                               sha256=batch.sha256, row_count=3))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_the_same_file_imports_again_after_its_batch_was_voided(make_consultation, make_user):
    consultation = make_consultation()
    supervisor = make_user("supervisor", all_municipalities=True)
    data = csv_bytes(serials(3))
    batch = run(consultation, data).batch
    imports.void_batch(batch.id, actor=supervisor, reason="wrong consultation")
    again = run(consultation, data)
    assert again.row_count == 3
    assert db.session.scalars(db.select(Response.state).order_by(Response.id)).all() == [
        "voided"] * 3 + ["accepted"] * 3


def test_a_nul_byte_deep_in_a_long_xlsx_sheet_names_its_cell(make_consultation):
    rows = serials(1500)
    rows[1200]["sector"] = "NULHERE"
    data = xlsx_with(xlsx_bytes(rows), "NULHERE", b"priv\x00ate")
    error = rejected(make_consultation(), data, "forms.xlsx")
    assert [(p.row, p.column) for p in error.rows] == [(1202, "sector")]


def test_a_nul_byte_in_the_workbooks_own_xml_is_a_problem_not_an_error(make_consultation):
    """Read when the workbook opens (as Excel's shared strings are), before any row."""
    data = xlsx_bytes([row("14039-900001")])
    data = xlsx_with(data, 'name="Sheet"', b'name="Sh\x00eet"')
    error = rejected(make_consultation(), data, "forms.xlsx")
    assert [(p.row, p.column) for p in error.rows] == [(None, "")]
    assert "NUL byte" in error.rows[0].reason


def test_a_form_voided_on_the_keying_screen_can_be_imported(make_consultation, make_user):
    """A keying voided on the entry screen no longer holds its serial for an import."""
    from tests.entry.test_keying import form

    consultation = make_consultation()
    clerk = make_user("staff", municipalities=["14039"])
    supervisor = make_user("supervisor", all_municipalities=True)
    paper.create_batch(consultation, "14039", 10, actor=supervisor)
    answers = paper.parse_keying(consultation, form())
    paper.submit_keying(consultation, "14039-000005", answers, actor=clerk)
    data = csv_bytes([row("14039-000005")])
    assert [p.column for p in imports.check_file(
        consultation, io.BytesIO(data), "csv", None).problems] == ["form_serial"]
    paper.void_form(consultation, "14039-000005", "Keyed on the wrong stack", actor=supervisor)
    assert run(consultation, data).row_count == 1
