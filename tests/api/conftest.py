"""Consultations with known responses for the API, CLI and dashboard tests."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.services.responses import new_response

# (municipality, channel, themes in order, sector): the rows of tests/services/test_datasets.py.
ROWS = [
    ("14039", "online", ["security", "health", "education"], "private"),   # Guadalajara, metro
    ("14039", "paper", ["security"], "public"),
    ("14120", "online", ["health", "security"], "private"),                # Zapopan, metro
    ("14001", "paper", ["security", "health", "education"], "academia"),  # Acatic, Altos Sur
    ("14001", "paper", ["corruption"], "private"),
]


@pytest.fixture
def app_config() -> dict:
    # These fixtures have 5 respondents: test the numbers here, the small-cell rule in
    # test_suppression.py.
    return {"BOOTSTRAP_REPLICATES": 200, "MIN_CELL_SIZE": 1}


def add_rows(consultation, rows=ROWS):
    for municipality, channel, themes, sector in rows:
        db.session.add(new_response(consultation, channel=channel, source="online",
                                    municipality_code=municipality, theme_codes=themes,
                                    answers={"sector": sector, "heard_via": ["school", "other"]}))
    db.session.commit()


@pytest.fixture
def closed(make_consultation):
    return make_closed(make_consultation)


def make_closed(make_consultation):
    """Create the closed consultation "closed-one" with ROWS and one voided response."""
    consultation = make_consultation("closed", slug="closed-one")
    add_rows(consultation)
    voided = new_response(consultation, channel="online", source="online",
                          municipality_code="14039", theme_codes=["water"], answers={})
    voided.state = "voided"
    db.session.add(voided)
    db.session.commit()
    return consultation


def generated_rows(n: int = 200):
    """Return rows with known proportions (see test_known_proportions)."""
    rows = []
    for i in range(n):
        if i < 100:
            themes = ["security", "health"] if i < 50 else ["security"]
        elif i < 160:
            themes = ["health"]
        else:
            themes = ["education", "water"]
        municipality = "14039" if i < 120 else "14001" if i < 180 else "14002"
        rows.append((municipality, "paper" if i % 4 == 0 else "online", themes,
                     "public" if i % 5 == 0 else "private"))
    return rows
