"""Hand-checked tests of normalisation, scores, profiles and priorities.

Inputs here are small synthetic tables made up for the test (not data about
any city); expected values are worked out by hand in the comments.
"""

import numpy as np
import pandas as pd
import pytest

from cocity_analysis.method import composite, indicators, priorities, profiles
from cocity_analysis.errors import InputFileError
from cocity_analysis.sources import population


def test_minmax_applies_direction_and_range():
    frame = pd.DataFrame({"income": [10.0, 20.0, 40.0], "poor": [1.0, 3.0, 2.0]})
    out = composite.minmax(frame, pd.Series({"income": "less_need", "poor": "more_need"}))
    # income: lowest income is most need -> (40-10)/30 = 1, (40-20)/30 = 2/3, 0
    assert out["income"].tolist() == pytest.approx([1.0, 2 / 3, 0.0])
    assert out["poor"].tolist() == pytest.approx([0.0, 1.0, 0.5])


def test_minmax_constant_column_becomes_missing_not_zero():
    out = composite.minmax(pd.DataFrame({"x": [5.0, 5.0]}), pd.Series({"x": "more_need"}))
    assert out["x"].isna().all()


def test_zscore_direction():
    out = composite.zscore(pd.DataFrame({"x": [1.0, 2.0, 3.0]}), pd.Series({"x": "less_need"}))
    assert out["x"].tolist() == pytest.approx([1.224744871, 0.0, -1.224744871])


def test_unknown_normalisation_lists_candidates():
    with pytest.raises(ValueError, match="minmax, zscore"):
        composite.normalise(pd.DataFrame({"x": [1.0]}), pd.Series({"x": "more_need"}), "rank")


def test_area_scores_skip_missing_and_keep_empty_area_missing():
    norm = pd.DataFrame({"a": [0.0, 1.0, np.nan], "b": [0.5, np.nan, np.nan], "c": [1.0, 0.0, 0.2]})
    areas = pd.Series({"a": "poverty", "b": "poverty", "c": "housing"})
    scores = composite.area_scores(norm, areas)
    assert scores["poverty"].iloc[0] == pytest.approx(25.0)   # mean(0, 0.5) * 100
    assert scores["poverty"].iloc[1] == pytest.approx(100.0)  # b missing: mean(1) * 100
    assert np.isnan(scores["poverty"].iloc[2])                 # nothing to average: stays missing
    assert scores["housing"].tolist() == pytest.approx([100.0, 0.0, 20.0])
    assert scores["culture_tourism"].isna().all()
    assert list(scores.columns) == ["inclusion_work", "housing", "poverty", "culture_tourism"]


def test_rank_areas_ties_and_missing():
    scores = pd.DataFrame({"inclusion_work": [50.0, 10.0], "housing": [50.0, 20.0],
                           "poverty": [70.0, np.nan], "culture_tourism": [np.nan, np.nan]},
                          index=pd.Index(["000002", "000001"], name="istat_code"))
    ranked = priorities.rank_areas(scores)
    first = ranked[ranked.istat_code == "000002"].set_index("focus_area")["rank"]
    assert first["poverty"] == 1
    # tie between inclusion_work and housing: fixed area order decides
    assert first["inclusion_work"] == 2 and first["housing"] == 3
    assert pd.isna(first["culture_tourism"])
    second = ranked[ranked.istat_code == "000001"].set_index("focus_area")["rank"]
    assert second["housing"] == 1 and second["inclusion_work"] == 2
    assert second.isna().sum() == 2
    assert ranked.istat_code.tolist()[:4] == ["000001"] * 4  # sorted by code


def test_renumber_is_function_of_partition_only():
    index = pd.Index(["a", "b", "c", "d", "e"])
    one = profiles.renumber(np.array([0, 0, 1, 1, 2]), index)
    two = profiles.renumber(np.array([7, 7, 3, 3, 9]), index)
    assert one.tolist() == two.tolist() == [1, 1, 2, 2, 3]


def test_cluster_recovers_separated_groups_and_picks_k():
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [10, 0], [0, 10]])
    points = np.vstack([c + rng.normal(scale=0.3, size=(8, 2)) for c in centres])
    frame = pd.DataFrame(points, columns=["x", "y"], index=[f"{i:06d}" for i in range(24)])
    result = profiles.cluster(frame, random_state=1)
    assert result.k == 3
    truth = np.repeat([0, 1, 2], 8)
    from sklearn.metrics import adjusted_rand_score
    assert adjusted_rand_score(truth, result.labels) == 1.0
    again = profiles.cluster(frame, random_state=2)
    assert again.labels.tolist() == result.labels.tolist()
    assert set(result.diagnostics["k"]) == {2, 3, 4, 5, 6}


