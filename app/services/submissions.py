"""Online answers: read and validate the public form, store one response per one-time token.

The form carries a one-time submission token, signed and bound to its consultation. The token
is stored in the unique column Response.submission_token in the same transaction as the
response, so a double click, a refresh, two tabs or a replayed POST store one response: the
second insert fails in the database (never a check-then-insert race) and the person sees the
thank-you page of the response already stored.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from itsdangerous import BadSignature, Signer
from sqlalchemy import bindparam, insert, inspect, select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from app.database import write_transaction
from app.extensions import db
from app.i18n import localized
from app.models import Answer, Consultation, Question, Response, ResponseTheme
from app.services.errors import DomainError
from app.services.geography import is_municipality
from app.services.public_form import ConsultationCopy, version_key
from app.services.responses import new_receipt_code, new_response
from app.util import local_today

CHANNEL = "online"
NUMBER_RE = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")
# A posted value longer than this is not kept for re-display (a text question's limit is far
# below it); the person still gets the "too long" message.
MAX_KEPT_LENGTH = 100_000


class ConsultationNotOpen(DomainError):
    """The consultation does not take online answers today."""


class InvalidToken(DomainError):
    """The hidden submission token is missing, forged or belongs to another consultation."""


class FormChanged(DomainError):
    """The consultation was edited between reading the form and storing it: check again."""


# --- one-time tokens ----------------------------------------------------------------------

def _signer(consultation: Consultation) -> Signer:
    # The salt binds a token to its consultation: one issued for another does not verify.
    return Signer(current_app.config["SECRET_KEY"], salt=f"submission:{consultation.id}")


def issue_token(consultation: Consultation) -> str:
    """Return a new unguessable one-time token for a form of this consultation."""
    return _signer(consultation).sign(secrets.token_urlsafe(18)).decode()


def check_token(consultation: Consultation, token: str | None) -> str:
    """Return the token if it was issued for this consultation; raise InvalidToken otherwise."""
    if not token or len(token) > 64:
        raise InvalidToken(token_message())
    try:
        _signer(consultation).unsign(token)
    except BadSignature:
        raise InvalidToken(token_message()) from None
    return token


def token_message() -> str:
    return _("This form was changed or has expired. Your answers are kept: check them and "
             "send them again.")


# Built once: building a statement costs more than running these on an index.
_BY_TOKEN = select(Response).where(Response.consultation_id == bindparam("consultation_id"),
                                   Response.submission_token == bindparam("token"))


def response_for_token(consultation: Consultation, token: str) -> Response | None:
    """Return the response already stored with this token, if any."""
    return db.session.scalar(_BY_TOKEN, {"consultation_id": consultation.id, "token": token})


# --- availability --------------------------------------------------------------------------

def takes_online_answers(consultation: Consultation) -> bool:
    return CHANNEL in (consultation.channels or [])


def unavailable_reason(consultation: Consultation) -> str | None:
    """Return why the consultation cannot be answered online today, or None when it can."""
    status = consultation.status(local_today())
    if not takes_online_answers(consultation):
        return _("This consultation is answered on paper only, not online.")
    if status == "upcoming":
        return _("This consultation is not open yet: answers are accepted from its opening "
                 "date.")
    if status != "open":
        return _closed_message()
    return None


def _closed_message() -> str:
    return _("This consultation is closed: answers are no longer accepted.")


# --- reading and validating the form --------------------------------------------------------

@dataclass
class FormValues:
    """What the person entered, kept as typed so the form can be shown again."""

    municipality: str = ""
    ranked: list[str] = field(default_factory=list)  # theme code per position 1..max
    themes: list[str] = field(default_factory=list)  # unranked choice
    answers: dict[str, list[str]] = field(default_factory=dict)  # question code -> values
    consent: bool = False
    website: str = ""
    extra_positions: list[str] = field(default_factory=list)  # theme_<n> beyond max (tampered)

    def answer(self, code: str) -> str:
        values = self.answers.get(code) or []
        return values[0] if values else ""


@dataclass
class Problem:
    """A validation message for one field; anchor is the id of the control to focus."""

    key: str
    anchor: str
    label: str
    message: str


@dataclass
class Cleaned:
    municipality_code: str
    theme_codes: list[str]
    answers: dict[str, Any]


def _kept(value: str) -> str:
    return value[:MAX_KEPT_LENGTH]


def read_form(consultation: Consultation, form: MultiDict) -> FormValues:
    """Read the posted fields of the answer form, without judging them."""
    values = FormValues(
        municipality=_kept(form.get("municipality", "")).strip(),
        consent=form.get("consent") == "y",
        website=form.get("website", ""),
    )
    if consultation.theme_ranked:
        values.ranked = [
            _kept(form.get(f"theme_{p}", "")).strip()
            for p in range(1, consultation.theme_max + 1)
        ]
        values.extra_positions = [
            value for key, value in form.items(multi=True)
            if key.startswith("theme_") and key[6:].isdigit()
            and int(key[6:]) > consultation.theme_max and value.strip()
        ]
    else:
        values.themes = [_kept(v).strip() for v in form.getlist("themes") if v.strip()]
    for question in consultation.questions:
        posted = [_kept(v) for v in form.getlist(f"q_{question.code}")]
        if question.type == "text":
            # Browsers send line breaks as CRLF; count and store them as one character.
            posted = [v.replace("\r\n", "\n") for v in posted]
        values.answers[question.code] = posted
    return values


def validate(consultation: Consultation, values: FormValues) -> tuple[Cleaned | None,
                                                                      list[Problem]]:
    """Return the cleaned answer and an empty list, or None and every problem found."""
    problems: list[Problem] = []
    municipality_label = _("Municipality where you live")
    if not values.municipality:
        problems.append(Problem("municipality", "municipality", municipality_label,
                                _("Choose your municipality.")))
    elif not is_municipality(values.municipality):
        problems.append(Problem("municipality", "municipality", municipality_label,
                                _("\"%(value)s\" is not a municipality of Jalisco. Choose one "
                                  "from the list.", value=values.municipality)))
    theme_codes = _validate_themes(consultation, values, problems)
    answers: dict[str, Any] = {}
    for question in consultation.questions:
        answers[question.code] = _validate_question(
            question, values.answers.get(question.code, []), problems
        )
    if not values.consent:
        problems.append(Problem("consent", "consent", _("Privacy notice"),
                                _("To send your answers, accept the privacy notice.")))
    if problems:
        return None, problems
    return Cleaned(values.municipality, theme_codes, answers), []


def _validate_themes(consultation: Consultation, values: FormValues,
                     problems: list[Problem]) -> list[str]:
    themes = consultation.theme_by_code()
    # The full theme question is long; the summary names the field briefly.
    label = _("Themes")
    low, high = consultation.theme_min, consultation.theme_max
    first_anchor = "theme_1" if consultation.theme_ranked else (
        f"themes-{consultation.themes[0].code}" if consultation.themes else "themes")

    def add(key: str, anchor: str, message: str) -> None:
        problems.append(Problem(key, anchor, label, message))

    if consultation.theme_ranked:
        chosen: list[str] = []
        seen: dict[str, int] = {}
        gap_reported = False
        for position, code in enumerate(values.ranked, start=1):
            key = f"theme_{position}"
            if not code:
                continue
            if code not in themes:
                add(key, key, _("\"%(value)s\" is not one of the themes.", value=code))
                continue
            if code in seen:
                add(key, key, _("You chose %(theme)s twice (also as priority %(position)d). "
                                "Choose each theme only once.",
                                theme=localized(themes[code].name), position=seen[code]))
                continue
            empty_before = [p for p in range(1, position) if not values.ranked[p - 1]]
            if empty_before and not gap_reported:
                gap_reported = True
                add(f"theme_{empty_before[0]}", f"theme_{empty_before[0]}",
                    _("Priority %(position)d is empty: fill the priorities in order, without "
                      "gaps.", position=empty_before[0]))
            seen[code] = position
            chosen.append(code)
        count = len([code for code in values.ranked if code]) + len(values.extra_positions)
    else:
        chosen = []
        for code in values.themes:
            anchor = f"themes-{code}" if code in themes else first_anchor
            if code not in themes:
                add("themes", anchor, _("\"%(value)s\" is not one of the themes.", value=code))
            elif code in chosen:
                add("themes", anchor, _("You chose %(theme)s twice. Choose each theme only "
                                        "once.", theme=localized(themes[code].name)))
            else:
                chosen.append(code)
        count = len(values.themes)
    if count < low:
        add("themes", first_anchor, ngettext("Choose at least %(num)d theme.",
                                        "Choose at least %(num)d themes.", low))
    elif count > high:
        add("themes", first_anchor, ngettext("Choose at most %(num)d theme.",
                                        "Choose at most %(num)d themes.", high))
    return chosen


def number_text(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def _validate_question(question: Question, posted: list[str],
                       problems: list[Problem]) -> Any:
    key = f"q_{question.code}"
    label = localized(question.label)

    def add(message: str, anchor: str = key) -> None:
        problems.append(Problem(key, anchor, label, message))

    if question.has_options:
        options = question.option_by_code()
        first = f"{key}-{question.options[0].code}" if question.options else key
        values = [v.strip() for v in posted if v.strip()]
        unknown = [v for v in values if v not in options]
        if unknown:
            add(_("\"%(value)s\" is not one of the options.", value=unknown[0]), first)
            return None
        if question.type == "single":
            if len(values) > 1:
                add(_("Choose only one option."), first)
                return None
            if not values:
                if question.required:
                    add(_("Choose an option."), first)
                return None
            return values[0]
        if len(set(values)) != len(values):
            add(_("An option was chosen twice."), first)
            return None
        if not values and question.required:
            add(_("Choose at least one option."), first)
        return values
    if len(posted) > 1:
        add(_("This question takes one answer."))
        return None
    raw = posted[0] if posted else ""
    if question.type == "number":
        text = raw.strip()
        if not text:
            if question.required:
                add(_("Enter a number."))
            return None
        if not NUMBER_RE.match(text):
            add(_("\"%(value)s\" is not a number. Write digits only, for example 35.",
                  value=text[:40]))
            return None
        number = float(text.replace(",", "."))
        low, high = question.min_value, question.max_value
        if (low is not None and number < low) or (high is not None and number > high):
            if low is not None and high is not None:
                add(_("Enter a number from %(min)s to %(max)s.", min=number_text(low),
                      max=number_text(high)))
            elif low is not None:
                add(_("Enter a number of at least %(min)s.", min=number_text(low)))
            else:
                add(_("Enter a number of at most %(max)s.", max=number_text(high)))
            return None
        return number
    text = raw.strip()
    if not text:
        if question.required:
            add(_("Write an answer."))
        return None
    if question.max_length and len(text) > question.max_length:
        add(_("Use at most %(max)d characters; this answer has %(count)d.",
              max=question.max_length, count=len(text)))
        return None
    return text


# --- storing --------------------------------------------------------------------------------

@dataclass
class Stored:
    # The response as stored. A new one is not attached to the session (it was inserted
    # directly, see _insert): read it, never add it.
    response: Response
    replayed: bool  # True when the token had already been used: nothing new was stored
    receipt_code: str = ""


def store(consultation: Consultation | ConsultationCopy, token: str,
          cleaned: Cleaned) -> Stored:
    """Store the answer with its one-time token in one transaction; a used token stores nothing.

    `consultation` is the model or the public form's copy (public_form.py) that `cleaned`
    was validated against. Raise ConsultationNotOpen when the consultation does not take
    online answers today, and FormChanged when it was edited since it was read.
    """
    consultation_id = consultation.id
    for _attempt in range(3):
        # Built before the write transaction: SQLite's write lock is held for the inserts only.
        response = new_response(
            consultation,
            channel=CHANNEL,
            source=CHANNEL,
            municipality_code=cleaned.municipality_code,
            theme_codes=cleaned.theme_codes,
            answers=cleaned.answers,
            # The local date: consultation dates are days in America/Mexico_City.
            submitted_on=local_today(),
            receipt_code=new_receipt_code(),
            submission_token=token,
        )
        try:
            with write_transaction() as session:
                # Read the version again under the write lock: an edit, closing or
                # unpublishing a moment ago moved it.
                stored_key = session.execute(_VERSION_BY_ID, {"id": consultation_id}).first()
                if stored_key is None or tuple(stored_key) != version_key(consultation):
                    # Edited, closed or unpublished since the form was read: say which.
                    current = session.get(Consultation, consultation_id)
                    reason = unavailable_reason(current) if current else _closed_message()
                    if reason:
                        raise ConsultationNotOpen(reason)
                    raise FormChanged(token_message())
                # The same version as the form's: its dates and channels are current.
                reason = unavailable_reason(consultation)
                if reason:
                    raise ConsultationNotOpen(reason)
                # The unique token is checked here, inside the transaction of the insert.
                _insert(session, response)
            return Stored(response, replayed=False, receipt_code=response.receipt_code)
        except IntegrityError:
            # Rolled back. A used token: show the response already stored. Otherwise it was
            # a (very unlikely) receipt code collision: try again with a new code.
            existing = response_for_token(consultation, token)
            if existing is not None:
                return Stored(existing, replayed=True, receipt_code=existing.receipt_code)
    raise RuntimeError("Could not store the response after three attempts.")


_VERSION_BY_ID = select(Consultation.id, Consultation.version, Consultation.updated_at).where(
    Consultation.id == bindparam("id"))


def _insert(session, response: Response) -> None:
    """Insert a response built by new_response, and its themes and answers, in 3 statements.

    The same rows as session.add() and flush() would store (column defaults apply alike),
    without the unit of work's bookkeeping, which took a third of a submission's time, and
    with one INSERT for all answers where the unit of work issues one per kind of answer.
    """
    values = _set_columns(response, Response)
    result = session.execute(insert(Response.__table__), values)
    response.id = result.inserted_primary_key[0]
    if response.themes:
        session.execute(insert(ResponseTheme.__table__), [
            {"response_id": response.id, "theme_id": t.theme_id, "position": t.position}
            for t in response.themes])
    if response.answers:
        session.execute(insert(Answer.__table__), [
            {"response_id": response.id, "question_id": a.question_id, "option_id": a.option_id,
             "text_value": a.text_value, "number_value": a.number_value}
            for a in response.answers])


def _set_columns(instance, model) -> dict[str, Any]:
    """Return the column values set on a new instance (the others get their defaults)."""
    state = inspect(instance)
    return {attr.key: state.dict[attr.key] for attr in model.__mapper__.column_attrs
            if attr.key in state.dict}
