"""The functions behind the controls of notebooks/explore.ipynb, and scenarios.

Everything runs on the real processed tables of the session fixture
``real_processed_dir`` (conftest.py: the real ``cocity prepare``). Expected
values are derived independently (numpy eigen-decomposition, group means,
the processed files of the real run), never typed in.
"""

from __future__ import annotations

import dataclasses
import html
import itertools
import json
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection

from cocity_analysis import FOCUS_AREAS, cli, datasets, pipeline
from cocity_analysis.exploration import explore, scenarios
from cocity_analysis.method import indicators
from cocity_analysis.errors import CocityError
from cocity_analysis.fileio import sha256_file
from cocity_analysis.method.choices import load_method
from cocity_analysis.reporting import charts
from cocity_analysis.reporting.formatting import format_number
from cocity_analysis.reporting.messages import _t, short_area_label

from .helpers import mirror_mef_zip

MATERA = "077014"
CORIGLIANO_ROSSANO = "078157"
AVELLINO = "064008"


@pytest.fixture(scope="module")
def state(real_processed_dir):
    return explore.ExploreState.from_processed(real_processed_dir)


@pytest.fixture(scope="module")
def base(state):
    return explore.recompute(state, state.method)


def ranked_areas(analysis):
    return [a for a in FOCUS_AREAS if analysis.scores[a].notna().any()]


def first_area(analysis, code):
    rows = analysis.priorities[(analysis.priorities["istat_code"] == code) & (analysis.priorities["rank"] == 1)]
    return rows["focus_area"].iloc[0] if len(rows) else None


# --- state and recompute ----------------------------------------------------------------------

def test_state_loads_the_processed_run(state, real_processed_dir):
    cities = pd.read_parquet(real_processed_dir / "cities.parquet")
    provenance = json.loads((real_processed_dir / "provenance.json").read_text(encoding="utf-8"))
    assert len(state.cities) == 39
    pd.testing.assert_frame_equal(state.values, pd.read_parquet(real_processed_dir / "indicators.parquet"))
    assert state.seed == provenance["seed"]
    assert state.method.to_dict() == {k: v for k, v in provenance["method"].items() if k in state.method.to_dict()}
    options = state.city_options()
    assert [code for _, code in options] == list(cities.sort_values("name").index)
    assert dict((code, label) for label, code in options)[MATERA] == "Matera (MT)"
    # only need indicators are offered: a context indicator never counts, switching it off changes nothing
    assert [i for i, _, _ in state.indicator_options()] == state.need_columns
    assert state.need_columns and set(state.need_columns) < set(state.values.columns)
    assert not set(state.need_columns) & set(indicators.context_ids(state.catalogue))


def test_missing_processed_dir_says_run_prepare(tmp_path):
    with pytest.raises(CocityError, match="cocity prepare"):
        explore.ExploreState.from_processed(tmp_path / "nothing")


def test_recompute_reproduces_the_processed_tables(base, real_processed_dir):
    """Same function and inputs as `cocity prepare`: same scores, profiles and priorities."""
    written = pd.read_parquet(real_processed_dir / "priorities.parquet")
    columns = ["istat_code", "focus_area", "rank", "score"]
    pd.testing.assert_frame_equal(base.priorities[columns].reset_index(drop=True), written[columns])
    pd.testing.assert_frame_equal(base.scores, pd.read_parquet(real_processed_dir / "scores.parquet"))
    clusters = pd.read_parquet(real_processed_dir / "clusters.parquet")
    columns = ["istat_code", "cluster", "label", "label_en"]  # "stability": bootstrap, not run interactively
    pd.testing.assert_frame_equal(base.clusters[columns].reset_index(drop=True), clusters[columns])


def test_recompute_equals_a_fresh_analyse_for_every_control(state):
    """Caches and the memoised clustering never change a result."""
    m = state.method
    methods = [
        m.replace(area_weights={**m.area_weights, "housing": 2.5}),
        m.replace(k=4),
        m.replace(excluded_indicators=(state.need_columns[0],)),
        m.replace(normalisation="zscore"),
        m.replace(area_weights={**m.area_weights, "poverty": 0.0}, k=3),
        m,
    ]
    for method in methods * 2:
        cached = explore.recompute(state, method)
        fresh = pipeline.analyse(state.values, state.catalogue, explore.interactive_method(state, method),
                                 seed=state.seed, **explore.analyse_options(state))
        pd.testing.assert_frame_equal(cached.priorities, fresh.priorities)
        pd.testing.assert_frame_equal(cached.clusters, fresh.clusters)
        pd.testing.assert_frame_equal(cached.normalised, fresh.normalised)
        pd.testing.assert_frame_equal(cached.profiles.inputs, fresh.profiles.inputs)
        pd.testing.assert_frame_equal(cached.profiles.diagnostics, fresh.profiles.diagnostics)
    assert 0 < len(state.clusterings) <= len(methods)  # the memo was used, and reused on the second pass


