"""Open data: one anonymized row per accepted response, streamed in chunks.

Rows are read by keyset pagination over the response id (FETCH_SIZE at a time), each with its
themes as stored on the response (theme_pattern), and the answers of a batch fetched by one
range query over the same ids, as plain driver tuples: a million responses cost 100 queries
and flat memory, never one ORM object per response. The cells are made column by column and
a CSV line is the cells joined by "," (only free text, which may need quotes, goes through
csv.writer). On PostgreSQL the next batch is read on a second connection in a thread while
the current one is written, so the server and the app work at the same time
(bench/export.py; bench/RESULTS.md has the figures).

Anonymity:
- the `id` column is not the database id: it is HMAC-SHA256(SECRET_KEY, slug:id), first 16 hex
  digits, stable across downloads (so errata can name a row) but unlinkable to receipts, serials
  or the database without the server's secret;
- rows are ordered by day and then by that id inside each chunk, so the file does not reveal
  the order in which responses arrived beyond the chunk (CHUNK_SIZE responses);
- no paper serial, receipt code, batch or time finer than a day (`submitted_on`); `source`
  says whether a row was typed online, entered from paper by staff or imported from a file;
- disclosure control (analysis/disclosure.py, stated in the dictionary and the package): no
  published combination of place and single-choice answers rests on fewer than MIN_CELL_SIZE
  responses; the municipality, then the single answers, then the metro flag are left empty
  where it would. The levels come from one GROUP BY before the first row;
- number answers (e.g. age) are left out (with the municipality they single people out); free
  text only when the consultation publishes it, and then scrubbed of contact data and names.
"""

from __future__ import annotations

import csv
import hashlib
import io
import operator
import queue
import re
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby, repeat
from operator import attrgetter, itemgetter

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import aliased

from analysis.disclosure import (
    LEVEL_PLACE_ONLY,
    LEVEL_REGION_ONLY,
    PUBLISHES,
    publication_levels,
)
from app.extensions import db
from app.i18n import localized
from app.models import Answer, Consultation, Municipality, Option, Response
from app.models.response import pattern_theme_ids
from app.services.anonymize import scrub
from app.services.spreadsheet import safe_cell, safe_row

CHUNK_SIZE = 2000
# Responses read per round of queries (a multiple of the chunk size): fewer round trips.
FETCH_SIZE = 20_000
_BLOCK = 64  # SHA-256 block size, for HMAC
LANGS = ("es", "en")
# Response.source values, published in the `source` column.
SOURCES = ("online", "entry", "import")


@dataclass(frozen=True)
class Field:
    """One column of the open data file, with a description in both languages."""

    name: str
    type: str  # Frictionless type: string, integer, boolean, date
    description: dict[str, str]
    enum: tuple[str, ...] | None = None
    true_values: tuple[str, ...] | None = None
    false_values: tuple[str, ...] | None = None


def _both(message_factory) -> dict[str, str]:
    """Return {"es": …, "en": …} by calling a gettext-using factory under each locale."""
    out = {}
    for lang, locale in (("es", "es_MX"), ("en", "en")):
        with force_locale(locale):
            out[lang] = message_factory(lang)
    return out


def published_questions(consultation: Consultation) -> list:
    """Return the questions that have a column: single, multiple, and published text."""
    return [
        question for question in consultation.questions
        if question.has_options or (question.type == "text" and consultation.publish_free_text)
    ]


def disclosure_rule(minimum: int) -> dict[str, str]:
    """Return the disclosure rule of the microdata, in both languages (dictionary, package)."""
    return _both(lambda _lang: _(
        "Disclosure control: no published combination of place (municipality, or region and "
        "metropolitan flag) and single-choice answers rests on fewer than %(num)d responses. "
        "Region by region: a municipality with fewer than %(num)d responses, or a combination "
        "of municipality and single-choice answers with fewer than %(num)d, is published with "
        "the municipality empty (its region and metropolitan flag kept); where the "
        "combination of region, metropolitan flag and answers is still under %(num)d, the "
        "single-choice answers are left empty too; then the metropolitan flag; if fewer than "
        "%(num)d such rows remain in the region, whole groups of the region, smallest first, "
        "join them. A region with fewer than %(num)d responses in all is published with the "
        "region empty as well. Themes, multiple-choice answers and dates are never changed; "
        "number answers (such as age) are never published.", num=minimum))


