"""Keying paper forms twice, discrepancies, adjudication, voiding: services and web."""

from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.models import AuditEvent, PaperKeying, PaperResolution, Response
from app.services import paper
from app.services.errors import DomainError, OutOfScope


@pytest.fixture(autouse=True)
def english(app):
    with force_locale("en"):
        yield


def form(**values) -> MultiDict:
    """The entry form as typed: security first, health second, private sector, age 34."""
    data = {"theme_security": "1", "theme_health": "2", "q_sector": "private",
            "q_heard_via": ["radio_tv", "school"], "q_age": "34", "q_problem": "Baches"}
    data.update(values)
    items = []
    for key, value in data.items():
        for one in value if isinstance(value, list) else [value]:
            items.append((key, one))
    return MultiDict(items)


def key(consultation, serial, user, **values):
    answers = paper.parse_keying(consultation, form(**values))
    return paper.submit_keying(consultation, serial, answers, actor=user)


def count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


@pytest.fixture
def consultation(make_consultation, people):
    found = make_consultation()
    paper.create_batch(found, "14039", 20, actor=people.boss)
    paper.create_batch(found, "14097", 5, actor=people.boss)
    return found


def test_parse_keying_values_and_marks(consultation):
    answers = paper.parse_keying(consultation, form(
        theme_health="1", theme_security="3", theme_water="2", q_sector="illegible",
        q_heard_via=[], q_age="", q_problem="?"))
    assert answers == {"themes": ["health", "water", "security"], "sector": {"mark": "illegible"},
                       "heard_via": None, "age": None, "problem": {"mark": "illegible"}}
    blank = paper.parse_keying(consultation, MultiDict({"q_sector": "blank",
                                                        "themes_mark": "illegible",
                                                        "q_heard_via": "illegible"}))
    assert blank["themes"] == {"mark": "illegible"}
    assert blank["sector"] is None
    assert blank["heard_via"] == {"mark": "illegible"}


@pytest.mark.parametrize(("values", "field", "message"), [
    ({"theme_water": "4"}, "themes", "Priority numbers go from 1 to 3"),
    ({"theme_water": "x"}, "themes", "Priority numbers go from 1 to 3"),
    ({"theme_water": "1"}, "themes", "Priority 1 is written on two themes"),
    ({"q_sector": ""}, "sector", "Choose an option"),
    ({"q_sector": "pirates"}, "sector", "Choose an option"),
    ({"q_heard_via": ["carrier_pigeon"]}, "heard_via", "Unknown option"),
    ({"q_age": "7"}, "age", "Outside 12 to 120"),
    ({"q_age": "old"}, "age", "Type a number"),
    ({"q_problem": "x" * 2001}, "problem", "At most 2000 characters."),
])
def test_bad_keyings_name_the_field(consultation, people, values, field, message):
    with pytest.raises(paper.KeyingInvalid) as info:
        key(consultation, "14039-000001", people.gdl1, **values)
    assert message in info.value.fields[field]
    assert count(PaperKeying) == 0


def test_two_matching_keyings_are_accepted(consultation, people):
    first = key(consultation, "14039-000001", people.gdl1)
    assert (first.status, first.pass_number) == ("first", 1)
    assert count(Response) == 0
    second = key(consultation, "14039-000001", people.gdl2)
    assert second.status == "accepted"
    response = db.session.scalar(db.select(Response))
    assert (response.channel, response.source, response.form_serial,
            response.municipality_code, response.state) == (
        "paper", "entry", "14039-000001", "14039", "accepted")
    themes = consultation.theme_by_code()
    assert [t.theme_id for t in response.themes] == [themes["security"].id,
                                                     themes["health"].id]
    assert len(response.answers) == 5
    assert count(PaperKeying) == 2  # both keyings are kept
    actions = db.session.scalars(db.select(AuditEvent.action)
                                 .where(AuditEvent.action == "paper.keyed")).all()
    assert len(actions) == 2


def test_illegible_and_blank_answers_are_not_stored_as_values(consultation, people):
    for user in (people.gdl1, people.gdl2):
        key(consultation, "14039-000002", user, q_sector="illegible", q_age="", theme_health="")
    response = db.session.scalar(db.select(Response))
    assert len(response.themes) == 1
    assert len(response.answers) == 3  # two heard_via options and the problem text


def test_same_account_cannot_key_both_passes(consultation, people):
    key(consultation, "14039-000001", people.gdl1)
    with pytest.raises(DomainError, match="You already keyed form 14039-000001"):
        key(consultation, "14039-000001", people.gdl1)
    assert count(PaperKeying) == 1


