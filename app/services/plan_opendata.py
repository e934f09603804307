"""Open data of an action plan: commitments, milestones and accepted evidence as CSV, their
Frictionless data package, and the iCalendar feed of milestone ends.

Every text cell goes through the project's one spreadsheet neutralizer (a leading = + - @
gets an apostrophe). Lights, progress and statuses are computed as of the day of the download
(America/Mexico_City), which the files carry in their `as_of` column. Evidence is published
only once accepted, and without who submitted or reviewed it (accounts are not public data).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.i18n import localized
from app.models import Commitment, Evidence, Milestone, Plan
from app.services import lights
from app.services.plan_board import commitment_state, milestone_dates
from app.services.spreadsheet import safe_cell
from app.util import CONSULTATION_TZ

LANGS = ("es", "en")
RESOURCES = ("commitments", "milestones", "evidence")
# Not the request's host, which differs behind proxies: a UID must never change.
UID_DOMAIN = "plans.consulta-abierta"
LANGUAGE_NAMES = {"es": lambda: _("Spanish"), "en": lambda: _("English")}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # Frictionless: string, integer, number, boolean, date
    description: object  # a lazy gettext string, translated when the package is made
    enum: tuple[str, ...] | None = None
    required: bool = False
    text_lang: str | None = None  # the language of a text column's cells


def _bilingual(name: str, description) -> list[Column]:
    return [Column(f"{name}_{lang}", "string", description, text_lang=lang) for lang in LANGS]


def columns(resource: str) -> list[Column]:
    """Return the columns of one CSV of the plan's open data, in order."""
    plan = Column("plan", "string", _l("Slug of the action plan"), required=True)
    as_of = Column("as_of", "date", _l("Day the light, status and progress were computed for"),
                   required=True)
    if resource == "commitments":
        return [
            plan,
            Column("number", "integer", _l("Number of the commitment in the plan"), required=True),
            *_bilingual("title", _l("Title")),
            Column("themes", "string", _l("Codes of the consultation themes behind it, "
                                       "separated by \";\"")),
            Column("starts_on", "date", _l("First day of the commitment"), required=True),
            Column("ends_on", "date", _l("Last day of the commitment"), required=True),
            Column("new", "boolean", _l("true if the commitment is new in this plan")),
            Column("lead_agency", "string", _l("Lead implementing agency"), required=True),
            Column("responsible_name", "string", _l("Responsible official")),
            Column("responsible_title", "string", _l("Title of the responsible official")),
            Column("actors", "string", _l("Other actors as \"name (sector)\", separated by \";\"")),
            Column("ogp_values", "string", _l("OGP values it is relevant to, separated by \";\"")),
            *_bilingual("problem", _l("Problem it addresses")),
            *_bilingual("objective", _l("Main objective")),
            *_bilingual("description", _l("Brief description")),
            *_bilingual("indicator_name", _l("Name of its indicator (empty: no metric yet)")),
            *_bilingual("indicator_unit", _l("Unit of its indicator")),
            Column("indicator_baseline", "number", _l("Value of the indicator at the start")),
            Column("indicator_target", "number", _l("Value the indicator should reach")),
            Column("light", "string", _l("Traffic light on the as_of day"),
                   enum=lights.LIGHTS, required=True),
            Column("progress", "number", _l("Complete milestones' share of the weight (0 to 1)"),
                   required=True),
            Column("expected", "number", _l("Share of the weight due by the as_of day (0 to 1)"),
                   required=True),
            as_of,
        ]
    if resource == "milestones":
        return [
            plan,
            Column("commitment", "integer", _l("Number of the commitment"), required=True),
            Column("number", "integer", _l("Number of the milestone in its commitment"),
                   required=True),
            *_bilingual("description", _l("Description")),
            Column("starts_on", "date", _l("First day of the milestone"), required=True),
            Column("ends_on", "date", _l("Last day of the milestone (when it is due)"),
                   required=True),
            Column("weight", "number", _l("Weight of the milestone in its commitment's progress"),
                   required=True),
            *_bilingual("verification", _l("How it is verified")),
            Column("status", "string", _l("Status on the as_of day"),
                   enum=lights.MILESTONE_STATUSES, required=True),
            Column("completed_on", "date", _l("Day the work was done, from accepted evidence")),
            as_of,
        ]
    if resource == "evidence":
        return [
            plan,
            Column("commitment", "integer", _l("Number of the commitment"), required=True),
            Column("milestone", "integer", _l("Number of the milestone (empty: an indicator "
                                           "report)")),
            Column("id", "integer", _l("Identifier of the evidence"), required=True),
            Column("kind", "string", _l("file or link"), enum=("file", "link"), required=True),
            Column("url", "string", _l("Where to read it: the public link, or the file's download"),
                   required=True),
            Column("sha256", "string", _l("SHA-256 of the file (files only)")),
            Column("media_type", "string", _l("Media type of the file (files only)")),
            Column("size", "integer", _l("Size of the file in bytes (files only)")),
            Column("description", "string", _l("What the evidence shows, as the agency wrote it")),
            Column("done_on", "date", _l("Day the work was done, as the evidence says"),
                   required=True),
            Column("accepted_on", "date", _l("Day the Follow-up Committee accepted it")),
        ]
    raise KeyError(resource)


