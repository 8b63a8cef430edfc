"""Indicator catalogue and the formulas behind it.

The catalogue (``data/indicators.yaml``) is the single description of every
indicator: labels, focus area, role, direction, unit, formula, source and
reference year. :data:`FORMULAS` holds the matching computation, one small
function per indicator, on a base table that joins population, boundaries and
MEF figures.

Roles: a ``need`` indicator measures its focus area and counts in the area's
score, the priorities, the Monte Carlo and the need profiles; a ``context``
indicator (age structure, density ...) describes the city and is shown beside
the needs, never scored (:func:`need_ids` is what the analysis takes).

Vintages: an entry may name a ``successor``, a newer indicator measuring the
same concept (e.g. the 2011 census unemployment rate -> the permanent census
one). :func:`select_vintages` keeps, for each concept, one vintage for every
city (:func:`vintage_choices` says which and why).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd
import yaml

from cocity_analysis import FOCUS_AREAS, config
from cocity_analysis.errors import InputFileError
from cocity_analysis.sources import mef

REQUIRED_FIELDS = ("id", "label_it", "label_en", "focus_area", "role", "direction", "unit", "formula",
                   "rationale", "source", "dataset", "reference_year", "requires")
DIRECTIONS = ("more_need", "less_need")
ROLES = ("need", "context")
#: fields a context indicator may leave out (it is never scored)
CONTEXT_OPTIONAL = ("focus_area", "direction")


#: libyaml's safe loader when PyYAML has it (the same documents, a tenth of the time), else the Python one
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_catalogue(path: str | Path = config.CATALOGUE_FILE) -> pd.DataFrame:
    """Read and validate the indicator catalogue.

    Returns
    -------
    DataFrame
        Indexed by indicator ``id``, in file order, with the fields of
        :data:`REQUIRED_FIELDS` (``reference_year`` as text) and ``successor``
        (None when absent); ``focus_area`` and ``direction`` may be None for a
        context indicator.

    Raises
    ------
    InputFileError
        Naming the file, the entry's line, and the field: a missing field, an
        unknown role, focus area or direction, a duplicated id, an id without a
        formula, or a ``successor`` that is unknown, of another area, role or
        direction, shared or cyclic.

    Examples
    --------
    >>> catalogue = load_catalogue()
    >>> catalogue.loc["share_taxpayers_le_10k", ["focus_area", "role"]].tolist()
    ['poverty', 'need']
    >>> catalogue.loc["share_0_14", "role"]
    'context'
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        document = yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise InputFileError(path, f"cannot read the indicator catalogue: {error}") from None
    entries = (document or {}).get("indicators") or []
    if not entries:
        raise InputFileError(path, "no indicators listed under 'indicators'")
    lines = _entry_lines(text)
    seen = set()
    for number, entry in enumerate(entries, start=1):
        where = f"indicator #{number} ({entry.get('id', '?')})"
        row = lines[number - 1] if number - 1 < len(lines) else None
        for name in REQUIRED_FIELDS:
            if name in CONTEXT_OPTIONAL and entry.get("role") == "context":
                continue  # a context indicator is never scored: no area or direction is needed
            if name == "role" and entry.get("role") not in ROLES:
                detail = "lacks field 'role'" if entry.get("role") in (None, "") else f"has role {entry['role']!r}"
                raise InputFileError(path, f"{where} {detail}: role must be one of {ROLES} (need: measures its "
                                     "area and counts in its score; context: describes the city, never scored)",
                                     row=row, column="role")
            if entry.get(name) in (None, ""):
                raise InputFileError(path, f"{where} lacks field {name!r}", row=row, column=name)
        if entry["id"] in seen:
            raise InputFileError(path, f"{where}: duplicated id", row=row, column="id")
        if entry.get("focus_area") not in (*FOCUS_AREAS, *((None,) if entry["role"] == "context" else ())):
            raise InputFileError(path, f"{where}: unknown focus area {entry['focus_area']!r}; "
                                 f"candidates: {', '.join(FOCUS_AREAS)}", row=row, column="focus_area")
        if entry.get("direction") not in (*DIRECTIONS, *((None,) if entry["role"] == "context" else ())):
            raise InputFileError(path, f"{where}: direction must be one of {DIRECTIONS}",
                                 row=row, column="direction")
        if entry["id"] not in FORMULAS:
            raise InputFileError(path, f"{where}: no formula implemented for this id", row=row, column="id")
        seen.add(entry["id"])
    _check_successors(path, entries, lines)
    frame = pd.DataFrame(entries).set_index("id")
    for name in CONTEXT_OPTIONAL:
        if name not in frame.columns:
            frame[name] = None
        frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
    if "successor" not in frame.columns:
        frame["successor"] = None
    frame["successor"] = frame["successor"].astype(object).where(frame["successor"].notna(), None)
    frame["reference_year"] = frame["reference_year"].astype(str)
    return frame