def test_the_database_refuses_a_second_keying_of_the_same_pass(consultation, people):
    key(consultation, "14039-000001", people.gdl1)
    db.session.add(PaperKeying(consultation_id=consultation.id, serial="14039-000001",
                               municipality_code="14039", pass_number=1,
                               keyed_by_id=people.gdl2.id, answers={}))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_the_database_refuses_one_account_on_both_passes(consultation, people):
    key(consultation, "14039-000001", people.gdl1)
    db.session.add(PaperKeying(consultation_id=consultation.id, serial="14039-000001",
                               municipality_code="14039", pass_number=2,
                               keyed_by_id=people.gdl1.id, answers={}))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


@pytest.mark.parametrize(("serial", "message"), [
    ("14039-000021", "was not issued for this consultation"),
    ("14040-000001", "was not issued for this consultation"),
    ("14039-12", "is not a form serial"),
    ("", "is not a form serial"),
])
def test_serials_not_issued_are_refused(consultation, people, serial, message):
    with pytest.raises(DomainError, match=message):
        key(consultation, serial, people.boss)
    assert count(PaperKeying) == 0


def test_serial_of_another_municipality_is_a_serial_error_not_a_403(consultation, people):
    """Issue 18, 9: a typo in the serial is a message next to the field, not OutOfScope."""
    with pytest.raises(DomainError, match="belongs to municipality 14097, which your account "
                                          "may not work on") as info:
        key(consultation, "14097-000001", people.gdl1)
    assert not isinstance(info.value, OutOfScope)
    with pytest.raises(DomainError, match="was not issued") as info:
        key(consultation, "99999-000001", people.gdl1)
    assert not isinstance(info.value, OutOfScope)
    assert count(PaperKeying) == 0


def test_accepted_form_is_never_overwritten(consultation, people):
    key(consultation, "14039-000001", people.gdl1)
    key(consultation, "14039-000001", people.gdl2)
    with pytest.raises(DomainError, match="already accepted"):
        key(consultation, "14039-000001", people.boss, q_sector="public")
    assert count(PaperKeying) == 2
    assert count(Response) == 1


def test_single_entry_accepts_at_once(make_consultation, people):
    consultation = make_consultation(double_entry=False)
    paper.create_batch(consultation, "14039", 2, actor=people.boss)
    assert key(consultation, "14039-000001", people.gdl1).status == "accepted"
    assert count(Response) == 1


def test_discrepancy_then_field_by_field_resolution(consultation, people):
    key(consultation, "14039-000003", people.gdl1)
    outcome = key(consultation, "14039-000003", people.gdl2, q_age="43",
                  theme_health="", theme_water="2")
    assert outcome.status == "discrepancy"
    assert outcome.differing == ["themes", "age"]
    assert count(Response) == 0
    assert [k.serial for k in paper.discrepancies(consultation, people.boss)] == [
        "14039-000003"]
    assert paper.discrepancies(consultation, people.tlajo) == []
    # A third keying is refused while it waits.
    with pytest.raises(DomainError, match="already keyed twice"):
        key(consultation, "14039-000003", people.boss)
    with pytest.raises(paper.KeyingInvalid) as info:
        paper.resolve(consultation, "14039-000003", {"themes": "second"}, actor=people.boss)
    assert list(info.value.fields) == ["age"]
    response = paper.resolve(consultation, "14039-000003",
                             {"themes": "second", "age": "first"}, actor=people.boss)
    themes = consultation.theme_by_code()
    assert [t.theme_id for t in response.themes] == [themes["security"].id,
                                                     themes["water"].id]
    age = consultation.question_by_code()["age"]
    assert [a.number_value for a in response.answers if a.question_id == age.id] == [34]
    resolution = db.session.scalar(db.select(PaperResolution))
    assert resolution.resolved_by_id == people.boss.id
    assert resolution.decisions == {"themes": {"choice": "second",
                                               "value": ["security", "water"]},
                                    "age": {"choice": "first", "value": 34}}
    assert resolution.response_id == response.id
    assert count(PaperKeying) == 2
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "paper.resolved"))
    assert event.actor_id == people.boss.id
    assert paper.discrepancies(consultation, people.boss) == []
    with pytest.raises(DomainError, match="no discrepancy|already"):
        paper.resolve(consultation, "14039-000003", {"themes": "first", "age": "first"},
                      actor=people.boss2)


