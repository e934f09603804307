"""Open data, described: its columns, data dictionary and Frictionless data package.

The rows themselves are written by app/services/opendata.py; this module says what each
column means, in both languages, with the disclosure rule the rows follow
(analysis/disclosure.py).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from app.i18n import localized
from app.models import Consultation
from app.services.spreadsheet import safe_row

LANGS = ("es", "en")
# Response.source values, published in the `source` column.
SOURCES = ("online", "entry", "import")
DICTIONARY_FIELDS = ("field", "type", "values", "description_es", "description_en")


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


def disclosure_rule(minimum: int) -> dict[str, str]:
    """Return the disclosure rule of the microdata, in both languages (dictionary, package)."""
    return _both(lambda _lang: _(
        "Disclosure control: no published combination of place (municipality, or region and "
        "metropolitan flag) and single-choice answers rests on fewer than %(num)d responses. "
        "Region by region: a municipality with fewer than %(num)d responses, or a combination "
        "of municipality and single-choice answers with fewer than %(num)d, is published with "
        "the municipality empty (its region and metropolitan flag kept); where the "
        "combination of region, metropolitan flag and answers is still under %(num)d, the "
        "single-choice answers are left empty too; then the metropolitan flag; if fewer than "
        "%(num)d such rows remain in the region, whole groups of the region, smallest first, "
        "join them. A region with fewer than %(num)d responses in all is published with the "
        "region empty as well. Themes, multiple-choice answers and dates are never changed; "
        "number answers (such as age) are never published.", num=minimum))


def fields(consultation: Consultation) -> list[Field]:
    """Return the columns of the open data file, in order."""
    minimum = int(current_app.config["MIN_CELL_SIZE"])
    out = [
        Field("id", "string", _both(lambda _lang: _(
            "Anonymous identifier of the response (a keyed hash: stable, not the database id)"))),
        Field("submitted_on", "date", _both(lambda _lang: _(
            "Day the response was submitted or written on paper (no time of day)"))),
        Field("channel", "string", _both(lambda _lang: _(
            "How the response arrived: online or paper")), enum=("online", "paper")),
        Field("municipality", "string", _both(lambda _lang: _(
            "INEGI code of the respondent's municipality, e.g. 14039 (Guadalajara); empty "
            "where fewer than %(num)d responses would share the published combination (see "
            "the disclosure rule)", num=minimum))),
        Field("region", "integer", _both(lambda _lang: _(
            "Number (1-12) of the Jalisco region of the municipality (IIEG 2014); empty only "
            "for a region with fewer than %(num)d responses in all", num=minimum))),
        Field("metro", "boolean", _both(lambda _lang: _(
            "1 if the municipality is in the Guadalajara Metropolitan Zone, 0 if not; empty "
            "where the disclosure rule withholds it")),
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
                return _("%(label)s (one option code: %(options)s; empty where the disclosure "
                         "rule withholds it)", label=label, options=options)
            if question.type == "multiple":
                return _("%(label)s (option codes separated by \";\": %(options)s)",
                         label=label, options=options)
            return _("%(label)s (free text as written, without contact data or names)",
                     label=label)

        enum = (tuple(option.code for option in question.options)
                if question.type == "single" else None)
        out.append(Field(question.code, "string", _both(describe), enum=enum))
    out.append(Field("source", "string", _both(lambda _lang: _(
        "How the response was recorded: online (the online form), entry (a paper form typed "
        "in by staff) or import (a row of an imported file, whatever its channel)")),
        enum=SOURCES))
    return out


def dictionary_rows(consultation: Consultation) -> list[list]:
    """Return the data dictionary as rows: header, then one row per field."""
    rows = [list(DICTIONARY_FIELDS)]
    for field in fields(consultation):
        values = "; ".join(field.enum) if field.enum else ""
        if field.name == "themes":
            values = "; ".join(theme.code for theme in consultation.themes)
        rows.append([field.name, field.type, values, field.description["es"],
                     field.description["en"]])
    rule = disclosure_rule(int(current_app.config["MIN_CELL_SIZE"]))
    rows.append(["(disclosure)", "", "", rule["es"], rule["en"]])
    return rows


def dictionary_json(consultation: Consultation) -> dict:
    """Return the data dictionary with the codes of themes and options in both languages."""
    return {
        "consultation": consultation.slug,
        "min_cell_size": int(current_app.config["MIN_CELL_SIZE"]),
        "disclosure": disclosure_rule(int(current_app.config["MIN_CELL_SIZE"])),
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
    """Return the Frictionless Data Package describing the CSV (tabular-data-package).

    Both resources are tabular data resources with a schema, as the profile requires.
    """
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
        if field.name in ("id", "submitted_on", "channel", "source"):
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
    rule = disclosure_rule(int(current_app.config["MIN_CELL_SIZE"]))
    description = localized(consultation.description, lang)
    return {
        "profile": "tabular-data-package",
        "name": consultation.slug,
        "title": localized(consultation.title, lang),
        "description": f"{description}\n\n{rule.get(lang, rule['es'])}".strip(),
        "licenses": [{"name": "CC-BY-4.0", "title": "Creative Commons Attribution 4.0",
                      "path": "https://creativecommons.org/licenses/by/4.0/"}],
        "resources": [{
            "name": "responses",
            "path": csv_url,
            "profile": "tabular-data-resource",
            "description": rule.get(lang, rule["es"]),
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "dialect": {"delimiter": ",", "header": True},
            "schema": {"fields": schema_fields, "primaryKey": ["id"],
                       "missingValues": [""]},
        }, {
            "name": "dictionary",
            "path": dictionary_url,
            "profile": "tabular-data-resource",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "dialect": {"delimiter": ",", "header": True},
            "schema": {"fields": [{"name": name, "type": "string"}
                                  for name in DICTIONARY_FIELDS],
                       "primaryKey": ["field"], "missingValues": []},
        }],
    }


def dictionary_csv(consultation: Consultation) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(
        safe_row(row) for row in dictionary_rows(consultation))
    return buffer.getvalue()

