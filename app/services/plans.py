"""Action plan files: validate, load (create or update), export, list and approve plans.

The file is the contract of DESIGN.md ("Action plan file"). An invalid file is refused whole
with every problem listed by its path (commitments[2].milestones[1].ends_on: …); a milestone
outside its commitment's dates is accepted with a warning. Loading a slug again updates the
plan and never loses evidence or history: a file that drops a commitment or a milestone that
evidence or history rests on is refused, and a completion date from the file is recorded as a
"loaded" event in the milestone's history.
"""

from __future__ import annotations

import calendar
import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _

from app.database import write_transaction
from app.extensions import db
from app.models import (
    Commitment,
    CommitmentActor,
    CommitmentOrigin,
    CommitmentTheme,
    Consultation,
    Milestone,
    MilestoneEvent,
    Plan,
    PlanConsultation,
)
from app.models.plan import (
    ACTOR_SECTORS,
    OGP_VALUES,
    Assessment,
    Evidence,
    IndicatorReport,
    ReminderSent,
    UserAgency,
)
from app.services import audit
from app.services.consultations import SLUG_RE, parse_json
from app.services.errors import DomainError
from app.util import local_today, utcnow

__all__ = [
    "InvalidPlan", "LoadResult", "PlanChangeRefused", "approve_plan", "export_plan",
    "get_by_slug", "lead_agencies_of", "listed", "load_plan", "may_report_for", "parse_json",
    "validate_plan",
]

TOP_KEYS = {"slug", "title", "starts_on", "ends_on", "grace_days", "consultations",
            "commitments"}
COMMITMENT_KEYS = {
    "number", "title", "themes", "starts_on", "ends_on", "new", "lead_agency", "responsible",
    "actors", "problem", "objective", "description", "ogp_values", "ogp_relevance",
    "indicator", "milestones",
}
TEXT_KEYS = ("problem", "objective", "description", "ogp_relevance")
RESPONSIBLE_KEYS = ("name", "title", "email", "phone")
MILESTONE_KEYS = {"number", "description", "starts_on", "ends_on", "weight", "verification",
                  "completed_on"}
INDICATOR_KEYS = {"name", "unit", "baseline", "target"}
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
DEFAULT_GRACE_DAYS = 30


class InvalidPlan(DomainError):
    """A plan file has problems; every one is listed."""


class PlanChangeRefused(DomainError):
    """A plan file would drop a commitment or milestone that evidence or history rests on."""


@dataclass
class LoadResult:
    plan: Plan
    created: bool
    warnings: list[str] = field(default_factory=list)


def parse_day(value: Any, end: bool = False) -> date | None:
    """Parse YYYY-MM-DD, or YYYY-MM (its first day, or its last day for an end); None if bad."""
    if not isinstance(value, str):
        return None
    month = MONTH_RE.match(value)
    if month:
        year, number = int(month.group(1)), int(month.group(2))
        if not 1 <= number <= 12 or year < 1:
            return None
        day = calendar.monthrange(year, number)[1] if end else 1
        return date(year, number, day)
    if len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


