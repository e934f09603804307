"""Import responses from a CSV or XLSX file: check every row, then store all of them or none.

The file is read twice as a stream (never held whole in memory): a first pass checks every
row and collects every problem; only a clean file is read again and stored, in one write
transaction, as one ImportBatch.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import queue
import re
import threading
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import String, any_, bindparam, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError

from app.database import write_transaction
from app.extensions import db
from app.models import (
    Answer,
    Consultation,
    ImportBatch,
    Municipality,
    PaperBatch,
    PaperKeying,
    Response,
    ResponseTheme,
    User,
)
from app.models.response import theme_pattern
from app.services import audit
from app.services.errors import DomainError, OutOfScope
from app.util import local_today, utcnow

BASE_COLUMNS = ("form_serial", "channel", "municipality", "themes", "submitted_on")
SERIAL_PATTERN = re.compile(r"^(\d{5})-(\d{6})$")
MAX_SERIAL_LENGTH = 40
# A cell longer than this cannot be a valid answer; reading it whole is still bounded.
MAX_CELL = 2_000_000
# Cells starting with these would run as formulas when the file is opened in a spreadsheet.
FORMULA_PREFIXES = ("=", "+", "@")
FORMULA_FIRST = "".join(FORMULA_PREFIXES)  # each prefix is one character
CHECK_CHUNK = 5000  # serials per query when looking for ones already stored
CHUNK = 500

csv.field_size_limit(max(csv.field_size_limit(), MAX_CELL))

Progress = Callable[[str, int, int], None]


@dataclass
class Problem:
    """One problem of an import file: where it is, what was there, why it is refused."""

    row: int | None
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        where = _("row %(row)d", row=self.row) if self.row is not None else _("file")
        column = f", {self.column}" if self.column else ""
        value = f" \"{self.value}\"" if self.value else ""
        return f"{where}{column}{value}: {self.reason}"


class ImportRejected(DomainError):
    """The file was refused whole; `rows` holds every Problem."""

    def __init__(self, message: str, rows: list[Problem]):
        super().__init__(message, [str(problem) for problem in rows])
        self.rows = rows


@dataclass
class ImportResult:
    batch: ImportBatch
    row_count: int


@dataclass
class _Checked:
    """What the first pass learned about the file."""

    sha256: str
    header: list[str] = field(default_factory=list)
    rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    scope_problems: list[Problem] = field(default_factory=list)


def shown(value: Any, limit: int = 60) -> str:
    """Return a value short enough to show in a report."""
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[:limit] + "…"


def file_kind(filename: str) -> str:
    """Return csv or xlsx from a file name, or raise a DomainError."""
    lower = (filename or "").lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith(".xlsx"):
        return "xlsx"
    raise DomainError(_("Only .csv and .xlsx files can be imported (got \"%(name)s\").",
                        name=shown(filename)))


def template_csv(consultation: Consultation) -> str:
    """Return the CSV template of a consultation: the header and one example row."""
    columns = template_columns(consultation)
    example = {
        "form_serial": "14039-000001",
        "channel": "paper",
        "municipality": "14039",
        "themes": ";".join(t.code for t in consultation.themes[: consultation.theme_max]),
        "submitted_on": "",
    }
    for question in consultation.questions:
        if question.type == "single":
            example[question.code] = question.options[0].code
        elif question.type == "multiple":
            example[question.code] = ";".join(o.code for o in question.options[:2])
        elif question.type == "number":
            example[question.code] = str(int(question.min_value or 0))
        else:
            example[question.code] = ""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerow([example[c] for c in columns])
    return out.getvalue()


def template_columns(consultation: Consultation) -> list[str]:
    return ["form_serial", "channel", "municipality", "themes",
            *(q.code for q in consultation.questions), "submitted_on"]


# Reading ------------------------------------------------------------------------------------


def _sha256(stream: IO[bytes]) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    stream.seek(0)
    while chunk := stream.read(1 << 16):
        digest.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return digest.hexdigest(), size


class _CsvSource:
    """Rows of a UTF-8 CSV stream as lists of strings; decoding problems are collected."""

    def __init__(self, stream: IO[bytes], problems: list[Problem]):
        self.stream = stream
        self.problems = problems
        self.bytes_read = 0
        self.line = 0

    def _lines(self) -> Iterator[str]:
        self.stream.seek(0)
        for raw in self.stream:
            self.bytes_read += len(raw)
            self.line += 1
            if self.line == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                self.problems.append(Problem(
                    self.line, "", shown(raw.decode("utf-8", "replace")),
                    _("this line is not UTF-8 text; save the file as \"CSV UTF-8\" and "
                      "try again")))
                yield raw.decode("utf-8", "replace")

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        reader = csv.reader(self._lines(), strict=True)
        number = 0
        try:
            for number, row in enumerate(reader, start=1):  # noqa: B007 - used after the loop
                yield number, row
        except csv.Error as error:
            self.problems.append(Problem(
                number + 1, "", "",
                _("the file cannot be read as CSV here (%(reason)s); nothing after this "
                  "row was checked", reason=str(error))))

    def position(self) -> int:
        return self.bytes_read


class _XlsxSource:
    """Rows of the first sheet of an XLSX stream, read-only, as lists of strings."""

    def __init__(self, stream: IO[bytes], problems: list[Problem]):
        self.stream = stream
        self.problems = problems
        self.done = 0

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        from zipfile import BadZipFile

        from openpyxl import load_workbook

        self.stream.seek(0)
        try:
            workbook = load_workbook(self.stream, read_only=True, data_only=False)
        except (BadZipFile, KeyError, OSError, ValueError):
            self.problems.append(Problem(None, "", "", _("the file is not a valid XLSX "
                                                          "workbook")))
            return
        try:
            sheet = workbook.worksheets[0]
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                self.done = number
                yield number, [_cell_text(value) for value in values]
        finally:
            workbook.close()

    def position(self) -> int:
        return self.done


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() \
            else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _source(kind: str, stream: IO[bytes], problems: list[Problem]):
    return _CsvSource(stream, problems) if kind == "csv" else _XlsxSource(stream, problems)


# Checking -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _QuestionRules:
    """What checking and storing an answer needs of a question, as plain attributes."""

    id: int
    code: str
    type: str
    required: bool
    min_value: float | None
    max_value: float | None
    max_length: int | None

    @classmethod
    def of(cls, question) -> _QuestionRules:
        return cls(question.id, question.code, question.type, question.required,
                   question.min_value, question.max_value, question.max_length)


class _RowChecker:
    """Turn a row's cells into validated values, adding a Problem for each bad cell."""

    def __init__(self, consultation: Consultation, actor: User | None):
        self.consultation = consultation
        # Looked up once per file, not per row: codes to ids, and each question's rules.
        self.themes = {theme.code: theme.id for theme in consultation.themes}
        self.questions = {question.code: _QuestionRules.of(question)
                          for question in consultation.questions}
        self.long_cells = {code for code, rules in self.questions.items()
                           if rules.type == "text"}
        self.options = {question.code: {option.code: option.id for option in question.options}
                        for question in consultation.questions}
        self.channels = set(consultation.channels)
        self.theme_min, self.theme_max = consultation.theme_min, consultation.theme_max
        self.municipalities = set(db.session.scalars(db.select(Municipality.code)))
        self.scope = actor.municipality_codes() if actor is not None else None
        self.today = local_today()
        self.serials_seen: dict[str, int] = {}
        self.issued = _issued_ranges(consultation)

    def check(self, number: int, cells: dict[str, str], problems: list[Problem],
              scope_problems: list[Problem]) -> dict | None:
        before = len(problems)
        reported: set[str] = set()

        def bad(column: str, value: str, reason: str) -> None:
            # One problem per cell: a cell refused as a formula is not also "required".
            if column not in reported or column == "themes":
                problems.append(Problem(number, column, shown(value), reason))
            reported.add(column)

        for column, value in cells.items():
            if not value:
                continue
            if len(value) > 10_000 and column not in self.long_cells:
                bad(column, value, _("the cell is too long (%(n)d characters)", n=len(value)))
                cells[column] = ""
            elif value[0] in FORMULA_FIRST:  # value.startswith(FORMULA_PREFIXES), faster
                bad(column, value, _("formulas are not accepted; type the value itself"))
                cells[column] = ""
        reported_cells = set(reported)

        channel = cells.get("channel", "").strip() or "paper"
        if channel not in ("paper", "online"):
            bad("channel", channel, _("must be \"paper\" or \"online\""))
        elif channel not in self.channels:
            bad("channel", channel, _("this consultation does not take the %(channel)s "
                                      "channel", channel=channel))

        municipality = cells.get("municipality", "").strip()
        if not municipality:
            bad("municipality", "", _("the municipality is required"))
        elif municipality not in self.municipalities:
            bad("municipality", municipality, _("unknown INEGI municipality code"))
        elif self.scope is not None and municipality not in self.scope:
            scope_problems.append(Problem(number, "municipality", municipality,
                                          _("your account may not work on this municipality")))

        serial = cells.get("form_serial", "").strip()
        if not serial:
            if channel == "paper":
                bad("form_serial", "", _("the form serial is required for paper forms"))
        elif len(serial) > MAX_SERIAL_LENGTH:
            bad("form_serial", serial, _("the serial is longer than %(n)d characters",
                                         n=MAX_SERIAL_LENGTH))
        else:
            if serial in self.serials_seen:
                bad("form_serial", serial, _("duplicate serial: also in row %(row)d",
                                             row=self.serials_seen[serial]))
            else:
                self.serials_seen[serial] = number
            issued_for = self.issued_municipality(serial)
            if issued_for and municipality and issued_for != municipality:
                bad("form_serial", serial, _("this serial was issued for municipality "
                                             "%(code)s", code=issued_for))

        theme_codes = [code.strip() for code in cells.get("themes", "").split(";")
                       if code.strip()]
        theme_problem = False
        for code in theme_codes:
            if code not in self.themes:
                bad("themes", code, _("unknown theme code"))
                theme_problem = True
        if len(set(theme_codes)) != len(theme_codes):
            bad("themes", cells.get("themes", ""), _("a theme is repeated"))
        elif not theme_problem:
            low, high = self.theme_min, self.theme_max
            if len(theme_codes) > high:
                bad("themes", cells.get("themes", ""),
                    ngettext("too many themes: at most %(num)d", "too many themes: at most "
                             "%(num)d", high))
            elif len(theme_codes) < low:
                bad("themes", cells.get("themes", ""),
                    ngettext("choose at least %(num)d theme", "choose at least %(num)d themes",
                             low))

        answers: dict[str, Any] = {}
        for code, question in self.questions.items():
            if code in reported_cells:
                continue
            raw = cells.get(code, "").strip()
            answers[code] = self._answer(question, raw, bad)

        submitted_on = None
        raw_date = cells.get("submitted_on", "").strip()
        if raw_date:
            try:
                submitted_on = date.fromisoformat(raw_date)
            except ValueError:
                bad("submitted_on", raw_date, _("not a date in the form YYYY-MM-DD"))
            else:
                if submitted_on > self.today:
                    bad("submitted_on", raw_date, _("the date is in the future"))
        if len(problems) > before:
            return None
        return {
            "form_serial": serial or None,
            "channel": channel,
            "municipality_code": municipality,
            "theme_codes": theme_codes,
            "answers": answers,
            "submitted_on": submitted_on,
        }

    def _answer(self, question, raw: str, bad) -> Any:
        code = question.code
        if not raw:
            if question.required:
                bad(code, "", _("an answer is required"))
            return None
        if question.type == "single":
            if raw not in self.options[code]:
                bad(code, raw, _("unknown option code"))
            return raw
        if question.type == "multiple":
            chosen = [part.strip() for part in raw.split(";") if part.strip()]
            options = self.options[code]
            for option in chosen:
                if option not in options:
                    bad(code, option, _("unknown option code"))
            if len(set(chosen)) != len(chosen):
                bad(code, raw, _("an option is repeated"))
            return chosen
        if question.type == "number":
            try:
                number = float(raw)
            except ValueError:
                bad(code, raw, _("not a number"))
                return None
            if (question.min_value is not None and number < question.min_value) or (
                    question.max_value is not None and number > question.max_value):
                bad(code, raw, _("must be between %(low)s and %(high)s",
                                 low=_plain(question.min_value), high=_plain(question.max_value)))
            return number
        if question.max_length and len(raw) > question.max_length:
            bad(code, raw, _("the text is too long (%(n)d characters; at most %(max)d)",
                             n=len(raw), max=question.max_length))
        return raw

    def issued_municipality(self, serial: str) -> str | None:
        """Return the municipality the app issued this serial for, if it issued it."""
        match = SERIAL_PATTERN.match(serial)
        if not match:
            return None
        sequence = int(match.group(2))
        for municipality, first, last in self.issued.get(match.group(1), ()):
            if first <= sequence <= last:
                return municipality
        return None


