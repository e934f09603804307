"""Open data: one anonymized row per accepted response, as CSV (streamed) or XLSX.

The rows come from app/services/opendata_reader.py (how they are read, anonymized and
coarsened: see its docstring); the columns, dictionary and data package from
app/services/opendata_schema.py, whose names stay importable from here.
"""

from __future__ import annotations

import csv
import io
import operator
import tempfile
from collections.abc import Iterator

from app.models import Consultation
from app.services.opendata_reader import (
    FETCH_SIZE,
    _csv_column,
    _day_then_id,
    _plain,
    _Reader,
    anonymous_id,
)
from app.services.opendata_schema import (
    DICTIONARY_FIELDS,
    LANGS,
    SOURCES,
    Field,
    datapackage,
    dictionary_csv,
    dictionary_json,
    dictionary_rows,
    disclosure_rule,
    fields,
    published_questions,
)
from app.services.spreadsheet import safe_row

__all__ = ["CHUNK_SIZE", "DICTIONARY_FIELDS", "FETCH_SIZE", "LANGS", "SOURCES", "Field",
           "anonymous_id", "csv_stream", "datapackage", "dictionary_csv", "dictionary_json",
           "dictionary_rows", "disclosure_rule", "fields", "iter_rows", "published_questions",
           "write_xlsx"]

CHUNK_SIZE = 2000


def _chunks(consultation: Consultation, chunk_size: int) -> Iterator[list[list]]:
    """Yield lists of at most chunk_size safe rows (lists of cells in column order).

    Each chunk_size slice of a batch is sorted by day and anonymous id, exactly as when every
    chunk was fetched on its own.
    """
    reader = _Reader(consultation, chunk_size)
    places = reader.places
    for batch in reader:
        rows = [[anonymous, day, *places[place], themes, *answers, source]
                for anonymous, day, place, themes, *answers, source
                in zip(batch.ids, batch.days, batch.places, batch.themes, *batch.answers,
                       batch.sources, strict=True)]
        for start in range(0, len(rows), chunk_size):
            chunk = rows[start:start + chunk_size]
            # Hide arrival order inside the chunk: by day, then by the (random-looking) id.
            chunk.sort(key=_day_then_id)
            yield chunk


def _csv_chunks(reader: _Reader, chunk_size: int) -> Iterator[str]:
    """Yield the CSV text of the rows of _chunks(), chunk by chunk, with the same bytes.

    Each cell is written as csv.writer would write it (the codes and days need no quotes:
    only free text goes through _csv_cell), a row is the cells joined by ",": the bytes are
    those of csv.writer.writerows(chunk) without building a list of cells per response.
    """
    rendered: dict[tuple[str, str], str] = {}  # (channel, municipality) -> CSV cells
    for batch in reader:
        for key in set(batch.places).difference(rendered):
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerow(reader.places[key])
            rendered[key] = buffer.getvalue()[:-1]
        themes = batch.themes if reader.themes_plain else _csv_column(batch.themes)
        answers = [cells if reader.column_plain[column] and column not in batch.odd_columns
                   else _csv_column(cells) for column, cells in enumerate(batch.answers)]
        days = (batch.days if all(_plain(day) for day in set(batch.days))
                else _csv_column(batch.days))
        lines = list(map(",".join, zip(batch.ids, days,
                                       map(rendered.__getitem__, batch.places),
                                       themes, *answers, batch.sources, strict=True)))
        # Hide arrival order inside the chunk: by day, then by the (random-looking) id. Days
        # (YYYY-MM-DD) and ids (16 hex digits) have a fixed length: day + id sorts as the
        # pair does (_chunks' key), without a tuple per row.
        keys = list(map(operator.add, batch.days, batch.ids))
        for start in range(0, len(lines), chunk_size):
            chunk_keys = keys[start:start + chunk_size]
            chunk_lines = lines[start:start + chunk_size]
            order = sorted(range(len(chunk_keys)), key=chunk_keys.__getitem__)
            yield "\n".join(map(chunk_lines.__getitem__, order)) + "\n"


def iter_rows(consultation: Consultation, chunk_size: int = CHUNK_SIZE) -> Iterator[list]:
    """Yield the header, then one safe list of cells per accepted response."""
    yield safe_row(field.name for field in fields(consultation))
    for chunk in _chunks(consultation, chunk_size):
        yield from chunk


def csv_stream(consultation: Consultation, chunk_size: int = CHUNK_SIZE) -> Iterator[str]:
    """Return an iterator of the CSV file (UTF-8 text, header first), a chunk of rows at a time.

    Everything read through the ORM (columns, codes, disclosure levels) is read here, when
    called: the iterator itself touches no ORM object and reads the rows on a connection of
    its own, so it may run after the request and its session have ended (a streamed
    response under gunicorn).
    """
    names = safe_row(field.name for field in fields(consultation))
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(names)
    reader = _Reader(consultation, chunk_size)
    return _csv_text(buffer.getvalue(), reader, chunk_size)


def _csv_text(header: str, reader: _Reader, chunk_size: int) -> Iterator[str]:
    yield header
    yield from _csv_chunks(reader, chunk_size)


def write_xlsx(consultation: Consultation, chunk_size: int = CHUNK_SIZE):
    """Write the responses and the dictionary to a temporary XLSX file; return it, rewound.

    openpyxl's write-only workbook streams rows to disk, so memory stays flat.
    """
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("responses")
    for row in iter_rows(consultation, chunk_size):
        sheet.append(row)
    dictionary = workbook.create_sheet("dictionary")
    for row in dictionary_rows(consultation):
        dictionary.append(safe_row(row))
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    workbook.save(handle)
    handle.seek(0)
    return handle