def _entry_lines(text: str) -> list[int]:
    """1-based line of each entry under ``indicators:`` (for errors a user can jump to)."""
    try:
        node = yaml.compose(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError:
        return []
    if not isinstance(node, yaml.MappingNode):
        return []
    for key, value in node.value:
        if getattr(key, "value", None) == "indicators" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def _check_successors(path: Path, entries: list[dict], lines: list[int] | None = None) -> None:
    """A ``successor`` names another entry of the same area, role and direction; chains are linear, no cycle."""
    by_id = {entry["id"]: entry for entry in entries}
    predecessor: dict[str, str] = {}
    for number, entry in enumerate(entries, start=1):
        successor = entry.get("successor")
        if successor in (None, ""):
            continue
        where = f"indicator #{number} ({entry['id']})"
        row = lines[number - 1] if lines and number - 1 < len(lines) else None
        if successor not in by_id:
            raise InputFileError(path, f"{where}: successor {successor!r} is not an indicator of the catalogue",
                                 row=row, column="successor")
        if successor == entry["id"]:
            raise InputFileError(path, f"{where}: an indicator cannot be its own successor", row=row, column="successor")
        for name in ("focus_area", "role", "direction"):
            if by_id[successor].get(name) != entry.get(name):
                raise InputFileError(path, f"{where}: successor {successor!r} has {name} "
                                     f"{by_id[successor].get(name)!r}, this one {entry.get(name)!r}: a successor measures "
                                     "the same concept", row=row, column="successor")
        if successor in predecessor:
            raise InputFileError(path, f"{where}: {successor!r} is already the successor of "
                                 f"{predecessor[successor]!r}", row=row, column="successor")
        predecessor[successor] = entry["id"]
    for start in by_id:
        current, visited = start, set()
        while by_id[current].get("successor") not in (None, ""):
            if current in visited:
                raise InputFileError(path, f"indicator {start!r}: its successors form a cycle", column="successor")
            visited.add(current)
            current = by_id[current]["successor"]


def roles(catalogue: pd.DataFrame) -> pd.Series:
    """Indicator -> ``"need"`` or ``"context"`` (``"need"`` for a catalogue frame without ``role``).

    Examples
    --------
    >>> roles(load_catalogue())[["density", "share_taxpayers_le_10k"]].tolist()
    ['context', 'need']
    """
    if "role" not in catalogue.columns:
        return pd.Series("need", index=catalogue.index, dtype=object)
    return catalogue["role"].astype(object)


def need_ids(catalogue: pd.DataFrame, columns=None) -> list[str]:
    """The need indicators of ``catalogue`` (among ``columns`` when given, in their order).

    Every stage that scores (scores, priorities, Monte Carlo, profiles) takes these only.

    Examples
    --------
    >>> cat = pd.DataFrame({"role": ["need", "context", "need"]}, index=["a", "b", "c"])
    >>> need_ids(cat), need_ids(cat, ["c", "b", "x"])
    (['a', 'c'], ['c'])
    """
    role = roles(catalogue)
    if columns is None:
        return [i for i in catalogue.index if role[i] == "need"]
    return [c for c in columns if c in role.index and role[c] == "need"]


def context_ids(catalogue: pd.DataFrame, columns=None) -> list[str]:
    """The context indicators of ``catalogue`` (among ``columns`` when given): shown, never scored."""
    role = roles(catalogue)
    ids = catalogue.index if columns is None else columns
    return [c for c in ids if c in role.index and role[c] == "context"]


def vintage_chains(catalogue: pd.DataFrame) -> list[list[str]]:
    """Indicators linked by ``successor``, oldest first (only chains of two or more).

    Examples
    --------
    >>> cat = pd.DataFrame({"successor": ["b", None, None]}, index=["a", "b", "c"])
    >>> vintage_chains(cat)
    [['a', 'b']]
    """
    if "successor" not in catalogue.columns:
        return []
    successor = {i: s for i, s in catalogue["successor"].items() if isinstance(s, str) and s}
    has_predecessor = set(successor.values())
    chains = []
    for start in catalogue.index:
        if start in has_predecessor or start not in successor:
            continue
        chain = [start]
        while chain[-1] in successor:
            chain.append(successor[chain[-1]])
        chains.append(chain)
    return chains


VINTAGE_COLUMNS = ["concept", "indicator", "reference_year", "cities_with_value", "cities_total", "chosen",
                   "status", "reason", "reason_en"]


def vintage_choices(values: pd.DataFrame, catalogue: pd.DataFrame, reference_codes) -> pd.DataFrame:
    """Which vintage of each indicator concept is used, and why.

    For each chain of :func:`vintage_chains`, the newest indicator with a value
    for every municipality of ``reference_codes`` is chosen; when none covers
    them all, the one covering most (the newer on a tie). The chosen one is used
    for every municipality (never a mix of years inside one indicator); the
    others are *superseded*: not scored, not shown as figures.

    Parameters
    ----------
    values : DataFrame
        Municipalities x indicators (raw values); an indicator without a column
        (its source not loaded) covers nobody.
    catalogue : DataFrame
        From :func:`load_catalogue` (``successor``, ``reference_year``, ``label_it``).
    reference_codes : sequence
        The reference set (the 39 cities for ``scope: cms``).

    Returns
    -------
    DataFrame
        One row per indicator of a chain, columns :data:`VINTAGE_COLUMNS`:
        ``concept`` (the newest id of the chain), ``chosen`` (bool), ``status``
        (``"chosen"``/``"superseded"``) and the reason in Italian and English.
    """
    codes = pd.Index(reference_codes)
    rows = []
    for chain in vintage_chains(catalogue):
        counts = {i: int(values[i].reindex(codes).notna().sum()) if i in values.columns else 0 for i in chain}
        full = [i for i in reversed(chain) if counts[i] == len(codes) and len(codes)]
        if full:
            chosen = full[0]
            why = ("la fonte più recente con un valore per tutte le {n} città di riferimento",
                   "the newest source with a value for all {n} reference municipalities")
        else:
            chosen = max(reversed(chain), key=lambda i: counts[i])  # newest first: max keeps the first maximum
            why = ("nessuna fonte copre tutte le {n} città di riferimento: scelta quella che ne copre di più "
                   "({k})", "no source covers all {n} reference municipalities: the one covering most ({k})")
        label = catalogue.at[chosen, "label_it"] if "label_it" in catalogue.columns else chosen
        year = str(catalogue.at[chosen, "reference_year"]) if "reference_year" in catalogue.columns else ""
        for indicator in chain:
            if indicator == chosen:
                reason = why[0].format(n=len(codes), k=counts[chosen])
                reason_en = why[1].format(n=len(codes), k=counts[chosen])
            else:
                reason = (f"sostituito da «{label}» ({year}): {why[0].format(n=len(codes), k=counts[chosen])}; "
                          "gli anni non si mescolano in un indicatore")
                reason_en = (f"superseded by {chosen} ({year}): {why[1].format(n=len(codes), k=counts[chosen])}; "
                             "years are never mixed inside one indicator")
            rows.append({"concept": chain[-1], "indicator": indicator,
                         "reference_year": str(catalogue.at[indicator, "reference_year"])
                         if "reference_year" in catalogue.columns else "",
                         "cities_with_value": counts[indicator], "cities_total": int(len(codes)),
                         "chosen": indicator == chosen, "status": "chosen" if indicator == chosen else "superseded",
                         "reason": reason, "reason_en": reason_en})
    return pd.DataFrame(rows, columns=VINTAGE_COLUMNS)


def select_vintages(values: pd.DataFrame, catalogue: pd.DataFrame, reference_codes) -> pd.DataFrame:
    """``values`` without the superseded vintages (see :func:`vintage_choices`).

    Examples
    --------
    Made-up values: the 2011 vintage covers both cities, the newer one only one,
    so 2011 is used for both (not 2021 for one city and 2011 for the other):

    >>> cat = pd.DataFrame({"successor": ["new", None], "reference_year": ["2011", "2021"],
    ...                     "label_it": ["Vecchio", "Nuovo"]}, index=["old", "new"])
    >>> vals = pd.DataFrame({"old": [10.0, 12.0], "new": [9.0, None]}, index=["a", "b"])
    >>> select_vintages(vals, cat, ["a", "b"]).columns.tolist()
    ['old']
    >>> select_vintages(vals.assign(new=[9.0, 11.0]), cat, ["a", "b"]).columns.tolist()
    ['new']
    """
    choices = vintage_choices(values, catalogue, reference_codes)
    superseded = set(choices.loc[~choices["chosen"].astype(bool), "indicator"])
    return values[[c for c in values.columns if c not in superseded]]


def _ratio(numerator: pd.Series, denominator: pd.Series, scale: float = 1.0) -> pd.Series:
    """``numerator / denominator * scale`` as float, missing where either is missing or the denominator is 0."""
    num = pd.to_numeric(numerator, errors="raise").astype("float64")
    den = pd.to_numeric(denominator, errors="raise").astype("float64")
    den = den.where(den != 0)
    return num / den * scale


FORMULAS: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "share_0_14": lambda b: _ratio(b["pop_0_14"], b["pop_total"], 100),
    "share_65_plus": lambda b: _ratio(b["pop_65_plus"], b["pop_total"], 100),
    "share_80_plus": lambda b: _ratio(b["pop_80_plus"], b["pop_total"], 100),
    "old_age_index": lambda b: _ratio(b["pop_65_plus"], b["pop_0_14"], 100),
    "dependency_ratio": lambda b: _ratio(b["pop_0_14"] + b["pop_65_plus"], b["pop_15_64"], 100),
    "density": lambda b: _ratio(b["pop_total"], b["area_km2"]),
    "income_per_taxpayer": lambda b: _ratio(b["total_income_eur"], b["taxpayers"]),
    "share_taxpayers_le_10k": lambda b: _ratio(
        b["taxpayers_income_le_0"] + b["taxpayers_income_0_10k"], b["taxpayers"], 100),
    "taxpayers_per_resident": lambda b: _ratio(b["taxpayers"], b["pop_total"], 100),
    "share_employee_income": lambda b: _ratio(b["employee_income_taxpayers"], b["taxpayers"], 100),
    "share_pension_income": lambda b: _ratio(b["pension_income_taxpayers"], b["taxpayers"], 100),
    "share_property_income": lambda b: _ratio(b["property_income_taxpayers"], b["taxpayers"], 100),
    # ISTAT SDMX sources (cocity_analysis/sources/istat_sdmx.py, istat_tourism.py)
    "employment_rate_25_64": lambda b: _ratio(b["employed_25_64"], b["residents_25_64"], 100),
    "unemployment_rate_25_64": lambda b: _ratio(b["unemployed_25_64"], b["labour_force_25_64"], 100),
    "share_low_education_25_64": lambda b: _ratio(b["low_education_25_64"], b["residents_25_64_edu"], 100),
    "share_foreign_residents": lambda b: _ratio(b["foreign_residents_jan"], b["residents_jan"], 100),
    "residents_per_occupied_dwelling": lambda b: _ratio(b["residents_jan"], b["occupied_dwellings"]),
    "share_dwellings_not_owned": lambda b: _ratio(
        b["occupied_dwellings_all"] - b["occupied_dwellings_owned"], b["occupied_dwellings_all"], 100),
    "beds_per_1000_residents": lambda b: _ratio(b["accommodation_beds"], b["pop_total"], 1000),
}

