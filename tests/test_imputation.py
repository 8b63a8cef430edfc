"""Imputation flags and the "dati insufficienti" rule.

Made-up tables for made-up municipalities (codes ``m01``...), not data about any city.
"""

import numpy as np
import pandas as pd
import pytest

from cocity_analysis.method import imputation, scoring
from cocity_analysis.method.choices import Method

CATALOGUE = pd.DataFrame({"direction": ["more_need", "more_need", "less_need", "more_need"],
                          "focus_area": ["poverty", "poverty", "poverty", "housing"]},
                         index=["p1", "p2", "p3", "h1"])


def _made_up(n=12, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(10, 2, size=(n, 4)), columns=CATALOGUE.index,
                         index=pd.Index([f"m{i:02d}" for i in range(n)], name="istat_code"))
    return frame


def test_flags_exactly_where_values_were_missing():
    frame = _made_up()
    holes = [("m01", "p1"), ("m03", "p2"), ("m03", "h1"), ("m07", "p3")]
    for code, column in holes:
        frame.loc[code, column] = np.nan
    regions = pd.Series(["R1"] * 6 + ["R2"] * 6, index=frame.index)
    for method in ("median_region", "knn"):
        filled, flags = imputation.impute(frame, method, regions, n_neighbours=3)
        expected = frame.isna()
        assert flags.equals(expected), method
        assert filled.notna().all().all()
        # observed cells are untouched
        assert filled.where(~expected).equals(frame.where(~expected))
    untouched, none_flags = imputation.impute(frame, "none")
    assert not none_flags.to_numpy().any()
    assert untouched.isna().sum().sum() == len(holes)


def test_median_within_region_known_answer():
    frame = pd.DataFrame({"x": [1.0, 3.0, 100.0, np.nan, 7.0, 9.0, np.nan]},
                         index=list("abcdefg"))
    regions = pd.Series(["R1", "R1", "R1", "R1", "R2", "R2", "R3"], index=frame.index)
    filled, flags = imputation.impute(frame, "median_region", regions)
    assert filled.loc["d", "x"] == 3.0          # median of 1, 3, 100 (R1 only, not R2)
    assert np.isnan(filled.loc["g", "x"])       # R3 has no donor: stays missing, not flagged
    assert flags["x"].tolist() == [False, False, False, True, False, False, False]
    with pytest.raises(ValueError, match="region"):
        imputation.impute(frame, "median_region")


def test_knn_takes_the_nearest_donors_on_the_other_indicators():
    # Two made-up groups far apart on x; y is missing for one row of the high group.
    frame = pd.DataFrame({"x": [0.0, 0.1, 0.2, 10.0, 10.1, 10.2],
                          "y": [1.0, 1.0, 1.0, 50.0, 60.0, np.nan]}, index=list("abcdef"))
    filled, flags = imputation.impute(frame, "knn", n_neighbours=1)
    assert filled.loc["f", "y"] == 60.0         # nearest on x is e (10.1)
    filled, _ = imputation.impute(frame, "knn", n_neighbours=2)
    assert filled.loc["f", "y"] == 55.0         # mean of d and e
    assert flags.loc["f", "y"] and flags.to_numpy().sum() == 1


def test_knn_matches_scikit_learn_with_complete_donors():
    from sklearn.impute import KNNImputer

    rng = np.random.default_rng(4)
    data = rng.normal(size=(200, 5))
    data[rng.random(data.shape) < 0.06] = np.nan
    frame = pd.DataFrame(data)
    filled, _ = imputation.impute(frame, "knn", n_neighbours=4)
    mean, std = np.nanmean(data, axis=0), np.nanstd(data, axis=0)
    scaled = (data - mean) / std
    donors = np.isfinite(scaled).all(axis=1)
    expected = KNNImputer(n_neighbors=4).fit(scaled[donors]).transform(scaled) * std + mean
    assert np.allclose(filled.to_numpy(), expected)