def test_interactive_runs_cap_simulations_but_not_the_method(state):
    method = state.method.replace(monte_carlo_runs=state.monte_carlo_runs + 500)
    assert explore.interactive_method(state, method).monte_carlo_runs == state.monte_carlo_runs
    small = state.method.replace(monte_carlo_runs=1)
    assert explore.interactive_method(state, small).monte_carlo_runs == 1
    if hasattr(method, "bootstrap_runs"):
        boot = state.method.replace(bootstrap_runs=state.bootstrap_runs + 10)
        assert explore.interactive_method(state, boot).bootstrap_runs == state.bootstrap_runs
    assert explore.recompute(state, method).method == explore.interactive_method(state, method)


def test_weight_zero_removes_an_area_from_first_place(state, base):
    if len(ranked_areas(base)) < 2:
        pytest.skip("only one area has need indicators with data in this run: no other area can be first")
    leading = [a for a in ranked_areas(base) if any(first_area(base, c) == a for c in state.cities.index)]
    assert len(leading) >= 2, "fewer than two areas come first somewhere: the test would prove nothing"
    for area in leading:
        weights = {**state.method.area_weights, area: 0.0}
        analysis = explore.recompute(state, state.method.replace(area_weights=weights))
        for code in state.cities.index:
            assert first_area(analysis, code) != area


def test_weighted_distance_follows_the_priority_rule(state, base):
    from cocity_analysis.method import priorities

    weights = {**state.method.area_weights, "housing": 2.5, "poverty": 0.5}
    analysis = explore.recompute(state, state.method.replace(area_weights=weights))
    distance = priorities.standardised_distance(base.scores)
    for code in (MATERA, AVELLINO):
        table = explore.priority_table(analysis, code)
        for area, row in table.iterrows():
            d = distance.loc[code, area]
            if pd.isna(d):
                assert pd.isna(row["weighted_distance"])
            else:
                assert row["distance"] == pytest.approx(d)
                expected = d * weights[area] if d >= 0 else d / weights[area]
                assert row["weighted_distance"] == pytest.approx(expected)


def test_indicator_off_leaves_the_scores(state, base):
    catalogue = state.catalogue
    for indicator in state.need_columns:
        area = catalogue.loc[indicator, "focus_area"]
        analysis = explore.recompute(state, state.method.replace(excluded_indicators=(indicator,)))
        assert indicator not in analysis.normalised.columns
        assert indicator not in analysis.profiles.inputs.columns
        others = [c for c in base.normalised.columns if c != indicator and catalogue.loc[c, "focus_area"] == area]
        if others:
            expected = base.normalised[others].mean(axis=1) * 100
            pd.testing.assert_series_equal(analysis.scores[area], expected, check_names=False)
        else:
            assert analysis.scores[area].isna().all()


def test_fixed_k_gives_k_profiles(state):
    for k in explore.K_CHOICES:
        analysis = explore.recompute(state, state.method.replace(k=k))
        assert analysis.profiles.k == k
        assert analysis.clusters["cluster"].nunique() == k
        assert sorted(analysis.clusters["cluster"].unique()) == list(range(1, k + 1))


def test_zscore_control(state):
    analysis = explore.recompute(state, state.method.replace(normalisation="zscore"))
    normalised = analysis.normalised.dropna(axis=1, how="all")
    np.testing.assert_allclose(normalised.mean(), 0, atol=1e-12)
    np.testing.assert_allclose(normalised.std(ddof=0), 1, atol=1e-12)


