"""Functions behind the controls of ``notebooks/explore.ipynb`` (interactive exploration).

Every control of the notebook calls one function of this module; the notebook
itself holds no analysis logic. The analysis is always :func:`pipeline.analyse`
(the very function ``cocity prepare`` runs), so what an expert sees is what a
saved scenario gives in the scheduled run.

Speed (reacting well under a second on the 39): the processed tables and the
map geometry are loaded once (:class:`ExploreState`); :func:`recompute` keeps
the analyses of recent control states, memoises the clustering by its exact
inputs (a weight slider does not change the profiles, so it does not
re-cluster), runs BLAS/OpenMP single-threaded (faster on 39 rows than
contending threads) and runs few Monte Carlo draws (``ExploreState.monte_carlo_runs``).

Layout: data (:class:`ExploreState`, :func:`recompute`), tables behind the views
(:func:`city_profile_frame`, :func:`pca_biplot_data`, :func:`priority_table`),
plots (:func:`plot_profile`, :func:`plot_biplot`, :func:`plot_map`: thin calls into the chart
module of the reports, :mod:`cocity_analysis.reporting.charts`, so JupyterLab shows the charts the
cities receive; each returns a :class:`matplotlib.figure.Figure` without touching pyplot state), controls
(:func:`method_from_controls`, :class:`ExploreApp`).
"""

from __future__ import annotations

import base64
import html
import inspect
import json
from collections import OrderedDict
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd
from markupsafe import Markup
from matplotlib.figure import Figure

from cocity_analysis import FOCUS_AREA_LABELS, FOCUS_AREAS, config, pipeline
from cocity_analysis.method import composite, indicators, priorities, profiles
from cocity_analysis.errors import CocityError
from cocity_analysis.method.choices import CHOICES, Method, dump_method, from_dict, load_method
from cocity_analysis.reporting import charts, templating
from cocity_analysis.reporting import maps as report_maps
from cocity_analysis.reporting.formatting import format_number, format_share
from cocity_analysis.reporting.messages import _t, short_area_label

#: Monte Carlo draws per interactive recompute (the saved scenario keeps the full number).
INTERACTIVE_MC_RUNS = 50
#: Bootstrap resamples of the profiles per interactive recompute (0 = no stability column; the
#: profiles themselves do not depend on it; the saved scenario keeps the full number).
INTERACTIVE_BOOTSTRAP_RUNS = 0
#: Analyses and clusterings kept in memory (one per control state).
CACHE_SIZE = 128
#: k offered by the k control besides "automatic".
K_CHOICES = tuple(range(2, 9))

#: The panel is for the programme's thematic experts: Italian, like the reports' default.
LANG = "it"

AREA_LABELS = FOCUS_AREA_LABELS[LANG]
SHORT_AREA_LABELS = profiles.SHORT_AREA_LABELS[LANG]
#: Columns of :func:`priority_table`; their headers are ``explore_columns`` in the message catalogue.
PRIORITY_COLUMNS = ("rank", "focus_area", "score", "weight", "distance", "weighted_distance")
#: Monte Carlo columns of the priorities that :func:`priority_table` adds when the analysis has them.
ROBUSTNESS_COLUMNS = ("rank_median", "rank_p05", "rank_p95", "share_top")


# --- data ---------------------------------------------------------------------------------------

#: The map geometry (regions, city polygons, bounds), the same the reports draw.
MapGeometry = report_maps.MapGeometry


def load_map_geometry(processed_dir: str | Path, codes: Iterable[str]) -> MapGeometry:
    """Boundaries for the map of ``codes``, from the map files ``cocity prepare`` writes.

    ``prepare`` selects the municipalities of the cities' regions, projects them
    (EPSG:3035) and simplifies them once (:mod:`cocity_analysis.reporting.maps`);
    this only reads them. A processed folder from before the map files existed gets
    them written now (a sealed dataset is never written to: built in memory).
    """
    report_maps.ensure_map_assets(processed_dir)
    return report_maps.load_map_geometry(processed_dir, codes)


