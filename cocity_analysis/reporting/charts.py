"""The charts of the reports and of the exploration panel: one module, seaborn/matplotlib.

Two layers:

* figure functions, each ``data -> matplotlib.figure.Figure`` (no pyplot state, no view object):
  :func:`profile_figure`, :func:`intervals_figure`, :func:`line_panels_figure` (income series,
  k diagnostics), :func:`biplot_figure`, :func:`map_figure`. Titles and labels are parameters; the
  report entry points below take them from the message table (:mod:`.messages`).
* embedding: :func:`svg_document` (a figure as standalone SVG text, byte-reproducible) and
  :func:`figure_svg` (inline ``<svg role="img">`` with ``<title>`` and ``<desc>``, from the
  ``chart_svg.html.j2`` template), :func:`figure_html` (the figure with its values as a table,
  the text alternative).

The report entry points (``profile_chart_html(view)``, ``income_chart_html(view)``, ``map_html(view)``,
``overview_k_html(view)``, ``overview_map_html(view)``, ``_intervals_html(view)``) keep the names the
notebooks call; ``notebooks/explore.ipynb`` draws with the same figure functions
(:mod:`cocity_analysis.exploration.explore`), so JupyterLab shows the charts the cities receive.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import re
from functools import lru_cache
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from markupsafe import Markup
from matplotlib.figure import Figure

from cocity_analysis import FOCUS_AREAS
from cocity_analysis.reporting import italian, templating
from cocity_analysis.reporting.formatting import _is_missing, _share_phrase, format_number, format_score
from cocity_analysis.reporting.messages import _tv, area_label, short_area_label
from cocity_analysis.reporting.views import CityView, OverviewView, _chosen_k, _label_column

log = logging.getLogger(__name__)

#: Figure width in inches: at 72 pt per inch the SVG is 4.4 x 72 = 317 pt (422 px) wide, so a
#: 390 px phone shows it at ~0.85 and a 9 pt label stays ~10 px high.
WIDTH_IN = 4.4
FONT_PT = 10.0
#: How far the browser may enlarge a chart past its drawn size (vector: stays sharp).
MAX_SCALE = 1.5
#: The fonts the SVG names; the browser picks the first it has, else its sans-serif.
SANS = ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"]
#: Characters per line of a title (bold, 10.5 pt) and of an axis label across the figure's width.
TITLE_CHARS = 50
LABEL_CHARS = 60
MUTED = "#57606a"
LAND = "#e9edf1"
REGION_EDGE = "#7d8790"

RC = {
    "svg.fonttype": "none",  # text stays text: the browser draws it in the system sans-serif
    "font.family": "sans-serif",
    "font.sans-serif": SANS,
    "font.size": FONT_PT,
    "axes.titlesize": FONT_PT,
    "axes.labelsize": FONT_PT * 0.9,
    "xtick.labelsize": FONT_PT * 0.9,
    "ytick.labelsize": FONT_PT * 0.9,
    "legend.fontsize": FONT_PT * 0.9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#8c959f",
    "axes.labelcolor": "#1f2328",
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "text.color": "#1f2328",
    "text.parse_math": False,  # a "$" in a city or indicator name is text, not mathtext
}


#: seaborn's "colorblind" palette, ``seaborn.color_palette("colorblind").as_hex()``, written out: importing
#: seaborn imports SciPy's statistics (about 1.5 s in every report kernel) and the city charts need only
#: these 10 colours; ``tests/test_charts.py`` checks they are seaborn's.
COLORBLIND = ("#0173b2", "#de8f05", "#029e73", "#d55e00", "#cc78bc", "#ca9161", "#fbafe4", "#949494",
              "#ece133", "#56b4e9")


@lru_cache(maxsize=1)
def palette() -> tuple[str, ...]:
    """seaborn's "colorblind" palette as hex colours (10 colours, :data:`COLORBLIND`).

    Examples
    --------
    >>> palette()[:2]
    ('#0173b2', '#de8f05')
    """
    return COLORBLIND


def series_colours() -> dict[str, str]:
    """Colour of each series of the profile chart: the city vermillion, its profile blue, the 39 grey."""
    p = palette()
    return {"city": p[3], "cluster_mean": p[0], "mean_39": p[7], "south": p[2]}


def cluster_colours(n: int) -> dict[int, str]:
    """Colour per need profile number 1..n, the same in every chart (reports and exploration).

    Examples
    --------
    >>> cluster_colours(2)
    {1: '#0173b2', 2: '#de8f05'}
    """
    p = palette()
    return {number: p[(number - 1) % len(p)] for number in range(1, int(n) + 1)}


def _styled(function):
    """Run a figure function under matplotlib's defaults and :data:`RC`: every artist it creates reads these
    settings, whatever style a notebook set globally, so a chart is the same everywhere."""
    import functools

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with _chart_style():
            return function(*args, **kwargs)

    return wrapper


#: rcParams of :func:`_chart_style` per extra setting (validated once: ``style.context("default")``
#: validates some 300 values on every entry, ~5 ms, and a report enters it a dozen times).
_STYLE_PARAMS: dict = {}


def _style_params(extra: tuple = ()) -> dict:
    params = _STYLE_PARAMS.get(extra)
    if params is None:
        import matplotlib
        import matplotlib.style

        with matplotlib.style.context("default"), matplotlib.rc_context({**RC, **dict(extra)}):
            current = matplotlib.rcParams
            # the settings a style leaves alone (backend, interactive, ...) stay the session's
            kept = getattr(matplotlib.style, "_STYLE_BLACKLIST", set()) | {"backend"}
            params = {k: current._get(k) for k in current if k not in kept}
        _STYLE_PARAMS[extra] = params
    return params


@contextlib.contextmanager
def _chart_style(**extra):
    """matplotlib's defaults, then :data:`RC` and ``extra`` (the same rcParams as
    ``style.context("default")`` + ``rc_context(RC)``), restored on exit."""
    import matplotlib

    params = _style_params(tuple(sorted(extra.items())))
    current = matplotlib.rcParams
    saved = {k: current._get(k) for k in params}
    current._update_raw(params)
    try:
        yield
    finally:
        current._update_raw(saved)


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height))


def _axes(fig: Figure, *args, **kwargs):
    return fig.subplots(*args, **kwargs)


def _finish_frame(fig: Figure, ax, *, xlabel: str, title: str, top_in: float, bottom_in: float) -> Figure:
    """What the horizontal frames (profile bars, rank intervals) share: vertical grid lines behind the data,
    the axis label, the margins and the title at the top left."""
    ax.grid(axis="x", color="#d0d7de", linewidth=0.6)
    ax.set_axisbelow(True)
    if xlabel:
        ax.set_xlabel(xlabel)
    _margins(fig, left=0.1, right=0.15, top=top_in, bottom=bottom_in)
    if title:
        _put_title(fig, title)
    return fig


# --- figures: data -> Figure -------------------------------------------------------------------


@_styled
def profile_figure(table: pd.DataFrame, series: Sequence[tuple[str, str]], *, title: str = "",
                   xlabel: str = "", no_data: str = "n.d.", colours: Mapping[str, str] | None = None,
                   value_text: Callable[[float], str] | None = None, xlim: tuple[float, float] | None = (0, 100),
                   highlight: str = "city") -> Figure:
    """Horizontal grouped bars: one group per row of ``table``, one bar per series.

    Parameters
    ----------
    table : DataFrame
        One row per item (top to bottom): ``label`` (the group's name, may hold a newline), one
        column per series key, and optionally ``status``: the words shown where the
        ``highlight`` series has no value (else ``no_data``).
    series : sequence of (key, label)
        The columns to draw, in order, with their legend labels.
    title, xlabel : str
        Figure title (say the data's years) and value axis label.
    no_data : str
        Words shown in place of a missing bar: a missing value is said, never drawn as 0.
    colours : mapping, optional
        Series key -> colour (default :func:`series_colours`, then the palette).
    value_text : callable, optional
        Formats the value written at the end of each bar (default: one decimal).
    xlim : (float, float) or None
        Value axis range (None: from the data).
    highlight : str
        The series whose bars are outlined (the city).

    Returns
    -------
    matplotlib.figure.Figure
        One axes; ``ax.containers[j]`` holds the bars of ``series[j]`` (missing values have none).

    Examples
    --------
    >>> table = pd.DataFrame({"label": ["Lavoro", "Casa"], "city": [40.0, np.nan], "mean_39": [50.0, 45.0]})
    >>> fig = profile_figure(table, [("city", "Matera"), ("mean_39", "Media delle 39")])
    >>> [float(p.get_width()) for p in fig.axes[0].containers[0]]
    [40.0]
    """
    fig = _profile_frame(len(table), len(series), title=title, xlabel=xlabel, xlim=xlim)
    _profile_data(fig, table, series, no_data=no_data, colours=colours, value_text=value_text, xlim=xlim,
                  highlight=highlight)
    return fig


#: Geometry of :func:`profile_figure` (data units): a group is its label, then its bars.
_GROUP_BARS, _GROUP_LABEL = 0.8, 0.55


@_styled
def _profile_frame(n: int, m: int, *, title: str, xlabel: str, xlim) -> Figure:
    """What :func:`profile_figure` draws whatever the values: size, axes, value axis, grid, title.

    Depends only on its arguments, so a report kernel keeps one and draws each city's data on it
    (:func:`_on_frame`)."""
    pitch = _GROUP_BARS + _GROUP_LABEL
    unit_in = 0.2 * m + 0.1  # inches per data unit of a group's bars
    title_lines = _lines(title, TITLE_CHARS)
    legend_in = 0.2 * math.ceil(m / 2) + 0.1
    top_in = 0.1 + 0.2 * title_lines + legend_in
    bottom_in = 0.3 + (0.2 * _lines(xlabel, LABEL_CHARS) if xlabel else 0)
    fig = _figure(WIDTH_IN, top_in + bottom_in + n * pitch * unit_in / 0.8 * 0.8)
    ax = _axes(fig)
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    if xlim:
        ax.set_xlim(xlim[0], xlim[1] * 1.08)
        if xlim == (0, 100):
            ax.set_xticks(range(0, 101, 20))
    ax.set_ylim(n * pitch, 0)
    return _finish_frame(fig, ax, xlabel=_wrap(xlabel, LABEL_CHARS) if xlabel else "", title=title,
                         top_in=top_in, bottom_in=bottom_in)


@_styled
def _profile_data(fig: Figure, table: pd.DataFrame, series, *, no_data: str, colours, value_text, xlim,
                  highlight: str) -> None:
    """The bars, their values, the words for missing values, the group labels and the legend of
    :func:`profile_figure`, on a :func:`_profile_frame`."""
    ax = fig.axes[0]
    colours = {**series_colours(), **(colours or {})}
    value_text = value_text or (lambda v: f"{v:.1f}")
    n, m = len(table), len(series)
    bar = _GROUP_BARS / max(m, 1)
    pitch = _GROUP_BARS + _GROUP_LABEL
    p = palette()
    span = (xlim[1] - xlim[0]) if xlim else float(np.nanmax(table[[k for k, _ in series]].to_numpy(float)) or 1.0)
    start = (xlim[0] if xlim else 0) + span * 0.01
    centres = np.arange(n) * pitch + _GROUP_LABEL + 0.4
    statuses = table["status"].tolist() if "status" in table.columns else [None] * n
    for j, (key, label) in enumerate(series):
        values = pd.to_numeric(table[key], errors="coerce").to_numpy(dtype=float)
        ys = centres + (j - (m - 1) / 2) * bar
        shown = ~np.isnan(values)
        colour = colours.get(key, p[j % len(p)])
        container = ax.barh(ys[shown], values[shown], height=bar * 0.9, color=colour, label=label,
                            edgecolor="#5a2300" if key == highlight else "none", linewidth=0.8)
        for rect, value in zip(container, values[shown]):
            ax.text(rect.get_width() + span * 0.01, rect.get_y() + rect.get_height() / 2, value_text(value),
                    va="center", ha="left", fontsize=FONT_PT * 0.75, color=MUTED)
        for y, value, status in zip(ys, values, statuses):
            if np.isnan(value):
                words = status if key == highlight and isinstance(status, str) else no_data
                ax.text(start, y, f"{label}: {words}", va="center", ha="left", fontsize=FONT_PT * 0.75,
                        color=MUTED, style="italic")
    for centre, label in zip(centres, table["label"]):
        ax.text(xlim[0] if xlim else 0, centre - 0.42, str(label), ha="left", va="bottom",
                fontsize=FONT_PT * 0.9, fontweight="bold")
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=2, frameon=False, handlelength=1.0,
              borderaxespad=0.1)


#: Least vertical distance between two arrow labels of a biplot, as a share of its height.
LABEL_GAP_SHARE = 0.06


def _spread(y: np.ndarray, gap: float) -> np.ndarray:
    """Heights for labels at ``y`` so that any two are at least ``gap`` apart.

    From the highest down, a label closer than ``gap`` to the one above moves down to ``gap``
    below it; labels already apart keep their height. Deterministic (ties keep their order).

    >>> _spread(np.array([0.30, -0.1, 0.28]), 0.05).round(2).tolist()
    [0.3, -0.1, 0.25]
    """
    placed = np.asarray(y, dtype=float).copy()
    order = np.argsort(-placed, kind="stable")
    for above, below in zip(order[:-1], order[1:]):
        placed[below] = min(placed[below], placed[above] - gap)
    return placed


def _put_title(fig: Figure, title: str) -> None:
    """The figure's title at its top left, bold, wrapped to :data:`TITLE_CHARS` (what every chart does)."""
    fig.suptitle(_wrap(title, TITLE_CHARS), x=0.02, y=1 - 0.06 / fig.get_figheight(), ha="left", va="top",
                 fontsize=FONT_PT * 1.05, fontweight="bold")


def _lines(text: str, width: int) -> int:
    return len(_wrap(text, width).split("\n")) if text else 0


def _wrap(text: str, width: int) -> str:
    """``text`` broken into lines of at most ``width`` characters (a title must fit a phone-wide figure)."""
    import textwrap

    return "\n".join(textwrap.fill(part, width, break_long_words=False) for part in str(text).split("\n"))


def _margins(fig: Figure, *, left: float = 0.1, right: float = 0.1, top: float = 0.1, bottom: float = 0.1,
             hspace: float | None = None, wspace: float | None = None) -> None:
    """Fixed margins in inches (``tight_layout`` and a tight bounding box cost a drawing pass each)."""
    width, height = fig.get_size_inches()
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height,
                        hspace=hspace, wspace=wspace)


@_styled
def intervals_figure(table: pd.DataFrame, n_positions: int, *, title: str = "", xlabel: str = "",
                     left_text: str = "", right_text: str = "", tick_text: Callable[[int], str] = str) -> Figure:
    """Rank intervals: per row a line from ``p05`` to ``p95`` and a dot at ``median`` (positions 1..n).

    Parameters
    ----------
    table : DataFrame
        One row per area, top to bottom: ``label``, ``p05``, ``p95``, ``median`` (positions).
    n_positions : int
        Positions on the axis (1 .. n_positions, 1 on the left).
    title, xlabel : str
    left_text, right_text : str
        What the two ends of the axis mean (e.g. "più sopra la media" / "più sotto la media").
    tick_text : callable
        Label of position i (e.g. ``"1ª"``).

    Returns
    -------
    matplotlib.figure.Figure
        ``ax.collections[0]`` the intervals (a LineCollection, one segment per row),
        ``ax.collections[1]`` the medians (offsets ``(median, row + 0.62)``: each row's label sits above it).

    Examples
    --------
    >>> t = pd.DataFrame({"label": ["Casa"], "p05": [1.0], "p95": [3.0], "median": [2.0]})
    >>> intervals_figure(t, 4).axes[0].collections[1].get_offsets().tolist()
    [[2.0, 0.62]]
    """
    fig = _intervals_frame(len(table), n_positions, title=title, xlabel=xlabel, tick_text=tick_text)
    _intervals_data(fig, table, left_text=left_text, right_text=right_text)
    return fig


@_styled
def _intervals_frame(n: int, n_positions: int, *, title: str, xlabel: str, tick_text: Callable[[int], str]) -> Figure:
    """What :func:`intervals_figure` draws whatever the intervals (kept per kernel, :func:`_on_frame`)."""
    title_lines = _lines(title, TITLE_CHARS)
    top_in = 0.15 + 0.2 * title_lines + 0.25
    bottom_in = 0.35 + (0.2 if xlabel else 0)
    row_in = 0.45
    fig = _figure(WIDTH_IN, top_in + bottom_in + row_in * n)
    ax = _axes(fig)
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax.set_ylim(n, 0)
    positions = list(range(1, int(n_positions) + 1))
    ax.set_xticks(positions, [tick_text(i) for i in positions])
    ax.set_xlim(0.6, n_positions + 0.4)
    return _finish_frame(fig, ax, xlabel=xlabel, title=title, top_in=top_in, bottom_in=bottom_in)


@_styled
def _intervals_data(fig: Figure, table: pd.DataFrame, *, left_text: str, right_text: str) -> None:
    """The intervals, medians, row labels and axis-end words of :func:`intervals_figure`."""
    ax = fig.axes[0]
    p = palette()
    y = np.arange(len(table)) + 0.62
    ax.hlines(y, table["p05"].astype(float), table["p95"].astype(float), color=p[0], alpha=0.45, linewidth=7,
              capstyle="round")
    ax.scatter(table["median"].astype(float), y, s=55, color=p[3], zorder=3, edgecolor="white", linewidth=1)
    for row_y, label in zip(y, table["label"]):
        ax.text(0.62, row_y - 0.2, str(label), ha="left", va="bottom", fontsize=FONT_PT * 0.9, fontweight="bold")
    # after the row labels (drawing order of equal z): written here, not in the frame
    if left_text:
        ax.text(0.0, 1.0, "← " + left_text, transform=ax.transAxes, ha="left", va="bottom",
                fontsize=FONT_PT * 0.8, color=MUTED)
    if right_text:
        ax.text(1.0, 1.0, right_text + " →", transform=ax.transAxes, ha="right", va="bottom",
                fontsize=FONT_PT * 0.8, color=MUTED)


@_styled
def line_panels_figure(panels: Sequence[dict], *, ncols: int = 1, title: str = "", highlight_x=None,
                       highlight_label: str = "", xlabel: str = "", point_labels: bool = True) -> Figure:
    """Small multiples of line charts (matplotlib ``plot``), one axes per panel.

    Parameters
    ----------
    panels : sequence of dict
        ``title``, ``x``, ``y`` (sequences; missing y values are left out, not drawn as 0) and
        optionally ``text`` (one label per point, written above it; e.g. Italian numbers) and
        ``format`` (a callable for the y tick labels).
    ncols : int
        Panels per row.
    title : str
        Figure title (say the years).
    highlight_x : optional
        An x marked in every panel (the chosen k): dashed line, the point in vermillion.
    highlight_label : str
        Legend text of that mark.
    xlabel : str
        Label of the x axis of the bottom panels.
    point_labels : bool
        Write ``text`` above the points.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per panel; ``ax.lines[0]`` holds the panel's points.

    Examples
    --------
    >>> fig = line_panels_figure([{"title": "Reddito", "x": [2018, 2021], "y": [10.0, 12.0]}])
    >>> fig.axes[0].lines[0].get_ydata().tolist()
    [10.0, 12.0]
    """
    prepared = _panel_points(panels, point_labels)
    legend = bool(highlight_label) and highlight_x is not None and any(
        highlight_x in set(frame["x"]) for frame, _texts, _labelled in prepared)
    fig = _line_panels_frame(_panels_layout(panels, prepared, ncols), title=title, xlabel=xlabel, legend=legend)
    _line_panels_data(fig, panels, prepared, point_labels=point_labels, highlight_x=highlight_x,
                      highlight_label=highlight_label, legend=legend)
    return fig


def _panel_points(panels: Sequence[dict], point_labels: bool) -> list[tuple[pd.DataFrame, list, bool]]:
    """Per panel of :func:`line_panels_figure`: its points with a value (sorted by x), their texts, and
    whether every point carries its text (then the y tick labels are left out)."""
    prepared = []
    for panel in panels:
        frame = pd.DataFrame({"x": list(panel["x"]), "y": pd.to_numeric(pd.Series(list(panel["y"])), errors="coerce")})
        texts = list(panel.get("text") or [None] * len(frame))
        keep = frame["y"].notna().to_numpy()
        frame = frame[keep]
        texts = [t for t, k in zip(texts, keep) if k]
        labelled = point_labels and bool(texts) and all(texts)
        prepared.append((frame.sort_values("x"), texts, labelled))
    return prepared


def _panels_layout(panels: Sequence[dict], prepared, ncols: int) -> tuple:
    """What the frame of :func:`line_panels_figure` depends on: per panel its title, its x values and
    whether its points are labelled."""
    return (ncols, tuple((panel.get("title", ""), tuple(frame["x"]), labelled)
                         for panel, (frame, _texts, labelled) in zip(panels, prepared)))


@_styled
def _line_panels_frame(layout: tuple, *, title: str, xlabel: str, legend: bool) -> Figure:
    """What :func:`line_panels_figure` draws whatever the y values: size, axes, panel titles, x ticks and
    range, grid, margins, figure title; a report kernel keeps one per ``layout`` (:func:`_on_frame`)."""
    ncols, items = layout
    nrows = math.ceil(len(items) / ncols)
    title_in = 0.2 * _lines(title, TITLE_CHARS) + 0.1 if title else 0.0
    fig = _figure(WIDTH_IN, 0.5 + 1.9 * nrows + title_in)
    axes = np.atleast_1d(_axes(fig, nrows, ncols, squeeze=False)).ravel()
    ticked = False  # some panel shows y tick labels (room for them on the left)
    for ax, (panel_title, xs, labelled) in zip(axes, items):
        ticked = ticked or not labelled
        # y given: the title stays on the axes' top without measuring every tick label first (the
        # automatic placement only moves it off ticks drawn on top, which these axes do not have)
        ax.set_title(panel_title, loc="left", fontsize=FONT_PT * 0.9, y=1.0)
        ax.set_ylabel("")
        ax.set_xlabel(xlabel if ax in axes[-ncols:] else "")
        ax.grid(axis="y", color="#d0d7de", linewidth=0.6)
        if labelled:
            # every point carries its value: the y tick labels would only repeat it, less exactly
            ax.tick_params(axis="y", labelleft=False, length=0)
        if len(xs) > 1:
            ax.set_xticks(list(xs), [str(x) for x in xs])
            spread = (max(xs) - min(xs)) * 0.08
            ax.set_xlim(min(xs) - spread, max(xs) + spread)
    for ax in axes[len(items):]:
        ax.set_visible(False)
    if title:
        _put_title(fig, title)
    _margins(fig, left=0.55 if ticked else 0.2, right=0.15, top=0.3 + title_in,
             bottom=0.2 + (0.3 if xlabel else 0) + (0.3 if legend else 0), hspace=0.55, wspace=0.35)
    return fig


@_styled
def _line_panels_data(fig: Figure, panels: Sequence[dict], prepared, *, point_labels: bool, highlight_x,
                      highlight_label: str, legend: bool) -> None:
    """The lines, point labels, y range and highlight of :func:`line_panels_figure`, on its frame."""
    from matplotlib.ticker import FuncFormatter

    p = palette()
    axes = fig.axes
    for ax, panel, (frame, texts, labelled) in zip(axes, panels, prepared):
        ax.plot(frame["x"], frame["y"], color=p[0], marker="o", markersize=5, linewidth=1.8,
                markeredgecolor="white")
        if len(frame["x"]) <= 1:  # one point: its axis range comes from the point (the frame set none)
            ax.set_xticks(list(frame["x"]), [str(x) for x in frame["x"]])
        if not labelled and "format" in panel:
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos, f=panel["format"]: f(v)))
        low, high = frame["y"].min(), frame["y"].max()
        pad = (high - low) * 0.25 or abs(high) * 0.1 or 1.0
        ax.set_ylim(low - pad, high + pad)
        if point_labels:
            for x, y, text in zip(frame["x"], frame["y"], texts):
                if text:
                    ax.annotate(text, (x, y), xytext=(0, 6), textcoords="offset points", ha="center",
                                fontsize=FONT_PT * 0.75, color=MUTED)
        if highlight_x is not None and highlight_x in set(frame["x"]):
            ax.axvline(highlight_x, color=p[3], linestyle="--", linewidth=1, zorder=0,
                       label=highlight_label or None)
            ax.scatter([highlight_x], frame.loc[frame["x"] == highlight_x, "y"], s=60, color=p[3], zorder=4)
    if legend:
        marked = next(ax for ax in axes if ax.get_legend_handles_labels()[0])
        fig.legend(*marked.get_legend_handles_labels(), loc="lower center", bbox_to_anchor=(0.5, 0.0),
                   frameon=False)


