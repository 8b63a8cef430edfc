"""Need profiles: clusters of cities with similar need indicators.

Shaped after geosnap's ``analyze.cluster``: one entry function, :func:`cluster`,
a dispatch table :data:`METHODS` of scikit-learn estimators (``KMeans``,
``AgglomerativeClustering`` with Ward linkage, ``GaussianMixture``) and a small
result object, :class:`ProfileResult`. The quality of each partition is
measured with scikit-learn's ``silhouette_score``, ``calinski_harabasz_score``
and ``davies_bouldin_score``; stability with the adjusted Rand index over
bootstrap resamples. Missing values are never filled in silently: the caller
passes complete inputs (see :func:`complete_columns`).

Two vectorised fast paths, both for the bootstrap only. :func:`adjusted_rand_batch`
scores the 700 resampled partitions at once with the same integer counts as
scikit-learn's ``adjusted_rand_score`` (equal values; ``benchmarks/bench_ari.py``).
:func:`kmeans_batch` re-runs k-means on the bootstrap resamples (never the profiles themselves). scikit-learn's
``KMeans`` takes about 8 ms a fit on 39 cities (10 restarts), so 100 resamples
x 7 values of k cost about 5 s, half of the whole ``cocity prepare`` budget,
while the batch does them in about 0.4 s; ``benchmarks/bench_profiles.py`` runs
both side by side and the README gives the figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from cocity_analysis import FOCUS_AREAS

# scikit-learn is imported where an estimator is fitted, not here: `cocity prepare` imports it (about
# 1.8 s with SciPy) while its second process reads the sources (:func:`import_estimators`).

#: Restarts of k-means for the profiles (ONS practice: many restarts) and in each bootstrap resample.
KMEANS_RESTARTS = 100
BOOTSTRAP_RESTARTS = 10
GMM_RESTARTS = 5
#: How the bootstrap re-clusters k-means resamples: ``"batch"`` (:func:`kmeans_batch`, default) or
#: ``"estimator"`` (scikit-learn's ``KMeans`` per resample, over ``n_jobs`` processes).
BOOTSTRAP_ENGINES = ("batch", "estimator")

SHORT_AREA_LABELS = {
    "it": {"inclusion_work": "lavoro e inclusione", "housing": "disagio abitativo",
           "poverty": "povertà e marginalità", "culture_tourism": "cultura e turismo"},
    "en": {"inclusion_work": "work and inclusion", "housing": "housing distress",
           "poverty": "poverty and marginality", "culture_tourism": "culture and tourism"},
}


def import_estimators() -> None:
    """Import scikit-learn's estimators and metrics now (they are otherwise imported on first use).

    ``cocity prepare`` calls it while its second process reads the sources, so that the
    import (about 1.8 s, SciPy included) overlaps the reading instead of coming before it.
    """
    import sklearn.cluster  # noqa: F401
    import sklearn.impute  # noqa: F401
    import sklearn.metrics  # noqa: F401
    import sklearn.mixture  # noqa: F401


def _check_distinct(data: np.ndarray, n_clusters: int) -> None:
    distinct = len(np.unique(data, axis=0))
    if distinct < n_clusters:
        raise ValueError(f"{distinct} distinct rows cannot form {n_clusters} clusters")


def kmeans(data: np.ndarray, n_clusters: int, random_state: int,
           n_init: int = KMEANS_RESTARTS, max_iter: int = 300) -> tuple[np.ndarray, KMeans]:
    """k-means: scikit-learn's ``KMeans`` (k-means++ seeding, Lloyd) with many restarts.

    ``KMeans`` keeps the restart with the lowest within-cluster sum of squares
    (``inertia_``).

    Parameters
    ----------
    data : ndarray
        Rows x features, no missing values.
    n_clusters : int
    random_state : int
    n_init : int
        Restarts (default :data:`KMEANS_RESTARTS`).
    max_iter : int

    Returns
    -------
    (ndarray, sklearn.cluster.KMeans)
        Labels 0..k-1 per row and the fitted estimator.

    Raises
    ------
    ValueError
        Fewer distinct rows than ``n_clusters``.

    Examples
    --------
    >>> pts = np.array([[0.0], [0.1], [5.0], [5.1]])
    >>> labels, model = kmeans(pts, 2, random_state=0)
    >>> bool(labels[0] == labels[1] != labels[2] == labels[3]), round(float(model.inertia_), 4)
    (True, 0.01)
    """
    from sklearn.cluster import KMeans

    data = np.asarray(data, dtype="float64")
    _check_distinct(data, n_clusters)
    model = KMeans(n_clusters=int(n_clusters), n_init=int(n_init), max_iter=max_iter, algorithm="lloyd",
                   random_state=random_state).fit(data)
    return model.labels_.astype("int64"), model


def ward(data: np.ndarray, n_clusters: int, random_state: int) -> tuple[np.ndarray, AgglomerativeClustering]:
    """Ward hierarchical clustering (``AgglomerativeClustering(linkage="ward")``) cut at ``n_clusters``.

    Deterministic: ``random_state`` is accepted for the common signature and unused.

    Examples
    --------
    >>> ward(np.array([[0.0], [0.1], [5.0], [5.2]]), 2, 0)[0].tolist()
    [1, 1, 0, 0]
    """
    from sklearn.cluster import AgglomerativeClustering

    data = np.asarray(data, dtype="float64")
    _check_distinct(data, n_clusters)
    model = AgglomerativeClustering(n_clusters=int(n_clusters), linkage="ward").fit(data)
    return model.labels_.astype("int64"), model


def gmm(data: np.ndarray, n_clusters: int, random_state: int,
        n_init: int = GMM_RESTARTS) -> tuple[np.ndarray, GaussianMixture]:
    """Gaussian mixture (diagonal covariances, k-means initialisation, ``n_init`` restarts), seeded.

    Diagonal covariances: with 39 cities a full covariance per profile would
    have more parameters than data.

    Examples
    --------
    >>> labels, model = gmm(np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]]), 2, 0)
    >>> bool(labels[0] == labels[2] != labels[3] == labels[5])
    True
    """
    from sklearn.mixture import GaussianMixture

    model = GaussianMixture(n_components=int(n_clusters), covariance_type="diag", n_init=int(n_init),
                            reg_covar=1e-6, random_state=random_state).fit(data)
    return model.predict(data).astype("int64"), model


METHODS: dict[str, Callable[..., tuple[np.ndarray, object]]] = {
    "kmeans": kmeans,
    "ward": ward,
    "gmm": gmm,
}


def _kmeans_plus_plus(data: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding for a batch: ``data`` is fits x rows x features, returns fits x k x features."""
    fits, n, d = data.shape
    which = np.arange(fits)
    centres = np.empty((fits, k, d))
    centres[:, 0] = data[which, rng.integers(n, size=fits)]
    closest = ((data - centres[:, 0, None, :]) ** 2).sum(axis=2)
    for j in range(1, k):
        cumulative = np.cumsum(closest, axis=1)
        total = cumulative[:, -1]
        draw = rng.random(fits) * total
        pick = np.minimum((cumulative < draw[:, None]).sum(axis=1), n - 1)
        pick = np.where(total > 0, pick, rng.integers(n, size=fits))  # all points are centres already
        centres[:, j] = data[which, pick]
        closest = np.minimum(closest, ((data - centres[:, j, None, :]) ** 2).sum(axis=2))
    return centres