@dataclass
class ExploreState:
    """What the notebook loads once from a processed folder.

    Attributes
    ----------
    processed_dir : Path
        The processed folder given (its ``scenarios/`` receive the saved scenarios).
    cities : DataFrame
        ``cities.parquet`` (index ``istat_code``; name, province, region ...).
    values : DataFrame
        ``indicators.parquet``: cities x indicators, raw values.
    catalogue : DataFrame
        The indicator catalogue (:func:`indicators.load_catalogue`) with the
        ``available`` flag and ``missing_reason`` of the processed run.
    method : Method
        The method of the processed run (from ``provenance.json``).
    seed : int
        The seed of the processed run.
    monte_carlo_runs, bootstrap_runs : int
        Monte Carlo draws and profile bootstrap resamples per interactive recompute.
    universe : pipeline.Universe or None
        Every municipality with data, when the processed folder has it
        (``all_indicators.parquet``, written by ``scope: all`` runs).
    dataset_dir : Path
        The dataset read (``current`` resolved once when the state was loaded).
    run_id : str
        Its run id; every table read carries it.
    """

    processed_dir: Path
    cities: pd.DataFrame
    values: pd.DataFrame
    catalogue: pd.DataFrame
    method: Method
    seed: int
    monte_carlo_runs: int = INTERACTIVE_MC_RUNS
    bootstrap_runs: int = INTERACTIVE_BOOTSTRAP_RUNS
    universe: object = field(default=None, repr=False)
    analyses: OrderedDict = field(default_factory=OrderedDict, repr=False)
    clusterings: OrderedDict = field(default_factory=OrderedDict, repr=False)
    _geometry: MapGeometry | None = field(default=None, repr=False)
    dataset_dir: Path | None = None
    run_id: str | None = None
    _dataset: object = field(default=None, repr=False)

    @classmethod
    def from_processed(cls, processed_dir: str | Path = config.PROCESSED_DIR, *,
                       monte_carlo_runs: int = INTERACTIVE_MC_RUNS,
                       bootstrap_runs: int = INTERACTIVE_BOOTSTRAP_RUNS) -> "ExploreState":
        """Load the tables written by ``cocity prepare`` (once; every control then works in memory).

        Raises
        ------
        CocityError
            When the folder or one of its tables is missing (says to run ``cocity prepare``).
        """
        from cocity_analysis.datasets import open_dataset

        processed_dir = Path(processed_dir)
        # one dataset for the whole session, kept from pruning while the notebook has it open
        dataset = open_dataset(processed_dir, hold=True)
        folder = dataset.path
        needed = ("cities.parquet", "indicators.parquet", "catalogue.json", "provenance.json")
        absent = [name for name in needed if not (folder / name).exists()]
        if absent:
            raise CocityError(f"{folder}: mancano {', '.join(absent)}; eseguire prima `cocity prepare`")
        cities = pd.read_parquet(folder / "cities.parquet")
        values = pd.read_parquet(folder / "indicators.parquet")
        document = json.loads((folder / "catalogue.json").read_text(encoding="utf-8"))
        provenance = json.loads((folder / "provenance.json").read_text(encoding="utf-8"))
        catalogue = indicators.load_catalogue()
        status = {item["id"]: item for item in document.get("indicators", [])}
        catalogue["available"] = [bool(status.get(i, {}).get("available", i in values.columns))
                                  for i in catalogue.index]
        catalogue["missing_reason"] = [status.get(i, {}).get("missing_reason") for i in catalogue.index]
        # the run's reference years (they can differ from the catalogue's planned ones: a fallback source)
        catalogue["reference_year"] = [status.get(i, {}).get("reference_year") for i in catalogue.index]
        return cls(processed_dir=processed_dir, cities=cities, values=values, catalogue=catalogue,
                   method=method_of_run(provenance, folder / "provenance.json"),
                   seed=int(provenance.get("seed", config.DEFAULT_SEED)), monte_carlo_runs=monte_carlo_runs,
                   bootstrap_runs=bootstrap_runs, universe=_load_universe(folder), dataset_dir=folder,
                   run_id=dataset.run_id, _dataset=dataset)

    def city_options(self) -> list[tuple[str, str]]:
        """``(label, istat_code)`` for the city picker, sorted by name: ``"Matera (MT)"``."""
        rows = self.cities.sort_values("name")
        return [(f"{row['name']} ({row['province_abbr']})", code) for code, row in rows.iterrows()]

    @property
    def need_columns(self) -> list[str]:
        """The need indicators of ``values`` (what the analysis takes; context columns are only shown)."""
        return indicators.need_ids(self.catalogue, self.values.columns)

    def indicator_options(self) -> list[tuple[str, str, str]]:
        """``(indicator_id, Italian label, focus area)`` of the need indicators with values, catalogue order.

        Context indicators are not offered: they never count, so switching them off would change nothing.
        """
        need = set(self.need_columns)
        return [(i, self.catalogue.loc[i, "label_it"], self.catalogue.loc[i, "focus_area"])
                for i in self.catalogue.index if i in need]

    def geometry(self) -> MapGeometry:
        """The map boundaries of the cities (loaded on first use, then kept)."""
        if self._geometry is None:
            self._geometry = load_map_geometry(self.dataset_dir or self.processed_dir, self.cities.index)
        return self._geometry


def _load_universe(processed_dir: Path):
    """``pipeline.Universe`` from ``all_indicators.parquet`` when the run wrote it, else None."""
    path = processed_dir / "all_indicators.parquet"
    if not path.exists() or not hasattr(pipeline, "Universe"):
        return None
    from cocity_analysis.sources import istat_comuni

    values = pd.read_parquet(path)
    municipalities, _ = istat_comuni.load_in_use()  # the list the run used (fetched, else shipped)
    return pipeline.Universe(values=values, region=municipalities["region"].reindex(values.index),
                             macro_area=municipalities["macro_area"].reindex(values.index))


def method_of_run(provenance: dict, source: str | Path | None = None) -> Method:
    """The :class:`Method` recorded in a ``provenance.json`` (the shipped defaults if none is recorded).

    Keys that are facts of the run rather than choices (``k_chosen`` ...) are ignored.
    """
    recorded = provenance.get("method")
    if not isinstance(recorded, dict):
        return load_method()
    names = {f.name for f in fields(Method)}
    return from_dict({k: v for k, v in recorded.items() if k in names}, source, load_method())