class _Checker:
    """Collect every problem and warning of a plan file, each with its path."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.warnings: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def warn(self, where: str, message: str) -> None:
        self.warnings.append(f"{where}: {message}")

    def unknown_keys(self, data: dict, allowed: set[str], where: str) -> None:
        for key in sorted(set(data) - allowed, key=str):
            self.add(f"{where}{key}", _("unknown field"))

    def text(self, value: Any, where: str) -> None:
        """A text in one or both languages: {"es": …, "en": …}, at least one not empty."""
        if not isinstance(value, dict):
            self.add(where, _("must be an object with the texts by language, e.g. "
                              "{\"es\": \"…\", \"en\": \"…\"}"))
            return
        good = False
        for lang, text in value.items():
            if not re.fullmatch(r"[a-z]{2}", str(lang)):
                self.add(where, _("\"%(lang)s\" is not a two-letter language code", lang=lang))
            elif not isinstance(text, str):
                self.add(where, _("the text in language \"%(lang)s\" must be a string",
                                  lang=lang))
            elif text.strip():
                good = True
        if not good and not self.problems_at(where):
            self.add(where, _("needs a text in at least one language"))

    def problems_at(self, where: str) -> bool:
        return any(problem.startswith(f"{where}: ") for problem in self.problems)

    def day(self, value: Any, where: str, end: bool = False, month_ok: bool = True
            ) -> date | None:
        parsed = parse_day(value, end) if month_ok else (
            parse_day(value) if isinstance(value, str) and len(value) == 10 else None)
        if parsed is None:
            shown = json.dumps(value, ensure_ascii=False)
            if month_ok:
                self.add(where, _("%(value)s is not a date written YYYY-MM-DD or YYYY-MM",
                                  value=shown))
            else:
                self.add(where, _("%(value)s is not a date written YYYY-MM-DD", value=shown))
        return parsed

    def span(self, data: dict, where: str) -> tuple[date | None, date | None]:
        """Check starts_on and ends_on (both required) and that the end is not before the start."""
        starts = ends = None
        for key in ("starts_on", "ends_on"):
            if key not in data:
                self.add(f"{where}{key}", _("is required"))
        if "starts_on" in data:
            starts = self.day(data["starts_on"], f"{where}starts_on")
        if "ends_on" in data:
            ends = self.day(data["ends_on"], f"{where}ends_on", end=True)
        if starts and ends and ends < starts:
            self.add(f"{where}ends_on", _("the end %(end)s is before the start %(start)s",
                                          end=ends.isoformat(), start=starts.isoformat()))
        return starts, ends

    def number(self, value: Any, where: str, seen: set[int]) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.add(where, _("must be a whole number of at least 1"))
        elif value in seen:
            self.add(where, _("number %(num)d is used twice", num=value))
        else:
            seen.add(value)

    def string(self, value: Any, where: str, maximum: int, required: bool = False) -> None:
        if not isinstance(value, str) or (required and not value.strip()):
            self.add(where, _("must be a text") if not required else _("is required"))
        elif len(value) > maximum:
            self.add(where, _("is longer than %(max)d characters", max=maximum))

    def numeric(self, value: Any, where: str) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(where, _("must be a number"))
            return False
        return True


def _consultation_themes(slugs: list) -> tuple[dict[str, Consultation], dict[str, list]]:
    """Return the plan's consultations by slug and their themes by code (a code may repeat)."""
    found: dict[str, Consultation] = {}
    themes: dict[str, list] = {}
    for slug in slugs:
        if not isinstance(slug, str):
            continue
        consultation = db.session.scalar(db.select(Consultation).where(Consultation.slug == slug))
        if consultation is None:
            continue
        found[slug] = consultation
        for theme in consultation.themes:
            themes.setdefault(theme.code, []).append(theme)
    return found, themes


def validate_plan(data: dict) -> tuple[list[str], list[str]]:
    """Return (problems, warnings) of a plan file; it may be loaded when problems is empty."""
    check = _Checker()
    check.unknown_keys(data, TOP_KEYS, "")
    for key in ("slug", "title", "starts_on", "ends_on", "commitments"):
        if key not in data:
            check.add(key, _("is required"))
    slug = data.get("slug")
    if "slug" in data and (not isinstance(slug, str) or not SLUG_RE.match(slug)):
        check.add("slug", _("must be 2 to 80 lowercase letters, digits and dashes, starting and "
                            "ending with a letter or digit"))
    if "title" in data:
        check.text(data["title"], "title")
    plan_start = check.day(data["starts_on"], "starts_on") if "starts_on" in data else None
    plan_end = check.day(data["ends_on"], "ends_on", end=True) if "ends_on" in data else None
    if plan_start and plan_end and plan_end < plan_start:
        check.add("ends_on", _("the end %(end)s is before the start %(start)s",
                               end=plan_end.isoformat(), start=plan_start.isoformat()))
    grace = data.get("grace_days", DEFAULT_GRACE_DAYS)
    if isinstance(grace, bool) or not isinstance(grace, int) or grace < 0:
        check.add("grace_days", _("must be a whole number of at least %(min)d", min=0))

    slugs = data.get("consultations", [])
    if not isinstance(slugs, list):
        check.add("consultations", _("must be a list of consultation slugs"))
        slugs = []
    consultations, themes = _consultation_themes(slugs)
    seen_slugs: set[str] = set()
    for i, item in enumerate(slugs):
        where = f"consultations[{i + 1}]"
        if not isinstance(item, str) or item not in consultations:
            check.add(where, _("no consultation with slug %(slug)s",
                               slug=json.dumps(item, ensure_ascii=False)))
        elif item in seen_slugs:
            check.add(where, _("consultation \"%(slug)s\" is listed twice", slug=item))
        else:
            seen_slugs.add(item)

    commitments = data.get("commitments", [])
    if not isinstance(commitments, list) or ("commitments" in data and not commitments):
        check.add("commitments", _("must list at least one commitment"))
        commitments = []
    seen: set[int] = set()
    for i, commitment in enumerate(commitments):
        _check_commitment(check, commitment, f"commitments[{i + 1}]", seen, themes,
                          (plan_start, plan_end))
    return check.problems, check.warnings


