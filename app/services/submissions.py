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
from typing import Any, NamedTuple

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from itsdangerous import BadSignature, Signer
from werkzeug.datastructures import MultiDict

from app.database import (
    bind_converter,
    driver_sql,
    driver_statement,
    driver_write,
    write_transaction,
)
from app.extensions import db
from app.i18n import localized
from app.models import Consultation, Question, Response
from app.models.response import theme_pattern
from app.nul import NUL
from app.services.errors import DomainError
from app.services.geography import is_municipality
from app.services.public_form import ConsultationCopy, version_key, version_row_key
from app.services.responses import answer_rows, chosen_theme_ids, new_receipt_code
from app.util import local_today, utcnow

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


def database_down_errors() -> tuple[type[BaseException], ...]:
    """Return the exceptions of a database that cannot take the answer right now: unreachable
    (PostgreSQL refused or closed the connection, the pool timed out) or unable to write
    (SQLite's "database or disk is full", "database is locked" past its timeout, PostgreSQL's
    disk full). The driver's OperationalError covers them (psycopg's DiskFull is one), and
    SQLAlchemy's wrappers when the ORM session met them. Nothing of the answer was stored: a
    statement or transaction is whole or not at all."""
    from sqlalchemy import exc

    return (db.engine.dialect.dbapi.OperationalError, exc.OperationalError,
            exc.TimeoutError, exc.DisconnectionError)


def not_stored_message() -> str:
    return _("We could not save your answer: nothing was stored. Your answers are kept below; "
             "please try again in a moment.")


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


class TokenResponse(NamedTuple):
    id: int
    receipt_code: str


BY_TOKEN = ("SELECT id, receipt_code FROM response "
            "WHERE consultation_id = ? AND submission_token = ?")


def response_for_token(consultation: Consultation | ConsultationCopy,
                       token: str) -> TokenResponse | None:
    """Return the id and receipt code of the response already stored with this token, if any
    (read afresh on a driver connection, outside any transaction the request's session may
    hold: store() asks right after its own insert failed on the token)."""
    row = driver_statement(BY_TOKEN, (consultation.id, token))
    return None if row is None else TokenResponse(*row)


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
    # Codes of the text questions whose posted answer held NUL (removed from the kept text).
    nul_answers: set[str] = field(default_factory=set)
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
    # NUL cannot be stored (PostgreSQL) nor typed: it is never kept (app/nul.py). A text
    # answer that held one is a problem of its question (read_form notes it); in a code (a
    # municipality, a theme, an option) it is only dropped.
    return value[:MAX_KEPT_LENGTH].replace(NUL, "")