def test_a_keyer_cannot_adjudicate_their_own_form(consultation, people):
    key(consultation, "14039-000004", people.boss)
    key(consultation, "14039-000004", people.gdl1, q_age="44")
    with pytest.raises(DomainError, match="You keyed form 14039-000004 yourself"):
        paper.resolve(consultation, "14039-000004", {"age": "first"}, actor=people.boss)
    assert count(PaperResolution) == 0
    assert count(Response) == 0
    paper.resolve(consultation, "14039-000004", {"age": "first"}, actor=people.boss2)
    assert count(Response) == 1


def test_void_then_the_same_serial_is_keyed_again(consultation, people):
    """Issue 18, 8: after a void the serial could never be keyed again."""
    key(consultation, "14039-000005", people.gdl1)
    key(consultation, "14039-000005", people.gdl2)
    with pytest.raises(DomainError, match="reason"):
        paper.void_form(consultation, "14039-000005", "", actor=people.boss)
    with pytest.raises(OutOfScope):
        paper.void_form(consultation, "14039-000005", "typo", actor=people.tlajo)
    paper.void_form(consultation, "14039-000005", "Wrong municipality on paper",
                    actor=people.boss)
    response = db.session.scalar(db.select(Response))
    assert (response.state, response.voided_by_id, response.void_reason) == (
        "voided", people.boss.id, "Wrong municipality on paper")
    event = db.session.scalar(db.select(AuditEvent.details).where(
        AuditEvent.action == "paper.voided"))
    assert event["reason"] == "Wrong municipality on paper"
    assert len(event["keyings"]) == 2
    # Both keyings are kept, voided with who and why; they no longer block a new keying.
    keyings = db.session.scalars(db.select(PaperKeying)).all()
    assert {(k.voided_by_id, k.void_reason) for k in keyings} == {
        (people.boss.id, "Wrong municipality on paper")}
    assert key(consultation, "14039-000005", people.gdl1, q_age="35").status == "first"
    assert key(consultation, "14039-000005", people.gdl2, q_age="35").status == "accepted"
    states = db.session.execute(db.select(Response.state, Response.form_serial)
                                .order_by(Response.id)).all()
    assert states == [("voided", "14039-000005"), ("accepted", "14039-000005")]
    assert count(PaperKeying) == 4
    with pytest.raises(DomainError, match="already accepted"):
        key(consultation, "14039-000005", people.boss)
    with pytest.raises(DomainError, match="No stored or keyed form"):
        paper.void_form(consultation, "14039-000006", "nothing there", actor=people.boss)


def test_a_form_keyed_once_can_be_voided(consultation, people):
    key(consultation, "14039-000007", people.gdl1)
    assert paper.void_form(consultation, "14039-000007", "Two forms stapled together",
                           actor=people.boss) is None
    keying = db.session.scalar(db.select(PaperKeying))
    assert keying.voided_at is not None
    assert (keying.voided_by_id, keying.void_reason) == (people.boss.id,
                                                         "Two forms stapled together")
    assert count(Response) == 0
    # The same person may key it again: the voided keying does not count.
    assert key(consultation, "14039-000007", people.gdl1).pass_number == 1
    assert count(PaperKeying) == 2


def test_a_first_keying_is_corrected_before_the_second(consultation, people):
    key(consultation, "14039-000008", people.gdl1, q_age="43")
    with pytest.raises(paper.AlreadyKeyedByYou) as info:
        key(consultation, "14039-000008", people.gdl1)
    assert info.value.correctable
    answers = paper.parse_keying(consultation, form())
    with pytest.raises(paper.KeyingInvalid) as invalid:
        paper.correct_keying(consultation, "14039-000008", answers, " ", actor=people.gdl1)
    assert list(invalid.value.fields) == ["reason"]
    with pytest.raises(DomainError, match="Only your own first keying"):
        paper.correct_keying(consultation, "14039-000008", answers, "typo", actor=people.gdl2)
    paper.correct_keying(consultation, "14039-000008", answers, "Age is 34, not 43",
                         actor=people.gdl1)
    old, new = db.session.scalars(db.select(PaperKeying).order_by(PaperKeying.id)).all()
    assert old.answers["age"] == 43
    assert old.void_reason == "Age is 34, not 43"
    assert new.answers["age"] == 34
    assert new.voided_at is None
    assert new.pass_number == 1
    event = db.session.scalar(db.select(AuditEvent.details).where(
        AuditEvent.action == "paper.keying_corrected"))
    assert (event["before"]["age"], event["after"]["age"]) == (43, 34)
    # The second keying is compared with the corrected one.
    assert key(consultation, "14039-000008", people.gdl2).status == "accepted"
    with pytest.raises(DomainError, match="Only your own first keying"):
        paper.correct_keying(consultation, "14039-000008", answers, "late", actor=people.gdl1)


