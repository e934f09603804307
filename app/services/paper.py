"""Paper questionnaires: batches of serials, double keying, discrepancies, progress.

Every write runs in write_transaction() and leans on unique constraints, so two people
saving the same form at the same moment cannot both win.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, case, func, literal, or_
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from app.database import write_transaction
from app.extensions import db
from app.models import (
    Consultation,
    Municipality,
    PaperBatch,
    PaperKeying,
    PaperResolution,
    Region,
    Response,
    User,
)
from app.services import audit
from app.services.errors import DomainError, OutOfScope
from app.services.responses import new_receipt_code, new_response
from app.util import CONSULTATION_TZ, local_today, utcnow

SERIAL = re.compile(r"^(\d{5})-(\d{6})$")
MAX_BATCH = 5000
BLANK = None
ILLEGIBLE = {"mark": "illegible"}


class AlreadyKeyedByYou(DomainError):
    """The actor keyed this form already; `correctable` when their keying may still be replaced."""

    def __init__(self, message: str, correctable: bool):
        super().__init__(message)
        self.correctable = correctable


class KeyingInvalid(DomainError):
    """The typed form has problems; `fields` maps a field to its message."""

    def __init__(self, message: str, fields: dict[str, str]):
        super().__init__(message, list(fields.values()))
        self.fields = fields


def format_serial(municipality_code: str, sequence: int) -> str:
    return f"{municipality_code}-{sequence:06d}"


def parse_serial(serial: str) -> tuple[str, int]:
    """Return (municipality code, sequence) of a serial such as 14039-000123."""
    match = SERIAL.match((serial or "").strip())
    if not match:
        raise DomainError(_("\"%(serial)s\" is not a form serial: it looks like 14039-000123 "
                            "(municipality code, dash, six digits).", serial=serial[:40]))
    return match.group(1), int(match.group(2))


def _check_scope(actor: User, municipality_code: str) -> None:
    if not actor.may_work_on(municipality_code):
        raise OutOfScope(_("Your account may not work on municipality %(code)s.",
                           code=municipality_code))


def _check_published(consultation: Consultation) -> None:
    """Refuse paper work on a draft: a printed or keyed form would freeze its structure."""
    if consultation.is_draft:
        raise DomainError(_("This consultation is a draft: publish it before printing, keying "
                            "or importing forms."))


def _live_keyings(consultation_id: int, serial: str):
    """The query of a form's keyings that are not voided, first pass first."""
    return db.select(PaperKeying).where(
        PaperKeying.consultation_id == consultation_id, PaperKeying.serial == serial,
        PaperKeying.voided_at.is_(None)).order_by(PaperKeying.pass_number)


def _live_resolution_exists(consultation_id: int, serial):
    return db.select(PaperResolution.id).where(
        PaperResolution.consultation_id == consultation_id, PaperResolution.serial == serial,
        PaperResolution.voided_at.is_(None)).exists()


def _live_response(session, consultation_id: int, serial: str) -> Response | None:
    """The stored form of a serial that is not voided (at most one: a partial unique index)."""
    return session.scalar(db.select(Response).where(
        Response.consultation_id == consultation_id, Response.form_serial == serial,
        Response.state != "voided"))


# Batches ------------------------------------------------------------------------------------


def create_batch(consultation: Consultation, municipality_code: str, count: int, *,
                 actor: User) -> PaperBatch:
    """Issue `count` new serials for a municipality, continuing from its last batch."""
    if db.session.get(Municipality, municipality_code) is None:
        raise DomainError(_("Unknown municipality %(code)s.", code=municipality_code))
    _check_scope(actor, municipality_code)
    if not 1 <= count <= MAX_BATCH:
        raise DomainError(_("A batch has from 1 to %(max)d forms.", max=MAX_BATCH))
    if "paper" not in consultation.channels:
        raise DomainError(_("This consultation does not take paper forms."))
    _check_published(consultation)
    consultation_id = consultation.id
    try:
        with write_transaction() as session:
            last = session.scalar(db.select(func.max(PaperBatch.last_sequence)).where(
                PaperBatch.consultation_id == consultation_id,
                PaperBatch.municipality_code == municipality_code)) or 0
            if last + count > 999_999:
                raise DomainError(_("Municipality %(code)s has no serials left.",
                                    code=municipality_code))
            batch = PaperBatch(consultation_id=consultation_id,
                               municipality_code=municipality_code, first_sequence=last + 1,
                               last_sequence=last + count, count=count, created_by_id=actor.id,
                               created_at=utcnow())
            session.add(batch)
            session.flush()
            audit.record("paper.batch_created", actor=actor, object_type="paper_batch",
                         object_id=batch.id, municipality=municipality_code, count=count,
                         first=format_serial(municipality_code, last + 1),
                         last=format_serial(municipality_code, last + count))
    except IntegrityError:
        db.session.rollback()
        raise DomainError(_("Another batch for this municipality was created at the same "
                            "moment; try again.")) from None
    return batch