def supported_choices() -> dict[str, list[str]]:
    """Normalisations and aggregations the current library actually implements (offered by the controls).

    A choice the method file allows but :mod:`composite` does not implement yet
    is not offered, so no control silently does nothing.
    """
    def implemented(*names, default=()):
        for name in names:
            found = getattr(composite, name, None)
            if isinstance(found, (dict, tuple, list, set, frozenset)):
                return set(found)
        return set(default)

    normalisers = implemented("NORMALISERS", "NORMALISATIONS")
    aggregators = implemented("AGGREGATORS", "AGGREGATIONS", default=("arithmetic",))
    return {
        "normalisation": [c for c in CHOICES["normalisation"] if c in normalisers],
        "aggregation": [c for c in CHOICES["aggregation"] if c in aggregators],
    }


def data_years(state: ExploreState, columns: Iterable[str], city: str | None = None) -> str:
    """The reference years of the indicators ``columns`` of the run, as figure titles say them.

    Parameters
    ----------
    state : ExploreState
    columns : iterable of str
        Indicator ids (the analysis' inputs).
    city : str, optional
        Only the indicators with a value for this city (what its scores are made of).

    Returns
    -------
    str
        ``"2011-2021"``, one year, or ``"n.d."`` (:func:`charts.years_text`).
    """
    columns = [c for c in columns if c in state.catalogue.index]
    if city is not None:
        columns = [c for c in columns if c in state.values.columns and pd.notna(state.values.at[city, c])]
    return charts.years_text(state.catalogue.loc[columns, "reference_year"] if columns else [])


def _frame_key(frame: pd.DataFrame) -> tuple:
    return (tuple(frame.index), tuple(frame.columns), tuple(map(str, frame.dtypes)),
            np.ascontiguousarray(frame.to_numpy(dtype="float64")).tobytes())


def _remember(cache: OrderedDict, key, value, size: int = CACHE_SIZE):
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > size:
        cache.popitem(last=False)
    return value


def memoised_clustering(cache: OrderedDict):
    """A :func:`profiles.cluster` that answers from ``cache`` for inputs it has seen.

    The clustering is a deterministic function of its inputs (fixed seed), so a
    cached result is the result; controls that do not change the clustering
    inputs (area weights, the city) then skip it. Passed to
    :func:`pipeline.analyse` as ``cluster=``; nothing global is patched.
    """

    def cluster(data, *args, **kwargs):
        if not isinstance(data, pd.DataFrame):
            return profiles.cluster(data, *args, **kwargs)
        key = (_frame_key(data), repr(args), repr(sorted(kwargs.items())))
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
        return _remember(cache, key, profiles.cluster(data, *args, **kwargs))

    return cluster


def interactive_method(state: ExploreState, method: Method) -> Method:
    """``method`` with at most ``state.monte_carlo_runs`` Monte Carlo draws and ``state.bootstrap_runs``
    profile bootstrap resamples: what :func:`recompute` runs."""
    caps = {"monte_carlo_runs": state.monte_carlo_runs, "bootstrap_runs": state.bootstrap_runs}
    changes = {name: int(cap) for name, cap in caps.items()
               if hasattr(method, name) and int(getattr(method, name)) > int(cap)}
    return method.replace(**changes) if changes else method


def analyse_options(state: ExploreState) -> dict:
    """Keyword arguments of :func:`pipeline.analyse` that the state can give (regions, universe)."""
    accepted = inspect.signature(pipeline.analyse).parameters
    options = {}
    if "regions" in accepted and "region" in state.cities.columns:
        options["regions"] = state.cities["region"]
    if "universe" in accepted and state.universe is not None:
        options["universe"] = state.universe
    return options


def recompute(state: ExploreState, method: Method) -> pipeline.Analysis:
    """Run :func:`pipeline.analyse` on the processed indicators with ``method`` (fast, cached).

    Same function and inputs as ``cocity prepare``: normalised indicators,
    scores, profiles and priorities equal those of a prepare run with this
    method (Monte Carlo robustness columns aside, which use
    ``state.monte_carlo_runs`` draws here).

    Raises
    ------
    CocityError
        When the method cannot be computed on these data (e.g. no indicator left).
    """
    from threadpoolctl import threadpool_limits

    method = interactive_method(state, method)
    key = (dump_method(method), state.seed)
    if key in state.analyses:
        state.analyses.move_to_end(key)
        return state.analyses[key]
    if not set(state.need_columns) - set(method.excluded_indicators):
        raise CocityError("nessun indicatore selezionato: attivarne almeno uno")
    try:
        with threadpool_limits(1):
            analysis = pipeline.analyse(state.values, state.catalogue, method, seed=state.seed,
                                        cluster=memoised_clustering(state.clusterings),
                                        **analyse_options(state))
    except ValueError as error:
        raise CocityError(f"analisi non calcolabile con queste scelte: {error}") from error
    return _remember(state.analyses, key, analysis)


# --- tables behind the views ----------------------------------------------------------------------

def cluster_of(analysis: pipeline.Analysis, code: str) -> tuple[int, str]:
    """``(cluster number, Italian label)`` of the city ``code``."""
    row = analysis.clusters.set_index("istat_code").loc[_check_code(analysis, code)]
    return int(row["cluster"]), str(row["label"])


def _check_code(analysis: pipeline.Analysis, code: str) -> str:
    if not isinstance(code, str) or code not in set(analysis.clusters["istat_code"]):
        raise CocityError(f"codice città {code!r} non presente nell'analisi; codici validi: "
                          + ", ".join(sorted(analysis.clusters["istat_code"])))
    return code


