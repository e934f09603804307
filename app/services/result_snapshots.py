"""Result snapshots: closed consultations' base count tables, kept across processes.

app/services/datasets.py computes the tables and decides when to read or queue one; this
module stores, reads and encodes them (see the comment below for why).
"""

from __future__ import annotations

import gzip
import io
import json

import pandas as pd
from flask import current_app
from sqlalchemy import delete, event, insert, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import (
    Consultation,
    ResultSnapshot,
)
from app.services.response_filters import Filters
from app.util import local_today, utcnow

# --- result snapshots: closed consultations' base tables, kept across processes ---------------
#
# A closed consultation's responses rarely change, yet every new process (a restarted worker,
# each of gunicorn's workers) scanned a million responses again for its first result: 5–20 s.
# The base tables every count is derived from (one per question-option filter: a few tens of
# thousands of rows) are stored in result_snapshot, as gzip'd CSV, with the fingerprint they
# were computed at. A reader uses a row only when the current fingerprint is the same, so a
# voided or late-imported response makes the next reader recompute and replace it. Open
# consultations change at every submission and are never snapshotted.

SNAPSHOT_TABLES = ("patterns", "options")
# Name prefix of the comparisons' split of the responses by a single-choice question.
OPTION_SPLIT = "option_split"


def _snapshotted(name: str) -> bool:
    """Whether a closed consultation's table of this name is kept in a snapshot: the base
    tables, and the comparisons' split by each question (option_split:<question code>)."""
    return name in SNAPSHOT_TABLES or name.startswith(OPTION_SPLIT + ":")


def _snapshots_apply(consultation: Consultation) -> bool:
    if consultation.status(local_today()) != "closed":
        return False
    # An in-memory SQLite database is one connection: a second one would see another database.
    return (db.engine.dialect.name != "sqlite"
            or db.engine.url.database not in (None, "", ":memory:"))


def _snapshot_key(name: str, filters: Filters) -> str:
    return json.dumps([name, filters.channel, filters.region, filters.municipality,
                       filters.metro, sorted(filters.options.items())])


def _fingerprint_text(consultation: Consultation, fingerprint: tuple) -> str:
    return json.dumps([consultation.created_at.isoformat(), *fingerprint], default=str)


def encode_table(frame: pd.DataFrame) -> bytes:
    """Return a count table as gzip'd text: one JSON line of column types, then CSV (no pickle)."""
    types = {column: str(dtype) for column, dtype in frame.dtypes.items()}
    body = json.dumps(types) + "\n" + frame.to_csv(index=False)
    return gzip.compress(body.encode("utf-8"), compresslevel=6)


def decode_table(payload: bytes) -> pd.DataFrame:
    """Return the table encode_table wrote, with its column types."""
    header, body = gzip.decompress(payload).decode("utf-8").split("\n", 1)
    types = json.loads(header)
    textual = {c for c, t in types.items() if t in ("object", "str", "string")}
    frame = pd.read_csv(
        io.StringIO(body), dtype={c: (str if c in textual else t) for c, t in types.items()},
        keep_default_na=False, na_values={c: [""] for c, t in types.items()
                                          if t.startswith("float")})
    return frame.astype({c: t for c, t in types.items() if c not in textual})


def read_snapshot(consultation: Consultation, key: str, fingerprint: tuple) -> pd.DataFrame | None:
    """Return the stored table if it was computed at this fingerprint, else None."""
    try:
        payload = db.session.scalar(select(ResultSnapshot.payload).where(
            ResultSnapshot.consultation_id == consultation.id, ResultSnapshot.key == key,
            ResultSnapshot.fingerprint == _fingerprint_text(consultation, fingerprint)))
        return None if payload is None else decode_table(payload)
    except (SQLAlchemyError, ValueError, OSError, EOFError) as error:
        # A missing table (not yet migrated) or an unreadable row: compute as without one.
        current_app.logger.warning("result snapshot %s not read: %s", key, error)
        if isinstance(error, SQLAlchemyError):
            db.session.rollback()
        return None


def _queue_snapshot(consultation: Consultation, key: str, fingerprint: tuple,
                    frame: pd.DataFrame) -> None:
    """Write the snapshot when the session's transaction ends, not now.

    Now, the snapshot's own connection would commit while the session still reads: on SQLite
    (WAL) the session could then no longer write in that transaction. When the transaction
    ends, nothing is held; and a transaction that wrote and was rolled back may have seen
    responses that never existed (their ids can be reused), so its snapshots are dropped.
    """
    session = db.session()
    session.info.setdefault(_PENDING, []).append(
        (consultation.id, key, _fingerprint_text(consultation, fingerprint), frame))


_PENDING = "result_snapshots_pending"
_WROTE = "result_snapshots_session_wrote"
_COMMITTED = "result_snapshots_session_committed"


@event.listens_for(Session, "after_flush")
def _after_flush(session, flush_context) -> None:  # noqa: ARG001
    session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _after_execute(state) -> None:
    if not state.is_select:
        state.session.info[_WROTE] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session) -> None:
    session.info[_COMMITTED] = True


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session, transaction) -> None:
    if transaction.parent is not None:
        return
    pending = session.info.pop(_PENDING, None)
    wrote = session.info.pop(_WROTE, False)
    committed = session.info.pop(_COMMITTED, False)
    if not pending or (wrote and not committed):
        return
    for consultation_id, key, fingerprint, frame in pending:
        _write(consultation_id, key, fingerprint, frame)


def write_snapshot(consultation: Consultation, key: str, fingerprint: tuple,
                   frame: pd.DataFrame) -> bool:
    """Store (or replace) a table now, in its own transaction; never raise (see _write)."""
    return _write(consultation.id, key, _fingerprint_text(consultation, fingerprint), frame)


def _write(consultation_id: int, key: str, fingerprint: str, frame: pd.DataFrame) -> bool:
    """Store (or replace) a table in its own short transaction; never raise.

    Its own connection, so the caller's transaction is neither committed nor rolled back, with
    short lock timeouts so that it cannot wait on the caller's own locks. Two processes writing
    the same key at once: one wins, the other's unique conflict is ignored (readers check the
    fingerprint anyway). Returns whether it was stored.
    """
    values = {"consultation_id": consultation_id, "key": key, "fingerprint": fingerprint,
              "created_at": utcnow()}
    try:
        values["payload"] = encode_table(frame)
        with db.engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:  # on the driver's connection: a pragma through SQLAlchemy would BEGIN
                raw = connection.connection.dbapi_connection
                previous = raw.execute("PRAGMA busy_timeout").fetchone()[0]
                raw.execute("PRAGMA busy_timeout = 500")
            try:
                with connection.begin():
                    if not sqlite:
                        connection.execute(text("SET LOCAL lock_timeout = '2s'"))
                    connection.execute(delete(ResultSnapshot).where(
                        ResultSnapshot.consultation_id == consultation_id,
                        ResultSnapshot.key == key))
                    connection.execute(insert(ResultSnapshot).values(**values))
            finally:
                if sqlite:
                    raw.execute(f"PRAGMA busy_timeout = {int(previous)}")
        return True
    except SQLAlchemyError as error:
        current_app.logger.warning("result snapshot %s not stored: %s", key,
                                   str(error).splitlines()[0])
        return False