def _plain(value: float | None) -> str:
    if value is None:
        return "…"
    return str(int(value)) if float(value).is_integer() else str(value)


def _issued_ranges(consultation: Consultation) -> dict[str, list[tuple[str, int, int]]]:
    rows = db.session.execute(
        db.select(PaperBatch.municipality_code, PaperBatch.first_sequence,
                  PaperBatch.last_sequence).where(PaperBatch.consultation_id == consultation.id)
    )
    ranges: dict[str, list[tuple[str, int, int]]] = {}
    for municipality, first, last in rows:
        ranges.setdefault(municipality, []).append((municipality, first, last))
    return ranges


def _check_header(header: list[str], consultation: Consultation) -> list[Problem]:
    problems = []
    names = [name.strip() for name in header]
    known = set(BASE_COLUMNS) | {q.code for q in consultation.questions}
    for position, name in enumerate(names, start=1):
        if not name:
            problems.append(Problem(1, _("column %(n)d", n=position), "",
                                    _("the column has no name")))
        elif name not in known:
            problems.append(Problem(1, name, name, _("unknown column; the columns are: "
                                                     "%(columns)s",
                                                     columns=", ".join(
                                                         template_columns(consultation)))))
    for name in {n for n in names if n and names.count(n) > 1}:
        problems.append(Problem(1, name, name, _("the column appears more than once")))
    required = ["municipality"]
    if consultation.theme_min > 0:
        required.append("themes")
    required += [q.code for q in consultation.questions if q.required]
    for name in required:
        if name not in names:
            problems.append(Problem(1, name, "", _("this column is missing")))
    return problems


