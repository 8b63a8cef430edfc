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

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from cocity_analysis import FOCUS_AREAS
from cocity_analysis.method import composite, scoring, treatment
from cocity_analysis.method.choices import MC_CHOICES, Method

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
    choices : DataFrame
        :data:`CHOICE_COLUMNS`: every uncertain input, whether it was varied
        (``tested``) and, if not, why (``note``).
    sensitivity : DataFrame
        :data:`SENSITIVITY_COLUMNS`, see :func:`sensitivity`.
    """

    summary: pd.DataFrame
    counts: np.ndarray
    draws: pd.DataFrame
    runs: int
    random_state: int
    choices: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CHOICE_COLUMNS))
    sensitivity: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SENSITIVITY_COLUMNS))


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
                   treated: dict | None = None, report: bool = False):
    """Every imputation x normalisation variant of the reference set, treated as in ``method``.

    ``treated`` may give already treated values per imputation name (e.g. the
    chosen one, from :func:`scoring.score`) so that they are not recomputed.
    An imputation whose treated values equal those of one already kept (no cell
    imputed) is dropped: it would change nothing, so it is not a tested choice.
    With ``report=True`` returns ``(variants, untested)``, ``untested`` a list of
    ``(choice, note)``.

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
    kept_treated: list[tuple[str, pd.DataFrame]] = []
    untested = []
    order = [method.imputation] + [i for i in options["imputation"] if i != method.imputation]
    for imputation_name in order:
        if treated and imputation_name in treated:
            treated_values = treated[imputation_name]
        else:
            imputed, _ = scoring.impute_rows(values, imputation_name, regions=regions, donors=donors,
                                             n_neighbours=method.knn_neighbours)
            treated_values, _ = treatment.treat(imputed, method.winsor_max_points, enabled=method.treatment)
        same = next((name for name, other in kept_treated if other.equals(treated_values)), None)
        if same is not None:
            untested.append(("imputation", f"{imputation_name}: same values as {same} (no cell imputed)"))
            continue
        kept_treated.append((imputation_name, treated_values))
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
    return (variants, untested) if report else variants


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
    ranks *= valid
    return ranks


def _score_scale(aggregated: np.ndarray, normalisation: str, aggregation: str) -> np.ndarray:
    """:func:`composite.to_scores` along the last axis (municipalities) of a runs x areas x rows array
    (bounded scores are scaled in place: ``aggregated`` is the loop's own temporary)."""
    if aggregation == "geometric" or normalisation in composite.BOUNDED:
        aggregated *= 100.0
        return aggregated
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


def _leave_out(rng: np.random.Generator, base: np.ndarray, areas: np.ndarray, runs: int) -> np.ndarray:
    """Runs x areas: which indicator each run leaves out of each area (column position, -1 = none).

    Only areas with two weighted indicators or more lose one; each option (none, or one of the
    area's indicators) is drawn with the same probability.
    """
    left = np.full((runs, N_AREAS), -1, dtype=np.int64)
    for j in range(N_AREAS):
        members = np.flatnonzero((areas == j) & (base > 0))
        if len(members) >= 2:
            pick = rng.integers(len(members) + 1, size=runs)
            left[:, j] = np.where(pick > 0, members[np.maximum(pick - 1, 0)], -1)
    return left


def _area_weights(rng: np.random.Generator, base: np.ndarray, runs: int, concentration: float) -> np.ndarray:
    """Runs x areas weights from a Dirichlet centred on the chosen area weights (same total)."""
    positive = np.flatnonzero(base > 0)
    draws = np.tile(base, (runs, 1)).astype("float64")
    if len(positive) >= 2:
        total = base[positive].sum()
        alpha = concentration * base[positive] / total
        draws[:, positive] = rng.dirichlet(alpha, size=runs) * total
    return draws


