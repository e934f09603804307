"""Size and row limits of an import file, checked before its rows are (a zip bomb stops here).

An XLSX is a zip of XML parts: a 2 MB file can declare or hold millions of rows. Its parts'
expanded sizes (from the zip directory, which also bounds how much a reader will inflate),
its first sheet's declared dimension and its actual row elements are counted without
building the sheet in memory; a CSV's records are counted in one streaming pass.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

from flask_babel import format_decimal
from flask_babel import gettext as _

from app.services.errors import DomainError

# <row …> or <x:row …> in a worksheet part; the tag is never longer than this.
_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s>/]")
_OVERLAP = 64
_DIMENSION = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?dimension\s+ref=\"([A-Z]*\d*:?[A-Z]*(\d+))\"")
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"


class LimitExceeded(DomainError):
    """The file is past a configured limit; nothing was read into the database."""


def _number(value: int) -> str:
    return format_decimal(value)


def _size(value: int) -> str:
    return _("%(mb)s MB", mb=format_decimal(round(value / (1024 * 1024), 1)))


def too_large(max_bytes: int) -> LimitExceeded:
    """Return the refusal of an upload larger than IMPORT_MAX_BYTES."""
    return LimitExceeded(_("The file is larger than the import limit of %(limit)s; nothing was "
                           "stored. Split it into smaller files (the limit is the "
                           "IMPORT_MAX_BYTES setting).", limit=_size(max_bytes)))


def too_many_rows(rows: int, max_rows: int) -> LimitExceeded:
    return LimitExceeded(_("The file has more than %(limit)s data rows (%(rows)s counted so "
                           "far); nothing was stored. Split it into smaller files (the limit "
                           "is the IMPORT_MAX_ROWS setting).", limit=_number(max_rows),
                           rows=_number(rows)))


def check_xlsx_parts(path: Path, max_rows: int, max_expanded: int) -> None:
    """Refuse an XLSX whose parts expand past max_expanded bytes or whose first sheet
    declares more than max_rows data rows; read only the zip directory and a few KB.

    A file that is not a zip at all is left for the import's own check (which names it).
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return
    with archive:
        expanded = sum(info.file_size for info in archive.infolist())
        if expanded > max_expanded:
            raise LimitExceeded(_(
                "The workbook expands to %(size)s when opened, past the limit of %(limit)s; "
                "nothing was stored. Save it as CSV or split it (the limit is the "
                "IMPORT_MAX_EXPANDED_BYTES setting).", size=_size(expanded),
                limit=_size(max_expanded)))
        part = first_sheet(archive)
        if part is None:
            return
        with archive.open(part) as stream:
            head = stream.read(64 * 1024)
        match = _DIMENSION.search(head)
        if match is not None and int(match.group(2)) - 1 > max_rows:
            raise LimitExceeded(_(
                "The workbook's first sheet declares %(rows)s rows, past the limit of "
                "%(limit)s data rows; nothing was stored. Split it into smaller files (the "
                "limit is the IMPORT_MAX_ROWS setting).", rows=_number(int(match.group(2))),
                limit=_number(max_rows)))


def first_sheet(archive: zipfile.ZipFile) -> str | None:
    """Return the zip path of a workbook's first worksheet (the one the import reads)."""
    try:
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError, zipfile.BadZipFile, OSError):
        return None
    sheet = workbook.find(f"{{{_NS_MAIN}}}sheets/{{{_NS_MAIN}}}sheet")
    if sheet is None:
        return None
    rel_id = sheet.get(f"{{{_NS_REL}}}id")
    for rel in rels.findall(f"{{{_NS_PKG_REL}}}Relationship"):
        if rel.get("Id") == rel_id:
            target = rel.get("Target", "")
            if target.startswith("/"):
                return target.lstrip("/")
            return str(PurePosixPath("xl") / target)
    return None


Progress = Callable[[str, int, int], None]


def count_rows(path: Path, kind: str, max_rows: int, progress: Progress | None = None) -> int:
    """Count the data rows of a file in one streaming pass; raise past max_rows."""
    if kind == "xlsx":
        return _count_xlsx_rows(path, max_rows)
    rows = -1  # the header row is not a data row
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")
        try:
            for _row in csv.reader(text):
                rows += 1
                if rows > max_rows:
                    raise too_many_rows(rows, max_rows)
                if progress and rows % 50_000 == 0:
                    progress("count", rows, 0)
        except csv.Error:
            pass  # the import's own check reports where and why
    return max(rows, 0)


def _count_xlsx_rows(path: Path, max_rows: int) -> int:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return 0
    with archive:
        part = first_sheet(archive)
        if part is None:
            return 0
        rows = 0
        tail = b""
        try:
            with archive.open(part) as stream:
                while chunk := stream.read(1 << 20):
                    buffer = tail + chunk
                    limit = len(buffer) - _OVERLAP
                    rows += sum(1 for match in _ROW_TAG.finditer(buffer)
                                if match.start() < limit)
                    tail = buffer[max(limit, 0):] if limit > 0 else buffer
                    if limit <= 0:
                        # Too short to split: count it all at the end.
                        continue
                    if rows - 1 > max_rows:
                        raise too_many_rows(rows - 1, max_rows)
            rows += len(_ROW_TAG.findall(tail))
        except (zipfile.BadZipFile, OSError, EOFError, ValueError):
            return 0  # the import's own check says the workbook cannot be read
    if rows - 1 > max_rows:
        raise too_many_rows(rows - 1, max_rows)
    return max(rows - 1, 0)