@pytest.mark.parametrize("n_neighbours", [1, 3, 5])
def test_knn_shortcut_gives_knn_imputers_bits(n_neighbours):
    import sklearn
    from sklearn.impute import KNNImputer

    rng = np.random.default_rng(n_neighbours)
    donors = rng.normal(size=(300, 6))
    donors[:40] = np.round(donors[:40], 1)  # ties among distances
    receivers = rng.normal(size=(5000, 6))
    receivers[rng.random(receivers.shape) < 0.3] = np.nan
    receivers[receivers[:, 0] > 1.5, 1:] = np.nan  # rows with one value only
    receivers = receivers[~np.isnan(receivers).all(axis=1)]
    with sklearn.config_context(working_memory=1):  # many distance blocks
        fast = imputation.knn_complete_donors(donors, receivers, n_neighbours)
        expected = KNNImputer(n_neighbors=n_neighbours, keep_empty_features=True).fit(donors).transform(receivers)
    assert fast.tobytes() == expected.tobytes()


def test_knn_shortcut_declines_what_it_does_not_cover():
    donors = np.array([[0.0, 1.0], [1.0, 2.0], [2.0, 3.0]])
    with_gap = donors.copy()
    with_gap[0, 1] = np.nan
    receivers = np.array([[0.5, np.nan], [np.nan, np.nan]])
    assert imputation.knn_complete_donors(with_gap, receivers[:1], 2) is None  # a donor with a gap
    assert imputation.knn_complete_donors(donors, receivers, 2) is None  # a row with nothing in common
    assert imputation.knn_complete_donors(donors, receivers[:1], 4) is None  # more neighbours than donors
    whole = np.array([[0.5, 1.5]])
    assert imputation.knn_complete_donors(donors, whole, 2).tolist() == whole.tolist()


def test_rows_restricts_what_is_filled():
    frame = _made_up()
    frame.loc[["m00", "m05"], "p1"] = np.nan
    filled, flags = imputation.impute(frame, "knn", rows=pd.Index(["m05"]))
    assert np.isnan(filled.loc["m00", "p1"]) and not flags.loc["m00", "p1"]
    assert flags.loc["m05", "p1"] and np.isfinite(filled.loc["m05", "p1"])


def test_more_than_a_third_missing_is_dati_insufficienti():
    frame = _made_up()
    frame.loc["m02", "p1"] = np.nan                       # 1 of 3 poverty indicators: not more than a third
    frame.loc["m04", ["p1", "p2"]] = np.nan               # 2 of 3: more than a third
    frame.loc["m06", "h1"] = np.nan                       # 1 of 1 housing indicator
    status = imputation.area_status(frame, CATALOGUE["focus_area"]).set_index(["istat_code", "focus_area"])
    assert status.loc[("m02", "poverty"), "status"] == "ok"
    assert status.loc[("m04", "poverty"), "status"] == "dati insufficienti"
    assert status.loc[("m04", "poverty"), "status_en"] == "insufficient data"
    assert status.loc[("m04", "poverty"), "n_missing"] == 2
    # no figure at all in the area for the municipality: "dati non disponibili" (issue 13), not "insufficienti"
    assert status.loc[("m06", "housing"), "status"] == "dati non disponibili"
    assert status.loc[("m00", "culture_tourism"), "status"] == "dati non disponibili"
    for method_name in ("none", "knn", "median_region"):
        result = scoring.score(frame, CATALOGUE, Method(imputation=method_name),
                               regions=pd.Series("R1", index=frame.index))
        assert np.isnan(result.scores.loc["m04", "poverty"]), method_name   # never scored, even imputed
        assert np.isnan(result.scores.loc["m06", "housing"]), method_name
        assert np.isfinite(result.scores.loc["m02", "poverty"]), method_name
        assert np.isfinite(result.scores.loc["m04", "housing"]), method_name