@_styled
def biplot_figure(scores: pd.DataFrame, loadings: pd.DataFrame, explained: Sequence[float], *,
                  names: Mapping[str, str] | None = None, highlight: str | None = None,
                  labels: Mapping[str, str] | None = None, cluster_labels: Mapping[int, str] | None = None,
                  axis_label: Callable[[int, float], str] = lambda i, share: f"PC{i} ({share:.0%})",
                  title: str = "") -> Figure:
    """The cities on the first two principal components, coloured by profile, with indicator arrows.

    Parameters
    ----------
    scores : DataFrame
        Index city code; ``PC1``, ``PC2``, ``cluster``.
    loadings : DataFrame
        Index indicator; ``PC1``, ``PC2`` (arrows, scaled to stay inside the cloud).
    explained : sequence of float
        Explained variance ratio of PC1 and PC2.
    names, labels, cluster_labels : mapping, optional
        City names, indicator labels, profile labels (legend).
    highlight : str, optional
        The city ringed and named in vermillion.
    axis_label : callable
        ``(component number, explained share) -> axis label``.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
        One point per city in the profile scatters, plus the ring around ``highlight``.
    """
    import seaborn as sns

    fig = _figure(WIDTH_IN, WIDTH_IN * 0.95)
    ax = _axes(fig)
    colours = cluster_colours(int(scores["cluster"].max()))
    frame = scores.assign(profile=[(cluster_labels or {}).get(int(c), str(int(c))) for c in scores["cluster"]])
    order = [(cluster_labels or {}).get(c, str(c)) for c in sorted(colours)]
    sns.scatterplot(data=frame, x="PC1", y="PC2", hue="profile", hue_order=[o for o in order if o in set(frame["profile"])],
                    palette={(cluster_labels or {}).get(c, str(c)): colours[c] for c in colours}, s=40,
                    edgecolor="0.3", ax=ax, legend=True)
    spans = np.abs(scores[["PC1", "PC2"]].to_numpy()).max(axis=0)
    spans = np.where(spans > 0, spans, 1.0)
    arrows = loadings[["PC1", "PC2"]].to_numpy()
    reach = np.abs(arrows).max(axis=0)
    tips = arrows * 0.8 * float(np.min(spans / np.where(reach > 0, reach, np.inf)))
    ax.quiver(np.zeros(len(tips)), np.zeros(len(tips)), tips[:, 0], tips[:, 1], angles="xy", scale_units="xy",
              scale=1, width=0.0025, headwidth=5, color="0.4", zorder=1)
    # labels of arrows on opposite sides can still cross (each runs from its tip towards the centre):
    # all kept apart, closer together when many would not fit in the height
    height = 2 * 1.12 * spans[1]
    label_y = _spread(tips[:, 1], gap=min(LABEL_GAP_SHARE * height, 0.9 * height / max(len(tips), 1)))
    for indicator, (x, _), y in zip(loadings.index, tips, label_y):
        # written from the arrow's tip towards the centre: outward, a label ran past the axes and was cut;
        # on a light ground above the points, which would otherwise cover its letters
        ax.text(x, y, _short((labels or {}).get(indicator, indicator), 26), fontsize=FONT_PT * 0.65,
                color="0.25", ha="right" if x >= 0 else "left", va="bottom", clip_on=True, gid="loading-label",
                zorder=4, bbox={"facecolor": "white", "alpha": 0.75, "edgecolor": "none", "pad": 0.5})
    ax.set_xlim(-1.12 * spans[0], 1.12 * spans[0])
    ax.set_ylim(-1.12 * spans[1], 1.12 * spans[1])
    if highlight is not None and highlight in scores.index:
        point = scores.loc[highlight]
        ax.scatter([point["PC1"]], [point["PC2"]], s=160, facecolor="none", edgecolor=palette()[3], lw=2)
        # on a white ground above the arrows' labels: the chosen city stays readable where they cross
        ax.annotate((names or {}).get(highlight, highlight), (point["PC1"], point["PC2"]), xytext=(9, 0),
                    textcoords="offset points", color=palette()[3], fontsize=FONT_PT * 0.9, va="center",
                    fontweight="bold", zorder=5, bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none",
                                                       "pad": 1.0})
    ax.axhline(0, color="0.85", lw=0.8, zorder=0)
    ax.axvline(0, color="0.85", lw=0.8, zorder=0)
    ax.set_xlabel(axis_label(1, float(explained[0])))
    ax.set_ylabel(axis_label(2, float(explained[1])))
    ax.legend(fontsize=FONT_PT * 0.7, loc="lower left", bbox_to_anchor=(0.0, 1.01), frameon=False)
    title_in = 0.17 * _lines(title, TITLE_CHARS) + 0.05 if title else 0.0
    if title:
        _put_title(fig, title)
    _margins(fig, left=0.6, top=(0.3 if title else 0.5) + title_in + 0.16 * len(set(frame["profile"])), bottom=0.5)
    return fig


