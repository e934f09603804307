"""What the public pages of a plan show: the board with its filters, and a commitment's page.

The lights, progress and milestone statuses come from plan_board.board() (the API's JSON), so
the page and `GET /api/v1/plans/<slug>/board` always agree for the same day. Only what is
public is read here: accepted evidence, the milestones' history (kinds, dates and reasons,
never who), indicator values backed by accepted evidence (or by none), assessments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from app.extensions import db
from app.i18n import FALLBACK_LANGUAGE
from app.models import Commitment, Plan
from app.models.plan import Assessment, Evidence, IndicatorReport, MilestoneEvent
from app.services.lights import LIGHTS
from app.services.plan_board import board

FILTERS = ("theme", "agency", "light")


@dataclass(frozen=True)
class Text:
    """A plan text in the language asked for, or in the other one (`fallback` says which)."""

    text: str
    lang: str
    fallback: bool

    def __bool__(self) -> bool:
        return bool(self.text)

    def __str__(self) -> str:
        return self.text


def text_in(content: dict | str | None, lang: str) -> Text:
    """Return content in `lang`, else in the other language, marked as a fallback."""
    if not content:
        return Text("", lang, False)
    if isinstance(content, str):
        return Text(content, lang, False)
    if (content.get(lang) or "").strip():
        return Text(content[lang], lang, False)
    for other in (FALLBACK_LANGUAGE, *content):
        if (content.get(other) or "").strip():
            return Text(content[other], other, other != lang)
    return Text("", lang, False)


def parse_day(value: str | None) -> date | None:
    """Return the day a visitor typed (YYYY-MM-DD); ValueError when it is not one."""
    if value is None or value.strip() == "":
        return None
    value = value.strip()
    if len(value) != 10:
        raise ValueError(value)
    return date.fromisoformat(value)


@dataclass
class BoardView:
    payload: dict
    filters: dict[str, str]
    shown: list[dict]
    themes: list[tuple[str, Text]]
    agencies: list[str]
    theme_names: dict[str, Text] = field(default_factory=dict)


def theme_names(plan: Plan, lang: str) -> dict[str, Text]:
    """Return {code: name} of the themes of the plan's consultations (first one wins)."""
    names: dict[str, Text] = {}
    for consultation in plan.consultations:
        for theme in consultation.themes:
            names.setdefault(theme.code, text_in(theme.name, lang))
    return names


def board_view(plan: Plan, as_of: date, lang: str, filters: dict[str, str]) -> BoardView:
    """Return the board of the day and the commitments that pass the filters.

    Filters with values the plan does not have are ignored (the form only offers real ones);
    the summary always counts every commitment, so the lights stay comparable with the API.
    """
    payload = board(plan, as_of, lang)
    names = theme_names(plan, lang)
    used_themes: list[str] = []
    agencies: list[str] = []
    for item in payload["commitments"]:
        for code in item["themes"]:
            if code not in used_themes:
                used_themes.append(code)
        if item["lead_agency"] not in agencies:
            agencies.append(item["lead_agency"])
    chosen = {
        "theme": filters.get("theme") if filters.get("theme") in used_themes else "",
        "agency": filters.get("agency") if filters.get("agency") in agencies else "",
        "light": filters.get("light") if filters.get("light") in LIGHTS else "",
    }
    shown = [
        item for item in payload["commitments"]
        if (not chosen["theme"] or chosen["theme"] in item["themes"])
        and (not chosen["agency"] or item["lead_agency"] == chosen["agency"])
        and (not chosen["light"] or item["light"] == chosen["light"])
    ]
    themes = [(code, names.get(code, Text(code, lang, False))) for code in used_themes]
    return BoardView(payload=payload, filters=chosen, shown=shown, themes=themes,
                     agencies=sorted(agencies, key=str.casefold), theme_names=names)


def commitment_of(plan: Plan, number: int) -> Commitment | None:
    return plan.commitment_by_number().get(number)


def public_evidence(commitment: Commitment) -> list[Evidence]:
    """Return the commitment's accepted evidence, by the day the work was done."""
    return list(db.session.scalars(
        db.select(Evidence).where(Evidence.commitment_id == commitment.id,
                                  Evidence.state == "accepted")
        .order_by(Evidence.done_on, Evidence.id)))


def latest_indicator(commitment: Commitment) -> IndicatorReport | None:
    """Return the newest indicator value backed by accepted evidence (or by none)."""
    reports = db.session.scalars(
        db.select(IndicatorReport).where(IndicatorReport.commitment_id == commitment.id)
        .order_by(IndicatorReport.measured_on.desc(), IndicatorReport.id.desc()))
    for report in reports:
        if report.evidence is None or report.evidence.state == "accepted":
            return report
    return None


def history(commitment: Commitment) -> list[MilestoneEvent]:
    """Return every event of the commitment's milestones, newest first (all are public:
    submissions, reviews with their reasons, reopenings, completions)."""
    ids = [m.id for m in commitment.milestones]
    if not ids:
        return []
    return list(db.session.scalars(
        db.select(MilestoneEvent).where(MilestoneEvent.milestone_id.in_(ids))
        .order_by(MilestoneEvent.at.desc(), MilestoneEvent.id.desc())))


def latest_assessment(commitment: Commitment) -> Assessment | None:
    return db.session.scalar(
        db.select(Assessment).where(Assessment.commitment_id == commitment.id)
        .order_by(Assessment.assessed_at.desc(), Assessment.id.desc()).limit(1))


def commitment_view(plan: Plan, commitment: Commitment, as_of: date, lang: str) -> dict:
    """Return what the commitment's page shows as of a day (its row of the API's board)."""
    payload = board(plan, as_of, lang)
    row = next(c for c in payload["commitments"] if c["number"] == commitment.number)
    evidence = public_evidence(commitment)
    by_milestone: dict[int | None, list[Evidence]] = {}
    for item in evidence:
        by_milestone.setdefault(item.milestone_id, []).append(item)
    return {
        "board": payload,
        "row": row,
        "statuses": {m["number"]: m for m in row["milestones"]},
        "evidence": evidence,
        "evidence_by_milestone": by_milestone,
        "public_evidence_ids": {item.id for item in evidence},
        "indicator": latest_indicator(commitment),
        "history": history(commitment),
        "assessment": latest_assessment(commitment),
        "theme_names": theme_names(plan, lang),
    }
