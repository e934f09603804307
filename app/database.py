"""Engine settings that SQLAlchemy cannot express in a URL, and write transactions."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from flask import Flask
from sqlalchemy import Column, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session

from app.extensions import db

_immediate: ContextVar[bool] = ContextVar("immediate_transaction", default=False)


def configure_engines(app: Flask) -> None:
    """Turn on WAL, foreign keys and immediate write transactions for SQLite connections;
    ping PostgreSQL connections that lay idle in the pool."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    elif engine.dialect.name == "postgresql":
        _configure_postgresql(engine)


# A pooled PostgreSQL connection idle for longer than this is pinged before it is lent.
PING_AFTER_IDLE = 1.0  # seconds


def _configure_postgresql(engine: Engine) -> None:
    """Ping a connection before use only when it lay idle in the pool (SQLAlchemy's
    pool_pre_ping pings on every checkout: half of the online form's round trips).

    A connection the server closed (a restart, an idle timeout) is found by the ping and
    replaced before the request uses it. One closed in the second after its last use fails
    its next statement instead: SQLAlchemy then replaces the pool's connections, and the
    online form's own statements are tried again on a new one (driver_statement)."""

    @event.listens_for(engine, "checkin")
    def on_checkin(dbapi_connection, connection_record):  # noqa: ARG001
        connection_record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection, connection_record, connection_proxy):  # noqa: ARG001
        idle_since = connection_record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since <= PING_AFTER_IDLE:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.dbapi.Error as error:
            # The pool closes this connection and lends another (a new one if need be).
            raise DisconnectionError(str(error)) from error


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

def driver_statement(sql: str, parameters: tuple) -> tuple | None:
    """Run one statement (SQL with ? marks) on its own on a pooled DB-API connection outside
    the ORM session; return its first row, or None.

    For the online form's statements, run on every citizen's visit: through the session they
    cost 5 to 10 times the statement itself (the session's transaction, the "begin" event's
    BEGIN, the ORM's per-statement work). The statement runs in autocommit (SQLite's
    connections always are, see on_connect): it is its own transaction, whole or not at all,
    and no transaction is left for the pool to roll back.
    """
    for attempt in (1, 2):
        connection = db.engine.raw_connection()
        try:
            return _run_statement(connection, sql, parameters)
        except db.engine.dialect.dbapi.Error as error:
            lost = db.engine.dialect.is_disconnect(error, connection.driver_connection, None)
            _discard(connection)
            if attempt == 2 or not lost:
                raise
        except BaseException:
            _discard(connection)
            raise
        finally:
            connection.close()
        # The server closed the connection since its last use (a restart): the pool's other
        # connections are as old, so they are replaced too, and the statement runs once more
        # on a new one. Safe for the form's writes too: a statement is whole or not at all,
        # and one stored before the connection went holds its one-time token, which the
        # second attempt finds taken (see submissions.store).
        db.engine.dispose()
    raise AssertionError("unreachable")


def _run_statement(connection, sql: str, parameters: tuple) -> tuple | None:
    postgresql = db.engine.dialect.name == "postgresql"
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


@contextmanager
def driver_write() -> Iterator[Any]:
    """Run a block of statements in one write transaction on a pooled DB-API connection
    outside the ORM session (see driver_statement), with SQLite's write lock taken at BEGIN (as
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
