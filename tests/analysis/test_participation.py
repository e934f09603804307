"""Participation by channel, region, metropolitan zone and answer."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.participation import by_municipality, participation

GEOGRAPHY = pd.DataFrame([
    ("14039", "Guadalajara", 12, "Centro", True, 1_000_000),
    ("14001", "Acatic", 3, "Altos Sur", False, 20_000),
    ("14002", "Acatlán de Juárez", 11, "Lagunas", True, 25_000),
], columns=["municipality", "name", "region", "region_name", "metro", "population"])
COUNTS = pd.DataFrame([("14039", "online", 2), ("14039", "paper", 1), ("14001", "paper", 2)],
                      columns=["municipality", "channel", "respondents"])
OPTIONS = pd.DataFrame([("sector", "private", 3), ("sector", "public", 1)],
                       columns=["question", "option", "count"])
QUESTIONS = {"sector": ["private", "public", "academia"]}


def test_participation_hand_computed():
    result = participation(COUNTS, GEOGRAPHY, OPTIONS, QUESTIONS)
    assert result["respondents"] == 5
    assert result["by_channel"] == {"online": 2, "paper": 3}
    assert [(r["number"], r["name"], r["respondents"]) for r in result["by_region"]] == [
        (3, "Altos Sur", 2), (11, "Lagunas", 0), (12, "Centro", 3)]
    regions = {r["number"]: r for r in result["by_region"]}
    assert regions[3]["share"] == pytest.approx(0.4)
    assert regions[3]["per_10k"] == pytest.approx(1.0)  # 2 of 20,000
    assert regions[12]["per_10k"] == pytest.approx(0.03)  # 3 of 1,000,000
    assert regions[11]["share"] == 0
    assert result["metro"] == {"inside": 3, "outside": 2, "outside_share": pytest.approx(0.4)}
    assert result["municipalities_participating"] == 2
    assert result["by_question"] == {"sector": {"private": 3, "public": 1, "academia": 0}}


def test_empty_filter_result():
    empty = COUNTS.iloc[0:0]
    result = participation(empty, GEOGRAPHY, OPTIONS.iloc[0:0], QUESTIONS)
    assert result["respondents"] == 0
    assert result["by_channel"] == {"online": 0, "paper": 0}
    assert [r["share"] for r in result["by_region"]] == [0, 0, 0]
    assert result["metro"] == {"inside": 0, "outside": 0, "outside_share": None}
    assert result["municipalities_participating"] == 0
    assert result["by_question"] == {"sector": {"private": 0, "public": 0, "academia": 0}}


def test_single_respondent_outside_the_metro_zone():
    one = pd.DataFrame([("14001", "online", 1)], columns=COUNTS.columns)
    result = participation(one, GEOGRAPHY, OPTIONS.iloc[0:0], {})
    assert result["metro"]["outside_share"] == 1.0
    assert result["by_channel"] == {"online": 1, "paper": 0}


def test_by_municipality():
    table = by_municipality(COUNTS, GEOGRAPHY)
    assert table[["municipality", "online", "paper", "respondents"]].values.tolist() == [
        ["14039", 2, 1, 3], ["14001", 0, 2, 2]]
    assert table["per_10k"].tolist() == pytest.approx([0.03, 1.0])
