"""Migrations that transform stored data, run against a database of their own."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import psycopg
import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from tests.conftest import WORKER, _config, demo_definition


@pytest.fixture
def scratch_url(tmp_path: Path):
    """Return the URL of an empty database on the suite's server (SQLite file or PostgreSQL)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url or not make_url(url).drivername.startswith("postgresql"):
        yield f"sqlite:///{tempfile.mkdtemp(dir=tmp_path)}/migrations.db"
        return
    parsed = make_url(url)
    name = f"{parsed.database}_migrations{('_' + WORKER) if WORKER else ''}"
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    yield parsed.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_0009_fills_each_responses_theme_pattern(scratch_url):
    app = create_app(_config(scratch_url))
    with app.app_context():
        upgrade(revision="0008_result_snapshots")
        from app.services.consultations import load_definition
        from app.services.geography import load_geography

        load_geography()
        consultation, _ = load_definition(demo_definition(slug="migration"))
        theme_ids = [theme.id for theme in consultation.themes]
        chosen = {1: theme_ids[:3], 2: [theme_ids[4]], 3: [], 4: [theme_ids[2], theme_ids[0]]}
        with db.engine.begin() as connection:
            for response_id, themes in chosen.items():
                connection.execute(text(
                    "INSERT INTO response (id, consultation_id, channel, municipality_code, "
                    "submitted_at, submitted_on, source, state) VALUES (:id, :consultation, "
                    "'paper', '14039', '2026-11-01 10:00:00', '2026-11-01', 'import', "
                    "'accepted')"), {"id": response_id, "consultation": consultation.id})
                for position, theme in enumerate(themes, start=1):
                    connection.execute(text(
                        "INSERT INTO response_theme (response_id, theme_id, position) "
                        "VALUES (:response, :theme, :position)"),
                        {"response": response_id, "theme": theme, "position": position})
        db.session.remove()

        upgrade()
        with db.engine.connect() as connection:
            patterns = {response_id: pattern for response_id, pattern in connection.execute(
                text("SELECT id, theme_pattern FROM response"))}
        assert patterns == {response_id: ",".join(map(str, themes))
                            for response_id, themes in chosen.items()}

        # And back: the column and the index go, the responses stay.
        downgrade(revision="0008_result_snapshots")
        with db.engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM response")) == 4
        upgrade()
        db.session.remove()
        db.engine.dispose()