def batches(consultation: Consultation, actor: User) -> list[PaperBatch]:
    """Return the batches of a consultation for the municipalities the actor may see."""
    query = db.select(PaperBatch).where(PaperBatch.consultation_id == consultation.id)
    codes = actor.municipality_codes()
    if codes is not None:
        query = query.where(PaperBatch.municipality_code.in_(codes))
    return list(db.session.scalars(query.order_by(PaperBatch.created_at.desc(),
                                                  PaperBatch.id.desc())))


def get_batch(consultation: Consultation, batch_id: int, actor: User) -> PaperBatch:
    batch = db.session.get(PaperBatch, batch_id)
    if batch is None or batch.consultation_id != consultation.id:
        raise DomainError(_("No batch %(id)d in this consultation.", id=batch_id))
    _check_scope(actor, batch.municipality_code)
    return batch


def batch_of(consultation: Consultation, serial: str) -> PaperBatch | None:
    """Return the batch that issued a serial, or None when the app did not issue it."""
    try:
        municipality, sequence = parse_serial(serial)
    except DomainError:
        return None
    return db.session.scalar(db.select(PaperBatch).where(
        PaperBatch.consultation_id == consultation.id,
        PaperBatch.municipality_code == municipality,
        PaperBatch.first_sequence <= sequence, PaperBatch.last_sequence >= sequence))


# Keying -------------------------------------------------------------------------------------


def fields(consultation: Consultation) -> list[str]:
    """Return the fields of a paper form, in paper order."""
    return ["themes", *(q.code for q in consultation.questions)]


def parse_keying(consultation: Consultation, form: dict[str, Any]) -> dict[str, Any]:
    """Turn the entry form into {field: value}; raise KeyingInvalid with a message per field.

    Values: themes -> codes in priority order; single -> code; multiple -> codes; number;
    text; None for a blank answer and {"mark": "illegible"} for an illegible one.
    """
    errors: dict[str, str] = {}
    answers: dict[str, Any] = {}
    get = form.get

    # Themes: each box holds the priority number written on paper (or nothing).
    if get("themes_mark") == "illegible":
        answers["themes"] = ILLEGIBLE
    else:
        numbered: dict[int, str] = {}
        for theme in consultation.themes:
            raw = (get(f"theme_{theme.code}") or "").strip()
            if not raw:
                continue
            if not raw.isdigit() or not 1 <= int(raw) <= consultation.theme_max:
                errors["themes"] = _("Priority numbers go from 1 to %(max)d (\"%(value)s\" for "
                                     "%(theme)s).", max=consultation.theme_max, value=raw[:10],
                                     theme=theme.code)
                break
            if int(raw) in numbered:
                errors["themes"] = _("Priority %(n)s is written on two themes; if the paper "
                                     "says so, mark the themes as illegible.", n=raw)
                break
            numbered[int(raw)] = theme.code
        answers["themes"] = [numbered[n] for n in sorted(numbered)] or BLANK

    for question in consultation.questions:
        code = question.code
        if question.type == "single":
            raw = (get(f"q_{code}") or "").strip()
            if raw == "blank":
                answers[code] = BLANK
            elif raw == "illegible":
                answers[code] = ILLEGIBLE
            elif raw in question.option_by_code():
                answers[code] = raw
            else:
                errors[code] = _("Choose an option, \"blank\" or \"illegible\".")
        elif question.type == "multiple":
            chosen = form.getlist(f"q_{code}") if hasattr(form, "getlist") else get(
                f"q_{code}") or []
            if isinstance(chosen, str):
                chosen = [chosen]
            if "illegible" in chosen:
                answers[code] = ILLEGIBLE
            else:
                options = [o.code for o in question.options if o.code in chosen]
                unknown = [c for c in chosen if c not in question.option_by_code()]
                if unknown:
                    errors[code] = _("Unknown option \"%(value)s\".", value=unknown[0][:40])
                answers[code] = options or BLANK
        else:
            raw = (get(f"q_{code}") or "").strip()
            if raw == "?":
                answers[code] = ILLEGIBLE
            elif not raw:
                answers[code] = BLANK
            elif question.type == "number":
                try:
                    number = float(raw)
                except ValueError:
                    errors[code] = _("Type a number, ? if illegible, or leave it empty if "
                                     "blank.")
                    continue
                if (question.min_value is not None and number < question.min_value) or (
                        question.max_value is not None and number > question.max_value):
                    errors[code] = _("Outside %(low)s to %(high)s: check the paper; type ? if "
                                     "it cannot be read.", low=_plain(question.min_value),
                                     high=_plain(question.max_value))
                    continue
                answers[code] = int(number) if number.is_integer() else number
            else:
                if question.max_length and len(raw) > question.max_length:
                    errors[code] = _("At most %(max)d characters.", max=question.max_length)
                    continue
                answers[code] = raw
    if errors:
        raise KeyingInvalid(_("The form was not saved: correct the marked fields."), errors)
    return answers