def fields(consultation: Consultation) -> list[Field]:
    """Return the columns of the open data file, in order."""
    minimum = int(current_app.config["MIN_CELL_SIZE"])
    out = [
        Field("id", "string", _both(lambda _lang: _(
            "Anonymous identifier of the response (a keyed hash: stable, not the database id)"))),
        Field("submitted_on", "date", _both(lambda _lang: _(
            "Day the response was submitted or written on paper (no time of day)"))),
        Field("channel", "string", _both(lambda _lang: _(
            "How the response arrived: online or paper")), enum=("online", "paper")),
        Field("municipality", "string", _both(lambda _lang: _(
            "INEGI code of the respondent's municipality, e.g. 14039 (Guadalajara); empty "
            "where fewer than %(num)d responses would share the published combination (see "
            "the disclosure rule)", num=minimum))),
        Field("region", "integer", _both(lambda _lang: _(
            "Number (1-12) of the Jalisco region of the municipality (IIEG 2014); empty only "
            "for a region with fewer than %(num)d responses in all", num=minimum))),
        Field("metro", "boolean", _both(lambda _lang: _(
            "1 if the municipality is in the Guadalajara Metropolitan Zone, 0 if not; empty "
            "where the disclosure rule withholds it")),
            true_values=("1",), false_values=("0",)),
        Field("themes", "string", _both(lambda _lang: _(
            "Theme codes chosen, separated by \";\", in priority order (first = most "
            "important); same format as the response import")),),
    ]
    for question in published_questions(consultation):
        def describe(lang, question=question):
            label = localized(question.label, lang)
            options = ", ".join(
                f"{option.code} = {localized(option.label, lang)}" for option in question.options
            )
            if question.type == "single":
                return _("%(label)s (one option code: %(options)s; empty where the disclosure "
                         "rule withholds it)", label=label, options=options)
            if question.type == "multiple":
                return _("%(label)s (option codes separated by \";\": %(options)s)",
                         label=label, options=options)
            return _("%(label)s (free text as written, without contact data or names)",
                     label=label)

        enum = (tuple(option.code for option in question.options)
                if question.type == "single" else None)
        out.append(Field(question.code, "string", _both(describe), enum=enum))
    out.append(Field("source", "string", _both(lambda _lang: _(
        "How the response was recorded: online (the online form), entry (a paper form typed "
        "in by staff) or import (a row of an imported file, whatever its channel)")),
        enum=SOURCES))
    return out


def anonymous_id(consultation: Consultation, response_id: int) -> str:
    """Return the public identifier of a response: a keyed hash, not the database id."""
    inner_copy, outer_copy = _hash_states(consultation)
    digest = inner_copy()
    digest.update(b"%d" % response_id)
    outer = outer_copy()
    outer.update(digest.digest())
    return outer.hexdigest()[:16]


def _hash_states(consultation: Consultation):
    """Return the copy methods of the inner and outer SHA-256 states of the id's HMAC.

    The anonymous id is HMAC-SHA256(SECRET_KEY, "opendata:<slug>:<id>"), first 16 hex digits.

    HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)) (RFC 2104). The key pads and the constant
    prefix "opendata:<slug>:" are hashed once; each id then costs two copies of a SHA-256 state
    instead of a new HMAC object (4x faster; the same digest, checked by the tests).
    """
    key = current_app.config["SECRET_KEY"].encode()
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in key))
    inner.update(f"opendata:{consultation.slug}:".encode())
    outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in key))
    return inner.copy, outer.copy


def _clean(text: str) -> bool:
    """True if safe_cell leaves text, and any ";"-join of such texts, unchanged."""
    return safe_cell(text) == text and safe_cell(f";{text}") == f";{text}"


class _ThemeCells(dict):
    """{Response.theme_pattern: its themes cell}: the codes joined by ";" in order, made safe."""

    def __init__(self, theme_code: dict[int, str], clean: bool):
        super().__init__()
        self.theme_code = theme_code
        self.clean = clean

    def __missing__(self, pattern: str) -> str:
        cell = ";".join([self.theme_code[theme] for theme in pattern_theme_ids(pattern)])
        if cell and not self.clean:
            cell = safe_cell(cell)
        self[pattern] = cell
        return cell


@dataclass
class _Batch:
    """The cells of FETCH_SIZE responses, column by column, in the order of their ids."""

    ids: list[str]  # anonymous ids
    days: list[str]  # ISO days
    places: list[tuple]  # (channel, municipality, level): keys of _Reader.places
    themes: list[str]
    answers: list[list[str]]  # one list per published question
    sources: list[str]  # Response.source: online, entry or import
    odd_columns: set[int]  # answer columns with a free text (or odd) cell in this batch


