"""A published consultation as its public form reads it: loaded once per version, then shared.

Every request of the answer form needs the consultation's whole questionnaire (themes,
questions, options). Loading it as ORM objects took 5–6 queries and most of a request's
time, for data that changes only when an administrator edits the consultation. So each app
process keeps a read-only copy of it per consultation, keyed by the consultation row's
optimistic-lock `version` and `updated_at`, and every request checks that key with one small
query first: an edit anywhere (the consultation's texts, dates, state, or a theme, question or
option, which touch the row: see builder._store and consultations.load_definition) moves the
version, and the very next request of any process loads the new questionnaire. The copy is
never served once the database holds another version.

The copy answers the same attribute names as the models (Consultation, Theme, Question,
Option) that the form's template and services read, so they accept either.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from flask import current_app

from app.database import driver_statement, result_converter
from app.extensions import db
from app.models import Consultation, Question, Response

CACHE_KEY = "consulta.public_forms"
# When the database last said each kept copy was current (time.monotonic()).
CHECKED_KEY = "consulta.public_forms_checked"


@dataclass(frozen=True)
class OptionCopy:
    id: int
    code: str
    label: dict
    position: int


@dataclass(frozen=True)
class QuestionCopy:
    id: int
    code: str
    type: str
    required: bool
    label: dict
    max_length: int | None
    min_value: float | None
    max_value: float | None
    position: int
    options: tuple[OptionCopy, ...]
    _by_code: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def has_options(self) -> bool:
        return self.type in ("single", "multiple")

    def option_by_code(self) -> dict[str, OptionCopy]:
        return self._by_code


@dataclass(frozen=True)
class ThemeCopy:
    id: int
    code: str
    name: dict
    position: int


@dataclass(frozen=True)
class ConsultationCopy:
    """What the public form reads of a consultation, as it was at `version`."""

    id: int
    slug: str
    version: int
    updated_at: datetime
    title: dict
    description: dict
    opens_on: date
    closes_on: date
    closed_early_on: date | None
    channels: list
    is_draft: bool
    theme_label: dict
    theme_min: int
    theme_max: int
    theme_ranked: bool
    themes: tuple[ThemeCopy, ...]
    questions: tuple[QuestionCopy, ...]
    _themes: dict = field(default_factory=dict, repr=False, compare=False)
    _questions: dict = field(default_factory=dict, repr=False, compare=False)

    # The same rules as the model's, not copies of them.
    effective_closes_on = Consultation.effective_closes_on
    status = Consultation.status
    is_open = Consultation.is_open

    @property
    def key(self) -> tuple:
        return (self.id, self.version, self.updated_at)

    def theme_by_code(self) -> dict[str, ThemeCopy]:
        return self._themes

    def question_by_code(self) -> dict[str, QuestionCopy]:
        return self._questions


def version_key(consultation: Any) -> tuple:
    """Return what identifies a consultation's stored state: it changes on every edit."""
    return (consultation.id, consultation.version, consultation.updated_at)


# The public form's reads run on the driver's own connection (app/database.py): through the
# session they cost several times the statement itself, on every visit.
VERSION_BY_SLUG = ("SELECT id, version, updated_at FROM consultation "
                   "WHERE slug = ? AND is_draft = ?")
# The thank-you page's one statement: the version, and the online response with that receipt
# code (NULL when there is none).
VERSION_AND_RECEIPT = (
    "SELECT consultation.id, consultation.version, consultation.updated_at, "
    "response.receipt_code, response.submitted_on FROM consultation "
    "LEFT OUTER JOIN response ON response.consultation_id = consultation.id "
    "AND response.receipt_code = ? AND response.channel = ? "
    "WHERE consultation.slug = ? AND consultation.is_draft = ?")


class Receipt(NamedTuple):
    receipt_code: str
    submitted_on: date


def version_row_key(row: tuple) -> tuple:
    """Return version_key's tuple from a driver row of (id, version, updated_at)."""
    return (row[0], row[1], result_converter(Consultation.__table__.c.updated_at)(row[2]))


