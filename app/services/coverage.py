"""Participation by place: the map's table, coverage against targets, and setting targets.

Counts come from datasets.py (one SQL aggregate per table, whatever the number of responses);
everything here works on tables of at most 125 rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import pandas as pd
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from app.extensions import db
from app.models import Consultation, Municipality, ParticipationTarget, Region, User
from app.services import audit, datasets
from app.services.datasets import FilterError, Filters, parse_filters
from app.services.errors import DomainError

METRICS = ("per_10k", "respondents", "target_share")
LEVELS = ("municipality", "region")
MAP_PARAMETERS = ("metric", "level", "theme", "sort", "order", "lang")
# The most a typed target can be: Jalisco's population (no place can exceed it).
MAX_TARGET = 8_400_000


@dataclass(frozen=True)
class MapQuery:
    """What the map shows: the respondents' filters, the metric, the level, an optional theme."""

    filters: Filters
    metric: str = "per_10k"
    level: str = "municipality"
    theme: str | None = None

    def as_args(self) -> dict:
        """Return the query as URL parameters (defaults left out)."""
        args = dict(self.filters.as_dict())
        if self.metric != "per_10k":
            args["metric"] = self.metric
        if self.level != "municipality":
            args["level"] = self.level
        if self.theme:
            args["theme"] = self.theme
        return args


def parse_map_query(consultation: Consultation, args) -> MapQuery:
    """Read filters, metric, level and theme; raise FilterError naming a bad parameter.

    Empty values mean "all" (the page's form sends every select, chosen or not).
    """
    args = {key: value for key, value in args.items() if value != ""}
    filters = parse_filters(consultation, args, ignore=MAP_PARAMETERS)
    metric = args.get("metric") or "per_10k"
    if metric not in METRICS:
        raise FilterError("metric", _("metric must be one of %(choices)s, not \"%(value)s\"",
                                      choices=", ".join(METRICS), value=metric))
    level = args.get("level") or "municipality"
    if level not in LEVELS:
        raise FilterError("level", _("level must be municipality or region, not \"%(value)s\"",
                                     value=level))
    theme = args.get("theme") or None
    if theme is not None and theme not in consultation.theme_by_code():
        raise FilterError("theme", _("\"%(value)s\" is not a theme of this consultation",
                                     value=theme))
    return MapQuery(filters=filters, metric=metric, level=level, theme=theme)


def participation_table(consultation: Consultation, query: MapQuery) -> pd.DataFrame:
    """Return one row per municipality (or region) with counts, rates, targets, theme share.

    Columns: place, name, region, region_name, metro, population, respondents, online, paper,
    per_10k, target, target_share, theme_count, theme_share, value (what the map colours:
    the theme's share of respondents when a theme is chosen, else the metric).
    """
    geography = datasets.geography_table()
    channels = datasets.municipality_channel_counts(consultation, query.filters)
    wide = (
        channels.pivot_table(index="municipality", columns="channel", values="respondents",
                             aggfunc="sum", fill_value=0)
        .reindex(columns=["online", "paper"], fill_value=0)
        .reset_index()
    )
    table = geography.merge(wide, on="municipality", how="left")
    table[["online", "paper"]] = table[["online", "paper"]].fillna(0).astype(int)
    table["respondents"] = table["online"] + table["paper"]
    if query.theme:
        themes = datasets.municipality_theme_counts(consultation, query.filters, query.theme)
        chosen = themes[["municipality", "count"]]
        table = table.merge(chosen.rename(columns={"count": "theme_count"}),
                            on="municipality", how="left")
        table["theme_count"] = table["theme_count"].fillna(0).astype(int)
    else:
        table["theme_count"] = 0
    targets = _targets(consultation)

    if query.level == "region":
        table = table.groupby(["region", "region_name"], as_index=False).agg(
            metro=("metro", "all"), population=("population", "sum"),
            online=("online", "sum"), paper=("paper", "sum"),
            respondents=("respondents", "sum"), theme_count=("theme_count", "sum"),
            municipalities=("municipality", "count"),
        )
        typed = targets["region"]
        summed = {}
        for code, value in targets["municipality"].items():
            region = int(geography.loc[geography["municipality"] == code, "region"].iloc[0])
            summed[region] = summed.get(region, 0) + value
        table["target"] = [typed.get(int(r), summed.get(int(r))) for r in table["region"]]
        table["place"] = table["region"].astype(str)
        table["name"] = table["region_name"]
    else:
        table["target"] = table["municipality"].map(targets["municipality"])
        table["place"] = table["municipality"]

    table["target"] = pd.to_numeric(table["target"], errors="coerce")
    table["per_10k"] = table["respondents"] / table["population"] * 10_000
    table["target_share"] = [
        (r / t) if t and not pd.isna(t) else math.nan
        for r, t in zip(table["respondents"], table["target"], strict=True)
    ]
    table["theme_share"] = [
        (c / r) if r else math.nan
        for c, r in zip(table["theme_count"], table["respondents"], strict=True)
    ]
    if query.theme:
        table["value"] = table["theme_share"]
    else:
        table["value"] = table[query.metric].astype(float)
    columns = ["place", "name", "region", "region_name", "metro", "population", "respondents",
               "online", "paper", "per_10k", "target", "target_share", "theme_count",
               "theme_share", "value"]
    return table[columns].reset_index(drop=True)


