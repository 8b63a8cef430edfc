"""City reports: notebook -> self-contained HTML, failures kept aside, index of a run.

Uses the session fixture ``real_processed_dir`` (conftest.py: the real ``cocity prepare``
into a temp dir). Kernel-executing tests render 3 codes once per module (2 real cities
with leading-zero and non-leading-zero codes, 1 unknown code) to keep runtime modest.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path

import nbformat
import pytest

from cocity_analysis import FOCUS_AREAS, FOCUS_AREA_LABELS, config, reports
from cocity_analysis.errors import CocityError

MATERA = "077014"
AVELLINO = "064008"  # leading zero: must survive papermill
UNKNOWN = "999999"
SENTINEL = "<html><body>previous good report</body></html>\n"

_DATA_URI = re.compile(r"data:[^\"')\s]+")


def _without_data_uris(text: str) -> str:
    """Base64 payloads can spell 'cdn' or 'http' by chance: drop them before scanning."""
    return _DATA_URI.sub("data:", text)


def assert_self_contained(text: str) -> None:
    scan = _without_data_uris(text)
    lowered = scan.lower()
    assert "<script src" not in lowered
    assert not re.search(r"<script\b[^>]*\bsrc\s*=", scan, re.I), "script loaded from a file or host"
    assert not re.search(r"<link\b[^>]*\bhref\s*=", scan, re.I), "stylesheet or link tag to a file or host"
    assert "@import" not in lowered
    assert not re.search(r"url\(\s*['\"]?\s*(https?:)?//", scan, re.I), "CSS url() to another host"
    assert not re.search(r"(src|href)\s*=\s*['\"]?\s*(https?:)?//", scan, re.I), "src/href to another host"
    assert "http://" not in lowered and "https://" not in lowered, "a reference to another host"
    assert "cdn" not in lowered


@pytest.fixture(scope="module")
def run_dir(real_processed_dir, tmp_path_factory):
    """One parallel run: Matera, Avellino and an unknown code that already has a 'good' report."""
    out = tmp_path_factory.mktemp("reports")
    (out / "cities").mkdir()
    (out / "cities" / f"{UNKNOWN}.html").write_text(SENTINEL, encoding="utf-8")
    summary = reports.run_reports([MATERA, AVELLINO, UNKNOWN], processed_dir=real_processed_dir, out_dir=out,
                                  notebook=config.CITY_REPORT_NOTEBOOK, jobs=2)
    return out, summary


# --- the committed notebook -------------------------------------------------------------


def test_notebook_is_committed_clean_with_string_parameters():
    nb = nbformat.read(str(config.CITY_REPORT_NOTEBOOK), as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code_cells[0].metadata.get("tags", [])
    namespace: dict = {}
    exec(code_cells[0].source, namespace)
    assert namespace["city_code"] == "064008" and isinstance(namespace["city_code"], str)
    assert namespace["lang"] == "it"
    assert namespace["processed_dir"] == "../data/processed"
    for cell in code_cells:
        assert cell.outputs == [] and cell.execution_count is None, "commit the notebook without outputs"


# --- load_city_view (no kernel) -----------------------------------------------------------


def test_load_city_view_matera(real_processed_dir):
    view = reports.load_city_view(real_processed_dir, MATERA, "it")
    assert view.name == "Matera"
    assert view.code == MATERA
    assert list(view.scores.index) == list(FOCUS_AREAS)
    assert set(view.scores.columns) >= {"city", "cluster_mean", "mean_39"}
    assert len(view.ranking) == 4
    assert MATERA not in view.peer_codes and "Matera" not in view.peers
    for column in ("value", "unit", "source", "dataset", "reference_year"):
        assert column in view.indicators.columns
    catalogue = json.loads((Path(real_processed_dir) / "catalogue.json").read_text(encoding="utf-8"))
    assert len(view.indicators) == len(catalogue["indicators"])
    not_available = {e["id"] for e in catalogue["indicators"] if not e["available"]}
    assert not_available <= set(view.missing["id"])
    # an area without data is NaN, never 0
    for area in FOCUS_AREAS:
        rows = view.indicators[(view.indicators["focus_area"] == area) & view.indicators["value"].notna()]
        if rows.empty:
            assert math.isnan(view.scores.at[area, "city"])


def test_unknown_code_lists_valid_codes(real_processed_dir):
    with pytest.raises(CocityError) as info:
        reports.load_city_view(real_processed_dir, UNKNOWN)
    message = str(info.value)
    assert UNKNOWN in message and "077014 Matera" in message and "064008 Avellino" in message


def test_integer_code_is_refused(real_processed_dir):
    with pytest.raises(CocityError, match="stringa"):
        reports.load_city_view(real_processed_dir, 64008)


def test_missing_processed_dir_says_run_prepare(tmp_path):
    with pytest.raises(CocityError, match="cocity prepare"):
        reports.load_city_view(tmp_path / "nothing", MATERA)
    with pytest.raises(CocityError, match="cocity prepare"):
        reports.render_city(MATERA, processed_dir=tmp_path, out_dir=tmp_path / "out")


def test_text_from_data_is_escaped(real_processed_dir):
    view = reports.load_city_view(real_processed_dir, MATERA)
    evil = "<script>alert(1)</script> & Co"
    view = dataclasses.replace(view, city={**view.city, "name": evil}, profile_label="<b>p</b>",
                               peers=["<img src=x>"])
    fragments = "".join([reports.title_html(view), reports.summary_html(view), reports.peers_html(view),
                         reports.indicators_html(view), reports.missing_html(view)])
    assert "<script>" not in fragments and "<b>p</b>" not in fragments and "<img src=x>" not in fragments
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in fragments


def test_area_without_data_is_said_not_drawn_as_zero(real_processed_dir):
    view = reports.load_city_view(real_processed_dir, MATERA)
    scores = view.scores.copy()
    scores.loc["housing", ["city", "cluster_mean", "mean_39"]] = math.nan
    ranking = view.ranking.copy()
    ranking.loc[ranking["focus_area"] == "housing", "rank"] = None
    ranking.loc[ranking["focus_area"] == "housing", "score"] = math.nan
    view = dataclasses.replace(view, scores=scores, ranking=ranking)
    label = FOCUS_AREA_LABELS["it"]["housing"]
    assert f"{label} – dati non disponibili" in reports.ranking_html(view)
    fig = reports.plot_area_scores(view)
    ax = fig.axes[0]
    assert any(t.get_text() == "dati non disponibili" for t in ax.texts)
    housing_row = list(FOCUS_AREAS).index("housing")
    bars_on_row = [p for p in ax.patches if abs(p.get_y() + p.get_height() / 2 - housing_row) < 0.45]
    assert bars_on_row == []
    assert all(p.get_width() > 0 for p in ax.patches)


def test_english_view(real_processed_dir):
    view = reports.load_city_view(real_processed_dir, MATERA, "en")
    html = reports.summary_html(view) + reports.method_html(view)
    assert "Summary" in html and "min-max" in html
    assert set(view.scores["label"]) == set(FOCUS_AREA_LABELS["en"].values())


def test_external_reference_detector():
    assert reports.external_references('<script src="https://cdn.example/x.js"></script>')
    assert reports.external_references('<style>@import "x.css";</style>')
    assert reports.external_references('<div style="background:url(//example.org/a.png)">')
    assert not reports.external_references('<img src="data:image/png;base64,aHR0cHM6Ly9jZG4=">')


# --- rendered reports (kernel) --------------------------------------------------------------


@pytest.mark.slow
def test_matera_report_is_self_contained(run_dir):
    out, _summary = run_dir
    page = (out / "cities" / f"{MATERA}.html").read_text(encoding="utf-8")
    assert "Matera" in page
    assert "data:image/png;base64," in page
    assert "Dati mancanti" in page and "Nota di metodo" in page
    assert '<html lang="it">' in page
    # no code in the export
    assert "load_city_view" not in page and "import " not in _without_data_uris(page)
    assert "<div class=\"jp-InputArea" not in page and "jp-InputPrompt\"" not in page
    assert_self_contained(page)


@pytest.mark.slow
def test_leading_zero_code_survives_papermill(run_dir):
    out, summary = run_dir
    result = {r.city_code: r for r in summary.results}[AVELLINO]
    assert result.ok, result.error
    page = (out / "cities" / f"{AVELLINO}.html").read_text(encoding="utf-8")
    assert "Avellino" in page and f"ISTAT {AVELLINO}" in page
    assert_self_contained(page)


@pytest.mark.slow
def test_failing_city_keeps_previous_report_and_notebook(run_dir):
    out, summary = run_dir
    assert not summary.ok
    assert [r.city_code for r in summary.failed] == [UNKNOWN]
    failed = {r.city_code: r for r in summary.results}[UNKNOWN]
    assert "codice ISTAT sconosciuto" in failed.error
    assert (out / "cities" / f"{UNKNOWN}.html").read_text(encoding="utf-8") == SENTINEL
    kept = out / "failed" / f"{UNKNOWN}.ipynb"
    assert kept.is_file() and failed.failed_notebook == kept
    errors = [o for c in nbformat.read(str(kept), as_version=4).cells for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert errors and errors[0]["ename"] == "CocityError"
    assert summary.summary_line().startswith("2 report scritti, 1 falliti in ")
    assert not list((out / "cities").glob("*.tmp")) and not list((out / "cities").glob(".*"))


@pytest.mark.slow
def test_render_city_raises_and_leaves_previous_report(real_processed_dir, tmp_path):
    previous = tmp_path / "cities" / f"{UNKNOWN}.html"
    previous.parent.mkdir(parents=True)
    previous.write_text(SENTINEL, encoding="utf-8")
    with pytest.raises(reports.ReportError, match="codice ISTAT sconosciuto"):
        reports.render_city(UNKNOWN, processed_dir=real_processed_dir, out_dir=tmp_path)
    assert previous.read_text(encoding="utf-8") == SENTINEL
    assert (tmp_path / "failed" / f"{UNKNOWN}.ipynb").is_file()


@pytest.mark.slow
def test_index_links_every_city_of_the_run(run_dir, real_processed_dir):
    out, summary = run_dir
    assert summary.index_path == out / "index.html"
    page = (out / "index.html").read_text(encoding="utf-8")
    links = set(re.findall(r'href="(cities/[^"]+)"', page))
    assert {f"cities/{MATERA}.html", f"cities/{AVELLINO}.html"} <= links
    assert f"cities/{UNKNOWN}.html" not in links  # not one of the 39
    for link in links:
        assert (out / link).is_file()
    import pandas as pd

    cities = pd.read_parquet(Path(real_processed_dir) / "cities.parquet")
    assert page.count("<tr>") == len(cities) + 1  # header + one row per city
    assert_self_contained(page)
