"""The demo loads the real plan with a believable follow-up, once."""

from __future__ import annotations

from datetime import date

from app.extensions import db
from app.models import Evidence, EvidenceReview, MilestoneEvent
from app.services.demo import load_demo
from app.services.plan_board import board
from app.services.plans import get_by_slug


def test_demo_plan_is_loaded_approved_with_history_and_idempotent(app):
    load_demo(responses=80, open_responses=5)
    counts = (db.session.scalar(db.select(db.func.count(Evidence.id))),
              db.session.scalar(db.select(db.func.count(MilestoneEvent.id))))
    load_demo(responses=80, open_responses=5)
    assert (db.session.scalar(db.select(db.func.count(Evidence.id))),
            db.session.scalar(db.select(db.func.count(MilestoneEvent.id)))) == counts

    plan = get_by_slug("plan-accion-2016-2018")
    assert plan.status == "approved"
    states = dict(db.session.execute(
        db.select(Evidence.state, db.func.count(Evidence.id)).group_by(Evidence.state)).all())
    assert states == {"accepted": 15, "rejected": 1, "pending": 1}
    assert db.session.scalar(db.select(db.func.count(EvidenceReview.id))) == 16
    today = board(plan, date(2026, 12, 2), "es")
    assert today["summary"]["complete"] == 3
    assert today["summary"]["red"] == 4
    # Origins were frozen from the synthetic responses' ranking at approval.
    assert all(o["rank"] is not None for c in today["commitments"] for o in c["origin"])
    # Every completed milestone rests on accepted evidence done that day.
    for commitment in plan.commitments:
        for milestone in commitment.milestones:
            if milestone.completed_on:
                assert any(e.state == "accepted" and e.done_on == milestone.completed_on
                           for e in milestone.evidence)