def suppressed_places(table: pd.DataFrame, min_cell: int, theme: bool = False) -> set[str]:
    """Return the places whose figure rests on fewer than min_cell respondents (but not none).

    With a theme, a place is also hidden when fewer than min_cell (but some) chose it, since
    its share times its respondents would give the count away.
    """
    few = (table["respondents"] > 0) & (table["respondents"] < min_cell)
    if theme:
        few |= (table["theme_count"] > 0) & (table["theme_count"] < min_cell)
    return set(table.loc[few, "place"])


def map_frame(table: pd.DataFrame, query: MapQuery) -> pd.DataFrame:
    """Return the per-municipality frame analysis.maps draws (regions spread to members)."""
    geography = datasets.geography_table()
    if query.level == "region":
        values = dict(zip(table["region"], table["value"], strict=True))
        frame = geography[["municipality", "region", "metro"]].copy()
        frame["value"] = frame["region"].map(values)
        return frame
    return table.rename(columns={"place": "municipality"})[
        ["municipality", "region", "metro", "value"]
    ]


def coverage_summary(table: pd.DataFrame) -> dict:
    """Return how many municipalities answered and the regions with no answer at all."""
    answered = int((table["respondents"] > 0).sum())
    by_region = table.groupby(["region", "region_name"])["respondents"].sum().reset_index()
    silent = list(by_region.loc[by_region["respondents"] == 0, "region_name"])
    return {"answered": answered, "total": len(table), "silent_regions": silent}


def summary_text(summary: dict) -> str:
    """Return the coverage summary as one translated sentence, for the map's text alternative."""
    text = ngettext(
        "%(answered)d of %(total)d municipality has answered",
        "%(answered)d of %(total)d municipalities have answered",
        summary["total"], answered=summary["answered"], total=summary["total"],
    )
    silent = summary["silent_regions"]
    if not silent:
        return text + "; " + _("every region has answers.")
    regions = ", ".join(silent)
    return text + "; " + ngettext("none yet in region %(regions)s.",
                                  "none yet in regions %(regions)s.",
                                  len(silent), regions=regions)


def coverage_rows(consultation: Consultation) -> pd.DataFrame:
    """Return the municipalities, silent ones first (largest first), then furthest from target.

    Beside them: paper forms issued (printed batches) and keyed (transcribed at least once).
    """
    table = participation_table(consultation, MapQuery(filters=Filters()))
    table["missing"] = [
        max(int(t) - r, 0) if not pd.isna(t) else math.nan
        for t, r in zip(table["target"], table["respondents"], strict=True)
    ]
    table["silent"] = table["respondents"] == 0
    paper = datasets.municipality_paper_counts(consultation)
    table = table.merge(paper.rename(columns={"municipality": "place"}), on="place", how="left")
    table[["issued", "keyed"]] = table[["issued", "keyed"]].fillna(0).astype(int)
    table["sort_share"] = table["target_share"].fillna(math.inf)
    table = table.sort_values(
        ["silent", "sort_share", "per_10k", "population"],
        ascending=[False, True, True, False],
    )
    return table.drop(columns=["sort_share"]).reset_index(drop=True)


