"""Fixtures of the action plan tests: the real 2016-2018 plan on the demo consultation."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

PLAN_FILE = Path(__file__).resolve().parents[2] / "app" / "demo" / "plan-2016-2018.json"
ROOT = Path(__file__).resolve().parents[2]
# ../shared beside the clone (CI), or the workplace's shared folder (a worktree deeper down).
SHARED_PLAN = next(
    (folder / "data" / "plan-2016-2018.json" for folder in (ROOT.parent / "shared",
                                                            ROOT.parents[1] / "shared")
     if (folder / "data" / "plan-2016-2018.json").exists()),
    ROOT.parent / "shared" / "data" / "plan-2016-2018.json",
)


def plan_data() -> dict:
    """Return the project's copy of the real plan (both languages)."""
    return json.loads(PLAN_FILE.read_text(encoding="utf-8"))


@pytest.fixture
def demo_consultation(make_consultation):
    return make_consultation("closed", slug="consulta-ampliada-2016")


@pytest.fixture
def plan_file(demo_consultation):
    """Return a deep copy of the real plan, its consultation loaded."""
    return copy.deepcopy(plan_data())


def small_plan(**overrides) -> dict:
    """Return a small valid plan on the demo consultation: one commitment, two milestones."""
    data = {
        "slug": "plan-prueba",
        "title": {"es": "Plan de prueba", "en": "Test plan"},
        "starts_on": "2017-01", "ends_on": "2017-12", "grace_days": 30,
        "consultations": ["consulta-ampliada-2016"],
        "commitments": [{
            "number": 1, "title": {"es": "Compromiso", "en": "Commitment"},
            "themes": ["security"], "starts_on": "2017-01-01", "ends_on": "2017-12-31",
            "lead_agency": "Secretaría de Prueba",
            "actors": [{"name": "ITESO", "sector": "academia"}],
            "ogp_values": ["accountability"],
            "indicator": {"name": {"es": "Colonias", "en": "Neighbourhoods"},
                          "unit": {"es": "colonias", "en": "neighbourhoods"},
                          "baseline": 0, "target": 20},
            "milestones": [
                {"number": 1, "description": {"es": "Primero"}, "starts_on": "2017-01",
                 "ends_on": "2017-03"},
                {"number": 2, "description": {"es": "Segundo"}, "starts_on": "2017-04",
                 "ends_on": "2017-06", "weight": 3},
            ],
        }],
    }
    data.update(overrides)
    return data