def _distance(scores: np.ndarray) -> np.ndarray:
    """Standardised distance from the reference mean along the last axis (municipalities), as
    :func:`priorities.standardised_distance` (population sd; NaN where the area does not vary)."""
    finite = ~np.isnan(scores)
    count = finite.sum(axis=-1, keepdims=True)
    filled = np.where(finite, scores, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(axis=-1, keepdims=True) / count
        var = np.einsum("...i,...i->...", filled, filled)[..., None] / count - mean * mean
        sd = np.sqrt(np.maximum(var, 0.0))
        sd = np.where(sd > 1e-9 * np.maximum(1.0, np.abs(mean)), sd, np.nan)
        out = np.subtract(scores, mean, out=filled)  # (scores - mean) / sd; NaN scores stay NaN
        out /= sd
        return out


#: Number of bins of a continuous draw (weights) when estimating its first-order effect.
WEIGHT_BINS = 5


@dataclass
class Choice:
    """One uncertain input of the Monte Carlo, as a per-run label (for the sensitivity estimate).

    ``labels``: runs -> option index (0..n_options-1); for ``per_area`` choices, runs x areas
    (the label that matters for a city is that of its nominal first area).
    """

    name: str
    area: str | None
    options: list
    labels: np.ndarray
    per_area: bool = False


def simulate(variants: list[Variant], focus_areas: np.ndarray, base_weights: np.ndarray,
             insufficient: np.ndarray, area_weights: np.ndarray, *, runs: int, random_state: int,
             aggregations=("arithmetic", "geometric"), concentration: float = 20.0,
             rows: np.ndarray | None = None, leave_out: bool = False,
             area_concentration: float | None = None, nominal_first: np.ndarray | None = None,
             return_choices: bool = False, processes: int = 1):
    """Core Monte Carlo on arrays; returns the rank counts and the draws.

    Each run ranks every municipality's areas by the priority rule of
    :mod:`cocity_analysis.method.priorities` (standardised distance from the reference
    mean of that run's scores, area weights applied by
    :func:`priorities.weighted_distance`).

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
        Chosen weight of each area in the ranking.
    runs, random_state : int
    aggregations : sequence of str
    concentration : float
        Dirichlet concentration around the indicator weights.
    rows : ndarray of int, optional
        Positions of the rows to rank (default all).
    leave_out : bool
        Also leave out none or one indicator per area with two or more (uniformly).
    area_concentration : float, optional
        Dirichlet concentration around the area weights (None = area weights fixed).
    nominal_first : ndarray of int, optional
        Per ranked row, the area (0..3) first in the chosen method (-1 = none): needed for
        the sensitivity accumulators returned with ``return_choices``.
    return_choices : bool
        Also return the choices and, per choice option, how many runs kept each row's
        nominal first area first (``(choices, kept)``; ``kept[i]``: options x rows).
    processes : int
        2 simulates every other block of runs in a forked second process
        (:mod:`cocity_analysis.parallel`); the counts are whole numbers, added up exactly:
        the same result as 1.

    Returns
    -------
    counts : ndarray
        ``len(rows)`` x areas x 5 (rank 0 = missing, 1..4).
    draws : DataFrame
    choices, kept : list, list
        Only with ``return_choices``.

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
    base_weights = np.asarray(base_weights, dtype="float64")
    variant_of_run = rng.integers(len(variants), size=runs)
    aggregation_of_run = rng.integers(len(aggregations), size=runs)
    weights = _dirichlet_weights(rng, base_weights, focus_areas, runs, concentration)
    left = _leave_out(rng, base_weights, focus_areas, runs) if leave_out else np.full((runs, N_AREAS), -1)
    for j in range(N_AREAS):
        out = left[:, j] >= 0
        weights[np.flatnonzero(out), left[out, j]] = 0.0
    area_weights = np.asarray(area_weights, dtype="float64")
    run_area_weights = (_area_weights(rng, area_weights, runs, area_concentration)
                        if area_concentration is not None else np.tile(area_weights, (runs, 1)))
    membership = (np.arange(N_AREAS)[:, None] == focus_areas[None, :]).astype("float64")  # areas x indicators
    mask = np.ascontiguousarray(np.asarray(insufficient, dtype=bool).T)[None]                # 1 x areas x rows
    m = len(rows)
    every_row = m == n and np.array_equal(rows, np.arange(n))
    choices = _choices(variants, aggregations, variant_of_run, aggregation_of_run, weights, base_weights,
                       focus_areas, left, run_area_weights, area_weights, area_concentration is not None)
    nominal = None if nominal_first is None else np.asarray(nominal_first, dtype=np.int64)
    block = max(1, int(BLOCK_CELLS // max(1, N_AREAS * n)))
    # Small matrix products: BLAS threads only contend with each other here (and on a
    # shared machine); one thread is several times faster. Scoped: restored on exit.
    from threadpoolctl import threadpool_limits

    arguments = (variants, aggregations, variant_of_run, aggregation_of_run, weights, membership, mask,
                 run_area_weights, rows, every_row, block, n, nominal, choices)
    with threadpool_limits(limits=1, user_api="blas"):
        if processes > 1:
            from cocity_analysis import parallel

            other = parallel.submit(_simulate_blocks, *arguments, part=(1, 2))
            counts, kept = _simulate_blocks(*arguments, part=(0, 2))
            other_counts, other_kept = other.result()
            counts += other_counts
            for mine, theirs in zip(kept or (), other_kept or ()):
                mine += theirs
        else:
            counts, kept = _simulate_blocks(*arguments)
    draws = pd.DataFrame({
        "imputation": [variants[i].imputation for i in variant_of_run],
        "normalisation": [variants[i].normalisation for i in variant_of_run],
        "aggregation": [aggregations[i] for i in aggregation_of_run],
    })
    for j, area in enumerate(FOCUS_AREAS):
        if (left[:, j] >= 0).any():
            draws[f"left_out_{area}"] = np.where(left[:, j] >= 0, left[:, j], -1)
    counts[0] = runs - counts[1:].sum(axis=0)  # runs without a score
    counts = np.ascontiguousarray(counts.transpose(2, 1, 0))
    if return_choices:
        return counts, draws, choices, kept
    return counts, draws


def _bins(values: np.ndarray, k: int = WEIGHT_BINS) -> np.ndarray:
    """Quantile bins 0..k-1 of a per-run value (ties share a bin)."""
    if len(values) < k or np.allclose(values, values[0]):
        return np.zeros(len(values), dtype=np.int64)
    edges = np.quantile(values, np.linspace(0, 1, k + 1)[1:-1])
    return np.searchsorted(edges, values, side="right").astype(np.int64)


def _choices(variants, aggregations, variant_of_run, aggregation_of_run, weights, base_weights, focus_areas,
             left, run_area_weights, area_weights, vary_area_weights) -> list[Choice]:
    """The uncertain inputs actually varied (a choice with one option is not a tested choice)."""
    out = []
    imputations = list(dict.fromkeys(v.imputation for v in variants))
    normalisations = list(dict.fromkeys(v.normalisation for v in variants))
    if len(imputations) > 1:
        out.append(Choice("imputation", None, imputations,
                          np.array([imputations.index(variants[i].imputation) for i in variant_of_run])))
    if len(normalisations) > 1:
        out.append(Choice("normalisation", None, normalisations,
                          np.array([normalisations.index(variants[i].normalisation) for i in variant_of_run])))
    if len(aggregations) > 1:
        out.append(Choice("aggregation", None, list(aggregations), np.asarray(aggregation_of_run)))
    multi = [j for j in range(N_AREAS) if np.count_nonzero((focus_areas == j) & (base_weights > 0)) >= 2]
    if multi and not np.allclose(weights[:, np.isin(focus_areas, multi)], weights[0, np.isin(focus_areas, multi)]):
        # distance of each run's weights from the chosen ones (leave-outs excepted: their own choice)
        kept_cols = weights > 0
        spread = np.where(kept_cols, np.abs(weights - base_weights[None, :]), 0.0).sum(axis=1)
        out.append(Choice("indicator_weights", None, [f"q{i + 1}" for i in range(WEIGHT_BINS)], _bins(spread)))
    for j in range(N_AREAS):
        if (left[:, j] >= 0).any():
            members = [int(c) for c in np.flatnonzero((focus_areas == j) & (base_weights > 0))]
            labels = np.where(left[:, j] >= 0, np.searchsorted(members, left[:, j]) + 1, 0)
            out.append(Choice("leave_one_out", FOCUS_AREAS[j], [None, *members], labels.astype(np.int64)))
    if vary_area_weights and np.count_nonzero(area_weights > 0) >= 2:
        # the weight that matters for a city is that of its first area relative to the others'
        with np.errstate(invalid="ignore", divide="ignore"):
            relative = run_area_weights / run_area_weights.mean(axis=1, keepdims=True)
        labels = np.column_stack([_bins(relative[:, j]) for j in range(N_AREAS)])
        out.append(Choice("area_weights", None, [f"q{i + 1}" for i in range(WEIGHT_BINS)], labels, per_area=True))
    return out


def _simulate_blocks(variants, aggregations, variant_of_run, aggregation_of_run, weights, membership, mask,
                     run_area_weights, rows, every_row, block, n, nominal, choices,
                     part: tuple[int, int] = (0, 1)) -> tuple[np.ndarray, list | None]:
    """The loop of :func:`simulate`: ``(counts, kept)`` of its runs (rank x area x municipality counts;
    per choice, options x municipality runs that kept the nominal first area first, or None).

    ``part=(i, p)``: only the blocks numbered i, i + p, i + 2p ... (for ``processes``).
    """
    index, parts = part
    number = -1
    counts = np.zeros((N_AREAS + 1, N_AREAS, len(rows)), dtype=np.int64)
    kept = [np.zeros((len(c.options), len(rows)), dtype="float64") for c in choices] if nominal is not None else None
    with np.errstate(divide="ignore"):
        w_above = np.where(run_area_weights > 0, run_area_weights, np.nan)
        w_below = np.where(run_area_weights > 0, 1.0 / run_area_weights, np.nan)
    has_nominal = nominal is not None and (nominal >= 0).any()
    if has_nominal:
        ranked_rows = np.flatnonzero(nominal >= 0)
        first_of = nominal[ranked_rows]
        area_columns = [np.flatnonzero(nominal == j) for j in range(N_AREAS)]
        # the choices with one label per run, stacked: one product per block gives all their counts
        whole = [(c, acc) for c, acc in zip(choices, kept) if not c.per_area]
        whole_offsets = np.cumsum([0] + [len(c.options) for c, _ in whole])
    # Runs sharing a variant and an aggregation differ only by their weights: they are done
    # together, a block of runs per matrix product (arrays over municipalities, loops over runs).
    # The arithmetic is written in place, in the same order as the formulas (same bits).
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
                number += 1
                if number % parts != index:
                    continue
                chunk = selected[start:start + block]
                matrix = (membership[None] * weights[chunk][:, None, :]).reshape(-1, membership.shape[1])
                with np.errstate(invalid="ignore", divide="ignore"):
                    if complete:
                        total = matrix.sum(axis=1)[:, None]
                        total = np.where(total > 0, total, np.nan)
                    else:
                        total = matrix @ have
                        total[total <= 0] = np.nan
                    agg = matrix @ data
                    agg /= total
                    if geometric:  # (exp(agg) - 1) / 99
                        np.exp(agg, out=agg)
                        agg -= 1.0
                        agg /= 99.0
                    scores = _score_scale(agg.reshape(len(chunk), N_AREAS, n), variant.normalisation, aggregation)
                if mask.any():
                    np.copyto(scores, np.nan, where=mask)
                # the priority rule: standardised distance from the reference mean, weighted as
                # priorities.weighted_distance (x w above the mean, / w below; weight 0 = not ranked)
                z = _distance(scores)
                with np.errstate(invalid="ignore"):
                    keyed = np.where(z >= 0, w_above[chunk][:, :, None], w_below[chunk][:, :, None])
                    keyed *= z
                ranks = _rank_areas(keyed if every_row else keyed[:, :, rows])
                for rank in range(1, N_AREAS + 1):  # a 32-bit sum: twice as fast as count_nonzero(axis=0)
                    counts[rank] += (ranks == rank).sum(axis=0, dtype=np.int32)
                if has_nominal and choices:
                    stay = np.zeros((len(chunk), len(nominal)), dtype="float64")
                    stay[:, ranked_rows] = ranks[:, first_of, ranked_rows] == 1
                    # 0/1 products: the counts are whole numbers, exact in float64 whatever the grouping
                    if whole:
                        hits = np.vstack([_onehot(c.labels[chunk], len(c.options)) for c, _ in whole]) @ stay
                        for i, (_, acc) in enumerate(whole):
                            acc += hits[whole_offsets[i]:whole_offsets[i + 1]]
                    for choice, acc in zip(choices, kept):
                        if choice.per_area:
                            for j in range(N_AREAS):
                                cols = area_columns[j]
                                if len(cols):
                                    onehot = _onehot(choice.labels[chunk, j], len(choice.options))
                                    acc[:, cols] += onehot @ stay[:, cols]
    return counts, kept


def _onehot(labels: np.ndarray, k: int) -> np.ndarray:
    """options x runs indicator matrix of ``labels``."""
    return (np.arange(k)[:, None] == np.asarray(labels)[None, :]).astype("float64")


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


SENSITIVITY_COLUMNS = ["istat_code", "choice", "area", "first_order", "kept", "kept_min", "kept_max",
                       "weakest_option"]


def sensitivity(choices: list[Choice], kept: list[np.ndarray], index: pd.Index, runs: int,
                columns: Sequence[str] = (), first_area: np.ndarray | None = None) -> pd.DataFrame:
    """First-order effect of each varied choice on "the nominal first area stays first".

    ``Y`` = 1 in a run where a city's nominal first area is first. For a choice with options
    ``o`` drawn in ``n_o`` runs, ``S = sum_o n_o/N (p_o - p)^2 / (p (1 - p))``: the share of the
    variance of ``Y`` explained by that choice alone (first-order index estimated from the
    given Monte Carlo sample by grouping runs, continuous weights in quintile bins; Saltelli et
    al., as in COINr's ``get_sensitivity``). 0 when the first area never changes.

    Returns
    -------
    DataFrame
        :data:`SENSITIVITY_COLUMNS`: ``kept`` = p, ``kept_min``/``kept_max`` = min/max p_o,
        ``weakest_option`` = the option with the lowest p_o (an indicator id for ``leave_one_out``).

    Examples
    --------
    A made-up choice with two options drawn 50 times each; the first area stays first in 50 of
    the 50 runs of option 0 and 10 of option 1:

    >>> c = Choice("aggregation", None, ["arithmetic", "geometric"], np.array([0] * 50 + [1] * 50))
    >>> out = sensitivity([c], [np.array([[50.0], [10.0]])], pd.Index(["m1"]), 100)
    >>> round(float(out["first_order"].iloc[0]), 3), out["weakest_option"].iloc[0]
    (0.667, 'geometric')
    """
    names = list(columns)
    index = pd.Index(index).astype(str)
    m = len(index)
    first_area = np.zeros(m, dtype=np.int64) if first_area is None else np.asarray(first_area, dtype=np.int64)
    keep = first_area >= 0  # no first area: nothing to keep
    frames = []
    for choice, acc in zip(choices, kept):
        k = len(choice.options)
        if choice.per_area:
            sizes = np.stack([np.bincount(choice.labels[:, j], minlength=k) for j in range(N_AREAS)])
            n_o = sizes[np.where(keep, first_area, 0)].astype("float64")        # cities x options
        else:
            n_o = np.tile(np.bincount(choice.labels, minlength=k).astype("float64"), (m, 1))
        kept_t = np.asarray(acc, dtype="float64").T                              # cities x options
        p = kept_t.sum(axis=1) / runs
        valid = n_o > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            p_o = np.where(valid, kept_t / np.where(valid, n_o, 1.0), np.nan)
            var = p * (1.0 - p)
            between = np.nansum(n_o / runs * (p_o - p[:, None]) ** 2, axis=1)
            index_s = np.where(var > 1e-12, between / np.where(var > 1e-12, var, 1.0), 0.0)
        low = np.where(valid, p_o, np.inf)
        weakest = np.argmin(low, axis=1)
        options = [None if o is None else (names[int(o)] if choice.name == "leave_one_out" and names else str(o))
                   for o in choice.options]
        frames.append(pd.DataFrame({
            "istat_code": index[keep], "choice": choice.name, "area": choice.area,
            "first_order": np.clip(index_s, 0.0, 1.0)[keep], "kept": p[keep],
            "kept_min": np.where(valid, p_o, np.inf).min(axis=1)[keep],
            "kept_max": np.where(valid, p_o, -np.inf).max(axis=1)[keep],
            "weakest_option": pd.array([options[w] for w in weakest[keep]], dtype=object),
        }))
    if not frames:
        return pd.DataFrame(columns=SENSITIVITY_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    order = {code: i for i, code in enumerate(index)}
    out = out.assign(_o=out["istat_code"].map(order)).sort_values(["_o"], kind="stable").drop(columns="_o")
    return out[SENSITIVITY_COLUMNS].reset_index(drop=True)


CHOICE_COLUMNS = ["choice", "area", "options", "tested", "note"]


def monte_carlo(values: pd.DataFrame, catalogue: pd.DataFrame, method: Method, *, random_state: int,
                runs: int | None = None, regions: pd.Series | None = None,
                donors: pd.DataFrame | None = None, rows: pd.Index | None = None,
                chosen: scoring.Scoring | None = None) -> MonteCarloResult:
    """Monte Carlo of the per-municipality ranking of the four focus areas.

    Each run draws an imputation x normalisation variant, an aggregation, indicator
    weights (Dirichlet around the chosen ones), with ``mc_leave_one_out`` none or one
    indicator left out of every area with two or more, and area weights (Dirichlet
    around the chosen ones, ``area_weight_concentration``); it then ranks by the
    priority rule of :mod:`cocity_analysis.method.priorities`. Imputation variants identical
    to the chosen one (no cell imputed) are dropped and reported as not tested.

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
        With ``choices`` (what was varied, what was not and why) and ``sensitivity``
        (per municipality and choice, see :func:`sensitivity`).

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
    >>> sorted(result.choices.loc[result.choices.tested, "choice"])
    ['aggregation', 'area_weights', 'indicator_weights', 'leave_one_out', 'normalisation']
    """
    return run_monte_carlo(setup_monte_carlo(values, catalogue, method, random_state=random_state, runs=runs,
                                             regions=regions, donors=donors, rows=rows, chosen=chosen))


@dataclass
class MonteCarloSetup:
    """What :func:`run_monte_carlo` simulates, from :func:`setup_monte_carlo`: the variants (imputed,
    treated, normalised values) and the arrays of the chosen method."""

    method: Method
    runs: int
    random_state: int
    columns: list
    variants: list
    untested: list
    area_positions: np.ndarray
    base: np.ndarray
    mask: np.ndarray
    area_weights: np.ndarray
    positions: np.ndarray
    out_index: pd.Index
    first_of: np.ndarray


def setup_monte_carlo(values: pd.DataFrame, catalogue: pd.DataFrame, method: Method, *, random_state: int,
                      runs: int | None = None, regions: pd.Series | None = None,
                      donors: pd.DataFrame | None = None, rows: pd.Index | None = None,
                      chosen: scoring.Scoring | None = None) -> MonteCarloSetup:
    """The first part of :func:`monte_carlo` (same parameters): the variants to simulate and the chosen
    method's arrays; ``run_monte_carlo(setup_monte_carlo(...))`` is ``monte_carlo(...)``.

    ``cocity prepare`` builds it, then simulates in a second process (:mod:`cocity_analysis.parallel`).
    """
    from cocity_analysis.method import priorities

    runs = int(method.monte_carlo_runs if runs is None else runs)
    if runs < 1:
        raise ValueError("runs must be at least 1")
    from cocity_analysis.method.indicators import need_ids

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
    variants, untested = build_variants(values, catalogue, method, regions=regions, donors=donors,
                                        treated={method.imputation: chosen.treated}, report=True)
    from cocity_analysis.method.imputation import insufficient as insufficient_mask

    mask = insufficient_mask(values, catalogue["focus_area"]).reindex(columns=list(FOCUS_AREAS)).to_numpy()
    out_index = values.index if rows is None else pd.Index(rows)
    positions = values.index.get_indexer(out_index)
    if (positions < 0).any():
        raise ValueError("rows must be municipalities of values")
    area_weights = np.array([float(method.area_weights[a]) for a in FOCUS_AREAS])
    nominal = priorities.rank_relative(chosen.scores.reindex(columns=list(FOCUS_AREAS)),
                                       area_weights=dict(zip(FOCUS_AREAS, area_weights)))
    firsts = nominal[nominal["rank"] == 1].set_index("istat_code")["focus_area"]
    first_of = np.array([FOCUS_AREAS.index(firsts[c]) if c in firsts.index else -1 for c in out_index])
    base = chosen.weights.reindex(values.columns).to_numpy(dtype="float64")
    return MonteCarloSetup(method=method, runs=runs, random_state=random_state, columns=list(values.columns),
                           variants=variants, untested=untested, area_positions=area_positions, base=base,
                           mask=mask, area_weights=area_weights, positions=positions, out_index=out_index,
                           first_of=first_of)


def run_monte_carlo(setup: MonteCarloSetup, *, processes: int = 1) -> MonteCarloResult:
    """The simulation of :func:`monte_carlo` on a :func:`setup_monte_carlo` (``processes``: see
    :func:`simulate`)."""
    method, runs, out_index = setup.method, setup.runs, setup.out_index
    counts, draws, choices, kept = simulate(
        setup.variants, setup.area_positions, setup.base, setup.mask, setup.area_weights, runs=runs,
        random_state=setup.random_state, aggregations=alternatives(method)["aggregation"],
        concentration=float(method.dirichlet_concentration), rows=setup.positions,
        leave_out=bool(method.mc_leave_one_out), area_concentration=float(method.area_weight_concentration),
        nominal_first=setup.first_of, return_choices=True, processes=processes)
    table = _choice_table(choices, setup.untested, method, setup.area_positions, setup.base,
                          pd.Index(setup.columns))
    return MonteCarloResult(summary=summarise(counts, out_index, runs), counts=counts, draws=draws,
                            runs=runs, random_state=setup.random_state, choices=table,
                            sensitivity=sensitivity(choices, kept, out_index, runs, setup.columns,
                                                    first_area=setup.first_of))


def _choice_table(choices, untested, method, area_positions, base, columns) -> pd.DataFrame:
    """What the Monte Carlo varied (``tested``) and what it could not, with the reason."""
    rows = []
    varied = {(c.name, c.area) for c in choices}
    for c in choices:
        options = [columns[o] if (c.name == "leave_one_out" and o is not None) else o for o in c.options]
        rows.append({"choice": c.name, "area": c.area,
                     "options": ";".join("none" if o is None else str(o) for o in options),
                     "tested": True, "note": None})
    for name, note in untested:
        rows.append({"choice": name, "area": None, "options": "", "tested": False, "note": note})
    for j, area in enumerate(FOCUS_AREAS):
        n_ind = int(np.count_nonzero((area_positions == j) & (base > 0)))
        if n_ind == 1 and ("leave_one_out", area) not in varied:
            rows.append({"choice": "leave_one_out", "area": area, "options": "", "tested": False,
                         "note": "one indicator only"})
    if not method.mc_leave_one_out:
        rows.append({"choice": "leave_one_out", "area": None, "options": "", "tested": False,
                     "note": "mc_leave_one_out: false"})
    for name in ("normalisation", "aggregation"):
        if (name, None) not in varied:
            rows.append({"choice": name, "area": None, "options": "", "tested": False, "note": "one option only"})
    return pd.DataFrame(rows, columns=CHOICE_COLUMNS)