def _check_commitment(check: _Checker, item: Any, where: str, seen: set[int],
                      themes: dict[str, list], plan_span: tuple) -> None:
    if not isinstance(item, dict):
        check.add(where, _("must be an object with number, title, dates, lead_agency and "
                           "milestones"))
        return
    check.unknown_keys(item, COMMITMENT_KEYS, f"{where}.")
    for key in ("number", "title", "lead_agency", "milestones"):
        if key not in item:
            check.add(f"{where}.{key}", _("is required"))
    if "number" in item:
        check.number(item["number"], f"{where}.number", seen)
    if "title" in item:
        check.text(item["title"], f"{where}.title")
    for key in TEXT_KEYS:
        if key in item:
            check.text(item[key], f"{where}.{key}")
    starts, ends = check.span(item, f"{where}.")
    plan_start, plan_end = plan_span
    if starts and ends and plan_start and plan_end and (starts < plan_start or ends > plan_end):
        check.warn(where, _("its dates %(start)s to %(end)s go beyond the plan's %(pstart)s to "
                            "%(pend)s", start=starts.isoformat(), end=ends.isoformat(),
                            pstart=plan_start.isoformat(), pend=plan_end.isoformat()))
    if "new" in item and not isinstance(item["new"], bool):
        check.add(f"{where}.new", _("must be true or false"))
    if "lead_agency" in item:
        check.string(item["lead_agency"], f"{where}.lead_agency", 200, required=True)
    _check_themes(check, item.get("themes", []), f"{where}.themes", themes)
    responsible = item.get("responsible", {})
    if not isinstance(responsible, dict):
        check.add(f"{where}.responsible", _("must be an object with name, title, email and "
                                            "phone"))
    else:
        check.unknown_keys(responsible, set(RESPONSIBLE_KEYS), f"{where}.responsible.")
        for key, maximum in zip(RESPONSIBLE_KEYS, (200, 200, 254, 60), strict=True):
            if key in responsible:
                check.string(responsible[key], f"{where}.responsible.{key}", maximum)
    actors = item.get("actors", [])
    if not isinstance(actors, list):
        check.add(f"{where}.actors", _("must be a list of {name, sector}"))
        actors = []
    for j, actor in enumerate(actors):
        awhere = f"{where}.actors[{j + 1}]"
        if not isinstance(actor, dict):
            check.add(awhere, _("must be an object with name and sector"))
            continue
        check.unknown_keys(actor, {"name", "sector"}, f"{awhere}.")
        check.string(actor.get("name"), f"{awhere}.name", 200, required=True)
        if actor.get("sector") not in ACTOR_SECTORS:
            check.add(f"{awhere}.sector", _("unknown sector %(value)s (expected one of: "
                                            "%(choices)s)",
                                            value=json.dumps(actor.get("sector"),
                                                             ensure_ascii=False),
                                            choices=", ".join(ACTOR_SECTORS)))
    values = item.get("ogp_values", [])
    if not isinstance(values, list):
        check.add(f"{where}.ogp_values", _("must be a list"))
        values = []
    for value in values:
        if value not in OGP_VALUES:
            check.add(f"{where}.ogp_values", _("unknown value %(value)s (expected one of: "
                                               "%(choices)s)",
                                               value=json.dumps(value, ensure_ascii=False),
                                               choices=", ".join(OGP_VALUES)))
    if len({json.dumps(v) for v in values}) != len(values):
        check.add(f"{where}.ogp_values", _("a value is listed twice"))
    if "indicator" in item:
        _check_indicator(check, item["indicator"], f"{where}.indicator")
    milestones = item.get("milestones", [])
    if not isinstance(milestones, list) or ("milestones" in item and not milestones):
        check.add(f"{where}.milestones", _("must list at least one milestone"))
        milestones = []
    seen_milestones: set[int] = set()
    for j, milestone in enumerate(milestones):
        _check_milestone(check, milestone, f"{where}.milestones[{j + 1}]", seen_milestones,
                         (starts, ends))


