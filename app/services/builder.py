"""Build and run consultations on the web.

Every edit goes through one path: export the stored consultation as the JSON contract, change
that definition, check it with the same validate_definition as the file loader, refuse a
structural change once responses exist, then apply it with the loader's own code. So the web
builder and a definition file obey one set of rules.

Drafts may be incomplete (a missing translation, no theme yet, a choice question without
options yet); publishing requires the full contract.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from app.database import write_transaction
from app.extensions import db
from app.models import Consultation, Response, User
from app.services import audit
from app.services.consultations import (
    LANGUAGES,
    _apply,
    _structure,
    export_definition,
    response_count,
    validate_definition,
)
from app.services.errors import DomainError, InvalidDefinition, StructureLocked
from app.util import local_today, utcnow

KINDS = ("theme", "question", "option")


class StaleVersion(DomainError):
    """Someone else saved the consultation after this form was loaded."""


class NotFound(DomainError):
    """The consultation, theme, question or option does not exist."""


def response_counts() -> dict[int, int]:
    """Return the number of stored responses of each consultation that has any."""
    rows = db.session.execute(
        db.select(Response.consultation_id, db.func.count(Response.id))
        .group_by(Response.consultation_id)
    )
    return dict(rows.all())


# --- bilingual texts -------------------------------------------------------------------------

def _texts(data: dict) -> list[tuple[str, Any]]:
    """Return (where, text object) for every bilingual text of a definition."""
    found: list[tuple[str, Any]] = [
        ("title", data.get("title")), ("description", data.get("description")),
    ]
    tq = data.get("theme_question")
    if isinstance(tq, dict):
        found.append(("theme_question.label", tq.get("label")))
    for i, theme in enumerate(data.get("themes") or []):
        if isinstance(theme, dict):
            found.append((f"themes[{i + 1}].name", theme.get("name")))
    for i, question in enumerate(data.get("questions") or []):
        if not isinstance(question, dict):
            continue
        found.append((f"questions[{i + 1}].label", question.get("label")))
        for j, option in enumerate(question.get("options") or []):
            if isinstance(option, dict):
                found.append((f"questions[{i + 1}].options[{j + 1}].label", option.get("label")))
    return found


def _blank(value: Any) -> bool:
    return not isinstance(value, str) or not value.strip()


def missing_translations(data: dict) -> list[tuple[str, str]]:
    """Return (where, language) for each text present in one language but not another."""
    missing = []
    for where, text in _texts(data):
        if not isinstance(text, dict) or all(_blank(text.get(lang)) for lang in LANGUAGES):
            continue
        missing.extend((where, lang) for lang in LANGUAGES if _blank(text.get(lang)))
    return missing


def _filled(data: dict) -> dict:
    """Copy a definition with each missing translation borrowed from the other language."""
    filled = copy.deepcopy(data)
    for _where, text in _texts(filled):
        if not isinstance(text, dict):
            continue
        present = [text[lang] for lang in LANGUAGES if not _blank(text.get(lang))]
        if present:
            for lang in LANGUAGES:
                if _blank(text.get(lang)):
                    text[lang] = present[0]
    return filled


def draft_problems(data: dict) -> list[str]:
    """Return the problems a draft may not have: everything but what is still to be written."""
    filled = _filled(data)
    tolerated = {f"themes: {_('must list at least one theme')}"}
    themes, tq = filled.get("themes") or [], filled.get("theme_question") or {}
    if isinstance(tq, dict) and isinstance(tq.get("max"), int):
        tolerated.add("theme_question.max: " + _(
            "max (%(max)d) is more than the %(count)d themes", max=tq["max"], count=len(themes)))
    for i, question in enumerate(filled.get("questions") or []):
        if isinstance(question, dict) and question.get("type") in ("single", "multiple"):
            tolerated.add(f"questions[{i + 1}].options: " + _(
                "a %(type)s question needs at least one option", type=question["type"]))
    return [problem for problem in validate_definition(filled) if problem not in tolerated]


def publish_problems(data: dict) -> list[str]:
    """Return what prevents publishing: the full contract, every translation included."""
    return validate_definition(data)


# --- the one save path -----------------------------------------------------------------------

def _refuse(problems: list[str]) -> None:
    if problems:
        raise InvalidDefinition(
            _("The consultation has %(num)d problem(s); nothing was stored.", num=len(problems)),
            problems,
        )


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = ((f"[{i + 1}]", v) for i, v in enumerate(value))
    else:
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, item in items:
        path = f"{prefix}{key}" if str(key).startswith("[") else (
            f"{prefix}.{key}" if prefix else str(key))
        flat.update(_flatten(item, path))
    return flat


def changes(before: dict, after: dict) -> tuple[dict, dict]:
    """Return the values that differ, as {path: value} before and after."""
    old, new = _flatten(before), _flatten(after)
    paths = sorted(p for p in set(old) | set(new) if old.get(p) != new.get(p))
    return ({p: old[p] for p in paths if p in old}, {p: new[p] for p in paths if p in new})


def _drop_replaced(consultation: Consultation, data: dict, session) -> None:
    """Delete the rows the new definition no longer has, before new ones reuse their codes."""
    theme_codes = {t["code"] for t in data.get("themes", [])}
    questions = {q["code"]: q for q in data.get("questions", [])}
    consultation.themes = [t for t in consultation.themes if t.code in theme_codes]
    kept = []
    for question in consultation.questions:
        item = questions.get(question.code)
        if item is None or item["type"] != question.type:
            continue
        codes = {o["code"] for o in item.get("options") or []}
        question.options = [o for o in question.options if o.code in codes]
        kept.append(question)
    consultation.questions = kept
    session.flush()


def _slug_taken(session, slug: str, consultation_id: int | None = None) -> bool:
    query = db.select(Consultation.id).where(Consultation.slug == slug)
    if consultation_id is not None:
        query = query.where(Consultation.id != consultation_id)
    return session.scalar(query) is not None


def _slug_problem(slug: str) -> str:
    return "slug: " + _("\"%(slug)s\" is already used by another consultation", slug=slug)


def _load(session, slug: str) -> Consultation:
    consultation = session.scalar(db.select(Consultation).where(Consultation.slug == slug))
    if consultation is None:
        raise NotFound(_("There is no consultation \"%(slug)s\".", slug=slug))
    return consultation


def _check_version(consultation: Consultation, version: int | None) -> None:
    if version is not None and consultation.version != version:
        raise StaleVersion(_(
            "Another administrator changed this consultation after you opened the page; nothing "
            "was stored. The page now shows their version: make your change again."))


def _store(session, consultation: Consultation, data: dict, *, actor: User | None,
           action: str) -> None:
    """Validate data, refuse locked structure, apply it and audit what changed."""
    _refuse(draft_problems(data) if consultation.is_draft else publish_problems(data))
    before = export_definition(consultation)
    if data["slug"] != consultation.slug:
        if not consultation.is_draft:
            _refuse(["slug: " + _("the address of a published consultation cannot change")])
        if _slug_taken(session, data["slug"], consultation.id):
            _refuse([_slug_problem(data["slug"])])
    count = response_count(consultation)
    if count and _structure(before) != _structure(data):
        raise StructureLocked(_(
            "This consultation already has %(num)d response(s): its themes, questions, options "
            "and the theme question's min, max and ranked can no longer change, because the "
            "stored answers refer to them. Texts and dates can still be corrected. Nothing was "
            "stored.", num=count))
    _drop_replaced(consultation, data, session)
    consultation.slug = data["slug"]
    _apply(consultation, data)
    # Touch the row so its version moves even when only a theme or option changed.
    consultation.updated_at = utcnow()
    old, new = changes(before, data)
    audit.record(action, actor=actor, object_type="consultation", object_id=consultation.slug,
                 before=old, after=new)


def edit(slug: str, version: int | None, change: Callable[[dict], None], *,
         actor: User | None, action: str) -> Consultation:
    """Apply change() to the consultation's definition and store it, or store nothing."""
    try:
        with write_transaction() as session:
            consultation = _load(session, slug)
            _check_version(consultation, version)
            data = export_definition(consultation)
            change(data)
            if data == export_definition(consultation):
                # Nothing changed (the same file again, the first item moved up): store nothing.
                return consultation
            _store(session, consultation, data, actor=actor, action=action)
            session.flush()
    except StaleDataError:
        raise StaleVersion(_(
            "Another administrator changed this consultation at the same moment; nothing was "
            "stored. Reload the page and make your change again.")) from None
    return consultation


