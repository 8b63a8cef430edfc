"""The chart module: each figure function draws its data, the SVG is reproducible and accessible.

The numbers here are made up (fixture values drawn in the tests), never presented as data.
"""

from __future__ import annotations

import math
import re

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

from cocity_analysis.reporting import charts, html_export

SERIES = [("city", "Città <b>X</b>"), ("cluster_mean", "Media del profilo"), ("mean_39", "Media delle 39 città")]


@pytest.fixture()
def table() -> pd.DataFrame:
    return pd.DataFrame({"label": ["Lavoro", "Casa", "Povertà", "Cultura"],
                         "city": [12.5, math.nan, 40.0, 99.0],
                         "cluster_mean": [20.0, 30.0, math.nan, 50.0],
                         "mean_39": [25.0, 35.0, 45.0, 55.0],
                         "status": ["", "dati non disponibili", "", ""]})


def test_profile_bars_are_the_scores_and_missing_is_said(table):
    fig = charts.profile_figure(table, SERIES, title="Punteggi (dati 2021)", no_data="n.d.")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(ax.containers) == len(SERIES)
    for container, (key, label) in zip(ax.containers, SERIES):
        expected = [v for v in table[key] if not math.isnan(v)]
        assert [bar.get_width() for bar in container] == pytest.approx(expected)   # no bar at 0 for a gap
        assert container.get_label() == label
    texts = [t.get_text() for t in ax.texts]
    assert f"{SERIES[0][1]}: dati non disponibili" in texts      # the city's status in words
    assert f"{SERIES[1][1]}: n.d." in texts                       # another series' gap
    assert fig._suptitle.get_text() == "Punteggi (dati 2021)"
    # the city's bars are the outlined ones (highlighted)
    assert all(bar.get_linewidth() > 0 for bar in ax.containers[0])
    assert all(bar.get_edgecolor()[3] == 0 for bar in ax.containers[1])