def read_form(consultation: Consultation, form: MultiDict) -> FormValues:
    """Read the posted fields of the answer form, without judging them."""
    values = FormValues(
        municipality=_kept(form.get("municipality", "")).strip(),
        consent=form.get("consent") == "y",
        website=_kept(form.get("website", "")),
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
        raw = form.getlist(f"q_{question.code}")
        posted = [_kept(v) for v in raw]
        if question.type == "text" and any(NUL in v for v in raw):
            values.nul_answers.add(question.code)
        if question.type == "text":
            # Browsers send line breaks as CRLF; count and store them as one character.
            posted = [v.replace("\r\n", "\n") for v in posted]
        values.answers[question.code] = posted
    return values


def validate(consultation: Consultation, values: FormValues) -> tuple[Cleaned | None,
                                                                      list[Problem]]:
    """Return the cleaned answer and an empty list, or None and every problem found."""
    problems: list[Problem] = []
    # Labels and messages are translated only for a problem found: most answers have none.
    if not values.municipality:
        problems.append(Problem("municipality", "municipality",
                                _("Municipality where you live"),
                                _("Choose your municipality.")))
    elif not is_municipality(values.municipality):
        problems.append(Problem("municipality", "municipality",
                                _("Municipality where you live"),
                                _("\"%(value)s\" is not a municipality of Jalisco. Choose one "
                                  "from the list.", value=values.municipality)))
    theme_codes = _validate_themes(consultation, values, problems)
    answers: dict[str, Any] = {}
    for question in consultation.questions:
        answers[question.code] = _validate_question(
            question, values.answers.get(question.code, []), problems,
            nul_found=question.code in values.nul_answers,
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
    low, high = consultation.theme_min, consultation.theme_max
    first_anchor = "theme_1" if consultation.theme_ranked else (
        f"themes-{consultation.themes[0].code}" if consultation.themes else "themes")

    def add(key: str, anchor: str, message: str) -> None:
        # The full theme question is long; the summary names the field briefly.
        problems.append(Problem(key, anchor, _("Themes"), message))

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
                       problems: list[Problem], nul_found: bool = False) -> Any:
    key = f"q_{question.code}"

    def add(message: str, anchor: str = key) -> None:
        # The label in the visitor's language, looked up only when there is a problem.
        problems.append(Problem(key, anchor, localized(question.label), message))

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
    if nul_found:
        add(_("This text held a character that cannot be stored (NUL), often pasted with text "
              "from another program. It was removed: check your answer and send it again."))
        return None
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
    response_id: int
    replayed: bool  # True when the token had already been used: nothing new was stored
    receipt_code: str


class _NotCurrent(Exception):
    """The answer cannot be stored against the copy it was checked against: the stored
    version is another one, or the copy does not take answers today (the stored consultation
    says which)."""


def store(consultation: Consultation | ConsultationCopy, token: str,
          cleaned: Cleaned) -> Stored:
    """Store the answer with its one-time token in one transaction; a used token stores nothing.

    `consultation` is the model or the public form's copy (public_form.py) that `cleaned`
    was validated against. Raise ConsultationNotOpen when the consultation does not take
    online answers today, and FormChanged when it was edited since it was read.

    The rows are the ones new_response builds, written on the driver's own connection
    (app/database.py), only while the stored version is the one the answer was checked
    against: on PostgreSQL in one statement, on SQLite in a transaction that reads the
    version under the write lock, then inserts the response, its themes and its answers.
    Through the ORM session the same work took half of a submission's time.
    """
    theme_ids = chosen_theme_ids(consultation, cleaned.theme_codes)
    answers = answer_rows(consultation, cleaned.answers)
    if db.session.registry.has() and db.session().in_transaction():
        # End what the request's session was reading, as write_transaction does, so that it
        # sees the new response afterwards (a SQLite reader keeps its snapshot until then).
        db.session.commit()
    for _attempt in range(3):
        receipt_code = new_receipt_code()
        try:
            if unavailable_reason(consultation):
                raise _NotCurrent
            # The unique token is checked by the insert itself, in its transaction.
            response_id = _insert_if_current(consultation, cleaned.municipality_code,
                                             receipt_code, token, theme_ids, answers)
            return Stored(response_id, replayed=False, receipt_code=receipt_code)
        except _NotCurrent:
            # Edited, closed or unpublished since the form was read: say which.
            with write_transaction() as session:
                current = session.get(Consultation, consultation.id)
                reason = unavailable_reason(current) if current else _closed_message()
            if reason:
                raise ConsultationNotOpen(reason) from None
            raise FormChanged(token_message()) from None
        except db.engine.dialect.dbapi.IntegrityError:
            # Rolled back. A used token: show the response already stored. Otherwise it was
            # a (very unlikely) receipt code collision: try again with a new code.
            existing = response_for_token(consultation, token)
            if existing is not None:
                return Stored(existing.id, replayed=True, receipt_code=existing.receipt_code)
    raise RuntimeError("Could not store the response after three attempts.")


RESPONSE_COLUMNS = ("consultation_id, channel, source, municipality_code, submitted_at, "
                    "submitted_on, state, receipt_code, submission_token, theme_pattern")
VERSION_BY_ID = "SELECT id, version, updated_at FROM consultation WHERE id = ?"
INSERT_RESPONSE = (f"INSERT INTO response ({RESPONSE_COLUMNS}) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id")
INSERT_THEME = "INSERT INTO response_theme (response_id, theme_id, position) VALUES (?, ?, ?)"
INSERT_ANSWER = ("INSERT INTO answer (response_id, question_id, option_id, text_value, "
                 "number_value) VALUES (?, ?, ?, ?, ?)")
# PostgreSQL: the same rows in one statement, inserted only while the consultation row is at
# the answer's version: one round trip, where the transaction took six (BEGIN, the version,
# the three inserts, COMMIT).
# The themes and answers come as arrays, one per column; their foreign keys are checked at
# the end of the statement, when the response is there.
INSERT_IF_CURRENT_POSTGRESQL = (
    f"WITH stored AS (INSERT INTO response ({RESPONSE_COLUMNS}) "
    "SELECT id, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM consultation "
    "WHERE id = ? AND version = ? AND updated_at = ? RETURNING id), "
    "themes AS (INSERT INTO response_theme (response_id, theme_id, position) "
    "SELECT stored.id, chosen.theme_id, chosen.position FROM stored, "
    "unnest(CAST(? AS integer[])) WITH ORDINALITY AS chosen(theme_id, position)), "
    "answers AS (INSERT INTO answer (response_id, question_id, option_id, text_value, "
    "number_value) SELECT stored.id, given.* FROM stored, unnest(CAST(? AS integer[]), "
    "CAST(? AS integer[]), CAST(? AS text[]), CAST(? AS double precision[])) "
    "AS given(question_id, option_id, text_value, number_value)) "
    "SELECT id FROM stored")


def _insert_if_current(consultation: Consultation | ConsultationCopy, municipality_code: str,
                       receipt_code: str, token: str, theme_ids: list[int],
                       answers: list[tuple]) -> int:
    """Insert an online response, its themes and its answers while the consultation's stored
    version is `consultation`'s (else raise _NotCurrent); return the response's id.

    The same rows as new_response builds and the ORM would store (dates and times converted
    as SQLAlchemy converts them, see bind_converter)."""
    columns = Response.__table__.c
    response = (
        CHANNEL, CHANNEL, municipality_code,
        bind_converter(columns.submitted_at)(utcnow()),
        # The local date: consultation dates are days in America/Mexico_City.
        bind_converter(columns.submitted_on)(local_today()),
        "accepted", receipt_code, token, theme_pattern(theme_ids))
    if db.engine.dialect.name == "postgresql":
        question_ids, option_ids, texts, numbers = (
            [list(column) for column in zip(*answers, strict=True)] if answers
            else ([], [], [], []))
        row = driver_statement(INSERT_IF_CURRENT_POSTGRESQL, (
            *response, *_version_parameters(consultation), theme_ids,
            question_ids, option_ids, texts, numbers))
        if row is None:
            raise _NotCurrent
        return row[0]
    with driver_write() as cursor:
        # Read the version again under the write lock: an edit, closing or unpublishing a
        # moment ago moved it.
        cursor.execute(driver_sql(VERSION_BY_ID), (consultation.id,))
        row = cursor.fetchone()
        if row is None or version_row_key(row) != version_key(consultation):
            raise _NotCurrent
        cursor.execute(driver_sql(INSERT_RESPONSE), (consultation.id, *response))
        response_id = cursor.fetchone()[0]
        if theme_ids:
            cursor.executemany(driver_sql(INSERT_THEME), [
                (response_id, theme_id, position)
                for position, theme_id in enumerate(theme_ids, start=1)])
        if answers:
            cursor.executemany(driver_sql(INSERT_ANSWER),
                               [(response_id, *answer) for answer in answers])
    return response_id


def _version_parameters(consultation: Consultation | ConsultationCopy) -> tuple:
    consultation_id, version, updated_at = version_key(consultation)
    return (consultation_id, version,
            bind_converter(Consultation.__table__.c.updated_at)(updated_at))
