"""Disclosure control of the microdata (issue 18, item 4) and the `source` column (item 10).

No published combination of place (municipality, or region and metro flag) and single-choice
answers rests on fewer than MIN_CELL_SIZE rows, in the CSV and the XLSX alike; totals by
region still add up; themes are never touched, so the ranking recomputed from the file is the
API's.
"""

from __future__ import annotations

import io
import random
from datetime import date

import pandas as pd
import pytest
from openpyxl import load_workbook

from analysis.disclosure import (
    LEVEL_FULL,
    LEVEL_NO_MUNICIPALITY,
    LEVEL_NOTHING,
    LEVEL_PLACE_ONLY,
    LEVEL_REGION_ONLY,
    publication_levels,
)
from app.extensions import db
from app.models import Municipality, Response
from app.services.responses import new_response

MINIMUM = 5
THEMES = ["security", "health", "education", "corruption", "employment_inequality", "water"]
SECTORS = ["private", "public", "academia", "civil_society", "other"]
QUASI = ["municipality", "region", "metro", "sector"]


def populate(consultation, total: int = 400, seed: int = 18) -> None:
    """Add skewed responses: a few big municipalities, many small ones, rare sectors.

    Every region gets at least MINIMUM responses (the first rows go round the regions); the
    sources mix online, paper entry and imports (an import of online answers included).
    """
    rng = random.Random(seed)
    municipalities = db.session.execute(db.select(
        Municipality.code, Municipality.region_number).order_by(Municipality.code)).all()
    by_region: dict[int, list[str]] = {}
    for code, region in municipalities:
        by_region.setdefault(region, []).append(code)
    big = ["14039", "14120", "14098", "14101"]  # Guadalajara, Zapopan, Tlaquepaque, Tonalá
    codes = [code for code, _region in municipalities]
    for number in range(total):
        if number < 12 * MINIMUM:
            region = sorted(by_region)[number % 12]
            municipality = by_region[region][number // 12 % len(by_region[region])]
        elif rng.random() < 0.6:
            municipality = rng.choice(big)
        else:
            municipality = rng.choice(codes)
        sector = rng.choices(SECTORS, weights=[50, 30, 12, 6, 2])[0]
        themes = rng.sample(THEMES, rng.randint(1, 3))
        source = ["online", "entry", "import", "import"][number % 4]
        channel = "online" if source == "online" or number % 8 == 2 else "paper"
        db.session.add(new_response(
            consultation, channel=channel, source=source, municipality_code=municipality,
            theme_codes=themes, answers={"sector": sector, "heard_via": ["radio_tv"],
                                         "age": 18 + number % 60},
            submitted_on=date(2016, 10, 17 + number % 5),
            form_serial=f"P-{number:05d}" if channel == "paper" else None))
    db.session.commit()


def download(client, slug: str, name: str) -> bytes:
    response = client.get(f"/api/v1/consultations/{slug}/{name}")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_data()


def published_frame(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def assert_no_small_combination(frame: pd.DataFrame, minimum: int) -> None:
    groups = frame.groupby(QUASI, dropna=False).size()
    small = groups[groups < minimum]
    assert small.empty, f"combinations on fewer than {minimum} rows:\n{small}"
    # The marginals the issue names: (municipality or region, sector).
    for place in ("municipality", "region"):
        published = frame[frame[place] != ""]
        sizes = published.groupby([place, "sector", "metro"]).size()
        assert (sizes >= minimum).all()


@pytest.fixture
def populated(make_consultation):
    consultation = make_consultation("closed")
    populate(consultation)
    return consultation


def test_no_published_combination_rests_on_fewer_than_min_cell_size(client, populated):
    frame = published_frame(download(client, populated.slug, "responses.csv").decode())
    assert len(frame) == 400  # every accepted response is published
    assert_no_small_combination(frame, MINIMUM)
    # Something was withheld (the data are skewed), and most rows keep their municipality.
    assert (frame["municipality"] == "").sum() > 0
    assert (frame["municipality"] != "").sum() > 200
    # A municipality with fewer than MIN_CELL_SIZE respondents never appears.
    counts = pd.Series(db.session.scalars(db.select(Response.municipality_code)).all()
                       ).value_counts()
    small = set(counts[counts < MINIMUM].index)
    assert small
    assert not small & set(frame["municipality"])


def test_totals_by_region_add_up_and_match_the_api(client, populated):
    frame = published_frame(download(client, populated.slug, "responses.csv").decode())
    assert (frame["region"] != "").all()  # every region has at least MIN_CELL_SIZE responses
    published = frame["region"].astype(int).value_counts().to_dict()
    participation = client.get(
        f"/api/v1/consultations/{populated.slug}/participation").get_json()
    api = {region["number"]: region["respondents"] for region in participation["by_region"]
           if region["respondents"]}
    assert published == api
    assert sum(published.values()) == participation["respondents"]


def test_ranking_recomputed_from_the_file_is_the_apis(client, populated):
    frame = published_frame(download(client, populated.slug, "responses.csv").decode())
    api = client.get(f"/api/v1/consultations/{populated.slug}/ranking").get_json()
    assert_ranking_matches(frame, api)


def assert_ranking_matches(frame: pd.DataFrame, api: dict) -> None:
    """Recompute votes, vote shares and respondent shares with pandas; compare to the API."""
    votes = frame["themes"].str.split(";").explode().value_counts()
    assert len(frame) == api["respondents"]
    assert int(votes.sum()) == api["votes"]
    for theme in api["themes"]:
        assert int(votes.get(theme["code"], 0)) == theme["votes"], theme["code"]
        assert theme["vote_share"] == pytest.approx(votes.get(theme["code"], 0) / votes.sum(),
                                                    abs=1e-4)
        assert theme["respondent_share"] == pytest.approx(
            votes.get(theme["code"], 0) / len(frame), abs=1e-4)


def test_xlsx_applies_the_same_rule(client, populated):
    csv_frame = published_frame(download(client, populated.slug, "responses.csv").decode())
    workbook = load_workbook(io.BytesIO(download(client, populated.slug, "responses.xlsx")))
    rows = list(workbook["responses"].iter_rows(values_only=True))
    xlsx = pd.DataFrame([["" if cell is None else str(cell) for cell in row] for row in rows[1:]],
                        columns=rows[0])
    assert_no_small_combination(xlsx, MINIMUM)
    key = ["id", *QUASI, "themes", "source"]
    pd.testing.assert_frame_equal(
        xlsx[key].sort_values("id").reset_index(drop=True),
        csv_frame[key].sort_values("id").reset_index(drop=True))


def test_the_dictionary_and_package_state_the_rule(client, populated):
    dictionary = client.get(f"/api/v1/consultations/{populated.slug}/dictionary").get_json()
    assert dictionary["min_cell_size"] == MINIMUM
    assert "5" in dictionary["disclosure"]["en"]
    assert "5" in dictionary["disclosure"]["es"]
    assert dictionary["disclosure"]["es"] != dictionary["disclosure"]["en"]
    text = download(client, populated.slug, "dictionary?format=csv").decode()
    assert dictionary["disclosure"]["en"].split(":")[0] in text
    package = client.get(f"/api/v1/consultations/{populated.slug}/datapackage.json",
                         headers={"Accept-Language": "en"}).get_json()
    assert package["resources"][0]["description"] == dictionary["disclosure"]["en"]


def test_source_column_tells_imports_apart(client, populated):
    frame = published_frame(download(client, populated.slug, "responses.csv").decode())
    assert list(frame.columns)[-1] == "source"
    assert set(frame["source"]) == {"online", "entry", "import"}
    imported_online = frame[(frame["source"] == "import") & (frame["channel"] == "online")]
    assert len(imported_online) > 0  # channel=online imports are no longer mistaken for web
    assert (frame["source"] == "online").sum() == 100
    package = client.get(f"/api/v1/consultations/{populated.slug}/datapackage.json").get_json()
    source = package["resources"][0]["schema"]["fields"][-1]
    assert source["name"] == "source"
    assert source["constraints"]["enum"] == ["online", "entry", "import"]


def test_threshold_follows_the_setting(app, client, populated):
    app.config["MIN_CELL_SIZE"] = 12
    frame = published_frame(download(client, populated.slug, "responses.csv").decode())
    assert_no_small_combination(frame, 12)


# The rule itself (analysis/disclosure.py, pure) --------------------------------------------


def test_levels_follow_the_rule_step_by_step():
    cells = [
        (("14039", 12, 1, ("private",)), 9),  # big enough: whole
        (("14039", 12, 1, ("academia",)), 2),  # rare sector in a big municipality
        (("14120", 12, 1, ("academia",)), 3),  # with the one above: (12, metro, academia) = 5
        (("14098", 12, 1, ("other",)), 2),  # alone at (12, metro, other): sector blanked
        (("14101", 12, 1, ("public",)), 3),  # with the one above: (12, metro) = 5
        (("14002", 12, 0, ("private",)), 1),  # small municipality, non-metro
        (("14005", 12, 0, ("public",)), 1),
    ]
    levels = publication_levels(cells, 5)
    assert levels[("14039", ("private",))] == LEVEL_FULL
    assert levels[("14039", ("academia",))] == LEVEL_NO_MUNICIPALITY
    assert levels[("14120", ("academia",))] == LEVEL_NO_MUNICIPALITY
    # Two non-metro rows are left at region level: the coarsest published group, (12, metro)
    # without sectors, joins them.
    assert levels[("14002", ("private",))] == LEVEL_REGION_ONLY
    assert levels[("14005", ("public",))] == LEVEL_REGION_ONLY
    assert levels[("14098", ("other",))] == LEVEL_REGION_ONLY
    assert levels[("14101", ("public",))] == LEVEL_REGION_ONLY
    assert publication_levels(list(reversed(cells)), 5) == levels  # deterministic
    # Without the two non-metro rows nothing needs folding: (12, metro) is published.
    levels = publication_levels(cells[:5], 5)
    assert levels[("14098", ("other",))] == LEVEL_PLACE_ONLY
    assert levels[("14101", ("public",))] == LEVEL_PLACE_ONLY


def test_fold_joins_whole_groups_until_the_rest_is_large_enough():
    cells = [(("14039", 12, 1, ("private",)), 20), (("14120", 12, 1, ("private",)), 6),
             (("14002", 12, 0, ("public",)), 2)]
    levels = publication_levels(cells, 5)
    # Zapopan's 6 rows (the smallest group) join the 2 left over; Guadalajara stays whole.
    assert levels == {("14039", ("private",)): LEVEL_FULL,
                      ("14120", ("private",)): LEVEL_REGION_ONLY,
                      ("14002", ("public",)): LEVEL_REGION_ONLY}


def test_a_region_under_the_threshold_is_left_empty():
    levels = publication_levels([(("14001", 3, 0, ("private",)), 4)], 5)
    assert levels == {("14001", ("private",)): LEVEL_NOTHING}
