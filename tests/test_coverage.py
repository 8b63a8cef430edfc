"""Coverage table: indicators with real values per focus area, on hand-made processed folders and a real run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cocity_analysis import FOCUS_AREAS, datasets
from cocity_analysis.method import coverage
from cocity_analysis.cli import main
from cocity_analysis.errors import CocityError

CODES = ["077014", "065037", "071020"]


@pytest.fixture
def processed(tmp_path):
    """A processed folder as `cocity prepare` writes it, with three cities and fixture values."""
    cities = pd.DataFrame({"name": ["Matera", "Cava de' Tirreni", "Cerignola"]},
                          index=pd.Index(CODES, name="istat_code"))
    values = pd.DataFrame({"ind_full": [1.0, 2.0, 3.0], "ind_partial": [1.0, np.nan, 3.0],
                           "ind_empty": [np.nan, np.nan, np.nan], "ind_context": [5.0, 6.0, np.nan]},
                          index=cities.index)
    catalogue = {"indicators": [
        {"id": "ind_full", "label_it": "Indicatore completo", "focus_area": "inclusion_work", "source": "fixture",
         "reference_year": "2024", "available": True, "missing_reason": None},
        {"id": "ind_partial", "label_it": "Indicatore parziale", "focus_area": "housing", "source": "fixture",
         "reference_year": "2024", "available": True, "missing_reason": "valore mancante per 1 città"},
        {"id": "ind_empty", "label_it": "Indicatore vuoto", "focus_area": "housing", "source": "fixture",
         "reference_year": "2024", "available": False, "missing_reason": None},
        {"id": "ind_blocked", "label_it": "Indicatore senza fonte", "focus_area": "poverty", "source": "fixture",
         "reference_year": "2024", "available": False,
         "missing_reason": "i dati fixture non erano disponibili"},
        {"id": "ind_old", "label_it": "Vecchia edizione", "focus_area": "inclusion_work", "role": "need",
         "source": "fixture", "reference_year": "2011", "available": False, "successor": "ind_full",
         "vintage": {"status": "superseded"}, "missing_reason": "sostituito da «Indicatore completo» (2024)"},
        {"id": "ind_context", "label_it": "Indicatore di contesto", "focus_area": None, "role": "context",
         "source": "fixture", "reference_year": "2023", "available": True, "missing_reason": None},
    ], "focus_areas": {}}
    with datasets.new_dataset(tmp_path) as folder:  # one dataset, switched in as `cocity prepare` does
        cities.to_parquet(folder / "cities.parquet")
        values.to_parquet(folder / "indicators.parquet")
        (folder / "catalogue.json").write_text(json.dumps(catalogue), encoding="utf-8")
    return tmp_path


def test_coverage_table_counts_cities_with_real_values(processed):
    table = coverage.coverage_table(processed)
    assert list(table.columns) == coverage.COLUMNS
    assert list(dict.fromkeys(table["focus_area"])) == list(FOCUS_AREAS)
    rows = table.set_index("indicator", drop=False)
    assert rows.loc["ind_full", ["cities_with_value", "cities_total", "status"]].tolist() == [3, 3, "completo"]
    assert rows.loc["ind_partial", ["cities_with_value", "status"]].tolist() == [2, "parziale"]
    assert rows.loc["ind_empty", ["cities_with_value", "status"]].tolist() == [0, "non disponibile"]
    assert rows.loc["ind_empty", "missing_reason"] == "nessun valore per le città analizzate"
    assert rows.loc["ind_blocked", "missing_reason"] == "i dati fixture non erano disponibili"
    tourism = table[table["focus_area"] == "culture_tourism"]
    assert len(tourism) == 1 and tourism["indicator"].isna().all() and tourism["status"].iloc[0] == "non disponibile"
    # a context indicator and a superseded vintage are not indicators of any area
    assert not {"ind_context", "ind_old"} & set(table["indicator"].dropna())


def test_context_indicators_are_listed_apart(processed, capsys):
    context = coverage.context_table(processed)
    assert context[["indicator", "cities_with_value", "cities_total", "reference_year"]].values.tolist() == [
        ["ind_context", 2, 3, "2023"]]
    assert main(["coverage", "--processed", str(processed)]) == 0
    out = capsys.readouterr().out
    head, tail = out.split("Contesto della città")
    assert "ind_context" in tail and "ind_context" not in head and "non entra nei punteggi" in tail
    assert "ind_old" not in out


def test_coverage_by_area_tells_whether_every_city_is_covered(processed):
    summary = coverage.coverage_by_area(processed)
    assert summary.loc["inclusion_work", ["indicators", "cities_with_any_value", "covered"]].tolist() == [1, 3, True]
    assert summary.loc["inclusion_work", "years"] == "2024"            # the year of the vintage in use
    assert summary.loc["inclusion_work", "cities_with_min_indicators"] == 0   # one indicator: limited evidence
    assert summary.loc["housing", ["indicators", "indicators_with_values", "cities_with_any_value", "covered"]
                       ].tolist() == [2, 1, 2, False]
    assert summary.loc["culture_tourism", ["indicators", "covered"]].tolist() == [0, False]


def test_cli_coverage_prints_every_area(processed, capsys):
    assert main(["coverage", "--processed", str(processed)]) == 0
    out = capsys.readouterr().out
    for area in FOCUS_AREAS:
        assert area in out
    assert "ind_partial" in out and "2/3" in out and "valore mancante per 1 città" in out


def test_missing_processed_folder_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(CocityError, match="cocity prepare"):
        coverage.coverage_table(tmp_path / "nothing")
    assert main(["coverage", "--processed", str(tmp_path / "nothing")]) == 2
    assert "cocity prepare" in capsys.readouterr().err


def test_coverage_of_a_real_run(real_processed_dir):
    table = coverage.coverage_table(real_processed_dir)
    assert set(table["cities_total"]) == {39}
    assert set(table["focus_area"]) == set(FOCUS_AREAS)
    catalogue = json.loads((real_processed_dir / "catalogue.json").read_text(encoding="utf-8"))
    need = [i for area in FOCUS_AREAS for i in catalogue["indicators"] if i["focus_area"] == area
            and i["role"] == "need" and (i["vintage"] or {}).get("status") != "superseded"]
    assert table["indicator"].dropna().tolist() == [i["id"] for i in need]
    missing = table[table["cities_with_value"] == 0]
    assert missing["missing_reason"].notna().all()  # every missing indicator says why
    assert table["reference_year"].dropna().astype(str).str.len().gt(0).all()
    # age structure describes the city: listed as context, never as an indicator of an area
    assert "share_65_plus" not in set(table["indicator"])
    context = coverage.context_table(real_processed_dir).set_index("indicator")
    assert context.loc["share_65_plus", "cities_with_value"] == 39
    assert context.loc["share_65_plus", "reference_year"] == "2023"
    summary = coverage.coverage_by_area(real_processed_dir, table)
    values = pd.read_parquet(real_processed_dir / "indicators.parquet")
    for area in FOCUS_AREAS:
        members = table.loc[(table["focus_area"] == area) & table["indicator"].notna(), "indicator"]
        counts = values.reindex(columns=list(members)).notna().sum(axis=1)
        assert summary.loc[area, "cities_with_min_indicators"] == int((counts >= coverage.MIN_INDICATORS).sum())