def kmeans_batch(datasets: np.ndarray, n_clusters: int, n_init: int, rng: np.random.Generator,
                 max_iter: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Bootstrap fast path: k-means on many same-shaped datasets at once, ``n_init`` restarts each.

    The same algorithm as scikit-learn's ``KMeans(algorithm="lloyd")``
    (k-means++ seeding, Lloyd iterations, best restart by inertia), vectorised
    over datasets x restarts with batched matrix products, so that 100
    bootstrap resamples are clustered in one call instead of 100 estimator
    fits. Used only by :func:`bootstrap_stability` (engine ``"batch"``); the
    profiles themselves come from :func:`kmeans`. ``benchmarks/bench_profiles.py``
    measures both; ``tests/test_profiles.py`` checks it reaches the same
    optimum as ``KMeans``.

    Parameters
    ----------
    datasets : ndarray
        Datasets x rows x features.
    n_clusters, n_init : int
    rng : numpy Generator

    Returns
    -------
    labels : ndarray
        Datasets x rows, the best restart of each dataset (lowest within-cluster
        sum of squares among restarts with ``n_clusters`` non-empty clusters;
        the first on ties); -1 for a dataset where no restart has that many.
    centres : ndarray
        Datasets x k x features.
    inertia : ndarray
        Datasets; ``inf`` where no restart was valid.
    iterations : int

    Examples
    --------
    Two made-up datasets of four points each, clustered together:

    >>> sets = np.array([[[0.0], [0.1], [5.0], [5.1]], [[0.0], [4.0], [4.1], [4.2]]])
    >>> labels, _, inertia, _ = kmeans_batch(sets, 2, 5, np.random.default_rng(0))
    >>> [len(set(row[:2])) for row in labels], inertia.round(3).tolist()
    ([1, 2], [0.01, 0.02])
    """
    datasets = np.asarray(datasets, dtype="float64")
    sets, n, d = datasets.shape
    k = int(n_clusters)
    data = np.repeat(datasets, n_init, axis=0)                    # fits x n x d (fit = set x restart)
    centres = _kmeans_plus_plus(data, k, rng)
    squared_norms = (data ** 2).sum(axis=2)[:, :, None]
    arange = np.arange(k)
    iteration = 0
    active = np.arange(len(data))          # fits still moving (converged ones are fixed points)
    for iteration in range(1, max_iter + 1):
        x, c = data[active], centres[active]
        distances = squared_norms[active] - 2 * x @ c.transpose(0, 2, 1) + (c ** 2).sum(axis=2)[:, None, :]
        onehot = (distances.argmin(axis=2)[:, :, None] == arange).astype("float64")
        counts = onehot.sum(axis=1)
        sums = onehot.transpose(0, 2, 1) @ x
        updated = np.where(counts[:, :, None] > 0, sums / np.maximum(counts, 1.0)[:, :, None], c)
        moved = ((updated - c) ** 2).sum(axis=(1, 2))
        centres[active] = updated
        active = active[moved > 1e-12]
        if not len(active):
            break
    distances = ((data[:, :, None, :] - centres[:, None, :, :]) ** 2).sum(axis=3)
    labels = distances.argmin(axis=2)
    inertia = np.take_along_axis(distances, labels[:, :, None], axis=2)[:, :, 0].sum(axis=1)
    complete = ((labels[:, :, None] == arange).any(axis=1)).all(axis=1)
    inertia = np.where(complete, inertia, np.inf).reshape(sets, n_init)
    best = inertia.argmin(axis=1)
    chosen = np.arange(sets) * n_init + best
    labels = labels[chosen]
    best_inertia = inertia[np.arange(sets), best]
    labels[~np.isfinite(best_inertia)] = -1
    return labels, centres[chosen], best_inertia, iteration


@dataclass
class ProfileResult:
    """Outcome of :func:`cluster`.

    Attributes
    ----------
    labels : Series
        Cluster number (1..k) per city, numbered by :func:`renumber`.
    model : object
        The fitted scikit-learn estimator for the chosen k (``KMeans``,
        ``AgglomerativeClustering`` or ``GaussianMixture``).
    inputs : DataFrame
        The matrix the model was fitted on (cities x indicators).
    k : int
        Number of clusters.
    diagnostics : DataFrame
        One row per k tried: ``k``, ``silhouette``, ``calinski_harabasz``,
        ``davies_bouldin``, ``selectable`` (k is a candidate for the choice),
        ``chosen`` and, when a bootstrap was run, ``ari_mean``, ``ari_p05``,
        ``ari_p95`` (adjusted Rand index between each resample's clustering and
        the full one, over the resampled cities) and ``bootstrap_runs``.
    method : str
    random_state : int
    dropped_columns : list of str
        Indicators left out because some city lacks them.
    partitions : dict
        k -> labels (0-based, estimator numbering) for every k tried.
    stability : Series or None
        Per city, share of bootstrap resamples in which it stays with its
        cluster's core (see :func:`bootstrap_stability`); None without bootstrap.
    """

    labels: pd.Series
    model: object
    inputs: pd.DataFrame
    k: int
    diagnostics: pd.DataFrame
    method: str
    random_state: int
    dropped_columns: list[str] = field(default_factory=list)
    partitions: dict = field(default_factory=dict)
    stability: pd.Series | None = None


def renumber(labels: np.ndarray, index: pd.Index) -> pd.Series:
    """Number clusters 1..k by decreasing size, ties broken by the smallest member code.

    Estimators number clusters arbitrarily; this rule makes the numbering a
    function of the partition alone, so equal partitions give equal files.

    Examples
    --------
    >>> renumber(np.array([5, 5, 2, 7, 7, 7]), pd.Index(list("abcdef"))).tolist()
    [2, 2, 3, 1, 1, 1]
    """
    raw = pd.Series(labels, index=index)
    order = sorted(raw.unique(), key=lambda c: (-int((raw == c).sum()), min(raw.index[raw == c])))
    mapping = {old: new for new, old in enumerate(order, start=1)}
    return raw.map(mapping).astype("int64").rename("cluster")


def complete_columns(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Keep the columns with a value for every row; return them and the names dropped."""
    complete = frame.columns[frame.notna().all()]
    dropped = [c for c in frame.columns if c not in complete]
    return frame[complete], dropped




def fit_partitions(matrix: np.ndarray, method: str, ks, random_state: int,
                   n_init: int | None = None) -> dict:
    """Fit ``method`` (a key of :data:`METHODS`) for every k in ``ks``: ``{k: (labels, model)}``.

    Examples
    --------
    >>> fitted = fit_partitions(np.array([[0.0], [0.1], [5.0], [9.0]]), "ward", [2, 3], 0)
    >>> sorted(fitted), fitted[3][0].tolist()
    ([2, 3], [0, 0, 2, 1])
    """
    if method not in METHODS:
        raise ValueError(f"unknown clustering method {method!r}; candidates: {', '.join(METHODS)}")
    estimator = METHODS[method]
    options = {"n_init": n_init} if n_init and method != "ward" else {}
    return {k: estimator(matrix, k, random_state, **options) for k in ks}


def partition_quality(matrix: np.ndarray, labels: np.ndarray) -> dict:
    """Silhouette (higher better), Calinski-Harabasz (higher better), Davies-Bouldin (lower better).

    scikit-learn's ``silhouette_score``, ``calinski_harabasz_score`` and
    ``davies_bouldin_score`` (Euclidean distances). NaN when the labels form a
    single cluster or one cluster per row (the scores are not defined).

    Examples
    --------
    >>> pts = np.array([[0.0], [1.0], [10.0], [11.0]])
    >>> {k: round(float(v), 4) for k, v in partition_quality(pts, np.array([0, 0, 1, 1])).items()}
    {'silhouette': 0.8997, 'calinski_harabasz': 200.0, 'davies_bouldin': 0.1}
    """
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

    x = np.asarray(matrix, dtype="float64")
    labels = np.asarray(labels)
    k = len(np.unique(labels))
    if not 1 < k < len(labels):
        return {"silhouette": np.nan, "calinski_harabasz": np.nan, "davies_bouldin": np.nan}
    return {"silhouette": float(silhouette_score(x, labels)),
            "calinski_harabasz": float(calinski_harabasz_score(x, labels)),
            "davies_bouldin": float(davies_bouldin_score(x, labels))}


def cluster(data: pd.DataFrame, method: str = "kmeans", n_clusters: int | None = None,
            k_range: range = range(2, 7), random_state: int = 0, diagnostics_range=None,
            bootstrap_runs: int = 0, bootstrap_engine: str = "batch", n_jobs: int = 1) -> ProfileResult:
    """Group cities into need profiles.

    Parameters
    ----------
    data : DataFrame
        Cities x normalised indicators. Columns with missing values are left
        out (and listed in ``dropped_columns``); nothing is imputed here.
    method : str
        A key of :data:`METHODS`: ``kmeans`` (many restarts), ``ward``, ``gmm``.
    n_clusters : int, optional
        Fixed k. When None, k is the one with the highest silhouette over
        ``k_range`` (ties: the smaller k).
    k_range : range
        Candidate k values.
    random_state : int
        Seed for the estimator and the bootstrap.
    diagnostics_range : iterable of int, optional
        Further k values for which the diagnostics (and bootstrap ARI) are
        computed, e.g. ``range(2, 9)``; they are never chosen unless in ``k_range``.
    bootstrap_runs : int
        Bootstrap resamples for :func:`bootstrap_stability` (0 = none).
    bootstrap_engine : {"batch", "estimator"}
        How k-means resamples are re-clustered (see :func:`bootstrap_stability`).
    n_jobs : int
        Processes for the ``"estimator"`` bootstrap (joblib).

    Returns
    -------
    ProfileResult

    Examples
    --------
    >>> pts = pd.DataFrame({"x": [0, 0.1, 0.2, 5, 5.1, 5.2]}, index=list("abcdef"))
    >>> cluster(pts, random_state=0).labels.tolist()
    [1, 1, 1, 2, 2, 2]
    """
    if method not in METHODS:
        raise ValueError(f"unknown clustering method {method!r}; candidates: {', '.join(METHODS)}")
    inputs, dropped = complete_columns(data)
    if inputs.shape[1] == 0:
        raise ValueError("no indicator has a value for every city: cannot form need profiles")
    matrix = inputs.to_numpy(dtype="float64")
    n_rows = len(inputs)
    distinct = len(np.unique(matrix, axis=0))
    selectable = [n_clusters] if n_clusters is not None else [k for k in k_range if 2 <= k < n_rows]
    selectable = [k for k in selectable if k <= distinct]
    if not selectable:
        raise ValueError(f"no admissible k for {n_rows} cities ({distinct} distinct) in "
                         f"{[n_clusters] if n_clusters is not None else list(k_range)}")
    extra = [k for k in (diagnostics_range or []) if 2 <= k < n_rows and k <= distinct]
    ks = sorted(set(selectable) | set(extra))
    fitted = fit_partitions(matrix, method, ks, random_state)
    rows = []
    for k in ks:
        rows.append({"k": k, **partition_quality(matrix, fitted[k][0]), "selectable": k in selectable})
    diagnostics = pd.DataFrame(rows)
    candidates = diagnostics[diagnostics["selectable"]]
    best = int(candidates.sort_values(["silhouette", "k"], ascending=[False, True], na_position="last")
               .iloc[0]["k"])
    diagnostics["chosen"] = diagnostics["k"] == best
    labels, model = fitted[best]
    partitions = {k: np.asarray(fitted[k][0]) for k in ks}
    stability = None
    if bootstrap_runs:
        boot = bootstrap_stability(inputs, partitions, best, method=method, runs=bootstrap_runs,
                                   random_state=random_state, engine=bootstrap_engine, n_jobs=n_jobs)
        diagnostics = diagnostics.merge(boot.per_k, on="k", how="left")
        stability = boot.per_city
    return ProfileResult(labels=renumber(labels, inputs.index), model=model, inputs=inputs, k=best,
                         diagnostics=diagnostics, method=method, random_state=random_state,
                         dropped_columns=dropped, partitions=partitions, stability=stability)


@dataclass
class BootstrapResult:
    """Outcome of :func:`bootstrap_stability`.

    Attributes
    ----------
    per_k : DataFrame
        ``k``, ``ari_mean``, ``ari_p05``, ``ari_p95``, ``bootstrap_runs`` (resamples
        in which k could be fitted).
    per_city : Series
        For the chosen k, share of the resamples containing the city in which it
        stays with its cluster's core (named ``stability``).
    included : Series
        How many resamples contained each city.
    """

    per_k: pd.DataFrame
    per_city: pd.Series
    included: pd.Series


def core_membership(reference: np.ndarray, resampled: np.ndarray) -> np.ndarray:
    """For each row, True if it lies in the resample cluster holding most of its reference cluster.

    ``reference`` and ``resampled`` are label vectors over the same rows. The
    *core* of a reference cluster is the resample cluster that holds most of
    its members (ties: the lowest resample label); a row stays with its core
    when it is in that cluster.

    Examples
    --------
    >>> core_membership(np.array([0, 0, 0, 1, 1]), np.array([5, 5, 7, 7, 7])).tolist()
    [True, True, False, True, True]
    """
    reference = np.asarray(reference)
    resampled = np.asarray(resampled)
    stays = np.zeros(len(reference), dtype=bool)
    for c in np.unique(reference):
        members = reference == c
        values, counts = np.unique(resampled[members], return_counts=True)
        core = values[np.argmax(counts)]
        stays[members] = resampled[members] == core
    return stays


def adjusted_rand_batch(references: list, labelings: list) -> np.ndarray:
    """Adjusted Rand index of many pairs of label vectors at once (bootstrap fast path).

    The same integer pair counts and the same final expression as scikit-learn's
    ``adjusted_rand_score`` (``pair_confusion_matrix``), so every value equals it
    exactly; only the per-call input checks, which cost about 4 ms a call and 2-3 s
    over the 700 scores of the bootstrap, are left out (``benchmarks/bench_ari.py``).

    Parameters
    ----------
    references, labelings : lists of 1-d integer arrays
        Pair ``i`` compares ``references[i]`` with ``labelings[i]`` (same length;
        lengths may differ between pairs; labels are non-negative integers).

    Returns
    -------
    ndarray
        One ARI per pair (1.0 for identical partitions up to renaming).

    Examples
    --------
    >>> adjusted_rand_batch([np.array([0, 0, 1, 1])] * 2, [np.array([1, 1, 0, 0]), np.array([0, 1, 0, 1])]).tolist()
    [1.0, -0.5]
    """
    if not len(references):
        return np.zeros(0)
    sizes = np.array([len(r) for r in references], dtype="int64")
    # dense codes over all pairs (renaming labels changes no pair count), so one bincount holds every table
    _, first = np.unique(np.concatenate([np.asarray(r) for r in references]), return_inverse=True)
    _, second = np.unique(np.concatenate([np.asarray(l) for l in labelings]), return_inverse=True)
    pair = np.repeat(np.arange(len(sizes)), sizes)
    n_first, n_second = int(first.max()) + 1, int(second.max()) + 1
    cells = np.bincount((pair * n_first + first) * n_second + second,
                        minlength=len(sizes) * n_first * n_second).reshape(len(sizes), n_first, n_second)
    rows, columns = cells.sum(axis=2), cells.sum(axis=1)
    sum_squares = (cells ** 2).sum(axis=(1, 2))
    counts = zip((sizes ** 2 - (cells * columns[:, None, :]).sum(axis=(1, 2))
                  - (cells * rows[:, :, None]).sum(axis=(1, 2)) + sum_squares).tolist(),
                 ((cells * columns[:, None, :]).sum(axis=(1, 2)) - sum_squares).tolist(),
                 ((cells * rows[:, :, None]).sum(axis=(1, 2)) - sum_squares).tolist(),
                 (sum_squares - sizes).tolist())
    # the final expression in Python integers, exactly as scikit-learn's (no overflow, same rounding)
    return np.array([1.0 if fn == 0 and fp == 0
                     else 2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))
                     for tn, fp, fn, tp in counts], dtype="float64")


