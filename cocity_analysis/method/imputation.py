"""Missing data: imputation with a flag per imputed cell, and the "dati insufficienti" rule.

Three choices (``imputation`` in the method file):

* ``none`` — nothing is filled in; a focus-area score is the (weighted) mean of
  the indicators the municipality has;
* ``median_region`` — the median of the indicator among the municipalities of
  the same region (donors: every row passed in, not only the cities analysed);
  a region with no donor leaves the cell missing;
* ``knn`` — the mean of the ``n_neighbours`` most similar municipalities on the
  other indicators (standardised, nan-Euclidean distance, scikit-learn's
  ``KNNImputer``).

Whatever the choice, a municipality missing more than a third of an area's
indicators gets that area marked *dati insufficienti* and no score
(:func:`area_status`): imputation never manufactures a score from mostly
imputed values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cocity_analysis import FOCUS_AREAS

METHODS = ("none", "median_region", "knn")
MAX_MISSING_SHARE = 1 / 3

STATUS_OK = ("ok", "ok")
STATUS_INSUFFICIENT = ("dati insufficienti", "insufficient data")
STATUS_NO_DATA = ("dati non disponibili", "no data available")


def impute(values: pd.DataFrame, method: str = "none", regions: pd.Series | None = None, *,
           n_neighbours: int = 5, rows: pd.Index | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fill missing indicator values and flag every filled cell.

    Parameters
    ----------
    values : DataFrame
        Municipalities x indicators (raw values). All rows serve as donors.
    method : {"none", "median_region", "knn"}
    regions : Series, optional
        Municipality -> region; required by ``median_region``.
    n_neighbours : int
        Donors for ``knn``.
    rows : Index, optional
        Only these rows are filled (the others are donors only); default all.

    Returns
    -------
    imputed : DataFrame
        Same shape as ``values``.
    flags : DataFrame of bool
        True exactly where a missing value was filled in.

    Raises
    ------
    ValueError
        Unknown method, or ``median_region`` without ``regions``.

    Examples
    --------
    >>> frame = pd.DataFrame({"x": [1.0, 3.0, None, 10.0]}, index=list("abcd"))
    >>> regions = pd.Series(["R1", "R1", "R1", "R2"], index=list("abcd"))
    >>> filled, flags = impute(frame, "median_region", regions)
    >>> filled["x"].tolist(), flags["x"].tolist()
    ([1.0, 3.0, 2.0, 10.0], [False, False, True, False])
    """
    if method not in METHODS:
        raise ValueError(f"unknown imputation {method!r}; candidates: {', '.join(METHODS)}")
    data = values.astype("float64")
    missing = data.isna()
    if rows is not None and not data.index.equals(pd.Index(rows)):
        wanted = set(np.asarray(rows, dtype=object))
        target = np.fromiter((code in wanted for code in data.index.to_numpy(dtype=object)), dtype=bool,
                             count=len(data))
        missing = missing & target[:, None]
    if method == "none" or not missing.to_numpy().any():
        return data.copy(), pd.DataFrame(False, index=data.index, columns=data.columns)
    if method == "median_region":
        if regions is None:
            raise ValueError("imputation 'median_region' needs the region of every municipality (regions=)")
        region = regions.reindex(data.index)
        if region.isna().any():
            unknown = list(region.index[region.isna()][:5])
            raise ValueError(f"no region for municipalities {unknown}")
        medians = data.groupby(region.to_numpy()).transform("median")
        filled = data.where(~missing, medians)
    else:
        filled = _knn(data, missing, n_neighbours)
    flags = missing & filled.notna()
    return filled, flags


