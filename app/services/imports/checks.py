"""The rules of an import file: its header, every row, and serials already stored."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import IO, Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import String, any_, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY

from app.extensions import db
from app.models import Consultation, Municipality, PaperBatch, PaperKeying, Response, User
from app.services.imports.problems import Problem, Progress, shown
from app.services.imports.sources import _sha256, _source, _xlsx_rows
from app.services.imports.template import template_columns
from app.util import local_today

BASE_COLUMNS = ("form_serial", "channel", "municipality", "themes", "submitted_on")
SERIAL_PATTERN = re.compile(r"^(\d{5})-(\d{6})$")
MAX_SERIAL_LENGTH = 40
# Cells starting with these would run as formulas when the file is opened in a spreadsheet.
FORMULA_PREFIXES = ("=", "+", "@")
FORMULA_FIRST = "".join(FORMULA_PREFIXES)  # each prefix is one character
CHECK_CHUNK = 5000  # serials per query when looking for ones already stored
CHUNK = 500


@dataclass
class _Checked:
    """What the first pass learned about the file."""

    sha256: str
    header: list[str] = field(default_factory=list)
    rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    scope_problems: list[Problem] = field(default_factory=list)


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