def _check_themes(check: _Checker, codes: Any, where: str, themes: dict[str, list]) -> None:
    if not isinstance(codes, list):
        check.add(where, _("must be a list of theme codes"))
        return
    for code in codes:
        if not isinstance(code, str) or code not in themes:
            check.add(where, _("unknown theme %(code)s: it is not a theme of the plan's "
                               "consultations", code=json.dumps(code, ensure_ascii=False)))
    if len({json.dumps(c) for c in codes}) != len(codes):
        check.add(where, _("a theme is listed twice"))


def _check_indicator(check: _Checker, indicator: Any, where: str) -> None:
    if not isinstance(indicator, dict):
        check.add(where, _("must be an object with name, unit, baseline and target"))
        return
    check.unknown_keys(indicator, INDICATOR_KEYS, f"{where}.")
    if "name" not in indicator:
        check.add(f"{where}.name", _("is required"))
    for key in ("name", "unit"):
        if key in indicator:
            check.text(indicator[key], f"{where}.{key}")
    for key in ("baseline", "target"):
        if key in indicator and indicator[key] is not None:
            check.numeric(indicator[key], f"{where}.{key}")


def _check_milestone(check: _Checker, item: Any, where: str, seen: set[int],
                     commitment_span: tuple) -> None:
    if not isinstance(item, dict):
        check.add(where, _("must be an object with number, description and dates"))
        return
    check.unknown_keys(item, MILESTONE_KEYS, f"{where}.")
    for key in ("number", "description"):
        if key not in item:
            check.add(f"{where}.{key}", _("is required"))
    if "number" in item:
        check.number(item["number"], f"{where}.number", seen)
    if "description" in item:
        check.text(item["description"], f"{where}.description")
    if "verification" in item:
        check.text(item["verification"], f"{where}.verification")
    starts, ends = check.span(item, f"{where}.")
    if "weight" in item and check.numeric(item["weight"], f"{where}.weight") and not (
            item["weight"] > 0):
        check.add(f"{where}.weight", _("must be more than 0"))
    if item.get("completed_on") is not None:
        done = check.day(item["completed_on"], f"{where}.completed_on", month_ok=False)
        if done and done > local_today():
            check.add(f"{where}.completed_on", _("%(day)s is in the future",
                                                 day=done.isoformat()))
        elif done and starts and done < starts:
            check.warn(f"{where}.completed_on", _("%(day)s is before the milestone's start "
                                                  "%(start)s", day=done.isoformat(),
                                                  start=starts.isoformat()))
    c_start, c_end = commitment_span
    if starts and ends and c_start and c_end and (starts < c_start or ends > c_end):
        check.warn(where, _("the milestone's dates %(start)s to %(end)s are outside its "
                            "commitment's %(cstart)s to %(cend)s", start=starts.isoformat(),
                            end=ends.isoformat(), cstart=c_start.isoformat(),
                            cend=c_end.isoformat()))


# --- load ------------------------------------------------------------------------------------

def _has_history(milestone: Milestone) -> bool:
    """True if evidence or a follow-up event (anything but the file's own "loaded") rests on it."""
    evidence = db.session.scalar(
        db.select(db.func.count(Evidence.id)).where(Evidence.milestone_id == milestone.id))
    events = db.session.scalar(
        db.select(db.func.count(MilestoneEvent.id)).where(
            MilestoneEvent.milestone_id == milestone.id, MilestoneEvent.kind != "loaded"))
    return bool(evidence or events)


def _commitment_has_history(commitment: Commitment) -> bool:
    for model in (Evidence, IndicatorReport, Assessment):
        if db.session.scalar(db.select(db.func.count(model.id)).where(
                model.commitment_id == commitment.id)):
            return True
    return any(_has_history(milestone) for milestone in commitment.milestones)