def test_supported_choices_are_implemented(state, base):
    """Each offered choice is really applied: its defining property holds and the result differs."""
    choices = explore.supported_choices()
    assert "minmax" in choices["normalisation"] and "arithmetic" in choices["aggregation"]
    properties = {
        "minmax": lambda n: np.allclose(n.min(), 0) and np.allclose(n.max(), 1),
        "zscore": lambda n: np.allclose(n.mean(), 0, atol=1e-12) and np.allclose(n.std(ddof=0), 1),
        "percentile": lambda n: np.allclose(n.min(), 0)  # tied top values share a rank below 1
        and n.apply(lambda c: np.allclose(c.dropna(), (c.rank(method="min").dropna() - 1) / (c.count() - 1))).all(),
        "distance_to_best": lambda n: np.allclose(n.min(), 0) and (n.max() > 0).all(),
    }
    assert set(choices["normalisation"]) <= set(properties)
    seen = {}
    for normalisation in choices["normalisation"]:
        analysis = explore.recompute(state, state.method.replace(normalisation=normalisation))
        normalised = analysis.normalised.dropna(axis=1, how="all")
        assert properties[normalisation](normalised), normalisation
        seen[normalisation] = analysis.scores
    for a, b in itertools.combinations(seen, 2):
        assert not seen[a].equals(seen[b]), (a, b)
    for aggregation in choices["aggregation"]:
        analysis = explore.recompute(state, state.method.replace(aggregation=aggregation))
        if aggregation == "arithmetic":
            pd.testing.assert_frame_equal(analysis.scores, base.scores)
        else:  # geometric mean of the [1, 100]-rescaled values: never above the arithmetic one, below somewhere
            diff = (analysis.scores - base.scores).stack().dropna()
            assert (diff <= 1e-9).all() and (diff < -1e-6).any(), aggregation


def test_no_indicator_is_a_clear_error(state):
    with pytest.raises(CocityError, match="nessun indicatore selezionato"):
        explore.recompute(state, state.method.replace(excluded_indicators=tuple(state.need_columns)))


# --- controls -> method -----------------------------------------------------------------------

def test_controls_at_their_start_values_give_the_processed_method(state):
    offered = [i for i, _, _ in state.indicator_options()]
    method = explore.method_from_controls(
        state.method, area_weights=state.method.area_weights, normalisation=state.method.normalisation,
        aggregation=state.method.aggregation, k=state.method.k if state.method.k is not None else "auto",
        included=[i for i in offered if i not in state.method.excluded_indicators], indicators=offered)
    assert method == state.method


def test_method_from_controls(state):
    offered = [i for i, _, _ in state.indicator_options()]
    method = explore.method_from_controls(
        state.method, area_weights={"housing": 0.0}, normalisation="zscore", aggregation="arithmetic", k=3,
        included=offered[1:], indicators=offered)
    assert method.area_weights["housing"] == 0.0
    assert method.area_weights["poverty"] == state.method.area_weights["poverty"]
    assert (method.normalisation, method.k) == ("zscore", 3)
    assert method.excluded_indicators == tuple(offered[:1])
    assert method.monte_carlo_runs == state.method.monte_carlo_runs
    auto = explore.method_from_controls(state.method, area_weights={}, normalisation="minmax",
                                        aggregation="arithmetic", k="auto", included=offered, indicators=offered)
    assert auto.k is None and auto.excluded_indicators == ()
    with pytest.raises(CocityError, match="sconosciuti"):
        explore.method_from_controls(state.method, area_weights={}, normalisation="minmax",
                                     aggregation="arithmetic", k=None, included=["no_such"], indicators=offered)
    with pytest.raises(CocityError, match="nessun indicatore selezionato"):
        explore.method_from_controls(state.method, area_weights={}, normalisation="minmax",
                                     aggregation="arithmetic", k=None, included=[], indicators=offered)
    with pytest.raises(CocityError, match="area_weights"):
        explore.method_from_controls(state.method, area_weights={"housing": -1}, normalisation="minmax",
                                     aggregation="arithmetic", k=None, included=offered, indicators=offered)


# --- tables behind the views ------------------------------------------------------------------

