"""Who took part: respondents by channel, region, municipality and metropolitan zone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from analysis.schema import GEOGRAPHY, MUNICIPALITY_CHANNEL_COUNTS, OPTION_COUNTS, require

CHANNELS = ("online", "paper")


def by_municipality(counts: pd.DataFrame, geography: pd.DataFrame) -> pd.DataFrame:
    """Return one row per participating municipality.

    Columns: municipality, name, region, metro, population, online, paper, respondents,
    per_10k (respondents per 10,000 inhabitants), ordered by respondents then code.
    """
    require(counts, MUNICIPALITY_CHANNEL_COUNTS, "municipality_channel_counts")
    require(geography, GEOGRAPHY, "geography")
    wide = counts.pivot_table(index="municipality", columns="channel", values="respondents",
                              aggfunc="sum", fill_value=0)
    for channel in CHANNELS:
        if channel not in wide.columns:
            wide[channel] = 0
    wide = wide[list(CHANNELS)].astype(int).reset_index()
    wide["respondents"] = wide["online"] + wide["paper"]
    frame = geography.merge(wide, on="municipality", how="inner")
    frame["per_10k"] = frame["respondents"] / frame["population"] * 10_000
    frame = frame.sort_values(["respondents", "municipality"], ascending=[False, True])
    return frame[["municipality", "name", "region", "metro", "population", *CHANNELS,
                  "respondents", "per_10k"]].reset_index(drop=True)


def by_region(counts: pd.DataFrame, geography: pd.DataFrame) -> pd.DataFrame:
    """Return every region (also those nobody answered from): number, name, respondents,
    share (of all respondents), per_10k (per 10,000 inhabitants of the region), population."""
    require(counts, MUNICIPALITY_CHANNEL_COUNTS, "municipality_channel_counts")
    require(geography, GEOGRAPHY, "geography")
    regions = geography.groupby(["region", "region_name"], as_index=False)["population"].sum()
    region_of = geography.set_index("municipality")["region"]
    per_region = counts.assign(region=counts["municipality"].map(region_of)).groupby(
        "region")["respondents"].sum()
    regions["respondents"] = regions["region"].map(per_region).fillna(0).astype(int)
    total = regions["respondents"].sum()
    regions["share"] = regions["respondents"] / total if total else 0.0
    regions["per_10k"] = regions["respondents"] / regions["population"] * 10_000
    regions = regions.rename(columns={"region": "number", "region_name": "name"})
    return regions.sort_values("number")[
        ["number", "name", "respondents", "share", "per_10k", "population"]
    ].reset_index(drop=True)


def participation(
    counts: pd.DataFrame,
    geography: pd.DataFrame,
    options: pd.DataFrame,
    questions: Mapping[str, Sequence[str]],
) -> dict:
    """Return the participation summary as plain Python (JSON-ready).

    counts: municipality, channel, respondents. geography: the municipalities table.
    options: question, option, count. questions: {question code: [option codes]} for the
    single and multiple questions, so options nobody chose count 0.
    outside_share is the share of respondents outside the metropolitan zone (the 2016 report's
    "65.7% from outside"); None with no respondents.
    """
    require(options, OPTION_COUNTS, "option_counts")
    municipalities = by_municipality(counts, geography)
    regions = by_region(counts, geography)
    respondents = int(municipalities["respondents"].sum())
    inside = int(municipalities.loc[municipalities["metro"].astype(bool), "respondents"].sum())
    outside = respondents - inside
    chosen = {(q, o): int(c) for q, o, c in options[["question", "option", "count"]].itertuples(
        index=False)}
    return {
        "respondents": respondents,
        "by_channel": {channel: int(municipalities[channel].sum()) for channel in CHANNELS},
        "by_region": [
            {"number": int(r.number), "name": r.name, "respondents": int(r.respondents),
             "share": float(r.share), "per_10k": float(r.per_10k)}
            for r in regions.itertuples()
        ],
        "metro": {"inside": inside, "outside": outside,
                  "outside_share": outside / respondents if respondents else None},
        "municipalities_participating": int((municipalities["respondents"] > 0).sum()),
        "by_question": {
            question: {option: chosen.get((question, option), 0) for option in option_codes}
            for question, option_codes in questions.items()
        },
    }
