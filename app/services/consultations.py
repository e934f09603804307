"""Consultation definitions: validate, load (create or update) and export the JSON contract."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from flask_babel import gettext as _

from app.database import write_transaction
from app.extensions import db
from app.models import CHANNELS, QUESTION_TYPES, Consultation, Option, Question, Response, Theme
from app.services.errors import InvalidDefinition, StructureLocked
from app.util import utcnow

LANGUAGES = ("es", "en")
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")
CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
# Columns of the CSV import that a question code must not shadow.
RESERVED_CODES = {"form_serial", "channel", "municipality", "themes", "submitted_on"}
TOP_KEYS = {
    "slug", "title", "description", "opens_on", "closes_on", "channels", "themes",
    "theme_question", "questions", "double_entry", "publish_free_text",
}
QUESTION_KEYS = {"code", "type", "required", "label", "options", "max_length", "min", "max"}
DEFAULT_TEXT_LENGTH = 2000


# A definition is at most 6 levels deep (questions, a question, its options, an option, its
# label); far deeper is a file built to exhaust the parser (a RecursionError: a 500).
MAX_JSON_DEPTH = 32


def _too_deep(data, limit: int = MAX_JSON_DEPTH) -> bool:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return False


def parse_json(text: str) -> dict:
    """Parse a definition file's text, turning syntax errors into an InvalidDefinition."""
    deep = InvalidDefinition(
        _("The file is not valid JSON."),
        [_("Its brackets are nested more than %(num)d levels deep; a consultation file needs "
           "far fewer.", num=MAX_JSON_DEPTH)],
    )
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidDefinition(
            _("The file is not valid JSON."),
            [_("Line %(line)d, column %(col)d: %(msg)s", line=error.lineno, col=error.colno,
               msg=error.msg)],
        ) from None
    except RecursionError:
        raise deep from None
    if _too_deep(data):
        raise deep
    if not isinstance(data, dict):
        raise InvalidDefinition(
            _("The file is not valid JSON."), [_("The top level must be a JSON object.")]
        )
    return data