def get_published(slug: str) -> ConsultationCopy | None:
    """Return the current copy of the published (non-draft) consultation slug, or None."""
    row = driver_statement(VERSION_BY_SLUG, (slug, False))
    if row is None:
        return None
    return _current(slug, version_row_key(row))


def kept(slug: str) -> ConsultationCopy | None:
    """Return the copy of consultation slug this process keeps, without checking that it is
    current: only for work that checks the version itself (submissions.store does)."""
    return current_app.extensions.get(CACHE_KEY, {}).get(slug)


def get_published_receipt(slug: str, receipt_code: str) -> tuple[ConsultationCopy | None,
                                                                  Receipt | None]:
    """Return the current copy of the published consultation slug (or None) and its online
    response with that receipt code (any letter case) as a Receipt (or None), in one
    statement."""
    row = driver_statement(VERSION_AND_RECEIPT, (receipt_code.upper(), "online", slug, False))
    if row is None:
        return None, None
    consultation = _current(slug, version_row_key(row))
    if row[3] is None:
        return consultation, None
    return consultation, Receipt(row[3], result_converter(Response.__table__.c.submitted_on)(
        row[4]))


def checked_copy(slug: str, within: float) -> ConsultationCopy | None:
    """Return the kept copy of slug if the database said it was current less than `within`
    seconds ago in this process, else None (and always None for `within` <= 0).

    Only for a page that nothing is stored from (app/public/fast.py): it may be that old.
    """
    if within <= 0:
        return None
    found = current_app.extensions.get(CACHE_KEY, {}).get(slug)
    checked_at = current_app.extensions.get(CHECKED_KEY, {}).get(slug)
    if found is None or checked_at is None or time.monotonic() - checked_at >= within:
        return None
    return found


def _current(slug: str, key: tuple) -> ConsultationCopy:
    """Return the kept copy of the consultation if it is at `key`, else load and keep it."""
    cache: dict[str, ConsultationCopy] = current_app.extensions.setdefault(CACHE_KEY, {})
    found = cache.get(slug)
    if found is None or found.key != key:
        found = _load(key[0])
        # One entry per slug: the cache holds at most one copy of each consultation.
        cache[slug] = found
    current_app.extensions.setdefault(CHECKED_KEY, {})[slug] = time.monotonic()
    return found


def _load(consultation_id: int) -> ConsultationCopy:
    consultation = db.session.scalar(
        db.select(Consultation)
        .where(Consultation.id == consultation_id)
        .options(db.selectinload(Consultation.themes),
                 db.selectinload(Consultation.questions).selectinload(Question.options))
        .execution_options(populate_existing=True)
    )
    return copy_of(consultation)


def copy_of(consultation: Consultation) -> ConsultationCopy:
    """Return a read-only copy of the consultation and its questionnaire."""
    themes = tuple(ThemeCopy(t.id, t.code, copy.deepcopy(t.name), t.position)
                   for t in consultation.themes)
    questions = []
    for q in consultation.questions:
        options = tuple(OptionCopy(o.id, o.code, copy.deepcopy(o.label), o.position)
                        for o in q.options)
        questions.append(QuestionCopy(
            q.id, q.code, q.type, q.required, copy.deepcopy(q.label), q.max_length,
            q.min_value, q.max_value, q.position, options,
            _by_code={o.code: o for o in options}))
    questions = tuple(questions)
    c = consultation
    return ConsultationCopy(
        id=c.id, slug=c.slug, version=c.version, updated_at=c.updated_at,
        title=copy.deepcopy(c.title), description=copy.deepcopy(c.description),
        opens_on=c.opens_on, closes_on=c.closes_on, closed_early_on=c.closed_early_on,
        channels=list(c.channels or []), is_draft=c.is_draft,
        theme_label=copy.deepcopy(c.theme_label), theme_min=c.theme_min,
        theme_max=c.theme_max, theme_ranked=c.theme_ranked, themes=themes,
        questions=questions, _themes={t.code: t for t in themes},
        _questions={q.code: q for q in questions})

