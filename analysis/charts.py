"""Charts as matplotlib Figures (never pyplot: safe in a threaded server); labels come translated.

Every function takes already translated text, returns a Figure; render() turns it into PNG or
SVG bytes (the SVG carries no date, so the same data gives the same file).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.mpl import ensure_loaded

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# matplotlib is imported by the functions that draw, not with the module: the app's processes
# (web workers, the CLI) start without it and load it on the first chart, once, under a lock
# (analysis/mpl.py: threads drawing their first charts at once).

FORMATS = {"png": "image/png", "svg": "image/svg+xml"}
COLOR = "#0b5cad"
ACCENT = "#a4161a"


def _percent():
    ensure_loaded()
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0)


def _figure(rows: int) -> Figure:
    ensure_loaded()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, max(3.0, 0.35 * rows + 1.5)), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def ranking_chart(
    labels: Sequence[str], shares: Sequence[float], low: Sequence[float] | None,
    high: Sequence[float] | None, title: str, xlabel: str,
) -> Figure:
    """Horizontal bars of vote shares, first theme on top, with 95% interval whiskers."""
    figure = _figure(len(labels))
    ax = figure.add_subplot()
    y = np.arange(len(labels))
    shares = np.asarray(shares, dtype=float)
    xerr = None
    if low is not None and high is not None:
        xerr = np.vstack([np.clip(shares - np.asarray(low, dtype=float), 0, None),
                          np.clip(np.asarray(high, dtype=float) - shares, 0, None)])
    ax.barh(y, shares, xerr=xerr, color=COLOR, ecolor="#1b1f24", capsize=3)
    ax.set_yticks(y, labels=list(labels))
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(_percent())
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return figure


def pareto_chart(
    labels: Sequence[str], shares: Sequence[float], title: str, ylabel: str,
    cumulative_label: str, threshold: float = 0.8,
) -> Figure:
    """Bars of vote shares in rank order with the cumulative share line and the 80% mark."""
    figure = _figure(6)
    ax = figure.add_subplot()
    x = np.arange(len(labels))
    shares = np.asarray(shares, dtype=float)
    ax.bar(x, shares, color=COLOR)
    ax.plot(x, np.cumsum(shares), color=ACCENT, marker="o", label=cumulative_label)
    ax.axhline(threshold, color="#4a5560", linestyle="--", linewidth=1)
    ax.set_xticks(x, labels=list(labels), rotation=45, ha="right")
    ax.set_ylim(0, 1.05)
    ax.yaxis.set_major_formatter(_percent())
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="center right")
    return figure


def heatmap_chart(table: pd.DataFrame, title: str, colorbar_label: str,
                  empty_text: str = "") -> Figure:
    """A rows × columns heat map (e.g. region × theme vote shares), labels from index/columns.

    An empty table gives a figure with the title and empty_text (e.g. "No votes").
    """
    ensure_loaded()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(max(6.0, 0.6 * len(table.columns) + 3),
                             max(3.0, 0.4 * len(table.index) + 2)), layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    if table.empty:
        ax.set_axis_off()
        ax.text(0.5, 0.5, empty_text, ha="center", va="center")
        ax.set_title(title)
        return figure
    values = table.to_numpy(dtype=float)
    image = ax.imshow(values, aspect="auto", cmap="Blues", vmin=0)
    ax.set_xticks(np.arange(len(table.columns)), labels=[str(c) for c in table.columns],
                  rotation=45, ha="right")
    ax.set_yticks(np.arange(len(table.index)), labels=[str(i) for i in table.index])
    colorbar = figure.colorbar(image, ax=ax)
    colorbar.set_label(colorbar_label)
    colorbar.formatter = _percent()
    colorbar.update_ticks()
    ax.set_title(title)
    return figure


def participation_chart(
    labels: Sequence[str], respondents: Sequence[float], title: str, xlabel: str
) -> Figure:
    """Horizontal bars of respondents per region (or any group), in the given order."""
    figure = _figure(len(labels))
    ax = figure.add_subplot()
    y = np.arange(len(labels))
    ax.barh(y, respondents, color=COLOR)
    ax.set_yticks(y, labels=list(labels))
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return figure


def render(figure: Figure, fmt: str) -> bytes:
    """Return the figure as PNG or SVG bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be png or svg, not {fmt!r}")
    ensure_loaded()
    buffer = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {}
    figure.savefig(buffer, format=fmt, dpi=100, metadata=metadata)
    return buffer.getvalue()