class _Checker:
    """Collect every problem of a definition instead of stopping at the first one."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def text(self, value: Any, where: str) -> None:
        if not isinstance(value, dict):
            self.add(where, _("must be an object with the texts in %(langs)s",
                              langs=", ".join(LANGUAGES)))
            return
        for lang in LANGUAGES:
            text = value.get(lang)
            if not isinstance(text, str) or not text.strip():
                self.add(where, _("the text in language \"%(lang)s\" is missing", lang=lang))
        for lang, text in value.items():
            if not isinstance(lang, str) or not re.fullmatch(r"[a-z]{2}", lang):
                self.add(where, _("\"%(lang)s\" is not a two-letter language code", lang=lang))
            elif not isinstance(text, str):
                self.add(where, _("the text in language \"%(lang)s\" must be a string", lang=lang))

    def code(self, value: Any, where: str, seen: set[str]) -> None:
        if not isinstance(value, str) or not CODE_RE.match(value):
            self.add(where, _("code %(code)s must be lowercase letters, digits, - or _ (at most "
                              "60)", code=json.dumps(value, ensure_ascii=False)))
        elif value in seen:
            self.add(where, _("code \"%(code)s\" is used twice", code=value))
        else:
            seen.add(value)

    def integer(self, value: Any, where: str, minimum: int = 0) -> bool:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.add(where, _("must be a whole number of at least %(min)d", min=minimum))
            return False
        return True

    def boolean(self, data: dict, key: str, where: str) -> None:
        if key in data and not isinstance(data[key], bool):
            self.add(where, _("must be true or false"))

    def day(self, value: Any, where: str) -> date | None:
        if not isinstance(value, str):
            self.add(where, _("must be a date written YYYY-MM-DD"))
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.add(where, _("\"%(value)s\" is not a date written YYYY-MM-DD", value=value))
            return None


def validate_definition(data: dict) -> list[str]:
    """Return every problem of a consultation definition (empty when it is valid)."""
    check = _Checker()
    for key in sorted(set(data) - TOP_KEYS):
        check.add(key, _("unknown field"))
    for key in ("slug", "title", "description", "opens_on", "closes_on", "channels", "themes",
                "theme_question"):
        if key not in data:
            check.add(key, _("is required"))
    slug = data.get("slug")
    if "slug" in data and (not isinstance(slug, str) or not SLUG_RE.match(slug)):
        check.add("slug", _("must be 2 to 80 lowercase letters, digits and dashes, starting and "
                            "ending with a letter or digit"))
    for key in ("title", "description"):
        if key in data:
            check.text(data[key], key)
    opens = check.day(data["opens_on"], "opens_on") if "opens_on" in data else None
    closes = check.day(data["closes_on"], "closes_on") if "closes_on" in data else None
    if opens and closes and closes < opens:
        check.add("closes_on", _("the closing date %(closes)s is before the opening date "
                                 "%(opens)s", closes=closes.isoformat(), opens=opens.isoformat()))
    channels = data.get("channels")
    if "channels" in data:
        if not isinstance(channels, list) or not channels:
            check.add("channels", _("must list at least one of: %(choices)s",
                                    choices=", ".join(CHANNELS)))
        else:
            for channel in channels:
                if channel not in CHANNELS:
                    check.add("channels", _("unknown channel %(value)s (expected one of: "
                                            "%(choices)s)", value=json.dumps(channel),
                                            choices=", ".join(CHANNELS)))
            if len(set(map(str, channels))) != len(channels):
                check.add("channels", _("a channel is listed twice"))
    for key in ("double_entry", "publish_free_text"):
        check.boolean(data, key, key)

    themes = data.get("themes")
    if "themes" in data:
        if not isinstance(themes, list) or not themes:
            check.add("themes", _("must list at least one theme"))
            themes = []
        seen: set[str] = set()
        for i, theme in enumerate(themes):
            where = f"themes[{i + 1}]"
            if not isinstance(theme, dict):
                check.add(where, _("must be an object with code and name"))
                continue
            for key in sorted(set(theme) - {"code", "name"}):
                check.add(f"{where}.{key}", _("unknown field"))
            check.code(theme.get("code"), f"{where}.code", seen)
            check.text(theme.get("name"), f"{where}.name")
    _check_theme_question(check, data.get("theme_question"), themes or [],
                          "theme_question" in data)

    questions = data.get("questions", [])
    if not isinstance(questions, list):
        check.add("questions", _("must be a list"))
        questions = []
    seen_questions: set[str] = set()
    for i, question in enumerate(questions):
        _check_question(check, question, f"questions[{i + 1}]", seen_questions)
    return check.problems


def _check_theme_question(check: _Checker, tq: Any, themes: list, present: bool) -> None:
    if not present:
        return
    if not isinstance(tq, dict):
        check.add("theme_question", _("must be an object with label, min, max and ranked"))
        return
    for key in sorted(set(tq) - {"label", "min", "max", "ranked"}):
        check.add(f"theme_question.{key}", _("unknown field"))
    check.text(tq.get("label"), "theme_question.label")
    low, high = tq.get("min", 1), tq.get("max", 1)
    ok = check.integer(low, "theme_question.min", 1) & check.integer(high, "theme_question.max", 1)
    if ok and low > high:
        check.add("theme_question", _("min (%(min)d) is greater than max (%(max)d)",
                                      min=low, max=high))
    if ok and themes and high > len(themes):
        check.add("theme_question.max", _("max (%(max)d) is more than the %(count)d themes",
                                          max=high, count=len(themes)))
    if "ranked" in tq and not isinstance(tq["ranked"], bool):
        check.add("theme_question.ranked", _("must be true or false"))
    elif tq.get("ranked") and ok and high < 2:
        check.add("theme_question.ranked", _("a ranked question needs max of at least 2"))


def _check_question(check: _Checker, question: Any, where: str, seen: set[str]) -> None:
    if not isinstance(question, dict):
        check.add(where, _("must be an object with code, type and label"))
        return
    for key in sorted(set(question) - QUESTION_KEYS):
        check.add(f"{where}.{key}", _("unknown field"))
    code = question.get("code")
    check.code(code, f"{where}.code", seen)
    if code in RESERVED_CODES:
        check.add(f"{where}.code", _("\"%(code)s\" is reserved for a column of the import file",
                                     code=code))
    qtype = question.get("type")
    if qtype not in QUESTION_TYPES:
        check.add(f"{where}.type", _("unknown type %(value)s (expected one of: %(choices)s)",
                                     value=json.dumps(qtype, ensure_ascii=False),
                                     choices=", ".join(QUESTION_TYPES)))
    check.boolean(question, "required", f"{where}.required")
    check.text(question.get("label"), f"{where}.label")
    options = question.get("options")
    if qtype in ("single", "multiple"):
        if not isinstance(options, list) or not options:
            check.add(f"{where}.options", _("a %(type)s question needs at least one option",
                                            type=qtype))
            options = []
        seen_options: set[str] = set()
        for j, option in enumerate(options):
            owhere = f"{where}.options[{j + 1}]"
            if not isinstance(option, dict):
                check.add(owhere, _("must be an object with code and label"))
                continue
            for key in sorted(set(option) - {"code", "label"}):
                check.add(f"{owhere}.{key}", _("unknown field"))
            check.code(option.get("code"), f"{owhere}.code", seen_options)
            check.text(option.get("label"), f"{owhere}.label")
    elif options is not None:
        check.add(f"{where}.options", _("only single and multiple questions have options"))
    if "max_length" in question:
        if qtype != "text":
            check.add(f"{where}.max_length", _("only text questions have max_length"))
        else:
            check.integer(question["max_length"], f"{where}.max_length", 1)
    for key in ("min", "max"):
        if key in question:
            value = question[key]
            if qtype != "number":
                check.add(f"{where}.{key}", _("only number questions have min and max"))
            elif isinstance(value, bool) or not isinstance(value, int | float):
                check.add(f"{where}.{key}", _("must be a number"))
    low, high = question.get("min"), question.get("max")
    if (qtype == "number" and isinstance(low, int | float) and isinstance(high, int | float)
            and low > high):
        check.add(where, _("min (%(min)s) is greater than max (%(max)s)", min=low, max=high))


def _structure(data: dict) -> tuple:
    """Return what responses depend on: theme codes, the theme rule, question codes and options."""
    tq = data["theme_question"]
    return (
        tuple(sorted(t["code"] for t in data["themes"])),
        (tq.get("min", 1), tq.get("max", 1), bool(tq.get("ranked", False))),
        tuple(sorted(
            (q["code"], q["type"], tuple(sorted(o["code"] for o in q.get("options") or [])))
            for q in data.get("questions", [])
        )),
    )


def response_count(consultation: Consultation) -> int:
    """Count every stored response of a consultation, voided ones included."""
    return db.session.scalar(
        db.select(db.func.count(Response.id)).where(Response.consultation_id == consultation.id)
    )


def load_definition(data: dict) -> tuple[Consultation, bool]:
    """Create or update a consultation from a definition; return it and whether it was new.

    An invalid definition is refused whole. Texts and dates of an existing consultation are
    updated; a structural change is refused once the consultation has responses.
    """
    problems = validate_definition(data)
    if problems:
        raise InvalidDefinition(
            _("The consultation definition has %(num)d problem(s); nothing was stored.",
              num=len(problems)),
            problems,
        )
    with write_transaction() as session:
        consultation = session.scalar(
            db.select(Consultation).where(Consultation.slug == data["slug"])
        )
        created = consultation is None
        if created:
            consultation = Consultation(slug=data["slug"])
            session.add(consultation)
        elif _structure(export_definition(consultation)) != _structure(data) and response_count(
            consultation
        ):
            raise StructureLocked(
                _("Consultation \"%(slug)s\" already has %(num)d response(s): its themes, "
                  "questions and options cannot change. Only texts and dates were allowed; "
                  "nothing was stored.", slug=consultation.slug,
                  num=response_count(consultation))
            )
        before = None if created else export_definition(consultation)
        _apply(consultation, data)
        if before is not None and export_definition(consultation) != before:
            # Touch the row so its version moves even when only a theme, question or option
            # changed: the public form's per-process copy is keyed by it (public_form.py).
            consultation.updated_at = utcnow()
        session.flush()
    return consultation, created


def _apply(consultation: Consultation, data: dict) -> None:
    tq = data["theme_question"]
    consultation.title = data["title"]
    consultation.description = data["description"]
    consultation.opens_on = date.fromisoformat(data["opens_on"])
    consultation.closes_on = date.fromisoformat(data["closes_on"])
    consultation.channels = list(data["channels"])
    consultation.theme_label = tq["label"]
    consultation.theme_min = tq.get("min", 1)
    consultation.theme_max = tq.get("max", 1)
    consultation.theme_ranked = bool(tq.get("ranked", False))
    if "double_entry" in data:
        consultation.double_entry = data["double_entry"]
    if "publish_free_text" in data:
        consultation.publish_free_text = data["publish_free_text"]

    themes = {theme.code: theme for theme in consultation.themes}
    consultation.themes = [
        _merge(themes.get(item["code"]) or Theme(code=item["code"]), name=item["name"],
               position=i)
        for i, item in enumerate(data["themes"])
    ]
    questions = {question.code: question for question in consultation.questions}
    new_questions = []
    for i, item in enumerate(data.get("questions", [])):
        question = questions.get(item["code"])
        if question is None or question.type != item["type"]:
            question = Question(code=item["code"])
        _merge(question, type=item["type"], required=bool(item.get("required", False)),
               label=item["label"], position=i,
               max_length=item.get("max_length", DEFAULT_TEXT_LENGTH)
               if item["type"] == "text" else None,
               min_value=item.get("min"), max_value=item.get("max"))
        options = {option.code: option for option in question.options}
        question.options = [
            _merge(options.get(o["code"]) or Option(code=o["code"]), label=o["label"], position=j)
            for j, o in enumerate(item.get("options") or [])
        ]
        new_questions.append(question)
    consultation.questions = new_questions


def _merge(obj, **values):
    for key, value in values.items():
        if getattr(obj, key, None) != value:
            setattr(obj, key, value)
    return obj


def export_definition(consultation: Consultation) -> dict:
    """Return the consultation as the JSON contract of DESIGN.md."""
    questions = []
    for question in consultation.questions:
        item: dict[str, Any] = {
            "code": question.code,
            "type": question.type,
            "required": question.required,
            "label": dict(question.label),
        }
        if question.has_options:
            item["options"] = [
                {"code": o.code, "label": dict(o.label)} for o in question.options
            ]
        if question.type == "text":
            item["max_length"] = question.max_length
        if question.type == "number":
            for key, value in (("min", question.min_value), ("max", question.max_value)):
                if value is not None:
                    item[key] = int(value) if float(value).is_integer() else value
        questions.append(item)
    return {
        "slug": consultation.slug,
        "title": dict(consultation.title),
        "description": dict(consultation.description),
        "opens_on": consultation.opens_on.isoformat(),
        "closes_on": consultation.closes_on.isoformat(),
        "channels": list(consultation.channels),
        "double_entry": consultation.double_entry,
        "publish_free_text": consultation.publish_free_text,
        "themes": [{"code": t.code, "name": dict(t.name)} for t in consultation.themes],
        "theme_question": {
            "label": dict(consultation.theme_label),
            "min": consultation.theme_min,
            "max": consultation.theme_max,
            "ranked": consultation.theme_ranked,
        },
        "questions": questions,
    }


def get_by_slug(slug: str, include_drafts: bool = True) -> Consultation | None:
    query = db.select(Consultation).where(Consultation.slug == slug)
    if not include_drafts:
        query = query.where(Consultation.is_draft.is_(False))
    return db.session.scalar(query)


def listed(include_drafts: bool = False) -> list[Consultation]:
    """Return consultations, newest opening date first."""
    query = db.select(Consultation).order_by(Consultation.opens_on.desc(), Consultation.slug)
    if not include_drafts:
        query = query.where(Consultation.is_draft.is_(False))
    return list(db.session.scalars(query))