def form_values(consultation: Consultation, answers: dict[str, Any]) -> MultiDict:
    """Return the entry form's fields that parse_keying turns back into these answers."""
    items: list[tuple[str, str]] = []
    themes = answers.get("themes")
    if isinstance(themes, dict):
        items.append(("themes_mark", "illegible"))
    elif isinstance(themes, list):
        items += [(f"theme_{code}", str(position)) for position, code in enumerate(themes, 1)]
    for question in consultation.questions:
        name, value = f"q_{question.code}", answers.get(question.code)
        if isinstance(value, dict):
            items.append((name, "?" if question.type in ("text", "number") else "illegible"))
        elif value is None:
            items.append((name, "blank" if question.type == "single" else ""))
        elif isinstance(value, list):
            items += [(name, str(code)) for code in value]
        else:
            items.append((name, str(value)))
    return MultiDict(items)


def _plain(value: float | None) -> str:
    if value is None:
        return "…"
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass
class KeyingOutcome:
    """What happened to a keyed form: first pass stored, accepted, or in discrepancy."""

    status: str  # "first", "accepted", "discrepancy"
    serial: str
    pass_number: int
    differing: list[str] = field(default_factory=list)


def check_serial(consultation: Consultation, serial: str, actor: User) -> tuple[str, str]:
    """Return (serial, municipality) of a typed serial the actor may key, or raise DomainError.

    A serial of a municipality outside the actor's account is a typing error on this screen
    (a message next to the serial, never a 403): the paper in their hands says otherwise.
    """
    _check_published(consultation)
    serial = (serial or "").strip().upper()
    municipality, _sequence = parse_serial(serial)
    if db.session.get(Municipality, municipality) is None or (
            actor.may_work_on(municipality) and batch_of(consultation, serial) is None):
        raise DomainError(_("Serial %(serial)s was not issued for this consultation: check the "
                            "number on the paper.", serial=serial))
    if not actor.may_work_on(municipality):
        raise DomainError(_("Serial %(serial)s belongs to municipality %(code)s, which your "
                            "account may not work on: check the number on the paper.",
                            serial=serial, code=municipality))
    return serial, municipality


