"""The method on the real data of the 39 (embedded official data; MEF from the mirror when present).

Expectations are derived from the written tables themselves (independent recomputation), never typed in.
"""

import json

import numpy as np
import pandas as pd
import pytest

from cocity_analysis import FOCUS_AREAS
from cocity_analysis.method import indicators, treatment
from cocity_analysis.method.choices import load_method
from cocity_analysis.pipeline import analyse

from .helpers import scored_areas


def test_new_processed_tables_and_columns(real_processed_dir):
    for name in ("screening.parquet", "redundancy.parquet", "area_status.parquet", "imputed.parquet",
                 "profiles.parquet", "percentiles.parquet"):
        assert (real_processed_dir / name).exists(), name
    clusters = pd.read_parquet(real_processed_dir / "clusters.parquet")
    assert list(clusters.columns) == ["istat_code", "cluster", "label", "label_en", "stability"]
    assert clusters["stability"].between(0, 1).all()
    table = pd.read_parquet(real_processed_dir / "profiles.parquet")
    assert list(table.columns) == ["cluster", "label", "label_en", "portrait_it", "portrait_en", "size",
                                   "naming_indicators", "naming_sides"]
    assert table["size"].sum() == 39
    assert sorted(table["cluster"]) == sorted(clusters["cluster"].unique())
    diagnostics = pd.read_parquet(real_processed_dir / "profile_diagnostics.parquet")
    assert list(diagnostics.index) == list(range(2, 9))
    for column in ("silhouette", "calinski_harabasz", "davies_bouldin", "ari_mean", "chosen"):
        assert column in diagnostics.columns
    status = pd.read_parquet(real_processed_dir / "area_status.parquet")
    assert len(status) == 39 * 4
    values = pd.read_parquet(real_processed_dir / "indicators.parquet")
    # Each city's status per area, recomputed from its missing values: no need indicator of the area, or
    # none with a value for the city -> "dati non disponibili"; more than a third of them missing ->
    # "dati insufficienti"; else "ok".
    areas = scored_areas(values.columns)
    expected = []
    for code in values.index:
        for area in FOCUS_AREAS:
            members = list(areas[areas == area].index)
            share = values.loc[code, members].isna().mean() if members else 1.0
            expected.append((code, area, "dati non disponibili" if share == 1.0
                             else "dati insufficienti" if share > 1 / 3 else "ok"))
    got = sorted(status[["istat_code", "focus_area", "status"]].itertuples(index=False, name=None))
    assert got == sorted(expected)
    imputed = pd.read_parquet(real_processed_dir / "imputed.parquet")
    need = indicators.need_ids(indicators.load_catalogue(), values.columns)
    assert list(imputed.columns) == need and imputed.dtypes.eq(bool).all()  # context indicators are not analysed
    assert not imputed.to_numpy().any()  # default method: no imputation


def test_priorities_robustness_on_the_39(real_processed_dir):
    ranking = pd.read_parquet(real_processed_dir / "priorities.parquet")
    scored = ranking.dropna(subset=["rank"])
    assert (scored["rank_p05"] <= scored["rank_median"]).all()
    assert (scored["rank_median"] <= scored["rank_p95"]).all()
    totals = ranking.groupby("istat_code")["share_top"].sum()
    assert np.allclose(totals, 1.0) and len(totals) == 39
    unscored = ranking[ranking["score"].isna()]
    assert unscored["share_top"].isna().all() and unscored["rank_median"].isna().all()


def test_screening_follows_the_rule_on_the_real_values(real_processed_dir):
    values = pd.read_parquet(real_processed_dir / "indicators.parquet")
    screening = pd.read_parquet(real_processed_dir / "screening.parquet").set_index("indicator")
    for indicator, row in screening.iterrows():
        column = values[indicator]
        outlying = treatment.is_outlying(treatment.skewness(column), treatment.kurtosis(column))
        assert (row["action"] in ("winsorised", "log")) == outlying, indicator
        assert row["skewness"] == pytest.approx(treatment.skewness(column))
        assert row["reason_it"] and row["reason_en"]
    redundancy = pd.read_parquet(real_processed_dir / "redundancy.parquet")
    assert (redundancy["r"].abs() > 0.9).all()


def test_other_seed_same_profiles_on_the_real_data(prepared):
    method = load_method().replace(bootstrap_runs=0)
    catalogue = indicators.load_catalogue()
    one = analyse(prepared.indicators, catalogue, method, seed=1, monte_carlo=False)
    two = analyse(prepared.indicators, catalogue, method, seed=2, monte_carlo=False)
    assert one.clusters["cluster"].tolist() == two.clusters["cluster"].tolist()
    assert one.profiles.k == two.profiles.k
    pd.testing.assert_frame_equal(one.scores, two.scores)


def test_provenance_records_the_method_and_the_simulation(real_processed_dir):
    provenance = json.loads((real_processed_dir / "provenance.json").read_text(encoding="utf-8"))
    method = provenance["method"]
    assert method["monte_carlo"]["runs"] == method["monte_carlo_runs"] == 1000
    draws = method["monte_carlo"]["draws"]
    assert sum(draws["aggregation"].values()) == 1000
    assert set(draws["normalisation"]) == {"minmax", "zscore", "percentile"}
    weights = method["indicator_weights_used"]
    areas = indicators.load_catalogue()["focus_area"]
    for area in FOCUS_AREAS:
        members = [w for i, w in weights.items() if areas[i] == area]
        if members:
            assert sum(members) == pytest.approx(1.0)


def test_areas_without_geopandas_equal_the_geopandas_computation():
    import geopandas as gpd

    from cocity_analysis.sources import population

    mine = population.load_areas()
    geometry = population._geopop(2023).italy_municipalities_geometry
    reference = gpd.GeoSeries(geometry.geometry, crs=geometry.crs).to_crs(3035).area / 1e6
    reference.index = population.format_code(geometry.index)
    reference = reference.sort_index()
    assert list(mine.index) == list(reference.index)
    assert np.allclose(mine["area_km2"].to_numpy(), reference.to_numpy(), rtol=1e-12, atol=0)
    pop = population.load_population()
    assert pop.equals(population.age_groups(population._geopop(2023).population_df))