class _Reader:
    """Read the accepted responses of a consultation FETCH_SIZE at a time, as columns.

    Responses are read by keyset pagination over the id, with two plain range queries per
    batch (responses with their theme_pattern, their answers) whose rows come back as tuples;
    the municipality, the codes of themes and options and the positions of options are
    dictionaries loaded once, and the themes cell of each distinct pattern is made once. A
    response's options of a question come in order and are joined into their cell as they
    come (one dictionary per column): only free text, and any odd answer, is grouped and
    cleaned apart. Both the CSV and the XLSX are
    made from these columns.
    """

    def __init__(self, consultation: Consultation, chunk_size: int):
        published = published_questions(consultation)
        self.column_of = {question.id: index for index, question in enumerate(published)}
        self.width = len(published)
        self.option_code = {option.id: option.code for question in published
                            for option in question.options}
        self.theme_code = {theme.id: theme.code for theme in consultation.themes}
        # Codes that can't start a formula need no neutralizing, nor can a ";"-join of them.
        self.themes_clean = all(_clean(code) for code in self.theme_code.values())
        self.column_clean = [question.type != "text" and all(_clean(option.code)
                                                            for option in question.options)
                             for question in published]
        # Columns whose cells never need quoting in the CSV (codes without , " or newlines).
        self.themes_plain = all(_plain(code) for code in self.theme_code.values())
        self.column_plain = [clean and all(_plain(option.code) for option in question.options)
                             for clean, question in zip(self.column_clean, published, strict=True)]
        # (channel, municipality, level) -> (channel, municipality, region, metro), safe cells,
        # the quasi-identifiers that the row's disclosure level withholds left empty.
        self.places: dict[tuple[str, str, int], tuple] = {}
        self.municipalities = {code: (region, 1 if metro else 0) for code, region, metro in
                               db.session.execute(select(Municipality.code,
                                                         Municipality.region_number,
                                                         Municipality.metro))}
        # Disclosure control (analysis/disclosure.py): each (municipality, single answers)
        # cell's publication level, from one aggregate query made here, before any row.
        self.single_columns = [index for index, question in enumerate(published)
                               if question.type == "single"]
        self.minimum = int(current_app.config["MIN_CELL_SIZE"])
        self.levels = publication_levels(
            self._cell_counts(consultation, [published[i] for i in self.single_columns]),
            self.minimum)
        # The generator may run after the request's session is gone (a streamed response):
        # it reads on a connection of its own, from the engine, and touches no ORM object.
        self.engine = db.engine
        self.connection = connection = db.session.connection()
        self.fetch_size = chunk_size * max(1, FETCH_SIZE // chunk_size)
        self.responses = (
            select(Response.id, Response.submitted_on, Response.channel,
                   Response.municipality_code, Response.theme_pattern, Response.source)
            .where(Response.consultation_id == consultation.id, Response.state == "accepted",
                   Response.id > bindparam("last_id"))
            .order_by(Response.id)
            .limit(self.fetch_size)
        )
        low, high = bindparam("low"), bindparam("high")
        # The themes cell of each distinct Response.theme_pattern ("4,1,7": the chosen themes'
        # ids in position order), made once: a few thousand patterns for a million responses.
        self.theme_cells = _ThemeCells(self.theme_code, self.themes_clean)
        # Answers of a response by question, then in the question's order of options, then
        # as answered. When option ids follow the options' positions (as options are
        # created), the id orders them without a join to the option table.
        by_id = all([option.position
                     for option in sorted(question.options, key=attrgetter("id"))]
                    == sorted(option.position for option in question.options)
                    for question in published)
        option_order = Answer.option_id if by_id else Option.position
        answers_query = select(Answer.response_id, Answer.question_id, Answer.option_id,
                               Answer.text_value)
        if option_order is Option.position:
            answers_query = answers_query.outerjoin(Option, Option.id == Answer.option_id)
        # SQLite: "+ 0" keeps the question out of the index choice. Without statistics (or
        # with some only), SQLite reads the range through ix_answer_question_option (question,
        # option, response), every answer of the questions for each batch: quadratic, 11 s
        # instead of 3 s for a million responses. The response id's range is the one to use.
        question = Answer.question_id + 0 if connection.dialect.name == "sqlite" else (
            Answer.question_id)
        self.answers_query = (answers_query
                              .where(Answer.response_id.between(low, high),
                                     question.in_(list(self.column_of)))
                              .order_by(Answer.response_id, Answer.question_id, option_order,
                                        Answer.id))
        # The day as the database driver returns it (a string on SQLite) -> ISO text, through
        # SQLAlchemy's own Date conversion, once per distinct value.
        self.to_date = (Response.submitted_on.type.dialect_impl(connection.dialect)
                        .result_processor(connection.dialect, None))
        self.hash_states = _hash_states(consultation)
        self.dialect = connection.dialect.name
        self.connection = None  # the session's connection is not used past this point

    def _cell_counts(self, consultation: Consultation, singles: list) -> list[tuple]:
        """Return ((municipality, region, metro, single answers), rows) of accepted responses.

        One GROUP BY in the database: the count table, never the rows. Answers are the cells
        the file shows (option codes, made safe as their column is).
        """
        aliases = [aliased(Answer) for _ in singles]
        answer_columns = [column for alias in aliases
                          for column in (alias.option_id, alias.text_value)]
        statement = select(Response.municipality_code, *answer_columns,
                           func.count()).select_from(Response)
        for question, alias in zip(singles, aliases, strict=True):
            statement = statement.outerjoin(alias, (alias.response_id == Response.id)
                                            & (alias.question_id == question.id))
        statement = (statement
                     .where(Response.consultation_id == consultation.id,
                            Response.state == "accepted")
                     .group_by(Response.municipality_code, *answer_columns))
        option_code = self.option_code
        out = []
        for municipality, *answers, rows in db.session.execute(statement):
            # The cell as _answers() makes it: the option's code, else the scrubbed text.
            codes = tuple(
                safe_cell((option_code.get(option_id) or "") if option_id
                          else scrub(text) if text else "")
                for option_id, text in zip(answers[::2], answers[1::2], strict=True))
            region, metro = self.municipalities[municipality]
            out.append(((municipality, region, metro, codes), rows))
        return out

    def __iter__(self) -> Iterator[_Batch]:
        if self.dialect == "postgresql":
            # The next batch's queries run on the server while this one is made into cells.
            yield from self._batches(_ahead(self.engine, self._rounds))
            return
        # SQLite runs in this process (and its cursor takes the GIL at every row)
        with self.engine.connect() as connection:
            yield from self._batches(self._rounds(connection))

    def _batches(self, rounds) -> Iterator[_Batch]:
        for batch, answer_rows in rounds:
            response_ids = [row[0] for row in batch]
            if self.width:
                answers, odd_columns = self._answers(answer_rows, batch)
            else:
                answers, odd_columns = [], set()
            columns = [list(map(column.get, response_ids, repeat(""))) for column in answers]
            yield _Batch(
                ids=self._anonymous_ids(response_ids),
                days=self._days(batch),
                places=self._places(batch, columns),
                themes=list(map(self.theme_cells.__getitem__, map(_fifth, batch))),
                answers=columns,
                sources=list(map(_sixth, batch)),
                odd_columns=odd_columns)

    def _rounds(self, connection) -> Iterator[tuple[list, list]]:
        """Yield (responses, their answers) as driver tuples, batch by batch."""
        last_id = 0
        while True:
            batch = _tuples(connection, self.responses, {"last_id": last_id})
            if not batch:
                return
            bounds = {"low": batch[0][0], "high": batch[-1][0]}
            yield (batch,
                   _tuples(connection, self.answers_query, bounds) if self.width else [])
            last_id = bounds["high"]

    def _answers(self, rows: list[tuple], batch: list[tuple]
                 ) -> tuple[list[dict[int, str]], set[int]]:
        """Return one {response id: cell} per published question, and the odd columns.

        The options of a response's question come in order: their codes are joined as they
        come. A group with free text (or a text in an option question, or codes to
        neutralize) is set aside, then grouped and cleaned as a whole: scrubbed, joined,
        neutralized.
        """
        columns: list[dict[int, str]] = [{} for _ in range(self.width)]
        option_code = self.option_code
        fast = {question_id: columns[column] for question_id, column in self.column_of.items()
                if self.column_clean[column]}
        odd: set[tuple[int, int]] = set()
        for response_id, question_id, option_id, _text in rows:
            cells = fast.get(question_id)
            if cells is None or not option_id:
                odd.add((response_id, question_id))
                continue
            code = option_code.get(option_id)
            if not code:
                continue
            cell = cells.get(response_id)
            cells[response_id] = code if cell is None else f"{cell};{code}"
        odd_columns = set()
        if odd:
            wanted = {row[0] for row in batch}
            for key, group in groupby(rows, _first_two):
                if key not in odd or key[0] not in wanted:
                    continue
                response_id, question_id = key
                column = self.column_of[question_id]
                odd_columns.add(column)
                columns[column][response_id] = safe_cell(";".join(filter(None, [
                    option_code.get(option_id) if option_id else scrub(text_value)
                    for _, _, option_id, text_value in group])))
        return columns, odd_columns

    def _anonymous_ids(self, response_ids: list[int]) -> list[str]:
        """Return the anonymous_id() of each response (inlined: once per response)."""
        inner_copy, outer_copy = self.hash_states
        out = []
        append = out.append
        for response_id in response_ids:
            digest = inner_copy()
            digest.update(b"%d" % response_id)
            outer = outer_copy()
            outer.update(digest.digest())
            append(outer.hexdigest()[:16])
        return out

    def _days(self, batch: list[tuple]) -> list[str]:
        raw = list(map(_second, batch))
        to_date = self.to_date
        text = {day: (to_date(day) if to_date else day).isoformat() for day in set(raw)}
        return list(map(text.__getitem__, raw))

    def _places(self, batch: list[tuple], columns: list[list[str]]) -> list[tuple]:
        """Return the place key of each row; blank the single answers its level withholds."""
        municipalities = list(map(_fourth, batch))
        if self.single_columns:
            singles = list(zip(*[columns[index] for index in self.single_columns], strict=True))
        else:
            singles = [()] * len(batch)
        get = self.levels.get
        # A cell missing from the count table (an answer that changed since) is coarsened.
        levels = [get(key, LEVEL_REGION_ONLY) for key in zip(municipalities, singles, strict=True)]
        for row, level in enumerate(levels):
            if level >= LEVEL_PLACE_ONLY:
                for index in self.single_columns:
                    columns[index][row] = ""
        keys = list(zip(map(_third, batch), municipalities, levels, strict=True))
        places = self.places
        for key in set(keys).difference(places):
            channel, municipality, level = key
            region, metro = self.municipalities[municipality]
            show_municipality, _singles, show_metro, show_region = PUBLISHES[level]
            places[key] = (safe_cell(channel),
                           safe_cell(municipality) if show_municipality else "",
                           region if show_region else "",
                           metro if show_metro else "")
        return keys


_DONE = object()


def _ahead(engine, rounds) -> Iterator:
    """Yield the items of rounds(connection), each computed in another thread while the
    previous one is used here (one item ahead, never more: memory stays flat).

    The thread has its own connection (committed data, as any new request would see) and
    stops when the consumer does (a closed stream included); its error is raised here.
    """
    items: queue.SimpleQueue = queue.SimpleQueue()
    slot = threading.Semaphore(1)  # the thread reads an item only once the last one is taken
    stop = threading.Event()

    def work() -> None:
        try:
            with engine.connect() as connection:
                iterator = rounds(connection)
                while True:
                    while not slot.acquire(timeout=0.1):
                        if stop.is_set():
                            return
                    if stop.is_set():
                        return
                    item = next(iterator, _DONE)
                    items.put(item)
                    if item is _DONE:
                        return
        except BaseException as error:  # handed to the consumer, raised there
            items.put(error)

    thread = threading.Thread(target=work, name="opendata-fetch", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            slot.release()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        slot.release()
        thread.join()


def _plain(text: str) -> bool:
    """True if the CSV writer writes text as it is, and any ";"-join of such texts."""
    return bool(text) and _csv_cell(text) == text and _csv_cell(f"{text};{text}") == \
        f"{text};{text}"


# The characters for which csv.writer (QUOTE_MINIMAL, "," and '"', "\n" line ends) may quote a
# field; other fields it writes as they are (tests/opendata checks every character).
_NEEDS_QUOTES = re.compile('[,"\r\n]')


def _csv_cell(value: str) -> str:
    """Return a non-empty text cell exactly as csv.writer writes it in a row."""
    if not _NEEDS_QUOTES.search(value):
        return value
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([value, ""])
    return buffer.getvalue()[:-2]  # without the empty last cell's "," and the "\n"


def _csv_column(cells: list[str]) -> list[str]:
    return [_csv_cell(cell) if cell else cell for cell in cells]


_first_two = itemgetter(0, 1)
_second = itemgetter(1)
_third = itemgetter(2)
_fourth = itemgetter(3)
_fifth = itemgetter(4)
_sixth = itemgetter(5)
_day_then_id = itemgetter(1, 0)


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


def _tuples(connection, statement, params) -> list[tuple]:
    """Run a Core select; return the driver's plain tuples (no per-row Row objects).

    Values come as the driver gives them: only the integers and strings selected here are
    used raw (the day goes through the column type's conversion above).
    """
    result = connection.execute(statement, params)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


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


def dictionary_rows(consultation: Consultation) -> list[list]:
    """Return the data dictionary as rows: header, then one row per field."""
    rows = [list(DICTIONARY_FIELDS)]
    for field in fields(consultation):
        values = "; ".join(field.enum) if field.enum else ""
        if field.name == "themes":
            values = "; ".join(theme.code for theme in consultation.themes)
        rows.append([field.name, field.type, values, field.description["es"],
                     field.description["en"]])
    rule = disclosure_rule(int(current_app.config["MIN_CELL_SIZE"]))
    rows.append(["(disclosure)", "", "", rule["es"], rule["en"]])
    return rows


def dictionary_json(consultation: Consultation) -> dict:
    """Return the data dictionary with the codes of themes and options in both languages."""
    return {
        "consultation": consultation.slug,
        "min_cell_size": int(current_app.config["MIN_CELL_SIZE"]),
        "disclosure": disclosure_rule(int(current_app.config["MIN_CELL_SIZE"])),
        "fields": [
            {"name": field.name, "type": field.type, "description": field.description,
             **({"values": list(field.enum)} if field.enum else {})}
            for field in fields(consultation)
        ],
        "themes": [{"code": theme.code, "name": {lang: localized(theme.name, lang)
                                                  for lang in LANGS}}
                   for theme in consultation.themes],
        "questions": [
            {"code": question.code, "type": question.type,
             "label": {lang: localized(question.label, lang) for lang in LANGS},
             "options": [{"code": option.code,
                          "label": {lang: localized(option.label, lang) for lang in LANGS}}
                         for option in question.options]}
            for question in published_questions(consultation)
        ],
    }


DICTIONARY_FIELDS = ("field", "type", "values", "description_es", "description_en")


def datapackage(consultation: Consultation, csv_url: str, dictionary_url: str,
                lang: str = "es") -> dict:
    """Return the Frictionless Data Package describing the CSV (tabular-data-package).

    Both resources are tabular data resources with a schema, as the profile requires.
    """
    schema_fields = []
    for field in fields(consultation):
        entry: dict = {"name": field.name, "type": field.type,
                       "description": field.description.get(lang, field.description["es"]),
                       "descriptions": field.description}
        if field.type == "date":
            entry["format"] = "%Y-%m-%d"
        if field.true_values:
            entry["trueValues"] = list(field.true_values)
            entry["falseValues"] = list(field.false_values or ())
        constraints: dict = {}
        if field.name in ("id", "submitted_on", "channel", "source"):
            constraints["required"] = True
        if field.enum:
            constraints["enum"] = list(field.enum)
        if field.name == "id":
            constraints["unique"] = True
        if field.name == "municipality":
            constraints["pattern"] = "14[0-9]{3}"
        if field.name == "region":
            constraints.update(minimum=1, maximum=12)
        if constraints:
            entry["constraints"] = constraints
        schema_fields.append(entry)
    rule = disclosure_rule(int(current_app.config["MIN_CELL_SIZE"]))
    description = localized(consultation.description, lang)
    return {
        "profile": "tabular-data-package",
        "name": consultation.slug,
        "title": localized(consultation.title, lang),
        "description": f"{description}\n\n{rule.get(lang, rule['es'])}".strip(),
        "licenses": [{"name": "CC-BY-4.0", "title": "Creative Commons Attribution 4.0",
                      "path": "https://creativecommons.org/licenses/by/4.0/"}],
        "resources": [{
            "name": "responses",
            "path": csv_url,
            "profile": "tabular-data-resource",
            "description": rule.get(lang, rule["es"]),
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "dialect": {"delimiter": ",", "header": True},
            "schema": {"fields": schema_fields, "primaryKey": ["id"],
                       "missingValues": [""]},
        }, {
            "name": "dictionary",
            "path": dictionary_url,
            "profile": "tabular-data-resource",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "dialect": {"delimiter": ",", "header": True},
            "schema": {"fields": [{"name": name, "type": "string"}
                                  for name in DICTIONARY_FIELDS],
                       "primaryKey": ["field"], "missingValues": []},
        }],
    }


def dictionary_csv(consultation: Consultation) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(
        safe_row(row) for row in dictionary_rows(consultation))
    return buffer.getvalue()