# Targets ---------------------------------------------------------------------------------------


class InvalidTarget(DomainError):
    """A target could not be set; field names the form field at fault."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def _targets(consultation: Consultation) -> dict[str, dict]:
    rows = db.session.execute(
        select(ParticipationTarget.region_number, ParticipationTarget.municipality_code,
               ParticipationTarget.respondents)
        .where(ParticipationTarget.consultation_id == consultation.id)
    ).all()
    return {
        "region": {r: n for r, m, n in rows if r is not None},
        "municipality": {m: n for r, m, n in rows if m is not None},
    }


def list_targets(consultation: Consultation) -> list[dict]:
    """Return the targets set, regions first, with the place's name."""
    rows = db.session.execute(
        select(ParticipationTarget, Region.name, Municipality.name)
        .outerjoin(Region, Region.number == ParticipationTarget.region_number)
        .outerjoin(Municipality, Municipality.code == ParticipationTarget.municipality_code)
        .where(ParticipationTarget.consultation_id == consultation.id)
        .order_by(ParticipationTarget.region_number, ParticipationTarget.municipality_code)
    ).all()
    return [
        {"place": _place_key(target), "name": region_name or municipality_name,
         "level": "region" if target.region_number is not None else "municipality",
         "respondents": target.respondents, "source": target.source}
        for target, region_name, municipality_name in rows
    ]


def _place_key(target: ParticipationTarget) -> str:
    if target.region_number is not None:
        return f"r{target.region_number}"
    return f"m{target.municipality_code}"


def _parse_place(place: str) -> tuple[str, object]:
    """Turn "r3" or "m14039" into (level, key); raise InvalidTarget for anything else."""
    place = (place or "").strip()
    if place[:1] == "r" and place[1:].isdigit() and db.session.get(Region, int(place[1:])):
        return "region", int(place[1:])
    if place[:1] == "m" and db.session.get(Municipality, place[1:]) is not None:
        return "municipality", place[1:]
    raise InvalidTarget(_("\"%(value)s\" is not a region or a municipality of Jalisco",
                          value=place), "place")


def _region_codes(number: int) -> set[str]:
    return set(db.session.scalars(select(Municipality.code).where(
        Municipality.region_number == number)))


def _check_place_scope(actor: User, level: str, key, place: str) -> None:
    """Refuse a target outside the places the account works on (a regional supervisor's)."""
    codes = actor.municipality_codes()
    if codes is None:
        return
    inside = key in codes if level == "municipality" else _region_codes(key) <= codes
    if not inside:
        raise InvalidTarget(_("Your account may not set targets for \"%(value)s\": only for "
                              "the municipalities and regions it works on.", value=place),
                            "place")


def _parse_count(value: str) -> int:
    text = (value or "").strip()
    if not text:
        raise InvalidTarget(_("Type a target: a whole number of respondents."), "respondents")
    if not text.lstrip("-").isdigit():
        raise InvalidTarget(_("The target must be a whole number of respondents, not "
                              "\"%(value)s\".", value=text), "respondents")
    number = int(text)
    if number < 0:
        raise InvalidTarget(_("The target cannot be negative (%(value)s).", value=text),
                            "respondents")
    if number > MAX_TARGET:
        raise InvalidTarget(_("The target %(value)s is more than Jalisco's population.",
                              value=text), "respondents")
    return number


def _find(consultation: Consultation, level: str, key) -> ParticipationTarget | None:
    column = (ParticipationTarget.region_number if level == "region"
              else ParticipationTarget.municipality_code)
    return db.session.scalar(select(ParticipationTarget).where(
        ParticipationTarget.consultation_id == consultation.id, column == key))


