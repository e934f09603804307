"""Storing a checked import file as one batch, in one transaction, or nothing."""

from __future__ import annotations

import queue
import threading
from array import array
from collections.abc import Iterable
from typing import IO

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, text
from sqlalchemy.exc import IntegrityError

from app.database import write_transaction
from app.extensions import db
from app.models import Answer, Consultation, ImportBatch, Response, ResponseTheme, User
from app.models.response import theme_pattern
from app.services import audit
from app.services.errors import DomainError, OutOfScope
from app.services.imports.checks import CHUNK, _Checked, _RowChecker, _rows, check_file
from app.services.imports.problems import ImportRejected, ImportResult, Problem, Progress, shown
from app.services.imports.sources import _source, file_kind
from app.util import utcnow

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
