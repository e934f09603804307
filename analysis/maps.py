"""Choropleth maps of Jalisco's municipalities, drawn with matplotlib from the project's GeoJSON.

Pure functions: no Flask, no database. The caller hands in a small table (one row per
municipality: code, region, metro flag, value) and already translated labels; out come a
`matplotlib.figure.Figure`, PNG bytes, or SVG bytes where every municipality carries a
`<title>` tooltip.

Class breaks: by default quantiles (`quantile_breaks`) of the positive values, so each colored
class holds about the same number of municipalities; callers may pass fixed breaks instead
(e.g. 0, 25, 50, 75, 100 for a share of target in %). A value v falls in class i when
breaks[i] <= v < breaks[i + 1]; the last class also holds its upper bound. Two classes sit
outside the breaks: "none" (no value: no response, or no target) drawn light grey, and
"suppressed" (a public cell resting on too few respondents) drawn hatched.
"""

from __future__ import annotations

import io
import math
import re
import textwrap
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd

from analysis.mpl import ensure_loaded

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.path import Path as MplPath

# matplotlib is imported by the functions that draw, not with the module: the app's processes
# start without it and load it on the first map, once, under a lock (analysis/mpl.py).

# ColorBrewer "Blues" (sequential, colour-blind safe), from light to dark: up to 7 classes.
PALETTE = ["#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#084594"]
NO_DATA_COLOR = "#f2f2f2"
SUPPRESSED_COLOR = "#fdd49e"
REGION_EDGE_COLOR = "#1b1f24"
METRO_EDGE_COLOR = "#d7301f"
NONE = "none"
SUPPRESSED = "suppressed"
# Degrees of longitude are shorter than degrees of latitude at Jalisco's ~20.5° N.
ASPECT = 1 / math.cos(math.radians(20.5))


@dataclass(frozen=True)
class Geometry:
    """The municipal boundaries: one compound path per municipality, and its border segments."""

    names: dict[str, str]
    paths: dict[str, MplPath]
    # Each boundary segment (rounded end points, sorted) -> the municipalities it bounds (1 or 2).
    segments: dict[tuple, tuple[str, ...]] = field(repr=False)
    # (min lon, min lat, max lon, max lat) of the whole state.
    bounds: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    @property
    def codes(self) -> set[str]:
        return set(self.paths)


@lru_cache(maxsize=4)
def load_geometry(path: str) -> Geometry:
    """Read the GeoJSON once per process (cached by path): paths and shared border segments."""
    import json

    ensure_loaded()
    from matplotlib.path import Path as MplPath

    data = json.loads(Path(path).read_text(encoding="utf-8"))
    names: dict[str, str] = {}
    paths: dict[str, MplPath] = {}
    owners: dict[tuple, list[str]] = {}
    for feature in data["features"]:
        code = feature["properties"]["inegi_code"]
        names[code] = feature["properties"]["name"]
        geometry = feature["geometry"]
        polygons = geometry["coordinates"]
        if geometry["type"] == "Polygon":
            polygons = [polygons]
        vertices: list = []
        codes: list[int] = []
        for polygon in polygons:
            for ring in polygon:
                vertices.extend(ring)
                codes.extend([MplPath.MOVETO] + [MplPath.LINETO] * (len(ring) - 2)
                             + [MplPath.CLOSEPOLY])
                for a, b in zip(ring, ring[1:], strict=False):
                    key = tuple(sorted((tuple(a), tuple(b))))
                    owners.setdefault(key, []).append(code)
        paths[code] = MplPath(np.asarray(vertices, dtype=float), codes)
    segments = {key: tuple(sorted(set(value))) for key, value in owners.items()}
    every = np.concatenate([path.vertices for path in paths.values()])
    bounds = (*every.min(axis=0).tolist(), *every.max(axis=0).tolist())
    return Geometry(names=names, paths=paths, segments=segments, bounds=tuple(bounds))


def _nice(value: float) -> float:
    """Round a break to two significant figures so the legend reads well."""
    if value == 0:
        return 0.0
    digits = 1 - int(math.floor(math.log10(abs(value))))
    return round(value, digits)


