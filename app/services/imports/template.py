"""The CSV template of a consultation's import, and the notes listing what each column takes."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from flask_babel import gettext as _

from app.extensions import db
from app.models import Consultation, Municipality, User

EXAMPLE_MUNICIPALITY = "14039"  # Guadalajara, when the account may work on it (or on all)


def template_csv(consultation: Consultation, actor: User | None = None) -> str:
    """Return the CSV template of a consultation: the header and one example row.

    The example row can be imported as it is by `actor`: its municipality (and its serial's)
    is one of the account's own (the command line, without an account, uses Guadalajara).
    """
    columns = template_columns(consultation)
    municipality = example_municipality(actor)
    example = {
        "form_serial": f"{municipality}-000001",
        "channel": "paper",
        "municipality": municipality,
        "themes": ";".join(t.code for t in consultation.themes[: consultation.theme_max]),
        "submitted_on": "",
    }
    for question in consultation.questions:
        if question.type == "single":
            example[question.code] = question.options[0].code
        elif question.type == "multiple":
            example[question.code] = ";".join(o.code for o in question.options[:2])
        elif question.type == "number":
            example[question.code] = str(int(question.min_value or 0))
        else:
            example[question.code] = ""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerow([example[c] for c in columns])
    return out.getvalue()


def template_columns(consultation: Consultation) -> list[str]:
    return ["form_serial", "channel", "municipality", "themes",
            *(q.code for q in consultation.questions), "submitted_on"]


def example_municipality(actor: User | None) -> str:
    """Return a municipality code the actor may import for (Guadalajara if it may)."""
    scope = actor.municipality_codes() if actor is not None else None
    if scope is None or EXAMPLE_MUNICIPALITY in scope or not scope:
        return EXAMPLE_MUNICIPALITY
    return min(scope)


@dataclass
class Note:
    """One accepted value of a column: its code and what it means in Spanish and English."""

    column: str
    code: str
    label_es: str
    label_en: str
    note: str = ""


def template_notes(consultation: Consultation, actor: User | None = None) -> list[Note]:
    """Return, column by column, the codes a cell accepts and the labels that may replace them.

    Themes and options may be typed as their code or as their name in Spanish or English
    (accents and case do not matter); municipalities are listed for the actor's scope.
    """
    notes = [Note("form_serial", "", "", "",
                  _("INEGI code of the municipality, a hyphen and six digits, e.g. "
                    "14039-000123; required for paper forms")),
             Note("channel", "paper", "", "", _("the default when empty")),
             Note("channel", "online", "", "")]
    scope = actor.municipality_codes() if actor is not None else None
    query = db.select(Municipality.code, Municipality.name).order_by(Municipality.code)
    if scope is not None:
        query = query.where(Municipality.code.in_(sorted(scope)))
    notes += [Note("municipality", code, name, name) for code, name in db.session.execute(query)]
    notes += [Note("themes", theme.code, theme.name.get("es", ""), theme.name.get("en", ""),
                   _("separate several with ;"))
              for theme in consultation.themes]
    for question in consultation.questions:
        if question.type in ("single", "multiple"):
            note = _("several separated by ;") if question.type == "multiple" else ""
            notes += [Note(question.code, option.code, option.label.get("es", ""),
                           option.label.get("en", ""), note) for option in question.options]
        elif question.type == "number":
            notes.append(Note(question.code, "", "", "", _(
                "a number from %(low)s to %(high)s",
                low=_plain(question.min_value), high=_plain(question.max_value))))
        else:
            notes.append(Note(question.code, "", "", "", _("free text, stored exactly as typed")))
    notes.append(Note("submitted_on", "", "", "", _("optional date, YYYY-MM-DD")))
    return notes


def template_notes_csv(consultation: Consultation, actor: User | None = None) -> str:
    """Return template_notes as CSV: column, code, label_es, label_en, note."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["column", "code", "label_es", "label_en", "note"])
    for note in template_notes(consultation, actor):
        writer.writerow([note.column, note.code, note.label_es, note.label_en, note.note])
    return out.getvalue()


def _plain(value: float | None) -> str:
    if value is None:
        return "…"
    return str(int(value)) if float(value).is_integer() else str(value)
