"""The driver connections lent to the online form (app/database.py)."""

from __future__ import annotations

import pytest

from app import database
from app.database import driver_statement, driver_write
from app.extensions import db
from app.models import Region


def _regions() -> int:
    return driver_statement("SELECT count(*) FROM region WHERE number = ?", (99,))[0]


def _insert_then_fail() -> None:
    with driver_write() as cursor:
        cursor.execute("INSERT INTO region (number, name) VALUES (99, 'Prueba')")
        raise RuntimeError("after the insert")


def test_a_write_block_that_fails_stores_nothing(app):
    try:
        with pytest.raises(RuntimeError):
            _insert_then_fail()
        assert _regions() == 0
        with driver_write() as cursor:
            cursor.execute("INSERT INTO region (number, name) VALUES (99, 'Prueba')")
        assert _regions() == 1
        assert db.session.get(Region, 99).name == "Prueba"
    finally:
        db.session.rollback()
        with driver_write() as cursor:  # regions are reference data: not emptied between tests
            cursor.execute("DELETE FROM region WHERE number = 99")


def test_a_failed_read_leaves_no_connection_in_autocommit_for_the_orm(app):
    """PostgreSQL reads run in autocommit; a connection whose read failed must not go back to
    the pool that way, or the ORM would later write outside a transaction."""
    with pytest.raises(db.engine.dialect.dbapi.Error):
        driver_statement("SELECT no_such_column FROM region", ())
    for _ in range(3):  # every connection the pool holds
        connection = db.engine.raw_connection()
        try:
            if db.engine.dialect.name == "postgresql":
                assert connection.driver_connection.autocommit is False
            cursor = connection.cursor()
            cursor.execute("SELECT 1")
            assert cursor.fetchone()[0] == 1
        finally:
            connection.close()


# --- PostgreSQL: a connection is pinged only after lying idle; a lost one is replaced ---------

def _on_postgresql() -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("pinging and replacing lost connections is PostgreSQL's (run with "
                    "TEST_DATABASE_URL)")


def _terminate_pooled_connection() -> int:
    """Close, from the server's side, the connection the pool lends next; return its pid."""
    import psycopg

    pid = driver_statement("SELECT pg_backend_pid()", ())[0]
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", (pid,))
    return pid


def _pings(monkeypatch) -> list:
    pings: list = []
    ping = db.engine.dialect.do_ping
    monkeypatch.setattr(db.engine.dialect, "do_ping", lambda c: (pings.append(c), ping(c))[1])
    return pings


def test_a_connection_used_a_moment_ago_is_lent_without_a_ping(app, monkeypatch):
    _on_postgresql()
    pings = _pings(monkeypatch)
    for _ in range(3):
        assert driver_statement("SELECT 1", ())[0] == 1
    assert pings == []
    monkeypatch.setattr(database, "PING_AFTER_IDLE", 0.0)
    assert driver_statement("SELECT 1", ())[0] == 1
    assert len(pings) == 1


def test_an_idle_connection_the_server_closed_is_replaced_before_use(app, monkeypatch):
    _on_postgresql()
    pid = _terminate_pooled_connection()
    monkeypatch.setattr(database, "PING_AFTER_IDLE", 0.0)
    # The ORM's next statement gets a new connection: the ping found the old one closed.
    assert db.session.execute(db.text("SELECT pg_backend_pid()")).scalar() != pid
    db.session.rollback()


def test_the_forms_statement_runs_again_on_a_new_connection_when_its_own_was_lost(
        app, monkeypatch):
    _on_postgresql()
    monkeypatch.setattr(database, "PING_AFTER_IDLE", 3600.0)  # no ping finds it first
    pid = _terminate_pooled_connection()
    assert driver_statement("SELECT pg_backend_pid()", ())[0] != pid
    # Every connection the pool lends afterwards works.
    for _ in range(3):
        assert driver_statement("SELECT 1", ())[0] == 1