def _rows(source, header: list[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (spreadsheet row number, {column: cell}, cells beyond the header) per data row."""
    names = [name.strip() for name in header]
    for number, row in source:
        if number == 1:
            continue
        if not any(cell.strip() for cell in row):
            continue
        cells = {name: (row[i] if i < len(row) else "") for i, name in enumerate(names) if name}
        extra = [cell for cell in row[len(names):] if cell.strip()]
        yield number, cells, extra


def check_file(consultation: Consultation, stream: IO[bytes], kind: str, actor: User | None,
               progress: Progress | None = None) -> _Checked:
    """Read the whole file once and collect every problem (nothing is stored)."""
    sha256, size = _sha256(stream)
    checked = _Checked(sha256=sha256)
    problems = checked.problems
    if size == 0:
        problems.append(Problem(None, "", "", _("the file is empty")))
        return checked
    source = _source(kind, stream, problems)
    total = size if kind == "csv" else _xlsx_rows(stream)
    iterator = source.rows()
    first = next(iterator, None)
    if first is None or not any(cell.strip() for cell in first[1]):
        if not problems:
            problems.append(Problem(None, "", "", _("the file is empty: the first row must "
                                                   "name the columns")))
        return checked
    checked.header = first[1]
    header_problems = _check_header(checked.header, consultation)
    problems.extend(header_problems)
    if header_problems:
        return checked
    checker = _RowChecker(consultation, actor)
    serial_rows: dict[str, int] = {}
    for number, cells, extra in _rows(_chain(first, iterator), checked.header):
        checked.rows += 1
        if extra:
            problems.append(Problem(number, "", shown(extra[0]),
                                    _("this row has more cells than the header has columns")))
        parsed = checker.check(number, cells, problems, checked.scope_problems)
        if parsed and parsed["form_serial"]:
            serial_rows[parsed["form_serial"]] = number
        if progress and checked.rows % CHUNK == 0:
            progress("check", source.position(), total)
    if progress:
        progress("check", total, total)
    if checked.rows == 0 and not problems:
        problems.append(Problem(None, "", "", _("the file has no data rows")))
    problems.extend(_stored_duplicates(consultation, serial_rows))
    problems.sort(key=lambda p: (p.row or 0))
    return checked


def _chain(first, iterator):
    yield first
    yield from iterator


def _xlsx_rows(stream: IO[bytes]) -> int:
    """Return the row count an XLSX sheet declares (for the progress bar), 0 if unknown."""
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    stream.seek(0)
    try:
        workbook = load_workbook(stream, read_only=True)
        rows = workbook.worksheets[0].max_row or 0
        workbook.close()
    except (BadZipFile, KeyError, OSError, ValueError, IndexError):
        rows = 0
    stream.seek(0)
    return rows


def _one_of(column, values: list[str]):
    """Return `column IN values` with the values as one bound parameter, not thousands.

    An IN list of 5,000 parameters took 0.4-2.4 s per query on PostgreSQL (parsing and
    planning); an array (PostgreSQL) or a JSON array (SQLite) takes a few milliseconds.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam("values", values, type_=ARRAY(String)))
    return column.in_(text("SELECT value FROM json_each(:values)")
                      .bindparams(values=json.dumps(values)).columns(value=String))


def _stored_duplicates(consultation: Consultation, serial_rows: dict[str, int]) -> list[Problem]:
    """Return a problem for every serial already stored or being keyed in this consultation."""
    problems = []
    serials = list(serial_rows)
    for start in range(0, len(serials), CHECK_CHUNK):
        part = serials[start : start + CHECK_CHUNK]
        stored = db.session.scalars(db.select(Response.form_serial).where(
            Response.consultation_id == consultation.id, _one_of(Response.form_serial, part)))
        for serial in stored:
            problems.append(Problem(serial_rows[serial], "form_serial", serial,
                                    _("duplicate serial: a response with this serial is "
                                      "already stored")))
        keyed = db.session.scalars(db.select(PaperKeying.serial).distinct().where(
            PaperKeying.consultation_id == consultation.id, _one_of(PaperKeying.serial, part)))
        for serial in keyed:
            problems.append(Problem(serial_rows[serial], "form_serial", serial,
                                    _("duplicate serial: this form is being keyed on the "
                                      "entry screen")))
    return problems


# Storing ------------------------------------------------------------------------------------


def import_file(consultation: Consultation, stream: IO[bytes], filename: str, *,
                actor: User | None, progress: Progress | None = None) -> ImportResult:
    """Check a CSV or XLSX file and store it as one batch, or refuse it whole.

    Raises ImportRejected (every problem listed), OutOfScope (a row's municipality is outside
    the actor's scope) or DomainError; stores nothing in those cases.
    """
    kind = file_kind(filename)
    checked = check_file(consultation, stream, kind, actor, progress)
    if checked.scope_problems:
        raise OutOfScope(_("The file has rows for municipalities your account may not work "
                           "on; nothing was stored."),
                         [str(problem) for problem in checked.scope_problems])
    previous = db.session.scalar(db.select(ImportBatch).where(
        ImportBatch.consultation_id == consultation.id, ImportBatch.sha256 == checked.sha256))
    if previous is not None:
        checked.problems.insert(0, Problem(None, "", shown(previous.filename), _(
            "this file was already imported on %(when)s (batch %(id)d)",
            when=previous.created_at.strftime("%Y-%m-%d %H:%M"), id=previous.id)))
    if checked.problems:
        raise ImportRejected(
            ngettext("The file was refused: %(num)d problem; nothing was stored.",
                     "The file was refused: %(num)d problems; nothing was stored.",
                     len(checked.problems)),
            checked.problems)
    return _store(consultation, stream, kind, filename, checked, actor, progress)


def _store(consultation, stream, kind, filename, checked, actor, progress) -> ImportResult:
    """Read the checked file again and insert its rows in chunks, all in one transaction.

    Rows go in with COPY (PostgreSQL) or executemany (SQLite), no ORM object per row.
    Response ids are allocated up front so the themes and answers of a chunk can name their
    response without a RETURNING per row. Any problem, or any error of the database, rolls
    the whole transaction back.
    """
    consultation_id = consultation.id
    problems: list[Problem] = []
    try:
        with write_transaction() as session:
            consultation = session.get(Consultation, consultation_id)
            batch = ImportBatch(consultation_id=consultation.id, filename=shown(filename, 250),
                                sha256=checked.sha256, row_count=checked.rows,
                                created_by_id=actor.id if actor else None, created_at=utcnow())
            session.add(batch)
            session.flush()
            checker = _RowChecker(consultation, actor)
            writer = _Writer(session, checker, consultation.id, batch.id)
            if writer.postgresql:
                writer.reserve(checked.rows)
            sink = _BackgroundWriter(writer) if writer.postgresql else writer
            try:
                stored = _store_rows(sink, checker, _source(kind, stream, problems),
                                     checked, problems, progress)
            finally:
                sink.close()
            audit.record("import.stored", actor=actor, object_type="import_batch",
                         object_id=batch.id, consultation=consultation.slug,
                         filename=batch.filename, rows=stored, sha256=checked.sha256)
    except (IntegrityError, db.engine.dialect.dbapi.IntegrityError):
        # The rows go in through the driver's own cursor (COPY, executemany), so its
        # IntegrityError arrives as it is, not wrapped by SQLAlchemy.
        db.session.rollback()
        # Another upload of the same file or serial won the race: report, store nothing.
        raise DomainError(_("Another import stored some of these serials or this file at the "
                            "same moment; nothing was stored. Import the file again to see "
                            "the report.")) from None
    if progress:
        progress("store", stored, checked.rows)
    return ImportResult(batch=batch, row_count=stored)


def _file_changed(problems: list[Problem]) -> ImportRejected:
    """Return the refusal of a file that changed between its check and its store."""
    return ImportRejected(_("The file changed while it was being imported; nothing was "
                            "stored."), problems)


def _store_rows(sink, checker: _RowChecker, source, checked: _Checked, problems: list[Problem],
                progress: Progress | None) -> int:
    """Check the rows again and hand them to the writer in chunks; return the rows stored.

    Progress counts the rows handed to the writer (on PostgreSQL up to two chunks ahead of
    the rows the server has taken); the last call, after `finish`, counts every row stored.
    """
    total = checked.rows
    handed = 0
    chunk: list[dict] = []
    for number, cells, _extra in _rows(source.rows(), checked.header):
        parsed = checker.check(number, cells, problems, problems)
        if parsed is None:
            # The file changed between the passes: refuse rather than half-store.
            raise _file_changed(problems)
        if handed + len(chunk) == total:
            # More rows than the first pass counted: the file changed; nothing is stored.
            raise _file_changed(problems)
        chunk.append(parsed)
        if len(chunk) == CHUNK:
            sink.put(chunk)
            handed += len(chunk)
            chunk = []
            if progress:
                progress("store", handed, total)
    sink.put(chunk)
    stored = sink.finish()
    if stored != checked.rows or problems:
        raise _file_changed(problems)
    return stored


RESPONSE_COLUMNS = ("id", "consultation_id", "channel", "source", "municipality_code",
                    "submitted_at", "submitted_on", "state", "batch_id", "form_serial",
                    "theme_pattern")
THEME_COLUMNS = ("response_id", "theme_id", "position")
ANSWER_COLUMNS = ("response_id", "question_id", "option_id", "text_value", "number_value")


class _Writer:
    """Insert checked rows as responses, their themes and their answers, a chunk at a time.

    Stores exactly what app.services.responses.new_response would build for the same values
    (an empty answer stores nothing; a multiple answer one row per option). The rows of one
    response are built by `rows`; the inserts go through the session's own connection, taken
    once here, so that `_BackgroundWriter` can use it from its thread.
    """

    def __init__(self, session, checker: _RowChecker, consultation_id: int, batch_id: int):
        self.session = session
        self.consultation_id = consultation_id
        self.batch_id = batch_id
        self.themes = checker.themes
        self.options = checker.options
        self.today = checker.today
        self.questions = [(code, question.id, question.type)
                          for code, question in checker.questions.items()]
        self.connection = session.connection()
        self.dialect = self.connection.dialect
        self.driver = self.connection.connection.driver_connection
        self.postgresql = self.dialect.name == "postgresql"
        self.stored = 0
        if self.postgresql:
            from psycopg import sql as psycopg_sql

            # The sequence's name, looked up once: nextval(pg_get_serial_sequence(…)) per id
            # cost ~0.2 s of server CPU per 100,000 ids, nextval('name') ~0.03 s.
            sequence = self.session.scalar(text("SELECT pg_get_serial_sequence('response', "
                                                "'id')"))
            self.next_ids = psycopg_sql.SQL(
                "SELECT nextval({}::regclass) FROM generate_series(1, %s)").format(
                psycopg_sql.Literal(sequence))

    def reserve(self, count: int) -> None:
        """PostgreSQL: reserve the ids of `count` responses now, 8 bytes each.

        Taken from the column's sequence (safe against concurrent writers, never handed out
        twice) in queries of 10,000, so that building a chunk's rows needs no round trip and
        can run while the writer thread waits for the server.
        """
        self.reserved = array("q")
        self.taken = 0
        with self.driver.cursor() as cursor:
            for start in range(0, count, 10_000):
                cursor.execute(self.next_ids, (min(10_000, count - start),))
                self.reserved.extend(row[0] for row in cursor.fetchall())

    def _ids(self, count: int) -> Iterable[int]:
        """Return `count` new response ids, reserved for this transaction."""
        if self.postgresql:
            start, self.taken = self.taken, self.taken + count
            if self.taken > len(self.reserved):
                raise RuntimeError("more rows than ids reserved")  # _store_rows prevents it
            return self.reserved[start : self.taken]
        # SQLite: write_transaction began with BEGIN IMMEDIATE, so this transaction holds the
        # database's only write lock and nobody else can insert a response until it ends.
        last = self.session.scalar(db.select(func.max(Response.id))) or 0
        return range(last + 1, last + count + 1)

    def _insert(self, table, columns: tuple[str, ...], rows: list[tuple]) -> None:
        """Insert rows (tuples in the order of columns) on the session's own connection.

        PostgreSQL: COPY. SQLite: the driver's executemany, with SQLAlchemy's own conversion
        of each column's values (dates and times are stored as SQLAlchemy stores them).
        """
        if not rows:
            return
        dialect = self.dialect
        quote = dialect.identifier_preparer.quote
        names = ", ".join(quote(name) for name in columns)
        driver = self.driver
        if self.postgresql:
            with driver.cursor() as cursor, cursor.copy(
                    f"COPY {quote(table.name)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        processors = [(position, processor) for position, name in enumerate(columns)
                      if (processor := table.c[name].type.dialect_impl(dialect)
                          .bind_processor(dialect)) is not None]
        if processors:
            converted = []
            for row in rows:
                values = list(row)
                for position, processor in processors:
                    values[position] = processor(values[position])
                converted.append(values)
            rows = converted
        marks = ", ".join("?" * len(columns))
        cursor = driver.cursor()
        try:
            cursor.executemany(f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})",
                               rows)
        finally:
            cursor.close()

    def rows(self, response_id: int, parsed: dict, responses: list[tuple], themes: list[tuple],
             answers: list[tuple]) -> None:
        """Append one checked row's response, theme and answer rows (in the order of
        RESPONSE_COLUMNS, THEME_COLUMNS and ANSWER_COLUMNS)."""
        theme_ids = [self.themes[code] for code in parsed["theme_codes"]]
        responses.append((
            response_id, self.consultation_id, parsed["channel"], "import",
            parsed["municipality_code"], utcnow(), parsed["submitted_on"] or self.today,
            "accepted", self.batch_id, parsed["form_serial"], theme_pattern(theme_ids)))
        themes.extend((response_id, theme_id, position)
                      for position, theme_id in enumerate(theme_ids, start=1))
        values = parsed["answers"]
        for code, question_id, kind in self.questions:
            value = values.get(code)
            if value is None or value == "" or value == []:
                continue
            if kind == "single":
                answers.append((response_id, question_id, self.options[code][value],
                                None, None))
            elif kind == "multiple":
                options = self.options[code]
                answers.extend((response_id, question_id, options[option], None, None)
                               for option in value)
            elif kind == "number":
                answers.append((response_id, question_id, None, None, float(value)))
            else:
                answers.append((response_id, question_id, None, str(value), None))

    def build(self, chunk: list[dict]) -> tuple[list[tuple], list[tuple], list[tuple]]:
        """Return the response, theme and answer rows of a chunk of checked rows."""
        responses: list[tuple] = []
        themes: list[tuple] = []
        answers: list[tuple] = []
        for response_id, parsed in zip(self._ids(len(chunk)), chunk, strict=True):
            self.rows(response_id, parsed, responses, themes, answers)
        return responses, themes, answers

    def insert(self, built: tuple[list[tuple], list[tuple], list[tuple]]) -> int:
        responses, themes, answers = built
        self._insert(Response.__table__, RESPONSE_COLUMNS, responses)
        self._insert(ResponseTheme.__table__, THEME_COLUMNS, themes)
        self._insert(Answer.__table__, ANSWER_COLUMNS, answers)
        self.stored += len(responses)
        return len(responses)

    # The interface _store uses, shared with _BackgroundWriter.
    def put(self, chunk: list[dict]) -> None:
        if chunk:
            self.insert(self.build(chunk))

    def finish(self) -> int:
        return self.stored

    def close(self) -> None:
        """Nothing to stop: this writer writes in the caller's thread."""