# ISTAT census 2011 by census area (cocity_analysis/sources/istat_census2011.py): columns census2011_<VAR>,
# <VAR> being the code of ISTAT's tracciato (P60 = labour force 15+, P61 = employed 15+, ...).


def _c(base: pd.DataFrame, *variables: str) -> pd.Series:
    """Sum of census 2011 variables (columns ``census2011_<VAR>``); missing if any is missing."""
    total = None
    for variable in variables:
        column = pd.to_numeric(base[f"census2011_{variable}"], errors="raise").astype("float64")
        total = column if total is None else total + column
    return total


def _residents_15_plus(b: pd.DataFrame) -> pd.Series:
    return _c(b, "P1") - _c(b, "P14", "P15", "P16")


def _females_15_plus(b: pd.DataFrame) -> pd.Series:
    return _residents_15_plus(b) - (_c(b, "P2") - _c(b, "P30", "P31", "P32"))


FORMULAS.update({
    "census2011_unemployment_rate": lambda b: _ratio(_c(b, "P60") - _c(b, "P61"), _c(b, "P60"), 100),
    "census2011_employment_rate": lambda b: _ratio(_c(b, "P61"), _residents_15_plus(b), 100),
    "census2011_female_employment_rate": lambda b: _ratio(_c(b, "P61") - _c(b, "P65"), _females_15_plus(b), 100),
    "census2011_low_education": lambda b: _ratio(_c(b, "P49", "P50", "P51", "P52"), _c(b, "P46"), 100),
    "census2011_families_renting": lambda b: _ratio(_c(b, "A46"), _c(b, "A46", "A47", "A48"), 100),
    "census2011_floor_area_per_occupant": lambda b: _ratio(_c(b, "A44"), _c(b, "PF2")),
    "census2011_buildings_poor_condition": lambda b: _ratio(_c(b, "E30", "E31"), _c(b, "E3"), 100),
    "census2011_large_families": lambda b: _ratio(_c(b, "PF8"), _c(b, "PF1"), 100),
    "census2011_share_foreign_residents": lambda b: _ratio(_c(b, "ST15"), _c(b, "P1"), 100),
})