def quantile_breaks(
    values: Iterable[float], classes: int = 5, integer: bool = False
) -> list[float]:
    """Return ascending breaks [b0 … bk] splitting the positive values into ≤ classes quantiles.

    b0 is the smallest and bk the largest value; inner breaks are rounded to two significant
    figures (whole numbers with integer=True) and duplicates dropped, so fewer classes come
    back when the values are few.
    """
    data = np.asarray([v for v in values if v is not None and not pd.isna(v) and v > 0],
                      dtype=float)
    if data.size == 0:
        return []
    low, high = float(data.min()), float(data.max())
    if low == high:
        return [low, high]
    inner = [_nice(float(q)) for q in np.quantile(data, np.linspace(0, 1, classes + 1)[1:-1])]
    if integer:
        inner = [float(math.ceil(q)) for q in inner]
    breaks = [low]
    for value in [*inner, high]:
        if low < value <= high and value > breaks[-1]:
            breaks.append(value)
    if breaks[-1] != high:
        breaks.append(high)
    return breaks


def classify(
    values: Mapping[str, float | None], breaks: list[float], suppressed: Iterable[str] = ()
) -> dict[str, object]:
    """Return each municipality's class: an index into the breaks, NONE, or SUPPRESSED.

    A value that is missing (None/NaN) or not positive has no class (NONE); a value above the
    last break goes in the last class, below the first in the first.
    """
    hidden = set(suppressed)
    out: dict[str, object] = {}
    last = max(len(breaks) - 2, 0)
    for code, value in values.items():
        if code in hidden:
            out[code] = SUPPRESSED
        elif value is None or pd.isna(value) or value <= 0 or len(breaks) < 2:
            out[code] = NONE
        else:
            index = int(np.searchsorted(breaks, value, side="right")) - 1
            out[code] = min(max(index, 0), last)
    return out


def class_colors(breaks: list[float]) -> list[str]:
    """Return one colour per class, spread over the palette from light to dark."""
    count = max(len(breaks) - 1, 0)
    if count == 0:
        return []
    if count == 1:
        return [PALETTE[3]]
    picks = np.linspace(0, len(PALETTE) - 1, count).round().astype(int)
    return [PALETTE[i] for i in picks]


def color_of(cls: object, breaks: list[float]) -> str:
    if cls == NONE:
        return NO_DATA_COLOR
    if cls == SUPPRESSED:
        return SUPPRESSED_COLOR
    return class_colors(breaks)[int(cls)]


def legend_labels(breaks: list[float], fmt: Callable[[float], str] = str) -> list[str]:
    """Return one label per class: "low – high" with the caller's number format.

    An infinite last break makes the last class open-ended: "≥ low".
    """
    return [f"≥ {fmt(low)}" if math.isinf(high) else f"{fmt(low)} – {fmt(high)}"
            for low, high in zip(breaks, breaks[1:], strict=False)]


@dataclass(frozen=True)
class MapLabels:
    """Texts drawn on the map, already translated by the caller."""

    title: str
    source: str
    legend_title: str
    no_data: str
    suppressed: str
    regions: str
    metro: str
    subtitle: str = ""


def _plain(text: str, width: int | None = None) -> str:
    """Escape "$" (a title like "Presupuesto de $5" is not mathtext); wrap to width if given."""
    if width:
        text = textwrap.fill(text, width)
    return text.replace("$", r"\$")


