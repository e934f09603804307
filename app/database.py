"""Engine settings that SQLAlchemy cannot express in a URL, and write transactions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from flask import Flask
from sqlalchemy import Column, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.extensions import db

_immediate: ContextVar[bool] = ContextVar("immediate_transaction", default=False)


def configure_engines(app: Flask) -> None:
    """Turn on WAL, foreign keys and immediate write transactions for SQLite connections."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, connection_record):  # noqa: ARG001
        # Let SQLAlchemy's "begin" event issue BEGIN, so a write can take the lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        # IMMEDIATE takes the write lock at BEGIN: two writers queue (busy_timeout) instead of
        # both reading and one failing later with "database is locked". Reads stay DEFERRED.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _immediate.get() else "BEGIN")


@contextmanager
def write_transaction() -> Iterator[Session]:
    """Run a block in one write transaction: committed at the end, rolled back on any error.

    Whatever the session was reading before is ended first, so the block reads fresh data
    under the write lock (SQLite) and cannot interleave with another writer.
    """
    session = db.session()
    if session.in_transaction():
        session.commit()
    token = _immediate.set(True)
    try:
        with session.begin():
            yield session
    finally:
        _immediate.reset(token)


# --- the public form's statements, on the driver's own connection ---------------------------

def driver_read(sql: str, parameters: tuple) -> tuple | None:
    """Return the first row of one statement (SQL with ? marks), or None, read on a pooled
    DB-API connection outside the ORM session.

    For the online form's reads, run on every citizen's visit: through the session they cost
    5 to 10 times the statement itself (the session's transaction, the "begin" event's BEGIN,
    the ORM's per-statement work). The statement runs in autocommit (SQLite's connections
    always are, see on_connect), so no transaction is left for the pool to roll back.
    """
    connection = db.engine.raw_connection()
    postgresql = db.engine.dialect.name == "postgresql"
    try:
        if postgresql:
            connection.driver_connection.autocommit = True
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(driver_sql(sql), parameters)
                return cursor.fetchone()
            finally:
                cursor.close()
        finally:
            if postgresql:
                connection.driver_connection.autocommit = False
    except BaseException:
        _discard(connection)
        raise
    finally:
        connection.close()


@contextmanager
def driver_write() -> Iterator[Any]:
    """Run a block of statements in one write transaction on a pooled DB-API connection
    outside the ORM session (see driver_read), with SQLite's write lock taken at BEGIN (as
    write_transaction does): committed at the end, rolled back on any error. Yield a cursor;
    its statements are written with driver_sql."""
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            if db.engine.dialect.name == "sqlite":
                cursor.execute("BEGIN IMMEDIATE")
            yield cursor
            connection.commit()
        finally:
            cursor.close()
    except BaseException:
        try:
            connection.rollback()
        except Exception:
            _discard(connection)
        raise
    finally:
        connection.close()


def _discard(connection) -> None:
    """Keep a connection that failed out of the pool: it may be broken, or still in
    autocommit, where the ORM would write outside a transaction."""
    connection.invalidate()


def driver_sql(sql: str) -> str:
    """Return SQL written with ? marks in the driver's own parameter style."""
    if db.engine.dialect.paramstyle == "qmark":
        return sql
    return sql.replace("?", "%s")


def bind_converter(column: Column) -> Callable[[Any], Any]:
    """Return how SQLAlchemy converts a value of the column for the driver (a date is stored
    as text on SQLite, for instance), so a row written on the driver's connection reads back
    through the ORM as one written by it."""
    return _converter(column, db.engine.dialect, "bind")


def result_converter(column: Column) -> Callable[[Any], Any]:
    """Return how SQLAlchemy converts the driver's value of the column (text to a date on
    SQLite, for instance)."""
    return _converter(column, db.engine.dialect, "result")


@lru_cache(maxsize=256)
def _converter(column: Column, dialect, kind: str) -> Callable[[Any], Any]:
    impl = column.type.dialect_impl(dialect)
    processor = (impl.bind_processor(dialect) if kind == "bind"
                 else impl.result_processor(dialect, None))
    return processor or _same


def _same(value: Any) -> Any:
    return value
