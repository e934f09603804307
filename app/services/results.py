"""Results of a consultation: count tables from datasets.py through analysis/ into plain dicts.

The API, the CLI and the dashboard all call these functions, so they show the same numbers for
the same filters. Theme names come in the language asked for (`lang`: "es" or "en"; Spanish
when absent); the analysis itself never depends on the language.
"""

from __future__ import annotations

import copy
import dataclasses
from collections import OrderedDict
from typing import Any

import numpy as np
import pandas as pd
from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _

from analysis import charts, cooccurrence, differences, weighting
from analysis import participation as participation_analysis
from analysis.ranking import concentration, position_counts_from_patterns
from analysis.ranking import ranking as rank_themes
from analysis.uncertainty import SEED, TOP_K, bootstrap
from app.i18n import localized
from app.models import Consultation
from app.services import datasets
from app.services.datasets import Filters
from app.util import local_today

WEIGHTS = ("none", "population")
LEVEL = 0.95
# No filter: every accepted response.
ALL = Filters()


class BadParameter(ValueError):
    """A results parameter (other than a filter) is not valid; parameter names it."""

    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter
        self.message = message


def check_weight(value: str | None) -> str:
    """Return the weighting asked for ("none" when absent); BadParameter for anything else."""
    if value is None or value == "":
        return "none"
    if value not in WEIGHTS:
        raise BadParameter("weight", _("weight must be none or population, not \"%(value)s\"",
                                       value=value))
    return value


def _replicates() -> int:
    return int(current_app.config.get("BOOTSTRAP_REPLICATES", 1000))


def _number(value: float) -> int | float:
    """Return an int for a whole count (unweighted), else a float; JSON-ready."""
    value = float(value)
    return int(value) if value.is_integer() else value


def consultation_summaries(lang: str | None = None) -> list[dict]:
    """Return [{slug, title, status, opens_on, closes_on, respondents}] of published ones."""
    from app.services.consultations import listed

    today = local_today()
    return [
        {
            "slug": c.slug,
            "title": localized(c.title, lang),
            "status": c.status(today),
            "opens_on": c.opens_on.isoformat(),
            "closes_on": c.effective_closes_on.isoformat(),
            "respondents": datasets.respondent_count(c),
        }
        for c in listed()
    ]


def region_weights(consultation: Consultation, filters: Filters) -> pd.DataFrame:
    """Return the post-stratification table (analysis.weighting.region_weights) for the filters."""
    geography = datasets.geography_table()
    counts = datasets.municipality_channel_counts(consultation, filters)
    region_of = geography.set_index("municipality")["region"]
    per_region = counts.assign(region=counts["municipality"].map(region_of))[
        ["region", "respondents"]]
    population = geography.groupby("region", as_index=False)["population"].sum()
    if filters.region is not None or filters.municipality or filters.metro is not None:
        # The target is the population the filtered respondents could come from.
        population = population[population["region"].isin(_reachable_regions(geography,
                                                                             filters))]
    table = weighting.region_weights(per_region, population)
    names = geography.drop_duplicates("region").set_index("region")["region_name"]
    table.insert(1, "name", table["region"].map(names))
    return table


def _reachable_regions(geography: pd.DataFrame, filters: Filters) -> set[int]:
    rows = geography
    if filters.region is not None:
        rows = rows[rows["region"] == filters.region]
    if filters.municipality:
        rows = rows[rows["municipality"] == filters.municipality]
    if filters.metro is not None:
        rows = rows[rows["metro"].astype(bool) == filters.metro]
    return set(rows["region"])


# Computed results (a ranking with its bootstrap, the dashboard's comparisons) are kept per
# process under datasets' cache key, which any new, imported or voided response changes: a
# repeated request costs the key's two index lookups, and is never stale.
_RESULT_CACHE: OrderedDict = OrderedDict()
RESULT_CACHE_SIZE = 32


def _cached(name: str, consultation: Consultation, filters: Filters, options: tuple, compute):
    """Return a deep copy of compute()'s result, computed once per key (callers may modify it)."""
    key = (name, options, *datasets.cache_key(consultation, filters))
    if key in _RESULT_CACHE:
        _RESULT_CACHE.move_to_end(key)
    else:
        _RESULT_CACHE[key] = compute()
        while len(_RESULT_CACHE) > RESULT_CACHE_SIZE:
            _RESULT_CACHE.popitem(last=False)
    return copy.deepcopy(_RESULT_CACHE[key])