def submit_keying(consultation: Consultation, serial: str, answers: dict[str, Any], *,
                  actor: User) -> KeyingOutcome:
    """Store one keying of a paper form; accept the form when the two keyings agree."""
    serial, municipality = check_serial(consultation, serial, actor)
    consultation_id = consultation.id
    try:
        with write_transaction() as session:
            consultation = session.get(Consultation, consultation_id)
            if _live_response(session, consultation_id, serial) is not None:
                raise DomainError(_("Form %(serial)s was already accepted; nothing was "
                                    "changed. A correction goes through voiding it.",
                                    serial=serial))
            existing = list(session.scalars(_live_keyings(consultation_id, serial)))
            needed = 2 if consultation.double_entry else 1
            if any(k.keyed_by_id == actor.id for k in existing):
                raise AlreadyKeyedByYou(
                    _("You already keyed form %(serial)s: the second keying must be done by "
                      "another person.", serial=serial),
                    correctable=len(existing) == 1 and needed == 2)
            if len(existing) >= needed:
                raise DomainError(_("Form %(serial)s was already keyed twice and waits for a "
                                    "supervisor.", serial=serial))
            pass_number = len(existing) + 1
            keying = PaperKeying(consultation_id=consultation_id, serial=serial,
                                 municipality_code=municipality, pass_number=pass_number,
                                 keyed_by_id=actor.id, answers=answers, created_at=utcnow())
            differing: list[str] = []
            if pass_number == 2:
                first = existing[0].answers
                differing = [f for f in fields(consultation) if first.get(f) != answers.get(f)]
                keying.mismatch = bool(differing)
            session.add(keying)
            session.flush()
            status = "first"
            if pass_number == needed and not differing:
                _accept(session, consultation, serial, municipality, answers)
                status = "accepted"
            elif differing:
                status = "discrepancy"
            audit.record("paper.keyed", actor=actor, object_type="paper_form", object_id=serial,
                         consultation=consultation.slug, pass_number=pass_number, status=status,
                         differing=differing)
    except IntegrityError:
        db.session.rollback()
        raise DomainError(_("Someone else saved form %(serial)s at the same moment; nothing "
                            "was stored. Type the serial again to see where it stands.",
                            serial=serial)) from None
    return KeyingOutcome(status, serial, pass_number, differing)


def correct_keying(consultation: Consultation, serial: str, answers: dict[str, Any],
                   reason: str, *, actor: User) -> KeyingOutcome:
    """Replace the actor's own first keying of a form before anyone keyed it a second time.

    The replaced keying is kept, voided with who, when and why; the new one takes pass 1.
    """
    serial, municipality = check_serial(consultation, serial, actor)
    reason = (reason or "").strip()
    if not reason:
        raise KeyingInvalid(_("The form was not saved: correct the marked fields."),
                            {"reason": _("Say what you are correcting.")})
    consultation_id = consultation.id
    try:
        with write_transaction() as session:
            consultation = session.get(Consultation, consultation_id)
            existing = list(session.scalars(_live_keyings(consultation_id, serial)))
            if (len(existing) != 1 or existing[0].keyed_by_id != actor.id
                    or _live_response(session, consultation_id, serial) is not None):
                raise DomainError(_("Only your own first keying of form %(serial)s can be "
                                    "corrected, before its second keying; otherwise a "
                                    "supervisor voids the form.", serial=serial))
            old = existing[0]
            old.voided_at, old.voided_by_id, old.void_reason = utcnow(), actor.id, reason
            session.flush()
            keying = PaperKeying(consultation_id=consultation_id, serial=serial,
                                 municipality_code=municipality, pass_number=1,
                                 keyed_by_id=actor.id, answers=answers, created_at=utcnow())
            session.add(keying)
            session.flush()
            audit.record("paper.keying_corrected", actor=actor, object_type="paper_form",
                         object_id=serial, consultation=consultation.slug, reason=reason,
                         replaced_keying=old.id, new_keying=keying.id,
                         before=old.answers, after=answers)
    except IntegrityError:
        db.session.rollback()
        raise DomainError(_("Someone else saved form %(serial)s at the same moment; nothing "
                            "was stored. Type the serial again to see where it stands.",
                            serial=serial)) from None
    return KeyingOutcome("first", serial, 1, [])