def completion_source(milestone: Milestone) -> str | None:
    """Return the kind of the event that last set or cleared the milestone's completion."""
    return db.session.scalar(
        db.select(MilestoneEvent.kind)
        .where(MilestoneEvent.milestone_id == milestone.id,
               MilestoneEvent.kind.in_(("completed", "loaded", "reopened")))
        .order_by(MilestoneEvent.id.desc()).limit(1))


def _refusals(plan: Plan, data: dict) -> list[str]:
    """Return why loading data over plan would lose evidence or history (empty: it would not)."""
    problems = []
    wanted = {c["number"]: c for c in data["commitments"]}
    for commitment in plan.commitments:
        item = wanted.get(commitment.number)
        if item is None:
            if _commitment_has_history(commitment):
                problems.append(_("commitment %(num)d has evidence or history and cannot be "
                                  "removed", num=commitment.number))
            continue
        milestones = {m["number"]: m for m in item["milestones"]}
        for milestone in commitment.milestones:
            where = _("commitment %(num)d, milestone %(milestone)d", num=commitment.number,
                      milestone=milestone.number)
            new = milestones.get(milestone.number)
            if new is None:
                if _has_history(milestone):
                    problems.append(_("%(where)s has evidence or history and cannot be removed",
                                      where=where))
                continue
            done = parse_day(new["completed_on"]) if new.get("completed_on") else None
            # Once evidence is involved, the follow-up owns the completion date.
            if done is not None and done != milestone.completed_on and _has_history(milestone):
                problems.append(_("%(where)s: its completion is kept by the follow-up "
                                  "(evidence and reviews): %(day)s, the file says %(file_day)s",
                                  where=where,
                                  day=milestone.completed_on.isoformat()
                                  if milestone.completed_on else _("not complete"),
                                  file_day=done.isoformat()))
    return problems


def load_plan(data: dict, actor=None) -> LoadResult:
    """Create or update a plan from a file; refuse it whole when anything is wrong."""
    problems, warnings = validate_plan(data)
    if problems:
        raise InvalidPlan(
            _("The action plan file has %(num)d problem(s); nothing was stored.",
              num=len(problems)), problems)
    with write_transaction() as session:
        plan = session.scalar(db.select(Plan).where(Plan.slug == data["slug"]))
        created = plan is None
        if created:
            plan = Plan(slug=data["slug"], status="draft")
            session.add(plan)
        else:
            refusals = _refusals(plan, data)
            if refusals:
                raise PlanChangeRefused(
                    _("Plan \"%(slug)s\" cannot be updated this way: it would lose evidence or "
                      "history. Nothing was stored.", slug=plan.slug), refusals)
        _apply(plan, data, actor)
        session.flush()
        freeze_origins(plan, refresh=plan.status == "draft")
        audit.record("plan.created" if created else "plan.loaded", actor=actor,
                     object_type="plan", object_id=plan.slug, warnings=len(warnings))
    return LoadResult(plan, created, warnings)


def _apply(plan: Plan, data: dict, actor) -> None:
    plan.title = data["title"]
    plan.starts_on = parse_day(data["starts_on"])
    plan.ends_on = parse_day(data["ends_on"], end=True)
    plan.grace_days = data.get("grace_days", DEFAULT_GRACE_DAYS)
    consultations, themes = _consultation_themes(data.get("consultations", []))
    links = {link.consultation_id: link for link in plan.consultation_links}
    plan.consultation_links = [
        _merge(links.get(c.id) or PlanConsultation(consultation=c), position=i)
        for i, c in enumerate(consultations.values())
    ]
    existing = plan.commitment_by_number()
    _forget_reminders(plan, data)
    plan.commitments = [
        _apply_commitment(existing.get(item["number"]) or Commitment(number=item["number"]),
                          item, themes, actor)
        for item in data["commitments"]
    ]


def _forget_reminders(plan: Plan, data: dict) -> None:
    """Delete the reminder records of milestones the file removes (nothing else rests on them)."""
    kept = {(c["number"], m["number"]) for c in data["commitments"] for m in c["milestones"]}
    gone = [m.id for c in plan.commitments for m in c.milestones
            if m.id is not None and (c.number, m.number) not in kept]
    if gone:
        db.session.execute(db.delete(ReminderSent).where(ReminderSent.milestone_id.in_(gone)))


