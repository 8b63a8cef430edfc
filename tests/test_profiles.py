"""Need profiles: k-means / Ward / Gaussian mixture, diagnostics, bootstrap stability, pen portraits.

Synthetic point clouds made up for the test (not data about any city).
"""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from cocity_analysis.method import profiles


def _three_groups(seed=0, per_group=10, spread=0.3):
    """Three made-up, well separated groups of points in 4 dimensions, with their true labels."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0, 0, 0], [8, 0, 8, 0], [0, 8, 0, 8]], dtype=float)
    points = np.vstack([c + rng.normal(scale=spread, size=(per_group, 4)) for c in centres])
    index = pd.Index([f"m{i:02d}" for i in range(len(points))])
    return pd.DataFrame(points, columns=list("abcd"), index=index), np.repeat([0, 1, 2], per_group)


@pytest.mark.parametrize("method", ["kmeans", "ward", "gmm"])
def test_three_separated_groups_are_recovered(method):
    frame, truth = _three_groups()
    result = profiles.cluster(frame, method=method, k_range=range(2, 7), random_state=3)
    assert result.k == 3
    assert adjusted_rand_score(truth, result.labels.to_numpy()) == 1.0
    estimator = {"kmeans": "KMeans", "ward": "AgglomerativeClustering", "gmm": "GaussianMixture"}[method]
    assert type(result.model).__name__ == estimator


def test_numbering_is_deterministic_and_seed_independent_on_stable_data():
    frame, _ = _three_groups(per_group=8)
    frame = frame.iloc[:-3]  # sizes 8, 8, 5: numbering by size then smallest code
    one = profiles.cluster(frame, random_state=1)
    two = profiles.cluster(frame, random_state=99)
    again = profiles.cluster(frame, random_state=1)
    assert one.labels.equals(two.labels) and one.labels.equals(again.labels)
    assert one.labels.loc["m00"] == 1 and one.labels.loc["m08"] == 2 and one.labels.loc["m16"] == 3


def test_diagnostics_match_scikit_learn():
    from sklearn import metrics

    frame, _ = _three_groups(seed=5, spread=2.0)
    result = profiles.cluster(frame, k_range=range(2, 5), diagnostics_range=range(2, 9), random_state=0)
    diagnostics = result.diagnostics.set_index("k")
    assert list(diagnostics.index) == list(range(2, 9))
    assert diagnostics["selectable"].tolist() == [True] * 3 + [False] * 4
    assert diagnostics["chosen"].sum() == 1 and diagnostics.loc[result.k, "chosen"]
    matrix = result.inputs.to_numpy()
    for k, labels in result.partitions.items():
        assert diagnostics.loc[k, "silhouette"] == pytest.approx(metrics.silhouette_score(matrix, labels))
        assert diagnostics.loc[k, "calinski_harabasz"] == pytest.approx(
            metrics.calinski_harabasz_score(matrix, labels))
        assert diagnostics.loc[k, "davies_bouldin"] == pytest.approx(metrics.davies_bouldin_score(matrix, labels))


def test_quality_is_undefined_for_one_cluster_or_one_per_row():
    points = np.array([[0.0], [1.0], [2.0]])
    for labels in ([0, 0, 0], [0, 1, 2]):
        assert all(np.isnan(v) for v in profiles.partition_quality(points, np.array(labels)).values())


def test_bootstrap_stability_on_stable_and_on_ambiguous_data():
    frame, _ = _three_groups(seed=2)
    result = profiles.cluster(frame, k_range=range(3, 4), diagnostics_range=range(2, 6), random_state=0,
                              bootstrap_runs=30)
    diagnostics = result.diagnostics.set_index("k")
    assert diagnostics.loc[3, "ari_mean"] == 1.0 and diagnostics.loc[3, "bootstrap_runs"] == 30
    assert (result.stability == 1.0).all()
    assert diagnostics.loc[5, "ari_mean"] < 1.0       # splitting a compact group is not reproducible
    # A made-up cloud with no structure: profiles of it are not stable.
    noise = pd.DataFrame(np.random.default_rng(0).normal(size=(40, 3)))
    unstable = profiles.cluster(noise, n_clusters=4, random_state=0, bootstrap_runs=30)
    assert unstable.stability.mean() < 0.95
    assert unstable.diagnostics.set_index("k").loc[4, "ari_mean"] < 0.9


def test_bootstrap_is_seeded():
    frame, _ = _three_groups(seed=4, spread=2.5)
    one = profiles.cluster(frame, n_clusters=3, random_state=7, bootstrap_runs=20)
    two = profiles.cluster(frame, n_clusters=3, random_state=7, bootstrap_runs=20)
    assert one.stability.equals(two.stability)
    assert one.diagnostics.equals(two.diagnostics)


def test_core_membership():
    reference = np.array([0, 0, 0, 0, 1, 1, 1])
    resampled = np.array([4, 4, 4, 9, 9, 9, 9])
    # cluster 0's core is resample cluster 4 (3 of 4 members): the 4th left it
    assert profiles.core_membership(reference, resampled).tolist() == [True, True, True, False,
                                                                         True, True, True]


def test_kmeans_batch_equals_one_dataset_at_a_time_and_scikit_learn():
    from sklearn.cluster import KMeans

    frame, _ = _three_groups(seed=6, spread=1.0)
    data = frame.to_numpy()
    rng = np.random.default_rng(0)
    sets = np.stack([data[rng.integers(len(data), size=len(data))] for _ in range(5)])
    labels, _, inertia, _ = profiles.kmeans_batch(sets, 3, 20, np.random.default_rng(1))
    for i in range(5):
        single, model = profiles.kmeans(sets[i], 3, random_state=11, n_init=20)
        reference = KMeans(3, n_init=20, random_state=0).fit(sets[i])
        # the fast path reaches the same optimum as scikit-learn, whatever the random restarts
        assert isinstance(model, KMeans)
        assert inertia[i] == pytest.approx(model.inertia_, rel=1e-9)
        assert model.inertia_ == pytest.approx(reference.inertia_, rel=1e-9)
        assert adjusted_rand_score(single, labels[i]) == 1.0
        assert adjusted_rand_score(single, reference.labels_) == 1.0


@pytest.mark.parametrize("method", ["kmeans", "gmm", "ward"])
def test_bootstrap_does_not_depend_on_engine_processes(method):
    frame, _ = _three_groups(seed=4, spread=2.5)
    partitions = {k: profiles.fit_partitions(frame.to_numpy(), method, [k], 0)[k][0] for k in (2, 3)}
    one = profiles.bootstrap_stability(frame, partitions, 3, method=method, runs=12, random_state=5,
                                       engine="estimator", n_jobs=1)
    two = profiles.bootstrap_stability(frame, partitions, 3, method=method, runs=12, random_state=5,
                                       engine="estimator", n_jobs=2)
    pd.testing.assert_frame_equal(one.per_k, two.per_k)
    pd.testing.assert_series_equal(one.per_city, two.per_city)
    assert one.per_k["bootstrap_runs"].tolist() == [12, 12]


def test_bootstrap_batch_and_estimator_agree_on_the_chosen_k():
    # the batch fast path and scikit-learn's KMeans measure the same stability (different random
    # restarts, so not the same draws: close, not equal)
    frame, _ = _three_groups(seed=4, spread=2.5)
    partitions = {3: profiles.kmeans(frame.to_numpy(), 3, 0)[0]}
    batch = profiles.bootstrap_stability(frame, partitions, 3, runs=40, random_state=1, engine="batch")
    estimator = profiles.bootstrap_stability(frame, partitions, 3, runs=40, random_state=1, engine="estimator")
    assert abs(batch.per_k["ari_mean"].iloc[0] - estimator.per_k["ari_mean"].iloc[0]) < 0.05
    assert (batch.per_city - estimator.per_city).abs().mean() < 0.05


def test_portraits_are_generated_from_the_data():
    scores = pd.DataFrame({"inclusion_work": [10.0, 12.0, 80.0, 82.0], "housing": [50.0, 50.0, 51.0, 49.0],
                           "poverty": [60.0, 62.0, 20.0, 22.0], "culture_tourism": [np.nan] * 4})
    values = pd.DataFrame({"made_up_rate": [30.0, 32.0, 10.0, 12.0], "made_up_amount": [5.0, 5.0, 5.0, 5.0]})
    catalogue = pd.DataFrame({"label_it": ["Tasso inventato", "Importo inventato"],
                              "label_en": ["Made-up rate", "Made-up amount"], "unit": ["%", "euro"]},
                             index=["made_up_rate", "made_up_amount"])
    labels = pd.Series([1, 1, 2, 2])
    table = profiles.portraits(labels, scores, values, catalogue)
    assert list(table.columns) == ["label", "label_en", "portrait_it", "portrait_en", "size"]
    assert table["size"].tolist() == [2, 2]
    one_it, one_en = table.loc[1, "portrait_it"], table.loc[1, "portrait_en"]
    assert "povertà e marginalità (+20,0 punti)" in one_it and "lavoro e inclusione (\u221235,0 punti)" in one_it
    assert "Tasso inventato (31,0% contro 21,0%; +1,0 dev. st.)" in one_it
    assert "higher need in poverty and marginality (+20.0 points)" in one_en
    assert "Importo" not in one_it          # no spread: never described
    assert "disagio abitativo" not in one_it  # within 5 points of the mean
    assert "Made-up rate (11.0% vs 21.0%; -1.0 sd)" in table.loc[2, "portrait_en"]
