"""Per-city HTML priority reports: processed data -> executed notebook -> self-contained HTML.

The notebook ``notebooks/city_report.ipynb`` stays thin: it calls :func:`load_city_view`
and the ``*_html`` / :func:`plot_area_scores` helpers below, which hold all the logic
(and all the HTML escaping of text that comes from data). :func:`render_city` runs the
notebook with papermill and exports it with nbconvert through the package template
``cocity`` (extends ``lab`` without any script or stylesheet from a CDN), so each
report opens offline. :func:`run_reports` renders many cities in parallel and writes
``index.html``.

Output layout under ``out_dir``::

    index.html               table of the 39 cities, links to cities/<code>.html
    cities/<istat_code>.html one report per city (written atomically)
    failed/<istat_code>.ipynb executed notebook of a city whose report failed
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
import math
import os
import re
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd

from . import FOCUS_AREAS, FOCUS_AREA_LABELS, config
from .errors import CocityError
from .fileio import write_bytes_atomic, write_text_atomic

log = logging.getLogger(__name__)

LANGS = ("it", "en")
TEMPLATE_NAME = "cocity"
KERNEL_NAME = "python3"
# cells dropped from the HTML: notes for developers, and the (output-less) parameter cells
REMOVED_CELL_TAGS = ("remove_cell", "parameters", "injected-parameters")
CELL_TIMEOUT_SECONDS = 600

PROCESSED_FILES = (
    "cities.parquet",
    "indicators.parquet",
    "normalised.parquet",
    "scores.parquet",
    "clusters.parquet",
    "priorities.parquet",
    "catalogue.json",
)

_CODE_RE = re.compile(r"^[0-9]{6}$")

# ---------------------------------------------------------------------------
# Texts (Italian first; English for lang="en")
# ---------------------------------------------------------------------------

TEXTS: dict[str, dict[str, str]] = {
    "it": {
        "title": "Priorità di intervento per {city} ({province})",
        "subtitle": "Analisi dei fabbisogni delle 39 Città Medie Sud – PN Metro plus e città medie Sud 2021-2027",
        "province_line": "Provincia di {province}, {region}",
        "summary_h": "In sintesi",
        "summary_profile": "{city} appartiene al profilo «{profile}», insieme ad altre {n_peers} città.",
        "summary_profile_alone": "{city} forma da sola il profilo «{profile}».",
        "summary_first": (
            "L'area con il bisogno relativo più alto è «{area}» "
            "(punteggio {score} su 100; media delle {n} città: {mean39})."
        ),
        "summary_first_none": "Per nessuna delle quattro aree ci sono dati sufficienti per indicare una priorità.",
        "summary_coverage": (
            "Copertura dei dati: per {city} sono disponibili {n_ok} indicatori su {n_all} del catalogo."
        ),
        "summary_areas_missing": "Aree senza dati: {areas}.",
        "summary_missing_link": "L'elenco completo è nella sezione «Dati mancanti».",
        "chart_h": "Punteggi per area",
        "chart_intro": (
            "Ogni barra va da 0 (bisogno più basso tra le {n} città) a 100 (bisogno più alto). "
            "Il confronto è con la media delle città dello stesso profilo e con la media di tutte le {n}."
        ),
        "series_city": "{city}",
        "series_cluster": "Media del profilo",
        "series_39": "Media delle {n} città",
        "axis_x": "Punteggio di bisogno relativo (0 = minimo, 100 = massimo tra le {n} città)",
        "no_data": "dati non disponibili",
        "no_data_city": "dati non disponibili per {city}",
        "alt_chart": "Grafico a barre dei punteggi per area di {city}, della media del profilo e della media delle {n} città. ",
        "alt_row": "{area}: {city} {v1}, profilo {v2}, {n} città {v3}.",
        "ranking_h": "Ordine di priorità delle aree",
        "ranking_intro": "Le aree sono ordinate dal bisogno relativo più alto al più basso.",
        "ranking_item": "{area} – punteggio {score} su 100",
        "ranking_item_none": "{area} – dati non disponibili",
        "peers_h": "Città dello stesso profilo",
        "peers_intro": "Profilo «{profile}»: le altre città con bisogni simili a quelli di {city}.",
        "peers_none": "Nessun'altra città appartiene a questo profilo.",
        "indicators_h": "Gli indicatori dietro ogni area",
        "indicators_intro": (
            "Per ogni area: il valore dell'indicatore per {city}, la fonte ufficiale e l'anno di riferimento. "
            "La colonna «Bisogno relativo» riporta il valore su una scala da 0 (bisogno più basso tra le {n} città) "
            "a 100 (bisogno più alto)."
        ),
        "area_score": "Punteggio dell'area: {score} su 100.",
        "area_no_indicators": "Dati non disponibili: nessun indicatore con dati per quest'area.",
        "area_some_missing": "Indicatori di quest'area non disponibili: {count} (vedi «Dati mancanti»).",
        "col_indicator": "Indicatore",
        "col_value": "Valore",
        "col_unit": "Unità di misura",
        "col_need": "Bisogno relativo (0–100)",
        "col_direction": "Lettura",
        "col_source": "Fonte",
        "col_dataset": "Dataset",
        "col_year": "Anno di riferimento",
        "col_area": "Area",
        "col_reason": "Motivo",
        "dir_more": "valore più alto = più bisogno",
        "dir_less": "valore più alto = meno bisogno",
        "na": "n.d.",
        "missing_h": "Dati mancanti",
        "missing_intro": "Questi indicatori non entrano nei punteggi di {city}:",
        "missing_none": "Per {city} sono disponibili tutti gli indicatori del catalogo.",
        "missing_reason_default": "Indicatore non disponibile.",
        "missing_reason_city": "Valore non disponibile per {city} nella fonte",
        "missing_area_empty": "Nessun indicatore del catalogo è disponibile per quest'area, che quindi non ha un punteggio.",
        "method_h": "Nota di metodo",
        "method_items": (
            "Ogni indicatore è confrontato tra le {n} città e riportato su una scala da 0 a 1 "
            "(normalizzazione min-max): 0 è la città con il bisogno più basso, 1 quella con il bisogno più alto.",
            "La direzione conta: quando un valore più alto indica meno bisogno (per esempio il reddito medio), "
            "la scala è rovesciata, così un valore alto significa sempre più bisogno.",
            "Il punteggio di un'area (da 0 a 100) è la media degli indicatori normalizzati dell'area disponibili, "
            "moltiplicata per 100. Un'area senza dati non riceve un punteggio: è indicata come «dati non disponibili», "
            "mai come zero.",
            "I profili raggruppano le città con bisogni simili con il metodo k-means (raggruppamento statistico "
            "sugli indicatori normalizzati{clustering}, con seme casuale fisso{seed}, quindi ripetibile).",
            "I punteggi sono relativi: dicono come si colloca la città rispetto alle altre {n1} Città Medie Sud, "
            "non misurano il bisogno in assoluto.",
        ),
        "seed": " {seed}",
        "clustering_inputs": ": {count} indicatori disponibili per tutte le città",
        "clustering_k": "; {k} profili",
        "clustering_k_range": ", numero scelto tra {k0} e {k1}",
        "index_title": "Città Medie Sud – Report delle priorità per città",
        "index_intro": (
            "Un report per ciascuna delle {n} Città Medie Sud: profilo di bisogno, ordine di priorità "
            "delle quattro aree di intervento, indicatori e fonti."
        ),
        "col_city": "Città",
        "col_province": "Provincia",
        "col_profile": "Profilo",
        "col_first": "Prima priorità",
        "col_report": "Report",
        "open_report": "Apri il report",
        "report_missing": "report non disponibile",
    },
    "en": {
        "title": "Intervention priorities for {city} ({province})",
        "subtitle": "Needs analysis of the 39 Città Medie Sud – PN Metro plus e città medie Sud 2021-2027",
        "province_line": "Province of {province}, {region}",
        "summary_h": "Summary",
        "summary_profile": "{city} belongs to the profile “{profile}”, together with {n_peers} other cities.",
        "summary_profile_alone": "{city} is the only city in the profile “{profile}”.",
        "summary_first": (
            "The area with the highest relative need is “{area}” "
            "(score {score} out of 100; mean of the {n} cities: {mean39})."
        ),
        "summary_first_none": "None of the four areas has enough data to indicate a priority.",
        "summary_coverage": "Data coverage: {n_ok} of the {n_all} indicators in the catalogue are available for {city}.",
        "summary_areas_missing": "Areas without data: {areas}.",
        "summary_missing_link": "The full list is in the section “Missing data”.",
        "chart_h": "Scores by area",
        "chart_intro": (
            "Each bar runs from 0 (lowest need among the {n} cities) to 100 (highest need). "
            "The comparison is with the mean of the cities in the same profile and the mean of all {n}."
        ),
        "series_city": "{city}",
        "series_cluster": "Profile mean",
        "series_39": "Mean of the {n} cities",
        "axis_x": "Relative need score (0 = lowest, 100 = highest among the {n} cities)",
        "no_data": "data not available",
        "no_data_city": "data not available for {city}",
        "alt_chart": "Bar chart of the area scores of {city}, the profile mean and the mean of the {n} cities. ",
        "alt_row": "{area}: {city} {v1}, profile {v2}, {n} cities {v3}.",
        "ranking_h": "Priority order of the areas",
        "ranking_intro": "The areas are ordered from the highest to the lowest relative need.",
        "ranking_item": "{area} – score {score} out of 100",
        "ranking_item_none": "{area} – data not available",
        "peers_h": "Cities in the same profile",
        "peers_intro": "Profile “{profile}”: the other cities with needs similar to those of {city}.",
        "peers_none": "No other city belongs to this profile.",
        "indicators_h": "The indicators behind each area",
        "indicators_intro": (
            "For each area: the value of each indicator for {city}, the official source and the reference year. "
            "The column “Relative need” shows the value on a scale from 0 (lowest need among the {n} cities) "
            "to 100 (highest need)."
        ),
        "area_score": "Area score: {score} out of 100.",
        "area_no_indicators": "Data not available: no indicator with data for this area.",
        "area_some_missing": "Indicators of this area not available: {count} (see “Missing data”).",
        "col_indicator": "Indicator",
        "col_value": "Value",
        "col_unit": "Unit",
        "col_need": "Relative need (0–100)",
        "col_direction": "Reading",
        "col_source": "Source",
        "col_dataset": "Dataset",
        "col_year": "Reference year",
        "col_area": "Area",
        "col_reason": "Reason",
        "dir_more": "higher value = more need",
        "dir_less": "higher value = less need",
        "na": "n/a",
        "missing_h": "Missing data",
        "missing_intro": "These indicators do not enter the scores of {city}:",
        "missing_none": "All indicators in the catalogue are available for {city}.",
        "missing_reason_default": "Indicator not available.",
        "missing_reason_city": "Value not available for {city} in the source",
        "missing_area_empty": "No indicator in the catalogue is available for this area, so it has no score.",
        "method_h": "Method note",
        "method_items": (
            "Each indicator is compared across the {n} cities and rescaled from 0 to 1 (min-max normalisation): "
            "0 is the city with the lowest need, 1 the city with the highest need.",
            "Direction matters: when a higher value means less need (for example mean income), the scale is "
            "reversed, so a high value always means more need.",
            "The score of an area (0 to 100) is the mean of the area's available normalised indicators, times 100. "
            "An area without data gets no score: it is shown as “data not available”, never as zero.",
            "Profiles group cities with similar needs using k-means (statistical clustering on the normalised "
            "indicators{clustering}, with a fixed random seed{seed}, so it is repeatable).",
            "Scores are relative: they show where the city stands among the {n} Città Medie Sud, "
            "they do not measure need in absolute terms.",
        ),
        "seed": " {seed}",
        "clustering_inputs": ": {count} indicators available for every city",
        "clustering_k": "; {k} profiles",
        "clustering_k_range": ", a number chosen between {k0} and {k1}",
        "index_title": "Città Medie Sud – Priority reports by city",
        "index_intro": (
            "One report for each of the {n} Città Medie Sud: need profile, priority order of the four "
            "intervention areas, indicators and sources."
        ),
        "col_city": "City",
        "col_province": "Province",
        "col_profile": "Profile",
        "col_first": "First priority",
        "col_report": "Report",
        "open_report": "Open the report",
        "report_missing": "report not available",
    },
}


def _t(lang: str, key: str, **kwargs) -> str:
    text = TEXTS[lang][key]
    return text.format(**kwargs) if kwargs else text


def _tv(view: "CityView", key: str, **kwargs) -> str:
    """Text for a city view: ``{n}`` is the number of cities compared, ``{n1}`` the others."""
    return _t(view.lang, key, n=view.n_cities, n1=view.n_cities - 1, **kwargs)


def _e(value) -> str:
    """HTML-escape any value (None -> empty string)."""
    return html.escape("" if value is None else str(value), quote=True)


def _check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise CocityError(f"lingua del report sconosciuta {lang!r}; usare una di: {', '.join(LANGS)}")
    return lang


def area_label(area: str, lang: str = "it") -> str:
    """Label of a focus area in the report language."""
    return FOCUS_AREA_LABELS[lang].get(area, area)


# ---------------------------------------------------------------------------
# Number formatting
# ---------------------------------------------------------------------------


def _is_missing(value) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def format_number(value, lang: str = "it", decimals: int | None = None) -> str:
    """Format a number for readers: Italian uses '.' for thousands and ',' for decimals.

    ``decimals=None`` picks 0 decimals from 100 up, 1 from 10 up, 2 below.
    Missing values give "n.d." ("n/a" in English).

    >>> format_number(12345.678, "it")
    '12.346'
    >>> format_number(3.14159, "it")
    '3,14'
    >>> format_number(float("nan"), "it")
    'n.d.'
    """
    if _is_missing(value):
        return _t(lang, "na")
    value = float(value)
    if decimals is None:
        size = abs(value)
        decimals = 0 if size >= 100 else 1 if size >= 10 else 2
    text = f"{value:,.{decimals}f}"
    if text in {"-0", "-0.0", "-0.00"}:
        text = text[1:]
    if lang == "it":
        text = text.translate(str.maketrans({",": ".", ".": ","}))
    return text


def format_score(value, lang: str = "it") -> str:
    """A 0..100 score as a whole number ("n.d." when missing)."""
    return format_number(value, lang, decimals=0)


def _format_year(value) -> str:
    if _is_missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ---------------------------------------------------------------------------
# Reading the processed dir
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessedData:
    """The processed files ``cocity prepare`` writes, read once."""

    path: Path
    cities: pd.DataFrame
    indicators: pd.DataFrame
    normalised: pd.DataFrame
    scores: pd.DataFrame
    clusters: pd.DataFrame
    priorities: pd.DataFrame
    catalogue: dict
    provenance: dict


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
    """Return the processed dir as a Path, or raise CocityError naming the missing files."""
    path = Path(processed_dir)
    missing = [name for name in PROCESSED_FILES if not (path / name).is_file()]
    if missing:
        if not path.is_dir():
            what = f"la cartella dei dati elaborati {path} non esiste"
        else:
            what = f"la cartella dei dati elaborati {path} è incompleta (mancano: {', '.join(missing)})"
        raise CocityError(f"{what}; eseguire prima `cocity prepare`")
    return path


def read_processed(processed_dir: str | Path) -> ProcessedData:
    """Read and lightly check every processed file the reports need."""
    path = check_processed_dir(processed_dir)
    cities = _code_index(pd.read_parquet(path / "cities.parquet"), path / "cities.parquet")
    _require_columns(cities, ["name", "province_abbr", "province", "region"], path / "cities.parquet")
    indicators = _code_index(pd.read_parquet(path / "indicators.parquet"), path / "indicators.parquet")
    normalised = _code_index(pd.read_parquet(path / "normalised.parquet"), path / "normalised.parquet")
    scores = _code_index(pd.read_parquet(path / "scores.parquet"), path / "scores.parquet")
    clusters = _code_index(pd.read_parquet(path / "clusters.parquet"), path / "clusters.parquet")
    _require_columns(clusters, ["cluster", "label"], path / "clusters.parquet")
    priorities = pd.read_parquet(path / "priorities.parquet")
    _require_columns(priorities, ["istat_code", "focus_area", "rank", "score"], path / "priorities.parquet")
    priorities["istat_code"] = priorities["istat_code"].astype(str)
    try:
        catalogue = json.loads((path / "catalogue.json").read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CocityError(f"file {path / 'catalogue.json'}: JSON non valido ({exc}); "
                          "eseguire di nuovo `cocity prepare`") from exc
    if "indicators" not in catalogue:
        raise CocityError(f"file {path / 'catalogue.json'}: manca l'elenco 'indicators'; "
                          "eseguire di nuovo `cocity prepare`")
    provenance: dict = {}
    if (path / "provenance.json").is_file():
        try:
            provenance = json.loads((path / "provenance.json").read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            provenance = {}
    return ProcessedData(path, cities, indicators, normalised, scores, clusters, priorities, catalogue, provenance)


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


# ---------------------------------------------------------------------------
# The view of one city
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CityView:
    """Everything one city report shows, already in the report language.

    ``scores``: index = focus area, columns ``label``, ``city``, ``cluster_mean``, ``mean_39``
    (0..100, NaN = no data).
    ``ranking``: columns ``focus_area``, ``label``, ``rank`` (Int64, <NA> = no data), ``score``,
    ordered by priority.
    ``indicators``: one row per catalogue indicator, columns ``id``, ``label``, ``focus_area``,
    ``value``, ``need`` (0..100), ``unit``, ``direction``, ``source``, ``dataset``,
    ``reference_year``, ``available``.
    ``missing``: columns ``id``, ``label``, ``focus_area``, ``reason``.
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

    @property
    def name(self) -> str:
        return str(self.city["name"])

    @property
    def first_priority(self) -> str | None:
        """Focus area ranked first, or None when no area has data."""
        ranked = self.ranking.dropna(subset=["rank"])
        return None if ranked.empty else str(ranked.iloc[0]["focus_area"])

    @property
    def n_indicators_available(self) -> int:
        return int(self.indicators["value"].notna().sum())

    @property
    def n_indicators(self) -> int:
        return int(len(self.indicators))


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

    # profile and peers
    cluster = None
    profile_label = _t(lang, "na")
    peers: list[str] = []
    peer_codes: list[str] = []
    members = [code]
    if code in data.clusters.index:
        crow = data.clusters.loc[code]
        cluster = int(crow["cluster"])
        label_col = "label_en" if lang == "en" and "label_en" in data.clusters.columns else "label"
        profile_label = str(crow[label_col])
        members = [str(c) for c in data.clusters.index[data.clusters["cluster"] == cluster]]
        others = [c for c in members if c != code and c in data.cities.index]
        others.sort(key=lambda c: str(data.cities.at[c, "name"]).casefold())
        peer_codes = others
        peers = [str(data.cities.at[c, "name"]) for c in others]

    # scores: city, profile mean, mean of the 39
    areas = list(FOCUS_AREAS)
    score_cols = [a for a in areas if a in data.scores.columns]
    frame = pd.DataFrame(index=pd.Index(areas, name="focus_area"))
    frame["label"] = [area_label(a, lang) for a in areas]
    city_scores = data.scores.loc[code] if code in data.scores.index else pd.Series(dtype=float)
    member_scores = data.scores.loc[data.scores.index.intersection(members), score_cols]
    frame["city"] = [float(city_scores.get(a, math.nan)) for a in areas]
    frame["cluster_mean"] = [float(member_scores[a].mean()) if a in score_cols else math.nan for a in areas]
    frame["mean_39"] = [float(data.scores[a].mean()) if a in score_cols else math.nan for a in areas]

    # ranking of the four areas
    pri = data.priorities[data.priorities["istat_code"] == code].set_index("focus_area")
    ranking = pd.DataFrame({"focus_area": areas, "label": [area_label(a, lang) for a in areas]})
    ranking["rank"] = pd.array([pri["rank"].get(a, pd.NA) if a in pri.index else pd.NA for a in areas], dtype="Int64")
    ranking["score"] = [float(pri["score"].get(a)) if a in pri.index and not _is_missing(pri["score"].get(a))
                        else math.nan for a in areas]
    ranking["_order"] = range(len(areas))
    ranking = (ranking.sort_values(["rank", "_order"], na_position="last")
               .drop(columns="_order").reset_index(drop=True))

    # indicator table and missing list
    rows = []
    missing = []
    label_key = "label_en" if lang == "en" else "label_it"
    for entry in data.catalogue.get("indicators", []):
        ind_id = entry["id"]
        label = entry.get(label_key) or entry.get("label_it") or ind_id
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
            "value": value if available else math.nan,
            "need": need if available else math.nan,
            "unit": entry.get("unit") or "",
            "direction": entry.get("direction"),
            "source": entry.get("source") or "",
            "dataset": entry.get("dataset") or "",
            "reference_year": _format_year(entry.get("reference_year")),
            "available": available,
        })
        note = entry.get("missing_reason")
        note = None if _is_missing(note) or not str(note).strip() else str(note).strip()
        if not available:
            reason = note or _t(lang, "missing_reason_default")
        elif math.isnan(value):
            reason = _t(lang, "missing_reason_city", city=city["name"])
            if note:
                reason += f" ({note})"
            reason += "."
        else:
            continue
        missing.append({"id": ind_id, "label": label, "focus_area": entry.get("focus_area"), "reason": reason})
    indicators = pd.DataFrame(rows, columns=["id", "label", "focus_area", "value", "need", "unit", "direction",
                                             "source", "dataset", "reference_year", "available"])
    missing_frame = pd.DataFrame(missing, columns=["id", "label", "focus_area", "reason"])
    areas_without_data = [a for a in areas if math.isnan(frame.at[a, "city"])]

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
    )