def adjusted_rand_index(first: np.ndarray, second: np.ndarray) -> float:
    """Adjusted Rand index of two label vectors: :func:`adjusted_rand_batch` of one pair.

    Examples
    --------
    >>> adjusted_rand_index(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]))
    -0.5
    """
    return float(adjusted_rand_batch([first], [second])[0])


def _refit(samples: np.ndarray, runs: list, method: str, ks: list, seeds: np.ndarray,
           distinct: np.ndarray) -> dict:
    """Estimator fits of the resamples ``runs``: ``{(run, k): labels}`` (k larger than the distinct rows skipped)."""
    from threadpoolctl import threadpool_limits

    n_init = {"kmeans": BOOTSTRAP_RESTARTS, "gmm": 1}.get(method)
    out = {}
    with threadpool_limits(limits=1):  # tiny fits: threads only contend
        for b in runs:
            fitted = fit_partitions(samples[b], method, [k for k in ks if k <= distinct[b]], int(seeds[b]),
                                    n_init=n_init)
            out.update({(b, k): np.asarray(labels) for k, (labels, _) in fitted.items()})
    return out


def bootstrap_stability(inputs: pd.DataFrame, partitions: dict, chosen_k: int, *, method: str = "kmeans",
                        runs: int = 100, random_state: int = 0, engine: str = "batch",
                        n_jobs: int = 1) -> BootstrapResult:
    """Stability of the profiles under bootstrap resampling of the cities.

    Each run draws ``len(inputs)`` cities with replacement, clusters them
    again with the same method for every k of ``partitions`` and compares, on
    the distinct resampled cities, the new partition with the full-data one:
    the adjusted Rand index per k (:func:`adjusted_rand_batch`, equal to scikit-learn's
    ``adjusted_rand_score``), and for ``chosen_k`` whether each city stays with
    its cluster's core (:func:`core_membership`).

    Design (39 cities; see ``benchmarks/bench_profiles.py``): every k of the
    diagnostics is resampled, since the ARI curve over k is what the expert
    compares; k-means gets :data:`BOOTSTRAP_RESTARTS` k-means++ restarts per
    resample (fewer restarts mix the optimiser's own noise into the measure:
    one restart drops the mean ARI at the chosen k of the real data from 0.91
    to 0.76), a Gaussian mixture one start, Ward none (deterministic).

    Parameters
    ----------
    inputs : DataFrame
        Cities x indicators the profiles were fitted on (complete).
    partitions : dict
        k -> full-data labels (from :attr:`ProfileResult.partitions`).
    chosen_k : int
    method : str
        A key of :data:`METHODS`.
    runs : int
    random_state : int
        Seeds the resamples and every refit; the result does not depend on ``n_jobs``.
    engine : {"batch", "estimator"}
        For k-means: ``"batch"`` re-clusters all resamples at once with
        :func:`kmeans_batch`; ``"estimator"`` fits scikit-learn's ``KMeans``
        per resample and k. Ward and Gaussian mixtures always use their
        estimator.
    n_jobs : int
        Processes (joblib) sharing the estimator fits; 1 = in this process.

    Returns
    -------
    BootstrapResult

    Examples
    --------
    Two made-up, far-apart groups: every resample finds them again.

    >>> pts = pd.DataFrame({"x": [0.0, 0.1, 0.2, 0.3, 9.0, 9.1, 9.2, 9.3]})
    >>> partitions = {2: np.array([0, 0, 0, 0, 1, 1, 1, 1])}
    >>> boot = bootstrap_stability(pts, partitions, 2, runs=20, random_state=0)
    >>> boot.per_k["ari_mean"].tolist(), float(boot.per_city.min())
    ([1.0], 1.0)
    >>> bootstrap_stability(pts, partitions, 2, runs=20, random_state=0, engine="estimator").per_k["ari_mean"].tolist()
    [1.0]
    """
    if method not in METHODS:
        raise ValueError(f"unknown clustering method {method!r}; candidates: {', '.join(METHODS)}")
    if engine not in BOOTSTRAP_ENGINES:
        raise ValueError(f"unknown bootstrap engine {engine!r}; candidates: {', '.join(BOOTSTRAP_ENGINES)}")
    matrix = inputs.to_numpy(dtype="float64")
    n = len(matrix)
    ks = sorted(partitions)
    rng = np.random.default_rng(random_state)
    ari = {k: [] for k in ks}
    stays = np.zeros(n)
    included = np.zeros(n)
    runs = int(runs)
    drawn = np.sort(rng.integers(n, size=(runs, n)), axis=1)       # resamples x cities (with replacement)
    samples = matrix[drawn]
    distinct = np.array([len(np.unique(sample, axis=0)) for sample in samples])
    fitted: dict = {}
    if method == "kmeans" and engine == "batch":
        # every resample at once, per k (a Python loop over k only)
        for k in ks:
            labels, _, _, _ = kmeans_batch(samples, k, BOOTSTRAP_RESTARTS, rng)
            fitted.update({(b, k): labels[b] for b in range(runs) if labels[b][0] >= 0})
    else:
        seeds = rng.integers(2**31 - 1, size=runs)
        jobs = max(1, min(int(n_jobs), runs))
        if jobs == 1:
            fitted = _refit(samples, list(range(runs)), method, ks, seeds, distinct)
        else:
            from joblib import Parallel, delayed

            chunks = [list(part) for part in np.array_split(np.arange(runs), jobs)]
            for part in Parallel(n_jobs=jobs)(delayed(_refit)(samples, chunk, method, ks, seeds, distinct)
                                              for chunk in chunks):
                fitted.update(part)
    pairs = []  # (k, reference labels, resample labels) on the distinct cities of each resample
    for b in range(runs):
        unique, first = np.unique(drawn[b], return_index=True)     # distinct cities, first position
        for k in ks:
            if k > distinct[b] or (b, k) not in fitted:
                continue
            labels = fitted[(b, k)][first]
            reference = partitions[k][unique]
            pairs.append((k, reference, labels))
            if k == chosen_k:
                stays[unique] += core_membership(reference, labels)
                included[unique] += 1
    scores = adjusted_rand_batch([p[1] for p in pairs], [p[2] for p in pairs])
    for (k, _, _), score in zip(pairs, scores):
        ari[k].append(float(score))
    per_k = pd.DataFrame({
        "k": ks,
        "ari_mean": [float(np.mean(ari[k])) if ari[k] else np.nan for k in ks],
        "ari_p05": [float(np.quantile(ari[k], 0.05)) if ari[k] else np.nan for k in ks],
        "ari_p95": [float(np.quantile(ari[k], 0.95)) if ari[k] else np.nan for k in ks],
        "bootstrap_runs": [len(ari[k]) for k in ks],
    })
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(included > 0, stays / np.maximum(included, 1), np.nan)
    per_city = pd.Series(share, index=inputs.index, name="stability")
    return BootstrapResult(per_k=per_k, per_city=per_city,
                           included=pd.Series(included.astype("int64"), index=inputs.index, name="included"))



