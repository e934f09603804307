"""python -m analysis FILE.csv: rank the themes of an open-data CSV and print them."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from analysis import opendata, weighting
from analysis.ranking import concentration, position_counts_from_patterns, ranking
from analysis.uncertainty import bootstrap

GEOGRAPHY = Path(__file__).resolve().parent.parent / "app" / "data" / "jalisco_municipalities.csv"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__)
    parser.add_argument("file", help="open-data CSV (one row per accepted response)")
    parser.add_argument("--theme-max", type=int, default=None,
                        help="most themes a respondent may choose (default: the longest list)")
    parser.add_argument("--unranked", action="store_true", help="themes were not ranked")
    parser.add_argument("--weight", choices=("none", "population"), default="none")
    parser.add_argument("--geography", default=str(GEOGRAPHY),
                        help="municipalities CSV with region_number and population_2020")
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args(argv)
    try:
        frame = opendata.read(args.file)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    patterns = opendata.patterns(frame, args.theme_max)
    theme_max = args.theme_max or len([c for c in patterns.columns if c.startswith("theme_")])
    themes = sorted({t for x in opendata.theme_lists(frame) for t in x})
    respondents = float(len(frame))
    weights = None
    if args.weight == "population":
        if "region" not in frame:
            print("error: population weighting needs a region column", file=sys.stderr)
            return 2
        geography = pd.read_csv(args.geography, dtype={"inegi_code": str})
        population = geography.groupby("region_number", as_index=False)["population_2020"].sum()
        population.columns = ["region", "population"]
        counts = patterns.groupby("region", as_index=False)["count"].sum().rename(
            columns={"count": "respondents"})
        table = weighting.region_weights(counts, population)
        weights = weighting.pattern_weights(patterns, table)
    table = ranking(position_counts_from_patterns(patterns, weights), themes, respondents,
                    theme_max, ranked=not args.unranked)
    intervals = bootstrap(patterns, themes, weights=weights, stratify=weights is not None,
                          replicates=args.replicates)
    table = table.merge(intervals[["theme", "low", "high"]], on="theme")
    if args.format == "json":
        out = {"respondents": int(respondents), "weighting": args.weight,
               "themes": json.loads(table.to_json(orient="records")),
               "concentration": concentration(table)}
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        summary = concentration(table)
        print(f"\nrespondents: {int(respondents)}; themes for 80% of the vote: "
              f"{summary['themes_for_80pct']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