# ---------------------------------------------------------------------------
# HTML fragments shown by the notebook (every data value escaped here)
# ---------------------------------------------------------------------------


def _section(heading: str, body: str, css_class: str) -> str:
    return f'<section class="cocity-{css_class}"><h2>{_e(heading)}</h2>\n{body}\n</section>'


def title_html(view: CityView) -> str:
    """Report title: city name and province."""
    lang = view.lang
    city = view.city
    title = _tv(view, "title", city=city["name"], province=city.get("province_abbr") or "")
    line = _tv(view, "province_line", province=city.get("province") or "", region=city.get("region") or "")
    return (
        f'<header class="cocity-title"><h1>{_e(title)}</h1>\n'
        f'<p class="cocity-subtitle">{_e(line)} · ISTAT {_e(view.code)}</p>\n'
        f'<p class="cocity-subtitle">{_e(_tv(view, "subtitle"))}</p></header>'
    )


def summary_html(view: CityView) -> str:
    """Short summary: profile, first priority in words, data coverage."""
    lang = view.lang
    name = view.name
    parts = []
    if view.peers:
        parts.append(_tv(view, "summary_profile", city=name, profile=view.profile_label, n_peers=len(view.peers)))
    else:
        parts.append(_tv(view, "summary_profile_alone", city=name, profile=view.profile_label))
    first = view.first_priority
    if first is None:
        parts.append(_tv(view, "summary_first_none"))
    else:
        row = view.ranking[view.ranking["focus_area"] == first].iloc[0]
        parts.append(_tv(view, "summary_first", area=area_label(first, lang), score=format_score(row["score"], lang),
                        mean39=format_score(view.scores.at[first, "mean_39"], lang)))
    coverage = _tv(view, "summary_coverage", city=name, n_ok=view.n_indicators_available, n_all=view.n_indicators)
    if view.areas_without_data:
        coverage += " " + _tv(view, "summary_areas_missing",
                             areas="; ".join(area_label(a, lang) for a in view.areas_without_data))
    if len(view.missing):
        coverage += " " + _tv(view, "summary_missing_link")
    items = "".join(f"<li>{_e(p)}</li>" for p in parts + [coverage])
    return _section(_tv(view, "summary_h"), f"<ul>{items}</ul>", "summary")


