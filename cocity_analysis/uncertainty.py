"""Uncertainty analysis of each city's priorities (Monte Carlo, JRC/OECD Handbook ch. 7, COINr).

A city's ranking of the four focus areas rests on choices an analyst could
have made otherwise. :func:`monte_carlo` redoes the ranking many times, each
run drawing:

* an imputation and a normalisation (uniformly among ``mc_imputations`` and
  ``mc_normalisations`` of the method, plus the chosen ones);
* an aggregation (``mc_aggregations``, arithmetic or geometric);
* indicator weights from a Dirichlet distribution centred on the chosen
  weights of each area (``dirichlet_concentration`` sets how far they stray).

The treatment and the "dati insufficienti" rule are the same in every run.
Every imputation x normalisation variant is computed once; a run then costs
one weighted aggregation and one ranking, vectorised over municipalities
(numpy arrays; the only Python loop is over runs). Per municipality and area
it returns ``rank_median``, ``rank_p05``, ``rank_p95`` (quantiles of the rank
over the runs, inverted-CDF so they are ranks that occurred) and ``share_top``
(share of runs in which the area ranks first; sums to 1 over the areas with
data).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import FOCUS_AREAS, composite, scoring, treatment
from .method import MC_CHOICES, Method

N_AREAS = len(FOCUS_AREAS)
#: Score cells (runs x areas x municipalities) per block of runs: bounds the memory of a block
#: (8 bytes x 256,000 = 2 MB per array, cache-sized) whatever the number of municipalities.
BLOCK_CELLS = 256_000
QUANTILES = {"rank_p05": 0.05, "rank_median": 0.5, "rank_p95": 0.95}


@dataclass
class Variant:
    """One imputation x normalisation variant of the normalised indicators, as arrays.

    ``values``/``present`` feed the arithmetic mean, ``log_values``/``log_present``
    the geometric mean (``log`` of :func:`composite.geometric_inputs`).
    """

    imputation: str
    normalisation: str
    values: np.ndarray
    present: np.ndarray
    log_values: np.ndarray
    log_present: np.ndarray
    transposed: tuple | None = None


@dataclass
class MonteCarloResult:
    """Outcome of :func:`monte_carlo`.

    Attributes
    ----------
    summary : DataFrame
        Long table ``istat_code``, ``focus_area``, ``rank_median``, ``rank_p05``,
        ``rank_p95`` (Int64, <NA> for areas without data) and ``share_top``
        (float, NaN for areas without data).
    counts : ndarray
        Municipalities x areas x (ranks 0..4): how many runs gave each rank
        (0 = no score in that run).
    draws : DataFrame
        One row per run: ``imputation``, ``normalisation``, ``aggregation``.
    runs : int
    random_state : int
    """

    summary: pd.DataFrame
    counts: np.ndarray
    draws: pd.DataFrame
    runs: int
    random_state: int


def alternatives(method: Method) -> dict[str, list[str]]:
    """The alternatives each run draws from: the ``mc_*`` lists plus the chosen value.

    Examples
    --------
    >>> alternatives(Method(normalisation="distance_to_best"))["normalisation"]
    ['minmax', 'zscore', 'percentile', 'distance_to_best']
    """
    out = {}
    for key, single in MC_CHOICES.items():
        options = list(dict.fromkeys(getattr(method, key)))
        chosen = getattr(method, single)
        if chosen not in options:
            options.append(chosen)
        out[single] = options
    return out


def build_variants(values: pd.DataFrame, catalogue: pd.DataFrame, method: Method, *,
                   regions: pd.Series | None = None, donors: pd.DataFrame | None = None,
                   treated: dict | None = None) -> list[Variant]:
    """Every imputation x normalisation variant of the reference set, treated as in ``method``.

    ``treated`` may give already treated values per imputation name (e.g. the
    chosen one, from :func:`scoring.score`) so that they are not recomputed.

    Examples
    --------
    >>> cat = pd.DataFrame({"direction": ["more_need"], "focus_area": ["poverty"]}, index=["a"])
    >>> vals = pd.DataFrame({"a": [1.0, 2.0, 4.0]})
    >>> [(v.imputation, v.normalisation) for v in build_variants(vals, cat, Method(
    ...     mc_imputations=("none",), mc_normalisations=("minmax", "percentile")))]
    [('none', 'minmax'), ('none', 'percentile')]
    """
    directions = catalogue["direction"]
    options = alternatives(method)
    variants = []
    for imputation_name in options["imputation"]:
        if treated and imputation_name in treated:
            treated_values = treated[imputation_name]
        else:
            imputed, _ = scoring.impute_rows(values, imputation_name, regions=regions, donors=donors,
                                             n_neighbours=method.knn_neighbours)
            treated_values, _ = treatment.treat(imputed, method.winsor_max_points, enabled=method.treatment)
        for normalisation in options["normalisation"]:
            norm = composite.normalise(treated_values, directions, normalisation).to_numpy(dtype="float64")
            present = np.isfinite(norm)
            with np.errstate(divide="ignore", invalid="ignore"):
                logs = np.log(composite.geometric_inputs(norm))
            log_present = np.isfinite(logs)
            variants.append(Variant(
                imputation=imputation_name, normalisation=normalisation,
                values=np.where(present, norm, 0.0), present=present.astype("float64"),
                log_values=np.where(log_present, logs, 0.0), log_present=log_present.astype("float64")))
    return variants


def rank_matrix(scores: np.ndarray) -> np.ndarray:
    """Rank the areas of every row (1 = highest score); 0 where the score is missing.

    Ties keep the fixed area order, as :func:`priorities.rank_areas`.

    Examples
    --------
    >>> rank_matrix(np.array([[10.0, 30.0, 30.0, np.nan]])).tolist()
    [[3, 1, 2, 0]]
    """
    scores = np.asarray(scores, dtype="float64")
    return _rank_areas(np.ascontiguousarray(scores.T)[None])[0].T.astype(np.int64)


def _rank_areas(scores: np.ndarray) -> np.ndarray:
    """:func:`rank_matrix` on runs x areas x municipalities (each area's scores contiguous)."""
    valid = np.isfinite(scores)
    s = np.where(valid, scores, -np.inf)
    n_areas = s.shape[1]
    ranks = np.ones(s.shape, dtype=np.int8)
    # A loop over the 4 x 3 pairs of areas, vectorised over runs and municipalities: area b
    # outranks area a when its score is higher, or equal and b comes first (missing = -inf).
    for a in range(n_areas):
        for b in range(n_areas):
            if b < a:
                ranks[:, a] += s[:, b] >= s[:, a]
            elif b > a:
                ranks[:, a] += s[:, b] > s[:, a]
    ranks[~valid] = 0
    return ranks


def _score_scale(aggregated: np.ndarray, normalisation: str, aggregation: str) -> np.ndarray:
    """:func:`composite.to_scores` along the last axis (municipalities) of a runs x areas x rows array."""
    if aggregation == "geometric" or normalisation in composite.BOUNDED:
        return aggregated * 100.0
    finite = np.isfinite(aggregated)
    low = np.where(finite, aggregated, np.inf).min(axis=-1, keepdims=True)
    high = np.where(finite, aggregated, -np.inf).max(axis=-1, keepdims=True)
    spread = high - low
    ok = np.isfinite(spread) & (spread > 0)
    return (aggregated - np.where(ok, low, np.nan)) / np.where(ok, spread, np.nan) * 100.0


def _dirichlet_weights(rng: np.random.Generator, base: np.ndarray, areas: np.ndarray, runs: int,
                       concentration: float) -> np.ndarray:
    """Runs x indicators weights: a Dirichlet draw per area centred on ``base`` (sums to 1 per area)."""
    draws = np.tile(base, (runs, 1))
    for j in range(N_AREAS):
        members = np.flatnonzero((areas == j) & (base > 0))
        if len(members) >= 2:
            alpha = concentration * base[members] / base[members].sum()
            draws[:, members] = rng.dirichlet(alpha, size=runs)
    return draws


def simulate(variants: list[Variant], focus_areas: np.ndarray, base_weights: np.ndarray,
             insufficient: np.ndarray, area_weights: np.ndarray, *, runs: int, random_state: int,
             aggregations=("arithmetic", "geometric"), concentration: float = 20.0,
             rows: np.ndarray | None = None) -> tuple[np.ndarray, pd.DataFrame]:
    """Core Monte Carlo on arrays; returns the rank counts and the draws.

    Parameters
    ----------
    variants : list of Variant
        From :func:`build_variants` (rows = reference set).
    focus_areas : ndarray of int
        Area position (0..3 in :data:`FOCUS_AREAS`) of each indicator column.
    base_weights : ndarray
        Chosen indicator weights (sum 1 per area).
    insufficient : ndarray of bool
        Reference rows x areas; True = no score whatever the run.
    area_weights : ndarray
        Weight of each area in the ranking (as in ``priorities``).
    runs, random_state : int
    aggregations : sequence of str
    concentration : float
    rows : ndarray of int, optional
        Positions of the rows to rank (default all).

    Returns
    -------
    counts : ndarray
        ``len(rows)`` x areas x 5 (rank 0 = missing, 1..4).
    draws : DataFrame

    Examples
    --------
    One made-up variant, two municipalities, one indicator per area for the first three areas:

    >>> values = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]])
    >>> variant = Variant("none", "minmax", values, np.ones_like(values), np.log(1 + 99 * values),
    ...                   np.ones_like(values))
    >>> counts, draws = simulate([variant], np.array([0, 1, 2]), np.ones(3), np.zeros((2, 4), bool),
    ...                          np.ones(4), runs=10, random_state=0, aggregations=("arithmetic",))
    >>> counts[0, 0].tolist(), counts[1, 1].tolist()     # always first: rank 1 in all 10 runs
    ([0, 10, 0, 0, 0], [0, 10, 0, 0, 0])
    """
    rng = np.random.default_rng(random_state)
    n = variants[0].values.shape[0]
    rows = np.arange(n) if rows is None else np.asarray(rows)
    variant_of_run = rng.integers(len(variants), size=runs)
    aggregation_of_run = rng.integers(len(aggregations), size=runs)
    weights = _dirichlet_weights(rng, np.asarray(base_weights, dtype="float64"), focus_areas, runs, concentration)
    membership = (np.arange(N_AREAS)[:, None] == focus_areas[None, :]).astype("float64")  # areas x indicators
    mask = np.ascontiguousarray(np.asarray(insufficient, dtype=bool).T)[None]                # 1 x areas x rows
    area_weights = np.asarray(area_weights, dtype="float64")[None, :, None]
    m = len(rows)
    every_row = m == n and np.array_equal(rows, np.arange(n))
    counts = np.zeros((N_AREAS + 1, N_AREAS, m), dtype=np.int64)  # rank x area x municipality
    block = max(1, int(BLOCK_CELLS // max(1, N_AREAS * n)))
    # Small matrix products: BLAS threads only contend with each other here (and on a
    # shared machine); one thread is several times faster. Scoped: restored on exit.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        _simulate_blocks(variants, aggregations, variant_of_run, aggregation_of_run, weights, membership,
                         mask, area_weights, rows, every_row, counts, block, n)
    draws = pd.DataFrame({
        "imputation": [variants[i].imputation for i in variant_of_run],
        "normalisation": [variants[i].normalisation for i in variant_of_run],
        "aggregation": [aggregations[i] for i in aggregation_of_run],
    })
    counts[0] = runs - counts[1:].sum(axis=0)  # runs without a score
    return np.ascontiguousarray(counts.transpose(2, 1, 0)), draws


def _simulate_blocks(variants, aggregations, variant_of_run, aggregation_of_run, weights, membership, mask,
                     area_weights, rows, every_row, counts, block, n) -> None:
    """The loop of :func:`simulate`; adds the rank counts of every run into ``counts``."""
    # Runs sharing a variant and an aggregation differ only by their weights: they are done
    # together, a block of runs per matrix product (arrays over municipalities, loops over runs).
    for v, variant in enumerate(variants):
        # transposed layout (indicators x municipalities): each area's scores are contiguous
        if variant.transposed is None:
            variant.transposed = tuple(np.ascontiguousarray(a.T) for a in (
                variant.values, variant.present, variant.log_values, variant.log_present))
        values, present, log_values, log_present = variant.transposed
        for g, aggregation in enumerate(aggregations):
            selected = np.flatnonzero((variant_of_run == v) & (aggregation_of_run == g))
            geometric = aggregation == "geometric"
            data, have = (log_values, log_present) if geometric else (values, present)
            complete = bool(have.all())
            for start in range(0, len(selected), block):
                chunk = selected[start:start + block]
                matrix = (membership[None] * weights[chunk][:, None, :]).reshape(-1, membership.shape[1])
                with np.errstate(invalid="ignore", divide="ignore"):
                    if complete:
                        total = matrix.sum(axis=1)[:, None]
                        total = np.where(total > 0, total, np.nan)
                    else:
                        total = matrix @ have
                        total[total <= 0] = np.nan
                    agg = (matrix @ data) / total
                    if geometric:
                        agg = (np.exp(agg) - 1.0) / 99.0
                    scores = _score_scale(agg.reshape(len(chunk), N_AREAS, n), variant.normalisation, aggregation)
                if mask.any():
                    scores = np.where(mask, np.nan, scores)
                if (area_weights != 1).any():
                    scores = scores * area_weights
                ranks = _rank_areas(scores if every_row else scores[:, :, rows])
                for rank in range(1, N_AREAS + 1):
                    counts[rank] += np.count_nonzero(ranks == rank, axis=0)


def summarise(counts: np.ndarray, index: pd.Index, runs: int) -> pd.DataFrame:
    """Rank quantiles and ``share_top`` from the rank counts of :func:`simulate`.

    Examples
    --------
    >>> counts = np.zeros((1, 4, 5), dtype=int)
    >>> counts[0, 0, [1, 2]] = [70, 30]; counts[0, 1, [1, 2]] = [30, 70]; counts[0, 2, 3] = 100
    >>> counts[0, 3, 0] = 100
    >>> out = summarise(counts, pd.Index(["000001"]), 100)
    >>> out["share_top"].tolist()
    [0.7, 0.3, 0.0, nan]
    >>> out["rank_p95"].tolist()
    [2, 2, 3, <NA>]
    """
    ranked = counts[:, :, 1:]
    total = ranked.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        cdf = np.cumsum(ranked, axis=2) / total[:, :, None]
        columns = {}
        for name, q in QUANTILES.items():
            position = np.argmax(cdf >= q - 1e-12, axis=2) + 1
            columns[name] = pd.array(np.where(total > 0, position, 0).ravel(), dtype="Int64")
            columns[name][(total == 0).ravel()] = pd.NA
        share = np.where(total > 0, counts[:, :, 1] / runs, np.nan)
    frame = pd.DataFrame({
        "istat_code": np.repeat(np.asarray(index, dtype=object), N_AREAS).astype(str),
        "focus_area": np.tile(np.array(FOCUS_AREAS, dtype=object), len(index)).astype(str),
        "rank_median": columns["rank_median"], "rank_p05": columns["rank_p05"],
        "rank_p95": columns["rank_p95"], "share_top": share.ravel(),
    })
    return frame


def monte_carlo(values: pd.DataFrame, catalogue: pd.DataFrame, method: Method, *, random_state: int,
                runs: int | None = None, regions: pd.Series | None = None,
                donors: pd.DataFrame | None = None, rows: pd.Index | None = None,
                chosen: scoring.Scoring | None = None) -> MonteCarloResult:
    """Monte Carlo of the per-municipality ranking of the four focus areas.

    Parameters
    ----------
    values : DataFrame
        Reference set x indicators (raw), as passed to :func:`scoring.score`.
    catalogue : DataFrame
    method : Method
        Chosen choices (the centre of the simulation) and the ``mc_*`` alternatives.
    random_state : int
        Seed; the same seed gives the same result.
    runs : int, optional
        Default ``method.monte_carlo_runs``.
    regions, donors :
        As in :func:`scoring.score`.
    rows : Index, optional
        Municipalities to report (default every row of ``values``).
    chosen : Scoring, optional
        :func:`scoring.score` of ``values`` with ``method`` (its weights are the
        centre of the Dirichlet, its treated values are reused); computed when not given.

    Returns
    -------
    MonteCarloResult

    Examples
    --------
    Made-up indicators for 30 made-up municipalities:

    >>> rng = np.random.default_rng(0)
    >>> cat = pd.DataFrame({"direction": ["more_need"] * 3,
    ...                     "focus_area": ["poverty", "housing", "housing"]}, index=list("abc"))
    >>> vals = pd.DataFrame(rng.random((30, 3)), columns=list("abc"), index=[f"m{i}" for i in range(30)])
    >>> result = monte_carlo(vals, cat, Method(mc_imputations=("none",)), random_state=1, runs=200)
    >>> bool(np.allclose(result.summary.groupby("istat_code")["share_top"].sum(), 1.0))
    True
    """
    runs = int(method.monte_carlo_runs if runs is None else runs)
    if runs < 1:
        raise ValueError("runs must be at least 1")
    from .indicators import need_ids

    need = need_ids(catalogue, values.columns)
    if need != list(values.columns):  # context indicators never count
        same = donors is values
        values = values[need]
        donors = values if same else donors
    areas = catalogue["focus_area"].reindex(values.columns)
    if areas.isna().any():
        raise ValueError(f"indicators not in the catalogue: {list(areas.index[areas.isna()])}")
    area_positions = areas.map({a: i for i, a in enumerate(FOCUS_AREAS)}).to_numpy(dtype=int)
    if chosen is None:
        chosen = scoring.score(values, catalogue, method, regions=regions, donors=donors)
    variants = build_variants(values, catalogue, method, regions=regions, donors=donors,
                              treated={method.imputation: chosen.treated})
    from .imputation import insufficient as insufficient_mask

    mask = insufficient_mask(values, catalogue["focus_area"]).reindex(columns=list(FOCUS_AREAS)).to_numpy()
    out_index = values.index if rows is None else pd.Index(rows)
    positions = values.index.get_indexer(out_index)
    if (positions < 0).any():
        raise ValueError("rows must be municipalities of values")
    area_weights = np.array([float(method.area_weights[a]) for a in FOCUS_AREAS])
    counts, draws = simulate(
        variants, area_positions, chosen.weights.reindex(values.columns).to_numpy(dtype="float64"), mask,
        area_weights, runs=runs, random_state=random_state, aggregations=alternatives(method)["aggregation"],
        concentration=float(method.dirichlet_concentration), rows=positions)
    return MonteCarloResult(summary=summarise(counts, out_index, runs), counts=counts, draws=draws,
                            runs=runs, random_state=random_state)
