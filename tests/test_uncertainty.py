"""Monte Carlo uncertainty of the per-city priorities.

Made-up indicators for made-up municipalities (``m00``...), not data about any city.
"""

import numpy as np
import pandas as pd
import pytest

from cocity_analysis import FOCUS_AREAS
from cocity_analysis.method import priorities, scoring, uncertainty
from cocity_analysis.method.choices import Method

CATALOGUE = pd.DataFrame({
    "direction": ["more_need", "less_need", "more_need", "more_need", "more_need"],
    "focus_area": ["poverty", "poverty", "housing", "housing", "inclusion_work"],
}, index=["p1", "p2", "h1", "h2", "w1"])


def _made_up(n=40, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.lognormal(mean=2.0, sigma=0.4, size=(n, 5)), columns=CATALOGUE.index,
                         index=pd.Index([f"m{i:02d}" for i in range(n)], name="istat_code"))
    return frame


def _regions(frame):
    return pd.Series(["R1", "R2"] * (len(frame) // 2), index=frame.index)


def test_quantiles_are_ordered_and_share_top_sums_to_one():
    frame = _made_up()
    frame.loc["m03", ["p1", "p2"]] = np.nan          # m03: poverty "dati insufficienti"
    frame.loc["m05", "h1"] = np.nan                   # m05: half of housing missing -> insufficient too
    result = uncertainty.monte_carlo(frame, CATALOGUE, Method(), random_state=1, runs=300,
                                     regions=_regions(frame))
    summary = result.summary
    assert list(summary.columns) == ["istat_code", "focus_area", "rank_median", "rank_p05", "rank_p95",
                                     "share_top"]
    assert len(summary) == len(frame) * 4
    ranked = summary.dropna(subset=["rank_median"])
    assert (ranked["rank_p05"] <= ranked["rank_median"]).all()
    assert (ranked["rank_median"] <= ranked["rank_p95"]).all()
    assert ranked["rank_p05"].min() >= 1 and ranked["rank_p95"].max() <= 3
    totals = summary.groupby("istat_code")["share_top"].sum()
    assert np.allclose(totals, 1.0)
    # areas without data: NA, never a last place
    none = summary[summary.focus_area == "culture_tourism"]
    assert none["rank_median"].isna().all() and none["share_top"].isna().all()
    m03 = summary[summary.istat_code == "m03"].set_index("focus_area")
    assert pd.isna(m03.loc["poverty", "rank_median"]) and np.isnan(m03.loc["poverty", "share_top"])
    assert m03["share_top"].sum() == pytest.approx(1.0)
    assert result.counts.shape == (len(frame), 4, 5) and (result.counts.sum(axis=2) == 300).all()


def test_without_any_uncertainty_the_simulation_gives_the_point_ranking():
    frame = _made_up(seed=3)
    fixed = Method(mc_normalisations=("minmax",), mc_aggregations=("arithmetic",), mc_imputations=("none",),
                   dirichlet_concentration=1e9, area_weight_concentration=1e9, mc_leave_one_out=False)
    result = uncertainty.monte_carlo(frame, CATALOGUE, fixed, random_state=0, runs=20)
    # the point ranking of the priority rule (standardised distance from the reference mean)
    point = priorities.rank_relative(scoring.score(frame, CATALOGUE, fixed).scores)
    merged = point.merge(result.summary, on=["istat_code", "focus_area"])
    ranked = merged.dropna(subset=["rank"])
    assert (ranked["rank"] == ranked["rank_median"]).all()
    assert (ranked["rank_p05"] == ranked["rank_p95"]).all()
    assert ((ranked["rank"] == 1) == (ranked["share_top"] == 1.0)).all()


def test_same_seed_same_result_other_seed_other_draws():
    frame = _made_up(seed=5)
    method = Method(mc_imputations=("none",))
    one = uncertainty.monte_carlo(frame, CATALOGUE, method, random_state=11, runs=200)
    two = uncertainty.monte_carlo(frame, CATALOGUE, method, random_state=11, runs=200)
    other = uncertainty.monte_carlo(frame, CATALOGUE, method, random_state=12, runs=200)
    pd.testing.assert_frame_equal(one.summary, two.summary)
    assert one.draws.equals(two.draws)
    assert not one.draws.equals(other.draws)
    assert set(one.draws["normalisation"]) == {"minmax", "zscore", "percentile"}
    assert set(one.draws["aggregation"]) == {"arithmetic", "geometric"}


def test_two_processes_give_the_result_of_one():
    frame = _made_up(n=60, seed=3)
    frame.iloc[[2, 9, 30], [0, 2, 4]] = np.nan  # the imputations vary too
    method = Method(mc_leave_one_out=True)
    setup = uncertainty.setup_monte_carlo(frame, CATALOGUE, method, random_state=4, runs=300,
                                          regions=_regions(frame))
    one = uncertainty.run_monte_carlo(setup)
    two = uncertainty.run_monte_carlo(setup, processes=2)
    assert np.array_equal(one.counts, two.counts) and one.counts.sum() == 300 * 4 * 60
    pd.testing.assert_frame_equal(one.summary, two.summary, check_exact=True)
    pd.testing.assert_frame_equal(one.sensitivity, two.sensitivity, check_exact=True)
    assert one.draws.equals(two.draws)


def test_rank_matrix_agrees_with_rank_areas_including_ties():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, size=(300, 4)).astype(float)
    scores[rng.random(scores.shape) < 0.2] = np.nan
    index = pd.Index([f"m{i:03d}" for i in range(300)], name="istat_code")
    expected = (priorities.rank_areas(pd.DataFrame(scores, columns=list(FOCUS_AREAS), index=index))
                .pivot(index="istat_code", columns="focus_area", values="rank")[list(FOCUS_AREAS)]
                .fillna(0).astype(int).to_numpy())
    assert (uncertainty.rank_matrix(scores) == expected).all()


def test_summary_quantiles_known_answer():
    counts = np.zeros((1, 4, 5), dtype=int)
    counts[0, 0, 1:] = [10, 80, 10, 0]     # rank 1 in 10%, 2 in 80%, 3 in 10%
    counts[0, 1, 1:] = [90, 10, 0, 0]
    counts[0, 2, 1:] = [0, 10, 90, 0]
    counts[0, 3, 0] = 100                  # never scored
    out = uncertainty.summarise(counts, pd.Index(["m00"]), 100).set_index("focus_area")
    assert out.loc["inclusion_work", ["rank_p05", "rank_median", "rank_p95"]].tolist() == [1, 2, 3]
    assert out.loc["housing", ["rank_p05", "rank_median", "rank_p95"]].tolist() == [1, 1, 2]
    assert out["share_top"].iloc[:3].tolist() == pytest.approx([0.1, 0.9, 0.0])


def test_area_weights_and_alternatives_include_the_chosen_choices():
    options = uncertainty.alternatives(Method(normalisation="distance_to_best", imputation="knn",
                                              mc_imputations=("none",)))
    assert options["normalisation"][-1] == "distance_to_best"
    assert options["imputation"] == ["none", "knn"]
    frame = _made_up(seed=8)
    # A zero weight on housing and inclusion takes them out of the ranking: poverty is always first
    method = Method(mc_imputations=("none",), area_weights={"inclusion_work": 0.0, "housing": 0.0,
                                                            "poverty": 1.0, "culture_tourism": 1.0})
    result = uncertainty.monte_carlo(frame, CATALOGUE, method, random_state=0, runs=50)
    share = result.summary.pivot(index="istat_code", columns="focus_area", values="share_top")
    assert (share["poverty"] == 1.0).all()
    assert share["housing"].isna().all() and share["inclusion_work"].isna().all()


def test_the_indicator_set_and_area_weights_are_varied_and_reported():
    frame = _made_up(seed=2)
    result = uncertainty.monte_carlo(frame, CATALOGUE, Method(), random_state=4, runs=300, regions=_regions(frame))
    tested = result.choices[result.choices.tested]
    # leave one out: only the areas with two indicators or more (poverty, housing), never inclusion_work
    loo = tested[tested.choice == "leave_one_out"]
    assert sorted(loo["area"]) == ["housing", "poverty"]
    assert loo.set_index("area").loc["poverty", "options"] == "none;p1;p2"
    untested_loo = result.choices[(result.choices.choice == "leave_one_out") & ~result.choices.tested]
    assert untested_loo["area"].tolist() == ["inclusion_work"]
    assert "area_weights" in set(tested["choice"])
    # no cell is missing: the imputation variants change nothing and are not counted as tested
    assert "imputation" not in set(tested["choice"])
    assert (result.choices.choice == "imputation").sum() == 2  # median_region and knn, both untested
    assert set(result.draws["imputation"]) == {"none"}
    left = result.draws["left_out_poverty"]
    assert set(left) == {-1, 0, 1}  # none, p1, p2 (column positions)
    assert 0.2 < (left == -1).mean() < 0.45


def test_imputation_is_tested_when_cells_are_missing():
    frame = _made_up(seed=6)
    frame.loc["m07", "p1"] = np.nan
    result = uncertainty.monte_carlo(frame, CATALOGUE, Method(), random_state=0, runs=100, regions=_regions(frame))
    tested = result.choices[result.choices.tested]
    assert "imputation" in set(tested["choice"])


def test_sensitivity_names_the_choice_that_moves_a_result():
    frame = _made_up(seed=9)
    result = uncertainty.monte_carlo(frame, CATALOGUE, Method(mc_imputations=("none",)), random_state=3, runs=400)
    sens = result.sensitivity
    assert set(sens["choice"]) >= {"normalisation", "aggregation", "leave_one_out", "area_weights"}
    assert sens["first_order"].between(0, 1).all()
    assert (sens["kept_min"] <= sens["kept"] + 1e-12).all() and (sens["kept"] <= sens["kept_max"] + 1e-12).all()
    # a city whose first area never changes has no sensitivity to anything
    share = result.summary.groupby("istat_code")["share_top"].max()
    steady = share[share == 1.0].index
    assert (sens[sens.istat_code.isin(steady)]["first_order"] == 0).all()
    moved = sens[~sens.istat_code.isin(steady)]
    assert (moved.groupby("istat_code")["first_order"].max() > 0).all()
