"""Two people save the same paper form at the same moment: exactly one wins.

On PostgreSQL both transactions really run at once and the unique constraint stops the loser;
on SQLite BEGIN IMMEDIATE makes the second wait for the first, which it then sees.
"""

from __future__ import annotations

import os
import threading

import psycopg
import pytest
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from app.models import PaperKeying, Response
from app.services import paper
from app.services.errors import DomainError
from tests.conftest import PASSWORD, _config, demo_definition

DATABASE = f"consulta_paper_race_{os.getpid()}"


@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.postgres), "sqlite"])
def race_app(request, tmp_path):
    """A throwaway database of each kind, migrated, removed afterwards."""
    if request.param == "sqlite":
        yield from _migrated(f"sqlite:///{tmp_path}/race.db")
        return
    postgres_available = request.getfixturevalue("postgres_available")
    admin = make_url(postgres_available).set(drivername="postgresql")
    server = admin.render_as_string(hide_password=False)
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{DATABASE}"')
    url = make_url(postgres_available).set(database=DATABASE).render_as_string(
        hide_password=False)
    yield from _migrated(url)
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def _migrated(url: str):
    app = create_app(_config(url))
    with app.app_context():
        from flask_migrate import upgrade

        from app.services.geography import load_geography

        upgrade()
        load_geography()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_same_serial_at_the_same_moment_exactly_one_wins(race_app, monkeypatch):
    from app.services.accounts import create_user
    from app.services.consultations import load_definition

    with race_app.app_context():
        consultation, _ = load_definition(demo_definition(slug="race", double_entry=False))
        users = [create_user(f"keyer{i}@example.org", PASSWORD, {"supervisor"}, actor=None)
                 for i in range(2)]
        for user in users:
            user.all_municipalities = True
        db.session.commit()
        paper.create_batch(consultation, "14039", 1, actor=users[0])
        user_ids = [user.id for user in users]
        answers = paper.parse_keying(consultation, {"theme_security": "1",
                                                    "q_sector": "private"})

    # Both transactions have read "no keying yet" before either writes: hold each one at
    # the point where it builds its row until the other has arrived there too.
    barrier = threading.Barrier(2, timeout=3)
    real_utcnow = paper.utcnow

    def meet_then_now():
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        return real_utcnow()

    monkeypatch.setattr(paper, "utcnow", meet_then_now)
    results: list[str] = []

    def submit(user_id: int) -> None:
        with race_app.app_context():
            from app.models import Consultation, User

            found = db.session.scalar(db.select(Consultation).where(Consultation.slug == "race"))
            user = db.session.get(User, user_id)
            try:
                outcome = paper.submit_keying(found, "14039-000001", answers, actor=user)
                results.append(outcome.status)
            except DomainError as error:
                results.append(f"refused: {error.message}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=submit, args=(uid,)) for uid in user_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(results) == 2
    assert results.count("accepted") == 1
    refused = [r for r in results if r != "accepted"][0]
    # Either the unique constraint stopped the loser, or it came second and saw the winner.
    assert "mismo momento" in refused or "ya fue aceptado" in refused
    with race_app.app_context():
        assert db.session.scalar(db.select(db.func.count(Response.id))) == 1
        assert db.session.scalar(db.select(db.func.count(PaperKeying.id))) == 1
        db.session.remove()