def test_cluster_never_imputes_it_drops_incomplete_columns():
    frame = pd.DataFrame({"x": [0.0, 0.1, 5.0, 5.1], "y": [1.0, np.nan, 2.0, 3.0]},
                         index=list("abcd"))
    result = profiles.cluster(frame, n_clusters=2)
    assert result.dropped_columns == ["y"]
    assert list(result.inputs.columns) == ["x"]
    with pytest.raises(ValueError, match="unknown clustering method"):
        profiles.cluster(frame, method="dbscan")


def test_pen_portrait_names_area_above_mean():
    scores = pd.DataFrame({"inclusion_work": [10.0, 12.0, 80.0, 82.0], "housing": [50.0] * 4,
                           "poverty": [60.0, 62.0, 20.0, 22.0], "culture_tourism": [np.nan] * 4})
    labels = pd.Series([1, 1, 2, 2])
    portraits = profiles.pen_portraits(labels, scores)
    assert "povertà" in portraits.loc[1, "label"]
    assert "lavoro" in portraits.loc[2, "label"]
    assert portraits.loc[2, "label_en"].startswith("Profile 2: above-average need in work")


def test_age_groups_hand_checked():
    long = pd.DataFrame({"municipality_code": [64008] * 5 + [1001],
                         "age": [0, 14, 15, 64, 100, 80], "tot": [1, 2, 4, 8, 16, 32]})
    out = population.age_groups(long)
    assert out.loc["064008"].to_dict() == {"pop_total": 31, "pop_0_14": 3, "pop_15_64": 12,
                                           "pop_65_plus": 16, "pop_80_plus": 16}
    assert out.loc["001001", "pop_80_plus"] == 32


def test_reconcile_sums_merged_and_reports_unknown():
    frame = pd.DataFrame({"n": [1, 2, 4, 8]}, index=pd.Index(["005079", "005110", "001001", "999999"],
                                                              name="istat_code"))
    changes = pd.DataFrame({"old_istat_code": ["005079", "005110"],
                            "new_istat_code": ["005122", "005122"]})
    out, report = population.reconcile(frame, pd.Index(["005122", "001001", "001002"]), changes, "test")
    assert out.loc["005122", "n"] == 3
    assert out.loc["001001", "n"] == 4
    assert [r["istat_code"] for r in report.not_current] == ["999999"]
    assert report.missing_current == ["001002"]
    assert len(report.merged) == 2


def test_ratio_zero_or_missing_denominator_is_missing():
    base = pd.DataFrame({"pop_total": [0, 100, None], "pop_0_14": [0, 20, 5]})
    out = indicators.FORMULAS["share_0_14"](base)
    assert np.isnan(out.iloc[0]) and out.iloc[1] == 20.0 and np.isnan(out.iloc[2])


def test_catalogue_covers_required_indicators():
    catalogue = indicators.load_catalogue()
    required = {"share_0_14", "share_65_plus", "share_80_plus", "old_age_index", "dependency_ratio",
                "density", "income_per_taxpayer", "share_taxpayers_le_10k", "taxpayers_per_resident",
                "share_pension_income", "share_property_income"}
    assert required <= set(catalogue.index)
    for column in ("label_it", "label_en", "unit", "formula", "source", "dataset", "reference_year"):
        assert catalogue[column].astype(str).str.len().min() > 0


def test_bad_catalogue_names_file_and_field(tmp_path):
    bad = tmp_path / "fixture_catalogue.yaml"
    bad.write_text("indicators:\n  - id: share_0_14\n    label_it: x\n", encoding="utf-8")
    with pytest.raises(InputFileError) as error:
        indicators.load_catalogue(bad)
    assert str(bad) in str(error.value) and "label_en" in str(error.value)
    wrong_area = tmp_path / "fixture_catalogue_area.yaml"
    text = (indicators.load_catalogue.__globals__["config"].CATALOGUE_FILE.read_text(encoding="utf-8")
            .replace("focus_area: poverty", "focus_area: poverta", 1))
    wrong_area.write_text(text, encoding="utf-8")
    with pytest.raises(InputFileError, match="candidates: inclusion_work, housing, poverty, culture_tourism"):
        indicators.load_catalogue(wrong_area)
