"""The coordinator's browser editor of action plans: form fields to plan-file data and back.

Every change goes through the plan file's own rules (app/services/plans.py): the edited plan is
exported as its file, the change is applied to that data, the whole is validated by
validate_plan and stored by the loader's own steps (which refuse a change that would orphan
evidence or history, and keep the follow-up's completion dates). Problems are reported with
the names users see on the form ("Commitment 3: end date"), never JSON paths. The one rule the
editor relaxes: a plan may be saved without commitments while it is being built.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.database import write_transaction
from app.extensions import db
from app.models import Consultation, Plan
from app.services import audit
from app.services import plans as plan_service
from app.services.plans import InvalidPlan, PlanChangeRefused

LANGS = ("es", "en")
TEXT_FIELDS = ("title", "problem", "objective", "description", "ogp_relevance")

# The form's name for each field of the plan file (lower case: they follow "Commitment 3: ").
LABELS = {
    "slug": _l("identifier (slug)"),
    "title": _l("title"),
    "starts_on": _l("start date"),
    "ends_on": _l("end date"),
    "grace_days": _l("grace days"),
    "consultations": _l("consultations"),
    "commitments": _l("commitments"),
    "number": _l("number"),
    "themes": _l("themes"),
    "new": _l("new commitment"),
    "lead_agency": _l("lead agency"),
    "responsible.name": _l("responsible official's name"),
    "responsible.title": _l("responsible official's position"),
    "responsible.email": _l("responsible official's e-mail"),
    "responsible.phone": _l("responsible official's phone"),
    "actors": _l("other actors"),
    "name": _l("name"),
    "sector": _l("sector"),
    "problem": _l("problem"),
    "objective": _l("objective"),
    "description": _l("description"),
    "ogp_values": _l("OGP values"),
    "ogp_relevance": _l("relevance to the OGP values"),
    "indicator.name": _l("indicator name"),
    "indicator.unit": _l("indicator unit"),
    "indicator.baseline": _l("indicator baseline"),
    "indicator.target": _l("indicator target"),
    "indicator": _l("indicator"),
    "milestones": _l("milestones"),
    "weight": _l("weight"),
    "verification": _l("verification"),
    "completed_on": _l("completion date"),
}
STEP_RE = re.compile(r"([a-z_]+)(?:\[(\d+)\])?")


class EditorError(InvalidPlan):
    """The edited plan has problems, named as on the form; nothing was stored."""


# --- problems, as users see them -------------------------------------------------------------

def _number_at(items: Any, index: int) -> Any:
    try:
        number = items[index - 1].get("number")
    except (IndexError, AttributeError, TypeError):
        return index
    return number if isinstance(number, int) and not isinstance(number, bool) else index


def describe(problem: str, data: dict) -> str:
    """Rewrite "commitments[2].milestones[1].ends_on: …" as "Commitment 3, milestone 1: end
    date: …", numbering commitments and milestones as the form does."""
    where, sep, message = problem.partition(": ")
    if not sep:
        return problem
    parts: list[str] = []
    rest: list[str] = []
    commitment = None
    for name, index in STEP_RE.findall(where):
        if name == "commitments" and index:
            commitment = (data.get("commitments") or [])[int(index) - 1] if int(index) <= len(
                data.get("commitments") or []) else {}
            parts.append(_("Commitment %(num)s", num=_number_at(data.get("commitments"),
                                                                   int(index))))
        elif name == "milestones" and index:
            parts.append(_("milestone %(num)s", num=_number_at(
                (commitment or {}).get("milestones"), int(index))))
        elif name == "actors" and index:
            parts.append(_("actor %(num)s", num=index))
        elif name == "consultations" and index:
            parts.append(_("consultation %(num)s", num=index))
        else:
            rest.append(name)
    key = ".".join(rest)
    label = LABELS.get(key) or LABELS.get(rest[-1] if rest else "", key)
    head = ", ".join(parts)
    if label and head:
        head = f"{head}: {label}"
    elif label:
        head = str(label)
        head = head[:1].upper() + head[1:]
    return f"{head}: {message}" if head else message


