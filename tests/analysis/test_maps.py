"""The map drawing: classes, colours, legend, borders, SVG tooltips, geometry cache (no app)."""

from __future__ import annotations

import csv
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.colors import to_rgba

from analysis import maps

DATA = Path(__file__).resolve().parents[2] / "app" / "data"
GEOJSON = str(DATA / "jalisco_municipalities.geojson")
SVG = "{http://www.w3.org/2000/svg}"
LABELS = maps.MapLabels(title="Participación", source="Fuente: INEGI, Marco Geoestadístico",
                        legend_title="Por 10 mil", no_data="Sin respuesta",
                        suppressed="Menos de 5", regions="Regiones", metro="ZMG")


@pytest.fixture(scope="module")
def geography() -> pd.DataFrame:
    with (DATA / "jalisco_municipalities.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return pd.DataFrame({
        "municipality": [r["inegi_code"] for r in rows],
        "name": [r["name"] for r in rows],
        "region": [int(r["region_number"]) for r in rows],
        "metro": [r["metro_guadalajara"] == "1" for r in rows],
    })


def table_with(geography: pd.DataFrame, values: dict[str, float]) -> pd.DataFrame:
    table = geography[["municipality", "region", "metro"]].copy()
    table["value"] = table["municipality"].map(values)
    return table


def patch_colors(figure) -> dict[str, tuple]:
    return {patch.get_gid()[4:]: patch.get_facecolor() for patch in figure.axes[0].patches
            if (patch.get_gid() or "").startswith("mun-")}


def test_every_municipality_has_a_geometry_and_every_geometry_a_municipality(geography):
    shapes = maps.load_geometry(GEOJSON)
    assert shapes.codes == set(geography["municipality"])
    assert len(shapes.codes) == 125
    assert shapes.names["14039"] == "Guadalajara"
    assert all(len(path.vertices) > 3 for path in shapes.paths.values())


def test_geometry_is_loaded_once_per_process(geography):
    maps.load_geometry.cache_clear()
    table = table_with(geography, {"14039": 3.0})
    maps.render_map(table, GEOJSON, LABELS, breaks=[0, 5, 10])
    maps.render_map(table, GEOJSON, LABELS, breaks=[0, 5, 10])
    info = maps.load_geometry.cache_info()
    assert info.misses == 1
    assert info.hits >= 1
    assert maps.load_geometry(GEOJSON) is maps.load_geometry(GEOJSON)


def test_hand_made_table_gets_the_expected_classes_colors_and_legend(geography):
    # Fixed breaks 0-10-20-30: Guadalajara 25 is class 2, Zapopan 10 class 1 (a break belongs
    # to the class above it), Acatic 3 class 0, Tlaquepaque 99 above the top: last class.
    values = {"14039": 25.0, "14120": 10.0, "14001": 3.0, "14098": 99.0, "14002": 0.0}
    figure = maps.render_map(table_with(geography, values), GEOJSON, LABELS,
                             breaks=[0, 10, 20, 30], fmt=lambda v: f"{v:g}",
                             suppressed={"14004"})
    colors = patch_colors(figure)
    assert len(colors) == 125
    palette = maps.class_colors([0, 10, 20, 30])
    assert palette == ["#deebf7", "#6baed6", "#084594"]
    assert colors["14039"] == to_rgba(palette[2])
    assert colors["14120"] == to_rgba(palette[1])
    assert colors["14001"] == to_rgba(palette[0])
    assert colors["14098"] == to_rgba(palette[2])
    assert colors["14002"] == to_rgba(maps.NO_DATA_COLOR)  # zero respondents: no response
    assert colors["14003"] == to_rgba(maps.NO_DATA_COLOR)  # absent from the table
    assert colors["14004"] == to_rgba(maps.SUPPRESSED_COLOR)
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert legend == ["0 – 10", "10 – 20", "20 – 30", "Sin respuesta", "Menos de 5",
                      "Regiones", "ZMG"]
    assert figure.axes[0].get_legend().get_title().get_text() == "Por 10 mil"
    texts = [text.get_text() for text in figure.texts]
    assert "Fuente: INEGI, Marco Geoestadístico" in texts
    assert figure._suptitle.get_text() == "Participación"