def city_profile_frame(analysis: pipeline.Analysis, code: str, *, level: str = "indicators",
                       catalogue: pd.DataFrame | None = None) -> pd.DataFrame:
    """A city against the mean of its need profile and the mean of all cities.

    Parameters
    ----------
    analysis : Analysis
    code : str
        ISTAT code of the city.
    level : {"indicators", "areas"}
        Normalised indicators (the profile the clustering sees) or focus-area scores.
    catalogue : DataFrame, optional
        For Italian labels and focus areas of indicators.

    Returns
    -------
    DataFrame
        One row per indicator (or area): ``item``, ``label``, ``focus_area``,
        ``city``, ``cluster_mean``, ``all_mean``. Missing stays missing.
    """
    code = _check_code(analysis, code)
    if level == "indicators":
        table = analysis.normalised
        labels = {i: (catalogue.loc[i, "label_it"] if catalogue is not None and i in catalogue.index else i)
                  for i in table.columns}
        areas = {i: (catalogue.loc[i, "focus_area"] if catalogue is not None and i in catalogue.index else None)
                 for i in table.columns}
    elif level == "areas":
        table = analysis.scores
        labels = {a: AREA_LABELS.get(a, a) for a in table.columns}
        areas = {a: a for a in table.columns}
    else:
        raise CocityError(f"level {level!r} non previsto; valori ammessi: indicators, areas")
    members = analysis.clusters.loc[analysis.clusters["cluster"] == cluster_of(analysis, code)[0], "istat_code"]
    return pd.DataFrame({
        "item": list(table.columns),
        "label": [labels[c] for c in table.columns],
        "focus_area": [areas[c] for c in table.columns],
        "city": table.loc[code].to_numpy(dtype="float64"),
        "cluster_mean": table.loc[list(members)].mean().to_numpy(dtype="float64"),
        "all_mean": table.mean().to_numpy(dtype="float64"),
    })


@dataclass
class BiplotData:
    """PCA of the clustering inputs: city scores, indicator loadings, explained variance."""

    scores: pd.DataFrame      # index istat_code; PC1, PC2, cluster
    loadings: pd.DataFrame    # index indicator; PC1, PC2 (component x sqrt(eigenvalue))
    explained: np.ndarray     # explained variance ratio of PC1, PC2


def pca_biplot_data(analysis: pipeline.Analysis, n_components: int = 2) -> BiplotData:
    """Principal components of the matrix the profiles were formed on (``analysis.profiles.inputs``).

    Scores are the cities' coordinates; loadings are the components scaled by
    the square root of their variance (so an arrow's length shows how much of
    the component the indicator carries). Signs follow scikit-learn's
    deterministic convention.
    """
    from sklearn.decomposition import PCA

    inputs = analysis.profiles.inputs
    n_components = min(n_components, inputs.shape[1], inputs.shape[0])
    if n_components < 2:
        raise CocityError("servono almeno due indicatori completi per il biplot")
    model = PCA(n_components=n_components, svd_solver="full", random_state=0).fit(inputs.to_numpy(dtype="float64"))
    names = [f"PC{i + 1}" for i in range(n_components)]
    scores = pd.DataFrame(model.transform(inputs.to_numpy(dtype="float64")), index=inputs.index, columns=names)
    scores["cluster"] = analysis.clusters.set_index("istat_code")["cluster"].reindex(scores.index)
    loadings = pd.DataFrame(model.components_.T * np.sqrt(model.explained_variance_), index=inputs.columns,
                            columns=names)
    return BiplotData(scores=scores, loadings=loadings, explained=model.explained_variance_ratio_)


def priority_table(analysis: pipeline.Analysis, code: str) -> pd.DataFrame:
    """The city's focus areas in priority order (index: focus area ids).

    Parameters
    ----------
    analysis : pipeline.Analysis
    code : str
        ISTAT code of the city.

    Returns
    -------
    DataFrame
        :data:`PRIORITY_COLUMNS`: ``rank`` (missing for an area without data), ``focus_area``
        (its label), ``score`` (0-100), ``weight``, ``distance`` (standardised distance from the mean)
        and ``weighted_distance`` (the priority rule, :func:`priorities.rank_relative`); then the
        :data:`ROBUSTNESS_COLUMNS` the analysis has. :func:`priority_html` shows it with the
        catalogue's headers.
    """
    code = _check_code(analysis, code)
    rows = analysis.priorities[analysis.priorities["istat_code"] == code]
    weights = analysis.method.area_weights
    area_weights = np.array([float(weights.get(a, 1.0)) for a in rows["focus_area"]])
    distance = rows["distance"].to_numpy(dtype="float64")
    table = pd.DataFrame({
        "rank": pd.array(rows["rank"], dtype="Int64"),
        "focus_area": [AREA_LABELS[a] for a in rows["focus_area"]],
        "score": [analysis.scores.loc[code, a] for a in rows["focus_area"]],
        "weight": area_weights,
        "distance": distance,
        "weighted_distance": priorities.weighted_distance(distance, area_weights),
    })
    for column in ROBUSTNESS_COLUMNS:
        if column in rows.columns:
            table[column] = rows[column].to_numpy()
    table.index = rows["focus_area"].to_numpy()
    return table


