"""ICCU libraries: real counts from the mirrored register (csv module), fixtures for bad input, fetch, pipeline."""

from __future__ import annotations

import csv
import json
import shutil
import zipfile
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from cocity_analysis import config
from cocity_analysis.method import indicators
from cocity_analysis.errors import InputFileError, SourceUnavailableError
from cocity_analysis.sources import iccu, istat_comuni

FIXTURES = Path(__file__).parent / "fixtures" / "iccu"
MATERA, GELA, TARANTO = "077014", "085007", "073027"


@pytest.fixture(scope="module")
def current():
    return istat_comuni.load().index


@pytest.fixture(scope="module")
def real_file() -> Path:
    mirror = config.data_mirror()
    if mirror is None:
        pytest.skip(f"{config.MIRROR_ENV} is not set: the real ICCU register is not available")
    path = mirror / "iccu" / iccu.CSV_NAME
    if not path.is_file():
        pytest.skip(f"{path} not found in the mirror named by {config.MIRROR_ENV}")
    return path


def _count_by_hand(path: Path) -> Counter:
    with open(path, encoding="utf-8", newline="") as handle:
        return Counter(row["codice istat comune"] for row in csv.DictReader(handle, delimiter=";"))


def test_real_counts_match_the_register_by_hand(real_file, current):
    by_hand = _count_by_hand(real_file)
    counts, report = iccu.load(real_file, current_codes=current, return_report=True)
    for code in (MATERA, TARANTO, "064008", "090064"):
        assert counts.at[code, "iccu_libraries"] == by_hand[code] > 0
    assert report.rows_read == sum(by_hand.values())
    # every library is counted in a current municipality or listed as unmatched: nothing lost silently
    assert report.libraries_out + sum(u["libraries"] for u in report.unmatched) == report.rows_read


def test_real_gela_has_no_library_registered_and_stays_zero(real_file, current):
    assert _count_by_hand(real_file)[GELA] == 0
    counts = iccu.load(real_file, current_codes=current)
    assert counts.at[GELA, "iccu_libraries"] == 0  # a count of 0, not missing
    notes = iccu.zero_notes(counts, [MATERA, GELA, TARANTO], "luglio 2020")
    assert notes["istat_code"].tolist() == [GELA]
    assert "lacuna del registro" in notes["treatment"].iloc[0]
    assert "luglio 2020" in notes["treatment"].iloc[0]


def test_fixture_counts_merges_and_unmatched():
    counts, report = iccu.load(FIXTURES / "fixture_territorio.csv", current_codes=["077014", "005122", "085007"],
                               return_report=True)
    assert counts["iccu_libraries"].to_dict() == {"005122": 2, "077014": 2, "085007": 0}
    assert {m["old_code"] for m in report.merged} == {"005079", "005110"}
    assert all(m["new_code"] == "005122" for m in report.merged)
    assert [u["code"] for u in report.unmatched] == ["999999"]
    assert report.libraries_out == 4 and report.rows_read == 5
    json.dumps(report.to_dict())


def test_zip_as_distributed_gives_the_same_counts(tmp_path):
    archive = tmp_path / "territorio.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.write(FIXTURES / "fixture_territorio.csv", "territorio.csv")
    codes = ["077014", "005122"]
    pd.testing.assert_frame_equal(iccu.load(archive, current_codes=codes),
                                  iccu.load(FIXTURES / "fixture_territorio.csv", current_codes=codes))


@pytest.mark.parametrize("name, row, column, words", [
    ("fixture_territorio_bad_code.csv", 2, "codice istat comune", "not 6 digits"),
    ("fixture_territorio_missing_column.csv", 1, "codice istat comune", "not found"),
    ("fixture_territorio_duplicate_isil.csv", 3, "codice-isil", "appears twice"),
])
def test_bad_input_names_file_row_and_column(name, row, column, words):
    with pytest.raises(InputFileError) as info:
        iccu.load(FIXTURES / name, current_codes=["077014"])
    error = info.value
    assert name in str(error) and error.row == row and error.column == column and words in error.reason