def _accept(session, consultation: Consultation, serial: str, municipality: str,
            answers: dict[str, Any]) -> Response:
    themes = answers.get("themes")
    response = new_response(
        consultation, channel="paper", source="entry", municipality_code=municipality,
        theme_codes=themes if isinstance(themes, list) else [],
        answers={code: (None if isinstance(value, dict) else value)
                 for code, value in answers.items() if code != "themes"},
        form_serial=serial, receipt_code=new_receipt_code())
    session.add(response)
    session.flush()
    return response


# Discrepancies ------------------------------------------------------------------------------


def discrepancies(consultation: Consultation, actor: User) -> list[PaperKeying]:
    """Return the second keyings that differ from the first and wait for a decision."""
    query = db.select(PaperKeying).where(
        PaperKeying.consultation_id == consultation.id, PaperKeying.pass_number == 2,
        PaperKeying.mismatch.is_(True), PaperKeying.voided_at.is_(None),
        ~_live_resolution_exists(consultation.id, PaperKeying.serial))
    codes = actor.municipality_codes()
    if codes is not None:
        query = query.where(PaperKeying.municipality_code.in_(codes))
    return list(db.session.scalars(query.order_by(PaperKeying.created_at)))


def keyings(consultation: Consultation, serial: str, actor: User) -> list[PaperKeying]:
    """Return both live keyings of a form (the supervisor's view of a discrepancy)."""
    municipality, _sequence = parse_serial(serial)
    _check_scope(actor, municipality)
    return list(db.session.scalars(_live_keyings(consultation.id, serial)))


def is_resolved(consultation: Consultation, serial: str) -> bool:
    return bool(db.session.scalar(db.select(_live_resolution_exists(consultation.id, serial))))


def differing_fields(consultation: Consultation, first: dict, second: dict) -> list[str]:
    return [f for f in fields(consultation) if first.get(f) != second.get(f)]


def resolve(consultation: Consultation, serial: str, decisions: dict[str, str], *,
            actor: User) -> Response:
    """Settle a discrepancy field by field ("first" or "second") and accept the form."""

    def settle(consultation, first, second):
        differing = differing_fields(consultation, first, second)
        missing = [f for f in differing if decisions.get(f) not in ("first", "second")]
        if missing:
            raise KeyingInvalid(_("Decide every field that differs."),
                                {f: _("Choose the first or the second keying, or type what "
                                      "the paper says.") for f in missing})
        answers = dict(first)
        chosen = {}
        for name in differing:
            value = first.get(name) if decisions[name] == "first" else second.get(name)
            answers[name] = value
            chosen[name] = {"choice": decisions[name], "value": value}
        return answers, chosen

    return _settle(consultation, serial, settle, None, actor=actor)


def resolve_typed(consultation: Consultation, serial: str, answers: dict[str, Any],
                  reason: str, *, actor: User) -> Response:
    """Settle a discrepancy with what the supervisor reads on the paper, and accept the form.

    `answers` come from parse_keying; every field is stored as the supervisor typed it, and
    the decision keeps, per field, both keyings' values next to the one typed, with the reason.
    """
    reason = (reason or "").strip()
    if not reason:
        raise KeyingInvalid(_("The form was not saved: correct the marked fields."),
                            {"reason": _("Say why neither keying matches the paper.")})

    def settle(consultation, first, second):
        chosen = {name: {"choice": "typed", "value": answers.get(name),
                         "first": first.get(name), "second": second.get(name)}
                  for name in fields(consultation)}
        return dict(answers), chosen

    return _settle(consultation, serial, settle, reason, actor=actor)


