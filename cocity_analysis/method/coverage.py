"""Coverage of the four focus areas by real data: which need indicators have values for how many cities.

Only *need* indicators measure an area (``role: need`` in the catalogue); the
context indicators (age structure, density ...) are listed apart by
:func:`context_table`, and a superseded vintage (an older source replaced by a
newer one for every city) is not an indicator of the area. Reads what ``cocity prepare`` wrote (``catalogue.json``, ``indicators.parquet``,
``cities.parquet``) and never computes anything new, so the table always tells
the truth about the processed data it is pointed at.

>>> from cocity_analysis import coverage
>>> table = coverage.coverage_table("data/processed")      # doctest: +SKIP
>>> coverage.coverage_by_area("data/processed", table)     # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from cocity_analysis import FOCUS_AREA_LABELS, FOCUS_AREAS, config
from cocity_analysis.errors import CocityError, InputFileError

COLUMNS = ["focus_area", "focus_area_label", "indicator", "label_it", "source", "reference_year",
           "cities_with_value", "cities_total", "status", "missing_reason"]
CONTEXT_COLUMNS = ["indicator", "label_it", "source", "reference_year", "cities_with_value", "cities_total"]
#: an area measured by fewer need indicators than this rests on limited evidence (issue 13)
MIN_INDICATORS = 3
STATUS_COMPLETE = "completo"
STATUS_PARTIAL = "parziale"
STATUS_NONE = "non disponibile"
NO_INDICATOR = "nessun indicatore ufficiale di quest'area nel catalogo"


def _is_need(item: dict) -> bool:
    """A need indicator of the run (older catalogue files without ``role``: every indicator was scored)."""
    superseded = (item.get("vintage") or {}).get("status") == "superseded"
    return item.get("role", "need") == "need" and not superseded


def _read_processed(processed_dir: Path) -> tuple[dict, pd.DataFrame, pd.Index]:
    from cocity_analysis.datasets import open_dataset

    processed_dir = open_dataset(processed_dir).path  # one dataset, every file of its run
    catalogue_path = processed_dir / "catalogue.json"
    values_path = processed_dir / "indicators.parquet"
    cities_path = processed_dir / "cities.parquet"
    for path in (catalogue_path, values_path, cities_path):
        if not path.exists():
            raise CocityError(f"{path} non trovato: eseguire prima `cocity prepare` "
                              f"(oppure indicare la cartella giusta con --processed)")
    try:
        catalogue = json.loads(catalogue_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(catalogue_path, f"not valid JSON ({exc})") from None
    values = pd.read_parquet(values_path)
    cities = pd.read_parquet(cities_path).index
    return catalogue, values, cities


def coverage_table(processed_dir: str | Path = config.PROCESSED_DIR) -> pd.DataFrame:
    """One row per need indicator (and per focus area without any): real values for how many cities.

    Parameters
    ----------
    processed_dir : path
        Folder written by ``cocity prepare``.

    Returns
    -------
    DataFrame
        Columns ``focus_area``, ``focus_area_label`` (Italian), ``indicator``
        (None for an area without indicators), ``label_it``, ``source``,
        ``reference_year``, ``cities_with_value``, ``cities_total`` (the
        prepared cities, 39 for the programme), ``status`` (``"completo"``:
        every city; ``"parziale"``; ``"non disponibile"``: none) and
        ``missing_reason`` (Italian, from the catalogue). Rows in focus-area
        order, then catalogue order.

    Raises
    ------
    CocityError
        When ``processed_dir`` lacks the files of a ``cocity prepare`` run.
    """
    processed_dir = Path(processed_dir)
    catalogue, values, cities = _read_processed(processed_dir)
    total = len(cities)
    values = values.reindex(cities)
    rows = []
    for area in FOCUS_AREAS:
        members = [item for item in catalogue.get("indicators", [])
                   if item.get("focus_area") == area and _is_need(item)]
        if not members:
            rows.append({"focus_area": area, "focus_area_label": FOCUS_AREA_LABELS["it"][area], "indicator": None,
                         "label_it": None, "source": None, "reference_year": None, "cities_with_value": 0,
                         "cities_total": total, "status": STATUS_NONE, "missing_reason": NO_INDICATOR})
            continue
        for item in members:
            indicator = item["id"]
            count = int(values[indicator].notna().sum()) if indicator in values.columns else 0
            if count == 0:
                status = STATUS_NONE
            elif count == total:
                status = STATUS_COMPLETE
            else:
                status = STATUS_PARTIAL
            reason = item.get("missing_reason")
            if count == 0 and not reason:
                reason = "nessun valore per le città analizzate"
            rows.append({"focus_area": area, "focus_area_label": FOCUS_AREA_LABELS["it"][area],
                         "indicator": indicator, "label_it": item.get("label_it"), "source": item.get("source"),
                         "reference_year": item.get("reference_year"), "cities_with_value": count,
                         "cities_total": total, "status": status, "missing_reason": reason})
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["cities_with_value"] = table["cities_with_value"].astype("int64")
    table["cities_total"] = table["cities_total"].astype("int64")
    return table


def coverage_by_area(processed_dir: str | Path = config.PROCESSED_DIR,
                     table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per focus area: need indicators, those with values, their years, cities with at least one / three.

    ``table`` is :func:`coverage_table`'s result for the same folder (computed
    when not given).

    Returns
    -------
    DataFrame
        Indexed by ``focus_area``, columns ``focus_area_label``,
        ``indicators``, ``indicators_with_values``, ``years`` (reference years
        of the need indicators with values, e.g. ``"2011; 2021"``),
        ``cities_with_any_value``, ``cities_with_min_indicators`` (cities with
        at least :data:`MIN_INDICATORS` need indicators with a value; the
        others rest on limited evidence), ``cities_total``, ``covered`` (True
        when every prepared city has at least one real need value in the area).
    """
    table = coverage_table(processed_dir) if table is None else table
    _, values, cities = _read_processed(Path(processed_dir))
    values = values.reindex(cities)
    out = []
    for area in FOCUS_AREAS:
        members = table[(table["focus_area"] == area) & table["indicator"].notna()]
        present = [i for i in members["indicator"] if i in values.columns]
        counts = values[present].notna().sum(axis=1) if present else pd.Series(0, index=values.index)
        any_value = int((counts > 0).sum())
        with_values = members[members["cities_with_value"] > 0]
        years = "; ".join(sorted({str(y) for y in with_values["reference_year"].dropna()}))
        out.append({"focus_area": area, "focus_area_label": FOCUS_AREA_LABELS["it"][area],
                    "indicators": len(members), "indicators_with_values": int(len(with_values)),
                    "years": years, "cities_with_any_value": any_value,
                    "cities_with_min_indicators": int((counts >= MIN_INDICATORS).sum()),
                    "cities_total": len(cities),
                    "covered": bool(len(cities)) and any_value == len(cities)})
    return pd.DataFrame(out).set_index("focus_area")