def _panel():
    """The macros of ``explore_panel.html.j2`` (headings, notes, errors, the table box), autoescaped."""
    return templating.environment().get_template("explore_panel.html.j2").module


#: ipywidgets keeps an HTML widget's content at its natural width (``flex-shrink: 0``): let the views'
#: content shrink to the column, so a figure scales down and a wide table scrolls in its own box.
#: JupyterLab gives widget HTML the line height of a control (28 px): the texts (headings, notes, status
#: line, the priority table and its note) get a text's.
PANEL_CSS = (".cocity-view .widget-html-content{flex:1 1 auto;min-width:0;max-width:100%}"
             ".cocity-text .widget-html-content{line-height:1.35;padding:4px 0}")
TABLE_CSS = (".cocity-table table{width:100%;table-layout:auto;font-size:0.85em}"
             ".cocity-table th,.cocity-table td{white-space:normal;overflow-wrap:break-word;padding:2px 3px;"
             "line-height:inherit;text-align:right}"
             ".cocity-table th{vertical-align:bottom}"
             ".cocity-table th:nth-child(2),.cocity-table td:nth-child(2){text-align:left}"
             ".cocity-table-note{font-size:0.85em;margin-top:4px}")


def priority_html(table: pd.DataFrame, runs: int | None = None) -> str:
    """HTML of :func:`priority_table`, narrow enough for the panel's column: the catalogue's short
    headers, the areas' short labels, the 5th and 95th percentile ranks as one interval ("1-4"), no
    weight column (the sliders beside it show the weights), numbers in the Italian format (Babel), the
    share of first places as a percentage, missing shown as *dati non disponibili*; escaped.

    Parameters
    ----------
    table : DataFrame
        :func:`priority_table` of a city.
    runs : int, optional
        The Monte Carlo draws behind the robustness columns: with them, a note under the table says
        what those columns count (their headers are kept short).
    """
    no_data = _t(LANG, "no_data")

    def shown_value(column, value):
        if pd.isna(value):
            return no_data
        if column == "share_top":
            return format_share(value, LANG)
        if column in ("rank", "rank_median", "rank_p05", "rank_p95") and float(value).is_integer():
            return format_number(value, LANG, decimals=0)
        return format_number(value, LANG, decimals=2) if isinstance(value, (float, np.floating)) else str(value)

    values = {column: [shown_value(column, v) for v in table[column]] for column in table.columns}
    values["focus_area"] = [short_area_label(a, LANG) for a in table.index]
    if "rank_p05" in values and "rank_p95" in values:
        values["rank_interval"] = [low if low == no_data else f"{low}-{high}"
                                   for low, high in zip(values["rank_p05"], values["rank_p95"])]
    order = [c for c in (*PRIORITY_COLUMNS, "rank_median", "rank_interval", "share_top")
             if c in values and c != "weight"]
    headers = _t(LANG, "explore_columns")
    shown = pd.DataFrame({headers[c]: values[c] for c in order})
    body = shown.to_html(index=False, escape=True, border=0)
    # long headers wrap (JupyterLab keeps table cells on one line); what still does not fit scrolls
    # inside the box instead of widening the output area
    note = _t(LANG, "explore_table_note", runs=format_number(runs, LANG, decimals=0)) \
        if runs and any(c in table.columns for c in ROBUSTNESS_COLUMNS) else None
    return str(_panel().table(TABLE_CSS, Markup(body), note))


# --- plots: the chart functions of the reports (cocity_analysis.reporting.charts) ------------------

#: Colour per profile number, the same in every chart (reports and exploration).
cluster_colours = charts.cluster_colours
message_figure = charts.message_figure


def figure_svg(figure: Figure) -> str:
    """Render ``figure`` to SVG text (what the notebook shows): :func:`charts.svg_document`.

    Text stays text (the browser draws the glyphs); the bounding box is the drawing's
    (``tight``): a title, legend or axis label reaching past the figure's edge is kept, not cut.
    """
    return charts.svg_document(figure, salt="cocity-explore", tight=True)


#: How a figure sits in its output area: never wider than the area (it shrinks with the window),
#: never enlarged past its drawn size.
FIGURE_STYLE = "display:block;max-width:100%;height:auto"


def svg_img(svg: str, alt: str = "") -> str:
    """``<img>`` tag embedding ``svg`` as a data URI (its styles cannot leak into the page).

    Sized by :data:`FIGURE_STYLE`: at most as wide as the output area that holds it.
    """

    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return str(templating.render("explore_figure.html.j2", style=FIGURE_STYLE, alt=alt,
                                 src=f"data:image/svg+xml;base64,{data}"))


def svg_of_img(tag: str) -> str:
    """The SVG text inside an :func:`svg_img` tag (for tests and checks)."""
    return base64.b64decode(tag.split("base64,", 1)[1].split('"', 1)[0]).decode("utf-8")