def create(data: dict, *, actor: User | None, action: str = "consultation.create"
           ) -> Consultation:
    """Create a new draft consultation from a (possibly incomplete) definition."""
    data.setdefault("themes", [])
    data.setdefault("questions", [])
    _refuse(draft_problems(data))
    with write_transaction() as session:
        if _slug_taken(session, data["slug"]):
            _refuse([_slug_problem(data["slug"])])
        consultation = Consultation(slug=data["slug"], is_draft=True)
        session.add(consultation)
        _apply(consultation, data)
        session.flush()
        audit.record(action, actor=actor, object_type="consultation",
                     object_id=consultation.slug, after=_flatten(data))
    return consultation


def import_definition(data: dict, *, actor: User | None) -> tuple[Consultation, bool]:
    """Create a draft from an uploaded definition, or update the consultation of its slug.

    The file obeys the same rules as `consultations load`: refused whole, every problem listed.
    """
    _refuse(validate_definition(data))
    exists = db.session.scalar(
        db.select(Consultation.id).where(Consultation.slug == data["slug"])) is not None
    if not exists:
        return create(data, actor=actor, action="consultation.import"), True

    def replace(current: dict) -> None:
        current.clear()
        current.update(copy.deepcopy(data))

    return edit(data["slug"], None, replace, actor=actor, action="consultation.import"), False