def pen_portraits(labels: pd.Series, scores: pd.DataFrame, threshold: float = 5.0) -> pd.DataFrame:
    """Short Italian and English description of each profile, generated from the data.

    A profile is described by the focus areas whose mean score lies furthest
    above the mean of all cities (at least ``threshold`` points), or as close
    to the mean when none does.

    Returns
    -------
    DataFrame
        Indexed by cluster with ``label`` (Italian), ``label_en`` and the
        cluster's mean score per area.
    """
    overall = scores.mean()
    means = scores.groupby(labels).mean()
    rows = []
    for number, row in means.iterrows():
        gap = (row - overall).dropna().sort_values(ascending=False)
        above = [area for area, value in gap.items() if value >= threshold][:2]
        below = [area for area, value in gap[::-1].items() if value <= -threshold][:2]
        if above:
            it = "bisogno sopra la media in " + " e ".join(SHORT_AREA_LABELS["it"][a] for a in above)
            en = "above-average need in " + " and ".join(SHORT_AREA_LABELS["en"][a] for a in above)
        elif below:
            it = "bisogno sotto la media in " + " e ".join(SHORT_AREA_LABELS["it"][a] for a in below)
            en = "below-average need in " + " and ".join(SHORT_AREA_LABELS["en"][a] for a in below)
        else:
            it, en = "bisogni vicini alla media delle 39 città", "needs close to the mean of the 39 cities"
        rows.append({"cluster": int(number), "label": f"Profilo {number}: {it}",
                     "label_en": f"Profile {number}: {en}",
                     **{f"mean_{area}": row.get(area, np.nan) for area in FOCUS_AREAS}})
    return pd.DataFrame(rows).set_index("cluster")