@_styled
def map_figure(geometry, *, colours: Mapping[str, str] | None = None, default_colour: str | None = None,
               highlight: str | None = None, highlight_label: str | None = None,
               legend: Sequence[tuple[str, str]] = (), title: str = "", note: str = "",
               label_regions: bool = True) -> Figure:
    """The cities on the outlines of their regions (geopandas ``plot``), ``highlight`` in vermillion.

    Parameters
    ----------
    geometry : cocity_analysis.reporting.maps.MapGeometry
        Regions, city polygons with an inside ``point``, drawing bounds (EPSG:3035).
    colours : mapping, optional
        City code -> fill colour (e.g. by profile); the others get ``default_colour``.
    default_colour : str, optional
        Default: the palette's blue.
    highlight : str, optional
        City code drawn on top in vermillion with its name (``highlight_label``).
    legend : sequence of (label, colour)
        Legend entries drawn under the map (none by default).
    title, note : str
        Title (say the boundaries' year); a note under the map (e.g. cities without a boundary).
    label_regions : bool
        Write the regions' names.

    Returns
    -------
    matplotlib.figure.Figure
        One axes: regions, then the cities (one polygon each), their points, the highlight.
    """
    p = palette()
    default_colour = default_colour or p[0]
    minx, miny, maxx, maxy = geometry.bounds
    width = WIDTH_IN
    title_in = 0.2 * _lines(title, TITLE_CHARS) + 0.15 if title else 0.0
    note_in = 0.18 * _lines(note, LABEL_CHARS) + 0.05 if note else 0.0
    legend_in = 0.2 * len(legend)
    height = min(width * (maxy - miny) / (maxx - minx), width * 1.3) + title_in + note_in + legend_in
    fig = _figure(width, height)
    ax = _axes(fig)
    ax.set_axis_off()
    geometry.regions.plot(ax=ax, color=LAND, edgecolor=REGION_EDGE, linewidth=0.6)
    cities = geometry.cities
    # every city in its colour, the highlighted one too (covered by its highlight, drawn last): the
    # drawing without the highlight is then the same for every city report (see map_html)
    fills = [(colours or {}).get(str(c), default_colour) for c in cities.index]
    if len(cities):
        cities.plot(ax=ax, color=fills, edgecolor="white", linewidth=0.3)
        ax.scatter(cities["point"].x, cities["point"].y, s=14, color=fills, edgecolor="white", linewidth=0.4,
                   zorder=3)
    if label_regions:
        for name, row in geometry.regions.iterrows():
            point = row.geometry.representative_point()
            if minx <= point.x <= maxx and miny <= point.y <= maxy:
                ax.text(point.x, point.y, str(name), ha="center", va="center", fontsize=FONT_PT * 0.75,
                        color=MUTED, style="italic", zorder=2)
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect("equal")
    if legend:
        import matplotlib.lines as mlines

        handles = [mlines.Line2D([], [], marker="o", linestyle="", color=c, label=label) for label, c in legend]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, 0), frameon=False, ncol=1,
                  fontsize=FONT_PT * 0.75)
    if title:
        _put_title(fig, title)
    if note:
        fig.text(0.02, 0.02 / height, _wrap(note, LABEL_CHARS), ha="left", va="bottom", fontsize=FONT_PT * 0.8,
                 color=MUTED)
    _margins(fig, left=0.02, right=0.02, top=title_in, bottom=note_in + legend_in)
    if highlight is not None:
        _draw_highlight(fig, geometry, highlight, highlight_label)
    return fig


