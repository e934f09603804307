"""Open data rows: the accepted responses of a consultation read as columns of cells.

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
import queue
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby, repeat
from operator import attrgetter, itemgetter

from flask import current_app
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import aliased

from analysis.disclosure import (
    LEVEL_PLACE_ONLY,
    LEVEL_REGION_ONLY,
    PUBLISHES,
    publication_levels,
)
from app.extensions import db
from app.models import Answer, Consultation, Municipality, Option, Response
from app.models.response import pattern_theme_ids
from app.services.anonymize import scrub
from app.services.opendata_schema import published_questions
from app.services.spreadsheet import safe_cell

# Responses read per round of queries (a multiple of the chunk size): fewer round trips.
FETCH_SIZE = 20_000
_BLOCK = 64  # SHA-256 block size, for HMAC


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
