"""Workshop plans: propose a grouping of the top themes, edit and save it, build shortlists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from analysis.grouping import group_themes
from analysis.ranking import ranking as rank_themes
from app.extensions import db
from app.i18n import localized
from app.models import (
    Answer,
    Consultation,
    HiddenStatement,
    Question,
    Response,
    ResponseTheme,
    Theme,
    User,
    Workshop,
    WorkshopPlan,
    WorkshopTheme,
)
from app.services import audit, datasets, results
from app.services.anonymize import scrub
from app.services.datasets import Filters, parse_filters
from app.services.errors import DomainError
from app.util import local_today, utcnow

PLANNER_ROLES = ("facilitator", "analyst")
# Analysts (and admins) may plan on a running consultation; facilitators only on closed ones.
RUNNING_ROLES = ("analyst",)
WEIGHTINGS = results.WEIGHTS
STATEMENT_SAMPLE = 8
NO_FILTERS = Filters()


class PlanError(DomainError):
    """A plan cannot be made or saved as asked; problems lists every reason."""


class NotAllowed(DomainError):
    """The account may not plan workshops on this consultation (e.g. it is still running)."""


# -- who may plan what ------------------------------------------------------------------------


def may_plan(user: User, consultation: Consultation) -> bool:
    """Facilitators plan on closed consultations; analysts and admins on running ones too."""
    if consultation.is_draft or not user.has_role(*PLANNER_ROLES):
        return False
    status = consultation.status(local_today())
    if status == "closed":
        return True
    return status == "open" and user.has_role(*RUNNING_ROLES)


def check_may_plan(user: User, consultation: Consultation) -> None:
    if not may_plan(user, consultation):
        raise NotAllowed(_("Workshops can be planned on a consultation once it closes "
                           "(analysts may also plan on a running one)."))


def plannable(user: User) -> list[Consultation]:
    """Return the consultations the account may plan workshops on, latest first."""
    found = db.session.scalars(
        select(Consultation).where(Consultation.is_draft.is_(False))
        .order_by(Consultation.closes_on.desc(), Consultation.id)
    ).all()
    return [consultation for consultation in found if may_plan(user, consultation)]


def plans_of(consultation: Consultation) -> list[WorkshopPlan]:
    return list(db.session.scalars(
        select(WorkshopPlan).where(WorkshopPlan.consultation_id == consultation.id)
        .order_by(WorkshopPlan.created_at.desc(), WorkshopPlan.id.desc())
    ))


def get_plan(user: User, plan_id: int) -> WorkshopPlan | None:
    """Return the plan, or None if it does not exist; raise NotAllowed if the user may not."""
    plan = db.session.get(WorkshopPlan, plan_id)
    if plan is not None:
        check_may_plan(user, plan.consultation)
    return plan


# -- numbers ----------------------------------------------------------------------------------


def plan_filters(consultation: Consultation, stored: dict) -> Filters:
    """Rebuild Filters from a plan's stored filters (the API's parameter names)."""
    return parse_filters(consultation, MultiDict({key: str(value)
                                                  for key, value in stored.items()}))


def theme_table(consultation: Consultation, filters: Filters = NO_FILTERS,
                weighting: str = "none", intervals: bool = True) -> pd.DataFrame:
    """Return the ranking, best first: theme, votes, vote_share, respondent_share, borda, rank,
    and with intervals ci95 (low, high); attrs respondents and votes.

    The numbers come from app.services.results (the API's ranking), so a shortlist and the
    API agree exactly for the same filters and weighting. Without intervals (for ordering the
    themes on a form) the bootstrap is skipped.
    """
    if intervals:
        table, details, _weights, respondents = results.ranking_table(consultation, filters,
                                                                      weighting)
        table = table.copy()
        table["ci95"] = list(zip(table["low"].astype(float), table["high"].astype(float),
                                 strict=True))
    else:
        respondents = datasets.respondent_count(consultation, filters)
        table = rank_themes(datasets.theme_position_counts(consultation, filters),
                            [theme.code for theme in consultation.themes], respondents,
                            consultation.theme_max, ranked=consultation.theme_ranked)
        details = None
    table.attrs["respondents"] = respondents
    table.attrs["votes"] = number(table["votes"].sum())
    table.attrs["weighting_details"] = details
    return table


def theme_order(table: pd.DataFrame) -> list[str]:
    """Return the theme codes by rank; within a tied rank, higher Borda (chosen earlier in
    people's lists) first, then by code."""
    ordered = table.assign(_borda=pd.to_numeric(table["borda"], errors="coerce").fillna(0))
    ordered = ordered.sort_values(["rank", "_borda", "theme"], ascending=[True, False, True],
                                  kind="mergesort")
    return ordered["theme"].tolist()


def number(value) -> int | float:
    """Return a whole count as int, a weighted one as a float rounded to 0.1."""
    value = float(value)
    return int(round(value)) if abs(value - round(value)) < 1e-9 else round(value, 1)


def association(consultation: Consultation, filters: Filters,
                themes: list[str]) -> pd.DataFrame:
    """Return phi between the given themes (theme × theme, diagonal 1); undefined pairs 0."""
    square = results.cooccurrence_matrix(consultation, filters, "phi", diagonal=1.0)
    return square.loc[themes, themes].fillna(0.0)


def default_theme_count(table: pd.DataFrame, n_workshops: int) -> int:
    """Return how many top themes hold 80% of the votes, at least n_workshops."""
    voted = table[table["votes"] > 0]
    if voted.empty:
        return 0
    cumulative = voted["vote_share"].cumsum().tolist()
    needed = next((i + 1 for i, share in enumerate(cumulative) if share >= 0.8 - 1e-9),
                  len(voted))
    return min(max(needed, n_workshops), len(voted))


def propose(consultation: Consultation, n_workshops: int, n_themes: int | None = None,
            filters: Filters = NO_FILTERS) -> list[list[str]]:
    """Return the top themes grouped into n_workshops lists of codes (see analysis.grouping)."""
    table = theme_table(consultation, filters, intervals=False)
    if table.attrs["respondents"] == 0:
        raise PlanError(_("This consultation has no accepted responses (with these filters): "
                          "there are no votes to group."))
    voted = table[table["votes"] > 0]
    problems = []
    if n_workshops < 1:
        problems.append(_("Number of workshops: choose at least one."))
    if n_themes is None:
        n_themes = default_theme_count(table, max(n_workshops, 1))
    if n_themes > len(voted):
        problems.append(ngettext(
            "Number of themes: only %(num)d theme has votes.",
            "Number of themes: only %(num)d themes have votes.", len(voted)))
    elif n_workshops > n_themes:
        problems.append(_("Number of workshops: %(workshops)d workshops need at least "
                          "%(workshops)d themes, but only %(themes)d were chosen.",
                          workshops=n_workshops, themes=n_themes))
    if problems:
        raise PlanError(problems[0], problems)
    top = theme_order(voted)[:n_themes]
    return group_themes(association(consultation, filters, top), n_workshops, order=top)


# -- saving -----------------------------------------------------------------------------------


@dataclass
class WorkshopDraft:
    """A workshop as submitted: names in both languages and theme codes in order."""

    name: dict
    themes: list[str]


def _validate(consultation: Consultation, name: str, drafts: list[WorkshopDraft]) -> list[str]:
    problems = []
    if not name.strip():
        problems.append(_("Plan name: write a name."))
    elif len(name) > 120:
        problems.append(_("Plan name: at most 120 characters."))
    if not drafts:
        problems.append(_("A plan needs at least one workshop."))
    known = consultation.theme_by_code()
    seen: dict[str, int] = {}
    for number, draft in enumerate(drafts, start=1):
        for lang, label in (("es", _("Spanish")), ("en", _("English"))):
            if not (draft.name.get(lang) or "").strip():
                problems.append(_("Workshop %(number)d: write its name in %(language)s.",
                                  number=number, language=label))
        if not draft.themes:
            problems.append(_("Workshop %(number)d has no themes: add one, or remove the "
                              "workshop.", number=number))
        for code in draft.themes:
            if code not in known:
                problems.append(_("Workshop %(number)d: \"%(theme)s\" is not a theme of this "
                                  "consultation.", number=number, theme=code))
            elif code in seen:
                problems.append(_("The theme \"%(theme)s\" is in workshops %(first)d and "
                                  "%(second)d: a theme goes in one workshop only.",
                                  theme=localized(known[code].name), first=seen[code],
                                  second=number))
            else:
                seen[code] = number
    return problems


def _apply(plan: WorkshopPlan, consultation: Consultation, drafts: list[WorkshopDraft]) -> None:
    """Replace the plan's workshops; old rows are deleted first (unique theme per plan)."""
    for workshop in list(plan.workshops):
        db.session.delete(workshop)
    plan.workshops = []
    db.session.flush()
    themes = consultation.theme_by_code()
    for position, draft in enumerate(drafts, start=1):
        workshop = Workshop(position=position, name={"es": draft.name["es"].strip(),
                                                     "en": draft.name["en"].strip()})
        plan.workshops.append(workshop)
        for theme_position, code in enumerate(draft.themes, start=1):
            workshop.themes.append(WorkshopTheme(plan_id=plan.id, theme_id=themes[code].id,
                                                 position=theme_position))


def default_name(consultation: Consultation, codes: list[str]) -> dict:
    """Name a proposed workshop after its themes, in both languages."""
    themes = consultation.theme_by_code()
    return {lang: " · ".join(localized(themes[code].name, lang) for code in codes[:2])
            for lang in ("es", "en")}


def create_plan(consultation: Consultation, *, name: str, n_workshops: int,
                n_themes: int | None, filters: Filters, weighting: str,
                actor: User) -> WorkshopPlan:
    """Propose a grouping and store it as a new plan (who and when); raise PlanError."""
    check_may_plan(actor, consultation)
    if weighting not in WEIGHTINGS:
        raise PlanError(_("Weighting: \"%(value)s\" is not available.", value=weighting))
    groups = propose(consultation, n_workshops, n_themes, filters)
    drafts = [WorkshopDraft(default_name(consultation, codes), codes) for codes in groups]
    problems = _validate(consultation, name, drafts)
    if problems:
        raise PlanError(problems[0], problems)
    now = utcnow()
    plan = WorkshopPlan(
        consultation_id=consultation.id, name=name.strip(), created_by_id=actor.id,
        created_at=now, updated_by_id=actor.id, updated_at=now, filters=filters.as_dict(),
        weighting=weighting, snapshot_at=now, snapshot_version=consultation.version,
        snapshot_respondents=datasets.respondent_count(consultation),
    )
    db.session.add(plan)
    db.session.flush()
    _apply(plan, consultation, drafts)
    audit.record("workshop_plan.create", actor=actor, object_type="workshop_plan",
                 object_id=plan.id, consultation=consultation.slug, workshops=n_workshops)
    return plan


def save_plan(plan: WorkshopPlan, *, name: str, drafts: list[WorkshopDraft],
              actor: User) -> None:
    """Replace the plan's name and workshops after checking them all; raise PlanError."""
    consultation = plan.consultation
    check_may_plan(actor, consultation)
    problems = _validate(consultation, name, drafts)
    if problems:
        raise PlanError(problems[0], problems)
    plan.name = name.strip()
    plan.updated_by_id = actor.id
    plan.updated_at = utcnow()
    _apply(plan, consultation, drafts)
    audit.record("workshop_plan.update", actor=actor, object_type="workshop_plan",
                 object_id=plan.id, workshops=len(drafts))


def refresh_snapshot(plan: WorkshopPlan, actor: User) -> None:
    """Accept the consultation as it is now: the plan's numbers are current again."""
    check_may_plan(actor, plan.consultation)
    plan.snapshot_at = utcnow()
    plan.snapshot_version = plan.consultation.version
    plan.snapshot_respondents = datasets.respondent_count(plan.consultation)
    audit.record("workshop_plan.refresh", actor=actor, object_type="workshop_plan",
                 object_id=plan.id)


@dataclass(frozen=True)
class Change:
    """Whether the consultation changed since the plan was made, and when each happened."""

    changed: bool
    plan_date: datetime
    consultation_date: datetime | None
    respondents_then: int
    respondents_now: int


def change_since(plan: WorkshopPlan) -> Change:
    """Compare the plan's snapshot with the consultation's definition and responses now."""
    consultation = plan.consultation
    now = datasets.respondent_count(consultation)
    last = last_change_at(consultation)
    changed = consultation.version != plan.snapshot_version or now != plan.snapshot_respondents
    if not changed and last is not None and last > plan.snapshot_at:
        changed = True
    return Change(changed, plan.snapshot_at, last, plan.snapshot_respondents, now)


def last_change_at(consultation: Consultation) -> datetime | None:
    """Return when the consultation's definition or its responses last changed."""
    latest = db.session.execute(
        select(func.max(Response.submitted_at), func.max(Response.voided_at))
        .where(Response.consultation_id == consultation.id)
    ).one()
    moments = [moment for moment in (consultation.updated_at, *latest) if moment is not None]
    return max(moments) if moments else None


# -- shortlist --------------------------------------------------------------------------------


def statements(consultation: Consultation, theme_codes: list[str], filters: Filters = NO_FILTERS,
               limit: int = STATEMENT_SAMPLE, include_hidden: bool = False) -> list[dict]:
    """Return a sample of anonymized problem statements by respondents who chose the themes.

    The sample is deterministic (a fixed scramble of answer ids, computed in SQL) so two
    people looking at the same plan see the same statements.
    """
    theme_ids = [theme.id for theme in consultation.themes if theme.code in theme_codes]
    text_ids = [question.id for question in consultation.questions if question.type == "text"]
    if not theme_ids or not text_ids:
        return []
    chosen = select(ResponseTheme.response_id).where(ResponseTheme.theme_id.in_(theme_ids))
    ids = datasets.filtered_response_ids(consultation, filters).subquery()
    query = (
        select(Answer.id, Answer.text_value, HiddenStatement.answer_id.is_not(None))
        .join(ids, ids.c.id == Answer.response_id)
        .outerjoin(HiddenStatement, HiddenStatement.answer_id == Answer.id)
        .where(Answer.question_id.in_(text_ids), Answer.response_id.in_(chosen),
               Answer.text_value.is_not(None), Answer.text_value != "")
        .order_by((Answer.id * 7919) % 10007, Answer.id)
        .limit(limit * 3)
    )
    if not include_hidden:
        query = query.where(HiddenStatement.answer_id.is_(None))
    out = []
    for answer_id, text, hidden in db.session.execute(query):
        cleaned = scrub(text)
        if cleaned and len(out) < limit:
            out.append({"id": answer_id, "text": cleaned, "hidden": bool(hidden)})
    return out


def hidden_statements(consultation: Consultation, theme_codes: list[str]) -> list[dict]:
    """Return the hidden statements of respondents who chose the themes (to show them again)."""
    theme_ids = [theme.id for theme in consultation.themes if theme.code in theme_codes]
    if not theme_ids:
        return []
    chosen = select(ResponseTheme.response_id).where(ResponseTheme.theme_id.in_(theme_ids))
    query = (
        select(Answer.id, Answer.text_value)
        .join(HiddenStatement, HiddenStatement.answer_id == Answer.id)
        .where(HiddenStatement.consultation_id == consultation.id,
               Answer.response_id.in_(chosen))
        .order_by(HiddenStatement.hidden_at, Answer.id)
    )
    return [{"id": answer_id, "text": scrub(text), "hidden": True}
            for answer_id, text in db.session.execute(query)]


def hide_statement(consultation: Consultation, answer_id: int, actor: User,
                   hidden: bool = True) -> None:
    """Hide (or show again) a statement of this consultation; refuse another's answer."""
    check_may_plan(actor, consultation)
    belongs = db.session.scalar(
        select(Answer.id).join(Response, Response.id == Answer.response_id)
        .join(Question, Question.id == Answer.question_id)
        .where(Answer.id == answer_id, Response.consultation_id == consultation.id,
               Question.type == "text")
    )
    if belongs is None:
        raise PlanError(_("Statement %(number)d is not a statement of this consultation.",
                          number=answer_id))
    existing = db.session.get(HiddenStatement, answer_id)
    if hidden and existing is None:
        db.session.add(HiddenStatement(answer_id=answer_id, consultation_id=consultation.id,
                                       hidden_by_id=actor.id))
    elif not hidden and existing is not None:
        db.session.delete(existing)
    audit.record("statement.hide" if hidden else "statement.show", actor=actor,
                 object_type="answer", object_id=answer_id)


def sector_question(consultation: Consultation) -> Question | None:
    """Return the single-choice question about sector, if the consultation asks one."""
    questions = consultation.question_by_code()
    question = questions.get("sector")
    return question if question is not None and question.type == "single" else None


def _ranks(votes: pd.Series) -> pd.Series:
    return votes.rank(method="min", ascending=False).astype(int)


def region_ranks(consultation: Consultation, filters: Filters, min_cell: int) -> pd.DataFrame:
    """Return region × theme ranks (1 = most voted in that region); regions with fewer than
    min_cell respondents are left out (suppressed)."""
    counts = datasets.region_theme_counts(consultation, filters)
    codes = [theme.code for theme in consultation.themes]
    people = datasets.municipality_channel_counts(consultation, filters)
    geography = datasets.geography_table().set_index("municipality")
    if people.empty:
        return pd.DataFrame(columns=codes)
    people["region"] = people["municipality"].map(geography["region"])
    per_region = people.groupby("region")["respondents"].sum()
    table = counts.pivot_table(index="region", columns="theme", values="count",
                               aggfunc="sum", fill_value=0).reindex(columns=codes, fill_value=0)
    table = table[table.index.map(lambda region: per_region.get(region, 0) >= min_cell)]
    return table.apply(_ranks, axis=1)


def sector_ranks(consultation: Consultation, filters: Filters, min_cell: int) -> pd.DataFrame:
    """Return sector option × theme ranks; options with fewer than min_cell respondents out."""
    question = sector_question(consultation)
    codes = [theme.code for theme in consultation.themes]
    if question is None or question.code in filters.options:
        return pd.DataFrame(columns=codes)
    rows = {}
    for option in question.options:
        narrowed = Filters(channel=filters.channel, region=filters.region,
                           municipality=filters.municipality, metro=filters.metro,
                           options={**filters.options, question.code: option.code})
        if datasets.respondent_count(consultation, narrowed) < min_cell:
            continue
        counts = datasets.theme_position_counts(consultation, narrowed)
        votes = counts.groupby("theme")["count"].sum().reindex(codes, fill_value=0)
        rows[option.code] = _ranks(votes)
    return pd.DataFrame(rows).T.reindex(columns=codes) if rows else pd.DataFrame(columns=codes)


def shortlist(plan: WorkshopPlan, min_cell: int = 5, lang: str | None = None) -> dict:
    """Return everything a shortlist shows: per workshop, its themes' numbers and statements."""
    consultation = plan.consultation
    filters = plan_filters(consultation, plan.filters)
    table = theme_table(consultation, filters, plan.weighting).set_index("theme")
    regions = region_ranks(consultation, filters, min_cell)
    sectors = sector_ranks(consultation, filters, min_cell)
    question = sector_question(consultation)
    names = {theme.code: localized(theme.name, lang) for theme in consultation.themes}
    workshops = []
    for workshop in plan.workshops:
        codes = [row.theme.code for row in workshop.themes]
        themes = []
        for code in codes:
            row = table.loc[code]
            borda = row["borda"]
            themes.append({
                "code": code, "name": names[code], "votes": number(row["votes"]),
                "vote_share": float(row["vote_share"]),
                "respondent_share": float(row["respondent_share"]),
                "borda": None if borda is None or pd.isna(borda) else number(borda),
                "rank": int(row["rank"]),
                "ci95": row["ci95"],
                "regions": {int(region): int(regions.loc[region, code])
                            for region in regions.index},
                "sectors": {option: int(sectors.loc[option, code]) for option in sectors.index},
            })
        workshops.append({
            "workshop": workshop, "position": workshop.position,
            "name": localized(workshop.name, lang), "themes": themes,
            "statements": statements(consultation, codes, filters),
            "hidden": hidden_statements(consultation, codes),
        })
    return {
        "plan": plan, "consultation": consultation, "filters": filters,
        "respondents": table.attrs["respondents"], "votes": table.attrs["votes"],
        "regions": [int(region) for region in regions.index],
        "region_names": datasets.geography_table().drop_duplicates("region")
        .set_index("region")["region_name"].to_dict(),
        "sector_question": question,
        "sectors": [option for option in (question.options if question else [])
                    if option.code in sectors.index],
        "workshops": workshops, "change": change_since(plan), "computed_at": utcnow(),
    }


def unassigned_themes(plan: WorkshopPlan) -> list[Theme]:
    used = {row.theme_id for workshop in plan.workshops for row in workshop.themes}
    return [theme for theme in plan.consultation.themes if theme.id not in used]

