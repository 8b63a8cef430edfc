"""The estimators behind the need profiles, on data where the answer depends on doing the work.

Well-separated groups are found by any single k-means restart; these tests use
the real 39 cities (normalised indicators of a real ``prepare``, skipped without
the mirror) and generated groups that overlap, where one restart misses the best
partition most of the time. Everything is checked through the entry the
profiles use (:func:`cocity_analysis.method.profiles.cluster`) against computations
made here with scikit-learn, so that any correct implementation passes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.metrics import (adjusted_rand_score, calinski_harabasz_score, davies_bouldin_score,
                             silhouette_score)

from cocity_analysis.method import profiles

from .helpers import require_mirror_mef

KS = range(3, 9)
SEEDS = range(10)
SINGLE_RUNS = 100
REL = 1e-6


def overlapping_groups(seed: int = 7) -> pd.DataFrame:
    """Five groups of 8 points in 6 dimensions, centres about one standard deviation apart (made up)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(5, 6))
    points = np.vstack([centre + rng.normal(size=(8, 6)) for centre in centres])
    return pd.DataFrame(points, index=[f"g{i:02d}" for i in range(len(points))],
                        columns=[f"x{j}" for j in range(6)])


@pytest.fixture(scope="module")
def real_matrix(real_processed_dir) -> pd.DataFrame:
    require_mirror_mef()
    normalised = pd.read_parquet(real_processed_dir / "normalised.parquet")
    return normalised.dropna(axis=1)


@pytest.fixture(scope="module", params=["real", "overlapping"])
def data(request) -> pd.DataFrame:
    return request.getfixturevalue("real_matrix") if request.param == "real" else overlapping_groups()


def inertia(matrix: np.ndarray, labels) -> float:
    """Within-cluster sum of squares of a partition (each cluster around its mean)."""
    labels = np.asarray(labels)
    return float(sum(((matrix[labels == c] - matrix[labels == c].mean(axis=0)) ** 2).sum()
                     for c in np.unique(labels)))


def single_restarts(matrix: np.ndarray, k: int, runs: int = SINGLE_RUNS) -> np.ndarray:
    """Inertia of ``runs`` independent one-restart k-means (k-means++), seeds 0..runs-1."""
    return np.array([inertia(matrix, KMeans(k, n_init=1, random_state=s).fit(matrix).labels_)
                     for s in range(runs)])


@pytest.mark.parametrize("k", KS)
def test_kmeans_keeps_the_best_of_its_restarts(data, k):
    matrix = data.to_numpy(dtype="float64")
    singles = single_restarts(matrix, k)
    best, p10 = singles.min(), np.quantile(singles, 0.10)
    # The data make restarts matter: most single restarts are worse than the best found.
    assert (singles > best * (1 + REL)).mean() > 0.5
    found = np.array([inertia(matrix, profiles.cluster(data, method="kmeans", n_clusters=k,
                                                       random_state=seed).labels.to_numpy())
                      for seed in SEEDS])
    # Keeping the best of ~100 restarts lands in the best tenth of single restarts every time
    # (a single restart does so one time in ten) ...
    assert (found <= p10 * (1 + REL)).all(), (found, p10)
    # ... and is strictly better than a lone restart with the same seed for most seeds.
    lone = np.array([inertia(matrix, KMeans(k, n_init=1, random_state=seed).fit(matrix).labels_)
                     for seed in SEEDS])
    assert (found < lone * (1 - REL)).sum() >= len(SEEDS) // 2, (found, lone)


@pytest.mark.parametrize("k", [3, 4])
def test_kmeans_reaches_the_best_partition_on_the_real_39(real_matrix, k):
    """On the real 39, k = 3 and 4: the best of 100 single restarts is reached for every seed."""
    matrix = real_matrix.to_numpy(dtype="float64")
    best = single_restarts(matrix, k).min()
    for seed in SEEDS:
        labels = profiles.cluster(real_matrix, method="kmeans", n_clusters=k, random_state=seed).labels
        assert inertia(matrix, labels.to_numpy()) == pytest.approx(best, rel=REL), seed


@pytest.mark.parametrize("k", range(2, 9))
def test_ward_is_scikit_learn_ward(data, k):
    labels = profiles.cluster(data, method="ward", n_clusters=k, random_state=0).labels
    reference = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(data.to_numpy())
    assert adjusted_rand_score(reference, labels.to_numpy()) == pytest.approx(1.0)


@pytest.mark.parametrize("method", ["kmeans", "ward", "gmm"])
def test_diagnostics_are_scikit_learn_metrics_and_k_is_the_best_silhouette(data, method):
    result = profiles.cluster(data, method=method, k_range=range(2, 7), random_state=3,
                              diagnostics_range=range(2, 9))
    matrix = result.inputs.to_numpy(dtype="float64")
    diagnostics = result.diagnostics.set_index("k")
    assert list(diagnostics.index) == list(range(2, 9))
    for k, row in diagnostics.iterrows():
        labels = result.partitions[k]
        assert len(np.unique(labels)) == k
        assert row["silhouette"] == pytest.approx(silhouette_score(matrix, labels), rel=1e-9)
        assert row["calinski_harabasz"] == pytest.approx(calinski_harabasz_score(matrix, labels), rel=1e-9)
        assert row["davies_bouldin"] == pytest.approx(davies_bouldin_score(matrix, labels), rel=1e-7)
    selectable = diagnostics.loc[2:6, "silhouette"]
    expected_k = int(selectable[selectable == selectable.max()].index.min())
    assert result.k == expected_k and diagnostics["chosen"].sum() == 1 and diagnostics.loc[expected_k, "chosen"]
    assert adjusted_rand_score(result.partitions[result.k], result.labels.to_numpy()) == pytest.approx(1.0)


@pytest.mark.parametrize("seed", range(5))
def test_adjusted_rand_index_is_scikit_learn_s(seed):
    ari = getattr(profiles, "adjusted_rand_index", None)
    if ari is None:
        pytest.skip("profiles has no own adjusted_rand_index (scikit-learn's is used directly)")
    rng = np.random.default_rng(seed)
    first, second = rng.integers(0, 4, size=39), rng.integers(0, 5, size=39)
    second[:20] = first[:20]  # partly agreeing partitions, not only chance or identity
    assert ari(first, second) == pytest.approx(adjusted_rand_score(first, second), abs=1e-12)


def test_adjusted_rand_batch_equals_scikit_learn_s_on_random_labelings():
    rng = np.random.default_rng(12)
    references, labelings = [], []
    for _ in range(300):
        n = int(rng.integers(2, 60))
        first = rng.integers(0, int(rng.integers(1, 9)), size=n)
        second = rng.integers(0, int(rng.integers(1, 9)), size=n) + int(rng.integers(0, 5))
        agree = int(rng.integers(0, n + 1))
        second[:agree] = first[:agree] * 3 + 1  # partly agreeing (renamed labels), not only chance or identity
        references.append(first)
        labelings.append(second)
    references.append(np.zeros(5, dtype=int))  # one cluster each: full agreement
    labelings.append(np.zeros(5, dtype=int))
    batch = profiles.adjusted_rand_batch(references, labelings)
    expected = np.array([adjusted_rand_score(a, b) for a, b in zip(references, labelings)])
    assert len(batch) == len(expected)
    np.testing.assert_allclose(batch, expected, rtol=0, atol=1e-12)
    assert (batch == expected).all()  # same integer counts and expression: equal, not only close