def _fmt(value: float, lang: str, digits: int | None = None) -> str:
    if value is None or not np.isfinite(value):
        return "n.d." if lang == "it" else "n/a"
    if digits is None:
        digits = 0 if abs(value) >= 1000 else 1
    text = f"{value:,.{digits}f}"
    if lang == "it":
        text = text.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")
    return text


def _signed(value: float, lang: str, digits: int = 1) -> str:
    return ("+" if value >= 0 else "\u2212") + _fmt(abs(value), lang, digits)


def _with_unit(value: float, unit: str, lang: str) -> str:
    number = _fmt(value, lang)
    if unit == "%":
        return f"{number}%"
    if unit == "euro":
        return f"{number} euro" if lang == "it" else f"EUR {number}"
    return number


def portraits(labels: pd.Series, scores: pd.DataFrame, values: pd.DataFrame, catalogue: pd.DataFrame,
              threshold: float = 5.0, z_threshold: float = 0.5, max_items: int = 2) -> pd.DataFrame:
    """Pen portraits of the profiles in Italian and English, generated from the data (no free text).

    For each profile: its size; the focus areas whose mean score lies at least
    ``threshold`` points above or below the mean of all the cities given; and
    the indicators (raw values) whose profile mean lies furthest above and
    below the mean of all the cities, in standard deviations of the cities (at
    least ``z_threshold``; at most ``max_items`` each way).

    Parameters
    ----------
    labels : Series
        City -> profile number.
    scores : DataFrame
        Cities x focus areas (0..100).
    values : DataFrame
        Cities x indicators, raw values.
    catalogue : DataFrame
        ``label_it``, ``label_en``, ``unit`` per indicator.

    Returns
    -------
    DataFrame
        Indexed by ``cluster``: ``label``, ``label_en`` (short, as
        :func:`pen_portraits`), ``portrait_it``, ``portrait_en``, ``size``.

    Examples
    --------
    Made-up scores and indicator values for four made-up cities:

    >>> scores = pd.DataFrame({"inclusion_work": [10.0, 12.0, 80.0, 82.0], "housing": [50.0] * 4,
    ...                        "poverty": [60.0, 62.0, 20.0, 22.0], "culture_tourism": [np.nan] * 4})
    >>> values = pd.DataFrame({"x": [1.0, 1.2, 3.0, 3.1]})
    >>> cat = pd.DataFrame({"label_it": ["Indice X"], "label_en": ["Index X"], "unit": ["%"]}, index=["x"])
    >>> table = portraits(pd.Series([1, 1, 2, 2]), scores, values, cat)
    >>> print(table.loc[1, "portrait_en"])
    Profile 1 (2 cities). Compared with the mean of the 4 cities: higher need in poverty and marginality (+20.0 points); lower need in work and inclusion (-35.0 points). Indicators furthest below the mean: Index X (1.1% vs 2.1%; -1.0 sd).
    """
    short = pen_portraits(labels, scores, threshold)
    n_all = len(labels)
    overall_scores = scores.loc[labels.index].mean()
    group_scores = scores.loc[labels.index].groupby(labels).mean()
    frame = values.loc[labels.index]
    mean, std = frame.mean(), frame.std(ddof=0)
    group_values = frame.groupby(labels).mean()
    rows = []
    for number in sorted(group_scores.index):
        size = int((labels == number).sum())
        gap = (group_scores.loc[number] - overall_scores).dropna()
        above = gap[gap >= threshold].sort_values(ascending=False)
        below = gap[gap <= -threshold].sort_values()
        z = ((group_values.loc[number] - mean) / std.where(std > 0)).dropna()
        z_above = z[z >= z_threshold].sort_values(ascending=False).head(max_items)
        z_below = z[z <= -z_threshold].sort_values().head(max_items)
        texts = {}
        for lang in ("it", "en"):
            area_names = SHORT_AREA_LABELS[lang]
            if lang == "it":
                head = (f"Profilo {number} ({size} città). "
                        f"Rispetto alla media delle {n_all} città: ")
                parts = []
                if len(above):
                    parts.append("bisogno più alto in " + ", ".join(
                        f"{area_names[a]} ({_signed(v, lang)} punti)" for a, v in above.items()))
                if len(below):
                    parts.append("bisogno più basso in " + ", ".join(
                        f"{area_names[a]} ({_signed(v, lang)} punti)" for a, v in below.items()))
                body = "; ".join(parts) if parts else (
                    f"punteggi d'area entro {_fmt(threshold, lang, 0)} punti dalla media")
                ind_head = ("Indicatori più sopra la media: ", "Indicatori più sotto la media: ")
                versus, sd = "contro", "dev. st."
                label_col = "label_it"
            else:
                head = (f"Profile {number} ({size} {'cities' if size != 1 else 'city'}). "
                        f"Compared with the mean of the {n_all} cities: ")
                parts = []
                if len(above):
                    parts.append("higher need in " + ", ".join(
                        f"{area_names[a]} ({_signed(v, lang).replace(chr(0x2212), '-')} points)"
                        for a, v in above.items()))
                if len(below):
                    parts.append("lower need in " + ", ".join(
                        f"{area_names[a]} ({_signed(v, lang).replace(chr(0x2212), '-')} points)"
                        for a, v in below.items()))
                body = "; ".join(parts) if parts else (
                    f"area scores within {_fmt(threshold, lang, 0)} points of the mean")
                ind_head = ("Indicators furthest above the mean: ", "Indicators furthest below the mean: ")
                versus, sd = "vs", "sd"
                label_col = "label_en"
            sentences = [head + body + "."]
            for selection, lead in ((z_above, ind_head[0]), (z_below, ind_head[1])):
                if len(selection):
                    items = []
                    for indicator, value in selection.items():
                        unit = str(catalogue.loc[indicator, "unit"]) if "unit" in catalogue else ""
                        signed = _signed(value, lang)
                        if lang == "en":
                            signed = signed.replace("\u2212", "-")
                        items.append(f"{catalogue.loc[indicator, label_col]} "
                                     f"({_with_unit(group_values.loc[number, indicator], unit, lang)} {versus} "
                                     f"{_with_unit(mean[indicator], unit, lang)}; {signed} {sd})")
                    sentences.append(lead + "; ".join(items) + ".")
            texts[lang] = " ".join(sentences)
        rows.append({"cluster": int(number), "label": short.loc[number, "label"],
                     "label_en": short.loc[number, "label_en"], "portrait_it": texts["it"],
                     "portrait_en": texts["en"], "size": size})
    table = pd.DataFrame(rows).set_index("cluster")
    table["size"] = table["size"].astype("int64")
    return table