def plot_area_scores(view: CityView):
    """Horizontal bar chart: city vs profile mean vs mean of the 39, one group per area.

    Areas without data get the words "dati non disponibili", never a bar at 0.
    Returns a matplotlib Figure (built without pyplot, so nothing is shown twice).
    """
    import seaborn as sns
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    lang = view.lang
    frame = view.scores
    series = [
        ("city", _tv(view, "series_city", city=view.name)),
        ("cluster_mean", _tv(view, "series_cluster")),
        ("mean_39", _tv(view, "series_39")),
    ]
    palette = sns.color_palette("colorblind")
    colors = {"city": palette[0], "cluster_mean": palette[1], "mean_39": (0.62, 0.62, 0.62)}
    n = len(frame)
    bar_h = 0.26
    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(8.6, 1.25 * n + 1.6), dpi=110)
        ax = fig.add_subplot()
        for i, (area, row) in enumerate(frame.iterrows()):
            for j, (key, _label) in enumerate(series):
                y = i + (j - 1) * bar_h
                value = row[key]
                if math.isnan(value):
                    continue
                ax.barh(y, value, height=bar_h * 0.92, color=colors[key])
                ax.text(value + 1.0, y, format_score(value, lang), va="center", ha="left", fontsize=9)
            if math.isnan(row["city"]):
                text = _tv(view, "no_data") if row[["cluster_mean", "mean_39"]].isna().all() else \
                    _tv(view, "no_data_city", city=view.name)
                y = i if row[["cluster_mean", "mean_39"]].isna().all() else i - bar_h
                ax.text(1.0, y, text, va="center", ha="left", fontsize=10, style="italic", color="0.35")
        ax.set_yticks(range(n))
        ax.set_yticklabels([textwrap.fill(label, 30) for label in frame["label"]], fontsize=9.5)
        ax.set_ylim(n - 0.5, -0.5)
        ax.set_xlim(0, 108)
        ax.set_xticks(range(0, 101, 20))
        ax.set_xlabel(_tv(view, "axis_x"), fontsize=9)
        ax.grid(axis="y", visible=False)
        handles = [Patch(color=colors[key], label=label) for key, label in series]
        ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3,
                  frameon=False, fontsize=9)
        fig.tight_layout()
    return fig


