"""The driver connections lent to the online form (app/database.py)."""

from __future__ import annotations

import pytest

from app.database import driver_read, driver_write
from app.extensions import db
from app.models import Region


def _regions() -> int:
    return driver_read("SELECT count(*) FROM region WHERE number = ?", (99,))[0]


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
        driver_read("SELECT no_such_column FROM region", ())
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