def test_not_utf8_is_refused(tmp_path):
    path = tmp_path / "territorio.csv"
    path.write_bytes((FIXTURES / "fixture_territorio.csv").read_text(encoding="utf-8").encode("utf-16"))
    with pytest.raises(InputFileError, match="UTF-16"):
        iccu.load(path, current_codes=["077014"])


def test_fetch_from_mirror_csv_records_snapshot(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "iccu").mkdir(parents=True)
    shutil.copyfile(FIXTURES / "fixture_territorio.csv", mirror / "iccu" / "territorio.csv")

    class NoNetwork:
        def get(self, *args, **kwargs):
            raise AssertionError("network must not be used with a mirror")

    entry = iccu.fetch(tmp_path / "raw", mirror=mirror, session=NoNetwork())
    assert entry["file"] == "territorio.csv" and entry["url"] is None
    assert entry["snapshot"] == iccu.MIRROR_SNAPSHOT
    assert iccu.find_local(tmp_path / "raw") == tmp_path / "raw" / "territorio.csv"
    provenance = json.loads((tmp_path / "raw" / "provenance.json").read_text())
    assert iccu.snapshot_of(tmp_path / "raw" / "territorio.csv", provenance) == iccu.MIRROR_SNAPSHOT


def test_fetch_mirror_with_a_broken_file_writes_nothing(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "iccu").mkdir(parents=True)
    shutil.copyfile(FIXTURES / "fixture_territorio_bad_code.csv", mirror / "iccu" / "territorio.csv")
    with pytest.raises(InputFileError, match="not 6 digits"):
        iccu.fetch(tmp_path / "raw", mirror=mirror)
    assert not (tmp_path / "raw" / "territorio.csv").exists()


def test_fetch_mirror_without_the_file(tmp_path):
    (tmp_path / "mirror").mkdir()
    with pytest.raises(SourceUnavailableError, match="territorio"):
        iccu.fetch(tmp_path / "raw", mirror=tmp_path / "mirror")


def test_indicator_per_10000_residents():
    base = pd.DataFrame({"iccu_libraries": [8, 0], "pop_total": [59_000, 71_000]},
                        index=pd.Index([MATERA, GELA], name="istat_code"))
    values = indicators.FORMULAS["libraries_per_10000_residents"](base)
    assert values.round(4).tolist() == [round(8 / 59_000 * 10_000, 4), 0.0]
    entry = indicators.load_catalogue().loc["libraries_per_10000_residents"]
    assert entry["focus_area"] == "culture_tourism" and entry["direction"] == "less_need"
    assert entry["role"] == "need" and list(entry["requires"]) == ["iccu", "population"]


def test_docstring_examples():
    import doctest

    from cocity_analysis.sources import mef

    for module in (iccu, mef, istat_comuni):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        assert result.attempted > 0 and result.failed == 0, module.__name__


def test_cli_fetch_iccu_and_mef_newest_from_mirror(tmp_path, monkeypatch, capsys):
    from cocity_analysis.cli import main

    mirror = tmp_path / "mirror"
    (mirror / "iccu").mkdir(parents=True)
    shutil.copyfile(FIXTURES / "fixture_territorio.csv", mirror / "iccu" / "territorio.csv")
    (mirror / "mef").mkdir()
    fixture_mef = Path(__file__).parent / "fixtures" / "mef" / "fixture_2021_utf8.csv"
    shutil.copyfile(fixture_mef, mirror / "mef" / config.mef_csv_name(2021))
    monkeypatch.setenv(config.MIRROR_ENV, str(mirror))
    assert main(["fetch", "iccu", "--dest", str(tmp_path / "iccu")]) == 0
    assert main(["fetch", "mef", "--year", "newest", "--dest", str(tmp_path / "mef")]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "iccu" / "territorio.csv") in out
    assert str(tmp_path / "mef" / config.mef_csv_name(2021)) in out
    assert main(["fetch", "mef", "--year", "2018", "--dest", str(tmp_path / "mef")]) == 2  # not in the mirror
    assert "errore" in capsys.readouterr().err