def figure_png(fig, dpi: int = 110) -> bytes:
    """PNG bytes of a figure, without a timestamp, so equal figures give equal bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def chart_alt_text(view: CityView) -> str:
    """Text equivalent of the area chart, for screen readers."""
    lang = view.lang
    text = _tv(view, "alt_chart", city=view.name)
    rows = []
    for _area, row in view.scores.iterrows():
        rows.append(_tv(view, "alt_row", area=row["label"], city=view.name,
                       v1=format_score(row["city"], lang), v2=format_score(row["cluster_mean"], lang),
                       v3=format_score(row["mean_39"], lang)))
    return text + " ".join(rows)


def chart_html(view: CityView, fig=None) -> str:
    """The area chart as an embedded base64 PNG (``data:image/png;base64,``) with its heading and alt text."""
    lang = view.lang
    fig = plot_area_scores(view) if fig is None else fig
    data = base64.b64encode(figure_png(fig)).decode("ascii")
    body = (
        f"<p>{_e(_tv(view, 'chart_intro'))}</p>\n"
        f'<figure><img src="data:image/png;base64,{data}" alt="{_e(chart_alt_text(view))}" '
        f'style="max-width:100%;height:auto"/></figure>'
    )
    return _section(_tv(view, "chart_h"), body, "chart")


def ranking_html(view: CityView) -> str:
    """The four areas in priority order; areas without data last, marked as such."""
    lang = view.lang
    ranked, unranked = [], []
    for _i, row in view.ranking.iterrows():
        if _is_missing(row["rank"]):
            unranked.append(f"<li>{_e(_tv(view, 'ranking_item_none', area=row['label']))}</li>")
        else:
            ranked.append(f"<li>{_e(_tv(view, 'ranking_item', area=row['label'], score=format_score(row['score'], lang)))}</li>")
    body = f"<p>{_e(_tv(view, 'ranking_intro'))}</p>\n"
    if ranked:
        body += "<ol>" + "".join(ranked) + "</ol>\n"
    if unranked:
        body += '<ul class="cocity-nodata">' + "".join(unranked) + "</ul>"
    return _section(_tv(view, "ranking_h"), body, "ranking")


def peers_html(view: CityView) -> str:
    """Names of the other cities in the same profile."""
    lang = view.lang
    body = f"<p>{_e(_tv(view, 'peers_intro', profile=view.profile_label, city=view.name))}</p>\n"
    if view.peers:
        body += '<ul class="cocity-peers">' + "".join(f"<li>{_e(p)}</li>" for p in view.peers) + "</ul>"
    else:
        body += f"<p>{_e(_tv(view, 'peers_none'))}</p>"
    return _section(_tv(view, "peers_h"), body, "peers")


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    """An HTML table; ``rows`` hold already-escaped cell HTML."""
    head = "".join(f'<th scope="col"{" class=num" if i in numeric else ""}>{_e(h)}</th>'
                   for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f'<td{" class=num" if i in numeric else ""}>{cell}</td>' for i, cell in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f'<table class="cocity-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def indicators_html(view: CityView) -> str:
    """Per area: the indicators behind the score, with value, unit, source, dataset and year."""
    lang = view.lang
    headers = [_tv(view, k) for k in ("col_indicator", "col_value", "col_unit", "col_need", "col_direction",
                                     "col_source", "col_dataset", "col_year")]
    parts = [f"<p>{_e(_tv(view, 'indicators_intro', city=view.name))}</p>"]
    for area in view.scores.index:
        label = view.scores.at[area, "label"]
        parts.append(f"<h3>{_e(label)}</h3>")
        score = view.scores.at[area, "city"]
        rows = view.indicators[view.indicators["focus_area"] == area]
        available = rows[rows["available"]]
        if math.isnan(score) and available["value"].isna().all():
            parts.append(f'<p class="cocity-nodata">{_e(_tv(view, "area_no_indicators"))}</p>')
            continue
        if not math.isnan(score):
            parts.append(f"<p>{_e(_tv(view, 'area_score', score=format_score(score, lang)))}</p>")
        table_rows = []
        for _i, r in available.iterrows():
            direction = _tv(view, "dir_less") if r["direction"] == "less_need" else _tv(view, "dir_more")
            table_rows.append([
                _e(r["label"]),
                _e(format_number(r["value"], lang)),
                _e(r["unit"]),
                _e(format_score(r["need"], lang)),
                _e(direction),
                _e(r["source"]),
                _e(r["dataset"]),
                _e(r["reference_year"]),
            ])
        parts.append(_table(headers, table_rows, numeric=(1, 3)))
        n_unavailable = int((~rows["available"]).sum())
        if n_unavailable:
            parts.append(f'<p class="cocity-nodata">{_e(_tv(view, "area_some_missing", count=n_unavailable))}</p>')
    return _section(_tv(view, "indicators_h"), "\n".join(parts), "indicators")


def missing_html(view: CityView) -> str:
    """The "Dati mancanti" section: which indicators are missing and why."""
    lang = view.lang
    if view.missing.empty and not view.areas_without_data:
        return _section(_tv(view, "missing_h"), f"<p>{_e(_tv(view, 'missing_none', city=view.name))}</p>", "missing")
    parts = []
    if not view.missing.empty:
        parts.append(f"<p>{_e(_tv(view, 'missing_intro', city=view.name))}</p>")
        rows = [[_e(r["label"]), _e(area_label(str(r["focus_area"]), lang)), _e(r["reason"])]
                for _i, r in view.missing.iterrows()]
        parts.append(_table([_tv(view, "col_indicator"), _tv(view, "col_area"), _tv(view, "col_reason")], rows))
    empty_areas = [a for a in view.areas_without_data
                   if not (view.indicators["focus_area"] == a).any()]
    if empty_areas:
        items = "".join(f"<li><strong>{_e(area_label(a, lang))}</strong>: {_e(_tv(view, 'missing_area_empty'))}</li>"
                        for a in empty_areas)
        parts.append(f"<ul>{items}</ul>")
    return _section(_tv(view, "missing_h"), "\n".join(parts), "missing")


def method_html(view: CityView) -> str:
    """Short method note: min-max on the 39, direction, area score = mean, k-means profiles."""
    lang = view.lang
    seed = _tv(view, "seed", seed=view.seed) if view.seed is not None else ""
    clustering = ""
    inputs = view.method.get("clustering_inputs")
    if isinstance(inputs, (list, tuple)) and inputs:
        clustering += _tv(view, "clustering_inputs", count=len(inputs))
    k = view.method.get("k_chosen")
    if isinstance(k, int):
        clustering += _tv(view, "clustering_k", k=k)
        k_range = view.method.get("k_range")
        if isinstance(k_range, (list, tuple)) and len(k_range) == 2:
            clustering += _tv(view, "clustering_k_range", k0=k_range[0], k1=k_range[1])
    items = "".join(f"<li>{_e(item.format(seed=seed, clustering=clustering, n=view.n_cities, n1=view.n_cities - 1))}</li>"
                    for item in TEXTS[lang]["method_items"])
    return _section(_tv(view, "method_h"), f"<ul>{items}</ul>", "method")


# ---------------------------------------------------------------------------
# Self-containment check
# ---------------------------------------------------------------------------

_DATA_URI_RE = re.compile(r"data:[a-zA-Z0-9.+/-]+(;[a-zA-Z0-9=.+-]+)*(;base64)?,[A-Za-z0-9+/=%._-]*")
_EXTERNAL_RES = (
    re.compile(r"<script\b[^>]*\bsrc\s*=", re.I),
    re.compile(r"<link\b[^>]*\bhref\s*=", re.I),
    re.compile(r"@import", re.I),
    re.compile(r"url\(\s*['\"]?\s*(https?:)?//", re.I),
    re.compile(r"\b(src|href|srcset|poster|data)\s*=\s*['\"]?\s*(https?:)?//", re.I),
    re.compile(r"import\(\s*['\"](https?:)?//", re.I),
)


def external_references(text: str) -> list[str]:
    """Snippets of ``text`` that would load something from another host (empty = self-contained).

    Embedded ``data:`` URIs are ignored (base64 could spell anything).
    """
    stripped = _DATA_URI_RE.sub("data:", text)
    found = []
    for pattern in _EXTERNAL_RES:
        for match in pattern.finditer(stripped):
            found.append(stripped[max(0, match.start() - 20): match.end() + 60])
    return found


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------


class ReportError(CocityError):
    """A city report could not be produced; ``failed_notebook`` is the executed notebook kept for debugging."""

    def __init__(self, city_code: str, message: str, failed_notebook: Path | None = None):
        self.city_code = city_code
        self.failed_notebook = failed_notebook
        self.reason = message
        text = f"report per {city_code} non riuscito: {message}"
        if failed_notebook is not None:
            text += f" (notebook eseguito conservato in {failed_notebook})"
        super().__init__(text)


def _readable(path: Path) -> Path:
    """Give a published file the usual permissions (temp files are created 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)
    return path