def plot_profile(frame: pd.DataFrame, *, title: str = "", value_label: str = "", colour=None,
                 city_label: str | None = None, n_cities: int = 39) -> Figure:
    """The need-profile bars of the reports (:func:`charts.profile_figure`) over
    :func:`city_profile_frame`: the city, its profile's mean, the mean of the 39.

    Area scores (``level="areas"``) are drawn on 0-100 like in the reports; normalised
    indicators on their own scale.
    """
    table = pd.DataFrame({"label": list(frame["label"]), "city": frame["city"].to_numpy(),
                          "cluster_mean": frame["cluster_mean"].to_numpy(), "mean_39": frame["all_mean"].to_numpy()})
    areas = set(frame["item"]) <= set(FOCUS_AREAS)
    series = [("city", city_label or _t(LANG, "explore_series_city")), ("cluster_mean", _t(LANG, "series_cluster")),
              ("mean_39", _t(LANG, "series_39", n=n_cities))]
    return charts.profile_figure(table, series, title=title, xlabel=value_label, no_data=_t(LANG, "no_data"),
                                 colours={"cluster_mean": colour} if colour else None,
                                 xlim=(0, 100) if areas else None,
                                 value_text=lambda v: format_number(v, LANG, decimals=0 if areas else 2))


def plot_biplot(data: BiplotData, *, names: Mapping[str, str] | None = None, highlight: str | None = None,
                labels: Mapping[str, str] | None = None, cluster_labels: Mapping[int, str] | None = None,
                title: str = "") -> Figure:
    """The 39 on the first two principal components, coloured by profile, with indicator arrows
    (:func:`charts.biplot_figure`)."""
    return charts.biplot_figure(
        data.scores, data.loadings, data.explained, names=names, highlight=highlight, labels=labels,
        cluster_labels=cluster_labels, title=title,
        axis_label=lambda i, share: _t(LANG, "fig_biplot_axis", n=i, share=format_share(share, LANG)))


def plot_map(geometry: MapGeometry, analysis: pipeline.Analysis, *, highlight: str | None = None,
             names: Mapping[str, str] | None = None, title: str | None = None) -> Figure:
    """The cities on the map of their regions, coloured by need profile; ``highlight`` named
    (:func:`charts.map_figure`, the map of the reports). ``title`` defaults to the reports' map title,
    with the boundaries' year."""
    clusters = analysis.clusters.set_index("istat_code")["cluster"]
    colours = cluster_colours(int(clusters.max()))
    note = _t(LANG, "fig_map_no_boundary", names=", ".join((names or {}).get(c, c) for c in geometry.missing)) \
        if geometry.missing else ""
    if title is None:
        title = _t(LANG, "fig_map_title", n=len(clusters), year=geometry.layout.get("year", report_maps.GEOPOP_YEAR))
    return charts.map_figure(
        geometry, colours={str(c): colours[int(k)] for c, k in clusters.items()}, highlight=highlight,
        highlight_label=(names or {}).get(highlight, highlight) if highlight else None, note=note, title=title,
        legend=[(_t(LANG, "fig_profile_label", number=n), colours[n]) for n in sorted(colours)])


def _short(text: str, width: int) -> str:
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


# --- controls -------------------------------------------------------------------------------------

def method_from_controls(base: Method, *, area_weights: Mapping[str, float], normalisation: str,
                         aggregation: str, k: int | str | None, included: Iterable[str],
                         indicators: Iterable[str]) -> Method:
    """The :class:`Method` the controls describe, over ``base`` (everything not on a control is kept).

    Parameters
    ----------
    base : Method
        The method of the processed run.
    area_weights : mapping
        Focus area -> weight (sliders).
    normalisation, aggregation : str
    k : int, "auto" or None
        Fixed number of profiles, or chosen by silhouette.
    included : iterable of str
        Indicators switched on.
    indicators : iterable of str
        Indicators that have a checkbox; those not ``included`` are excluded.
        Exclusions of ``base`` outside this list are kept.

    Raises
    ------
    CocityError
        Unknown indicator, or no indicator switched on.
    """
    offered = list(indicators)
    included = set(included)
    unknown = sorted(included - set(offered))
    if unknown:
        raise CocityError(f"indicatori sconosciuti {unknown}; disponibili: {', '.join(offered)}")
    if not included:
        raise CocityError("nessun indicatore selezionato: attivarne almeno uno")
    excluded = [i for i in base.excluded_indicators if i not in offered]
    excluded += [i for i in offered if i not in included]
    weights = dict(base.area_weights)
    weights.update({area: float(value) for area, value in area_weights.items()})
    return base.replace(area_weights=weights, normalisation=normalisation, aggregation=aggregation,
                        k=None if k in (None, "auto") else int(k), excluded_indicators=tuple(excluded))


@dataclass
class View:
    """Everything one redraw shows (kept so tests and the benchmark can inspect it).

    ``figures`` and ``images`` (SVG text) are keyed ``profile``, ``biplot``,
    ``map``; ``keys`` holds what each figure depends on, so that the next
    redraw reuses a figure whose inputs did not change.
    """

    analysis: pipeline.Analysis
    city: str
    figures: dict
    images: dict
    keys: dict
    table: pd.DataFrame
    summary: str


def figure_keys(analysis: pipeline.Analysis, city: str) -> dict:
    """What each figure depends on (a weight slider changes none of them: only the table)."""
    clusters = tuple(analysis.clusters[["istat_code", "cluster", "label"]].itertuples(index=False, name=None))
    return {
        "profile": (city, _frame_key(analysis.scores), clusters),
        "biplot": (city, _frame_key(analysis.profiles.inputs), clusters),
        "map": (city, clusters),
    }


