"""Engine settings that SQLAlchemy cannot express in a URL, and write transactions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask
from sqlalchemy import event
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