def city_report_path(out_dir: str | Path, city_code: str) -> Path:
    return Path(out_dir) / "cities" / f"{city_code}.html"


def failed_notebook_path(out_dir: str | Path, city_code: str) -> Path:
    return Path(out_dir) / "failed" / f"{city_code}.ipynb"


def _html_exporter(lang: str):
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    return HTMLExporter(
        # no code is shown, so no pygments stylesheet either
        config=Config({"CSSHTMLHeaderPreprocessor": {"enabled": False}}),
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(config.TEMPLATES_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
        language_code=lang,
    )


def export_html(notebook_node, *, title: str, lang: str = "it") -> str:
    """HTML of an executed notebook through the ``cocity`` template (inputs, prompts, stderr left out)."""
    from traitlets.config import Config

    exporter = _html_exporter(lang)
    from nbconvert.preprocessors import TagRemovePreprocessor

    remover = TagRemovePreprocessor(config=Config(), remove_cell_tags=set(REMOVED_CELL_TAGS))
    remover.enabled = True
    exporter.register_preprocessor(remover, enabled=True)
    body, _resources = exporter.from_notebook_node(notebook_node, resources={"metadata": {"name": title}})
    return body


def _log_stderr(node, city_code: str) -> None:
    for cell in node.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                log.warning("city %s: notebook wrote to stderr: %s", city_code, str(output.get("text", "")).strip()[:500])


def render_city(
    city_code: str,
    *,
    processed_dir: str | Path,
    out_dir: str | Path,
    notebook: str | Path = config.CITY_REPORT_NOTEBOOK,
    lang: str = "it",
) -> Path:
    """Execute the city notebook for ``city_code`` and write ``out_dir/cities/<code>.html``.

    Parameters reach papermill as Python strings (``"064008"`` keeps its leading zero).
    The HTML is written atomically and checked to be self-contained. On failure the
    executed notebook is kept at ``out_dir/failed/<code>.ipynb``, any previous report
    is left in place, and :class:`ReportError` is raised.
    """
    import nbformat
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError
    from traitlets.config import Config

    _check_lang(lang)
    code = _check_code(city_code)
    if not _CODE_RE.match(code):
        raise CocityError(f"il codice ISTAT della città deve avere 6 cifre come '064008', ricevuto {city_code!r}")
    processed = check_processed_dir(processed_dir).resolve()
    notebook = Path(notebook).resolve()
    if not notebook.is_file():
        raise CocityError(f"notebook del report {notebook} non trovato")
    out_dir = Path(out_dir)
    target = city_report_path(out_dir, code)
    failed = failed_notebook_path(out_dir, code)

    with tempfile.TemporaryDirectory(prefix="cocity-report-") as tmp:
        executed = Path(tmp) / f"{code}.ipynb"

        def keep_failed() -> Path | None:
            if executed.is_file():
                write_bytes_atomic(failed, executed.read_bytes())
                return failed
            return None

        try:
            pm.execute_notebook(
                str(notebook),
                str(executed),
                parameters={"city_code": code, "lang": lang, "processed_dir": str(processed)},
                kernel_name=KERNEL_NAME,
                language="python",
                progress_bar=False,
                log_output=False,
                cwd=str(notebook.parent),
                execution_timeout=CELL_TIMEOUT_SECONDS,
                # local socket files in this render's own temp dir instead of unencrypted
                # TCP ports (no clash between parallel renders, no warning about TCP)
                config=Config({"KernelManager": {"transport": "ipc", "ip": str(Path(tmp) / "kernel")}}),
            )
        except PapermillExecutionError as exc:
            kept = keep_failed()
            raise ReportError(code, f"{exc.ename}: {exc.evalue}", kept) from None
        except Exception as exc:  # kernel died, timeout, bad notebook ...
            kept = keep_failed()
            raise ReportError(code, f"{type(exc).__name__}: {exc}", kept) from exc

        try:
            node = nbformat.read(str(executed), as_version=4)
            _log_stderr(node, code)
            cities = read_processed(processed).cities
            title = _t(lang, "title", city=cities.at[code, "name"], province=cities.at[code, "province_abbr"])
            body = export_html(node, title=title, lang=lang)
            external = external_references(body)
            if external:
                raise CocityError(f"l'HTML caricherebbe risorse esterne: {external[:3]}")
            _readable(write_text_atomic(target, body))
        except Exception as exc:
            kept = keep_failed()
            raise ReportError(code, f"{type(exc).__name__}: {exc}", kept) from exc

    if failed.exists():  # a stale failure from an earlier run no longer applies
        failed.unlink()
    return target


# ---------------------------------------------------------------------------
# Index page
# ---------------------------------------------------------------------------


@dataclass
class CityResult:
    """Outcome of one city in a run."""

    city_code: str
    status: str  # "ok" | "failed"
    seconds: float
    error: str | None = None
    html_path: Path | None = None
    failed_notebook: Path | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class ReportRunSummary:
    """Per-city outcomes of :func:`run_reports`, the index path and the wall time."""

    results: list[CityResult] = field(default_factory=list)
    seconds: float = 0.0
    index_path: Path | None = None

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def n_ok(self) -> int:
        return sum(r.ok for r in self.results)

    @property
    def failed(self) -> list[CityResult]:
        return [r for r in self.results if not r.ok]

    def summary_line(self) -> str:
        """E.g. "39 report scritti, 0 falliti in 52.3 s"."""
        return f"{self.n_ok} report scritti, {len(self.failed)} falliti in {self.seconds:.1f} s"


def _css() -> str:
    return (config.TEMPLATES_DIR / TEMPLATE_NAME / "static" / "cocity.css").read_text(encoding="utf-8")


def render_index(processed_dir: str | Path, out_dir: str | Path, results: Iterable[CityResult] | None = None,
                 lang: str = "it") -> Path:
    """Write ``out_dir/index.html``: the cities with profile, first priority and a relative link.

    A city gets a link when it rendered in ``results`` or its report file exists from an
    earlier run; otherwise the row says the report is not available.
    """
    _check_lang(lang)
    data = read_processed(processed_dir)
    out_dir = Path(out_dir)
    ok_codes = {r.city_code for r in (results or []) if r.ok}
    label_col = "label_en" if lang == "en" and "label_en" in data.clusters.columns else "label"
    first = (data.priorities.dropna(subset=["rank"]).sort_values("rank")
             .drop_duplicates("istat_code").set_index("istat_code")["focus_area"])
    rows = []
    for code, city in sorted(data.cities.iterrows(), key=lambda item: str(item[1]["name"]).casefold()):
        profile = data.clusters.at[code, label_col] if code in data.clusters.index else _t(lang, "na")
        area = area_label(str(first[code]), lang) if code in first.index else _t(lang, "no_data")
        if code in ok_codes or city_report_path(out_dir, code).is_file():
            link = f'<a href="cities/{_e(code)}.html">{_e(_t(lang, "open_report"))}</a>'
        else:
            link = f'<span class="cocity-nodata">{_e(_t(lang, "report_missing"))}</span>'
        province = f"{city.get('province') or ''} ({city.get('province_abbr') or ''})"
        rows.append([_e(city["name"]), _e(province), _e(profile), _e(area), link])
    table = _table([_t(lang, k) for k in ("col_city", "col_province", "col_profile", "col_first", "col_report")], rows)
    title = _t(lang, "index_title")
    page = (
        f'<!DOCTYPE html>\n<html lang="{_e(lang)}">\n<head>\n<meta charset="utf-8"/>\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1.0"/>\n<title>{_e(title)}</title>\n'
        f'<style type="text/css">\n{_css()}\n</style>\n</head>\n<body class="cocity-index">\n<main>\n'
        f"<h1>{_e(title)}</h1>\n<p>{_e(_t(lang, 'index_intro', n=len(data.cities)))}</p>\n{table}\n"
        f"</main>\n</body>\n</html>\n"
    )
    return _readable(write_text_atomic(out_dir / "index.html", page))


# ---------------------------------------------------------------------------
# Many cities in parallel
# ---------------------------------------------------------------------------


def _render_worker(city_code: str, processed_dir: str, out_dir: str, notebook: str, lang: str) -> CityResult:
    """Render one city and report the outcome instead of raising (runs in a worker process)."""
    start = time.perf_counter()
    try:
        path = render_city(city_code, processed_dir=processed_dir, out_dir=out_dir, notebook=notebook, lang=lang)
    except Exception as exc:  # noqa: BLE001 - one failing city must not stop the others
        failed = getattr(exc, "failed_notebook", None)
        return CityResult(str(city_code), "failed", time.perf_counter() - start, error=str(exc),
                          failed_notebook=failed)
    return CityResult(str(city_code), "ok", time.perf_counter() - start, html_path=path)


def run_reports(
    city_codes: Sequence[str] | None,
    *,
    processed_dir: str | Path,
    out_dir: str | Path,
    notebook: str | Path = config.CITY_REPORT_NOTEBOOK,
    lang: str = "it",
    jobs: int | None = None,
) -> ReportRunSummary:
    """Render ``city_codes`` (None = all cities) in parallel, then write ``index.html``.

    One failing city does not stop the others: look at ``summary.ok`` / ``summary.failed``.
    ``jobs`` defaults to ``os.cpu_count()``; ``jobs=1`` renders in this process.
    """
    from concurrent.futures import ProcessPoolExecutor, as_completed
    import multiprocessing

    from tqdm import tqdm

    _check_lang(lang)
    data = read_processed(processed_dir)
    codes = list(data.cities.index) if city_codes is None else [_check_code(c) for c in city_codes]
    codes = list(dict.fromkeys(codes))
    jobs = max(1, min(jobs or os.cpu_count() or 1, max(1, len(codes))))
    args = (str(Path(processed_dir)), str(Path(out_dir)), str(Path(notebook)), lang)
    start = time.perf_counter()
    results: dict[str, CityResult] = {}
    with tqdm(total=len(codes), desc="Report", unit="città", disable=None, file=sys.stderr) as bar:
        if jobs == 1:
            for code in codes:
                results[code] = _render_worker(code, *args)
                bar.update()
        else:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
                futures = {pool.submit(_render_worker, code, *args): code for code in codes}
                for future in as_completed(futures):
                    code = futures[future]
                    try:
                        results[code] = future.result()
                    except Exception as exc:  # worker process died
                        results[code] = CityResult(code, "failed", 0.0, error=f"{type(exc).__name__}: {exc}")
                    bar.update()
    summary = ReportRunSummary(results=[results[c] for c in codes])
    for result in summary.failed:
        log.error("%s", result.error)
    summary.index_path = render_index(processed_dir, out_dir, summary.results, lang=lang)
    summary.seconds = time.perf_counter() - start
    return summary