def ranking_table(
    consultation: Consultation, filters: Filters = ALL, weight: str = "none"
) -> tuple[pd.DataFrame, dict, pd.DataFrame | None, int]:
    """Return (ranking with ci and top-k columns, weighting details, weights table, respondents)."""
    return _cached("ranking", consultation, filters, (weight, _replicates()),
                   lambda: _ranking_table(consultation, filters, weight))


def _ranking_table(
    consultation: Consultation, filters: Filters, weight: str
) -> tuple[pd.DataFrame, dict, pd.DataFrame | None, int]:
    themes = [theme.code for theme in consultation.themes]
    respondents = datasets.respondent_count(consultation, filters)
    patterns = datasets.pattern_counts(consultation, filters)
    weights_table = None
    pattern_w = None
    if weight == "population":
        weights_table = region_weights(consultation, filters)
        pattern_w = weighting.pattern_weights(patterns, weights_table)
        positions = position_counts_from_patterns(patterns, pattern_w)
        details = weighting.design_summary(weights_table)
    else:
        positions = datasets.theme_position_counts(consultation, filters)
        details = weighting.unweighted_summary(respondents)
    table = rank_themes(positions, themes, respondents, consultation.theme_max,
                        ranked=consultation.theme_ranked)
    intervals = bootstrap(patterns, themes, weights=pattern_w, stratify=pattern_w is not None,
                          replicates=_replicates(), seed=SEED, level=LEVEL)
    table = table.merge(intervals, on="theme", how="left")
    return table, details, weights_table, respondents


def ranking(
    consultation: Consultation,
    filters: Filters = ALL,
    weight: str = "none",
    lang: str | None = None,
) -> dict:
    """Return the API's ranking JSON (see README "Analysis and API")."""
    table, details, _weights, respondents = ranking_table(consultation, filters, weight)
    names = {theme.code: localized(theme.name, lang) for theme in consultation.themes}
    themes = []
    for row in table.itertuples(index=False):
        themes.append({
            "code": row.theme,
            "name": names[row.theme],
            "votes": _number(row.votes),
            "vote_share": float(row.vote_share),
            "respondent_share": float(row.respondent_share),
            "borda": None if row.borda is None or pd.isna(row.borda) else _number(row.borda),
            "rank": int(row.rank),
            "ci95": [float(row.low), float(row.high)],
            "cumulative_share": float(row.cumulative_share),
            "top_k_probability": {str(k): float(getattr(row, f"p_top_{k}")) for k in TOP_K},
        })
    return {
        "consultation": consultation.slug,
        "respondents": respondents,
        "votes": _number(table["votes"].sum()),
        "weighting": weight,
        "weighting_details": details,
        "filters": filters.as_dict(),
        "theme_max": consultation.theme_max,
        "ranked": consultation.theme_ranked,
        "bootstrap": {"replicates": _replicates(), "seed": SEED, "level": LEVEL,
                      "method": "multinomial over answer patterns"
                      + (", stratified by region" if weight == "population" else "")},
        "themes": themes,
        "concentration": concentration(table),
    }


def participation(
    consultation: Consultation, filters: Filters = ALL, lang: str | None = None
) -> dict:
    """Return the API's participation JSON."""
    questions = {q.code: [o.code for o in q.options] for q in consultation.questions
                 if q.has_options}
    result = participation_analysis.participation(
        datasets.municipality_channel_counts(consultation, filters),
        datasets.geography_table(),
        datasets.option_counts(consultation, filters),
        questions,
    )
    return {"consultation": consultation.slug, "filters": filters.as_dict(), **result}


def municipalities(consultation: Consultation, filters: Filters = ALL) -> pd.DataFrame:
    """Return the participating municipalities (analysis.participation.by_municipality)."""
    return participation_analysis.by_municipality(
        datasets.municipality_channel_counts(consultation, filters), datasets.geography_table())