def duplicate(slug: str, new_slug: str, *, actor: User | None) -> Consultation:
    """Copy a consultation's definition into a new draft with another slug."""
    source = db.session.scalar(db.select(Consultation).where(Consultation.slug == slug))
    if source is None:
        raise NotFound(_("There is no consultation \"%(slug)s\".", slug=slug))
    data = export_definition(source)
    data["slug"] = new_slug
    return create(data, actor=actor, action="consultation.duplicate")


# --- lifecycle --------------------------------------------------------------------------------

def _lifecycle(slug: str, version: int | None, change: Callable[[Consultation], None], *,
               actor: User | None, action: str) -> Consultation:
    fields = ("is_draft", "closes_on", "closed_early_on")

    def snapshot(consultation: Consultation) -> dict:
        return {f: (v.isoformat() if isinstance(v := getattr(consultation, f), date) else v)
                for f in fields}

    try:
        with write_transaction() as session:
            consultation = _load(session, slug)
            _check_version(consultation, version)
            before = snapshot(consultation)
            change(consultation)
            consultation.updated_at = utcnow()
            old, new = changes(before, snapshot(consultation))
            audit.record(action, actor=actor, object_type="consultation",
                         object_id=consultation.slug, before=old, after=new)
            session.flush()
    except StaleDataError:
        raise StaleVersion(_(
            "Another administrator changed this consultation at the same moment; nothing was "
            "stored. Reload the page and make your change again.")) from None
    return consultation


def publish(slug: str, version: int | None, *, actor: User | None) -> Consultation:
    """Make a draft visible to citizens; refused while any rule or translation is unmet."""

    def change(consultation: Consultation) -> None:
        if not consultation.is_draft:
            raise DomainError(_("This consultation is already published."))
        problems = publish_problems(export_definition(consultation))
        if problems:
            raise InvalidDefinition(
                _("The consultation cannot be published yet: %(num)d problem(s) to fix first.",
                  num=len(problems)), problems)
        consultation.is_draft = False

    return _lifecycle(slug, version, change, actor=actor, action="consultation.publish")