def set_target(consultation: Consultation, place: str, respondents: str, actor: User) -> None:
    """Set (or replace) one typed target, audited; raise InvalidTarget and store nothing."""
    from app.database import write_transaction

    level, key = _parse_place(place)
    _check_place_scope(actor, level, key, place)
    number = _parse_count(respondents)
    with write_transaction():
        target = _find(consultation, level, key)
        before = target.respondents if target else None
        if target is None:
            target = ParticipationTarget(
                consultation_id=consultation.id,
                region_number=key if level == "region" else None,
                municipality_code=key if level == "municipality" else None,
            )
            db.session.add(target)
        target.respondents = number
        target.source = "typed"
        target.updated_by_id = actor.id
        audit.record("target.set", actor=actor, object_type="consultation",
                     object_id=consultation.slug, place=place, before=before, after=number)


def remove_target(consultation: Consultation, place: str, actor: User) -> None:
    """Remove one target, audited."""
    from app.database import write_transaction

    level, key = _parse_place(place)
    _check_place_scope(actor, level, key, place)
    with write_transaction():
        target = _find(consultation, level, key)
        if target is None:
            raise InvalidTarget(_("There is no target for \"%(value)s\".", value=place), "place")
        audit.record("target.remove", actor=actor, object_type="consultation",
                     object_id=consultation.slug, place=place, before=target.respondents)
        db.session.delete(target)


def parse_rate(value: str) -> Decimal:
    """Read a rate of respondents per 10,000 inhabitants: a number above 0, at most 10,000."""
    text = (value or "").strip().replace(",", ".")
    try:
        rate = Decimal(text)
    except InvalidOperation:
        rate = None
    if rate is None or not rate.is_finite():
        raise InvalidTarget(_("The rate must be a number of respondents per 10,000 inhabitants, "
                              "not \"%(value)s\".", value=value or ""), "rate")
    if not 0 < rate <= 10_000:
        raise InvalidTarget(_("The rate must be above 0 and at most 10,000, not %(value)s.",
                              value=text), "rate")
    return rate


def targets_from_population(
    consultation: Consultation, rate: str, level: str, actor: User
) -> int:
    """Set every region's or municipality's target to rate per 10,000 inhabitants (rounded up).

    Replaces the targets already set at that level; returns how many were set. Audited.
    """
    from app.database import write_transaction

    if level not in LEVELS:
        raise InvalidTarget(_("level must be municipality or region, not \"%(value)s\"",
                              value=level), "level")
    per_10k = parse_rate(rate)
    geography = datasets.geography_table()
    if level == "region":
        populations = geography.groupby("region")["population"].sum().to_dict()
    else:
        populations = dict(zip(geography["municipality"], geography["population"], strict=True))
    codes = actor.municipality_codes()
    if codes is not None:
        # A supervisor with a scope sets the targets of their own places only.
        populations = {key: population for key, population in populations.items()
                       if (str(key) in codes if level == "municipality"
                           else _region_codes(int(key)) <= codes)}
        if not populations:
            raise InvalidTarget(_("Your account works on no whole region: set the targets of "
                                  "its municipalities instead."), "level")
    with write_transaction():
        column = (ParticipationTarget.region_number if level == "region"
                  else ParticipationTarget.municipality_code)
        existing = {getattr(t, column.key): t for t in db.session.scalars(
            select(ParticipationTarget).where(
                ParticipationTarget.consultation_id == consultation.id, column.is_not(None)))}
        for key, population in populations.items():
            key = int(key) if level == "region" else key
            number = math.ceil(Decimal(int(population)) * per_10k / 10_000)
            target = existing.get(key)
            if target is None:
                target = ParticipationTarget(consultation_id=consultation.id)
                setattr(target, column.key, key)
                db.session.add(target)
            target.respondents = number
            target.source = "population"
            target.updated_by_id = actor.id
        audit.record("target.from_population", actor=actor, object_type="consultation",
                     object_id=consultation.slug, level=level, rate=str(per_10k),
                     count=len(populations))
    return len(populations)