def _votes_and_first(positions: pd.DataFrame) -> tuple[pd.DataFrame, ...]:
    """Return votes per theme (every position) and first choices, from theme_position_counts."""
    votes = positions.groupby("theme", as_index=False)["count"].sum()
    first = positions[positions["position"] == 1][["theme", "count"]]
    return votes, first


def comparison_dimensions(consultation: Consultation, filters: Filters) -> list[dict]:
    """Return the group comparisons that the current filters leave open.

    Each: {key, label, groups: [(group key, label, Filters)]}: paper vs online, metropolitan
    zone vs rest, and the options of every single-choice question (e.g. sector vs sector),
    whose dimension also names the question (its groups are counted in one scan).
    """
    dimensions = []
    if filters.channel is None:
        dimensions.append({"key": "channel", "label": _("Channel"), "groups": [
            ("online", _("Online"), dataclasses.replace(filters, channel="online")),
            ("paper", _("Paper"), dataclasses.replace(filters, channel="paper")),
        ]})
    if filters.metro is None:
        dimensions.append({"key": "metro", "label": _("Metropolitan zone"), "groups": [
            ("1", _("Guadalajara metropolitan zone"), dataclasses.replace(filters, metro=True)),
            ("0", _("Rest of the state"), dataclasses.replace(filters, metro=False)),
        ]})
    for question in consultation.questions:
        if question.type != "single" or question.code in filters.options:
            continue
        groups = []
        for option in question.options:
            options = {**filters.options, question.code: option.code}
            groups.append((option.code, localized(option.label),
                           dataclasses.replace(filters, options=options)))
        dimensions.append({"key": question.code, "label": localized(question.label),
                           "groups": groups, "question": question})
    return dimensions


def comparisons(consultation: Consultation, filters: Filters = ALL) -> list[dict]:
    """Return, per dimension: groups with respondents, vote shares per theme, and chi-square."""
    # Labels are translated: one entry per language.
    return _cached("comparisons", consultation, filters, (str(get_locale()),),
                   lambda: _comparisons(consultation, filters))


def _comparisons(consultation: Consultation, filters: Filters) -> list[dict]:
    themes = [theme.code for theme in consultation.themes]
    out = []
    for dimension in comparison_dimensions(consultation, filters):
        votes, first, groups = [], [], []
        # A question's options all come from one scan grouped by option; the channel and
        # metropolitan groups from the cached per-municipality table.
        split = (datasets.option_groups(consultation, filters, dimension["question"])
                 if "question" in dimension else None)
        for key, label, group_filters in dimension["groups"]:
            if split is not None:
                positions, respondents = split[key]
            else:
                positions = datasets.theme_position_counts(consultation, group_filters)
                respondents = datasets.respondent_count(consultation, group_filters)
            group_votes, group_first = _votes_and_first(positions)
            votes.append(group_votes.assign(group=key))
            first.append(group_first.assign(group=key))
            groups.append({"key": key, "label": label, "respondents": respondents})
        result = differences.compare(pd.concat(votes, ignore_index=True),
                                     pd.concat(first, ignore_index=True), themes)
        out.append({"key": dimension["key"], "label": dimension["label"], "groups": groups,
                    "shares": result["shares"], "test": result["test"]})
    return out


def cooccurrence_table(consultation: Consultation, filters: Filters = ALL) -> pd.DataFrame:
    """Return analysis.cooccurrence.association for the filtered responses."""
    themes = [theme.code for theme in consultation.themes]
    positions = datasets.theme_position_counts(consultation, filters)
    chosen = positions.groupby("theme")["count"].sum()
    theme_respondents = {code: float(chosen.get(code, 0)) for code in themes}
    return cooccurrence.association(datasets.cooccurrence_counts(consultation, filters),
                                    theme_respondents,
                                    datasets.respondent_count(consultation, filters))


def cooccurrence_matrix(consultation: Consultation, filters: Filters = ALL, value: str = "phi",
                        diagonal: float = 1.0) -> pd.DataFrame:
    """Return the square theme × theme matrix (codes, in the consultation's order) of `value`.

    value: "phi" (default; diagonal 1.0 makes it a similarity), "lift" or "count". Pairs with
    no defined value (a theme nobody chose) are NaN. The workshop grouping clusters on this.
    """
    themes = [theme.code for theme in consultation.themes]
    return cooccurrence.matrix(cooccurrence_table(consultation, filters), themes, value,
                               diagonal)