@_styled
def _draw_highlight(fig: Figure, geometry, code: str, label: str | None = None) -> list:
    """Draw city ``code`` on top of a :func:`map_figure` in vermillion with its name; returns the
    artists added (so that a kept drawing can take them off again)."""
    ax = fig.axes[0]
    if code not in geometry.cities.index:
        return []
    before = set(ax.get_children())
    p = palette()
    minx, _miny, maxx, _maxy = geometry.bounds
    city = geometry.cities.loc[[code]]
    city.plot(ax=ax, color=p[3], edgecolor="#5a2300", linewidth=0.8, zorder=4)
    point = city["point"].iloc[0]
    ax.scatter([point.x], [point.y], s=70, color=p[3], edgecolor="white", linewidth=1.6, zorder=5)
    right = point.x > minx + (maxx - minx) * 0.7
    ax.annotate(label or str(city["name"].iloc[0]), (point.x, point.y),
                xytext=(-9 if right else 9, 4), textcoords="offset points", ha="right" if right else "left",
                fontsize=FONT_PT * 1.1, fontweight="bold", zorder=6,
                # a box, not a stroke path effect: with a path effect the name would be drawn as a path
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})
    return [artist for artist in ax.get_children() if artist not in before]


#: The frames of the report charts kept by this kernel (:func:`_on_frame`), by what they depend on.
_FRAMES: dict = {}
_FRAMES_KEPT = 8