def test_intervals_are_the_rank_ranges():
    table = pd.DataFrame({"label": ["A", "B", "C"], "p05": [1.0, 2.0, 1.0], "p95": [2.0, 4.0, 3.0],
                          "median": [1.0, 3.0, 2.0]})
    fig = charts.intervals_figure(table, 4, tick_text=lambda i: f"{i}ª")
    ax = fig.axes[0]
    segments = ax.collections[0].get_segments()
    assert [(s[0][0], s[1][0]) for s in segments] == [(1.0, 2.0), (2.0, 4.0), (1.0, 3.0)]
    assert ax.collections[1].get_offsets()[:, 0].tolist() == [1.0, 3.0, 2.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1ª", "2ª", "3ª", "4ª"]


def test_line_panels_leave_gaps_out_and_mark_the_chosen_x():
    panels = [{"title": "Silhouette", "x": [2, 3, 4], "y": [0.5, math.nan, 0.3]},
              {"title": "ARI", "x": [2, 3, 4], "y": [0.9, 0.8, 0.7], "text": ["0,9", "0,8", "0,7"]}]
    fig = charts.line_panels_figure(panels, ncols=2, highlight_x=3, highlight_label="k scelto = 3")
    first, second = fig.axes[:2]
    assert first.lines[0].get_xdata().tolist() == [2, 4] and first.lines[0].get_ydata().tolist() == [0.5, 0.3]
    assert second.lines[0].get_ydata().tolist() == [0.9, 0.8, 0.7]
    assert [t.get_text() for t in second.texts] == ["0,9", "0,8", "0,7"]
    # the chosen k is marked where it has a value: a dashed line and the point, not in the panel without one
    assert any(line.get_linestyle() == "--" and line.get_xdata()[0] == 3 for line in second.lines)
    assert not any(line.get_linestyle() == "--" for line in first.lines)
    assert fig.legends[0].get_texts()[0].get_text() == "k scelto = 3"


def test_biplot_has_every_city_and_the_ring():
    rng = np.random.default_rng(0)
    codes = [f"{i:06d}" for i in range(10)]
    scores = pd.DataFrame(rng.normal(size=(10, 2)), index=codes, columns=["PC1", "PC2"]).assign(
        cluster=[1, 2] * 5)
    loadings = pd.DataFrame(rng.normal(size=(3, 2)), index=["a", "b", "c"], columns=["PC1", "PC2"])
    fig = charts.biplot_figure(scores, loadings, [0.6, 0.3], highlight=codes[0], names={codes[0]: "Matera"})
    points = sum(len(c.get_offsets()) for c in fig.axes[0].collections if isinstance(c, PathCollection))
    assert points == len(codes) + 1
    assert "Matera" in [t.get_text().strip() for t in fig.axes[0].texts]


def test_biplot_indicator_labels_stay_inside_the_axes():
    """Long indicator names on arrows that reach the edges are written whole, inside the plot (they were
    cut at the axes' edge, as seen in JupyterLab)."""
    rng = np.random.default_rng(1)
    codes = [f"{i:06d}" for i in range(12)]
    scores = pd.DataFrame(rng.normal(size=(12, 2)), index=codes, columns=["PC1", "PC2"]).assign(
        cluster=[1, 2, 3] * 4)
    loadings = pd.DataFrame([[0.9, 0.3], [-0.8, 0.5], [0.2, -0.9], [-0.6, -0.6]], index=list("abcd"),
                            columns=["PC1", "PC2"])
    names = {k: f"Quota di contribuenti con reddito {k}" for k in loadings.index}  # longer than 26 characters
    fig = charts.biplot_figure(scores, loadings, [0.6, 0.3], labels=names)
    ax = fig.axes[0]
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    box = ax.get_window_extent(renderer)
    written = [t for t in ax.texts if t.get_gid() == "loading-label"]
    assert len(written) == 4 and all(t.get_text().endswith("…") for t in written)
    for text in written:
        extent = text.get_window_extent(renderer)
        assert box.x0 <= extent.x0 and extent.x1 <= box.x1 and box.y0 <= extent.y0 and extent.y1 <= box.y1, \
            text.get_text()


@pytest.fixture()
def geometry():
    import geopandas as gpd
    from shapely.geometry import box

    from cocity_analysis.reporting.maps import MapGeometry

    # three made-up squares in two made-up regions (EPSG:3035 metres)
    regions = gpd.GeoDataFrame({"geometry": [box(0, 0, 50_000, 50_000), box(50_000, 0, 100_000, 50_000)]},
                               index=pd.Index(["Regione A", "Regione B"], name="region"), crs=3035)
    cities = gpd.GeoDataFrame({"name": ["Alfa", "Beta", "Gamma"],
                               "geometry": [box(5_000, 5_000, 9_000, 9_000), box(60_000, 10_000, 64_000, 14_000),
                                            box(70_000, 30_000, 74_000, 34_000)]},
                              index=pd.Index(["000001", "000002", "000003"], name="istat_code"), crs=3035)
    cities["point"] = cities.geometry.representative_point()
    return MapGeometry(regions=regions, cities=cities, bounds=(0.0, 0.0, 100_000.0, 50_000.0),
                       layout={"source": "fixture"}, missing=["000004"])


def test_map_highlights_one_city_and_colours_the_others(geometry):
    colours = {"000002": "#029e73"}
    fig = charts.map_figure(geometry, colours=colours, highlight="000001", title="Mappa (confini 2023)",
                            note="confini non disponibili per: Delta")
    ax = fig.axes[0]
    import matplotlib.colors as mcolors

    polygons = [c for c in ax.collections if not isinstance(c, PathCollection)]
    fills = [[mcolors.to_hex(f) for f in c.get_facecolor()] for c in polygons]
    assert fills[0] == [charts.LAND] and len(polygons[0].get_paths()) == 2   # the two regions
    blue = charts.palette()[0]
    assert fills[1] == [blue, colours["000002"], blue]                  # every city: by colour, default blue
    assert fills[-1] == [charts.palette()[3]]                           # the highlighted city on top
    assert [t.get_text() for t in ax.texts if t.get_fontweight() == "bold"] == ["Alfa"]
    assert "confini non disponibili per: Delta" in [t.get_text() for t in fig.texts]


def test_svg_is_reproducible_accessible_and_self_contained(table):
    def svg():
        fig = charts.profile_figure(table, SERIES, title="Punteggi")
        return charts.figure_svg(fig, title="Titolo <i>x</i>", description="Descrizione & altro",
                                 chart_id="cocity-test")

    first = svg()
    assert first == svg()                                         # byte-identical on two calls
    assert first.startswith("<svg") and first.rstrip().endswith("</svg>")
    assert "<?xml" not in first and "<!DOCTYPE" not in first
    assert 'role="img"' in first and 'aria-labelledby="cocity-test-title"' in first
    assert '<title id="cocity-test-title">Titolo &lt;i&gt;x&lt;/i&gt;</title>' in first
    assert '<desc id="cocity-test-desc">Descrizione &amp; altro</desc>' in first
    assert re.search(r'viewBox="0 0 [0-9.]+ [0-9.]+"', first) and 'width="100%"' in first
    assert "Città &lt;b&gt;X&lt;/b&gt;" in first and "<b>X</b>" not in first   # names escaped
    assert "<text" in first                                        # text stays text (system sans-serif)
    assert not html_export.external_references(first)
    assert "Date" not in first and "dc:date" not in first
    # ids are salted by the chart id: two charts of a page never share one
    other = charts.figure_svg(charts.profile_figure(table, SERIES, title="Punteggi"), title="t", description="d",
                              chart_id="cocity-other")
    ids = set(re.findall(r'\bid="([^"]+)"', first))
    assert ids and not ids & set(re.findall(r'\bid="([^"]+)"', other))
    assert all(i.startswith("cocity-test") for i in ids)
    for reference in re.findall(r'(?:url\(#|href="#)([^")]+)', first):   # every reference still resolves
        assert reference in ids


def test_global_style_does_not_change_a_chart(table):
    before = charts.svg_document(charts.profile_figure(table, SERIES))
    with matplotlib.rc_context({"font.size": 22, "axes.facecolor": "black", "text.parse_math": True}):
        during = charts.svg_document(charts.profile_figure(table, SERIES))
    assert during == before


def test_figure_html_carries_the_values_as_a_table(table):
    html = charts.figure_html(charts.message_figure("n.d."), title="T", description="D", chart_id="cocity-x",
                              headers=["Area", "Valore"], rows=[["<Casa>", "12,5"]], numeric=(1,),
                              summary="Valori del grafico", caption="Fonte: fixture")
    assert html.count("<svg") == 1 and "<figcaption>Fonte: fixture</figcaption>" in html
    assert "<details class=\"cocity-chart-data\"><summary>Valori del grafico</summary>" in html
    assert '<td data-label="Area">&lt;Casa&gt;</td><td data-label="Valore" class=num>12,5</td>' in html


def test_a_kept_frame_draws_the_bytes_of_a_fresh_figure(table):
    """The report kernels draw each city on a kept frame (``_on_frame``): the SVG equals the fresh
    figure's, and a city drawn before leaves nothing behind (other values, other missing bars)."""
    other = table.assign(city=[80.0, 5.0, math.nan, math.nan], cluster_mean=[math.nan, 1.0, 2.0, 3.0],
                         status=["", "", "dati non disponibili", "dati parziali"],
                         label=["Lavoro", "Casa (dati limitati)", "Povertà", "Cultura"])
    kwargs = {"title": "Punteggi (dati 2021)", "xlabel": "Punteggio di bisogno (0-100)"}
    fresh = {id(t): charts.svg_document(charts.profile_figure(t, SERIES, **kwargs)) for t in (table, other)}
    charts._FRAMES.clear()
    build = lambda: charts._profile_frame(len(table), len(SERIES), xlim=(0, 100), **kwargs)  # noqa: E731
    for t in (other, table, other, table):
        with charts._on_frame(("test-profile",), build) as fig:
            charts._profile_data(fig, t, SERIES, no_data="n.d.", colours=None, value_text=None, xlim=(0, 100),
                                 highlight="city")
            assert charts.svg_document(fig) == fresh[id(t)]
    kept = charts._FRAMES[("test-profile",)].axes[0]
    assert not kept.containers and not kept.texts and not kept.patches and kept.get_legend() is None  # the data taken off
    intervals = [pd.DataFrame({"label": ["Casa", "Lavoro"], "p05": p05, "p95": [3.0, 4.0], "median": [2.0, 3.0]})
                 for p05 in ([1.0, 2.0], [2.0, 1.0])]
    fresh = [charts.svg_document(charts.intervals_figure(t, 4, title="Posizioni (2021)", left_text="sopra",
                                                         right_text="sotto")) for t in intervals]
    for t, expected in zip(intervals * 2, fresh * 2):
        with charts._on_frame(("test-intervals",), lambda: charts._intervals_frame(2, 4, title="Posizioni (2021)",
                                                                                   xlabel="", tick_text=str)) as fig:
            charts._intervals_data(fig, t, left_text="sopra", right_text="sotto")
            assert charts.svg_document(fig) == expected
    # the income panels: same years and titles, other values (one point missing in the second city)
    incomes = [[{"title": "Reddito (2018-2021)", "x": [2018, 2020, 2021], "y": y,
                 "text": [None if v is None else f"{v:.0f}" for v in y]},
                {"title": "Quota (2018-2021)", "x": [2018, 2020, 2021], "y": [40.0, 41.0, 38.5],
                 "text": None, "format": lambda v: f"{v:.1f}"}]
               for y in ([15000.0, 16000.0, 17000.0], [9000.0, None, 9500.0])]
    fresh = [charts.svg_document(charts.line_panels_figure(p, xlabel="Anno")) for p in incomes]
    for panels, expected in zip(incomes * 2, fresh * 2):
        prepared = charts._panel_points(panels, True)
        layout = charts._panels_layout(panels, prepared, 1)
        with charts._on_frame(("test-income", layout),
                              lambda: charts._line_panels_frame(layout, title="", xlabel="Anno", legend=False)) as fig:
            charts._line_panels_data(fig, panels, prepared, point_labels=True, highlight_x=None,
                                     highlight_label="", legend=False)
            assert charts.svg_document(fig) == expected
    assert len(charts._FRAMES) == 4  # the two cities of different missing points have different frames
    assert not any(ax.lines or ax.texts for ax in charts._FRAMES[("test-income", layout)].axes)
    charts._FRAMES.clear()


def test_the_palette_is_seaborns_colorblind_palette():
    """The charts' colours are seaborn's "colorblind" palette, written out so that a report kernel does not
    import seaborn (and SciPy) for them: they must stay equal to what seaborn gives."""
    import seaborn as sns

    assert charts.palette() == charts.COLORBLIND == tuple(sns.color_palette("colorblind").as_hex())
    assert charts.cluster_colours(3) == {1: "#0173b2", 2: "#de8f05", 3: "#029e73"}
