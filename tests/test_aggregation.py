"""Normalisations, weights and aggregation (arithmetic, geometric).

Made-up values (not data about any municipality); expected values worked out by hand.
"""

import numpy as np
import pandas as pd
import pytest

from cocity_analysis.method import composite
from cocity_analysis.method.choices import Method


def test_geometric_mean_punishes_an_imbalanced_profile_more_than_the_arithmetic():
    # Three made-up rows: balanced (0.5, 0.5) and two imbalanced (1, 0), (0, 1). Same
    # arithmetic mean (0.5); geometric on 1 + 99x: sqrt(50.5 * 50.5) = 50.5 -> (50.5-1)/99 = 0.5,
    # sqrt(100 * 1) = 10 -> (10-1)/99 = 0.0909.
    norm = pd.DataFrame({"a": [0.5, 1.0, 0.0], "b": [0.5, 0.0, 1.0]})
    areas = pd.Series({"a": "poverty", "b": "poverty"})
    arithmetic = composite.composite_scores(norm, areas, "minmax", "arithmetic")["poverty"]
    geometric = composite.composite_scores(norm, areas, "minmax", "geometric")["poverty"]
    assert arithmetic.tolist() == pytest.approx([50.0, 50.0, 50.0])
    assert geometric.tolist() == pytest.approx([50.0, 900 / 99, 900 / 99])
    assert (geometric.iloc[1:] < arithmetic.iloc[1:]).all()
    assert geometric.iloc[0] == pytest.approx(arithmetic.iloc[0])  # balanced: no penalty


def test_geometric_never_zeroes_an_area_because_of_one_zero():
    norm = pd.DataFrame({"a": [0.0, 1.0, 0.5], "b": [0.9, 0.0, 0.5], "c": [0.8, 0.3, 0.6]})
    areas = pd.Series({"a": "housing", "b": "housing", "c": "housing"})
    geometric = composite.aggregate(norm, areas, aggregation="geometric")["housing"]
    assert (geometric > 0).all() and (geometric <= 1).all()


def test_percentile_rank_as_in_the_svi():
    frame = pd.DataFrame({"rate": [5.0, 1.0, 3.0, 3.0, np.nan], "income": [10.0, 40.0, 20.0, 30.0, 50.0]})
    out = composite.percentile(frame, pd.Series({"rate": "more_need", "income": "less_need"}))
    # rate: 4 values; PERCENTRANK.INC = (values lower) / (n - 1): 5 -> 3/3, 1 -> 0, 3 -> 1/3 (tied)
    assert out["rate"].iloc[:4].tolist() == pytest.approx([1.0, 0.0, 1 / 3, 1 / 3])
    assert np.isnan(out["rate"].iloc[4])
    # income: less need when higher, so the lowest income ranks highest
    assert out["income"].tolist() == pytest.approx([1.0, 0.25, 0.75, 0.5, 0.0])


def test_distance_to_best():
    frame = pd.DataFrame({"poor": [10.0, 12.0, 30.0], "income": [200.0, 150.0, 100.0]})
    out = composite.distance_to_best(frame, pd.Series({"poor": "more_need", "income": "less_need"}))
    assert out["poor"].tolist() == pytest.approx([0.0, 0.2, 2.0])       # (x - 10) / 10
    assert out["income"].tolist() == pytest.approx([0.0, 0.25, 0.5])    # (200 - x) / 200
    zero = composite.distance_to_best(pd.DataFrame({"z": [0.0, 1.0]}), pd.Series({"z": "more_need"}))
    assert zero["z"].isna().all()                                         # no relative distance to 0


def test_unbounded_normalisations_are_rescaled_to_0_100():
    agg = pd.DataFrame({"poverty": [-2.0, 0.0, 2.0], "housing": [1.0, 1.0, 1.0]})
    scores = composite.to_scores(agg, "zscore", "arithmetic")
    assert scores["poverty"].tolist() == pytest.approx([0.0, 50.0, 100.0])
    assert scores["housing"].isna().all()
    assert composite.to_scores(agg, "minmax", "arithmetic")["poverty"].tolist() == [-200.0, 0.0, 200.0]


def test_expert_weights_and_weighted_mean():
    norm = pd.DataFrame({"a": [1.0, 0.0], "b": [0.0, 1.0], "c": [0.4, 0.6]})
    areas = pd.Series({"a": "poverty", "b": "poverty", "c": "housing"})
    weights = composite.indicator_weights(norm, areas, {"a": 3.0})      # b not listed: weight 1
    assert weights.to_dict() == pytest.approx({"a": 0.75, "b": 0.25, "c": 1.0})
    scores = composite.aggregate(norm, areas, weights)
    assert scores["poverty"].tolist() == pytest.approx([0.75, 0.25])
    with pytest.raises(ValueError, match="weight 0"):
        composite.indicator_weights(norm, areas, {"a": 0.0, "b": 0.0})
    with pytest.raises(ValueError, match="candidates"):
        composite.indicator_weights(norm, areas, "entropy")


def test_missing_indicator_leaves_the_weighted_mean_of_the_others():
    norm = pd.DataFrame({"a": [1.0, np.nan], "b": [0.0, 0.5]})
    areas = pd.Series({"a": "poverty", "b": "poverty"})
    out = composite.aggregate(norm, areas, pd.Series({"a": 0.75, "b": 0.25}))
    assert out["poverty"].tolist() == pytest.approx([0.75, 0.5])
    assert out["culture_tourism"].isna().all()


def test_pca_weights():
    rng = np.random.default_rng(1)
    factor = rng.normal(size=300)
    made_up = pd.DataFrame({
        "a": factor + rng.normal(scale=0.2, size=300),
        "b": factor + rng.normal(scale=0.2, size=300),
        "c": rng.normal(size=300),                     # a second, independent component
        "solo": rng.normal(size=300),
    })
    areas = pd.Series({"a": "poverty", "b": "poverty", "c": "poverty", "solo": "housing"})
    weights = composite.indicator_weights(made_up, areas, "pca")
    assert weights["solo"] == 1.0
    assert weights[["a", "b", "c"]].sum() == pytest.approx(1.0)
    assert weights["a"] == pytest.approx(weights["b"], abs=0.02)
    # Two indicators alone: PCA cannot tell them apart -> equal weights.
    two = composite.pca_weights(made_up[["a", "b"]], areas)
    assert two.tolist() == pytest.approx([0.5, 0.5])
    # Too few complete rows: equal weights rather than an unstable PCA.
    few = composite.pca_weights(made_up.iloc[:4], areas)
    assert few[["a", "b", "c"]].tolist() == pytest.approx([1 / 3] * 3)


def test_method_validates_monte_carlo_lists():
    from cocity_analysis.errors import InputFileError

    with pytest.raises(InputFileError, match="mc_normalisations"):
        Method().replace(mc_normalisations=("minmax", "rank"))
    with pytest.raises(InputFileError, match="non-empty"):
        Method().replace(mc_aggregations=())
    assert Method().replace(bootstrap_runs=0).bootstrap_runs == 0