@contextlib.contextmanager
def _on_frame(key, build: Callable[[], Figure]):
    """The kernel's frame figure for ``key`` (``build()`` the first time): the body draws a city's
    data on it and exports it; on exit everything the body added is taken off again.

    Building the axes, ticks and titles is about half of a chart's cost and the same for every
    city; a frame with a city's data is byte-identical to the fresh figure (tests check it).
    """
    fig = _FRAMES.get(key)
    if fig is None:
        if len(_FRAMES) >= _FRAMES_KEPT:
            _FRAMES.clear()
        fig = _FRAMES[key] = build()
    kept = [(ax, set(ax.get_children()), len(ax.containers)) for ax in fig.axes]
    texts, legends = len(fig.texts), len(fig.legends)
    try:
        yield fig
    finally:
        for ax, before, containers in kept:
            for container in ax.containers[containers:][::-1]:
                container.remove()
            for artist in ax.get_children():
                if artist not in before:
                    artist.remove()
            ax.relim()
        for artist in fig.texts[texts:] + fig.legends[legends:]:
            artist.remove()


#: The map of the city reports without a highlight, kept for the next report of this kernel: drawing
#: it is most of a map's cost and it is the same for every city (the highlight is added and taken off
#: again around each export; the bytes equal those of a fresh map_figure, tests check it).
_MAP_BASE: dict = {}


def _city_map_figure_html(geometry, code: str, label: str, *, title: str, note: str, html_title: str,
                          **html) -> Markup:
    key = (title, note)
    if _MAP_BASE.get("geometry") is not geometry or _MAP_BASE.get("key") != key:
        _MAP_BASE.clear()
        _MAP_BASE.update(geometry=geometry, key=key, figure=map_figure(geometry, title=title, note=note))
    fig = _MAP_BASE["figure"]
    added = _draw_highlight(fig, geometry, code, label)
    try:
        return figure_html(fig, title=html_title, **html)
    finally:
        for artist in added:
            artist.remove()


@_styled
def message_figure(text: str) -> Figure:
    """A small figure that only says ``text`` (a view that cannot be drawn with the current choices)."""
    fig = _figure(WIDTH_IN, 1.0)
    fig.text(0.5, 0.5, text, ha="center", va="center", fontsize=FONT_PT, wrap=True)
    return fig


def _short(text: str, width: int) -> str:
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


# --- embedding -----------------------------------------------------------------------------------