def _text(value: dict | None, lang: str) -> str:
    return "" if not value else value.get(lang, "")


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def commitment_rows(plan: Plan, as_of: date) -> list[list]:
    rows = []
    for c in plan.commitments:
        state = commitment_state(c, plan.grace_days, as_of)
        rows.append([
            plan.slug, c.number, *[_text(c.title, lang) for lang in LANGS],
            ";".join(c.theme_codes()), c.starts_on.isoformat(), c.ends_on.isoformat(),
            "" if c.is_new is None else ("true" if c.is_new else "false"),
            c.lead_agency, c.responsible_name or "", c.responsible_title or "",
            ";".join(f"{a.name} ({a.sector})" for a in c.actors), ";".join(c.ogp_values or []),
            *[_text(c.problem, lang) for lang in LANGS],
            *[_text(c.objective, lang) for lang in LANGS],
            *[_text(c.description, lang) for lang in LANGS],
            *[_text(c.indicator_name, lang) for lang in LANGS],
            *[_text(c.indicator_unit, lang) for lang in LANGS],
            _number(c.indicator_baseline), _number(c.indicator_target),
            state["light"], state["progress"], state["expected"], as_of.isoformat(),
        ])
    return rows


def milestone_rows(plan: Plan, as_of: date) -> list[list]:
    rows = []
    for c in plan.commitments:
        for m in c.milestones:
            status = lights.milestone_status(milestone_dates(m), as_of)
            rows.append([
                plan.slug, c.number, m.number, *[_text(m.description, lang) for lang in LANGS],
                m.starts_on.isoformat(), m.ends_on.isoformat(), _number(m.weight),
                *[_text(m.verification, lang) for lang in LANGS], status,
                m.completed_on.isoformat() if status == "complete" else "", as_of.isoformat(),
            ])
    return rows


def accepted_evidence(plan: Plan) -> list[Evidence]:
    """Return the plan's accepted evidence, by commitment, milestone and id."""
    return list(db.session.scalars(
        db.select(Evidence)
        .join(Commitment, Evidence.commitment_id == Commitment.id)
        .outerjoin(Milestone, Evidence.milestone_id == Milestone.id)
        .where(Commitment.plan_id == plan.id, Evidence.state == "accepted")
        .order_by(Commitment.number, Milestone.number, Evidence.id)))


def _accepted_on(evidence: Evidence) -> str:
    """Return the day (in Mexico City) of the last accepting review, never a finer time."""
    times = [review.at for review in evidence.reviews if review.decision == "accepted"]
    if not times:
        return ""
    return max(times).replace(tzinfo=UTC).astimezone(CONSULTATION_TZ).date().isoformat()


