"""The public board of a plan: every commitment's light, progress and origin as of a day.

The JSON is the contract of DESIGN.md ("Plans API"); the API and `plans board` return the
same dictionary. The lights come from app/services/lights.py, the origin from the rows frozen
when the plan was loaded or approved (never recomputed here).
"""

from __future__ import annotations

from datetime import date

from app.i18n import localized
from app.models import Commitment, Milestone, Plan
from app.services import lights
from app.services.plans import commitment_count, listed


def milestone_dates(milestone: Milestone) -> lights.MilestoneDates:
    return lights.MilestoneDates(starts_on=milestone.starts_on, ends_on=milestone.ends_on,
                                 weight=float(milestone.weight),
                                 completed_on=milestone.completed_on)


def commitment_state(commitment: Commitment, grace_days: int, as_of: date) -> dict:
    """Return {light, progress, expected, statuses, next_due} of a commitment as of a day."""
    dates = [milestone_dates(m) for m in commitment.milestones]
    index = lights.next_due(dates, as_of)
    return {
        "light": lights.commitment_light(commitment.starts_on, dates, grace_days, as_of),
        "progress": lights.progress(dates, as_of),
        "expected": lights.expected(dates, as_of),
        "statuses": [lights.milestone_status(d, as_of) for d in dates],
        "next_due": None if index is None else commitment.milestones[index].number,
    }


def board(plan: Plan, as_of: date, lang: str | None = None) -> dict:
    """Return the board JSON of DESIGN.md, with a few additive fields (title, period_ended)."""
    commitments = []
    for commitment in plan.commitments:
        state = commitment_state(commitment, plan.grace_days, as_of)
        commitments.append({
            "number": commitment.number,
            "title": localized(commitment.title, lang),
            "themes": commitment.theme_codes(),
            "lead_agency": commitment.lead_agency,
            "light": state["light"],
            "progress": state["progress"],
            "expected": state["expected"],
            "next_milestone": state["next_due"],
            "has_indicator": commitment.has_indicator,
            "origin": [
                {"consultation": row.consultation.slug, "theme": row.theme.code,
                 "rank": row.rank, "vote_share": row.vote_share}
                for row in commitment.origins
            ],
            "milestones": [
                {
                    "number": milestone.number,
                    "starts_on": milestone.starts_on.isoformat(),
                    "ends_on": milestone.ends_on.isoformat(),
                    "status": status,
                    # As the board stood that day: a later completion is not shown.
                    "completed_on": milestone.completed_on.isoformat()
                    if status == "complete" else None,
                }
                for milestone, status in zip(commitment.milestones, state["statuses"],
                                             strict=True)
            ],
        })
    return {
        "plan": plan.slug,
        "title": localized(plan.title, lang),
        "status": plan.status,
        "as_of": as_of.isoformat(),
        "starts_on": plan.starts_on.isoformat(),
        "ends_on": plan.ends_on.isoformat(),
        "grace_days": plan.grace_days,
        "period_ended": plan.period_ended(as_of),
        "summary": lights.summary(c["light"] for c in commitments),
        "commitments": commitments,
    }


def plan_summaries(lang: str | None = None) -> list[dict]:
    """Return [{slug, title, starts_on, ends_on, commitments}] of every plan (the API's list)."""
    return [
        {"slug": plan.slug, "title": localized(plan.title, lang),
         "starts_on": plan.starts_on.isoformat(), "ends_on": plan.ends_on.isoformat(),
         "commitments": commitment_count(plan), "status": plan.status}
        for plan in listed()
    ]


def board_table(payload: dict) -> str:
    """Return the board as a plain text table (the CLI's --format table)."""
    lines = [f"{payload['plan']}  {payload['as_of']}  "
             + "  ".join(f"{key}={value}" for key, value in payload["summary"].items())]
    for c in payload["commitments"]:
        lines.append(f"{c['number']:>3}  {c['light']:<11}  {c['progress']:>6.2%}  "
                     f"{c['expected']:>6.2%}  {c['lead_agency']}  {c['title']}")
    return "\n".join(lines)