def test_a_discrepancy_settled_by_typing_what_the_paper_says(consultation, people):
    key(consultation, "14039-000009", people.gdl1, q_age="43")
    key(consultation, "14039-000009", people.gdl2, q_age="44")
    typed = paper.parse_keying(consultation, form(q_age="45"))
    with pytest.raises(paper.KeyingInvalid) as info:
        paper.resolve_typed(consultation, "14039-000009", typed, "", actor=people.boss)
    assert list(info.value.fields) == ["reason"]
    key(consultation, "14039-000010", people.boss)
    key(consultation, "14039-000010", people.gdl1, q_age="19")
    with pytest.raises(DomainError, match="yourself"):
        paper.resolve_typed(consultation, "14039-000010", typed, "paper says 45",
                            actor=people.boss)
    response = paper.resolve_typed(consultation, "14039-000009", typed,
                                   "Both misread the 5 as 3 and 4", actor=people.boss)
    age = consultation.question_by_code()["age"]
    assert [a.number_value for a in response.answers if a.question_id == age.id] == [45]
    resolution = db.session.scalar(db.select(PaperResolution).where(
        PaperResolution.serial == "14039-000009"))
    assert resolution.reason == "Both misread the 5 as 3 and 4"
    assert resolution.decisions["age"] == {"choice": "typed", "value": 45, "first": 43,
                                           "second": 44}
    event = db.session.scalar(db.select(AuditEvent).where(
        AuditEvent.action == "paper.resolved", AuditEvent.object_id == "14039-000009"))
    assert event.actor_id == people.boss.id
    assert event.at is not None
    assert event.details["reason"] == "Both misread the 5 as 3 and 4"
    assert event.details["typed"] is True


def test_a_resolved_form_voided_is_keyed_and_resolved_again(consultation, people):
    key(consultation, "14039-000011", people.gdl1, q_age="43")
    key(consultation, "14039-000011", people.gdl2)
    paper.resolve(consultation, "14039-000011", {"age": "second"}, actor=people.boss)
    paper.void_form(consultation, "14039-000011", "Paper was from a rehearsal",
                    actor=people.boss2)
    assert db.session.scalar(db.select(PaperResolution)).void_reason == \
        "Paper was from a rehearsal"
    assert paper.progress(consultation, people.boss)[0].accepted == 0
    key(consultation, "14039-000011", people.gdl1, q_age="43")
    key(consultation, "14039-000011", people.gdl2)
    assert [k.serial for k in paper.discrepancies(consultation, people.boss)] == [
        "14039-000011"]
    paper.resolve(consultation, "14039-000011", {"age": "first"}, actor=people.boss)
    assert count(PaperResolution) == 2
    assert db.session.scalar(db.select(db.func.count(Response.id)).where(
        Response.state == "accepted")) == 1


def test_the_database_keeps_one_live_form_per_serial(consultation, people):
    from app.services.responses import new_response

    def stored(state="accepted"):
        response = new_response(consultation, channel="paper", source="import",
                                municipality_code="14039", theme_codes=["security"],
                                answers={}, form_serial="14039-000012")
        response.state = state
        return response

    db.session.add_all([stored("voided"), stored("voided"), stored()])
    db.session.commit()
    db.session.add(stored())
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_no_batches_nor_keying_in_a_draft(make_consultation, people):
    """Issue 18, 10: a draft's structure was frozen by forms printed or keyed by direct URL."""
    draft = make_consultation()
    paper.create_batch(draft, "14039", 2, actor=people.boss)
    draft.is_draft = True
    db.session.commit()
    with pytest.raises(DomainError, match="is a draft: publish it"):
        paper.create_batch(draft, "14039", 2, actor=people.boss)
    with pytest.raises(DomainError, match="is a draft: publish it"):
        key(draft, "14039-000001", people.gdl1)
    assert count(PaperKeying) == 0


def test_counters(consultation, people):
    batch = paper.batch_of(consultation, "14039-000001")
    assert paper.remaining_in_batch(consultation, batch) == 20
    key(consultation, "14039-000001", people.gdl1)
    key(consultation, "14039-000001", people.gdl2)
    key(consultation, "14039-000002", people.gdl1)
    key(consultation, "14039-000002", people.gdl2, q_age="99")
    key(consultation, "14039-000003", people.gdl1)
    assert paper.keyed_today(consultation, people.gdl1) == 3
    assert paper.keyed_today(consultation, people.gdl2) == 2
    # One accepted, one waiting for a supervisor: 18 still to key.
    assert paper.remaining_in_batch(consultation, batch) == 18