def changed_fields(before: dict, after: dict) -> dict[str, dict]:
    """Return {field: {"before", "after"}} of what an edit changes, fields named as in the
    file with commitments and milestones by number ("commitment 2.milestone 1.ends_on")."""
    changes: dict[str, dict] = {}

    def compare(old: dict, new: dict, prefix: str) -> None:
        for key in sorted(set(old) | set(new)):
            if key in ("commitments", "milestones"):
                continue
            if old.get(key) != new.get(key):
                changes[prefix + key] = {"before": old.get(key), "after": new.get(key)}

    def by_number(items) -> dict:
        return {item.get("number"): item for item in items or [] if isinstance(item, dict)}

    compare(before, after, "")
    old_commitments = by_number(before.get("commitments"))
    for number, item in by_number(after.get("commitments")).items():
        prefix = f"commitment {number}."
        old = old_commitments.pop(number, None)
        if old is None:
            changes[f"commitment {number}"] = {"before": None, "after": "added"}
            continue
        compare(old, item, prefix)
        old_milestones = by_number(old.get("milestones"))
        for m_number, milestone in by_number(item.get("milestones")).items():
            previous = old_milestones.pop(m_number, None)
            if previous is None:
                changes[f"{prefix}milestone {m_number}"] = {"before": None, "after": "added"}
            else:
                compare(previous, milestone, f"{prefix}milestone {m_number}.")
        for m_number in old_milestones:
            changes[f"{prefix}milestone {m_number}"] = {"before": "present", "after": None}
    for number in old_commitments:
        changes[f"commitment {number}"] = {"before": "present", "after": None}
    return changes


def _check(data: dict) -> list[str]:
    """Return the plan's problems as users see them; warnings are returned by save()."""
    problems, _warnings = plan_service.validate_plan(data)
    if not data.get("commitments"):
        problems = [p for p in problems if not p.startswith("commitments: ")]
    return [describe(problem, data) for problem in problems]


def _save(plan: Plan | None, data: dict, actor, action: str, **details) -> tuple[Plan, list]:
    """Validate the whole plan and store it as the loader does; audit the change."""
    problems = _check(data)
    if problems:
        raise EditorError(_("The plan has %(num)d problem(s); nothing was stored.",
                            num=len(problems)), problems)
    warnings = [describe(w, data) for w in plan_service.validate_plan(data)[1]]
    changes = changed_fields(plan_service.export_plan(plan) if plan is not None else {}, data)
    with write_transaction() as session:
        if plan is None:
            if plan_service.get_by_slug(data["slug"]) is not None:
                raise EditorError(_("The plan has %(num)d problem(s); nothing was stored.",
                                    num=1),
                                  [_("Identifier (slug): a plan with slug %(slug)s already "
                                     "exists", slug=data["slug"])])
            plan = Plan(slug=data["slug"], status="draft")
            session.add(plan)
        else:
            plan = session.get(Plan, plan.id)
            refusals = plan_service._refusals(plan, data)
            if refusals:
                raise PlanChangeRefused(
                    _("This change would lose evidence or history; nothing was stored."),
                    refusals)
        plan_service._apply(plan, data, actor)
        session.flush()
        plan_service.freeze_origins(plan, refresh=plan.status == "draft")
        audit.record(action, actor=actor, object_type="plan", object_id=plan.slug,
                     changes=changes, **details)
    return plan, warnings


# --- form values -----------------------------------------------------------------------------

def _text(form: Mapping, prefix: str) -> dict:
    return {lang: form.get(f"{prefix}_{lang}", "").strip() for lang in LANGS
            if form.get(f"{prefix}_{lang}", "").strip()}


def _whole(value: str) -> Any:
    """A whole number when the text is one; else the text, for the validator to name."""
    value = (value or "").strip()
    try:
        return int(value)
    except ValueError:
        return value


def _decimal(value: str) -> Any:
    value = (value or "").strip().replace(",", ".") if value else ""
    if value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        return value
    return int(number) if number.is_integer() else number


def _list(form, name: str) -> list[str]:
    getter = getattr(form, "getlist", None)
    return list(getter(name)) if getter else list(form.get(name) or [])


def plan_fields(form: Mapping) -> dict:
    """Return the plan-level part of the file from the plan form."""
    grace = (form.get("grace_days") or "").strip()
    return {
        "slug": (form.get("slug") or "").strip(),
        "title": _text(form, "title"),
        "starts_on": (form.get("starts_on") or "").strip(),
        "ends_on": (form.get("ends_on") or "").strip(),
        "grace_days": _whole(grace) if grace else plan_service.DEFAULT_GRACE_DAYS,
        "consultations": [slug for slug in _list(form, "consultations") if slug],
    }