def _knn(data: pd.DataFrame, missing: pd.DataFrame, n_neighbours: int) -> pd.DataFrame:
    """kNN imputation with scikit-learn's ``KNNImputer``; donors are the rows with every indicator.

    Indicators are standardised (mean 0, sd 1 over all rows) so that no unit
    dominates the distance; ``KNNImputer`` is fitted on the complete rows (the
    donors) and fills each missing cell with the mean of the ``n_neighbours``
    nearest donors (nan-Euclidean distance over the indicators the row has).
    """
    from sklearn.impute import KNNImputer

    usable = [c for c in data.columns if data[c].notna().any()]
    matrix = data[usable].to_numpy(dtype="float64")
    observed = np.isfinite(matrix)
    mean = np.nanmean(matrix, axis=0)
    std = np.nanstd(matrix, axis=0)
    std = np.where(std > 0, std, 1.0)
    scaled = (matrix - mean) / std
    donors = observed.all(axis=1)
    needs = np.flatnonzero(missing[usable].to_numpy().any(axis=1) & observed.any(axis=1))
    out = data.copy()
    if not len(needs) or not donors.any():
        return out
    import sklearn

    k = min(int(n_neighbours), int(donors.sum()))
    with sklearn.config_context(working_memory=64):  # distance blocks of 64 MB, not 1 GB (peak memory)
        filled = knn_complete_donors(scaled[donors], scaled[needs], k)
        if filled is None:
            filled = KNNImputer(n_neighbors=k, keep_empty_features=True).fit(scaled[donors]).transform(scaled[needs])
    filled = filled * std + mean
    wanted = missing[usable].to_numpy()[needs]
    out.loc[data.index[needs], usable] = np.where(wanted, filled, matrix[needs])
    return out


def knn_complete_donors(donors: np.ndarray, receivers: np.ndarray, n_neighbours: int) -> np.ndarray | None:
    """``KNNImputer(n_neighbors=n_neighbours).fit(donors).transform(receivers)`` when no donor has a gap.

    scikit-learn's ``KNNImputer`` looks for the nearest donors once per missing *column*
    (the donors that have that column). When every donor row is complete those are the
    same donors for all the columns of a receiver, so here they are found once per
    receiver: the distances come from the same ``pairwise_distances_chunked`` call
    (nan-Euclidean, in the same blocks), the donors from the same ``argpartition`` of
    each row and the values from the same ``np.ma.average``, so the result is the
    imputer's, bit for bit (``tests/test_imputation.py``), at about a third of its time
    (``benchmarks/bench_knn.py``; it counts towards ``prepare``'s 10 s).

    Parameters
    ----------
    donors : ndarray
        Donor rows x columns, no missing value.
    receivers : ndarray
        Rows to fill (NaN = missing), the same columns.
    n_neighbours : int
        Donors averaged per cell (at most ``len(donors)``).

    Returns
    -------
    ndarray or None
        ``receivers`` with every NaN filled; None when the shortcut does not apply (a donor
        with a gap, a receiver with no value in common with the donors): then use
        ``KNNImputer``.

    Examples
    --------
    >>> donors = np.array([[0.0, 0.0], [1.0, 10.0], [5.0, 50.0]])
    >>> knn_complete_donors(donors, np.array([[0.9, np.nan]]), 2).tolist()
    [[0.9, 5.0]]
    """
    from sklearn.metrics import pairwise_distances_chunked

    donors = np.asarray(donors, dtype="float64")
    receivers = np.array(receivers, dtype="float64")  # a copy: filled in place
    if np.isnan(donors).any() or not 1 <= n_neighbours <= len(donors):
        return None
    mask = np.isnan(receivers)
    rows = np.flatnonzero(mask.any(axis=1))
    if not len(rows):
        return receivers
    no_donor = []

    def fill_block(distances, start):
        if np.isnan(distances).all(axis=1).any():
            no_donor.append(start)  # KNNImputer gives such a receiver the column mean
            return None
        block = rows[start:start + len(distances)]
        nearest = np.argpartition(distances, n_neighbours - 1, axis=1)[:, :n_neighbours]
        weights = np.where(np.isnan(distances[np.arange(len(block))[:, None], nearest]), 0.0, 1.0)
        for col in np.flatnonzero(mask[block].any(axis=0)):
            wanted = np.flatnonzero(mask[block, col])
            values = np.ma.array(donors[:, col].take(nearest[wanted]),
                                 mask=np.zeros((len(wanted), n_neighbours), dtype=bool))
            receivers[block[wanted], col] = np.ma.average(values, axis=1, weights=weights[wanted]).data
        return None

    for _ in pairwise_distances_chunked(receivers[rows, :], donors, metric="nan_euclidean", missing_values=np.nan,
                                        ensure_all_finite="allow-nan", reduce_func=fill_block):
        if no_donor:
            return None
    return receivers


