"""Screening and treatment (winsorisation, log), redundancy.

Every input here is a made-up vector built for the test (not data about any
municipality); expected values are worked out by hand in the comments or
computed independently (scipy).
"""

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from cocity_analysis.method import treatment


def test_skewness_and_kurtosis_match_the_sample_adjusted_estimators():
    made_up = np.random.default_rng(3).lognormal(size=60)
    assert treatment.skewness(made_up) == pytest.approx(scipy.stats.skew(made_up, bias=False))
    assert treatment.kurtosis(made_up) == pytest.approx(scipy.stats.kurtosis(made_up, bias=False))
    # missing values are ignored, too few values give NaN
    assert treatment.skewness([1.0, np.nan, 2.0, 3.0, 10.0]) == pytest.approx(treatment.skewness([1, 2, 3, 10]))
    assert np.isnan(treatment.kurtosis([1.0, 2.0, 3.0]))
    assert np.isnan(treatment.skewness([2.0, 2.0, 2.0, 2.0]))


def test_winsorisation_of_a_crafted_vector():
    # 1..19 and one far outlier: skewness ~4.5, kurtosis ~20 -> outlying. Replacing 1000 by the
    # next value inwards (19) leaves 1..19, 19: nearly symmetric, so one point is enough.
    values = pd.Series([float(v) for v in range(1, 20)] + [1000.0], index=[f"m{i:02d}" for i in range(20)])
    assert treatment.is_outlying(treatment.skewness(values), treatment.kurtosis(values))
    result = treatment.winsorise(values, max_points=3)
    assert result.points == 1 and result.side == "high" and result.success
    assert result.changed == ["m19"]
    assert result.values["m19"] == 19.0
    assert result.values.drop("m19").equals(values.drop("m19"))  # nothing else touched
    assert (result.low, result.high) == (1.0, 19.0)


def test_winsorisation_mirrors_for_negative_skew_and_keeps_missing():
    values = pd.Series([-1000.0] + [float(v) for v in range(1, 20)] + [np.nan])
    result = treatment.winsorise(values, max_points=3)
    assert result.side == "low" and result.points == 1
    assert result.values.iloc[0] == 1.0
    assert np.isnan(result.values.iloc[-1])


def test_winsorisation_stops_at_max_points_then_log_on_the_original():
    # A doubling sequence 1, 2, 4, ..., 2**19: two extreme points are not enough (the next
    # values are extreme too), so the original is log-transformed: ln(2**i) = i ln 2, an
    # evenly spaced (symmetric) vector.
    values = pd.Series([2.0 ** i for i in range(20)], name="made_up")
    limited = treatment.winsorise(values, max_points=2)
    assert limited.points <= 2 and not limited.success
    treated, record = treatment.treat_indicator(values, max_points=2)
    assert record["action"] == "log" and record["transform"] == "ln(x)"
    assert np.allclose(treated.to_numpy(), np.arange(20) * np.log(2.0))
    assert record["skewness_after"] == pytest.approx(0.0, abs=1e-9)
    assert not record["still_skewed"]
    assert "ln(x)" in record["reason_it"] and "winsorizzazione" in record["reason_it"]


def test_log_transform_handles_zero_and_negative_skew():
    out, formula = treatment.log_transform(pd.Series([0.0, 1.0, 3.0]), "high")
    assert formula == "ln(x - min + 1)" and out.tolist() == pytest.approx([0.0, np.log(2), np.log(4)])
    out, formula = treatment.log_transform(pd.Series([1.0, 9.0, 10.0]), "low")
    # mirror: -ln(max + min - x) = -ln(10), -ln(2), -ln(1): order kept
    assert formula == "-ln(max + min - x)"
    assert out.tolist() == pytest.approx([-np.log(10), -np.log(2), 0.0])
    assert out.is_monotonic_increasing


def test_treat_records_every_indicator_and_can_be_disabled():
    frame = pd.DataFrame({"outlier": [float(v) for v in range(1, 20)] + [1000.0],
                          "flat_ish": [float(v) for v in range(20)],
                          "sparse": [1.0, 2.0] + [np.nan] * 18})
    treated, table = treatment.treat(frame, max_points=3)
    actions = table.set_index("indicator")["action"].to_dict()
    assert actions == {"outlier": "winsorised", "flat_ish": "none", "sparse": "too_few_values"}
    assert list(table.columns) == treatment.TABLE_COLUMNS
    row = table.set_index("indicator").loc["outlier"]
    assert row["points"] == 1 and row["winsorised_codes"] == "19"
    assert row["coverage"] == 1.0 and table.set_index("indicator").loc["sparse", "coverage"] == 0.1
    assert "winsorizzati" not in row["reason_it"] and "1 valore più alto" in row["reason_it"]
    assert treated["flat_ish"].equals(frame["flat_ish"])
    untouched, off = treatment.treat(frame, max_points=3, enabled=False)
    assert untouched.equals(frame)
    assert off.set_index("indicator").loc["outlier", "action"] == "disabled"
    assert bool(off.set_index("indicator").loc["outlier", "still_skewed"])


def test_redundant_pairs_only_within_an_area():
    rng = np.random.default_rng(0)
    base = rng.normal(size=50)
    frame = pd.DataFrame({"a": base, "b": 2 * base + rng.normal(scale=0.2, size=50),
                          "c": rng.normal(size=50), "d": -base})
    areas = pd.Series({"a": "poverty", "b": "poverty", "c": "poverty", "d": "housing"})
    pairs = treatment.redundant_pairs(frame, areas)
    assert pairs[["indicator_a", "indicator_b"]].values.tolist() == [["a", "b"]]  # a-d: other area
    assert 0.99 < pairs["r"].iloc[0] < 0.999 and pairs["n"].iloc[0] == 50
    assert treatment.redundant_pairs(frame, areas, threshold=0.999).empty