DIAGNOSTIC_LABELS = {
    "it": {"silhouette": "Silhouette (più alto = meglio)", "calinski_harabasz": "Calinski-Harabasz (più alto = meglio)",
           "davies_bouldin": "Davies-Bouldin (più basso = meglio)",
           "ari_mean": "Stabilità bootstrap: ARI medio (5°-95° percentile)", "k": "numero di profili k",
           "chosen": "k scelto"},
    "en": {"silhouette": "Silhouette (higher = better)", "calinski_harabasz": "Calinski-Harabasz (higher = better)",
           "davies_bouldin": "Davies-Bouldin (lower = better)",
           "ari_mean": "Bootstrap stability: mean ARI (5th-95th percentile)", "k": "number of profiles k",
           "chosen": "chosen k"},
}


def plot_diagnostics(diagnostics: pd.DataFrame, lang: str = "it"):
    """Silhouette, Calinski-Harabasz, Davies-Bouldin and bootstrap ARI against k, chosen k marked.

    Parameters
    ----------
    diagnostics : DataFrame
        :attr:`ProfileResult.diagnostics`, or ``profile_diagnostics.parquet``
        (``k`` as a column or as the index).
    lang : {"it", "en"}

    Returns
    -------
    matplotlib.figure.Figure
        Built without pyplot (no global state); show it in a notebook or save it.

    Examples
    --------
    >>> diag = pd.DataFrame({"k": [2, 3], "silhouette": [0.4, 0.3], "calinski_harabasz": [30.0, 20.0],
    ...                      "davies_bouldin": [1.0, 1.2], "chosen": [True, False]})
    >>> len(plot_diagnostics(diag).axes)
    4
    """
    from matplotlib.figure import Figure

    labels = DIAGNOSTIC_LABELS[lang]
    frame = diagnostics.reset_index() if "k" not in diagnostics.columns else diagnostics
    frame = frame.sort_values("k")
    figure = Figure(figsize=(9, 6), layout="constrained")
    axes = figure.subplots(2, 2, sharex=True).ravel()
    chosen = frame.loc[frame["chosen"].astype(bool), "k"] if "chosen" in frame else pd.Series(dtype=int)
    for ax, column in zip(axes, ["silhouette", "calinski_harabasz", "davies_bouldin", "ari_mean"]):
        ax.set_title(labels[column], fontsize=9)
        if column not in frame or frame[column].isna().all():
            ax.text(0.5, 0.5, "n.d." if lang == "it" else "n/a", ha="center", va="center",
                    transform=ax.transAxes)
        else:
            ax.plot(frame["k"], frame[column], marker="o", color="#2b6c8f")
            if column == "ari_mean" and {"ari_p05", "ari_p95"} <= set(frame.columns):
                ax.fill_between(frame["k"], frame["ari_p05"], frame["ari_p95"], color="#2b6c8f", alpha=0.2)
        for k in chosen:
            ax.axvline(k, color="#c0392b", linestyle="--", linewidth=1, label=labels["chosen"])
        ax.set_xticks(list(frame["k"]))
    for ax in axes[2:]:
        ax.set_xlabel(labels["k"])
    if len(chosen):
        axes[0].legend(fontsize=8, loc="best")
    return figure