def insufficient(values: pd.DataFrame, focus_areas: pd.Series,
                 max_missing_share: float = MAX_MISSING_SHARE) -> pd.DataFrame:
    """Municipality x area: True where more than ``max_missing_share`` of the area's indicators are missing.

    Judged on the values *before* imputation. Areas without indicators are False
    here (they are "dati non disponibili", see :func:`area_status`).

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [1.0, None], "b": [1.0, 2.0], "c": [1.0, 2.0]})
    >>> areas = pd.Series({"a": "poverty", "b": "poverty", "c": "poverty"})
    >>> insufficient(frame, areas)["poverty"].tolist()   # 1 of 3 missing is not more than a third
    [False, False]
    >>> insufficient(frame.assign(b=[1.0, None]), areas)["poverty"].tolist()
    [False, True]
    """
    areas = focus_areas.reindex(values.columns)
    missing = values.isna()
    out = {}
    for area in FOCUS_AREAS:
        members = list(areas[areas == area].index)
        if members:
            out[area] = missing[members].sum(axis=1) > max_missing_share * len(members)
        else:
            out[area] = pd.Series(False, index=values.index)
    return pd.DataFrame(out, index=values.index)


def area_status(values: pd.DataFrame, focus_areas: pd.Series,
                max_missing_share: float = MAX_MISSING_SHARE) -> pd.DataFrame:
    """Per municipality and focus area: how many indicators it has, and whether the area can be scored.

    Returns
    -------
    DataFrame
        Long table ``istat_code``, ``focus_area``, ``n_indicators`` (indicators
        of the area in the analysis), ``n_missing`` (before imputation),
        ``status`` (``ok`` | ``dati insufficienti`` | ``dati non disponibili``:
        the area has no indicator, or none with a value for the municipality)
        and ``status_en`` (``ok`` | ``insufficient data`` | ``no data available``).

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [1.0, None], "b": [2.0, None]},
    ...                      index=pd.Index(["000001", "000002"], name="istat_code"))
    >>> table = area_status(frame, pd.Series({"a": "housing", "b": "housing"}))
    >>> table[table.focus_area == "housing"]["status"].tolist()
    ['ok', 'dati non disponibili']
    >>> table = area_status(frame.assign(b=[2.0, 3.0]), pd.Series({"a": "housing", "b": "housing"}))
    >>> table[table.focus_area == "housing"]["status"].tolist()   # 1 of 2 missing: more than a third
    ['ok', 'dati insufficienti']
    """
    areas = focus_areas.reindex(values.columns)
    flags = insufficient(values, focus_areas, max_missing_share)
    missing = values.isna()
    frames = []
    for area in FOCUS_AREAS:
        members = list(areas[areas == area].index)
        n_missing = missing[members].sum(axis=1).astype("int64") if members else pd.Series(0, index=values.index)
        if not members:
            status = np.full(len(values), STATUS_NO_DATA[0], dtype=object)
            status_en = np.full(len(values), STATUS_NO_DATA[1], dtype=object)
        else:
            bad = flags[area].to_numpy()
            # no figure at all for the municipality: "dati non disponibili", never filled in
            none = (n_missing == len(members)).to_numpy()
            status = np.where(none, STATUS_NO_DATA[0],
                              np.where(bad, STATUS_INSUFFICIENT[0], STATUS_OK[0])).astype(object)
            status_en = np.where(none, STATUS_NO_DATA[1],
                                 np.where(bad, STATUS_INSUFFICIENT[1], STATUS_OK[1])).astype(object)
        frames.append(pd.DataFrame({"istat_code": values.index.to_numpy(), "focus_area": area,
                                    "n_indicators": len(members), "n_missing": n_missing.to_numpy(),
                                    "status": status, "status_en": status_en}))
    table = pd.concat(frames, ignore_index=True)
    order = {a: i for i, a in enumerate(FOCUS_AREAS)}
    table = (table.assign(_o=table["focus_area"].map(order)).sort_values(["istat_code", "_o"])
             .drop(columns="_o").reset_index(drop=True))
    table["n_indicators"] = table["n_indicators"].astype("int64")
    table["n_missing"] = table["n_missing"].astype("int64")
    table["status"] = table["status"].astype(str)
    table["status_en"] = table["status_en"].astype(str)
    return table