def milestone_fields(form: Mapping, prefix: str = "") -> dict:
    """Return a milestone of the file from the milestone form (field names after prefix)."""
    item: dict[str, Any] = {
        "number": _whole(form.get(f"{prefix}number", "")),
        "description": _text(form, f"{prefix}description"),
        "starts_on": (form.get(f"{prefix}starts_on") or "").strip(),
        "ends_on": (form.get(f"{prefix}ends_on") or "").strip(),
    }
    weight = _decimal(form.get(f"{prefix}weight", ""))
    if weight is not None:
        item["weight"] = weight
    verification = _text(form, f"{prefix}verification")
    if verification:
        item["verification"] = verification
    return item


def commitment_fields(form: Mapping) -> dict:
    """Return a commitment of the file (without milestones) from the commitment form."""
    item: dict[str, Any] = {
        "number": _whole(form.get("number", "")),
        "title": _text(form, "title"),
        "themes": [code for code in _list(form, "themes") if code],
        "starts_on": (form.get("starts_on") or "").strip(),
        "ends_on": (form.get("ends_on") or "").strip(),
        "lead_agency": (form.get("lead_agency") or "").strip(),
    }
    new = form.get("new", "")
    if new in ("yes", "no"):
        item["new"] = new == "yes"
    responsible = {key: form.get(f"responsible_{key}", "").strip()
                   for key in plan_service.RESPONSIBLE_KEYS
                   if form.get(f"responsible_{key}", "").strip()}
    if responsible:
        item["responsible"] = responsible
    actors = []
    index = 1
    while f"actor_name_{index}" in form or f"actor_sector_{index}" in form:
        name = form.get(f"actor_name_{index}", "").strip()
        sector = form.get(f"actor_sector_{index}", "").strip()
        if name or sector:
            actors.append({"name": name, "sector": sector})
        index += 1
    if actors:
        item["actors"] = actors
    for key in TEXT_FIELDS[1:]:
        text = _text(form, key)
        if text:
            item[key] = text
    values = [value for value in _list(form, "ogp_values") if value]
    if values:
        item["ogp_values"] = values
    indicator: dict[str, Any] = {}
    for key in ("name", "unit"):
        text = _text(form, f"indicator_{key}")
        if text:
            indicator[key] = text
    for key in ("baseline", "target"):
        value = _decimal(form.get(f"indicator_{key}", ""))
        if value is not None:
            indicator[key] = value
    if indicator:
        item["indicator"] = indicator
    return item


def plan_values(plan: Plan | None) -> dict:
    """Return the plan form's values for a plan (empty for a new one)."""
    if plan is None:
        return {"grace_days": plan_service.DEFAULT_GRACE_DAYS, "consultations": []}
    data = plan_service.export_plan(plan)
    values = {key: data[key] for key in ("slug", "starts_on", "ends_on", "grace_days",
                                         "consultations")}
    for lang in LANGS:
        values[f"title_{lang}"] = data["title"].get(lang, "")
    return values


def commitment_values(item: dict | None) -> dict:
    """Return the commitment form's values for a commitment of the file."""
    item = item or {}
    values: dict[str, Any] = {
        key: item.get(key, "") for key in ("number", "starts_on", "ends_on", "lead_agency")}
    values["themes"] = list(item.get("themes", []))
    values["ogp_values"] = list(item.get("ogp_values", []))
    values["new"] = {True: "yes", False: "no"}.get(item.get("new"), "")
    for key in TEXT_FIELDS:
        for lang in LANGS:
            values[f"{key}_{lang}"] = (item.get(key) or {}).get(lang, "")
    for key in plan_service.RESPONSIBLE_KEYS:
        values[f"responsible_{key}"] = (item.get("responsible") or {}).get(key, "")
    indicator = item.get("indicator") or {}
    for key in ("name", "unit"):
        for lang in LANGS:
            values[f"indicator_{key}_{lang}"] = (indicator.get(key) or {}).get(lang, "")
    for key in ("baseline", "target"):
        values[f"indicator_{key}"] = "" if indicator.get(key) is None else indicator[key]
    values["actors"] = list(item.get("actors", []))
    return values


def milestone_values(item: dict | None, prefix: str = "") -> dict:
    item = item or {}
    values = {f"{prefix}{key}": item.get(key, "") for key in ("number", "starts_on", "ends_on")}
    values[f"{prefix}weight"] = item.get("weight", 1)
    for key in ("description", "verification"):
        for lang in LANGS:
            values[f"{prefix}{key}_{lang}"] = (item.get(key) or {}).get(lang, "")
    return values