def figure_title(fig: Figure) -> str:
    """The title a figure function gave ``fig``, on one line (its text alternative); ``""`` if none.

    Examples
    --------
    >>> fig = _figure(WIDTH_IN, 1.0)
    >>> _ = fig.suptitle("Punteggi d'area\\n(dati 2011-2021)")
    >>> figure_title(fig)
    "Punteggi d'area (dati 2011-2021)"
    """
    return " ".join(fig.get_suptitle().split())


def svg_document(fig: Figure, salt: str = "cocity", *, tight: bool = False) -> str:
    """``fig`` as a standalone SVG document, byte-identical for the same figure and ``salt``.

    Text stays text (``svg.fonttype = none``); no date in the metadata; ids come from
    ``svg.hashsalt`` = ``salt`` (give each chart of a page its own salt so ids never clash).
    ``tight``: the bounding box is the drawing's (a label past the figure's edge is kept, not
    cut) at the cost of a second drawing pass; the figure functions above set margins that hold
    their labels, so the reports save without it (half the time per chart).

    Examples
    --------
    >>> fig = message_figure("dati non disponibili")
    >>> svg_document(fig) == svg_document(fig)
    True
    """
    buffer = io.StringIO()
    with _chart_style(**{"svg.hashsalt": salt}):
        fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight" if tight else None,
                    pad_inches=0.06, facecolor="white")
    return buffer.getvalue()


_SVG_RE = re.compile(r"<svg\b([^>]*)>(.*)</svg>\s*\Z", re.S)
# matplotlib's XML writer puts a space before every attribute: a literal prefix lets `re` jump from
# one id to the next instead of trying every character of a 150 KB map (6 ms a search)
_SVG_ID_RE = re.compile(r' id="([^"]+)"')


def figure_svg(fig: Figure, *, title: str, description: str, chart_id: str = "cocity-chart") -> Markup:
    """``fig`` as inline ``<svg>`` for a report: ``role="img"``, ``<title>``, ``<desc>``, scales to its box.

    Parameters
    ----------
    fig : Figure
    title, description : str
        What screen readers announce (autoescaped).
    chart_id : str
        Unique in the page: the ids of ``<title>``/``<desc>`` and the salt of the SVG's own ids.

    Returns
    -------
    markupsafe.Markup
        ``<svg ... viewBox=... width="100%">``, no XML header or doctype, nothing external.

    Examples
    --------
    >>> svg = figure_svg(message_figure("n.d."), title="Titolo", description="Descrizione")
    >>> svg.startswith("<svg") and 'role="img"' in svg and "<title id=" in svg
    True
    """
    text = svg_document(fig, salt=chart_id)
    match = _SVG_RE.search(text)
    view_box = re.search(r'viewBox="([^"]+)"', match.group(1)).group(1)
    # the RDF metadata names its vocabularies by URL: left out (nothing in a report points elsewhere)
    body = re.sub(r"<metadata>.*?</metadata>", "", match.group(2), flags=re.S).strip()
    # matplotlib numbers its groups per figure ("figure_1", "axes_1" ...): prefixed with the chart's
    # id, two charts of one page never share an id
    for name in dict.fromkeys(_SVG_ID_RE.findall(body)):
        for old, new in ((f' id="{name}"', f' id="{chart_id}-{name}"'), (f"url(#{name})", f"url(#{chart_id}-{name})"),
                         (f'href="#{name}"', f'href="#{chart_id}-{name}"')):
            body = body.replace(old, new)
    width_pt = float(view_box.split()[2])
    return templating.render("chart_svg.html.j2", view_box=view_box, max_width=round(width_pt * 4 / 3 * MAX_SCALE),
                             chart_id=chart_id, title=title, description=description,
                             body=Markup(body))


def figure_html(fig: Figure, *, title: str, description: str, chart_id: str, kind: str = "",
                caption: str = "", headers: Sequence[str] = (), rows: Sequence[Sequence[str]] = (),
                numeric: Sequence[int] = (), summary: str = "") -> Markup:
    """A report chart: :func:`figure_svg` in a ``<figure>``, a caption and its values as a table.

    The table (in a ``<details>``, "Valori del grafico") is the chart's text alternative: every
    value drawn, as text, also for a reader who cannot see the chart. Rendered by ``chart.html.j2``.

    Returns
    -------
    markupsafe.Markup
    """
    return templating.render("chart.html.j2", kind=kind or chart_id, caption=caption, headers=list(headers),
                             rows=[list(r) for r in rows], numeric=tuple(numeric), summary=summary,
                             svg=figure_svg(fig, title=title, description=description, chart_id=chart_id))


def _section(heading: str, css: str, **parts) -> str:
    """A section of charts (``chart_section.html.j2``) as ``str``: the report sections concatenate
    the entry points' HTML (a ``Markup`` on the right of ``str + ...`` would escape the left)."""
    context = {"intro": [], "legend": [], "charts": [], "nodata": [], "notes": [], "table": None, **parts}
    return str(templating.render("chart_section.html.j2", heading=heading, css=css, **context))


# --- the report entry points (views -> figures -> markup) ---------------------------------------


def years_text(references) -> str:
    """The span of the years named in reference-year texts: what a figure title says.

    Parameters
    ----------
    references : iterable of str
        Reference years as the catalogue writes them (``"2021 (contribuenti); 2023 (residenti)"`` ...).

    Returns
    -------
    str
        ``"2011-2023"``, one year, or ``"n.d."`` when no text names a year.

    Examples
    --------
    >>> years_text(["2011", "2021 (contribuenti); 2023 (residenti)"])
    '2011-2023'
    >>> years_text(["luglio 2020 (biblioteche)"]), years_text([None])
    ('2020', 'n.d.')
    """
    years = sorted({int(y) for r in references for y in re.findall(r"\b(?:19|20)\d\d\b", str(r or ""))})
    if not years:
        return "n.d."
    return str(years[0]) if years[0] == years[-1] else f"{years[0]}-{years[-1]}"


def city_years(view: CityView) -> str:
    """The reference years of the need indicators with a value for the city (what its scores are made of)."""
    need = view.need_indicators
    if "value" in need.columns:
        need = need[need["value"].notna()]
    return years_text(need["reference_year"]) if "reference_year" in need.columns else "n.d."


def overview_years(view: OverviewView) -> str:
    """The reference years of the available need indicators of the run."""
    entries = [e for e in (view.data.catalogue or {}).get("indicators", [])
               if e.get("available", True) and e.get("role", "need") == "need"]
    return years_text(e.get("reference_year") for e in entries)


def _series(view: CityView) -> list[tuple[str, str]]:
    series = [("city", _tv(view, "series_city", city=view.name)),
              ("cluster_mean", _tv(view, "series_cluster")),
              ("mean_39", _tv(view, "series_39"))]
    if view.has_south:
        series.append(("south", _tv(view, "series_south", count=format_number(view.n_south, view.lang, 0))))
    return series