def _settle(consultation: Consultation, serial: str, settle, reason: str | None, *,
            actor: User) -> Response:
    """Accept a form in discrepancy with the answers settle(consultation, first, second) gives."""
    municipality, _sequence = parse_serial(serial)
    _check_scope(actor, municipality)
    consultation_id = consultation.id
    try:
        with write_transaction() as session:
            consultation = session.get(Consultation, consultation_id)
            pair = list(session.scalars(_live_keyings(consultation_id, serial)))
            if len(pair) != 2 or not pair[1].mismatch:
                raise DomainError(_("Form %(serial)s has no discrepancy to resolve.",
                                    serial=serial))
            if any(k.keyed_by_id == actor.id for k in pair):
                raise DomainError(_("You keyed form %(serial)s yourself: another supervisor "
                                    "must resolve it.", serial=serial))
            if session.scalar(db.select(_live_resolution_exists(consultation_id, serial))):
                raise DomainError(_("Form %(serial)s was already resolved.", serial=serial))
            answers, chosen = settle(consultation, pair[0].answers, pair[1].answers)
            response = _accept(session, consultation, serial, municipality, answers)
            resolution = PaperResolution(consultation_id=consultation_id, serial=serial,
                                         decisions=chosen, answers=answers,
                                         response_id=response.id, resolved_by_id=actor.id,
                                         resolved_at=utcnow(), reason=reason)
            session.add(resolution)
            session.flush()
            audit.record("paper.resolved", actor=actor, object_type="paper_form",
                         object_id=serial, consultation=consultation.slug, decisions=chosen,
                         first_keying=pair[0].id, second_keying=pair[1].id,
                         typed=reason is not None, reason=reason)
    except IntegrityError:
        db.session.rollback()
        raise DomainError(_("Form %(serial)s was resolved by someone else at the same moment.",
                            serial=serial)) from None
    return response


def void_form(consultation: Consultation, serial: str, reason: str, *,
              actor: User) -> Response | None:
    """Void a paper form wherever it stands (accepted, keyed once, in discrepancy).

    Everything is kept with who, when and why: the response (state 'voided'), its keyings and
    its resolution (voided_at set). The serial is then free to be keyed or imported again.
    Returns the voided response, or None when the form had only been keyed.
    """
    serial = (serial or "").strip().upper()
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give a reason for voiding the form."))
    consultation_id = consultation.id
    with write_transaction() as session:
        response = _live_response(session, consultation_id, serial)
        keyed = list(session.scalars(_live_keyings(consultation_id, serial)))
        resolutions = list(session.scalars(db.select(PaperResolution).where(
            PaperResolution.consultation_id == consultation_id,
            PaperResolution.serial == serial, PaperResolution.voided_at.is_(None))))
        if response is None and not keyed:
            raise DomainError(_("No stored or keyed form with serial %(serial)s.",
                                serial=serial))
        _check_scope(actor, response.municipality_code if response is not None
                     else keyed[0].municipality_code)
        now = utcnow()
        if response is not None:
            response.state, response.voided_at = "voided", now
            response.voided_by_id, response.void_reason = actor.id, reason
        for row in (*keyed, *resolutions):
            row.voided_at, row.voided_by_id, row.void_reason = now, actor.id, reason
        audit.record("paper.voided", actor=actor, object_type="paper_form", object_id=serial,
                     consultation=consultation.slug, reason=reason,
                     response=response.id if response is not None else None,
                     keyings=[k.id for k in keyed], resolutions=[r.id for r in resolutions])
    return response


# Counters and progress ----------------------------------------------------------------------


def today_start_utc() -> datetime:
    """Return the start of today in Mexico City as naive UTC, the way times are stored."""
    start = datetime.combine(local_today(), time.min, tzinfo=CONSULTATION_TZ)
    return start.astimezone(UTC).replace(tzinfo=None)


def keyed_today(consultation: Consultation, actor: User) -> int:
    """Return how many forms the actor keyed today (local date)."""
    return db.session.scalar(db.select(func.count(PaperKeying.id)).where(
        PaperKeying.consultation_id == consultation.id, PaperKeying.keyed_by_id == actor.id,
        PaperKeying.voided_at.is_(None), PaperKeying.created_at >= today_start_utc())) or 0


def remaining_in_batch(consultation: Consultation, batch: PaperBatch) -> int:
    """Return the forms of a batch still to key: not accepted and not waiting for a decision."""
    low = format_serial(batch.municipality_code, batch.first_sequence)
    high = format_serial(batch.municipality_code, batch.last_sequence)
    done = db.session.scalar(db.select(func.count(Response.id)).where(
        Response.consultation_id == consultation.id, Response.state != "voided",
        Response.form_serial.between(low, high)))
    waiting = db.session.scalar(db.select(func.count(PaperKeying.id)).where(
        PaperKeying.consultation_id == consultation.id, PaperKeying.pass_number == 2,
        PaperKeying.mismatch.is_(True), PaperKeying.voided_at.is_(None),
        PaperKeying.serial.between(low, high),
        ~_live_resolution_exists(consultation.id, PaperKeying.serial)))
    return batch.count - (done or 0) - (waiting or 0)


