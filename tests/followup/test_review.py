"""The Follow-up Committee's review: quorum, own evidence, second review, rejection reason,
reopening with a reason, the append-only history, the queue."""

from __future__ import annotations

from datetime import date

import pytest

from app.extensions import db
from app.models import AuditEvent, Evidence, EvidenceReview, MilestoneEvent
from app.services import evidence as evidence_service
from app.services import review as service
from app.services.review import ReviewRefused
from tests.followup.conftest import milestone
from tests.followup.test_evidence import sign_in

DONE = date(2017, 3, 20)


def submit(plan, people, number: int = 1, done_on: date = DONE, who: str = "implementer"):
    return evidence_service.submit_evidence(
        milestone(plan, 1, number).id, people[who], upload=None,
        url=f"https://example.org/hito-{number}.pdf", description="Acta firmada",
        done_on=done_on)


def kinds(target) -> list[str]:
    return [event.kind for event in service.history(target)]


def test_quorum_of_one_completes_the_milestone_on_the_evidences_date(plan, people):
    evidence = submit(plan, people)
    service.review(evidence.id, people["monitor"], "accepted", "")
    target = milestone(plan)
    db.session.refresh(target)
    assert target.completed_on == DONE
    assert db.session.get(Evidence, evidence.id).state == "accepted"
    assert kinds(target) == ["submitted", "accepted", "completed"]
    assert service.history(target)[-1].completed_on == DONE
    actions = set(db.session.scalars(db.select(AuditEvent.action)))
    assert {"evidence.submit", "evidence.review", "milestone.complete"} <= actions


def test_quorum_of_two_needs_two_distinct_monitors(app, plan, people):
    app.config["EVIDENCE_QUORUM"] = 2
    evidence = submit(plan, people)
    service.review(evidence.id, people["monitor"], "accepted", "Se ve bien")
    target = milestone(plan)
    db.session.refresh(target)
    assert target.completed_on is None
    assert db.session.get(Evidence, evidence.id).state == "pending"
    with pytest.raises(ReviewRefused, match="already reviewed"):
        service.review(evidence.id, people["monitor"], "accepted", "")
    service.review(evidence.id, people["monitor2"], "accepted", "")
    db.session.refresh(target)
    assert target.completed_on == DONE
    assert kinds(target) == ["submitted", "accepted", "accepted", "completed"]


def test_a_rejection_needs_a_reason_and_sends_the_evidence_back(plan, people):
    evidence = submit(plan, people)
    with pytest.raises(ReviewRefused) as refused:
        service.review(evidence.id, people["monitor"], "rejected", "  ")
    assert "Give the reason for rejecting" in refused.value.problems[0]
    assert db.session.scalar(db.select(db.func.count(EvidenceReview.id))) == 0
    service.review(evidence.id, people["monitor"], "rejected", "No muestra el informe final")
    assert db.session.get(Evidence, evidence.id).state == "rejected"
    target = milestone(plan)
    assert target.completed_on is None
    assert service.history(target)[-1].reason == "No muestra el informe final"
    with pytest.raises(ReviewRefused, match="no longer waiting"):
        service.review(evidence.id, people["monitor2"], "accepted", "")


def test_nobody_reviews_evidence_they_submitted(plan, people, make_user, client):
    both = make_user("implementer", "monitor", email="ambos@example.org",
                     agencies=["Secretaría de Prueba"])
    evidence = submit(plan, {"implementer": both})
    with pytest.raises(ReviewRefused, match="You submitted this evidence"):
        service.review(evidence.id, both, "accepted", "")
    sign_in(client, both)
    response = client.post(f"/followup/evidence/{evidence.id}/review",
                           data={"decision": "accepted", "reason": ""})
    assert response.status_code == 400
    assert "You submitted this evidence" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(EvidenceReview.id))) == 0


def test_a_second_review_by_the_same_monitor_is_refused_with_a_message(plan, people, client):
    evidence = submit(plan, people)
    sign_in(client, people["monitor"])
    first = client.post(f"/followup/evidence/{evidence.id}/review",
                        data={"decision": "rejected", "reason": "Falta la firma"})
    assert first.status_code == 303
    again = client.post(f"/followup/evidence/{evidence.id}/review",
                        data={"decision": "accepted", "reason": ""})
    assert again.status_code == 400
    assert "You already reviewed this evidence" in again.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(EvidenceReview.id))) == 1


