"""From indicators to focus-area scores: normalisation with direction, then aggregation.

Every function takes and returns a DataFrame (cities x indicators or cities x
areas) so that steps compose with ``.pipe``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from cocity_analysis import FOCUS_AREAS


def orient(indicators: pd.DataFrame, directions: pd.Series) -> pd.DataFrame:
    """Flip ``less_need`` indicators so that, for every column, higher means more need.

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [1.0, 3.0], "b": [1.0, 3.0]})
    >>> orient(frame, pd.Series({"a": "more_need", "b": "less_need"}))["b"].tolist()
    [-1.0, -3.0]
    """
    signs = directions.reindex(indicators.columns).map({"more_need": 1.0, "less_need": -1.0})
    if signs.isna().any():
        unknown = list(signs[signs.isna()].index)
        raise ValueError(f"no direction for indicators {unknown}")
    return indicators * signs


def minmax(indicators: pd.DataFrame, directions: pd.Series) -> pd.DataFrame:
    """Min-max normalisation to 0..1 with direction applied (1 = most need among the rows).

    A column with no spread carries no information about differences between
    cities: it becomes missing rather than an arbitrary 0 or 1.

    Examples
    --------
    >>> frame = pd.DataFrame({"income": [10.0, 20.0, 30.0]})
    >>> minmax(frame, pd.Series({"income": "less_need"}))["income"].tolist()
    [1.0, 0.5, 0.0]
    """
    oriented = orient(indicators, directions)
    low, high = oriented.min(), oriented.max()
    spread = (high - low).where(lambda s: s > 0)
    return (oriented - low) / spread


def zscore(indicators: pd.DataFrame, directions: pd.Series) -> pd.DataFrame:
    """Standard scores (population standard deviation) with direction applied.

    Examples
    --------
    >>> frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    >>> zscore(frame, pd.Series({"x": "more_need"}))["x"].round(4).tolist()
    [-1.2247, 0.0, 1.2247]
    """
    oriented = orient(indicators, directions)
    std = oriented.std(ddof=0).where(lambda s: s > 0)
    return (oriented - oriented.mean()) / std


def percentile(indicators: pd.DataFrame, directions: pd.Series) -> pd.DataFrame:
    """Percentile rank in 0..1 with direction applied, as in the CDC/ATSDR SVI.

    The SVI uses Excel's ``PERCENTRANK.INC``: the share of the *other* rows
    with a lower value, ``(rank - 1) / (n - 1)`` with tied values sharing the
    lowest rank. Missing values stay missing and are not counted in ``n``.

    Examples
    --------
    >>> frame = pd.DataFrame({"x": [10.0, 30.0, 20.0, 20.0, None]})
    >>> percentile(frame, pd.Series({"x": "more_need"}))["x"].tolist()
    [0.0, 1.0, 0.3333333333333333, 0.3333333333333333, nan]
    """
    oriented = orient(indicators, directions)
    ranks = oriented.rank(method="min")
    n = oriented.notna().sum()
    return (ranks - 1) / (n - 1).where(lambda s: s > 0)


def distance_to_best(indicators: pd.DataFrame, directions: pd.Series) -> pd.DataFrame:
    """Relative distance from the best-placed row (the one with the least need), >= 0.

    For a ``more_need`` indicator the best value is the minimum, for a
    ``less_need`` one the maximum; the result is ``|x - best| / |best|``: 0
    for the best row, 0.5 for a row whose value is 50% worse than the best
    (JRC/OECD Handbook, "distance to a reference", with the leader as the
    reference). Unlike min-max it keeps ratios, so it is not bounded by 1.
    A column whose best value is 0 has no relative distance: it becomes missing.

    Examples
    --------
    >>> frame = pd.DataFrame({"poor": [10.0, 15.0, 20.0], "income": [100.0, 80.0, 50.0]})
    >>> out = distance_to_best(frame, pd.Series({"poor": "more_need", "income": "less_need"}))
    >>> out["poor"].tolist(), out["income"].tolist()
    ([0.0, 0.5, 1.0], [0.0, 0.2, 0.5])
    """
    oriented = orient(indicators, directions)
    best_raw = oriented.min().abs()
    return (oriented - oriented.min()) / best_raw.where(lambda s: s > 0)


NORMALISERS: dict[str, Callable[[pd.DataFrame, pd.Series], pd.DataFrame]] = {
    "minmax": minmax,
    "zscore": zscore,
    "percentile": percentile,
    "distance_to_best": distance_to_best,
}
#: Normalisations whose values already lie in 0..1 (a score is the aggregate x 100).
BOUNDED = ("minmax", "percentile")
AGGREGATIONS = ("arithmetic", "geometric")


def normalise(indicators: pd.DataFrame, directions: pd.Series, method: str = "minmax") -> pd.DataFrame:
    """Dispatch to one of :data:`NORMALISERS` by name."""
    try:
        normaliser = NORMALISERS[method]
    except KeyError:
        raise ValueError(f"unknown normalisation {method!r}; candidates: {', '.join(NORMALISERS)}") from None
    return normaliser(indicators, directions)


def area_scores(normalised: pd.DataFrame, focus_areas: pd.Series, scale: float = 100.0) -> pd.DataFrame:
    """Focus-area score = arithmetic mean of the area's normalised indicators, times ``scale``.

    Missing indicators of a city are left out of its mean; an area with no
    indicator value for a city stays missing (never 0). Areas with no
    indicator at all are present as all-missing columns.

    Parameters
    ----------
    normalised : DataFrame
        Cities x indicators, from :func:`normalise`.
    focus_areas : Series
        Indicator id -> focus area id.
    scale : float
        100 turns 0..1 min-max values into 0..100 scores.

    Returns
    -------
    DataFrame
        Cities x the four focus areas, in :data:`cocity_analysis.FOCUS_AREAS` order.

    Examples
    --------
    >>> norm = pd.DataFrame({"a": [0.0, 1.0], "b": [1.0, None]})
    >>> area_scores(norm, pd.Series({"a": "poverty", "b": "poverty"}))["poverty"].tolist()
    [50.0, 100.0]
    """
    areas = focus_areas.reindex(normalised.columns)
    columns = {}
    for area in FOCUS_AREAS:
        members = list(areas[areas == area].index)
        if members:
            columns[area] = normalised[members].mean(axis=1, skipna=True) * scale
        else:
            columns[area] = pd.Series(np.nan, index=normalised.index)
    return pd.DataFrame(columns, index=normalised.index)


def indicator_coverage(indicators: pd.DataFrame, focus_areas: pd.Series) -> pd.DataFrame:
    """Per city and focus area, how many of the area's indicators have a value.

    Returns
    -------
    DataFrame
        Cities x areas of integers.
    """
    present = indicators.notna()
    areas = focus_areas.reindex(indicators.columns)
    return pd.DataFrame(
        {area: present[list(areas[areas == area].index)].sum(axis=1) for area in FOCUS_AREAS},
        index=indicators.index,
    ).astype("int64")


def area_matrix(indicator_ids, focus_areas: pd.Series, weights: pd.Series | None = None) -> np.ndarray:
    """Indicators x the four areas: each indicator's weight in the column of its area, 0 elsewhere.

    Multiplying a municipalities x indicators matrix by it sums each area's
    weighted indicators in one step (used by :func:`aggregate` and the Monte Carlo).

    Examples
    --------
    >>> area_matrix(["a", "b"], pd.Series({"a": "housing", "b": "poverty"}))[:, :3].tolist()
    [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    ids = list(indicator_ids)
    areas = focus_areas.reindex(ids)
    w = np.ones(len(ids)) if weights is None else weights.reindex(ids).to_numpy(dtype="float64")
    matrix = np.zeros((len(ids), len(FOCUS_AREAS)))
    for j, area in enumerate(FOCUS_AREAS):
        members = (areas == area).to_numpy()
        matrix[members, j] = w[members]
    return matrix


def geometric_inputs(normalised: pd.DataFrame | np.ndarray) -> np.ndarray:
    """Map every column to [1, 100] (min-max over the rows, then 1 + 99 x), the input of the geometric mean.

    A geometric mean needs strictly positive values, and min-max, percentile
    and distance-to-best values are 0 for the best-placed municipality (a
    z-score is negative half the time). Following COINr's convention, the
    geometric mean is therefore taken on indicators rescaled to [1, 100]: a
    value at the best end weighs like 1 (never 0, which would zero the whole
    area), and the result is brought back to 0..1 by ``(G - 1) / 99``. With
    balanced indicators it equals the arithmetic mean of the min-max values;
    the more unequal they are, the lower it is.

    Examples
    --------
    >>> geometric_inputs(np.array([[0.0], [0.5], [1.0]])).ravel().tolist()
    [1.0, 50.5, 100.0]
    """
    x = np.asarray(normalised, dtype="float64")
    low, spread = _range(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1.0 + 99.0 * (x - low) / spread


def _range(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column minimum and spread ignoring NaN; spread NaN where a column is constant or empty."""
    finite = np.isfinite(x)
    low = np.where(finite, x, np.inf).min(axis=0)
    high = np.where(finite, x, -np.inf).max(axis=0)
    spread = high - low
    ok = np.isfinite(spread) & (spread > 0)
    return np.where(ok, low, np.nan), np.where(ok, spread, np.nan)


def aggregate_arrays(values: np.ndarray, present: np.ndarray, matrix: np.ndarray,
                     aggregation: str = "arithmetic") -> np.ndarray:
    """Core of :func:`aggregate` on numpy arrays (municipalities x indicators -> x areas).

    ``values`` has 0 where ``present`` is 0 (missing); for ``geometric`` it must
    already be ``log(geometric_inputs(...))``. Areas whose present weights sum
    to 0 are NaN.

    Examples
    --------
    >>> matrix = area_matrix(["a", "b"], pd.Series({"a": "poverty", "b": "poverty"}))
    >>> out = aggregate_arrays(np.array([[1.0, 0.0]]), np.array([[1.0, 0.0]]), matrix)  # b missing
    >>> out[0, 2], bool(np.isnan(out[0, 0]))
    (np.float64(1.0), True)
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        total = present @ matrix
        mean = (values @ matrix) / np.where(total > 0, total, np.nan)
        if aggregation == "geometric":
            return (np.exp(mean) - 1.0) / 99.0
        return mean


def aggregate(normalised: pd.DataFrame, focus_areas: pd.Series, weights: pd.Series | None = None,
              aggregation: str = "arithmetic") -> pd.DataFrame:
    """Weighted arithmetic or geometric mean of each area's normalised indicators.

    Missing indicators are left out of a municipality's mean (their weight
    with them); an area with nothing to average stays missing.

    Parameters
    ----------
    normalised : DataFrame
        Municipalities x indicators (the reference set: the geometric rescaling
        to [1, 100] uses its minimum and maximum).
    focus_areas : Series
        Indicator -> focus area.
    weights : Series, optional
        Indicator -> weight (default equal); only ratios within an area matter.
    aggregation : {"arithmetic", "geometric"}
        ``geometric`` works on :func:`geometric_inputs` and returns
        ``(G - 1) / 99`` in 0..1.

    Returns
    -------
    DataFrame
        Municipalities x the four areas: arithmetic in the units of the
        normalisation, geometric in 0..1.

    Examples
    --------
    Two made-up rows with the same arithmetic mean; the imbalanced one is
    punished by the geometric mean:

    >>> norm = pd.DataFrame({"a": [0.5, 1.0, 0.0], "b": [0.5, 0.0, 1.0]})
    >>> areas = pd.Series({"a": "poverty", "b": "poverty"})
    >>> aggregate(norm, areas)["poverty"].tolist()
    [0.5, 0.5, 0.5]
    >>> aggregate(norm, areas, aggregation="geometric")["poverty"].round(4).tolist()
    [0.5, 0.0909, 0.0909]
    """
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation {aggregation!r}; candidates: {', '.join(AGGREGATIONS)}")
    matrix = area_matrix(normalised.columns, focus_areas, weights)
    present = normalised.notna().to_numpy(dtype="float64")
    if aggregation == "geometric":
        with np.errstate(divide="ignore", invalid="ignore"):
            data = np.log(geometric_inputs(normalised))
    else:
        data = normalised.to_numpy(dtype="float64")
    data = np.where(present > 0, data, 0.0)
    present = present * np.isfinite(data)
    data = np.where(np.isfinite(data), data, 0.0)
    out = aggregate_arrays(data, present, matrix, aggregation)
    return pd.DataFrame(out, index=normalised.index, columns=list(FOCUS_AREAS))


def to_scores(aggregated: pd.DataFrame | np.ndarray, normalisation: str, aggregation: str,
              scale: float = 100.0):
    """Bring area aggregates to the 0..100 score scale of ``scores.parquet``.

    Min-max and percentile aggregates, and every geometric aggregate, already
    lie in 0..1: they are multiplied by 100. Arithmetic z-score and
    distance-to-best aggregates are unbounded: they are min-max rescaled over
    the rows (the reference set) per area, so that 0 is the least and 100 the
    most need in that area among the rows. A constant area becomes missing.

    Examples
    --------
    >>> agg = pd.DataFrame({"poverty": [-1.0, 0.0, 3.0]})
    >>> to_scores(agg, "zscore", "arithmetic")["poverty"].tolist()
    [0.0, 25.0, 100.0]
    """
    if aggregation == "geometric" or normalisation in BOUNDED:
        return aggregated * scale
    with np.errstate(invalid="ignore", divide="ignore"):
        if isinstance(aggregated, pd.DataFrame):
            low, high = aggregated.min(), aggregated.max()
            return (aggregated - low) / (high - low).where(lambda s: s > 0) * scale
        low, spread = _range(aggregated)
        return (aggregated - low) / spread * scale


# ---------------------------------------------------------------------------------------------
# Weights
WEIGHTINGS = ("equal", "pca")


def indicator_weights(normalised: pd.DataFrame, focus_areas: pd.Series, spec="equal") -> pd.Series:
    """Weight of each indicator within its focus area (weights of an area sum to 1).

    Parameters
    ----------
    normalised : DataFrame
        Municipalities x normalised indicators (used by ``"pca"`` only).
    focus_areas : Series
        Indicator -> area.
    spec : "equal", "pca" or dict
        ``"equal"``; ``"pca"`` (:func:`pca_weights`); or expert weights
        ``{indicator: weight}`` from the method file (indicators not listed
        weigh 1, a weight of 0 leaves the indicator out).

    Returns
    -------
    Series
        Indicator -> weight, in the column order of ``normalised``.

    Raises
    ------
    ValueError
        Unknown spec, negative weights, or an area whose indicators all weigh 0.

    Examples
    --------
    >>> norm = pd.DataFrame({"a": [0.0, 1.0], "b": [1.0, 0.0], "c": [0.2, 0.4]})
    >>> areas = pd.Series({"a": "poverty", "b": "poverty", "c": "housing"})
    >>> indicator_weights(norm, areas, {"a": 3}).tolist()
    [0.75, 0.25, 1.0]
    """
    ids = list(normalised.columns)
    areas = focus_areas.reindex(ids)
    if isinstance(spec, dict):
        raw = pd.Series({i: float(spec.get(i, 1.0)) for i in ids}, dtype="float64")
    elif spec == "equal":
        raw = pd.Series(1.0, index=ids)
    elif spec == "pca":
        return pca_weights(normalised, focus_areas)
    else:
        raise ValueError(f"unknown indicator weights {spec!r}; candidates: equal, pca or a mapping")
    if (raw < 0).any():
        raise ValueError(f"negative indicator weights: {list(raw.index[raw < 0])}")
    totals = raw.groupby(areas).transform("sum")
    zero = sorted(set(areas[totals == 0]))
    if zero:
        raise ValueError(f"every indicator of focus area(s) {zero} has weight 0")
    return (raw / totals).rename("weight")


def varimax(loadings: np.ndarray, max_iter: int = 500, tol: float = 1e-10) -> np.ndarray:
    """Varimax rotation of a loadings matrix (indicators x components).

    Examples
    --------
    >>> L = np.array([[0.8, 0.3], [0.7, 0.4], [0.3, 0.8], [0.2, 0.9]])
    >>> bool(np.allclose((varimax(L) ** 2).sum(), (L ** 2).sum()))   # communalities kept
    True
    """
    p, k = loadings.shape
    if k < 2:
        return loadings.copy()
    rotation = np.eye(k)
    criterion = 0.0
    for _ in range(max_iter):
        rotated = loadings @ rotation
        u, s, vt = np.linalg.svd(loadings.T @ (rotated ** 3 - rotated * (rotated ** 2).sum(axis=0) / p))
        rotation = u @ vt
        previous, criterion = criterion, s.sum()
        if previous and criterion < previous * (1 + tol):
            break
    return loadings @ rotation


def pca_weights(normalised: pd.DataFrame, focus_areas: pd.Series) -> pd.Series:
    """PCA-derived weights within each focus area (Nicoletti et al., as in the JRC/OECD Handbook).

    For each area with two or more indicators, on the rows where all of them
    have a value: principal components of the correlation matrix (scikit-learn's
    ``PCA`` of the standardised indicators); components
    with eigenvalue > 1 are kept (at least one) and varimax-rotated; each
    indicator's squared loadings are scaled to unit sum per component; its
    weight is its largest scaled squared loading times that component's share
    of the variance explained by the kept components. Weights are then scaled
    to sum to 1 in the area. An area with a single indicator, fewer complete
    rows than indicators + 2, or a constant indicator gets equal weights.

    Returns
    -------
    Series
        Indicator -> weight (sums to 1 per area).

    Examples
    --------
    A made-up area where ``c`` is pure noise relative to the shared factor of ``a`` and ``b``
    still gets a weight (it forms its own component), but ``a`` and ``b`` share theirs:

    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=200)
    >>> norm = pd.DataFrame({"a": f + rng.normal(scale=.3, size=200),
    ...                      "b": f + rng.normal(scale=.3, size=200), "c": rng.normal(size=200)})
    >>> w = pca_weights(norm, pd.Series({"a": "poverty", "b": "poverty", "c": "poverty"}))
    >>> round(float(w.sum()), 6), bool(abs(w["a"] - w["b"]) < 0.05)
    (1.0, True)
    """
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    ids = list(normalised.columns)
    areas = focus_areas.reindex(ids)
    weights = pd.Series(1.0, index=ids, dtype="float64")
    for area in pd.unique(areas.dropna()):
        members = list(areas[areas == area].index)
        if len(members) < 2:
            continue
        block = normalised[members].dropna()
        std = block.std(ddof=0)
        if len(block) < len(members) + 2 or (std == 0).any():
            continue
        standardised = StandardScaler().fit_transform(block.to_numpy(dtype="float64"))
        model = PCA(svd_solver="full", random_state=0).fit(standardised)
        # PCA divides by n - 1; the correlation matrix's eigenvalues (the Kaiser rule's) by n
        eigenvalues = model.explained_variance_ * (len(block) - 1) / len(block)
        kept = max(1, int((eigenvalues > 1.0).sum()))
        loadings = model.components_[:kept].T * np.sqrt(np.clip(eigenvalues[:kept], 0, None))
        loadings = varimax(loadings)
        squared = loadings ** 2
        explained = squared.sum(axis=0)
        scaled = squared / explained
        share = explained / explained.sum()
        w = (scaled * share).max(axis=1)
        weights[members] = w / w.sum()
    totals = weights.groupby(areas).transform("sum")
    return (weights / totals).rename("weight")


def composite_scores(normalised: pd.DataFrame, focus_areas: pd.Series, normalisation: str = "minmax",
                     aggregation: str = "arithmetic", weights: pd.Series | None = None) -> pd.DataFrame:
    """Normalised indicators -> 0..100 focus-area scores (:func:`aggregate` then :func:`to_scores`).

    Examples
    --------
    >>> norm = pd.DataFrame({"a": [0.0, 1.0], "b": [1.0, 1.0]})
    >>> composite_scores(norm, pd.Series({"a": "poverty", "b": "poverty"}))["poverty"].tolist()
    [50.0, 100.0]
    """
    return to_scores(aggregate(normalised, focus_areas, weights, aggregation), normalisation, aggregation)