def region_theme_shares(consultation: Consultation, filters: Filters = ALL,
                        lang: str | None = None) -> pd.DataFrame:
    """Return a regions × themes table of vote shares within each region (regions with votes)."""
    counts = datasets.region_theme_counts(consultation, filters)
    names = {theme.code: localized(theme.name, lang) for theme in consultation.themes}
    regions = datasets.geography_table().drop_duplicates("region").set_index("region")[
        "region_name"]
    themes = [theme.code for theme in consultation.themes]
    if counts.empty:
        return pd.DataFrame(columns=[names[t] for t in themes])
    wide = counts.pivot_table(index="region", columns="theme", values="count", aggfunc="sum",
                              fill_value=0).reindex(columns=themes, fill_value=0)
    shares = wide.div(wide.sum(axis=1), axis=0)
    shares.index = [f"{int(r):02d} {regions[r]}" for r in shares.index]
    shares.columns = [names[t] for t in shares.columns]
    return shares


# Tables offered for download: name -> builder(consultation, filters, weight, lang) DataFrame.
def _ranking_frame(consultation, filters, weight, lang) -> pd.DataFrame:
    data = ranking(consultation, filters, weight, lang)
    return pd.DataFrame([
        {_("Rank"): t["rank"], _("Code"): t["code"], _("Theme"): t["name"],
         _("Votes"): t["votes"], _("Vote share"): t["vote_share"],
         _("Respondent share"): t["respondent_share"], _("Borda score"): t["borda"],
         _("Interval (95%), low"): t["ci95"][0], _("Interval (95%), high"): t["ci95"][1],
         _("Cumulative share"): t["cumulative_share"],
         **{_("P(top %(k)s)", k=k): p for k, p in t["top_k_probability"].items()}}
        for t in data["themes"]
    ])


def _regions_frame(consultation, filters, weight, lang) -> pd.DataFrame:
    data = participation(consultation, filters, lang)
    return pd.DataFrame([
        {_("Region"): r["number"], _("Name"): r["name"], _("Respondents"): r["respondents"],
         _("Share"): r["share"], _("Per 10,000 inhabitants"): r["per_10k"]}
        for r in data["by_region"]
    ])


def _municipalities_frame(consultation, filters, weight, lang) -> pd.DataFrame:
    frame = municipalities(consultation, filters)
    frame = frame.assign(metro=frame["metro"].astype(bool).map({True: _("yes"), False: _("no")}))
    return frame.rename(columns={
        "municipality": _("INEGI code"), "name": _("Municipality"), "region": _("Region"),
        "metro": _("Metropolitan zone"), "population": _("Population 2020"),
        "online": _("Online"), "paper": _("Paper"), "respondents": _("Respondents"),
        "per_10k": _("Per 10,000 inhabitants")})


def _questions_frame(consultation, filters, weight, lang) -> pd.DataFrame:
    data = participation(consultation, filters, lang)
    questions = consultation.question_by_code()
    rows = []
    for code, options in data["by_question"].items():
        labels = {o.code: localized(o.label, lang) for o in questions[code].options}
        for option, count in options.items():
            rows.append({_("Question"): localized(questions[code].label, lang),
                         _("Option"): labels[option], _("Answers"): count})
    return pd.DataFrame(rows, columns=[_("Question"), _("Option"), _("Answers")])


def _comparisons_frame(consultation, filters, weight, lang) -> pd.DataFrame:
    names = {theme.code: localized(theme.name, lang) for theme in consultation.themes}
    rows = []
    for dimension in comparisons(consultation, filters):
        labels = {g["key"]: g["label"] for g in dimension["groups"]}
        for theme, shares in dimension["shares"].iterrows():
            for group, share in shares.items():
                rows.append({_("Comparison"): dimension["label"], _("Group"): labels[group],
                             _("Theme"): names[theme], _("Vote share"): float(share),
                             _("Chi-square p-value"): dimension["test"]["p_value"]})
    return pd.DataFrame(rows)


