"""Scopes (the 39 / every municipality), percentiles among Italy and the South, --method and --scope.

The real pipeline on the embedded official data (MEF from the mirror when present); expected
values are recomputed here from the written tables, not typed in.
"""

import hashlib
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from cocity_analysis import FOCUS_AREAS, cli
from cocity_analysis.method import scope
from cocity_analysis.pipeline import SCOPE_ALL_FILES

from .helpers import mirror_mef_zip


def test_percentile_rank_known_answer():
    made_up = np.array([10.0, 20.0, 20.0, 30.0, 40.0, np.nan])
    # PERCENTRANK.INC: values strictly lower / (n - 1), n = 5 values
    assert scope.percentile_rank(made_up, [10.0, 20.0, 40.0, 25.0]).tolist() == [0.0, 25.0, 100.0, 75.0]
    assert np.isnan(scope.percentile_rank(made_up, [np.nan])[0])
    assert np.isnan(scope.percentile_rank(np.array([1.0]), [1.0])[0])


@pytest.fixture(scope="module")
def scope_all(tmp_path_factory):
    """``cocity prepare --scope all --method FILE`` into a temporary folder (fewer draws, same code)."""
    out = tmp_path_factory.mktemp("scope_all")
    method_file = tmp_path_factory.mktemp("method") / "fixture_method.yaml"
    method_file.write_text("monte_carlo_runs: 200\nbootstrap_runs: 20\n", encoding="utf-8")
    args = ["prepare", "--processed", str(out), "--scope", "all", "--method", str(method_file)]
    mef = mirror_mef_zip()
    if mef is None:
        pytest.skip("COCITY_DATA_MIRROR without MEF 2021: no need indicator, prepare stops (issue 13)")
    args += ["--mef", str(mef)]
    assert cli.main(args) == 0
    return out / "current", method_file  # the dataset just switched in


def test_method_file_and_scope_are_recorded(scope_all):
    out, method_file = scope_all
    provenance = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
    assert provenance["method"]["scope"] == "all"
    assert provenance["method"]["monte_carlo_runs"] == 200
    assert provenance["method"]["monte_carlo"]["runs"] == 200
    recorded = {i["role"]: i for i in provenance["inputs"]}
    assert recorded["method"]["sha256"] == hashlib.sha256(method_file.read_bytes()).hexdigest()
    reference = provenance["method"]["reference_set"]
    assert reference["scope"] == "all" and reference["municipalities"] > 7000


def test_scope_all_scores_every_municipality_and_keeps_the_39(scope_all, real_processed_dir):
    out, _ = scope_all
    all_scores = pd.read_parquet(out / "all_scores.parquet")
    assert len(all_scores) > 7000 and all_scores["is_cms"].sum() == 39
    assert set(all_scores.loc[all_scores["is_cms"], "macro_area"]) <= {"Sud", "Isole"}
    scores = pd.read_parquet(out / "scores.parquet")
    assert len(scores) == 39
    # the 39's scores are those of the Italy-wide scoring
    pd.testing.assert_frame_equal(scores, all_scores.loc[scores.index, list(FOCUS_AREAS)],
                                  check_names=False)
    all_priorities = pd.read_parquet(out / "all_priorities.parquet")
    assert len(all_priorities) == 4 * len(all_scores)
    ranked = all_priorities.dropna(subset=["rank_median"])
    assert (ranked["rank_p05"] <= ranked["rank_median"]).all() and (ranked["rank_median"] <= ranked["rank_p95"]).all()
    # share_top sums to 1 for every municipality with at least one scored area; one whose every
    # area has insufficient data has no share at all (NaN), never a made-up priority
    totals = all_priorities.groupby("istat_code")["share_top"].agg(["sum", "count"])
    assert np.allclose(totals.loc[totals["count"] > 0, "sum"], 1.0)
    unscored = totals.index[totals["count"] == 0]
    assert all_scores.loc[unscored, list(FOCUS_AREAS)].isna().all().all()
    # the 39 keep their own profiles: fitted on the 39 whatever the scope
    clusters_all = pd.read_parquet(out / "clusters.parquet").set_index("istat_code")
    clusters_cms = pd.read_parquet(real_processed_dir / "clusters.parquet").set_index("istat_code")
    assert clusters_all["cluster"].equals(clusters_cms.loc[clusters_all.index, "cluster"])


def test_percentiles_among_italy_and_the_south(scope_all):
    out, _ = scope_all
    table = pd.read_parquet(out / "percentiles.parquet")
    assert list(table.columns) == scope.PERCENTILE_COLUMNS
    assert table["istat_code"].nunique() == 39
    assert set(table["kind"]) == {"indicator", "area"}
    values = table["pct_italy"].dropna()
    assert values.between(0, 100).all() and table["pct_south"].dropna().between(0, 100).all()
    indicators = pd.read_parquet(out / "all_indicators.parquet")
    info = pd.read_parquet(out / "all_scores.parquet")
    # percentiles of the need indicators (context indicators are not analysed, issue 13)
    assert "share_0_14" not in set(table["item"])
    row = table[(table.istat_code == "077014") & (table["item"] == "share_taxpayers_le_10k")].iloc[0]
    column = indicators["share_taxpayers_le_10k"].dropna()
    matera = indicators.loc["077014", "share_taxpayers_le_10k"]
    assert row["value"] == matera
    assert row["pct_italy"] == pytest.approx(100 * (column < matera).sum() / (len(column) - 1))
    south = column[info.loc[column.index, "macro_area"].isin(["Sud", "Isole"])]
    assert row["pct_south"] == pytest.approx(100 * (south < matera).sum() / (len(south) - 1))
    assert row["n_south"] == len(south) < row["n_italy"] == len(column)


def test_a_cms_run_removes_the_scope_all_tables(scope_all, tmp_path):
    out, method_file = scope_all
    target = tmp_path / "processed"
    shutil.copytree(out.parent, target, symlinks=True)  # the scope-all datasets, as a user's folder holds them
    assert all((target / "current" / name).exists() for name in SCOPE_ALL_FILES)
    args = ["prepare", "--processed", str(target), "--method", str(method_file)]
    if mirror_mef_zip() is not None:
        args += ["--mef", str(mirror_mef_zip())]
    assert cli.main(args) == 0
    current = (target / "current").resolve()
    assert current != (out.parent / "current").resolve()
    assert not any((current / name).exists() for name in SCOPE_ALL_FILES)
    assert (current / "percentiles.parquet").exists()   # percentiles: in both scopes


def test_bad_scope_or_method_file_is_one_clear_error(tmp_path, capsys):
    bad = tmp_path / "fixture_method.yaml"
    bad.write_text("normalisation: rank\n", encoding="utf-8")
    assert cli.main(["prepare", "--processed", str(tmp_path / "out"), "--method", str(bad)]) == 2
    message = capsys.readouterr().err
    assert str(bad) in message and "minmax, zscore, percentile, distance_to_best" in message
    assert not (tmp_path / "out" / "current").exists()   # no dataset written
    with pytest.raises(SystemExit):
        cli.main(["prepare", "--scope", "italy"])