def form_values(form: Mapping) -> dict:
    """Return a posted form's values to show it again as the user typed it."""
    values: dict[str, Any] = {}
    for key in form:
        many = _list(form, key)
        values[key] = many if key in ("themes", "ogp_values", "consultations") else form.get(key)
    values.setdefault("themes", [])
    values.setdefault("ogp_values", [])
    values.setdefault("consultations", [])
    index, actors = 1, []
    while f"actor_name_{index}" in form:
        actors.append({"name": form.get(f"actor_name_{index}", ""),
                       "sector": form.get(f"actor_sector_{index}", "")})
        index += 1
    values["actors"] = actors
    return values


# --- choices ---------------------------------------------------------------------------------

def consultation_choices() -> list[Consultation]:
    return list(db.session.scalars(db.select(Consultation).order_by(Consultation.slug)))


def theme_choices(plan: Plan) -> list[tuple[str, dict]]:
    """Return (code, label) of the themes of the plan's consultations, each code once."""
    seen: dict[str, dict] = {}
    for consultation in plan.consultations:
        for theme in consultation.themes:
            seen.setdefault(theme.code, theme.name)
    return list(seen.items())


def find_item(data: dict, number: int) -> dict | None:
    return next((c for c in data["commitments"] if c["number"] == number), None)


# --- changes ---------------------------------------------------------------------------------

def create_plan(form: Mapping, actor) -> tuple[Plan, list[str]]:
    data = plan_fields(form)
    data["commitments"] = []
    return _save(None, data, actor, "plan.editor.created")


def update_plan(plan: Plan, form: Mapping, actor) -> tuple[Plan, list[str]]:
    data = plan_service.export_plan(plan)
    fields = plan_fields(form)
    fields["slug"] = plan.slug  # the slug names the plan's public addresses: it never changes
    data.update(fields)
    return _save(plan, data, actor, "plan.editor.updated")


def add_commitment(plan: Plan, form: Mapping, actor) -> tuple[Plan, list[str]]:
    data = plan_service.export_plan(plan)
    item = commitment_fields(form)
    item["milestones"] = [milestone_fields(form, "milestone_")]
    data["commitments"].append(item)
    return _save(plan, data, actor, "commitment.created", commitment=item["number"])


def update_commitment(plan: Plan, number: int, form: Mapping, actor) -> tuple[Plan, list]:
    data = plan_service.export_plan(plan)
    current = find_item(data, number)
    item = commitment_fields(form)
    item["milestones"] = current["milestones"]
    data["commitments"][data["commitments"].index(current)] = item
    return _save(plan, data, actor, "commitment.updated", commitment=number,
                 new_number=item["number"])


def remove_commitment(plan: Plan, number: int, actor) -> tuple[Plan, list]:
    data = plan_service.export_plan(plan)
    data["commitments"] = [c for c in data["commitments"] if c["number"] != number]
    return _save(plan, data, actor, "commitment.removed", commitment=number)


def add_milestone(plan: Plan, number: int, form: Mapping, actor) -> tuple[Plan, list]:
    data = plan_service.export_plan(plan)
    item = milestone_fields(form)
    find_item(data, number)["milestones"].append(item)
    return _save(plan, data, actor, "milestone.created", commitment=number,
                 milestone=item["number"])


def update_milestone(plan: Plan, number: int, milestone: int, form: Mapping, actor
                     ) -> tuple[Plan, list]:
    data = plan_service.export_plan(plan)
    milestones = find_item(data, number)["milestones"]
    current = next(m for m in milestones if m["number"] == milestone)
    item = milestone_fields(form)
    if "completed_on" in current:
        item["completed_on"] = current["completed_on"]  # the follow-up owns it
    milestones[milestones.index(current)] = item
    return _save(plan, data, actor, "milestone.updated", commitment=number,
                 milestone=milestone, new_number=item["number"])


def remove_milestone(plan: Plan, number: int, milestone: int, actor) -> tuple[Plan, list]:
    data = plan_service.export_plan(plan)
    item = find_item(data, number)
    item["milestones"] = [m for m in item["milestones"] if m["number"] != milestone]
    return _save(plan, data, actor, "milestone.removed", commitment=number,
                 milestone=milestone)


def approve(plan: Plan, actor) -> Plan:
    """Approve a plan that passes the file's rules (at least one commitment): freeze origins."""
    if plan.status == "approved":
        raise EditorError(_("The plan was already approved on %(day)s; its origins stay as "
                            "they were frozen then.", day=plan.approved_at.date().isoformat()))
    data = plan_service.export_plan(plan)
    problems, _warnings = plan_service.validate_plan(data)
    if problems:
        raise EditorError(_("The plan cannot be approved: %(num)d problem(s).",
                            num=len(problems)), [describe(p, data) for p in problems])
    return plan_service.approve_plan(plan, actor)
