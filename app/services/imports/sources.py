"""Reading an import file: CSV or XLSX rows as lists of strings, streamed, never held whole."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from datetime import date, datetime
from typing import IO, Any

from flask_babel import gettext as _

from app.services.errors import DomainError
from app.services.imports.problems import Problem, shown

# A cell longer than this cannot be a valid answer; reading it whole is still bounded.
MAX_CELL = 2_000_000

csv.field_size_limit(max(csv.field_size_limit(), MAX_CELL))


def file_kind(filename: str) -> str:
    """Return csv or xlsx from a file name, or raise a DomainError."""
    lower = (filename or "").lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith(".xlsx"):
        return "xlsx"
    raise DomainError(_("Only .csv and .xlsx files can be imported (got \"%(name)s\").",
                        name=shown(filename)))

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