class _BackgroundWriter:
    """PostgreSQL: write each chunk from a second thread while the caller checks the next one.

    Most of a PostgreSQL import is the server's work (COPY, index upkeep and one foreign-key
    trigger call per inserted row: ~8 s of server CPU per 100,000 rows against ~1.7 s of this
    process's CPU for the storing pass), and the caller waits for it. With the writes on a
    thread (psycopg lets go of the GIL while it waits for the server), reading and checking
    chunk N+1 runs while the server stores chunk N. The thread is the only user of the
    connection until `finish` or `close` returns; at most one chunk waits in the queue, so
    memory stays flat. An error of the thread is raised again by the next `put` or by
    `finish`; `close` (always called, also on errors) drops what is not yet written.
    """

    def __init__(self, writer: _Writer):
        self.writer = writer
        self.error: BaseException | None = None
        self.abandoned = False
        self.queue: queue.Queue[tuple | None] = queue.Queue(maxsize=1)
        self.thread = threading.Thread(target=self._run, name="import-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (built := self.queue.get()) is not None:
            if self.error is None and not self.abandoned:
                try:
                    self.writer.insert(built)
                except BaseException as error:  # noqa: BLE001 - raised again by the caller
                    self.error = error

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def put(self, chunk: list[dict]) -> None:
        """Build the chunk's rows here, then queue them for the thread's COPYs."""
        self._raise()
        if chunk:
            self.queue.put(self.writer.build(chunk))

    def _stop(self) -> None:
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()

    def finish(self) -> int:
        """Wait until the thread has written every chunk it was given; return the rows."""
        self._stop()
        self._raise()
        return self.writer.stored

    def close(self) -> None:
        """Stop the thread, dropping any chunk not yet written (the caller rolls back)."""
        self.abandoned = True
        self._stop()


def void_batch(batch_id: int, *, actor: User, reason: str) -> ImportBatch:
    """Void every response of an import batch, keeping them with who, when and why."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give a reason for voiding the batch."))
    with write_transaction() as session:
        batch = session.get(ImportBatch, batch_id)
        if batch is None:
            raise DomainError(_("No import batch %(id)d.", id=batch_id))
        if batch.voided_at is not None:
            raise DomainError(_("Batch %(id)d was already voided.", id=batch_id))
        municipalities = set(session.scalars(db.select(Response.municipality_code).distinct()
                                             .where(Response.batch_id == batch.id)))
        outside = sorted(code for code in municipalities if not actor.may_work_on(code))
        if outside:
            raise OutOfScope(_("This batch has responses for municipalities your account may "
                               "not work on: %(codes)s.", codes=", ".join(outside)))
        now = utcnow()
        batch.voided_at, batch.voided_by_id, batch.void_reason = now, actor.id, reason
        count = session.execute(
            db.update(Response).where(Response.batch_id == batch.id,
                                      Response.state == "accepted")
            .values(state="voided", voided_at=now, voided_by_id=actor.id, void_reason=reason)
        ).rowcount
        audit.record("import.voided", actor=actor, object_type="import_batch",
                     object_id=batch.id, reason=reason, responses=count)
    return batch


def batches(consultation: Consultation, actor: User) -> list[ImportBatch]:
    """Return the import batches of a consultation the actor uploaded or may see, newest first."""
    query = db.select(ImportBatch).where(ImportBatch.consultation_id == consultation.id)
    if actor.municipality_codes() is not None:
        query = query.where(ImportBatch.created_by_id == actor.id)
    return list(db.session.scalars(query.order_by(ImportBatch.id.desc())))