PROGRESS_COLUMNS = ("issued", "entered_once", "verified", "discrepancy", "accepted")


@dataclass
class ProgressRow:
    region_number: int
    region_name: str
    municipality_code: str
    municipality_name: str
    issued: int = 0
    entered_once: int = 0
    verified: int = 0
    discrepancy: int = 0
    accepted: int = 0


def progress(consultation: Consultation, actor: User, *, region: int | None = None,
             municipality: str | None = None) -> list[ProgressRow]:
    """Return, per municipality with any activity, the counts of the paper pipeline.

    issued: serials printed; entered_once: keyed once, waiting for the second keying;
    verified: second keying matched the first; discrepancy: keyings differ, no decision yet;
    accepted: accepted paper responses (keyed, adjudicated or imported).
    """
    cid = consultation.id
    counts: dict[str, dict[str, int]] = {}

    def add(rows, name):
        for code, value in rows:
            counts.setdefault(code, {})[name] = int(value or 0)

    add(db.session.execute(db.select(PaperBatch.municipality_code, func.sum(PaperBatch.count))
                           .where(PaperBatch.consultation_id == cid)
                           .group_by(PaperBatch.municipality_code)), "issued")
    resolved = _live_resolution_exists(cid, PaperKeying.serial)
    per_form = (db.select(PaperKeying.municipality_code.label("code"),
                          func.max(PaperKeying.pass_number).label("passes"),
                          func.max(case((and_(PaperKeying.mismatch.is_(True), ~resolved), 1),
                                        else_=0)).label("open"),
                          func.max(case((PaperKeying.mismatch.is_(True), 1), else_=0))
                          .label("differed"))
                .where(PaperKeying.consultation_id == cid, PaperKeying.voided_at.is_(None))
                .group_by(PaperKeying.municipality_code, PaperKeying.serial).subquery())
    # With single entry, a form keyed once is accepted at once: nothing waits for a second pass.
    once_expr = func.sum(case((per_form.c.passes == 1, 1), else_=0)) if consultation.double_entry \
        else literal(0)
    for code, once, verified, open_ in db.session.execute(db.select(
            per_form.c.code, once_expr,
            func.sum(case((and_(per_form.c.passes == 2, per_form.c.differed == 0), 1),
                          else_=0)),
            func.sum(per_form.c.open)).group_by(per_form.c.code)):
        counts.setdefault(code, {}).update(entered_once=int(once or 0),
                                           verified=int(verified or 0),
                                           discrepancy=int(open_ or 0))
    add(db.session.execute(db.select(Response.municipality_code, func.count(Response.id))
                           .where(Response.consultation_id == cid, Response.channel == "paper",
                                  Response.state == "accepted")
                           .group_by(Response.municipality_code)), "accepted")
    scope = actor.municipality_codes()
    query = db.select(Municipality.code, Municipality.name, Region.number, Region.name).join(
        Region, Region.number == Municipality.region_number).where(
        Municipality.code.in_(list(counts) or [""]))
    if scope is not None:
        query = query.where(Municipality.code.in_(scope))
    if region is not None:
        query = query.where(Region.number == region)
    if municipality:
        query = query.where(or_(Municipality.code == municipality,
                                Municipality.name == municipality))
    rows = []
    for code, name, number, region_name in db.session.execute(
            query.order_by(Region.number, Municipality.name)):
        rows.append(ProgressRow(number, region_name, code, name, **counts[code]))
    return rows


def region_totals(rows: list[ProgressRow]) -> list[ProgressRow]:
    """Sum the municipality rows of each region (the regional subtotals of the page)."""
    totals: dict[int, ProgressRow] = {}
    for row in rows:
        total = totals.setdefault(row.region_number, ProgressRow(
            row.region_number, row.region_name, "", ""))
        for name in PROGRESS_COLUMNS:
            setattr(total, name, getattr(total, name) + getattr(row, name))
    return list(totals.values())