def render_map(
    table: pd.DataFrame,
    geometry_path: str | Path,
    labels: MapLabels,
    *,
    breaks: list[float] | None = None,
    fmt: Callable[[float], str] = str,
    suppressed: Iterable[str] = (),
) -> Figure:
    """Draw the municipalities coloured by table.value, region borders, the metro zone.

    table has one row per municipality with columns municipality (INEGI code), region,
    metro (bool) and value (float or NaN). Municipalities missing from the table are drawn as
    having no data. Each municipality's patch gets gid "mun-<code>" for the SVG tooltips.
    """
    geometry = load_geometry(str(geometry_path))
    values = dict(zip(table["municipality"], table["value"], strict=True))
    if breaks is None:
        breaks = quantile_breaks(v for c, v in values.items() if c not in set(suppressed))
    classes = classify({code: values.get(code) for code in geometry.paths}, breaks, suppressed)
    regions = dict(zip(table["municipality"], table["region"], strict=True))
    metro = {code for code, inside in zip(table["municipality"], table["metro"], strict=True)
             if inside}

    ensure_loaded()
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch, PathPatch

    figure = Figure(figsize=(10, 8), dpi=100)
    axes = figure.add_axes((0.01, 0.07, 0.66, 0.82))
    axes.set_axis_off()
    for code in sorted(geometry.paths):
        cls = classes[code]
        patch = PathPatch(geometry.paths[code], facecolor=color_of(cls, breaks),
                          edgecolor="#ffffff" if cls != NONE else "#b0b0b0", linewidth=0.4,
                          hatch="////" if cls == SUPPRESSED else None)
        patch.set_gid(f"mun-{code}")
        # add_artist, not add_patch: the limits come from the cached bounds, and add_patch's
        # per-segment limit update costs seconds for 35,000 vertices.
        axes.add_artist(patch)

    region_lines, metro_lines = [], []
    for key, owners in geometry.segments.items():
        if len(owners) == 1 or regions.get(owners[0]) != regions.get(owners[-1]):
            region_lines.append(key)
        inside = [code in metro for code in owners]
        if any(inside) and not (len(owners) == 2 and all(inside)):
            metro_lines.append(key)
    axes.add_artist(PathPatch(_segments_path(region_lines), facecolor="none",
                              edgecolor=REGION_EDGE_COLOR, linewidth=1.3, capstyle="round"))
    axes.add_artist(PathPatch(_segments_path(metro_lines), facecolor="none",
                              edgecolor=METRO_EDGE_COLOR, linewidth=2.2, capstyle="round"))
    west, south, east, north = geometry.bounds
    margin = 0.02 * max(east - west, north - south)
    axes.set_xlim(west - margin, east + margin)
    axes.set_ylim(south - margin, north + margin)
    axes.set_aspect(ASPECT)

    # The legend sits right of the map: wrap its long texts (Spanish runs longer) to fit.
    narrow = {"legend_title": 26, "no_data": 28, "suppressed": 28, "regions": 28, "metro": 28}
    labels = MapLabels(**{key: _plain(value, narrow.get(key))
                          for key, value in vars(labels).items()})
    handles = [Patch(facecolor=color, edgecolor="#666666", label=_plain(label))
               for color, label in zip(class_colors(breaks), legend_labels(breaks, fmt),
                                       strict=True)]
    handles.append(Patch(facecolor=NO_DATA_COLOR, edgecolor="#b0b0b0", label=labels.no_data))
    if SUPPRESSED in classes.values():
        handles.append(Patch(facecolor=SUPPRESSED_COLOR, edgecolor="#666666", hatch="////",
                             label=labels.suppressed))
    handles.append(Patch(facecolor="none", edgecolor=REGION_EDGE_COLOR, linewidth=1.3,
                         label=labels.regions))
    handles.append(Patch(facecolor="none", edgecolor=METRO_EDGE_COLOR, linewidth=2.2,
                         label=labels.metro))
    axes.legend(handles=handles, title=labels.legend_title, loc="center left", fontsize=9,
                title_fontsize=10, frameon=False, bbox_to_anchor=(1.0, 0.5))
    figure.suptitle(labels.title, fontsize=13, y=0.975)
    if labels.subtitle:
        figure.text(0.5, 0.915, labels.subtitle, ha="center", fontsize=9, color="#4a5560")
    figure.text(0.02, 0.02, labels.source, fontsize=8, color="#4a5560")
    return figure


def _segments_path(segments: list[tuple]) -> MplPath:
    """Join border segments in one path (one SVG element rather than thousands)."""
    ensure_loaded()
    from matplotlib.path import Path as MplPath

    if not segments:
        return MplPath(np.zeros((0, 2)))
    vertices = np.asarray([point for segment in segments for point in segment], dtype=float)
    codes = [MplPath.MOVETO, MplPath.LINETO] * len(segments)
    return MplPath(vertices, codes)


def figure_png(figure: Figure) -> bytes:
    ensure_loaded()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


_GROUP = re.compile(r'<g id="mun-(\d{5})">')
_DECIMALS = re.compile(r"(\d\.\d)\d+")


def figure_svg(figure: Figure, tooltips: Mapping[str, str]) -> bytes:
    """Return the SVG with a <title> (name and figure) as first child of each municipality."""
    ensure_loaded()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    # Matplotlib writes six decimals of a pixel; one is plenty and shrinks the file by half.
    svg = _DECIMALS.sub(r"\1", buffer.getvalue())

    def add_title(match: re.Match) -> str:
        text = tooltips.get(match.group(1), "")
        return f'{match.group(0)}\n   <title>{escape(text)}</title>'

    return _GROUP.sub(add_title, svg).encode("utf-8")
