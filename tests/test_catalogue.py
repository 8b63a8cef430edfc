"""The indicator catalogue: need/context roles, vintages, and that context never enters a score.

Catalogue fixtures are small YAML files named ``fixture_...``; values are made up for made-up
municipalities unless they come from a real run (the ``prepared`` fixture, MEF from the mirror).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cocity_analysis import FOCUS_AREAS
from cocity_analysis.method import indicators
from cocity_analysis.errors import InputFileError
from cocity_analysis.method.choices import load_method
from cocity_analysis.pipeline import analyse

FIXTURES = Path(__file__).parent / "fixtures" / "catalogue"
AGE_AND_DENSITY = ("share_0_14", "share_65_plus", "share_80_plus", "old_age_index", "dependency_ratio", "density")


# --- roles ----------------------------------------------------------------------------------------

def test_shipped_catalogue_roles():
    catalogue = indicators.load_catalogue()
    assert set(catalogue["role"]) == {"need", "context"}
    for indicator in AGE_AND_DENSITY:
        assert catalogue.at[indicator, "role"] == "context", indicator
    need = catalogue.loc[indicators.need_ids(catalogue)]
    assert need["focus_area"].isin(FOCUS_AREAS).all() and need["direction"].isin(indicators.DIRECTIONS).all()
    # each need rationale names the published indicator it follows and why higher means more or less need
    published = ("8milaCensus", "BES dei territori", "vulnerabilità sociale e materiale", "JRC", "OECD",
                 "tasso di funzione turistica")
    for indicator, entry in need.iterrows():
        assert any(name in entry["rationale"] for name in published), indicator
        assert "più bisogno" in entry["rationale"], indicator


def test_a_bad_role_names_file_entry_and_column():
    path = FIXTURES / "fixture_catalogue_bad_role.yaml"
    with pytest.raises(InputFileError) as error:
        indicators.load_catalogue(path)
    message = str(error.value)
    assert str(path) in message and "share_65_plus" in message and "'proxy'" in message
    assert error.value.column == "role"
    assert path.read_text(encoding="utf-8").splitlines()[error.value.row - 1].strip() == "- id: share_65_plus"


def test_a_missing_role_is_an_error():
    path = FIXTURES / "fixture_catalogue_no_role.yaml"
    with pytest.raises(InputFileError, match="lacks field 'role'") as error:
        indicators.load_catalogue(path)
    assert error.value.column == "role" and "share_65_plus" in str(error.value)


def test_a_successor_must_measure_the_same_concept():
    path = FIXTURES / "fixture_catalogue_bad_successor.yaml"
    with pytest.raises(InputFileError, match="focus_area") as error:
        indicators.load_catalogue(path)
    assert error.value.column == "successor" and "unemployment_rate_25_64" in str(error.value)


def test_unknown_or_cyclic_successors_are_errors(tmp_path):
    text = (FIXTURES / "fixture_catalogue_bad_successor.yaml").read_text(encoding="utf-8")
    unknown = tmp_path / "fixture_unknown.yaml"
    unknown.write_text(text.replace("successor: unemployment_rate_25_64", "successor: no_such_indicator"),
                       encoding="utf-8")
    with pytest.raises(InputFileError, match="no_such_indicator.*not an indicator"):
        indicators.load_catalogue(unknown)
    cyclic = tmp_path / "fixture_cycle.yaml"
    same_area = text.replace("focus_area: inclusion_work", "focus_area: poverty")
    cyclic.write_text(same_area.replace("    requires: [istat_labour]",
                                        "    successor: share_taxpayers_le_10k\n    requires: [istat_labour]"),
                      encoding="utf-8")
    with pytest.raises(InputFileError, match="cycle"):
        indicators.load_catalogue(cyclic)


# --- context never scores ----------------------------------------------------------------------------

def _made_up(n: int = 30, seed: int = 0) -> pd.DataFrame:
    """Made-up raw values for made-up municipalities, one column per catalogue indicator."""
    rng = np.random.default_rng(seed)
    catalogue = indicators.load_catalogue()
    index = pd.Index([f"{i:06d}" for i in range(1, n + 1)], name="istat_code")
    values = pd.DataFrame(rng.uniform(1, 100, size=(n, len(catalogue))), index=index, columns=catalogue.index)
    values.iloc[3, 2] = np.nan
    return values


def _perturbed_context(values: pd.DataFrame, catalogue: pd.DataFrame, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    changed = values.copy()
    context = indicators.context_ids(catalogue, values.columns)
    changed[context] = rng.uniform(-1e6, 1e6, size=(len(values), len(context)))
    changed.iloc[::3, changed.columns.get_indexer(context)] = np.nan
    return changed


def _assert_same_analysis(one, two):
    pd.testing.assert_frame_equal(one.scores, two.scores)
    pd.testing.assert_frame_equal(one.normalised, two.normalised)
    pd.testing.assert_frame_equal(one.priorities, two.priorities)
    pd.testing.assert_frame_equal(one.clusters, two.clusters)
    pd.testing.assert_frame_equal(one.profile_table, two.profile_table)
    pd.testing.assert_frame_equal(one.profiles.inputs, two.profiles.inputs)


def test_context_indicators_never_enter_a_score_made_up_values():
    catalogue = indicators.load_catalogue()
    values = _made_up()
    method = load_method().replace(monte_carlo_runs=60, bootstrap_runs=5)
    base = analyse(values, catalogue, method, seed=3)
    changed = analyse(_perturbed_context(values, catalogue), catalogue, method, seed=3)
    _assert_same_analysis(base, changed)
    pd.testing.assert_frame_equal(base.monte_carlo.summary, changed.monte_carlo.summary)
    context = set(indicators.context_ids(catalogue))
    assert not context & set(base.normalised.columns)
    assert not context & set(base.profiles.inputs.columns)
    assert not context & set(base.scoring.weights.index)
    # and the test can fail: perturbing a need indicator does change the scores
    need = indicators.need_ids(catalogue)[0]
    moved = analyse(values.assign(**{need: values[need][::-1].to_numpy()}), catalogue, method, seed=3)
    area = catalogue.at[need, "focus_area"]
    assert not np.allclose(moved.scores[area], base.scores[area], equal_nan=True)


def test_context_indicators_never_enter_a_score_real_run(prepared):
    catalogue = indicators.load_catalogue()
    method = load_method().replace(monte_carlo_runs=60, bootstrap_runs=5)
    values = prepared.indicators
    assert set(indicators.context_ids(catalogue)) & set(values.columns)  # there is context to perturb
    base = analyse(values, catalogue, method, seed=11)
    changed = analyse(_perturbed_context(values, catalogue), catalogue, method, seed=11)
    _assert_same_analysis(base, changed)


def test_weights_on_a_context_indicator_are_refused():
    catalogue = indicators.load_catalogue()
    method = load_method().replace(indicator_weights={"share_65_plus": 2.0}, monte_carlo_runs=10)
    with pytest.raises(ValueError, match="context indicators.*share_65_plus"):
        analyse(_made_up(), catalogue, method, seed=1, monte_carlo=False)


# --- vintages ------------------------------------------------------------------------------------

def _vintage_catalogue() -> pd.DataFrame:
    """Made-up chain of three vintages of one concept, plus an unrelated indicator."""
    return pd.DataFrame({"successor": ["v2021", "v2024", None, None],
                         "reference_year": ["2011", "2021", "2024", "2023"],
                         "label_it": ["Edizione 2011", "Edizione 2021", "Edizione 2024", "Altro"]},
                        index=["v2011", "v2021", "v2024", "other"])


def test_newest_vintage_covering_every_city_is_used_for_all():
    catalogue = _vintage_catalogue()
    values = pd.DataFrame({"v2011": [1.0, 2.0, 3.0], "v2021": [4.0, 5.0, 6.0], "v2024": [7.0, np.nan, 9.0],
                           "other": [1.0, 1.0, 1.0]}, index=["a", "b", "c"])
    chosen = indicators.select_vintages(values, catalogue, ["a", "b", "c"])
    assert list(chosen.columns) == ["v2021", "other"]       # 2024 misses "b": 2021 for all three, no mix
    pd.testing.assert_series_equal(chosen["v2021"], values["v2021"])
    table = indicators.vintage_choices(values, catalogue, ["a", "b", "c"]).set_index("indicator")
    assert table["status"].to_dict() == {"v2011": "superseded", "v2021": "chosen", "v2024": "superseded"}
    assert "Edizione 2021" in table.at["v2024", "reason"] and "(2021)" in table.at["v2024", "reason"]
    assert table.at["v2024", "cities_with_value"] == 2
    # the reference set decides: without "b", the 2024 vintage covers it all
    assert list(indicators.select_vintages(values, catalogue, ["a", "c"]).columns) == ["v2024", "other"]


def test_when_no_vintage_covers_every_city_the_widest_is_used():
    catalogue = _vintage_catalogue()
    values = pd.DataFrame({"v2011": [1.0, 2.0, np.nan], "v2021": [np.nan, np.nan, 6.0]}, index=["a", "b", "c"])
    chosen = indicators.select_vintages(values, catalogue, ["a", "b", "c"])
    assert list(chosen.columns) == ["v2011"]                 # v2024 absent (source not loaded): covers nobody
    table = indicators.vintage_choices(values, catalogue, ["a", "b", "c"])
    assert table.loc[table["chosen"], "reason"].str.contains("nessuna fonte copre tutte").all()
    # a tie goes to the newer vintage
    tie = values.assign(v2021=[np.nan, 5.0, 6.0])
    assert list(indicators.select_vintages(tie, catalogue, ["a", "b", "c"]).columns) == ["v2021"]


def test_prepare_applies_and_records_the_vintage(tmp_path, monkeypatch, mef_zip):
    """A made-up newer vintage of the low-income share, missing for Matera: the MEF one is used for all."""
    from cocity_analysis import pipeline

    text = indicators.config.CATALOGUE_FILE.read_text(encoding="utf-8")
    text = text.replace("  - id: share_taxpayers_le_10k\n",
                        "  - id: share_taxpayers_le_10k\n    successor: fixture_low_income_new\n")
    text += ('  - id: fixture_low_income_new\n    label_it: "Quota bassi redditi (edizione fixture)"\n'
             '    label_en: "Low-income share (fixture vintage)"\n    focus_area: poverty\n'
             '    direction: more_need\n    role: need\n    unit: "%"\n    formula: "fixture"\n'
             '    rationale: "fixture"\n    requires: [mef]\n    source: "fixture"\n    dataset: "fixture"\n'
             '    reference_year: 2099\n')
    path = tmp_path / "fixture_indicators.yaml"
    path.write_text(text, encoding="utf-8")
    load = indicators.load_catalogue
    monkeypatch.setattr(indicators, "load_catalogue", lambda p=None: load(path))
    newer = lambda b: indicators.FORMULAS["share_taxpayers_le_10k"](b).where(b.index != "077014")  # noqa: E731
    monkeypatch.setitem(indicators.FORMULAS, "fixture_low_income_new", newer)
    method = load_method().replace(monte_carlo_runs=20, bootstrap_runs=0)
    result = pipeline.prepare(mef_path=mef_zip, write=False, method=method)
    assert "share_taxpayers_le_10k" in result.indicators.columns
    assert "fixture_low_income_new" not in result.indicators.columns
    items = {i["id"]: i for i in result.catalogue["indicators"]}
    assert items["fixture_low_income_new"]["vintage"]["status"] == "superseded"
    assert not items["fixture_low_income_new"]["available"]
    assert "sostituito da" in items["fixture_low_income_new"]["missing_reason"]
    assert items["share_taxpayers_le_10k"]["vintage"]["status"] == "chosen"
    assert result.catalogue["focus_areas"]["poverty"]["superseded"] == ["fixture_low_income_new"]
    [record] = [r for r in result.provenance["vintages"]
                if "fixture_low_income_new" in {c["indicator"] for c in r["candidates"]}]
    assert record["chosen"] == "share_taxpayers_le_10k" and record["reference_year"] == "2021"
    counts = {c["indicator"]: c["cities_with_value"] for c in record["candidates"]}
    # the made-up vintage lacks Matera (and the cities where MEF suppressed the <= 0 class: no fallback)
    assert counts["share_taxpayers_le_10k"] == 39 and counts["fixture_low_income_new"] < 39