# Documented treatments: where the primary formula has a missing input because the publisher
# suppressed one cell, a bounded alternative is used and flagged (never a silent 0).
SUPPRESSED_LE_0 = "classe di reddito complessivo <= 0 euro oscurata nel file MEF"
FALLBACKS: dict[str, tuple[Callable[[pd.DataFrame], pd.Series], str]] = {
    "income_per_taxpayer": (
        lambda b: _ratio(b["income_positive_bands_eur"], b["taxpayers"]),
        SUPPRESSED_LE_0 + ": calcolato sulle 7 classi positive (valore massimo possibile)",
    ),
    "share_taxpayers_le_10k": (
        lambda b: _ratio(b["taxpayers_income_0_10k"], b["taxpayers"], 100),
        SUPPRESSED_LE_0 + ": contati i soli contribuenti da 0 a 10.000 euro (valore minimo possibile)",
    ),
}

# --- MEF income over time (cocity_analysis/sources/mef.py: every fetched tax year as mef<YEAR>_<column>)
def _income_per_taxpayer(b: pd.DataFrame, year: int, bound: bool = False) -> pd.Series:
    """Mean income per taxpayer of one tax year; ``bound``: on the 7 positive bands (upper bound)."""
    total = b[f"mef{year}_income_positive_bands_eur" if bound else f"mef{year}_total_income_eur"]
    return _ratio(total, b[f"mef{year}_taxpayers"])