def test_the_database_refuses_a_second_review_row_too(plan, people):
    evidence = submit(plan, people)
    service.review(evidence.id, people["monitor"], "accepted", "")
    db.session.add(EvidenceReview(evidence_id=evidence.id, monitor_id=people["monitor"].id,
                                  decision="accepted"))
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        db.session.commit()
    db.session.rollback()


def test_reopening_needs_a_reason(plan, people, client):
    evidence = submit(plan, people)
    service.review(evidence.id, people["monitor"], "accepted", "")
    target = milestone(plan)
    with pytest.raises(ReviewRefused) as refused:
        service.reopen(target.id, people["coordinator"], " ")
    assert "Give the reason for reopening" in refused.value.problems[0]
    sign_in(client, people["coordinator"])
    response = client.post(f"/followup/milestones/{target.id}/reopen",
                           data={"reopen-reason": "", "evidence": evidence.id})
    assert response.status_code == 400
    assert "Give the reason for reopening" in response.get_data(as_text=True)
    db.session.refresh(target)
    assert target.completed_on == DONE
    response = client.post(f"/followup/milestones/{target.id}/reopen",
                           data={"reopen-reason": "El acta era de otro hito",
                                 "evidence": evidence.id})
    assert response.status_code == 303
    db.session.refresh(target)
    assert target.completed_on is None
    assert kinds(target) == ["submitted", "accepted", "completed", "reopened"]
    assert service.history(target)[-1].reason == "El acta era de otro hito"
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id)).where(
        AuditEvent.action == "milestone.reopen")) == 1
    # Reopened, it takes new evidence and completes again on the new date.
    again = submit(plan, people, done_on=date(2017, 4, 2))
    service.review(again.id, people["monitor2"], "accepted", "")
    db.session.refresh(target)
    assert target.completed_on == date(2017, 4, 2)


def test_an_implementer_may_not_reopen(plan, people, client):
    evidence = submit(plan, people)
    service.review(evidence.id, people["monitor"], "accepted", "")
    sign_in(client, people["implementer"])
    response = client.post(f"/followup/milestones/{milestone(plan).id}/reopen",
                           data={"reopen-reason": "Quiero cambiarlo"})
    assert response.status_code == 403


def test_the_history_is_append_only(plan, people):
    evidence = submit(plan, people)
    service.review(evidence.id, people["monitor"], "rejected", "Ilegible")
    event = db.session.scalars(db.select(MilestoneEvent)).first()
    event.reason = "cambiado"
    with pytest.raises(ValueError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    event = db.session.scalars(db.select(MilestoneEvent)).first()
    db.session.delete(event)
    with pytest.raises(ValueError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    review = db.session.scalars(db.select(EvidenceReview)).one()
    review.decision = "accepted"
    with pytest.raises(ValueError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(MilestoneEvent.id))) == 2


def test_the_queue_shows_waiting_evidence_oldest_first(plan, people, client):
    first = submit(plan, people, number=1)
    second = submit(plan, people, number=2, done_on=date(2017, 5, 1))
    decided = submit(plan, people, number=1)
    service.review(decided.id, people["monitor2"], "rejected", "Duplicada")
    assert [e.id for e in service.queue()] == [first.id, second.id]
    sign_in(client, people["monitor"])
    page = client.get("/followup/review").get_data(as_text=True)
    assert page.index(f"#{first.id}") < page.index(f"#{second.id}")
    assert f"#{decided.id}<" not in page
    opened = client.get(f"/followup/evidence/{first.id}")
    assert opened.status_code == 200
    assert "https://example.org/hito-1.pdf" in opened.get_data(as_text=True)


def test_implementers_do_not_see_the_queue_and_another_agency_cannot_open(plan, people,
                                                                          client):
    evidence = submit(plan, people)
    sign_in(client, people["other"])
    assert client.get("/followup/review").status_code == 403
    assert client.get(f"/followup/evidence/{evidence.id}").status_code == 403
    assert client.post(f"/followup/evidence/{evidence.id}/review",
                       data={"decision": "accepted"}).status_code == 403
