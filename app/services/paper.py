"""Paper questionnaires: double keying, corrections, discrepancies and their settling, voiding.

Every write runs in write_transaction() and leans on unique constraints (partial: only the
rows not voided count), so two people saving the same form at the same moment cannot both
win. Batches of serials are in app.services.paper_batches, counters and progress in
app.services.paper_progress; both are re-exported here, so `paper.create_batch` and
`paper.progress` keep working.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from app.database import write_transaction
from app.extensions import db
from app.models import (
    Consultation,
    Municipality,
    PaperKeying,
    PaperResolution,
    Response,
    User,
)
from app.services import audit
from app.services.errors import DomainError
from app.services.paper_batches import (  # noqa: F401 - re-exported
    MAX_BATCH,
    SERIAL,
    batch_of,
    batches,
    check_published,
    check_scope,
    create_batch,
    format_serial,
    get_batch,
    parse_serial,
)
from app.services.paper_progress import (  # noqa: F401 - re-exported
    PROGRESS_COLUMNS,
    ProgressRow,
    keyed_today,
    live_resolution_exists,
    progress,
    region_totals,
    remaining_in_batch,
    today_start_utc,
)
from app.services.responses import new_receipt_code, new_response
from app.util import utcnow

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


def _live_keyings(consultation_id: int, serial: str):
    """The query of a form's keyings that are not voided, first pass first."""
    return db.select(PaperKeying).where(
        PaperKeying.consultation_id == consultation_id, PaperKeying.serial == serial,
        PaperKeying.voided_at.is_(None)).order_by(PaperKeying.pass_number)


def _live_response(session, consultation_id: int, serial: str) -> Response | None:
    """The stored form of a serial that is not voided (at most one: a partial unique index)."""
    return session.scalar(db.select(Response).where(
        Response.consultation_id == consultation_id, Response.form_serial == serial,
        Response.state != "voided"))


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
    check_published(consultation)
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
        ~live_resolution_exists(consultation.id, PaperKeying.serial))
    codes = actor.municipality_codes()
    if codes is not None:
        query = query.where(PaperKeying.municipality_code.in_(codes))
    return list(db.session.scalars(query.order_by(PaperKeying.created_at)))


def keyings(consultation: Consultation, serial: str, actor: User) -> list[PaperKeying]:
    """Return both live keyings of a form (the supervisor's view of a discrepancy)."""
    municipality, _sequence = parse_serial(serial)
    check_scope(actor, municipality)
    return list(db.session.scalars(_live_keyings(consultation.id, serial)))


def is_resolved(consultation: Consultation, serial: str) -> bool:
    return bool(db.session.scalar(db.select(live_resolution_exists(consultation.id, serial))))


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
    check_scope(actor, municipality)
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
            if session.scalar(db.select(live_resolution_exists(consultation_id, serial))):
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
        check_scope(actor, response.municipality_code if response is not None
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