def _share_le_10k(b: pd.DataFrame, year: int, bound: bool = False) -> pd.Series:
    """Share of taxpayers up to EUR 10,000 of one tax year; ``bound``: the 0-10,000 band only (lower bound)."""
    low = b[f"mef{year}_taxpayers_income_0_10k"]
    if not bound:
        low = low + b[f"mef{year}_taxpayers_income_le_0"]
    return _ratio(low, b[f"mef{year}_taxpayers"], 100)


def _or_bound(exact: pd.Series, bounded: pd.Series) -> pd.Series:
    return exact.where(exact.notna(), bounded)


def _income_change(b: pd.DataFrame, start: int, end: int, bound: bool = False) -> pd.Series:
    """Percent change of the mean income per taxpayer from ``start`` to ``end`` (nominal euros)."""
    first, last = _income_per_taxpayer(b, start), _income_per_taxpayer(b, end)
    if bound:
        first = _or_bound(first, _income_per_taxpayer(b, start, bound=True))
        last = _or_bound(last, _income_per_taxpayer(b, end, bound=True))
    return _ratio(last - first, first, 100)


def _low_income_change(b: pd.DataFrame, start: int, end: int, bound: bool = False) -> pd.Series:
    """Change, in percentage points, of the share of taxpayers up to EUR 10,000 from ``start`` to ``end``."""
    first, last = _share_le_10k(b, start), _share_le_10k(b, end)
    if bound:
        first = _or_bound(first, _share_le_10k(b, start, bound=True))
        last = _or_bound(last, _share_le_10k(b, end, bound=True))
    return last - first