def unpublish(slug: str, version: int | None, *, actor: User | None) -> Consultation:
    """Return a published consultation to draft, only while it has no response."""

    def change(consultation: Consultation) -> None:
        if consultation.is_draft:
            raise DomainError(_("This consultation is already a draft."))
        if response_count(consultation):
            raise DomainError(_("This consultation already has responses: it cannot go back "
                                "to draft."))
        consultation.is_draft = True

    return _lifecycle(slug, version, change, actor=actor, action="consultation.unpublish")


def close_early(slug: str, version: int | None, *, actor: User | None,
                today: date | None = None) -> Consultation:
    """Close an open consultation at the end of today (dates are inclusive)."""
    today = today or local_today()

    def change(consultation: Consultation) -> None:
        if consultation.status(today) != "open":
            raise DomainError(_("Only an open consultation can be closed early."))
        consultation.closed_early_on = today

    return _lifecycle(slug, version, change, actor=actor, action="consultation.close_early")


def extend(slug: str, version: int | None, closes_on: date, *, actor: User | None,
           today: date | None = None) -> Consultation:
    """Move the closing date later (reopening a consultation closed early or by its date)."""
    today = today or local_today()

    def change(consultation: Consultation) -> None:
        if consultation.is_draft:
            raise DomainError(_("A draft's dates are changed in its settings."))
        if closes_on <= consultation.effective_closes_on:
            raise InvalidDefinition(
                _("The new closing date must be after the current one."),
                ["closes_on: " + _("%(new)s is not after %(current)s", new=closes_on.isoformat(),
                                   current=consultation.effective_closes_on.isoformat())])
        if closes_on < today:
            raise InvalidDefinition(
                _("The new closing date must be after the current one."),
                ["closes_on: " + _("%(new)s is in the past", new=closes_on.isoformat())])
        consultation.closes_on = closes_on
        consultation.closed_early_on = None

    return _lifecycle(slug, version, change, actor=actor, action="consultation.extend")


# --- questionnaire edits: small changes of the definition -------------------------------------

def _find(items: list[dict], code: str) -> int:
    for i, item in enumerate(items):
        if item.get("code") == code:
            return i
    raise NotFound(_("\"%(code)s\" is not in this consultation.", code=code))


def _items(data: dict, kind: str, question: str | None) -> list[dict]:
    if kind == "theme":
        return data["themes"]
    if kind == "question":
        return data["questions"]
    item = data["questions"][_find(data["questions"], question or "")]
    return item.setdefault("options", [])


def put_item(data: dict, kind: str, old_code: str | None, item: dict,
             question: str | None = None) -> None:
    """Replace the item with old_code (keeping its place), or append a new one."""
    items = _items(data, kind, question)
    if old_code is None:
        items.append(item)
    else:
        i = _find(items, old_code)
        if kind == "question" and item.get("type") in ("single", "multiple"):
            item.setdefault("options", items[i].get("options") or [])
        items[i] = item


def move_item(data: dict, kind: str, code: str, direction: str,
              question: str | None = None) -> None:
    """Move an item one place up or down."""
    items = _items(data, kind, question)
    i = _find(items, code)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(items):
        items[i], items[j] = items[j], items[i]


def remove_item(data: dict, kind: str, code: str, question: str | None = None) -> None:
    """Remove an item (and, for a question, its options)."""
    items = _items(data, kind, question)
    del items[_find(items, code)]


def question_item(code: str, qtype: str, label: dict, *, required: bool = False,
                  max_length: int | None = None, minimum: float | None = None,
                  maximum: float | None = None) -> dict:
    """Return a question of the contract, with only the fields its type allows."""
    item: dict[str, Any] = {"code": code, "type": qtype, "required": required, "label": label}
    if qtype == "text" and max_length is not None:
        item["max_length"] = max_length
    if qtype == "number":
        for key, value in (("min", minimum), ("max", maximum)):
            if value is not None:
                item[key] = int(value) if float(value).is_integer() else value
    return item
