"""The Follow-up Committee's review of evidence: the queue, decisions, quorum, reopening.

Evidence is accepted once EVIDENCE_QUORUM distinct monitors accepted it (1 by default); a
rejection (its reason required) sends it back at once. Accepted evidence of a milestone
completes it on the day the evidence says the work was done. Nobody reviews evidence they
submitted, nor the same evidence twice. Every review, completion and reopening is a milestone
event (never changed or deleted) and an audit event.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from app.database import write_transaction
from app.extensions import db
from app.models import Evidence, EvidenceReview, Milestone, MilestoneEvent
from app.services import audit
from app.services.errors import DomainError
from app.services.plans import may_report_for

MAX_REASON = 2000


class ReviewRefused(DomainError):
    """A review or a reopening was refused; nothing was stored."""


def quorum() -> int:
    return max(1, int(current_app.config.get("EVIDENCE_QUORUM") or 1))


def queue() -> list[Evidence]:
    """Return the evidence waiting for review, oldest first."""
    return list(db.session.scalars(
        db.select(Evidence).where(Evidence.state == "pending")
        .order_by(Evidence.submitted_at, Evidence.id)))


def accepting_reviews(evidence: Evidence) -> int:
    return sum(1 for review in evidence.reviews if review.decision == "accepted")


def review(evidence_id: int, monitor, decision: str, reason: str) -> Evidence:
    """Record one monitor's decision on pending evidence; complete its milestone at quorum."""
    reason = (reason or "").strip()
    problems = []
    if decision not in ("accepted", "rejected"):
        problems.append(_("Choose to accept or to reject the evidence."))
    if decision == "rejected" and not reason:
        problems.append(_("Give the reason for rejecting the evidence: the agency reads it."))
    if len(reason) > MAX_REASON:
        problems.append(_("The reason is longer than %(num)d characters.", num=MAX_REASON))
    if problems:
        raise ReviewRefused(_("The review was not saved."), problems)
    try:
        with write_transaction() as session:
            # Locked (PostgreSQL; SQLite's write transaction is already exclusive): two members
            # accepting at once must not each count only their own review and miss the quorum.
            evidence = session.get(Evidence, evidence_id, populate_existing=True,
                                   with_for_update=True)
            if evidence is None:
                raise ReviewRefused(_("No such evidence."))
            if evidence.submitted_by_id == monitor.id:
                raise ReviewRefused(_("You submitted this evidence: another committee member "
                                      "must review it."))
            if any(r.monitor_id == monitor.id for r in evidence.reviews):
                raise ReviewRefused(_("You already reviewed this evidence; each member reviews "
                                      "it once."))
            if evidence.state != "pending":
                raise ReviewRefused(_("This evidence was already %(state)s; it is no longer "
                                      "waiting for review.", state=_state_label(evidence.state)))
            session.add(EvidenceReview(evidence_id=evidence.id, monitor_id=monitor.id,
                                       decision=decision, reason=reason))
            session.flush()
            session.refresh(evidence, ["reviews"])
            milestone = evidence.milestone
            if milestone is not None:
                session.add(MilestoneEvent(milestone_id=milestone.id, kind=decision,
                                           evidence_id=evidence.id, actor_id=monitor.id,
                                           reason=reason or None))
            audit.record("evidence.review", actor=monitor, object_type="evidence",
                         object_id=evidence.id, decision=decision, reason=reason)
            if decision == "rejected":
                evidence.state = "rejected"
            elif accepting_reviews(evidence) >= quorum():
                evidence.state = "accepted"
                if milestone is not None and milestone.completed_on is None:
                    _complete(session, milestone, evidence, monitor)
    except IntegrityError:
        # Two tabs of the same monitor at once: the database's unique rule caught the second.
        raise ReviewRefused(_("You already reviewed this evidence; each member reviews it "
                              "once.")) from None
    return evidence


def _complete(session, milestone: Milestone, evidence: Evidence, actor) -> None:
    milestone.completed_on = evidence.done_on
    session.add(MilestoneEvent(milestone_id=milestone.id, kind="completed",
                               evidence_id=evidence.id, actor_id=actor.id,
                               completed_on=evidence.done_on))
    audit.record("milestone.complete", actor=actor, object_type="milestone",
                 object_id=milestone.id, completed_on=evidence.done_on.isoformat(),
                 evidence=evidence.id)


def reopen(milestone_id: int, actor, reason: str) -> Milestone:
    """Reopen a completed milestone (its evidence stays accepted, in the history)."""
    reason = (reason or "").strip()
    if not reason:
        raise ReviewRefused(_("The milestone was not reopened."),
                            [_("Give the reason for reopening the milestone: it is shown in "
                               "the public history.")])
    if len(reason) > MAX_REASON:
        raise ReviewRefused(_("The milestone was not reopened."),
                            [_("The reason is longer than %(num)d characters.", num=MAX_REASON)])
    with write_transaction() as session:
        milestone = session.get(Milestone, milestone_id, populate_existing=True,
                                with_for_update=True)
        if milestone is None:
            raise ReviewRefused(_("No such milestone."))
        if milestone.completed_on is None:
            raise ReviewRefused(_("The milestone was not reopened."),
                                [_("This milestone is not complete.")])
        before = milestone.completed_on
        milestone.completed_on = None
        session.add(MilestoneEvent(milestone_id=milestone.id, kind="reopened",
                                   actor_id=actor.id, reason=reason))
        audit.record("milestone.reopen", actor=actor, object_type="milestone",
                     object_id=milestone.id, reason=reason, before=before.isoformat())
    return milestone


def history(milestone: Milestone) -> list[MilestoneEvent]:
    return list(db.session.scalars(
        db.select(MilestoneEvent).where(MilestoneEvent.milestone_id == milestone.id)
        .order_by(MilestoneEvent.at, MilestoneEvent.id)))


def _state_label(state: str) -> str:
    return {"accepted": _("accepted"), "rejected": _("rejected"),
            "pending": _("pending")}.get(state, state)


def may_download(user, evidence: Evidence) -> bool:
    """Staff who follow a plan see a file before it is accepted: reviewers, coordinators and
    the agency's implementers; the public only once accepted."""
    if evidence.state == "accepted":
        return True
    if user is None or not user.is_authenticated:
        return False
    if user.has_role("monitor", "coordinator"):
        return True
    return user.has_role("implementer") and may_report_for(user, evidence.commitment)