def profile_chart_html(view: CityView) -> str:
    """Section "Profilo di bisogno per area": bars of the four area scores of the city, its profile's
    mean, the mean of the 39 and, when the scope data exist, the South and Islands; the values as a
    table; the percentiles among all municipalities when the run has them.

    An area without data gets its status in words ("dati non disponibili"), never a bar at 0.

    Parameters
    ----------
    view : CityView

    Returns
    -------
    str
        ``<section class="cocity-chart">`` (HTML).
    """
    lang = view.lang
    series = _series(view)
    table = view.scores.copy()
    labels, rows = [], []
    for area, row in table.iterrows():
        limited = view.limited_evidence(area)
        short = short_area_label(area, lang)
        labels.append(f"{short} ({limited})" if limited else short)
        rows.append([row["label"] + (f" ({limited})" if limited else "")]
                    + [format_score(row[key], lang) if not _is_missing(row[key])
                       else (row["status"] if key == "city" else _tv(view, "no_data")) for key, _l in series])
    table["label"] = labels
    title = _tv(view, "fig_profile_title", years=city_years(view))
    xlabel, xlim = _tv(view, "fig_profile_axis"), (0, 100)
    # = profile_figure(table, series, ...), on this kernel's frame of that size and title
    with _on_frame(("profile", len(table), len(series), title, xlabel),
                   lambda: _profile_frame(len(table), len(series), title=title, xlabel=xlabel, xlim=xlim)) as fig:
        _profile_data(fig, table, series, no_data=_tv(view, "no_data"), colours=None,
                      value_text=lambda v: format_score(v, lang), xlim=xlim, highlight="city")
        chart = figure_html(fig, title=title, chart_id="cocity-profile", kind="profile",
                            description=_tv(view, "fig_profile_desc", series=", ".join(l for _k, l in series)),
                            headers=[_tv(view, "col_area")] + [l for _k, l in series], rows=rows,
                            numeric=tuple(range(1, len(series) + 1)), summary=_tv(view, "fig_data"))
    notes = [] if view.has_south else [_tv(view, "south_missing")]
    extra = None
    if view.percentiles is not None and not view.percentiles.empty:
        pct_rows = []
        for area in FOCUS_AREAS:
            if area not in view.percentiles.index or view.percentiles.loc[area, ["pct_italy", "pct_south"]].isna().all():
                continue
            r = view.percentiles.loc[area]
            pct_rows.append([area_label(area, lang), format_score(r["pct_italy"], lang), format_score(r["pct_south"], lang)])
        if pct_rows:
            n_italy = view.percentiles["n_italy"].max() if "n_italy" in view.percentiles else math.nan
            n_south = view.percentiles["n_south"].max() if "n_south" in view.percentiles else math.nan
            extra = {"heading": _tv(view, "percentiles_h"),
                     "intro": _tv(view, "percentiles_intro", city=view.name, n_italy=format_number(n_italy, lang, 0),
                                  n_south=format_number(n_south, lang, 0)),
                     "headers": [_tv(view, "col_area"), _tv(view, "col_pct_italy"), _tv(view, "col_pct_south")],
                     "rows": pct_rows, "numeric": (1, 2)}
    return _section(_tv(view, "chart_h"), "chart", intro=[_tv(view, "chart_intro")], charts=[chart], notes=notes,
                    table=extra)


def chart_html(view: CityView, fig=None) -> str:
    """Kept for notebooks written against the first version: the profile chart."""
    return profile_chart_html(view)


def _intervals_html(view: CityView) -> str:
    """Rank intervals p05..p95 with the median, one row per ranked area (positions 1..4), as a chart
    and as a table (used inside the ranking section)."""
    lang = view.lang
    ranked = view.ranking.dropna(subset=["rank"])
    ranked = ranked[[not any(_is_missing(r[c]) for c in ("rank_p05", "rank_p95", "rank_median"))
                     for r in ranked.to_dict("records")]] if len(ranked) else ranked
    if ranked.empty:
        return _section("", "", notes=[_tv(view, "intervals_missing")])
    n_pos = max(2, len(view.ranking.dropna(subset=["rank"])))  # positions 1..number of ranked areas
    rows, labels = [], []
    for row in ranked.to_dict("records"):
        share = _share_phrase(row["share_top"], lang)
        labels.append(short_area_label(row["focus_area"], lang))
        rows.append([row["label"], italian.ordinal(row["rank_median"], lang),
                     italian.rank_range(row["rank_p05"], row["rank_p95"], lang),
                     _tv(view, "interval_first_share", share_phrase=share)])
    table = pd.DataFrame({"label": labels, "p05": ranked["rank_p05"].astype(float).to_numpy(),
                          "p95": ranked["rank_p95"].astype(float).to_numpy(),
                          "median": ranked["rank_median"].astype(float).to_numpy()})
    title = _tv(view, "fig_intervals_title", years=city_years(view))
    xlabel = _tv(view, "fig_intervals_axis")
    ticks = tuple(_tv(view, "interval_pos", pos=i) for i in range(1, n_pos + 1))
    text_rows = " ".join(_tv(view, "interval_row", area=r[0], median=r[1], range=r[2],
                             share_phrase=_share_phrase(s, lang))
                         for r, s in zip(rows, ranked["share_top"]))
    # = intervals_figure(table, n_pos, ...), on this kernel's frame of that size, title and ticks
    with _on_frame(("intervals", len(table), n_pos, title, xlabel, ticks),
                   lambda: _intervals_frame(len(table), n_pos, title=title, xlabel=xlabel,
                                            tick_text=lambda i: ticks[i - 1])) as fig:
        _intervals_data(fig, table, left_text=_tv(view, "interval_axis_left"),
                        right_text=_tv(view, "interval_axis_right"))
        chart = figure_html(fig, title=title, description=_tv(view, "fig_intervals_desc") + " " + text_rows,
                            chart_id="cocity-intervals", kind="intervals",
                            headers=[_tv(view, "col_area"), _tv(view, "fig_col_median"),
                                     _tv(view, "fig_col_range"), _tv(view, "fig_col_first")],
                            rows=rows, summary=_tv(view, "fig_data"))
    runs = format_number(view.n_runs, lang, decimals=0) if view.n_runs else "molte" if lang == "it" else "many"
    return _section("", "", intro=[_tv(view, "intervals_intro", runs=runs)], charts=[chart])


def _map_or_missing(processed_dir, codes=None):
    from cocity_analysis.reporting import maps as report_maps

    try:
        return report_maps.load_map_geometry(processed_dir, codes), None
    except Exception as exc:  # noqa: BLE001 - a report without a map is still a report
        log.warning("mappa non disponibile (%s): %s", processed_dir, exc)
        return None, exc


def map_html(view: CityView) -> str:
    """Section "Dove si trova": the 39 cities on the outlines of their regions, this city in vermillion.

    Returns
    -------
    str
        HTML: the map as inline SVG with the list of the cities (region) as its text alternative, or a
        sentence saying why there is no map.
    """
    from cocity_analysis.reporting import maps as report_maps

    geometry, error = _map_or_missing(view.processed_dir)
    if geometry is None:
        return _section(_tv(view, "map_h"), "map", nodata=[_tv(view, "map_missing", reason=error)])
    names = geometry.cities["name"].to_dict()
    regions = ", ".join(str(r) for r in geometry.regions.index)
    drawn = _tv(view, "fig_map_title", year=geometry.layout.get("year", report_maps.GEOPOP_YEAR))
    note = _tv(view, "fig_map_no_boundary", names=", ".join(names.get(c, c) for c in geometry.missing)) \
        if geometry.missing else ""
    rows = [[view.name]] + [[n] for c, n in sorted(names.items(), key=lambda i: i[1]) if c != view.code]
    chart = _city_map_figure_html(geometry, view.code, view.name, title=drawn, note=note,
                                  html_title=_tv(view, "map_title", city=view.name),
                                  description=_tv(view, "map_desc", city=view.name, regions=regions),
                                  chart_id="cocity-map", kind="map",
                        caption=_tv(view, "map_caption", city=view.name, source=geometry.source(view.lang)),
                        headers=[_tv(view, "fig_col_city")], rows=rows,
                        summary=_tv(view, "fig_data"))
    return _section(_tv(view, "map_h"), "map", charts=[chart])