_START, _END = config.MEF_CHANGE_YEARS
FORMULAS.update({
    f"income_change_{_START}_{_END}": lambda b: _income_change(b, _START, _END),
    f"low_income_share_change_{_START}_{_END}": lambda b: _low_income_change(b, _START, _END),
})
FALLBACKS.update({
    f"income_change_{_START}_{_END}": (
        lambda b: _income_change(b, _START, _END, bound=True),
        SUPPRESSED_LE_0 + f" ({_START} o {_END}): variazione calcolata con il reddito medio sulle 7 classi "
        "positive (valore limite), quindi solo indicativa",
    ),
    f"low_income_share_change_{_START}_{_END}": (
        lambda b: _low_income_change(b, _START, _END, bound=True),
        SUPPRESSED_LE_0 + f" ({_START} o {_END}): variazione calcolata con i soli contribuenti da 0 a 10.000 "
        "euro (valore limite), quindi solo indicativa",
    ),
})

# --- ICCU libraries (cocity_analysis/sources/iccu.py)
FORMULAS["libraries_per_10000_residents"] = lambda b: _ratio(b["iccu_libraries"], b["pop_total"], 10000)

SOURCE_COLUMNS = {
    "population": ("pop_total", "pop_0_14", "pop_15_64", "pop_65_plus", "pop_80_plus"),
    "boundaries": ("area_km2",),
    "mef": ("taxpayers", "total_income_eur", "taxpayers_income_le_0", "taxpayers_income_0_10k",
            "employee_income_taxpayers", "pension_income_taxpayers", "property_income_taxpayers",
            "income_positive_bands_eur"),
    # one entry per ISTAT SDMX dataset (its ``requires`` name); see istat_sdmx.DATASETS
    "istat_labour": ("employed_25_64", "unemployed_25_64", "labour_force_25_64", "residents_25_64"),
    "istat_education": ("residents_25_64_edu", "low_education_25_64"),
    "istat_population": ("residents_jan",),
    "istat_foreigners": ("foreign_residents_jan",),
    "istat_dwellings": ("dwellings", "occupied_dwellings"),
    "istat_tenure": ("occupied_dwellings_owned", "occupied_dwellings_all"),
    "istat_tourism": ("accommodation_beds", "accommodation_establishments"),
    # ISTAT census 2011 by census area (sources/istat_census2011.py, VARIABLES there)
    "census2011": tuple(f"census2011_{v}" for v in (
        "P1", "P2", "P14", "P15", "P16", "P30", "P31", "P32", "P46", "P49", "P50", "P51", "P52", "P60", "P61",
        "P65", "ST15", "A44", "A46", "A47", "A48", "PF1", "PF2", "PF8", "E3", "E30", "E31")),
    # MEF tax years as mef<YEAR>_<column> (mef.year_columns), one source per year: "mef_2018", ...
    **{f"mef_{year}": tuple(f"mef{year}_{column}" for column in (
        "taxpayers", "taxable_income_eur", "total_income_eur", "taxpayers_income_le_0", "taxpayers_income_0_10k",
        "taxpayers_income_10_15k", "taxpayers_income_15_26k", "taxpayers_income_26_55k",
        "taxpayers_income_55_75k", "taxpayers_income_75_120k", "taxpayers_income_over_120k",
        "employee_income_taxpayers", "pension_income_taxpayers", "property_income_taxpayers",
        "income_positive_bands_eur")) for year in config.MEF_YEARS},
    "iccu": ("iccu_libraries",),
}