def build_view(state: ExploreState, method: Method, city: str, previous: View | None = None) -> View:
    """Recompute (cached) and draw the views for ``city`` under ``method``.

    Figures whose inputs equal those of ``previous`` are reused, not redrawn.
    """
    analysis = recompute(state, method)
    names = state.cities["name"].to_dict()
    number, label = cluster_of(analysis, city)
    keys = figure_keys(analysis, city)
    figures, images = {}, {}
    for name in ("profile", "biplot", "map"):
        if previous is not None and previous.keys.get(name) == keys[name]:
            figures[name], images[name] = previous.figures[name], previous.images[name]
            continue
        figures[name] = _draw(name, state, analysis, city, names, number, label)
        images[name] = figure_svg(figures[name])
    table = priority_table(analysis, city)
    ranked = table.dropna(subset=["rank"])
    top = ranked["focus_area"].iloc[0] if len(ranked) else _t(LANG, "no_data")
    summary = _t(LANG, "explore_summary", city=names[city], profile=label, k=analysis.profiles.k,
                 n=len(analysis.clusters), top=top)
    return View(analysis=analysis, city=city, figures=figures, images=images, keys=keys, table=table,
                summary=summary)


def _draw(name: str, state: ExploreState, analysis: pipeline.Analysis, city: str, names: dict, number: int,
          label: str) -> Figure:
    if name == "profile":
        frame = city_profile_frame(analysis, city, level="areas")
        frame["label"] = [short_area_label(a, LANG) for a in frame["item"]]
        title = _t(LANG, "explore_profile_title", city=names[city],
                   years=data_years(state, analysis.normalised.columns, city))
        return plot_profile(frame, title=title, city_label=names[city],
                            n_cities=len(analysis.clusters), value_label=_t(LANG, "fig_profile_axis"))
    if name == "biplot":
        cluster_labels = analysis.clusters.drop_duplicates("cluster").set_index("cluster")["label"].to_dict()
        try:
            data = pca_biplot_data(analysis)
        except CocityError as error:
            return message_figure(_t(LANG, "explore_biplot_unavailable", error=error))
        title = _t(LANG, "fig_biplot_title", n=len(analysis.clusters),
                   years=data_years(state, analysis.profiles.inputs.columns))
        return plot_biplot(data, names=names, highlight=city, title=title,
                           labels=state.catalogue["label_it"].to_dict(),
                           cluster_labels={int(k): _short(v, 70) for k, v in cluster_labels.items()})
    return plot_map(state.geometry(), analysis, highlight=city, names=names)