def income_chart_html(view: CityView) -> str:
    """Section "Redditi nel tempo": income per taxpayer and the share up to EUR 10,000 over the tax
    years of ``income_series.parquet`` (MEF 2018/2020/2021), titles saying the years, values as a
    table; empty string when the series is absent.

    Returns
    -------
    str
        ``<section class="cocity-income">`` or ``""``.
    """
    frame = view.income
    if frame is None or frame.empty:
        return ""
    lang = view.lang
    panels, titles = [], []
    all_years = sorted({int(y) for y in frame["year"]})
    for column, title_key, decimals in (("income_per_taxpayer", "income_title_income", 0),
                                        ("share_taxpayers_le_10k", "income_title_low", 1)):
        if column not in frame.columns or frame[column].isna().all():
            continue
        series = frame[["year", column]].dropna()
        years = [int(y) for y in series["year"]]
        span = f"{years[0]}-{years[-1]}" if len(years) > 1 else str(years[0])
        title = _tv(view, title_key, years=span)
        titles.append(title)
        panels.append({"title": title, "x": years, "y": series[column].astype(float).tolist(),
                       "text": [format_number(v, lang, decimals) for v in series[column]],
                       "format": lambda v, d=decimals: format_number(v, lang, 0 if d == 0 else 1), "column": column,
                       "decimals": decimals})
    if not panels:
        return ""
    years_text = ", ".join(str(y) for y in all_years)
    span = f"{all_years[0]}-{all_years[-1]}" if len(all_years) > 1 else str(all_years[0])
    title = _tv(view, "fig_income_title", city=view.name, years=span)
    drawn = [{k: v for k, v in p.items() if k not in ("column", "decimals")} for p in panels]
    texts = [_tv(view, "income_text_income" if p["column"] == "income_per_taxpayer" else "income_text_low",
                 values="; ".join(f"{x}: {t}" for x, t in zip(p["x"], p["text"])))
             for p in panels]
    xlabel = _tv(view, "fig_income_axis")
    prepared = _panel_points(drawn, True)
    layout = _panels_layout(drawn, prepared, 1)
    # = line_panels_figure(drawn, xlabel=...), on this kernel's frame of these panels (titles, years)
    with _on_frame(("income", layout, xlabel),
                   lambda: _line_panels_frame(layout, title="", xlabel=xlabel, legend=False)) as fig:
        _line_panels_data(fig, drawn, prepared, point_labels=True, highlight_x=None, highlight_label="",
                          legend=False)
        # the caption gives every value drawn, in words: the chart's text alternative
        chart = figure_html(fig, title=title, description=_tv(view, "fig_income_desc", titles="; ".join(titles)),
                            chart_id="cocity-income", kind="income",
                            caption=_tv(view, "income_caption", text=" ".join(texts),
                                        source=_tv(view, "income_source")))
    return _section(_tv(view, "income_h"), "income",
                    intro=[_tv(view, "income_intro", city=view.name, years=years_text)], charts=[chart])


def profile_colours(view: OverviewView) -> dict[int, str]:
    """Profile number -> colour (:func:`cluster_colours`), for the profiles of the overview."""
    clusters = sorted(int(c) for c in view.data.clusters["cluster"].unique())
    p = palette()
    return {c: p[i % len(p)] for i, c in enumerate(clusters)}


K_COLUMNS = (("silhouette", "col_silhouette", 3), ("calinski_harabasz", "col_ch", 1),
             ("davies_bouldin", "col_db", 3), ("ari_mean", "col_ari", 3))


def overview_k_html(view: OverviewView) -> str:
    """Section "Quanti profili? Diagnostica": the measures per k as small line charts, the chosen k
    marked, and the table of the values.

    Returns
    -------
    str
        HTML of the section.
    """
    diagnostics = view.data.diagnostics
    if diagnostics is None or diagnostics.empty:
        return _section(_tv(view, "ov_k_h"), "k", nodata=[_tv(view, "ov_k_missing")])
    lang = view.lang
    chosen = _chosen_k(view)
    columns = [(c, t, d) for c, t, d in K_COLUMNS if c in diagnostics.columns and diagnostics[c].notna().any()]
    frame = diagnostics.sort_values("k")
    ks = [int(k) for k in frame["k"]]
    rows = [[f"{k} ({_tv(view, 'ov_k_chosen')})" if k == chosen else str(k)]
            + [format_number(row[c], lang, d) for c, _t, d in columns]
            for k, (_i, row) in zip(ks, frame.iterrows())]
    title = _tv(view, "fig_k_title", years=overview_years(view))
    panels = [{"title": _tv(view, t), "x": ks, "y": frame[c].astype(float).tolist(),
               "format": lambda v, d=d: format_number(v, lang, min(d, 2))} for c, t, d in columns]
    fig = line_panels_figure(panels, ncols=2, title=title, highlight_x=chosen,
                             highlight_label=_tv(view, "fig_k_chosen", k=chosen) if chosen else "",
                             xlabel=_tv(view, "col_k"), point_labels=False)
    chart = figure_html(fig, title=title, chart_id="cocity-k", kind="k",
                        description=_tv(view, "fig_k_desc", k_min=ks[0], k_max=ks[-1], chosen=chosen or "n.d."),
                        headers=[_tv(view, "col_k")] + [_tv(view, t) for _c, t, _d in columns], rows=rows,
                        numeric=tuple(range(1, len(columns) + 1)), summary=_tv(view, "fig_data"))
    return _section(_tv(view, "ov_k_h"), "k", intro=[_tv(view, "ov_k_intro")], charts=[chart])


def overview_map_html(view: OverviewView) -> str:
    """Section "Mappa dei profili": the 39 coloured by need profile, with the legend and the list of
    the cities by profile as text alternative.

    Returns
    -------
    str
        HTML of the section.
    """
    from cocity_analysis.reporting import maps as report_maps

    data = view.data
    geometry, error = _map_or_missing(data.path)
    if geometry is None:
        return _section(_tv(view, "ov_map_h"), "map", nodata=[_tv(view, "map_missing", reason=error)])
    colours_by_cluster = profile_colours(view)
    clusters = data.clusters
    colours = {str(c): colours_by_cluster[int(k)] for c, k in clusters["cluster"].items()}
    label_col = _label_column(clusters, view.lang)
    labels = clusters.drop_duplicates("cluster").set_index("cluster")[label_col]
    title = _tv(view, "fig_ov_map_title", year=geometry.layout.get("year", report_maps.GEOPOP_YEAR))
    names = data.cities["name"].astype(str).to_dict() if "name" in data.cities.columns else {}
    note = _tv(view, "fig_map_no_boundary", names=", ".join(names.get(c, c) for c in geometry.missing)) \
        if geometry.missing else ""
    fig = map_figure(geometry, colours=colours, title=title, note=note)
    members = clusters.assign(name=[names.get(str(c), str(c)) for c in clusters.index])
    rows = [[str(labels.get(k)), ", ".join(sorted(members.loc[members["cluster"] == k, "name"]))]
            for k in sorted(colours_by_cluster)]
    chart = figure_html(fig, title=title, description=_tv(view, "ov_map_desc"), chart_id="cocity-ovmap", kind="map",
                        caption=geometry.source(view.lang), headers=[_tv(view, "fig_col_profile"),
                                                                     _tv(view, "fig_col_city")],
                        rows=rows, summary=_tv(view, "fig_data"))
    legend = [{"colour": colours_by_cluster[int(k)], "label": str(labels.get(k))} for k in sorted(colours_by_cluster)]
    return _section(_tv(view, "ov_map_h"), "map", legend=legend, charts=[chart])
