"""Scope of the analysis and where the 39 stand among all Italian municipalities.

``scope: cms`` (default) analyses the 39 cities among themselves; ``scope:
all`` takes every municipality with data as the reference set (normalisation,
treatment and Monte Carlo run over all of them), while the 39 keep the need
profiles fitted on the 39. In both scopes :func:`percentiles` places each of
the 39 among all Italian municipalities and among those of the South and
Islands (ISTAT *ripartizione geografica* ``Sud`` or ``Isole``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cocity_analysis import FOCUS_AREAS

SOUTH = ("Sud", "Isole")
PERCENTILE_COLUMNS = ["istat_code", "kind", "item", "value", "pct_italy", "pct_south", "n_italy", "n_south"]


def with_data(values: pd.DataFrame) -> pd.DataFrame:
    """The rows that have at least one indicator value ("every municipality with data").

    Examples
    --------
    >>> with_data(pd.DataFrame({"x": [1.0, None], "y": [None, None]}, index=["a", "b"])).index.tolist()
    ['a']
    """
    return values[values.notna().any(axis=1)]


def percentile_rank(reference: pd.Series | np.ndarray, targets) -> np.ndarray:
    """Percentile rank (0..100) of each target among the reference values, as in the CDC SVI.

    ``100 x (number of reference values strictly lower) / (n - 1)``
    (Excel ``PERCENTRANK.INC``), ``n`` = reference values with a value. A
    missing target, or fewer than 2 reference values, gives NaN.

    Examples
    --------
    >>> percentile_rank(np.array([1.0, 2.0, 3.0, 4.0, 5.0, np.nan]), [1.0, 3.0, 5.0, np.nan]).tolist()
    [0.0, 50.0, 100.0, nan]
    """
    ref = np.asarray(reference, dtype="float64")
    ref = np.sort(ref[np.isfinite(ref)])
    targets = np.asarray(targets, dtype="float64")
    if len(ref) < 2:
        return np.full(targets.shape, np.nan)
    lower = np.searchsorted(ref, targets, side="left").astype("float64")
    return np.where(np.isfinite(targets), 100.0 * lower / (len(ref) - 1), np.nan)


def percentiles(values: pd.DataFrame, scores: pd.DataFrame | None, codes, macro_area: pd.Series,
                south=SOUTH) -> pd.DataFrame:
    """Percentile of each city among all Italian municipalities and among those of the South and Islands.

    Parameters
    ----------
    values : DataFrame
        Every municipality with data x indicators (raw values).
    scores : DataFrame, optional
        Every municipality x focus areas (0..100, scored over all municipalities).
    codes : sequence
        The cities to place (rows of ``values``).
    macro_area : Series
        Municipality -> ISTAT *ripartizione geografica*.
    south : tuple of str
        The macro-areas counted as "South and Islands".

    Returns
    -------
    DataFrame
        One row per city and item: ``istat_code``; ``kind`` (``indicator`` or
        ``area``); ``item`` (indicator id or focus area); ``value`` (the city's
        raw value or area score); ``pct_italy``, ``pct_south`` (0..100; for an
        indicator, higher = higher raw value, read it with the indicator's
        direction; for an area, higher = more need); ``n_italy``, ``n_south``
        (municipalities with a value).

    Examples
    --------
    Made-up values for four made-up municipalities:

    >>> vals = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]}, index=["a", "b", "c", "d"])
    >>> macro = pd.Series(["Nord-ovest", "Sud", "Sud", "Isole"], index=vals.index)
    >>> percentiles(vals, None, ["c"], macro)[["item", "pct_italy", "pct_south"]].values.tolist()
    [['x', 66.66666666666667, 50.0]]
    """
    codes = pd.Index(codes)
    area = macro_area.reindex(values.index)
    is_south = area.isin(list(south)).to_numpy()
    tables = [("indicator", values)]
    if scores is not None:
        tables.append(("area", scores.reindex(columns=list(FOCUS_AREAS))))
    frames = []
    for kind, table in tables:
        for item in table.columns:
            column = table[item].to_numpy(dtype="float64")
            target = table[item].reindex(codes).to_numpy(dtype="float64")
            frames.append(pd.DataFrame({
                "istat_code": codes.astype(str), "kind": kind, "item": item, "value": target,
                "pct_italy": percentile_rank(column, target),
                "pct_south": percentile_rank(column[is_south], target),
                "n_italy": int(np.isfinite(column).sum()),
                "n_south": int(np.isfinite(column[is_south]).sum()),
            }))
    out = pd.concat(frames, ignore_index=True)
    order = {name: i for i, name in enumerate(out["item"].drop_duplicates())}
    out = (out.assign(_k=out["kind"].map({"indicator": 0, "area": 1}), _i=out["item"].map(order))
           .sort_values(["istat_code", "_k", "_i"]).drop(columns=["_k", "_i"]).reset_index(drop=True))
    out["n_italy"] = out["n_italy"].astype("int64")
    out["n_south"] = out["n_south"].astype("int64")
    return out[PERCENTILE_COLUMNS]