class ExploreApp:
    """The ipywidgets panel of ``notebooks/explore.ipynb``: controls -> :func:`build_view` -> views.

    The views are ``HTML`` widgets whose value is replaced on every redraw (an
    ``<img>`` of the SVG, the priority table): no ``Output`` widget capture, so
    headless execution (nbclient) never waits on widget output messages.

    Attributes
    ----------
    controls : dict
        ``city``, ``normalisation``, ``aggregation``, ``k``, ``weight:<area>``, ``indicator:<id>``.
    view : View
        The last thing drawn.
    widget : ipywidgets.Widget
        The whole panel (display it).
    save_box : ipywidgets.Widget
        Name box, "Salva scenario" button and message.
    """

    def __init__(self, state: ExploreState, city: str | None = None):
        import ipywidgets as w

        self.state = state
        self.view: View | None = None
        method = state.method
        choices = supported_choices()
        options = state.city_options()
        if city is not None and city not in state.cities.index:
            raise CocityError(f"codice città {city!r} non presente in {state.processed_dir}")
        style = {"description_width": "120px"}
        normalisation_names = _t(LANG, "explore_normalisation_names")
        aggregation_names = _t(LANG, "explore_aggregation_names")
        self.controls = {
            "city": w.Dropdown(options=options, value=city or options[0][1], description=_t(LANG, "explore_city"),
                               style=style),
            "normalisation": w.Dropdown(
                options=[(normalisation_names.get(c, c), c) for c in choices["normalisation"]],
                value=method.normalisation, description=_t(LANG, "explore_normalisation"), style=style),
            "aggregation": w.Dropdown(
                options=[(aggregation_names.get(c, c), c) for c in choices["aggregation"]],
                value=method.aggregation, description=_t(LANG, "explore_aggregation"), style=style),
            "k": w.Dropdown(options=[(_t(LANG, "explore_k_auto"), "auto")] + [(str(k), k) for k in K_CHOICES],
                            value="auto" if method.k is None else int(method.k), description=_t(LANG, "explore_k"),
                            style=style),
        }
        need = state.catalogue.loc[indicators.need_ids(state.catalogue)]
        areas_with_data = set(need.loc[need["available"].astype(bool), "focus_area"])
        # the column cuts long labels with an ellipsis: the whole text shows on hover (a checkbox's label
        # has its text as title already, a slider's only with a tooltip)
        for area in FOCUS_AREAS:
            label = _t(LANG, "explore_weight" if area in areas_with_data else "explore_weight_no_data",
                       area=SHORT_AREA_LABELS[area])
            self.controls[f"weight:{area}"] = w.FloatSlider(
                value=float(method.area_weights[area]), min=0.0, max=3.0, step=0.1, description=label,
                tooltip=label, style=style, disabled=area not in areas_with_data, continuous_update=False,
                layout=w.Layout(width="100%"))
        excluded = set(method.excluded_indicators)
        for indicator, label, area in state.indicator_options():
            self.controls[f"indicator:{indicator}"] = w.Checkbox(
                value=indicator not in excluded, description=label, indent=False)
        # one view under the other, each as wide as the column (a figure scales down with it, never up)
        self.views = {name: w.HTML(layout=w.Layout(width="100%", min_width="0"))
                      for name in ("profile", "biplot", "map", "table")}
        for view in self.views.values():
            view.add_class("cocity-view")
        self.status = w.HTML()
        self.scenario_name = w.Text(placeholder=_t(LANG, "explore_scenario_placeholder"),
                                    description=_t(LANG, "explore_scenario_name"), style=style)
        self.save_button = w.Button(description=_t(LANG, "explore_save"), icon="save", button_style="primary")
        self.overwrite = w.Checkbox(value=False, description=_t(LANG, "explore_overwrite"), indent=False)
        self.save_message = w.HTML()
        self.save_button.on_click(lambda _: self.save())
        for control in self.controls.values():
            control.observe(self.redraw, names="value")
        self.widget = self._layout(w)
        self.save_box = w.VBox([w.HBox([self.scenario_name, self.save_button, self.overwrite]), self.save_message])
        self.redraw()

    def _layout(self, w):
        c = self.controls

        def text(value):
            widget = w.HTML(str(value))
            widget.add_class("cocity-text")
            return widget

        indicator_groups = []
        for area in FOCUS_AREAS:
            boxes = [c[f"indicator:{i}"] for i, _, a in self.state.indicator_options() if a == area]
            if boxes:
                indicator_groups.append(w.VBox([text(_panel().heading(AREA_LABELS[area])), *boxes]))
        missing = self.state.catalogue[~self.state.catalogue["available"]]
        note = text(_panel().missing_note(
            [_t(LANG, "explore_missing", label=row["label_it"], reason=str(row["missing_reason"] or ""))
             for _, row in missing.iterrows()]))
        panel = w.VBox([c["city"], c["normalisation"], c["aggregation"], c["k"],
                        text(_panel().heading(_t(LANG, "explore_weights_h"))),
                        *[c[f"weight:{a}"] for a in FOCUS_AREAS],
                        text(_panel().heading(_t(LANG, "explore_indicators_h"))), *indicator_groups, note],
                       layout=w.Layout(flex="0 0 auto", width="330px", max_width="100%"))
        for widget in (self.status, self.views["table"]):
            widget.add_class("cocity-text")
        # controls on the left, views beside them; on an area narrower than both the views wrap below
        css = w.HTML(str(_panel().panel_css(PANEL_CSS)), layout=w.Layout(height="0px", min_height="0px", margin="0px"))
        views = w.VBox([css, self.status, self.views["profile"], self.views["table"], self.views["biplot"],
                        self.views["map"]], layout=w.Layout(flex="1 1 440px", min_width="0", max_width="100%"))
        return w.Box([panel, views], layout=w.Layout(display="flex", flex_flow="row wrap", width="100%",
                                                     align_items="flex-start"))

    def values(self) -> dict:
        """The controls' current values, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def current_method(self) -> Method:
        """The :class:`Method` the controls describe (full Monte Carlo runs of the processed method)."""
        values = self.values()
        offered = [i for i, _, _ in self.state.indicator_options()]
        return method_from_controls(
            self.state.method,
            area_weights={a: values[f"weight:{a}"] for a in FOCUS_AREAS},
            normalisation=values["normalisation"], aggregation=values["aggregation"], k=values["k"],
            included=[i for i in offered if values[f"indicator:{i}"]], indicators=offered)

    def redraw(self, change=None) -> View | None:
        """Recompute for the controls' values and redraw every view (errors shown, not raised)."""
        try:
            view = build_view(self.state, self.current_method(), self.controls["city"].value, previous=self.view)
        except CocityError as error:
            self.status.value = str(_panel().error(_t(LANG, "explore_error"), str(error)))
            return None
        previous, self.view = self.view, view
        self.status.value = html.escape(view.summary)
        for name in ("profile", "biplot", "map"):
            if previous is None or previous.images.get(name) is not view.images[name]:
                self.views[name].value = svg_img(view.images[name], alt=charts.figure_title(view.figures[name]))
        simulation = view.analysis.monte_carlo
        self.views["table"].value = priority_html(view.table, runs=simulation.runs if simulation else None)
        return view

    def save(self, name: str | None = None) -> Path | None:
        """Save the controls' method as a scenario (button "Salva scenario"); message shown below it."""
        from cocity_analysis.exploration.scenarios import save_scenario

        name = self.scenario_name.value if name is None else name
        try:
            path = save_scenario(name, self.current_method(), self.state.processed_dir,
                                 overwrite=self.overwrite.value)
        except CocityError as error:
            self.save_message.value = str(_panel().error(_t(LANG, "explore_error"), str(error)))
            return None
        self.save_message.value = str(_panel().saved(_t(LANG, "explore_saved"), str(path), _t(LANG, "explore_saved_use"),
                                                     f"cocity prepare --scenario {path}"))
        return path