def _cooccurrence_frame(consultation, filters, weight, lang) -> pd.DataFrame:
    names = {theme.code: localized(theme.name, lang) for theme in consultation.themes}
    table = cooccurrence_table(consultation, filters)
    return pd.DataFrame({
        _("Theme A"): table["theme_a"].map(names), _("Theme B"): table["theme_b"].map(names),
        _("Respondents choosing both"): table["count"].astype(int),
        _("Lift"): table["lift"], _("Phi"): table["phi"]})


def _weights_frame(consultation, filters, weight, lang) -> pd.DataFrame:
    table = region_weights(consultation, filters)
    return table.rename(columns={
        "region": _("Region"), "name": _("Name"), "respondents": _("Respondents"),
        "population": _("Population 2020"), "sample_share": _("Share of respondents"),
        "population_share": _("Share of population"), "weight": _("Weight")})


def _region_themes_frame(consultation, filters, weight, lang) -> pd.DataFrame:
    table = region_theme_shares(consultation, filters, lang)
    return table.rename_axis(_("Region")).reset_index()


TABLES = {
    "ranking": _ranking_frame,
    "regions": _regions_frame,
    "municipalities": _municipalities_frame,
    "questions": _questions_frame,
    "comparisons": _comparisons_frame,
    "cooccurrence": _cooccurrence_frame,
    "weights": _weights_frame,
    "region-themes": _region_themes_frame,
}
CHARTS = ("ranking", "pareto", "heatmap", "participation")


def table(consultation: Consultation, name: str, filters: Filters = ALL,
          weight: str = "none", lang: str | None = None) -> pd.DataFrame:
    """Return a downloadable table by name (TABLES), with translated column names."""
    return TABLES[name](consultation, filters, weight, lang)


def chart(consultation: Consultation, name: str, fmt: str, filters: Filters = ALL,
          weight: str = "none", lang: str | None = None) -> bytes:
    """Return a chart by name (CHARTS) as PNG or SVG bytes, its text in the current language."""
    title = localized(consultation.title, lang)
    if name in ("ranking", "pareto"):
        data = ranking(consultation, filters, weight, lang)
        labels = [t["name"] for t in data["themes"]]
        shares = [t["vote_share"] for t in data["themes"]]
        if name == "ranking":
            figure = charts.ranking_chart(
                labels, shares, [t["ci95"][0] for t in data["themes"]],
                [t["ci95"][1] for t in data["themes"]], title,
                _("Share of the vote (interval at 95%)"))
        else:
            figure = charts.pareto_chart(labels, shares, title, _("Share of the vote"),
                                         _("Cumulative share"))
    elif name == "heatmap":
        shares = region_theme_shares(consultation, filters, lang)
        figure = charts.heatmap_chart(shares, title, _("Share of the region's vote"),
                                      _("No votes for these filters."))
    else:
        data = participation(consultation, filters, lang)
        figure = charts.participation_chart(
            [f"{r['number']:02d} {r['name']}" for r in data["by_region"]],
            [r["respondents"] for r in data["by_region"]], title, _("Respondents"))
    return charts.render(figure, fmt)


def jsonable(value: Any) -> Any:
    """Return value with numpy scalars and NaN turned into JSON-safe Python values."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def overview(consultation: Consultation, filters: Filters = ALL, weight: str = "none",
             lang: str | None = None) -> dict:
    """Return everything the dashboard page shows, computed once per request."""
    names = {theme.code: localized(theme.name, lang) for theme in consultation.themes}
    pairs = cooccurrence_table(consultation, filters)
    pairs = pairs[pairs["count"] > 0].sort_values(["count", "theme_a", "theme_b"],
                                                  ascending=[False, True, True])
    groups = comparisons(consultation, filters)
    for dimension in groups:
        dimension["rows"] = [
            {"theme": names[theme], "shares": [float(v) for v in shares.to_numpy()]}
            for theme, shares in dimension["shares"].iterrows()
        ]
    return {
        "ranking": jsonable(ranking(consultation, filters, weight, lang)),
        "participation": jsonable(participation(consultation, filters, lang)),
        "comparisons": groups,
        "pairs": [
            {"a": names[r.theme_a], "b": names[r.theme_b], "count": int(r.count),
             "lift": jsonable(float(r.lift)), "phi": jsonable(float(r.phi))}
            for r in pairs.itertuples()
        ],
        "weights": region_weights(consultation, filters).to_dict("records")
        if weight == "population" else None,
    }