def test_city_profile_frame(state, base):
    frame = explore.city_profile_frame(base, MATERA, catalogue=state.catalogue)
    members = base.clusters.loc[base.clusters["cluster"] == explore.cluster_of(base, MATERA)[0], "istat_code"]
    assert MATERA in set(members)
    assert list(frame["item"]) == list(base.normalised.columns)
    np.testing.assert_array_equal(frame["city"], base.normalised.loc[MATERA].to_numpy())
    # a missing value (a city without census figures, a register gap) is left out of the means, not read as 0
    np.testing.assert_allclose(frame["all_mean"], np.nanmean(base.normalised.to_numpy(), axis=0))
    np.testing.assert_allclose(frame["cluster_mean"],
                               np.nanmean(base.normalised.loc[list(members)].to_numpy(), axis=0))
    assert frame.set_index("item").loc[state.need_columns[0], "label"] == state.catalogue.loc[
        state.need_columns[0], "label_it"]
    areas = explore.city_profile_frame(base, MATERA, level="areas")
    assert list(areas["item"]) == list(FOCUS_AREAS)
    np.testing.assert_array_equal(areas["city"], base.scores.loc[MATERA].to_numpy())
    with pytest.raises(CocityError, match="077014"):
        explore.city_profile_frame(base, "77014")


def test_pca_biplot_data_against_numpy(base):
    data = explore.pca_biplot_data(base)
    inputs = base.profiles.inputs.to_numpy(dtype="float64")
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(inputs, rowvar=False))
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, eigenvectors = eigenvalues[order], eigenvectors[:, order]
    np.testing.assert_allclose(data.scores[["PC1", "PC2"]].var(ddof=1), eigenvalues[:2], rtol=1e-9)
    np.testing.assert_allclose(data.explained, eigenvalues[:2] / eigenvalues.sum(), rtol=1e-9)
    for i, name in enumerate(["PC1", "PC2"]):
        direction = data.loadings[name].to_numpy() / np.sqrt(eigenvalues[i])
        assert abs(abs(direction @ eigenvectors[:, i]) - 1) < 1e-9
    np.testing.assert_allclose(data.scores[["PC1", "PC2"]].mean(), 0, atol=1e-12)
    assert list(data.scores.index) == list(base.profiles.inputs.index)
    assert data.scores["cluster"].tolist() == base.clusters.set_index("istat_code")["cluster"].reindex(
        data.scores.index).tolist()


