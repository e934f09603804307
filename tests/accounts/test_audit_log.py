"""The audit log page (filters, pages) and rows that cannot be changed or deleted."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.database import write_transaction
from app.extensions import db
from app.models import AuditEvent
from app.models.audit import AuditLogIsAppendOnly
from app.services import audit

EN = {"Accept-Language": "en"}


def add_events(count: int, action: str = "test.event", at: datetime | None = None, **kw):
    with write_transaction():
        for number in range(count):
            event = audit.record(action, object_type="thing", object_id=number, **kw)
            if at is not None:
                event.at = at


def rows(page: str) -> int:
    return page.split("<tbody>")[1].split("</tbody>")[0].count("<tr>")


def test_the_log_lists_sign_ins_and_changes_newest_first(app, admin_client):
    page = admin_client.get("/admin/audit", headers=EN).get_data(as_text=True)
    table = page.split("<tbody>")[1]
    assert "auth.login" in table
    assert "account.create" in table
    assert table.index("auth.login") < table.index("account.create")
    assert "admin@example.org" in table


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"action": "test.old"}, 2),
        ({"action": "test.event"}, 3),
        ({"actor": "ADMIN@example"}, None),  # counted below: case-insensitive part
        ({"object_type": "thing", "object_id": "1"}, 2),
        ({"since": "2020-01-01", "until": "2020-01-31"}, 2),
        ({"until": "2019-12-31"}, 0),
        ({"action": "no.such.action"}, 0),
    ],
)
def test_filters(app, admin_client, query, expected):
    add_events(3)
    add_events(2, "test.old", at=datetime(2020, 1, 15, 10, 0))
    response = admin_client.get("/admin/audit", query_string=query)
    assert response.status_code == 200
    if "actor" in query:
        expected = db.session.scalar(db.select(db.func.count(AuditEvent.id)).where(
            AuditEvent.actor_label == "admin@example.org"))
        assert expected >= 1
    assert rows(response.get_data(as_text=True)) == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"since": "15/01/2020"}, "Not a valid date value."),
        ({"since": "2020-02-01", "until": "2020-01-01"}, "The end date is before the start date."),
    ],
)
def test_bad_filters_are_named(app, admin_client, query, message):
    response = admin_client.get("/admin/audit", query_string=query, headers=EN)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_pages_of_fifty(app, admin_client):
    add_events(120)
    first = admin_client.get("/admin/audit", query_string={"action": "test.event"},
                             headers=EN).get_data(as_text=True)
    assert rows(first) == 50
    assert "Page 1 of 3" in first
    assert "page=2" in first
    assert "action=test.event" in first
    last = admin_client.get("/admin/audit", query_string={"action": "test.event", "page": 3})
    assert rows(last.get_data(as_text=True)) == 20
    beyond = admin_client.get("/admin/audit", query_string={"page": 99})
    assert beyond.status_code == 200


def test_details_are_escaped(app, admin_client):
    add_events(1, detail="<script>alert(1)</script>")
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page


def test_the_orm_refuses_to_change_or_delete_an_audit_row(app):
    add_events(1)
    event = db.session.scalars(db.select(AuditEvent)).one()
    event.action = "changed"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.scalars(db.select(AuditEvent)).one())
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(db.select(AuditEvent.action)) == "test.event"


def test_postgresql_refuses_update_and_delete_from_any_client(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the database trigger exists on PostgreSQL (run with TEST_DATABASE_URL)")
    add_events(1)
    for statement in ("UPDATE audit_event SET action = 'changed'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as connection:
            connection.execute(text(statement))
    assert db.session.scalar(db.select(AuditEvent.action)) == "test.event"


def test_old_events_are_kept(app):
    add_events(1, at=datetime(2016, 10, 17) - timedelta(days=1))
    assert audit.search(until=datetime(2016, 10, 16).date()).total == 1
