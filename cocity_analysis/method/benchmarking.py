"""Reference values of every indicator for the city's region, the South and Islands and Italy.

Computed from the same municipal base table as the indicators (every municipality of
today's list, whatever the scope of the analysis). Where the formula is a ratio of
counts (all the catalogue's formulas are: residents, taxpayers, income, dwellings, beds,
km²), the value of an area is the **ratio of the sums**: the formula applied to the
numerators and denominators summed over the area's municipalities ("the region's share
of taxpayers up to 10,000 euro" = its taxpayers up to 10,000 euro / its taxpayers). That is
the population-weighted value (each municipality counts by its denominator), preferable
to a population-weighted mean of municipal ratios, which weights by residents even when
the denominator is taxpayers or dwellings. An indicator can ask for the population-weighted
mean of municipal values instead (catalogue field ``benchmark: weighted_mean``, e.g. for a
change between years that is not a ratio of counts).

Only municipalities where the indicator can be computed enter the sums (a municipality
missing the numerator of an indicator is left out of both sums), and ``n_municipalities``
says how many did.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cocity_analysis.method.indicators import FORMULAS

SOUTH = ("Sud", "Isole")
BENCHMARK_COLUMNS = ["item", "level", "level_name", "value", "n_municipalities", "method"]
RATIO_OF_SUMS = "ratio_of_sums"
WEIGHTED_MEAN = "weighted_mean"


def _method(entry) -> str:
    value = entry.get("benchmark") if hasattr(entry, "get") else None
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return RATIO_OF_SUMS
    if value not in (RATIO_OF_SUMS, WEIGHTED_MEAN):
        raise ValueError(f"benchmark must be {RATIO_OF_SUMS} or {WEIGHTED_MEAN}, got {value!r}")
    return str(value)


def group_value(base: pd.DataFrame, indicator_id: str, members: np.ndarray, values: pd.Series,
                method: str = RATIO_OF_SUMS, population: pd.Series | None = None) -> tuple[float, int]:
    """Value of one indicator over a group of municipalities, and how many entered it.

    Parameters
    ----------
    base : DataFrame
        The municipal base table (columns of :data:`indicators.SOURCE_COLUMNS`).
    indicator_id : str
        Key of :data:`indicators.FORMULAS`.
    members : ndarray of bool
        Rows of ``base`` in the group.
    values : Series
        The indicator for every municipality (as computed), to know where it exists.
    method : {"ratio_of_sums", "weighted_mean"}
    population : Series, optional
        Weights of ``weighted_mean`` (residents).

    Examples
    --------
    Two made-up municipalities, 100 and 300 taxpayers, 10 and 90 of them with an employee income:

    >>> base = pd.DataFrame({"employee_income_taxpayers": [10, 90], "taxpayers": [100, 300]})
    >>> vals = FORMULAS["share_employee_income"](base)
    >>> group_value(base, "share_employee_income", np.array([True, True]), vals)
    (25.0, 2)
    """
    usable = members & values.notna().to_numpy()
    count = int(usable.sum())
    if count == 0:
        return float("nan"), 0
    if method == WEIGHTED_MEAN:
        weights = population.to_numpy(dtype="float64")[usable]
        x = values.to_numpy(dtype="float64")[usable]
        ok = np.isfinite(weights) & (weights > 0)
        if not ok.any():
            return float("nan"), 0
        return float(np.average(x[ok], weights=weights[ok])), int(ok.sum())
    summed = base.loc[usable].select_dtypes("number").sum(axis=0, min_count=1).to_frame().T
    value = FORMULAS[indicator_id](summed).iloc[0]
    return (float("nan") if pd.isna(value) else float(value)), count


def benchmarks(base: pd.DataFrame, values: pd.DataFrame, catalogue: pd.DataFrame, region: pd.Series,
               region_name: pd.Series, macro_area: pd.Series, south=SOUTH) -> pd.DataFrame:
    """Every indicator's value for each region, the South and Islands and Italy.

    Parameters
    ----------
    base : DataFrame
        Municipal base table, every municipality (index ``istat_code``).
    values : DataFrame
        Indicators of the same municipalities (columns = the computed indicators).
    catalogue : DataFrame
        Indicator catalogue (an optional ``benchmark`` field picks the method).
    region, region_name, macro_area : Series
        Municipality -> region code, region name, ISTAT *ripartizione*.

    Returns
    -------
    DataFrame
        :data:`BENCHMARK_COLUMNS`: ``level`` is the region code, ``"south"`` or
        ``"italy"``; ``method`` is ``ratio_of_sums`` or ``weighted_mean``. Sorted by
        catalogue order, then Italy, South, regions by code.
    """
    base = base.reindex(values.index)
    numeric = base.select_dtypes("number")
    region = region.reindex(values.index).astype("string")
    names = region_name.reindex(values.index)
    is_south = macro_area.reindex(values.index).isin(list(south)).to_numpy()
    population = base["pop_total"] if "pop_total" in base.columns else None
    codes = sorted(region.dropna().unique())
    levels = ["italy", "south", *[str(c) for c in codes]]
    level_names = ["Italia", "Sud e Isole"]
    for code in codes:
        found = names[(region == code).fillna(False).to_numpy()].dropna()
        level_names.append(str(found.iloc[0]) if len(found) else str(code))
    group_of = region.to_numpy(dtype=object)
    in_region = [group_of == c for c in codes]  # once: comparing ~8,000 objects per region and indicator adds up
    rows = []
    cache: dict[bytes, list] = {}  # indicators computable on the same municipalities share the sums
    for indicator_id in values.columns:
        if indicator_id not in FORMULAS or indicator_id not in catalogue.index:
            continue
        how = _method(catalogue.loc[indicator_id])
        if how == RATIO_OF_SUMS:
            # where the formula itself gives a value (a fallback value has no numerator to sum)
            usable = FORMULAS[indicator_id](base).notna().to_numpy()
            key = np.packbits(usable).tobytes()
            if key not in cache:
                part = numeric[usable]
                sums = [part.sum(axis=0, min_count=1), part[is_south[usable]].sum(axis=0, min_count=1)]
                by_region = part.groupby(group_of[usable]).sum(min_count=1)
                sums += [by_region.loc[c] if c in by_region.index else pd.Series(np.nan, index=numeric.columns)
                         for c in codes]
                cache[key] = sums
            frame = pd.DataFrame(cache[key]).reset_index(drop=True)
            value = FORMULAS[indicator_id](frame).to_numpy(dtype="float64")
            counts = [int(usable.sum()), int((usable & is_south).sum())]
            counts += [int((usable & mask).sum()) for mask in in_region]
        else:
            column = values[indicator_id]
            masks = [np.ones(len(values), dtype=bool), is_south, *in_region]
            results = [group_value(base, indicator_id, m, column, how, population) for m in masks]
            value = [r[0] for r in results]
            counts = [r[1] for r in results]
        for level, name, v, count in zip(levels, level_names, value, counts):
            rows.append({"item": indicator_id, "level": level, "level_name": name,
                         "value": float(v) if count else float("nan"), "n_municipalities": count, "method": how})
    out = pd.DataFrame(rows, columns=BENCHMARK_COLUMNS)
    out["n_municipalities"] = out["n_municipalities"].astype("int64")
    return out
