"""Open data: one anonymized row per accepted response, streamed in chunks.

Rows are read by keyset pagination over the response id (CHUNK_SIZE at a time), with the
themes and answers of a chunk fetched by two grouped queries over the same id range, so a
million responses cost a few thousand small queries and flat memory, never one ORM object per
response.

Anonymity:
- the `id` column is not the database id: it is HMAC-SHA256(SECRET_KEY, slug:id), first 16 hex
  digits, stable across downloads (so errata can name a row) but unlinkable to receipts, serials
  or the database without the server's secret;
- rows are ordered by day and then by that id inside each chunk, so the file does not reveal
  the order in which responses arrived beyond the chunk (CHUNK_SIZE responses);
- no paper serial, receipt code, batch, source or time finer than a day (`submitted_on`);
- number answers (e.g. age) are left out (with the municipality they single people out); free
  text only when the consultation publishes it, and then scrubbed of contact data and names.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.i18n import localized
from app.models import Answer, Consultation, Municipality, Option, Response, ResponseTheme
from app.services.anonymize import scrub
from app.services.spreadsheet import safe_row

CHUNK_SIZE = 2000
LANGS = ("es", "en")


@dataclass(frozen=True)
class Field:
    """One column of the open data file, with a description in both languages."""

    name: str
    type: str  # Frictionless type: string, integer, boolean, date
    description: dict[str, str]
    enum: tuple[str, ...] | None = None
    true_values: tuple[str, ...] | None = None
    false_values: tuple[str, ...] | None = None


def _both(message_factory) -> dict[str, str]:
    """Return {"es": …, "en": …} by calling a gettext-using factory under each locale."""
    out = {}
    for lang, locale in (("es", "es_MX"), ("en", "en")):
        with force_locale(locale):
            out[lang] = message_factory(lang)
    return out


def published_questions(consultation: Consultation) -> list:
    """Return the questions that have a column: single, multiple, and published text."""
    return [
        question for question in consultation.questions
        if question.has_options or (question.type == "text" and consultation.publish_free_text)
    ]


def fields(consultation: Consultation) -> list[Field]:
    """Return the columns of the open data file, in order."""
    out = [
        Field("id", "string", _both(lambda _lang: _(
            "Anonymous identifier of the response (a keyed hash: stable, not the database id)"))),
        Field("submitted_on", "date", _both(lambda _lang: _(
            "Day the response was submitted or written on paper (no time of day)"))),
        Field("channel", "string", _both(lambda _lang: _(
            "How the response arrived: online or paper")), enum=("online", "paper")),
        Field("municipality", "string", _both(lambda _lang: _(
            "INEGI code of the respondent's municipality, e.g. 14039 (Guadalajara)"))),
        Field("region", "integer", _both(lambda _lang: _(
            "Number (1-12) of the Jalisco region of the municipality (IIEG 2014)"))),
        Field("metro", "boolean", _both(lambda _lang: _(
            "1 if the municipality is in the Guadalajara Metropolitan Zone, 0 if not")),
            true_values=("1",), false_values=("0",)),
        Field("themes", "string", _both(lambda _lang: _(
            "Theme codes chosen, separated by \";\", in priority order (first = most "
            "important); same format as the response import")),),
    ]
    for question in published_questions(consultation):
        def describe(lang, question=question):
            label = localized(question.label, lang)
            options = ", ".join(
                f"{option.code} = {localized(option.label, lang)}" for option in question.options
            )
            if question.type == "single":
                return _("%(label)s (one option code: %(options)s)", label=label,
                         options=options)
            if question.type == "multiple":
                return _("%(label)s (option codes separated by \";\": %(options)s)",
                         label=label, options=options)
            return _("%(label)s (free text as written, without contact data or names)",
                     label=label)

        enum = (tuple(option.code for option in question.options)
                if question.type == "single" else None)
        out.append(Field(question.code, "string", _both(describe), enum=enum))
    return out


def anonymous_id(consultation: Consultation, response_id: int) -> str:
    """Return the public identifier of a response: a keyed hash, not the database id."""
    key = current_app.config["SECRET_KEY"].encode()
    return _hash((key, f"opendata:{consultation.slug}:"), response_id)


def _hash(key_and_prefix: tuple[bytes, str], response_id: int) -> str:
    key, prefix = key_and_prefix
    return hmac.new(key, f"{prefix}{response_id}".encode(), hashlib.sha256).hexdigest()[:16]


def _chunks(consultation: Consultation, chunk_size: int) -> Iterator[list[dict]]:
    """Yield lists of at most chunk_size rows (dicts by column name), keyset by response id."""
    # Plain dicts of codes: no ORM attribute access inside the per-row loops.
    questions = {question.id: question.code for question in published_questions(consultation)}
    question_codes = list(questions.values())
    theme_codes = {theme.id: theme.code for theme in consultation.themes}
    option_codes = {
        option.id: option.code for question in published_questions(consultation)
        for option in question.options
    }
    slug_key = (current_app.config["SECRET_KEY"].encode(), f"opendata:{consultation.slug}:")
    last_id = 0
    while True:
        rows = db.session.execute(
            select(Response.id, Response.submitted_on, Response.channel,
                   Response.municipality_code, Municipality.region_number, Municipality.metro)
            .join(Municipality, Municipality.code == Response.municipality_code)
            .where(Response.consultation_id == consultation.id,
                   Response.state == "accepted", Response.id > last_id)
            .order_by(Response.id)
            .limit(chunk_size)
        ).all()
        if not rows:
            return
        low, high = rows[0][0], rows[-1][0]
        in_range = (Response.id >= low, Response.id <= high,
                    Response.consultation_id == consultation.id, Response.state == "accepted")
        themes: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for response_id, theme_id, position in db.session.execute(
            select(ResponseTheme.response_id, ResponseTheme.theme_id, ResponseTheme.position)
            .join(Response, Response.id == ResponseTheme.response_id)
            # The range on the child table's own column lets the index drive the join.
            .where(ResponseTheme.response_id.between(low, high), *in_range)
        ):
            themes[response_id].append((position, theme_codes[theme_id]))
        answers: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        if questions:
            for response_id, question_id, option_id, text_value in db.session.execute(
                select(Answer.response_id, Answer.question_id, Answer.option_id,
                       Answer.text_value)
                .join(Response, Response.id == Answer.response_id)
                .outerjoin(Option, Option.id == Answer.option_id)
                .where(Answer.response_id.between(low, high), *in_range,
                       Answer.question_id.in_(list(questions)))
                .order_by(Answer.response_id, Option.position, Answer.id)
            ):
                value = option_codes.get(option_id) if option_id else scrub(text_value)
                answers[response_id][questions[question_id]].append(value)
        out = []
        for response_id, day, channel, municipality, region, metro in rows:
            row = {
                "id": _hash(slug_key, response_id),
                "submitted_on": day.isoformat(),
                "channel": channel,
                "municipality": municipality,
                "region": region,
                "metro": 1 if metro else 0,
                "themes": ";".join(code for _, code in sorted(themes.get(response_id, []))),
            }
            given = answers.get(response_id, {})
            for code in question_codes:
                row[code] = ";".join(value for value in given.get(code, ()) if value)
            out.append(row)
        # Hide arrival order inside the chunk: by day, then by the (random-looking) id.
        out.sort(key=lambda row: (row["submitted_on"], row["id"]))
        yield out
        last_id = high


def iter_rows(consultation: Consultation, chunk_size: int = CHUNK_SIZE) -> Iterator[list]:
    """Yield the header, then one safe list of cells per accepted response."""
    names = [field.name for field in fields(consultation)]
    yield names
    for chunk in _chunks(consultation, chunk_size):
        for row in chunk:
            yield safe_row(row[name] for name in names)


def csv_stream(consultation: Consultation, chunk_size: int = CHUNK_SIZE) -> Iterator[str]:
    """Yield the CSV file (UTF-8 text, header first) a chunk of rows at a time."""
    names = [field.name for field in fields(consultation)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    yield buffer.getvalue()
    for chunk in _chunks(consultation, chunk_size):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(safe_row(row[name] for name in names) for row in chunk)
        yield buffer.getvalue()


def write_xlsx(consultation: Consultation, chunk_size: int = CHUNK_SIZE):
    """Write the responses and the dictionary to a temporary XLSX file; return it, rewound.

    openpyxl's write-only workbook streams rows to disk, so memory stays flat.
    """
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("responses")
    for row in iter_rows(consultation, chunk_size):
        sheet.append(row)
    dictionary = workbook.create_sheet("dictionary")
    for row in dictionary_rows(consultation):
        dictionary.append(safe_row(row))
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    workbook.save(handle)
    handle.seek(0)
    return handle


def dictionary_rows(consultation: Consultation) -> list[list]:
    """Return the data dictionary as rows: header, then one row per field."""
    rows = [["field", "type", "values", "description_es", "description_en"]]
    for field in fields(consultation):
        values = "; ".join(field.enum) if field.enum else ""
        if field.name == "themes":
            values = "; ".join(theme.code for theme in consultation.themes)
        rows.append([field.name, field.type, values, field.description["es"],
                     field.description["en"]])
    return rows


def dictionary_json(consultation: Consultation) -> dict:
    """Return the data dictionary with the codes of themes and options in both languages."""
    return {
        "consultation": consultation.slug,
        "fields": [
            {"name": field.name, "type": field.type, "description": field.description,
             **({"values": list(field.enum)} if field.enum else {})}
            for field in fields(consultation)
        ],
        "themes": [{"code": theme.code, "name": {lang: localized(theme.name, lang)
                                                  for lang in LANGS}}
                   for theme in consultation.themes],
        "questions": [
            {"code": question.code, "type": question.type,
             "label": {lang: localized(question.label, lang) for lang in LANGS},
             "options": [{"code": option.code,
                          "label": {lang: localized(option.label, lang) for lang in LANGS}}
                         for option in question.options]}
            for question in published_questions(consultation)
        ],
    }


def datapackage(consultation: Consultation, csv_url: str, dictionary_url: str,
                lang: str = "es") -> dict:
    """Return the Frictionless Data Package describing the CSV (tabular-data-package)."""
    schema_fields = []
    for field in fields(consultation):
        entry: dict = {"name": field.name, "type": field.type,
                       "description": field.description.get(lang, field.description["es"]),
                       "descriptions": field.description}
        if field.type == "date":
            entry["format"] = "%Y-%m-%d"
        if field.true_values:
            entry["trueValues"] = list(field.true_values)
            entry["falseValues"] = list(field.false_values or ())
        constraints: dict = {}
        if field.name in ("id", "submitted_on", "channel", "municipality", "region", "metro"):
            constraints["required"] = True
        if field.enum:
            constraints["enum"] = list(field.enum)
        if field.name == "id":
            constraints["unique"] = True
        if field.name == "municipality":
            constraints["pattern"] = "14[0-9]{3}"
        if field.name == "region":
            constraints.update(minimum=1, maximum=12)
        if constraints:
            entry["constraints"] = constraints
        schema_fields.append(entry)
    return {
        "profile": "tabular-data-package",
        "name": consultation.slug,
        "title": localized(consultation.title, lang),
        "description": localized(consultation.description, lang),
        "licenses": [{"name": "CC-BY-4.0", "title": "Creative Commons Attribution 4.0",
                      "path": "https://creativecommons.org/licenses/by/4.0/"}],
        "resources": [{
            "name": "responses",
            "path": csv_url,
            "profile": "tabular-data-resource",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "dialect": {"delimiter": ",", "header": True},
            "schema": {"fields": schema_fields, "primaryKey": ["id"],
                       "missingValues": [""]},
        }, {
            "name": "dictionary",
            "path": dictionary_url,
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
        }],
    }


def dictionary_csv(consultation: Consultation) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(
        safe_row(row) for row in dictionary_rows(consultation))
    return buffer.getvalue()