def _apply_commitment(commitment: Commitment, item: dict, themes: dict[str, list],
                      actor) -> Commitment:
    responsible = item.get("responsible") or {}
    indicator = item.get("indicator") or {}
    _merge(
        commitment,
        title=item["title"],
        problem=item.get("problem"), objective=item.get("objective"),
        description=item.get("description"), ogp_relevance=item.get("ogp_relevance"),
        starts_on=parse_day(item["starts_on"]), ends_on=parse_day(item["ends_on"], end=True),
        is_new=item.get("new"),
        lead_agency=item["lead_agency"].strip(),
        responsible_name=responsible.get("name"), responsible_title=responsible.get("title"),
        responsible_email=responsible.get("email"), responsible_phone=responsible.get("phone"),
        ogp_values=list(item.get("ogp_values", [])),
        indicator_name=indicator.get("name"), indicator_unit=indicator.get("unit"),
        indicator_baseline=indicator.get("baseline"), indicator_target=indicator.get("target"),
    )
    links = {link.theme_id: link for link in commitment.theme_links}
    new_links = []
    for code in item.get("themes", []):
        for theme in themes[code]:
            link = links.get(theme.id) or CommitmentTheme(theme=theme)
            new_links.append(_merge(link, position=len(new_links)))
    commitment.theme_links = new_links
    actors = list(commitment.actors)
    commitment.actors = [
        _merge(actors[i] if i < len(actors) else CommitmentActor(), position=i,
               name=actor_item["name"].strip(), sector=actor_item["sector"])
        for i, actor_item in enumerate(item.get("actors", []))
    ]
    existing = commitment.milestone_by_number()
    milestones = []
    for m in item["milestones"]:
        milestone = existing.get(m["number"]) or Milestone(number=m["number"])
        _merge(milestone, description=m["description"], starts_on=parse_day(m["starts_on"]),
               ends_on=parse_day(m["ends_on"], end=True), weight=m.get("weight", 1),
               verification=m.get("verification"))
        _apply_completion(milestone, parse_day(m["completed_on"]) if m.get("completed_on")
                          else None, actor)
        milestones.append(milestone)
    commitment.milestones = milestones
    return commitment


def _apply_completion(milestone: Milestone, done: date | None, actor) -> None:
    """Record a completion date from the file as history ("loaded"); keep evidence's."""
    if done == milestone.completed_on:
        return
    if done is not None:
        milestone.completed_on = done
        milestone.events.append(MilestoneEvent(kind="loaded", completed_on=done,
                                               actor_id=getattr(actor, "id", None)))
        return
    if milestone.id is not None and _has_history(milestone):
        return  # the follow-up owns the date: a file without it does not undo it
    milestone.completed_on = None
    milestone.events.append(MilestoneEvent(
        kind="reopened", actor_id=getattr(actor, "id", None),
        reason=_("The completion date was removed from the plan file.")))


def _merge(obj, **values):
    for key, value in values.items():
        if getattr(obj, key, None) != value:
            setattr(obj, key, value)
    return obj


# --- origin ----------------------------------------------------------------------------------

def freeze_origins(plan: Plan, refresh: bool) -> None:
    """Freeze each commitment's themes' rank and vote share in their consultation's ranking.

    With refresh, every origin row is computed again (a draft plan loaded again, or approval);
    otherwise only themes without one get it (an approved plan keeps what it was approved on).
    """
    from app.services import results

    rankings: dict[int, dict] = {}

    def ranking_of(consultation: Consultation) -> dict:
        if consultation.id not in rankings:
            payload = results.ranking(consultation)
            rankings[consultation.id] = {
                "respondents": payload["respondents"],
                "themes": {t["code"]: t for t in payload["themes"]},
            }
        return rankings[consultation.id]

    now = utcnow()
    for commitment in plan.commitments:
        current = {row.theme_id: row for row in commitment.origins}
        rows = []
        for position, link in enumerate(commitment.theme_links):
            row = current.get(link.theme_id)
            if row is None or refresh:
                theme = link.theme
                ranked = ranking_of(theme.consultation)
                entry = ranked["themes"].get(theme.code)
                votes = entry is not None and ranked["respondents"] and entry["votes"]
                row = row or CommitmentOrigin(theme_id=theme.id)
                _merge(row, consultation_id=theme.consultation_id,
                       rank=int(entry["rank"]) if votes else None,
                       vote_share=round(float(entry["vote_share"]), 4) if votes else None,
                       respondents=ranked["respondents"], frozen_at=now)
            rows.append(_merge(row, position=position))
        commitment.origins = rows


