"""The demo action plan: the real 2016-2018 plan with an invented, believable follow-up.

`flask --app wsgi demo load` (make run) loads app/demo/plan-2016-2018.json on the demo
consultation, approves it (freezing its commitments' origin in the ranking of the synthetic
responses) and, once, adds a history: milestones completed by link evidence that a demo
monitor accepted, one piece rejected with a reason and one waiting for review. The history is
invented (app/demo/SOURCES.md says so); the demo accounts cannot sign in.
"""

from __future__ import annotations

import json
import random
import secrets
from datetime import datetime, time, timedelta
from pathlib import Path

from app.database import write_transaction
from app.extensions import db
from app.models import Commitment, Evidence, EvidenceReview, MilestoneEvent, Plan, User
from app.models.plan import UserAgency
from app.services.plans import approve_plan, load_plan

PLAN_FILE = Path(__file__).resolve().parent.parent / "demo" / "plan-2016-2018.json"
MONITOR_EMAIL = "comite.demo@consulta-abierta.invalid"
IMPLEMENTER_EMAIL = "enlace.demo@consulta-abierta.invalid"
# Milestones completed in the demo, per commitment: all of 2, 4 and 7 (complete), some of
# the others (red on today's board; green and amber on the days of 2017 you pick).
COMPLETED = {1: (1, 2, 3), 2: (1, 2), 3: (1,), 4: (1, 2, 3), 5: (1, 2), 6: (1,),
             7: (1, 2, 3)}
REJECTED = (1, 4)  # a piece of evidence the committee sent back
PENDING = (5, 3)  # a piece waiting for review


def plan_definition() -> dict:
    return json.loads(PLAN_FILE.read_text(encoding="utf-8"))


def _account(email: str, role: str) -> User:
    user = db.session.scalar(db.select(User).where(User.email == email))
    if user is None:
        user = User(email=email, active=False)
        # An unknown random password on an inactive account: the demo's, nobody signs in.
        user.set_password(secrets.token_urlsafe(32))
        user.set_roles({role})
        db.session.add(user)
        db.session.flush()
    return user


def load_plan_demo(seed: int = 2017) -> Plan:
    """Load and approve the demo plan; add its follow-up history once."""
    plan = load_plan(plan_definition()).plan
    if plan.status != "approved":
        plan = approve_plan(plan)
    has_history = db.session.scalar(
        db.select(db.func.count(Evidence.id))
        .join(Commitment, Evidence.commitment_id == Commitment.id)
        .where(Commitment.plan_id == plan.id))
    if has_history:
        return plan
    rng = random.Random(seed)
    with write_transaction() as session:
        plan = session.get(Plan, plan.id)
        monitor = _account(MONITOR_EMAIL, "monitor")
        implementer = _account(IMPLEMENTER_EMAIL, "implementer")
        agencies = set(session.scalars(db.select(UserAgency.lead_agency).where(
            UserAgency.user_id == implementer.id)))
        for commitment in plan.commitments:
            if commitment.lead_agency not in agencies:
                agencies.add(commitment.lead_agency)
                session.add(UserAgency(user_id=implementer.id,
                                       lead_agency=commitment.lead_agency))
            for milestone in commitment.milestones:
                number = (commitment.number, milestone.number)
                if milestone.number in COMPLETED.get(commitment.number, ()):
                    # Done in the last third of the milestone, or up to 25 days late.
                    span = (milestone.ends_on - milestone.starts_on).days
                    done = milestone.ends_on + timedelta(
                        days=rng.randint(-(span // 3), 25))
                    _evidence(milestone, implementer, monitor, done, "accepted", rng)
                elif number == REJECTED:
                    _evidence(milestone, implementer, monitor, milestone.ends_on, "rejected", rng)
                elif number == PENDING:
                    _evidence(milestone, implementer, monitor, milestone.ends_on, "pending", rng)
    return plan


def _evidence(milestone, implementer: User, monitor: User, done, state: str, rng) -> None:
    commitment = milestone.commitment
    submitted = datetime.combine(done + timedelta(days=rng.randrange(1, 10)), time(17, 0))
    evidence = Evidence(
        commitment_id=commitment.id, milestone_id=milestone.id,
        submitted_by_id=implementer.id, kind="link",
        url=f"https://example.org/plan-accion-2016-2018/compromiso-{commitment.number}/"
            f"hito-{milestone.number}.pdf",
        description=f"Evidencia de demostración del hito {milestone.number}: "
                    f"{milestone.description.get('es', '')}"[:500],
        done_on=done, submitted_at=submitted, state=state)
    db.session.add(evidence)
    db.session.flush()
    events = [MilestoneEvent(milestone_id=milestone.id, kind="submitted",
                             evidence_id=evidence.id, actor_id=implementer.id, at=submitted)]
    if state != "pending":
        reviewed = submitted + timedelta(days=rng.randrange(2, 15))
        reason = ("El documento acredita el hito." if state == "accepted" else
                  "El enlace no muestra el resultado comprometido; falta el informe final.")
        db.session.add(EvidenceReview(evidence_id=evidence.id, monitor_id=monitor.id,
                                      decision=state, reason=reason, at=reviewed))
        events.append(MilestoneEvent(milestone_id=milestone.id, kind=state,
                                     evidence_id=evidence.id, actor_id=monitor.id,
                                     reason=reason, at=reviewed))
        if state == "accepted":
            milestone.completed_on = done
            events.append(MilestoneEvent(milestone_id=milestone.id, kind="completed",
                                         evidence_id=evidence.id, actor_id=monitor.id,
                                         completed_on=done, at=reviewed))
    db.session.add_all(events)