def test_classify_and_quantile_breaks():
    breaks = maps.quantile_breaks([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, None, math.nan], classes=5)
    assert (breaks[0], breaks[-1]) == (1, 10)
    assert breaks == sorted(set(breaks))
    assert len(breaks) == 6
    classes = maps.classify({"a": 1, "b": 10, "c": 0, "d": None, "e": 5.5, "f": 2},
                            [0, 5, 10], suppressed={"f"})
    assert classes == {"a": 0, "b": 1, "c": maps.NONE, "d": maps.NONE, "e": 1,
                       "f": maps.SUPPRESSED}
    assert maps.quantile_breaks([]) == []
    assert maps.quantile_breaks([4, 4, 4]) == [4, 4]
    assert maps.quantile_breaks([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], integer=True) == [
        1, 3, 5, 7, 9, 10]


def test_open_ended_last_class_in_the_legend():
    labels = maps.legend_labels([0, 0.5, 1, math.inf], fmt=lambda v: f"{v:.0%}")
    assert labels == ["0% – 50%", "50% – 100%", "≥ 100%"]


def test_region_borders_are_the_edges_between_regions(geography):
    shapes = maps.load_geometry(GEOJSON)
    outer = sum(1 for owners in shapes.segments.values() if len(owners) == 1)
    # All in one region: only the state's outline is drawn as a region border.
    one_region = geography.assign(region=1, metro=False, value=1.0)
    figure = maps.render_map(one_region, GEOJSON, LABELS, breaks=[0, 2])
    borders = [p for p in figure.axes[0].patches if p.get_gid() is None]
    region_path, metro_path = borders
    assert len(region_path.get_path().vertices) == 2 * outer
    assert len(metro_path.get_path().vertices) == 0
    # The real regions add the inner borders; the metro zone is outlined.
    figure = maps.render_map(geography.assign(value=1.0), GEOJSON, LABELS, breaks=[0, 2])
    region_path, metro_path = [p for p in figure.axes[0].patches if p.get_gid() is None]
    assert len(region_path.get_path().vertices) > 2 * outer
    assert len(metro_path.get_path().vertices) > 0


def test_svg_has_a_title_tooltip_per_municipality(geography):
    table = table_with(geography, {"14039": 12.0})
    figure = maps.render_map(table, GEOJSON, LABELS, breaks=[0, 10, 20])
    names = dict(zip(geography["municipality"], geography["name"], strict=True))
    tips = {code: f"{name}: <12> respondents & more" for code, name in names.items()}
    svg = maps.figure_svg(figure, tips)
    root = ET.fromstring(svg)
    groups = {g.get("id")[4:]: g for g in root.iter(f"{SVG}g")
              if (g.get("id") or "").startswith("mun-")}
    assert len(groups) == 125
    titles = [g.find(f"{SVG}title").text for g in groups.values()]
    assert len(titles) == 125
    assert groups["14039"].find(f"{SVG}title").text == "Guadalajara: <12> respondents & more"
    assert sum(1 for _ in root.iter(f"{SVG}title")) == 125
    assert maps.figure_png(figure).startswith(b"\x89PNG")


def test_dollar_signs_in_labels_are_text_not_mathtext(geography):
    labels = maps.MapLabels(title=r"Cuota $\frac$ y $5", source="$", legend_title="$a$",
                            no_data="n", suppressed="s", regions="r", metro="m")
    figure = maps.render_map(table_with(geography, {"14039": 1.0}), GEOJSON, labels,
                             breaks=[0, 2], fmt=lambda v: f"${v:g}")
    assert maps.figure_png(figure).startswith(b"\x89PNG")