def compute_indicators(base: pd.DataFrame, catalogue: pd.DataFrame,
                       unavailable: dict[str, str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compute every catalogue indicator whose sources are available.

    Parameters
    ----------
    base : DataFrame
        One row per municipality (index ``istat_code``) with the columns of
        :data:`SOURCE_COLUMNS` for the sources that were loaded.
    catalogue : DataFrame
        From :func:`load_catalogue`.
    unavailable : dict, optional
        ``{source name: reason}`` for sources that could not be loaded; their
        indicators are left out of the result (never filled in).

    Returns
    -------
    values : DataFrame
        Indexed like ``base``, one float column per computable indicator, in
        catalogue order. Missing inputs give missing values, never 0.
    treatments : DataFrame
        One row per cell computed with a documented fallback of
        :data:`FALLBACKS`: ``istat_code``, ``indicator``, ``treatment`` (Italian).

    Examples
    --------
    >>> base = pd.DataFrame({"taxpayers": [100, 200], "total_income_eur": [2_000_000, None],
    ...                      "income_positive_bands_eur": [2_000_000, 3_000_000]},
    ...                     index=pd.Index(["000001", "000002"], name="istat_code"))
    >>> cat = load_catalogue().loc[["income_per_taxpayer"]]
    >>> values, treated = compute_indicators(base, cat)
    >>> values["income_per_taxpayer"].tolist()
    [20000.0, 15000.0]
    >>> treated["istat_code"].tolist()
    ['000002']
    """
    unavailable = unavailable or {}
    columns, treated = {}, []
    for indicator_id, entry in catalogue.iterrows():
        if any(source in unavailable for source in entry["requires"]):
            continue
        values = FORMULAS[indicator_id](base).astype("float64")
        if indicator_id in FALLBACKS:
            fallback, note = FALLBACKS[indicator_id]
            alternative = fallback(base).astype("float64")
            use = values.isna() & alternative.notna()
            values = values.where(~use, alternative)
            treated.extend({"istat_code": code, "indicator": indicator_id, "treatment": note}
                           for code in base.index[use.to_numpy()])
        columns[indicator_id] = values
    treatments = pd.DataFrame(treated, columns=["istat_code", "indicator", "treatment"])
    return pd.DataFrame(columns, index=base.index), treatments


def _bilingual(reason) -> dict:
    """A reason given as plain Italian text or as ``{"it": ..., "en": ...}``."""
    if isinstance(reason, dict):
        return {"it": reason["it"], "en": reason.get("en", reason["it"])}
    return {"it": str(reason), "en": str(reason)}


def indicator_status(catalogue: pd.DataFrame, indicators: pd.DataFrame,
                     unavailable: dict | None = None, vintages: pd.DataFrame | None = None) -> pd.DataFrame:
    """For each catalogue indicator: whether it has values and, if not, why.

    Parameters
    ----------
    unavailable : dict, optional
        ``{source: reason}``, the reason as Italian text or ``{"it", "en"}``
        (written for the readers of the reports, not for operators).
    vintages : DataFrame, optional
        From :func:`vintage_choices`: a superseded vintage is unavailable, with
        the reason (which vintage replaces it and why).

    Returns
    -------
    DataFrame
        The catalogue with ``available`` (bool), ``missing_reason`` (Italian)
        and ``missing_reason_en`` (English; both None when nothing is missing).
    """
    unavailable = unavailable or {}
    status = catalogue.copy()
    available, reasons, reasons_en = [], [], []
    superseded = {} if vintages is None else {
        r["indicator"]: r for r in vintages.to_dict("records") if r["status"] == "superseded"}
    for indicator_id, entry in catalogue.iterrows():
        blocked = [_bilingual(unavailable[s]) for s in entry["requires"] if s in unavailable]
        if indicator_id in superseded:
            available.append(False)
            reasons.append(superseded[indicator_id]["reason"])
            reasons_en.append(superseded[indicator_id]["reason_en"])
        elif blocked:
            available.append(False)
            reasons.append("; ".join(b["it"] for b in blocked))
            reasons_en.append("; ".join(b["en"] for b in blocked))
        elif indicator_id not in indicators or indicators[indicator_id].isna().all():
            available.append(False)
            reasons.append("nessun valore disponibile per le città analizzate")
            reasons_en.append("no value available for the cities analysed")
        else:
            available.append(True)
            missing = int(indicators[indicator_id].isna().sum())
            reasons.append(f"valore mancante per {missing} città" if missing else None)
            reasons_en.append(f"value missing for {missing} cities" if missing else None)
    status["available"] = available
    status["missing_reason"] = pd.Series(reasons, index=status.index, dtype=object)
    status["missing_reason_en"] = pd.Series(reasons_en, index=status.index, dtype=object)
    return status


def describe_missing(indicators: pd.DataFrame) -> pd.DataFrame:
    """Cells without a value, as a long table (istat_code, indicator)."""
    mask = indicators.isna()
    rows = np.argwhere(mask.to_numpy())
    return pd.DataFrame({
        "istat_code": indicators.index.to_numpy()[rows[:, 0]] if len(rows) else [],
        "indicator": indicators.columns.to_numpy()[rows[:, 1]] if len(rows) else [],
    })


def income_series(frames: dict[int, pd.DataFrame], codes: Iterable[str],
                  files: dict[int, str] | None = None) -> pd.DataFrame:
    """Mean income per taxpayer and share of taxpayers up to EUR 10,000, per municipality and tax year.

    The same formulas (and the same bounded fallback where the publisher
    suppressed the ``<= 0`` band) as the indicators ``income_per_taxpayer`` and
    ``share_taxpayers_le_10k`` of :mod:`cocity_analysis.method.indicators`; a value
    computed from a bound is flagged in the ``*_is_bound`` columns.

    Parameters
    ----------
    frames : dict
        ``{tax year: frame of :func:`load`}`` (today's codes).
    codes : iterable of str
        Municipalities to keep (the analysed cities).
    files : dict, optional
        ``{tax year: file name}`` recorded in the ``file`` column.

    Returns
    -------
    DataFrame
        Columns :data:`mef.SERIES_COLUMNS`, one row per municipality and year
        (sorted by code, then year); missing values stay missing.

    Examples
    --------
    >>> frame = pd.DataFrame({"taxpayers": [100], "total_income_eur": [2_000_000],
    ...                       "income_positive_bands_eur": [2_000_000], "taxpayers_income_le_0": [1],
    ...                       "taxpayers_income_0_10k": [29]}, index=pd.Index(["077014"], name="istat_code"))
    >>> income_series({2021: frame}, ["077014"])[["year", "income_per_taxpayer", "share_taxpayers_le_10k"]]
       year  income_per_taxpayer  share_taxpayers_le_10k
    0  2021              20000.0                    30.0
    """
    codes = list(codes)
    files = files or {}
    parts = []
    for year in sorted(frames):
        base = frames[year].reindex(codes)
        part = pd.DataFrame({"istat_code": codes, "year": int(year)})
        for indicator_id in ("income_per_taxpayer", "share_taxpayers_le_10k"):
            value = FORMULAS[indicator_id](base).astype("float64")
            bound = FALLBACKS[indicator_id][0](base).astype("float64")
            use_bound = value.isna() & bound.notna()
            part[indicator_id] = value.where(~use_bound, bound).to_numpy()
            part[f"{indicator_id}_is_bound"] = use_bound.to_numpy()
        part["taxpayers"] = pd.array(base["taxpayers"].to_numpy(), dtype="Int64")
        part["source"], part["dataset"], part["file"] = mef.SOURCE, mef.DATASET, files.get(year)
        parts.append(part)
    if not parts:
        return pd.DataFrame({column: [] for column in mef.SERIES_COLUMNS})
    series = pd.concat(parts, ignore_index=True)[mef.SERIES_COLUMNS]
    return series.sort_values(["istat_code", "year"], kind="stable").reset_index(drop=True)