def approve_plan(plan: Plan, actor=None) -> Plan:
    """Approve a plan: freeze its commitments' origin as the consultation's ranking stands."""
    with write_transaction() as session:
        plan = session.get(Plan, plan.id)
        plan.status = "approved"
        plan.approved_at = utcnow()
        plan.approved_by_id = getattr(actor, "id", None)
        freeze_origins(plan, refresh=True)
        audit.record("plan.approved", actor=actor, object_type="plan", object_id=plan.slug)
    return plan


# --- export and queries ----------------------------------------------------------------------

def _plain_number(value: float | None):
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def export_plan(plan: Plan) -> dict:
    """Return the plan as the JSON file of DESIGN.md; loading it gives the same plan."""
    commitments = []
    for c in plan.commitments:
        item: dict[str, Any] = {"number": c.number, "title": dict(c.title),
                                "themes": c.theme_codes(),
                                "starts_on": c.starts_on.isoformat(),
                                "ends_on": c.ends_on.isoformat()}
        if c.is_new is not None:
            item["new"] = c.is_new
        item["lead_agency"] = c.lead_agency
        responsible = {key: getattr(c, f"responsible_{key}") for key in RESPONSIBLE_KEYS
                       if getattr(c, f"responsible_{key}") is not None}
        if responsible:
            item["responsible"] = responsible
        if c.actors:
            item["actors"] = [{"name": a.name, "sector": a.sector} for a in c.actors]
        for key in ("problem", "objective", "description"):
            if getattr(c, key) is not None:
                item[key] = dict(getattr(c, key))
        if c.ogp_values:
            item["ogp_values"] = list(c.ogp_values)
        if c.ogp_relevance is not None:
            item["ogp_relevance"] = dict(c.ogp_relevance)
        if c.indicator_name is not None:
            indicator: dict[str, Any] = {"name": dict(c.indicator_name)}
            if c.indicator_unit is not None:
                indicator["unit"] = dict(c.indicator_unit)
            for key in ("baseline", "target"):
                value = getattr(c, f"indicator_{key}")
                if value is not None:
                    indicator[key] = _plain_number(value)
            item["indicator"] = indicator
        milestones = []
        for m in c.milestones:
            milestone: dict[str, Any] = {
                "number": m.number, "description": dict(m.description),
                "starts_on": m.starts_on.isoformat(), "ends_on": m.ends_on.isoformat(),
                "weight": _plain_number(m.weight),
            }
            if m.verification is not None:
                milestone["verification"] = dict(m.verification)
            if m.completed_on is not None:
                milestone["completed_on"] = m.completed_on.isoformat()
            milestones.append(milestone)
        item["milestones"] = milestones
        commitments.append(item)
    return {
        "slug": plan.slug,
        "title": dict(plan.title),
        "starts_on": plan.starts_on.isoformat(),
        "ends_on": plan.ends_on.isoformat(),
        "grace_days": plan.grace_days,
        "consultations": [link.consultation.slug for link in plan.consultation_links],
        "commitments": commitments,
    }


def get_by_slug(slug: str) -> Plan | None:
    return db.session.scalar(db.select(Plan).where(Plan.slug == slug))


def listed() -> list[Plan]:
    """Return every plan, the most recent first."""
    return list(db.session.scalars(db.select(Plan).order_by(Plan.starts_on.desc(), Plan.slug)))


def lead_agencies_of(user) -> set[str] | None:
    """Return the lead agencies an account may report for, or None for every one.

    Administrators and coordinators act on every commitment; an implementer only on those of
    the agencies assigned to them (UserAgency rows), as staff are scoped to municipalities.
    """
    if user.has_role("coordinator"):
        return None
    return set(db.session.scalars(
        db.select(UserAgency.lead_agency).where(UserAgency.user_id == user.id)))


def may_report_for(user, commitment: Commitment) -> bool:
    """True if the account may submit evidence and indicator values for the commitment."""
    agencies = lead_agencies_of(user)
    return agencies is None or commitment.lead_agency in agencies


def commitment_count(plan: Plan) -> int:
    return db.session.scalar(
        db.select(db.func.count(Commitment.id)).where(Commitment.plan_id == plan.id))
