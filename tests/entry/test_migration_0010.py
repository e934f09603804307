"""Migration 0010 on a database with paper forms: voided serials become free, nothing is lost."""

from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app import create_app
from app.extensions import db
from tests.conftest import _config, demo_definition
from tests.test_migrations import scratch_url  # noqa: F401 - the fixture


def test_0010_keeps_the_forms_and_frees_voided_serials(scratch_url):  # noqa: F811
    app = create_app(_config(scratch_url))
    with app.app_context():
        upgrade(revision="0009_response_theme_pattern")
        from app.services.consultations import load_definition
        from app.services.geography import load_geography

        load_geography()
        consultation, _ = load_definition(demo_definition(slug="migration-0010"))
        insert = text(
            "INSERT INTO response (consultation_id, channel, municipality_code, submitted_at, "
            "submitted_on, source, state, form_serial, theme_pattern) VALUES (:consultation, "
            "'paper', '14039', '2026-11-01 10:00:00', '2026-11-01', 'import', :state, "
            ":serial, '')")
        with db.engine.begin() as connection:
            connection.execute(insert, {"consultation": consultation.id, "state": "voided",
                                        "serial": "14039-000001"})
            connection.execute(insert, {"consultation": consultation.id, "state": "accepted",
                                        "serial": "14039-000002"})
        db.session.remove()

        upgrade()
        with db.engine.begin() as connection:
            assert connection.scalar(text("SELECT count(*) FROM response")) == 2
            # The voided serial is free again; a live one is still taken.
            connection.execute(insert, {"consultation": consultation.id, "state": "accepted",
                                        "serial": "14039-000001"})
        with pytest.raises(IntegrityError), db.engine.begin() as connection:
            connection.execute(insert, {"consultation": consultation.id, "state": "accepted",
                                        "serial": "14039-000002"})
        with db.engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM response")) == 3
        db.session.remove()
        db.engine.dispose()


def test_0010_downgrades_when_no_serial_was_reused(scratch_url):  # noqa: F811
    app = create_app(_config(scratch_url))
    with app.app_context():
        upgrade()
        downgrade(revision="0009_response_theme_pattern")
        upgrade()
        db.session.remove()
        db.engine.dispose()