def evidence_rows(plan: Plan, file_url) -> list[list]:
    """Rows of accepted evidence; file_url(evidence) gives the public download of a file."""
    return [
        [plan.slug, e.commitment.number, e.milestone.number if e.milestone else "", e.id,
         e.kind, e.url if e.kind == "link" else file_url(e), e.sha256 or "",
         e.media_type or "", "" if e.size is None else e.size, e.description or "",
         e.done_on.isoformat(), _accepted_on(e)]
        for e in accepted_evidence(plan)
    ]


def to_csv(resource: str, rows: list[list]) -> str:
    """Return a CSV (header + rows) with every text cell neutralized for spreadsheets."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([column.name for column in columns(resource)])
    for row in rows:
        writer.writerow([safe_cell(cell) if isinstance(cell, str) else cell for cell in row])
    return buffer.getvalue()


def _described(column: Column, lang: str) -> str:
    with force_locale("es_MX" if lang == "es" else "en"):
        text = str(column.description)
        if column.text_lang:
            text = _("%(description)s, in %(language)s", description=text,
                     language=LANGUAGE_NAMES[column.text_lang]())
        return text


def datapackage(plan: Plan, lang: str) -> dict:
    """Return the Frictionless data package of the plan's CSVs (paths relative to it)."""
    resources = []
    for resource in RESOURCES:
        fields = []
        for column in columns(resource):
            field: dict = {"name": column.name, "type": column.type,
                           "description": _described(column, lang)}
            if column.type == "date":
                field["format"] = "%Y-%m-%d"
            if column.type == "boolean":
                field["trueValues"] = ["true"]
                field["falseValues"] = ["false"]
            constraints = {}
            if column.required:
                constraints["required"] = True
            if column.enum:
                constraints["enum"] = list(column.enum)
            if constraints:
                field["constraints"] = constraints
            fields.append(field)
        keys = {"commitments": ["plan", "number"], "milestones": ["plan", "commitment", "number"],
                "evidence": ["id"]}[resource]
        resources.append({
            "name": resource,
            "path": f"{resource}.csv",
            "profile": "tabular-data-resource",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "schema": {"fields": fields, "primaryKey": keys,
                       "missingValues": [""]},
        })
    return {
        "profile": "tabular-data-package",
        "name": plan.slug,
        "title": localized(plan.title, lang),
        "licenses": [{"name": "CC-BY-4.0", "title": "Creative Commons Attribution 4.0",
                      "path": "https://creativecommons.org/licenses/by/4.0/"}],
        "resources": resources,
    }


# --- calendar --------------------------------------------------------------------------------

def calendar(plan: Plan, lang: str) -> bytes:
    """Return the iCalendar feed of the plan's milestone ends: one all-day event each.

    UIDs are made of the plan's slug and the commitment's and milestone's numbers, so a
    calendar that subscribed keeps the same events when the plan is loaded again.
    """
    from icalendar import Calendar, Event

    with force_locale("es_MX" if lang == "es" else "en"):
        feed = Calendar()
        feed.add("prodid", "-//Consulta Abierta//Action plans//ES")
        feed.add("version", "2.0")
        feed.add("calscale", "GREGORIAN")
        feed.add("x-wr-calname", localized(plan.title, lang))
        stamp = datetime.combine(plan.created_at.date(), datetime.min.time())
        for c in plan.commitments:
            for m in c.milestones:
                event = Event()
                event.add("uid", f"{plan.slug}-c{c.number}-m{m.number}@{UID_DOMAIN}")
                event.add("dtstamp", stamp)
                event.add("dtstart", m.ends_on)
                event.add("dtend", m.ends_on + timedelta(days=1))
                event.add("summary", _("Milestone %(commitment)d.%(milestone)d due: "
                                       "%(description)s", commitment=c.number,
                                       milestone=m.number,
                                       description=localized(m.description, lang)))
                event.add("description", _("Commitment %(number)d: %(title)s. Lead agency: "
                                           "%(agency)s.", number=c.number,
                                           title=localized(c.title, lang),
                                           agency=c.lead_agency))
                event.add("categories", [_("Milestone")])
                event.add("transp", "TRANSPARENT")
                feed.add_component(event)
    return feed.to_ical()