def context_table(processed_dir: str | Path = config.PROCESSED_DIR) -> pd.DataFrame:
    """The context indicators (shown beside the needs, never scored): values for how many cities.

    Returns
    -------
    DataFrame
        Columns :data:`CONTEXT_COLUMNS`, in catalogue order.
    """
    catalogue, values, cities = _read_processed(Path(processed_dir))
    values = values.reindex(cities)
    rows = []
    for item in catalogue.get("indicators", []):
        if item.get("role") != "context" or (item.get("vintage") or {}).get("status") == "superseded":
            continue
        indicator = item["id"]
        count = int(values[indicator].notna().sum()) if indicator in values.columns else 0
        rows.append({"indicator": indicator, "label_it": item.get("label_it"), "source": item.get("source"),
                     "reference_year": item.get("reference_year"), "cities_with_value": count,
                     "cities_total": len(cities)})
    return pd.DataFrame(rows, columns=CONTEXT_COLUMNS)


def format_coverage(table: pd.DataFrame, summary: pd.DataFrame | None = None,
                    context: pd.DataFrame | None = None) -> str:
    """Plain-text rendering for the terminal (``cocity coverage``): per area its need indicators, with
    values for how many cities and from which year; then the context indicators (never scored)."""
    lines = []
    for area in FOCUS_AREAS:
        members = table[table["focus_area"] == area]
        label = FOCUS_AREA_LABELS["it"][area]
        head = f"{area} — {label}"
        if summary is not None and area in summary.index:
            row = summary.loc[area]
            head += (f"  [{row['indicators_with_values']}/{row['indicators']} indicatori di bisogno con dati"
                     + (f" ({row['years']})" if row.get("years") else "")
                     + f"; {row['cities_with_any_value']}/{row['cities_total']} città con almeno un valore"
                     + (f", {row['cities_with_min_indicators']} con almeno {MIN_INDICATORS} indicatori"
                        if "cities_with_min_indicators" in row else "") + "]")
        lines.append(head)
        for item in members.itertuples():
            if item.indicator is None or (isinstance(item.indicator, float) and pd.isna(item.indicator)):
                lines.append(f"  (nessun indicatore)  {item.status}: {item.missing_reason}")
                continue
            year = "" if item.reference_year is None or pd.isna(item.reference_year) else str(item.reference_year)
            text = f"  {item.indicator:<36} {item.cities_with_value:>3}/{item.cities_total:<3} {year:<10} {item.status}"
            if item.status != STATUS_COMPLETE and item.missing_reason:
                text += f" — {item.missing_reason}"
            lines.append(text)
        lines.append("")
    if context is not None and len(context):
        lines.append("Contesto della città (descrive la città, non entra nei punteggi né nelle priorità)")
        for item in context.itertuples():
            year = "" if item.reference_year is None or pd.isna(item.reference_year) else str(item.reference_year)
            lines.append(f"  {item.indicator:<36} {item.cities_with_value:>3}/{item.cities_total:<3} {year}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