def test_priority_table(state, base, real_processed_dir):
    written = pd.read_parquet(real_processed_dir / "priorities.parquet")
    # Corigliano-Rossano: no census 2011 figures (Corigliano Calabro is not in the census area files), so
    # two areas without data; Matera and Avellino: every area ranked
    for code in (MATERA, AVELLINO, CORIGLIANO_ROSSANO):
        table = explore.priority_table(base, code)
        mine = written[written["istat_code"] == code]
        assert list(table.index) == list(mine["focus_area"])
        assert table["rank"].tolist() == mine["rank"].tolist()
        robust = [c for c in explore.ROBUSTNESS_COLUMNS if c in base.priorities.columns]
        assert robust, "no Monte Carlo column: the header check below would be partial"
        assert list(table.columns) == [*explore.PRIORITY_COLUMNS, *robust]
        html_text = explore.priority_html(table)
        # the headers are the catalogue's, in the table's order
        headers = [html.unescape(h) for h in re.findall(r"<th>(.*?)</th>", html_text, flags=re.S)]
        assert headers[:2] == ["Rango", "Area"]
        # so that the table fits the panel's column: no weight column (the sliders show the weights),
        # the 5th-95th percentile ranks in one column
        assert robust == ["rank_median", "rank_p05", "rank_p95", "share_top"]
        names = _t("it", "explore_columns")
        assert headers == [names[c] for c in ("rank", "focus_area", "score", "distance", "weighted_distance",
                                              "rank_median", "rank_interval", "share_top")]
        body = html_text[html_text.index("<tbody>"):]
        rows = re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)
        cells = [[html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", row, flags=re.S)] for row in rows]
        first_cells = {row[1]: row for row in cells}  # short area label -> its cells
        unranked = list(table.index[table["rank"].isna()])
        if code == CORIGLIANO_ROSSANO:
            assert unranked, "no area without data: the check below would be empty"
        for area in table.index:
            rank, shown = table.at[area, "rank"], first_cells[short_area_label(area, "it")]
            assert shown[0] == ("dati non disponibili" if pd.isna(rank) else str(int(rank))), area
            if not pd.isna(rank):
                # Italian decimals (Babel) and the share of first places as a percentage
                assert shown[2] == format_number(table.at[area, "score"], "it", decimals=2)
                assert re.fullmatch(r"\d+,\d\d", shown[2]), shown[2]
                assert shown[headers.index("Quota al 1° posto")].endswith("%")
                low, high = int(table.at[area, "rank_p05"]), int(table.at[area, "rank_p95"])
                assert shown[headers.index("Rango 5°-95° percentile")] == f"{low}-{high}"
        # without the number of simulations there is nothing to say under the table
        assert 'class="cocity-table-note"' not in html_text
        noted = html.unescape(explore.priority_html(table, runs=1000))
        assert _t("it", "explore_table_note", runs="1.000") in noted


# --- plots ------------------------------------------------------------------------------------

def test_figure_titles_say_the_years_of_their_data(state):
    view = explore.build_view(state, state.method, MATERA)
    years = {
        "profile": explore.data_years(state, view.analysis.normalised.columns, MATERA),
        "biplot": explore.data_years(state, view.analysis.profiles.inputs.columns),
    }
    # the real run: spans of years (census 2011 in the scores; MEF 2018-2021 in the profiles' inputs)
    assert years["profile"].startswith("2011-") and re.fullmatch(r"20\d\d-20\d\d", years["biplot"]), years
    assert charts.figure_title(view.figures["profile"]) == _t(
        "it", "explore_profile_title", city="Matera", years=years["profile"])
    assert charts.figure_title(view.figures["biplot"]) == _t(
        "it", "fig_biplot_title", n=len(view.analysis.clusters), years=years["biplot"])
    assert charts.figure_title(view.figures["map"]).endswith(f" {state.geometry().layout['year']})")
    # without the census 2011 indicators, 2011 leaves the profile chart's title
    census = [c for c in state.need_columns if c.startswith("census2011_")]
    assert census
    without = explore.build_view(state, state.method.replace(excluded_indicators=tuple(census)), MATERA)
    title = charts.figure_title(without.figures["profile"])
    assert "2011" not in title and "(dati 20" in title, title


def test_plot_profile_is_the_report_chart(state, base):
    frame = explore.city_profile_frame(base, MATERA, level="areas")
    figure = explore.plot_profile(frame, title="Matera", city_label="Matera")
    bars = figure.axes[0].containers   # the report's profile_figure: one bar container per series
    assert [b.get_label() for b in bars] == ["Matera", "Media del profilo", "Media delle 39 città"]
    for container, column in zip(bars, ("city", "cluster_mean", "all_mean")):
        assert [b.get_width() for b in container] == pytest.approx([v for v in frame[column] if not np.isnan(v)])
    assert "Matera" in explore.figure_svg(figure)


def test_plot_biplot_has_the_39(state, base):
    data = explore.pca_biplot_data(base)
    figure = explore.plot_biplot(data, names=state.cities["name"].to_dict(), highlight=MATERA)
    points = sum(len(c.get_offsets()) for c in figure.axes[0].collections if isinstance(c, PathCollection))
    assert points == len(base.clusters) + 1  # the 39 plus the ring around the chosen city
    assert "Matera" in explore.figure_svg(figure)
    # the arrows' labels never sit on one another (the two income-change arrows end close together)
    ax = figure.axes[0]
    heights = sorted(t.get_position()[1] for t in ax.texts if t.get_gid() == "loading-label")
    assert len(heights) == len(data.loadings) >= 2
    span = ax.get_ylim()[1] - ax.get_ylim()[0]
    gap = min(charts.LABEL_GAP_SHARE * span, 0.9 * span / len(heights))
    assert min(b - a for a, b in zip(heights, heights[1:])) >= gap * 0.999


def test_map_geometry_and_plot(state, base):
    geometry = state.geometry()
    assert geometry.missing == [] and sorted(geometry.cities.index) == sorted(state.cities.index)
    assert len(geometry.regions) == state.cities["region"].nunique()
    figure = explore.plot_map(geometry, base, highlight=MATERA, names=state.cities["name"].to_dict())
    assert "Matera" in explore.figure_svg(figure)


def test_build_view_redraws_only_what_changed(state):
    first = explore.build_view(state, state.method, MATERA)
    weights = {**state.method.area_weights, "housing": 2.0}
    second = explore.build_view(state, state.method.replace(area_weights=weights), MATERA, previous=first)
    for name in ("profile", "biplot", "map"):
        assert second.images[name] is first.images[name]
    assert second.table["weight"].loc["housing"] == 2.0
    third = explore.build_view(state, state.method, AVELLINO, previous=second)
    for name in ("profile", "biplot", "map"):
        assert third.images[name] is not second.images[name]
    assert "Avellino" in third.summary and "Avellino" in third.images["map"]


# --- the widget panel -------------------------------------------------------------------------

@pytest.fixture()
def app(state, tmp_path):
    pytest.importorskip("ipywidgets")
    return explore.ExploreApp(dataclasses.replace(state, processed_dir=tmp_path), city=MATERA)


def test_app_starts_on_the_processed_method(app, state):
    assert app.current_method() == state.method
    assert app.view.city == MATERA
    assert app.controls["city"].value == MATERA
    need = state.catalogue.loc[state.need_columns]
    areas_with_data = set(need.loc[need["available"], "focus_area"])
    for area in FOCUS_AREAS:
        assert app.controls[f"weight:{area}"].disabled == (area not in areas_with_data)


def test_app_weight_labels_cut_by_the_column_show_whole_on_hover(app):
    # "Peso povertà e marginalità" is wider than the 120 px the column gives a slider's label
    # (tests/test_lab.py checks the cut labels in the browser, the indicators' checkboxes too)
    labels = {a: app.controls[f"weight:{a}"].description for a in FOCUS_AREAS}
    assert max(len(label) for label in labels.values()) > 20
    assert {a: app.controls[f"weight:{a}"].tooltip for a in FOCUS_AREAS} == labels


def test_app_controls_redraw(app, state):
    top = first_area(app.view.analysis, MATERA)
    app.controls[f"weight:{top}"].value = 0.0
    if len(ranked_areas(app.view.analysis)) > 1:  # with one scored area, no other can be first
        assert first_area(app.view.analysis, MATERA) != top
    else:
        assert app.view.analysis.priorities.query("istat_code == @MATERA and rank == 1")["score"].iloc[0] == 0
    app.controls["k"].value = 3
    assert app.view.analysis.profiles.k == 3
    indicator = state.need_columns[0]
    app.controls[f"indicator:{indicator}"].value = False
    assert indicator not in app.view.analysis.normalised.columns
    app.controls["city"].value = AVELLINO
    assert app.view.city == AVELLINO and "Avellino" in app.status.value
    assert "Avellino" in explore.svg_of_img(app.views["map"].value)
    assert "Avellino" in explore.svg_of_img(app.views["profile"].value)
    runs = app.view.analysis.monte_carlo.runs
    assert app.views["table"].value == explore.priority_html(explore.priority_table(app.view.analysis, AVELLINO),
                                                             runs=runs)
    # the note under the table says how many simulations the short robustness headers count
    assert _t("it", "explore_table_note", runs=runs) in html.unescape(app.views["table"].value)


def test_app_shows_errors_instead_of_raising(state, base, tmp_path):
    # keep one indicator with a value for every city (need profiles are fitted on complete indicators)
    last = next(c for c in state.need_columns if base.normalised[c].notna().all())
    others = [c for c in state.need_columns if c != last]
    one_left = dataclasses.replace(state, processed_dir=tmp_path,
                                   method=state.method.replace(excluded_indicators=tuple(others)))
    app = explore.ExploreApp(one_left, city=MATERA)
    assert app.controls[f"indicator:{others[0]}"].value is False
    assert list(app.view.analysis.normalised.columns) == [last]
    assert "Biplot non disponibile" in app.view.images["biplot"]  # one indicator: no plane to draw
    before = app.view
    app.controls[f"indicator:{last}"].value = False
    assert "Errore" in app.status.value and "nessun indicatore selezionato" in app.status.value
    assert app.view is before


def test_app_save_button(app, state, tmp_path):
    app.controls["k"].value = 4
    app.scenario_name.value = "prova-k4"
    app.save_button.click()
    path = tmp_path / "scenarios" / "prova-k4.yaml"
    assert path.exists() and "cocity prepare --scenario" in app.save_message.value
    assert scenarios.load_scenario(path) == state.method.replace(k=4)
    app.scenario_name.value = "../fuori"
    app.save_button.click()
    assert "non valido" in app.save_message.value
    assert not (tmp_path / "fuori.yaml").exists()


# --- scenarios --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["", " ", "../x", "a/b", "a b", "città", ".hidden", "x" * 65, "a.b", "-x"])
def test_bad_scenario_names_are_refused(name, tmp_path):
    with pytest.raises(CocityError, match="non valido"):
        scenarios.save_scenario(name, load_method(), tmp_path)
    assert not (tmp_path / "scenarios").exists() or not any((tmp_path / "scenarios").iterdir())


def test_save_and_load_scenario(tmp_path, state):
    method = state.method.replace(k=3, area_weights={**state.method.area_weights, "housing": 0.5},
                                  excluded_indicators=(state.values.columns[1],))
    path = scenarios.save_scenario("pesi-abitare.yaml", method, tmp_path)
    assert path == tmp_path / "scenarios" / "pesi-abitare.yaml"
    assert scenarios.load_scenario(path) == method
    assert [p.name for p in path.parent.iterdir()] == ["pesi-abitare.yaml"]  # no temporary file left
    assert scenarios.save_scenario("pesi-abitare", method, tmp_path) == path  # same content: fine
    with pytest.raises(CocityError, match="esiste già"):
        scenarios.save_scenario("pesi-abitare", state.method, tmp_path)
    assert scenarios.load_scenario(path) == method
    scenarios.save_scenario("pesi-abitare", state.method, tmp_path, overwrite=True)
    assert scenarios.load_scenario(path) == state.method


def test_cli_refuses_method_and_scenario_together(tmp_path, capsys):
    code = cli.main(["prepare", "--scenario", str(tmp_path / "s.yaml"), "--method", str(tmp_path / "m.yaml"),
                     "--processed", str(tmp_path / "out")])
    assert code == cli.EXIT_INPUT_ERROR
    assert "non entrambi" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_cli_missing_scenario_file(tmp_path, capsys):
    code = cli.main(["prepare", "--scenario", str(tmp_path / "nope.yaml"), "--processed", str(tmp_path / "out")])
    assert code == cli.EXIT_INPUT_ERROR
    assert "nope.yaml" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_scenario_run_is_byte_identical_to_the_method_applied_directly(state, real_processed_dir, tmp_path,
                                                                       monkeypatch):
    """Saved from the notebook, run by `cocity prepare --scenario`: same priorities.parquet, byte for byte."""
    offered = [i for i, _, _ in state.indicator_options()]
    method = explore.method_from_controls(
        state.method, area_weights={"housing": 2.0, "poverty": 0.5}, normalisation="zscore",
        aggregation="arithmetic", k=3, included=offered[1:], indicators=offered)
    path = scenarios.save_scenario("esplorato", method, tmp_path / "explore")
    mef = mirror_mef_zip()
    if mef is None:  # both runs without MEF, whatever data/raw/mef holds
        monkeypatch.setattr(pipeline, "find_mef_file", lambda *a, **k: None)
    argv = ["prepare", "--scenario", str(path), "--processed", str(tmp_path / "via_cli")]
    assert cli.main(argv + (["--mef", str(mef)] if mef else [])) == 0
    # the same sources as the CLI run (its defaults: data/raw/...), only the method given directly
    pipeline.prepare(processed_dir=tmp_path / "direct", mef_path=mef, method=method)
    via_cli, direct = tmp_path / "via_cli" / "current", tmp_path / "direct" / "current"
    for name in ("priorities.parquet", "scores.parquet", "clusters.parquet", "normalised.parquet"):
        # two runs, two run ids: the same bytes once the run id is taken out
        assert datasets.unstamped_bytes(via_cli / name) == datasets.unstamped_bytes(direct / name), name
    # the scenario changed the run (else the comparison above would prove nothing) ...
    assert datasets.unstamped_bytes(via_cli / "priorities.parquet") != datasets.unstamped_bytes(
        real_processed_dir / "priorities.parquet")
    # ... it is what the notebook showed ...
    shown = explore.recompute(state, method)
    written = pd.read_parquet(via_cli / "priorities.parquet")
    columns = ["istat_code", "focus_area", "rank", "score"]
    pd.testing.assert_frame_equal(shown.priorities[columns].reset_index(drop=True), written[columns])
    # ... and the provenance names the file
    provenance = json.loads((via_cli / "provenance.json").read_text(encoding="utf-8"))
    assert provenance["scenario"]["sha256"] == sha256_file(path)
    assert provenance["scenario"]["path"] == str(path.resolve())
    assert {"role": "scenario", "name": "esplorato.yaml", "sha256": sha256_file(path),
            "path": str(path.resolve())} in provenance["inputs"]
    assert provenance["method"]["k"] == 3 and provenance["method"]["normalisation"] == "zscore"
