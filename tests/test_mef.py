"""Tests of the MEF municipal IRPEF loader (merged municipalities through ISTAT's changes file) and the fetcher.

(a) the real 2021 file from ``$COCITY_DATA_MIRROR/mef/`` (skipped without it), checked
    against a plain ``csv`` reading of the same file;
(b) hand-written fixtures in the publisher's format (``tests/fixtures/mef/fixture_*.csv``);
(c) one test per bad input, each checking that the message names file, row and column;
(d) ``fetch`` from a mirror built in ``tmp_path`` and with fake sessions (never the network).

Municipal changes: the real-file tests use ISTAT's official changes file from the mirror;
the fixture tests use ``tests/fixtures/istat_changes/fixture_variazioni.csv`` (ISTAT's layout),
made the default for every test of this module. The changes loader itself is tested in
``tests/test_changes_istat.py``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import requests

from cocity_analysis import config
from cocity_analysis.errors import InputFileError, SourceUnavailableError
from cocity_analysis.sources import changes as municipal_changes
from cocity_analysis.sources import mef

FIXTURES = Path(__file__).parent / "fixtures" / "mef"
UTF8 = FIXTURES / "fixture_2021_utf8.csv"
LATIN1 = FIXTURES / "fixture_2021_latin1.csv"
OLDER = FIXTURES / "fixture_older_header.csv"
EMPTY_TRAILER = FIXTURES / "fixture_2021_empty_trailer_code.csv"  # trailer with empty codes, not 0
REAL_NAME = "Redditi_e_principali_variabili_IRPEF_su_base_comunale_CSV_2021.zip"
CHANGES_FIXTURE = Path(__file__).parent / "fixtures" / "istat_changes" / "fixture_variazioni.csv"


@pytest.fixture(autouse=True)
def fixture_changes_by_default(monkeypatch):
    """Loaders called without ``changes=`` read the fixture changes file (not whatever was fetched)."""
    monkeypatch.setattr(municipal_changes, "default_path", lambda: CHANGES_FIXTURE)

EXPECTED_COLUMNS = [
    "tax_year",
    "taxpayers",
    "taxable_income_eur",
    "total_income_eur",
    "taxpayers_income_le_0",
    "taxpayers_income_0_10k",
    "taxpayers_income_10_15k",
    "taxpayers_income_15_26k",
    "taxpayers_income_26_55k",
    "taxpayers_income_55_75k",
    "taxpayers_income_75_120k",
    "taxpayers_income_over_120k",
    "employee_income_taxpayers",
    "pension_income_taxpayers",
    "property_income_taxpayers",
    # extension: the 7 positive bands, for when the publisher suppresses the <= 0 band
    "income_positive_bands_eur",
]


def assert_located(excinfo, path, row, column):
    """The error names the file, the 1-based row and the column, in the message and as attributes."""
    message = str(excinfo.value)
    assert str(path) in message, message
    assert f"row {row}" in message, message
    assert excinfo.value.row == row
    if column is not None:
        assert repr(column) in message, message
        assert excinfo.value.column == column


def write_variant(tmp_path: Path, name: str, old: str, new: str, source: Path = UTF8, count: int = 1) -> Path:
    """Copy a fixture with one textual change (byte-exact otherwise: CRLF and trailing ';' kept)."""
    text = source.read_bytes().decode("utf-8")
    assert text.count(old) >= count, f"{old!r} not in {source.name}"
    target = tmp_path / name
    target.write_bytes(text.replace(old, new, count).encode("utf-8"))
    return target


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


# =========================================================================== (a) real file


@pytest.fixture(scope="module")
def real_zip() -> Path:
    mirror = os.environ.get(config.MIRROR_ENV, "").strip()
    if not mirror:
        pytest.skip(f"{config.MIRROR_ENV} is not set: real MEF 2021 file not available")
    path = Path(mirror) / "mef" / REAL_NAME
    if not path.is_file():
        pytest.skip(f"{path} not found in the mirror named by {config.MIRROR_ENV}")
    return path


@pytest.fixture(scope="module")
def real_rows(real_zip) -> tuple[list[str], list[list[str]]]:
    """Header and data rows of the real file, read with nothing but the csv module."""
    with zipfile.ZipFile(real_zip) as archive:
        (member,) = archive.namelist()
        text = archive.read(member).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    return rows[0], rows[1:]


@pytest.fixture(scope="module")
def official_changes_file() -> Path:
    mirror = os.environ.get(config.MIRROR_ENV, "").strip()
    path = Path(mirror) / "istat_changes" / config.ISTAT_CHANGES_FILE_NAME if mirror else None
    if path is None or not path.is_file():
        pytest.skip(f"{config.MIRROR_ENV} unset or without istat_changes/{config.ISTAT_CHANGES_FILE_NAME}")
    return path


@pytest.fixture(scope="module")
def real_loaded(real_zip, official_changes_file):
    changes = municipal_changes.load_changes(official_changes_file)
    return mef.load(real_zip, changes=changes, return_report=True)


def plain_row(header, rows, code):
    """The file's row for ``code`` as {column: text}, read with the csv module (independent of the loader)."""
    column = header.index("Codice Istat Comune")
    (row,) = [r for r in rows if r[column] == code]
    return dict(zip(header, row))


def plain_int(row, column) -> int:
    return int(row[column])


def plain_changes(path: Path, after_year: int = 2021) -> dict[str, str]:
    """Suppressions and province changes after the tax year, read from ISTAT's file with the csv module."""
    with open(path, newline="", encoding="cp1252") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    header = [name.strip() for name in rows[0]]
    kind, year = header.index("Tipo variazione"), header.index("Anno")
    old = header.index("Codice Comune formato alfanumerico")
    new = header.index("Codice del Comune associato alla variazione o nuovo codice Istat del Comune")
    return {row[old]: row[new] for row in rows[1:]
            if row[kind].strip() in ("ES", "AP") and int(row[year]) > after_year}


def test_real_row_counts(real_rows, real_loaded, official_changes_file):
    header, rows = real_rows
    frame, report = real_loaded
    code = header.index("Codice Istat Comune")
    assert len(rows) == 7905  # 7904 municipalities of 2021 + the trailer row
    assert report.rows_read == len(rows)
    mapping = plain_changes(official_changes_file)
    assert len(mapping) == 14
    current = {mapping.get(row[code], row[code]) for row in rows if row[code] != "0"}
    assert len(current) == 7896  # 14 old codes merged into 7 municipalities, one of them (018026) already listed
    assert len(frame) == len(current) == report.rows_out
    assert set(frame.index) == current


def test_real_codes_are_six_character_strings_sorted(real_loaded):
    frame, _ = real_loaded
    assert frame.index.name == "istat_code"
    assert all(isinstance(code, str) and len(code) == 6 and code.isdigit() for code in frame.index)
    assert list(frame.index) == sorted(frame.index)
    assert "028001" in frame.index  # ABANO TERME, written with its leading zero kept


def test_real_columns_and_types(real_loaded):
    frame, _ = real_loaded
    assert list(frame.columns) == EXPECTED_COLUMNS
    assert frame["tax_year"].dtype == "int64"
    assert (frame["tax_year"] == 2021).all()
    for column in EXPECTED_COLUMNS[1:]:
        assert str(frame[column].dtype) == "Int64", column


def test_real_conservation(real_rows, real_loaded):
    header, rows = real_rows
    frame, report = real_loaded
    taxpayers = header.index("Numero contribuenti")
    plain_total = sum(int(row[taxpayers]) for row in rows)
    assert plain_total == 41_497_318
    assert report.taxpayers_in == plain_total
    assert report.taxpayers_out == int(frame["taxpayers"].sum()) == 41_494_016
    assert report.taxpayers_excluded == int(dict(zip(header, rows[-1]))["Numero contribuenti"])
    assert report.taxpayers_unresolved == 0
    assert report.taxpayers_in == report.taxpayers_out + report.taxpayers_excluded
    report.check_conservation()


def test_real_taxpayers_equal_plain_sum_per_current_code(real_rows, real_loaded, official_changes_file):
    header, rows = real_rows
    frame, _ = real_loaded
    code, taxpayers = header.index("Codice Istat Comune"), header.index("Numero contribuenti")
    mapping = plain_changes(official_changes_file)
    expected: dict[str, int] = {}
    for row in rows:
        if row[code] != "0":
            key = mapping.get(row[code], row[code])
            expected[key] = expected.get(key, 0) + int(row[taxpayers])
    assert frame["taxpayers"].astype("int64").to_dict() == expected


def test_real_trailer_excluded_and_reported(real_rows, real_loaded):
    header, rows = real_rows
    frame, report = real_loaded
    trailer_row = dict(zip(header, rows[-1]))
    assert trailer_row["Codice Istat Comune"] == "0" and trailer_row["Regione"] == "Mancante/errata"
    assert len(report.excluded) == 1
    trailer = report.excluded.iloc[0]
    assert (trailer["code"], trailer["name"], trailer["taxpayers"], trailer["line"]) == (
        "0", "Mancante/errata", plain_int(trailer_row, "Numero contribuenti"), len(rows) + 1)
    assert "0" not in frame.index and "000000" not in frame.index
    assert report.unmatched.empty


def test_real_merged_municipalities(real_rows, real_loaded):
    header, rows = real_rows
    frame, report = real_loaded
    taxpayers = {code: plain_int(plain_row(header, rows, code), "Numero contribuenti")
                 for code in ("005079", "005110", "012009", "012018", "012095")}
    assert frame.loc["005122", "taxpayers"] == taxpayers["005079"] + taxpayers["005110"]  # Moransengo + Tonengo
    assert frame.loc["012144", "taxpayers"] == (  # Bardello, Bregano, Malgesso
        taxpayers["012009"] + taxpayers["012018"] + taxpayers["012095"])
    for old in ("005079", "005110", "012009", "012018", "012095"):
        assert old not in frame.index
    merged = report.merged.set_index("old_code")
    assert len(merged) == 14
    assert merged.loc["005079", "new_code"] == "005122"
    assert merged.loc["005079", "taxpayers"] == taxpayers["005079"]
    assert merged.loc["012018", "file_name"] == "BREGANO"


def test_real_empty_cells_stay_missing(real_rows, real_loaded):
    header, rows = real_rows
    frame, _ = real_loaded
    by_code = {row[header.index("Codice Istat Comune")]: row for row in rows}
    castelmagno = by_code["004053"]
    band = header.index("Reddito complessivo da 26000 a 55000 euro - Frequenza")
    assert castelmagno[band] == ""  # the cell really is empty in the file
    assert pd.isna(frame.loc["004053", "taxpayers_income_26_55k"])
    assert frame.loc["004053", "taxpayers_income_0_10k"] == int(
        castelmagno[header.index("Reddito complessivo da 0 a 10000 euro - Frequenza")])
    abano = by_code["028001"]
    le_0 = header.index("Reddito complessivo minore o uguale a zero euro - Frequenza")
    assert abano[le_0] == ""
    assert pd.isna(frame.loc["028001", "taxpayers_income_le_0"])
    assert pd.isna(frame.loc["028001", "total_income_eur"])  # one band amount suppressed -> total unknown
    assert frame.loc["028001", "taxpayers"] == int(abano[header.index("Numero contribuenti")])


def test_real_total_income_by_hand(real_rows, real_loaded):
    header, rows = real_rows
    frame, _ = real_loaded
    napoli = plain_row(header, rows, "063049")
    bands = [name for name in header
             if name.startswith("Reddito complessivo") and name.endswith("Ammontare in euro")]
    assert len(bands) == 8 and all(napoli[name] != "" for name in bands)
    by_hand = sum(int(napoli[name]) for name in bands)
    assert int(napoli[bands[0]]) < 0  # the <= 0 band really carries a negative amount here
    assert frame.loc["063049", "total_income_eur"] == by_hand
    assert frame.loc["063049", "income_positive_bands_eur"] == by_hand - int(napoli[bands[0]])
    assert frame.loc["063049", "taxable_income_eur"] == plain_int(napoli, "Reddito imponibile - Ammontare in euro")
    assert frame.loc["063049", "employee_income_taxpayers"] == plain_int(
        napoli, "Reddito da lavoro dipendente e assimilati - Frequenza")
    assert frame.loc["063049", "pension_income_taxpayers"] == plain_int(napoli, "Reddito da pensione - Frequenza")
    assert frame.loc["063049", "property_income_taxpayers"] == plain_int(napoli, "Reddito da fabbricati - Frequenza")


def test_real_with_current_codes_reports_unmatched(real_zip, real_rows, real_loaded, official_changes_file):
    header, rows = real_rows
    full, _ = real_loaded
    napoli = plain_int(plain_row(header, rows, "063049"), "Numero contribuenti")
    trailer = plain_int(dict(zip(header, rows[-1])), "Numero contribuenti")
    current = [code for code in full.index if code != "063049"]  # pretend Napoli is not current
    frame, report = mef.load(real_zip, current_codes=current, return_report=True,
                             changes=municipal_changes.load_changes(official_changes_file))
    assert "063049" not in frame.index
    assert report.unmatched[["code", "name", "taxpayers"]].values.tolist() == [["063049", "NAPOLI", napoli]]
    assert report.taxpayers_excluded == trailer + napoli
    report.check_conservation()


# =========================================================================== (b) fixtures


def test_fixture_files_keep_the_publisher_format():
    for path in (UTF8, LATIN1, EMPTY_TRAILER):
        data = path.read_bytes()
        lines = data.split(b"\r\n")
        assert lines[-1] == b"" and b"\n" not in data.replace(b"\r\n", b"")  # CRLF only
        header_fields = lines[0].count(b";") + 1
        assert all(line.count(b";") + 1 == header_fields + 1 for line in lines[1:-1])  # one extra field
        assert all(line.endswith(b";") for line in lines[1:-1])


def test_output_columns_types_and_index():
    frame = mef.load(UTF8)
    assert list(frame.columns) == EXPECTED_COLUMNS
    assert frame.index.name == "istat_code"
    assert list(frame.index) == ["005122", "082027", "087033"]
    assert frame["tax_year"].dtype == "int64"
    for column in EXPECTED_COLUMNS[1:]:
        assert str(frame[column].dtype) == "Int64", column


def test_utf8_and_latin1_give_the_same_frame():
    utf8, utf8_report = mef.load(UTF8, return_report=True)
    latin1, latin1_report = mef.load(LATIN1, return_report=True)
    assert utf8_report.encoding == "utf-8"
    assert latin1_report.encoding == "latin-1"
    pd.testing.assert_frame_equal(utf8, latin1)


@pytest.mark.parametrize("path", [UTF8, LATIN1])
def test_accented_names_are_decoded(path):
    _, report = mef.load(path, current_codes=["082027", "005122"], return_report=True)
    assert report.unmatched["name"].tolist() == ["PATERNÒ"]
    _, report = mef.load(path, current_codes=["087033", "005122"], return_report=True)
    assert report.unmatched["name"].tolist() == ["CEFALÙ"]


def test_utf8_with_byte_order_mark(tmp_path):
    target = tmp_path / "fixture_bom.csv"
    target.write_bytes(b"\xef\xbb\xbf" + UTF8.read_bytes())
    pd.testing.assert_frame_equal(mef.load(target), mef.load(UTF8))


def test_trailer_row_excluded_and_reported():
    frame, report = mef.load(UTF8, return_report=True)
    assert "0" not in frame.index and "000000" not in frame.index
    assert report.excluded[["line", "code", "name", "taxpayers"]].values.tolist() == [
        [6, "0", "Mancante/errata", 300]]
    assert "missing or wrong municipality" in report.excluded.loc[0, "reason"]
    assert report.rows_read == 5 and report.rows_kept == 4 and report.rows_out == 3
    assert report.taxpayers_in == 3600
    assert report.taxpayers_out == 3300
    report.check_conservation()


def test_trailer_with_empty_code_is_handled_like_the_code_0_trailer():
    """Some years leave the trailer's code fields empty instead of writing 0: same exclusion, same report."""
    assert b"\r\n2021;;;;;Mancante/errata;;300;" in EMPTY_TRAILER.read_bytes()
    frame, report = mef.load(EMPTY_TRAILER, return_report=True)
    frame_0, report_0 = mef.load(UTF8, return_report=True)
    pd.testing.assert_frame_equal(frame, frame_0)
    assert "" not in frame.index
    assert report.excluded[["line", "code", "name", "taxpayers"]].values.tolist() == [
        [6, "", "Mancante/errata", 300]]
    assert report.excluded.loc[0, "reason"] == report_0.excluded.loc[0, "reason"]
    assert (report.rows_read, report.rows_kept, report.rows_out) == (5, 4, 3)
    assert (report.taxpayers_in, report.taxpayers_out) == (3600, 3300)
    report.check_conservation()


def test_empty_code_without_missing_wording_is_an_error(tmp_path):
    target = write_variant(tmp_path, "fixture_empty_code.csv", "2021;;;;;Mancante/errata;;",
                           "2021;;;;;Sicilia;;", source=EMPTY_TRAILER)
    with pytest.raises(InputFileError, match="ISTAT code '' is empty") as excinfo:
        mef.load(target)
    assert_located(excinfo, target, 6, "Codice Istat Comune")


def test_empty_cells_stay_missing_never_zero():
    frame = mef.load(UTF8)
    assert pd.isna(frame.loc["087033", "taxpayers_income_le_0"])  # empty in the file
    assert frame.loc["082027", "taxpayers_income_le_0"] == 0  # written 0 in the file
    assert pd.isna(frame.loc["087033", "total_income_eur"])  # a band amount is missing
    assert frame.loc["082027", "total_income_eur"] == (
        1_500_000 + 1_200_000 + 6_000_000 + 9_000_000 + 1_800_000 + 1_300_000 + 1_000_000)


def test_merged_municipalities_are_summed():
    frame, report = mef.load(UTF8, return_report=True)
    assert "005079" not in frame.index and "005110" not in frame.index
    merged = frame.loc["005122"]
    assert merged["taxpayers"] == 100 + 200
    assert merged["taxable_income_eur"] == 1_500_000 + 3_000_000
    assert merged["taxpayers_income_0_10k"] == 30 + 60
    assert merged["employee_income_taxpayers"] == 40 + 100
    # Moransengo's band over 120k is empty (suppressed), Tonengo's is 0: the sum is unknown, not 0.
    assert pd.isna(merged["taxpayers_income_over_120k"])
    assert pd.isna(merged["total_income_eur"])
    assert report.merged[["old_code", "new_code", "taxpayers"]].values.tolist() == [
        ["005079", "005122", 100], ["005110", "005122", 200]]


def test_group_sum_all_missing_stays_missing():
    values = pd.DataFrame({"x": pd.array([None, None, 5], dtype="Int64")})
    key = pd.Series(["a", "a", "b"])
    summed = mef._group_sum_strict(values, key)
    assert pd.isna(summed.loc["a", "x"]) and summed.loc["b", "x"] == 5


def test_older_header_variant():
    frame, report = mef.load(OLDER, return_report=True)
    assert report.columns["istat_code"] == "Codice Istat"
    assert report.columns["taxpayers_income_0_10k"] == "Reddito complessivo da 0 a 10.000 euro - Frequenza"
    assert report.columns["taxable_income_eur"] == "Reddito imponibile - Ammontare"
    assert report.columns["employee_income_taxpayers"] == "Reddito da lavoro dipendente - Frequenza"
    assert list(frame.columns) == EXPECTED_COLUMNS
    assert (frame["tax_year"] == 2012).all()
    assert frame.loc["082027", "total_income_eur"] == 21_800_000
    assert frame.loc["005122", "taxpayers_income_over_120k"] == 0  # 0 + 0, both written
    report.check_conservation()


def test_codes_without_leading_zeros_are_padded(tmp_path):
    frame = mef.load(OLDER)  # codes written 82027, 5079, 5110
    assert list(frame.index) == ["005122", "082027"]
    unpadded = write_variant(tmp_path, "fixture_unpadded.csv", ";082027;", ";82027;")
    pd.testing.assert_frame_equal(mef.load(unpadded), mef.load(UTF8))


def test_unmatched_code_is_reported_not_dropped():
    frame, report = mef.load(UTF8, current_codes=["082027", "005122"], return_report=True)
    assert list(frame.index) == ["005122", "082027"]
    assert report.unmatched[["line", "code", "taxpayers"]].values.tolist() == [[4, "087033", 2000]]
    assert "neither a current municipality nor in the table" in report.unmatched.loc[0, "reason"]
    assert set(report.excluded["code"]) == {"0", "087033"}
    assert report.taxpayers_excluded == 300 + 2000
    report.check_conservation()


def test_changes_target_not_current_is_reported():
    frame, report = mef.load(UTF8, current_codes=["082027", "087033"], return_report=True)
    assert list(frame.index) == ["082027", "087033"]
    assert report.unmatched["code"].tolist() == ["005079", "005110"]
    assert all("maps to 005122" in reason for reason in report.unmatched["reason"])
    report.check_conservation()


def test_current_codes_accepts_unpadded_codes():
    frame = mef.load(UTF8, current_codes=[82027, "87033", "005122"])
    assert list(frame.index) == ["005122", "082027", "087033"]


def test_load_from_zip(tmp_path):
    archive = make_zip(tmp_path / REAL_NAME, {"fixture_2021_latin1.csv": LATIN1.read_bytes()})
    frame, report = mef.load(archive, return_report=True)
    pd.testing.assert_frame_equal(frame, mef.load(LATIN1))
    assert report.source_file == f"{archive}::fixture_2021_latin1.csv"


def test_check_conservation_detects_a_broken_identity():
    _, report = mef.load(UTF8, return_report=True)
    report.taxpayers_out += 1
    with pytest.raises(mef.ConservationError, match="taxpayers in 3600"):
        report.check_conservation()


def test_report_to_dict_is_json():
    _, report = mef.load(UTF8, return_report=True)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["taxpayers_in"] == 3600
    assert data["excluded"][0]["name"] == "Mancante/errata"
    assert data["merged"][0]["old_code"] == "005079"


def test_normalise_header():
    assert mef.normalise_header("  Reddito complessivo da 10.000 a 15.000 euro - Frequenza ") == (
        "reddito complessivo da 10000 a 15000 euro frequenza")
    assert mef.normalise_header("Codice ISTAT  Comune") == "codice istat comune"
    assert mef.normalise_header("Contabilità  dell'imprenditore") == "contabilita dellimprenditore"


# =========================================================================== (c) bad input


def test_error_wrong_encoding_utf16(tmp_path):
    target = tmp_path / "fixture_utf16.csv"
    target.write_bytes(UTF8.read_bytes().decode("utf-8").encode("utf-16"))
    with pytest.raises(InputFileError, match="UTF-16 or binary") as excinfo:
        mef.load(target)
    assert_located(excinfo, target, 1, "Anno di imposta")


def test_error_wrong_encoding_undecodable_byte(tmp_path):
    # 0x81 is neither valid UTF-8 here nor a character of Latin-1 (Windows-1252)
    target = tmp_path / "fixture_bad_byte.csv"
    target.write_bytes(LATIN1.read_bytes().replace(b"TONENGO", b"TON\x81NGO"))
    with pytest.raises(InputFileError, match="neither UTF-8 nor Latin-1") as excinfo:
        mef.load(target)
    assert_located(excinfo, target, 5, "Denominazione Comune")


def test_error_binary_file(tmp_path):
    target = tmp_path / "fixture_binary.csv"
    target.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputFileError, match="UTF-16 or binary") as excinfo:
        mef.load(target)
    assert_located(excinfo, target, 1, None)


@pytest.mark.parametrize("content", [b"", b"\r\n  \r\n"])
def test_error_empty_file(tmp_path, content):
    target = tmp_path / "fixture_empty.csv"
    target.write_bytes(content)
    with pytest.raises(InputFileError, match="empty") as excinfo:
        mef.load(target)
    assert_located(excinfo, target, 1, None)


def test_error_header_without_data_rows(tmp_path):
    target = tmp_path / "fixture_header_only.csv"
    target.write_bytes(UTF8.read_bytes().split(b"\r\n")[0] + b"\r\n")
    with pytest.raises(InputFileError, match="no data rows") as excinfo:
        mef.load(target)
    assert_located(excinfo, target, 2, None)


def test_error_missing_required_column(tmp_path):
    target = write_variant(tmp_path, "fixture_no_taxpayers.csv", ";Numero contribuenti;", ";Numero soggetti;")
    with pytest.raises(InputFileError, match="required column") as excinfo:
        mef.load(target)
    assert_located(excinfo, target, 1, "Numero contribuenti")
    assert "'Numero soggetti'" in str(excinfo.value)  # lists the columns that are there
    assert "'Codice Istat Comune'" in str(excinfo.value)


def test_error_ambiguous_column(tmp_path):
    target = write_variant(tmp_path, "fixture_two_codes.csv", ";Codice catastale;", ";Codice Istat;")
    with pytest.raises(InputFileError, match="cannot tell which one") as excinfo:
        mef.load(target)
    assert_located(excinfo, target, 1, "Codice Istat Comune")


@pytest.mark.parametrize("bad", ["abc", "12x"])
def test_error_non_numeric_value(tmp_path, bad):
    # line 4 is PATERNÒ; its taxpayers are 2000
    target = write_variant(tmp_path, f"fixture_{bad}.csv", ";Sicilia;19;2000;", f";Sicilia;19;{bad};")
    with pytest.raises(InputFileError, match=f"'{bad}' is not a whole number") as excinfo:
        mef.load(target)
    assert_located(excinfo, target, 4, "Numero contribuenti")


def test_error_non_numeric_in_band_column(tmp_path):
    target = write_variant(tmp_path, "fixture_band.csv", ";5;300000;5;500000;0;0;", ";5;300000;5;5OOOOO;0;0;")
    with pytest.raises(InputFileError, match="'5OOOOO'") as excinfo:
        mef.load(target)
    assert_located(excinfo, target, 5, "Reddito complessivo da 75000 a 120000 euro - Ammontare in euro")


def test_error_duplicated_code_after_padding(tmp_path):
    # TONENGO (line 5) gets MORANSENGO's code written without leading zeros
    target = write_variant(tmp_path, "fixture_duplicate.csv", ";005110;TONENGO;", ";5079;TONENGO;")
    with pytest.raises(InputFileError, match="005079 appears twice \\(lines 3 and 5\\)") as excinfo:
        mef.load(target)
    assert_located(excinfo, target, 5, "Codice Istat Comune")


def test_error_invalid_code(tmp_path):
    target = write_variant(tmp_path, "fixture_code.csv", ";082027;", ";08202A;")
    with pytest.raises(InputFileError, match="not a number of up to 6 digits") as excinfo:
        mef.load(target)
    assert_located(excinfo, target, 2, "Codice Istat Comune")


def test_error_row_with_missing_fields(tmp_path):
    lines = UTF8.read_bytes().decode("utf-8").split("\r\n")
    lines[2] = ";".join(lines[2].split(";")[:10])
    target = tmp_path / "fixture_short.csv"
    target.write_bytes("\r\n".join(lines).encode("utf-8"))
    with pytest.raises(InputFileError, match="10 fields but the header has 50") as excinfo:
        mef.load(target)
    assert_located(excinfo, target, 3, None)


@pytest.mark.parametrize(
    ("members", "count"),
    [({"readme.txt": b"x"}, 0), ({"a.csv": UTF8.read_bytes(), "b.csv": UTF8.read_bytes()}, 2)],
)
def test_error_zip_without_exactly_one_csv(tmp_path, members, count):
    archive = make_zip(tmp_path / "fixture.zip", members)
    with pytest.raises(InputFileError, match=f"exactly one CSV file, it holds {count}") as excinfo:
        mef.load(archive)
    assert str(archive) in str(excinfo.value)
    for name in members:
        assert name in str(excinfo.value)


def test_error_errors_inside_zip_name_the_member(tmp_path):
    bad = UTF8.read_bytes().replace(b";Sicilia;19;2000;", b";Sicilia;19;abc;")
    archive = make_zip(tmp_path / "fixture.zip", {"inner.csv": bad})
    with pytest.raises(InputFileError) as excinfo:
        mef.load(archive)
    assert_located(excinfo, f"{archive}::inner.csv", 4, "Numero contribuenti")


def test_error_damaged_zip(tmp_path):
    target = tmp_path / "fixture.zip"
    target.write_bytes(b"<html>not found</html>")
    with pytest.raises(InputFileError, match="not a valid zip") as excinfo:
        mef.load(target)
    assert str(target) in str(excinfo.value)


# =========================================================================== (d) fetch


class FakeResponse:
    def __init__(self, data: bytes, status: int = 200):
        self.data, self.status_code, self.closed = data, status, False

    def raise_for_status(self):
        if self.status_code >= 400:
            raise requests.HTTPError(f"{self.status_code} Server Error")

    def iter_content(self, chunk_size=1):
        for start in range(0, len(self.data), chunk_size):
            yield self.data[start:start + chunk_size]

    def close(self):
        self.closed = True


class FakeSession:
    """Records calls; answers with ``response`` or raises ``error``."""

    def __init__(self, response: FakeResponse | None = None, error: Exception | None = None):
        self.response, self.error, self.calls = response, error, []

    def get(self, url, **kwargs):
        self.calls.append((url, kwargs))
        if self.error is not None:
            raise self.error
        return self.response


@pytest.fixture
def fixture_zip_bytes(tmp_path) -> bytes:
    path = make_zip(tmp_path / "build.zip", {REAL_NAME.replace(".zip", ".csv"): UTF8.read_bytes()})
    return path.read_bytes()


@pytest.fixture
def mirror(tmp_path, fixture_zip_bytes) -> Path:
    folder = tmp_path / "mirror"
    (folder / "mef").mkdir(parents=True)
    (folder / "mef" / REAL_NAME).write_bytes(fixture_zip_bytes)
    return folder


def test_fetch_from_mirror_argument(tmp_path, mirror, fixture_zip_bytes, monkeypatch):
    monkeypatch.delenv(config.MIRROR_ENV, raising=False)
    dest = tmp_path / "raw" / "mef"
    session = FakeSession(error=AssertionError("network must not be used with a mirror"))
    entry = mef.fetch(2021, dest, mirror=mirror, session=session)
    assert session.calls == []
    target = dest / REAL_NAME
    assert target.read_bytes() == fixture_zip_bytes
    assert entry["file"] == REAL_NAME
    assert entry["year"] == 2021
    assert entry["url"] == config.MEF_URL_PATTERN.format(year=2021)
    assert entry["mirror_path"] == str(mirror / "mef" / REAL_NAME)
    assert entry["sha256"] == hashlib.sha256(fixture_zip_bytes).hexdigest()
    assert entry["size"] == len(fixture_zip_bytes)
    assert entry["retrieved_at"][:4].isdigit() and "T" in entry["retrieved_at"]
    provenance = json.loads((dest / "provenance.json").read_text(encoding="utf-8"))
    assert provenance == {REAL_NAME: entry}
    assert sorted(p.name for p in dest.iterdir()) == sorted([REAL_NAME, "provenance.json"])
    assert mef.find_local(2021, dest) == target
    frame = mef.load(target)
    assert frame.loc["005122", "taxpayers"] == 300


def test_fetch_from_mirror_environment_variable(tmp_path, mirror, monkeypatch):
    monkeypatch.setenv(config.MIRROR_ENV, str(mirror))
    dest = tmp_path / "raw"
    entry = mef.fetch(2021, dest, session=FakeSession(error=AssertionError("no network")))
    assert entry["mirror_path"] == str(mirror / "mef" / REAL_NAME)
    assert (dest / REAL_NAME).is_file()


def test_fetch_mirror_without_the_file(tmp_path, monkeypatch):
    monkeypatch.delenv(config.MIRROR_ENV, raising=False)
    empty_mirror = tmp_path / "empty_mirror"
    empty_mirror.mkdir()
    session = FakeSession(error=AssertionError("network must not be used with a mirror"))
    dest = tmp_path / "raw"
    with pytest.raises(SourceUnavailableError) as excinfo:
        mef.fetch(2021, dest, mirror=empty_mirror, session=session)
    message = str(excinfo.value)
    assert str(empty_mirror / "mef" / REAL_NAME) in message
    assert "does not exist" in message and config.MIRROR_ENV in message
    assert "No download was tried" in message
    assert session.calls == []
    assert not (dest / REAL_NAME).exists()


def test_fetch_network_error_without_mirror(tmp_path, monkeypatch):
    monkeypatch.delenv(config.MIRROR_ENV, raising=False)
    session = FakeSession(error=requests.ConnectionError("Name or service not known"))
    dest = tmp_path / "raw"
    with pytest.raises(SourceUnavailableError) as excinfo:
        mef.fetch(2021, dest, session=session)
    message = str(excinfo.value)
    assert config.MEF_URL_PATTERN.format(year=2021) in message
    assert "ConnectionError" in message and config.MIRROR_ENV in message
    assert len(session.calls) == 1 and session.calls[0][1]["timeout"] == 60
    assert not dest.exists() or list(dest.iterdir()) == []  # nothing half-written


def test_fetch_builtin_connection_error(tmp_path, monkeypatch):
    monkeypatch.delenv(config.MIRROR_ENV, raising=False)
    with pytest.raises(SourceUnavailableError, match="download of .* failed"):
        mef.fetch(2021, tmp_path, session=FakeSession(error=ConnectionError("offline")))


def test_fetch_download_with_fake_session(tmp_path, fixture_zip_bytes, monkeypatch):
    monkeypatch.delenv(config.MIRROR_ENV, raising=False)
    dest = tmp_path / "raw"
    dest.mkdir()
    (dest / "provenance.json").write_text(json.dumps({"other.zip": {"file": "other.zip"}}), encoding="utf-8")
    response = FakeResponse(fixture_zip_bytes)
    entry = mef.fetch(2021, dest, session=FakeSession(response=response), timeout=5)
    assert response.closed
    assert entry["mirror_path"] is None
    assert (dest / REAL_NAME).read_bytes() == fixture_zip_bytes
    provenance = json.loads((dest / "provenance.json").read_text(encoding="utf-8"))
    assert set(provenance) == {"other.zip", REAL_NAME}
    assert provenance[REAL_NAME]["sha256"] == hashlib.sha256(fixture_zip_bytes).hexdigest()


@pytest.mark.parametrize("response", [FakeResponse(b"<html>moved</html>"), FakeResponse(b"", status=404)])
def test_fetch_download_that_is_not_a_zip(tmp_path, monkeypatch, response):
    monkeypatch.delenv(config.MIRROR_ENV, raising=False)
    dest = tmp_path / "raw"
    with pytest.raises(SourceUnavailableError, match=config.MIRROR_ENV):
        mef.fetch(2021, dest, session=FakeSession(response=response))
    assert not (dest / REAL_NAME).exists()
    assert not dest.exists() or list(dest.iterdir()) == []


def test_fetch_mirror_file_that_is_not_a_zip(tmp_path, monkeypatch):
    monkeypatch.delenv(config.MIRROR_ENV, raising=False)
    folder = tmp_path / "mirror"
    (folder / "mef").mkdir(parents=True)
    (folder / "mef" / REAL_NAME).write_bytes(b"not a zip")
    with pytest.raises(InputFileError, match="not a zip archive") as excinfo:
        mef.fetch(2021, tmp_path / "raw", mirror=folder)
    assert str(folder / "mef" / REAL_NAME) in str(excinfo.value)
    assert not (tmp_path / "raw" / REAL_NAME).exists()


def test_find_local_missing(tmp_path):
    assert mef.find_local(2021, tmp_path) is None
    assert mef.find_local(2021, tmp_path / "does-not-exist") is None


# =========================================================================== (e) several tax years

MEF_YEAR_CSVS = {year: config.mef_csv_name(year) for year in (2018, 2020)}


def _real_year_file(year: int) -> Path:
    mirror = config.data_mirror()
    if mirror is None:
        pytest.skip(f"{config.MIRROR_ENV} is not set: real MEF {year} file not available")
    for name in (config.mef_file_name(year), config.mef_csv_name(year)):
        if (mirror / "mef" / name).is_file():
            return mirror / "mef" / name
    pytest.skip(f"no MEF {year} file in {mirror / 'mef'}")


def _plain_year_row(path: Path, code: str) -> dict[str, str]:
    """The row of ``code`` in a real MEF file, read with the csv module only (zip member or CSV)."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            (member,) = archive.namelist()
            text = archive.read(member).decode("utf-8")
    else:
        text = path.read_bytes().decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    column = rows[0].index("Codice Istat Comune")
    (row,) = [r for r in rows[1:] if r[column].zfill(6) == code]
    return dict(zip(rows[0], row))


def _plain_income(row: dict[str, str]) -> tuple[float, float]:
    """(mean income per taxpayer, share up to EUR 10,000) from the file's own cells."""
    amounts = [int(value) for key, value in row.items() if key.startswith("Reddito complessivo")
               and key.endswith("Ammontare in euro")]
    assert len(amounts) == 8
    taxpayers = int(row["Numero contribuenti"])
    low = (int(row["Reddito complessivo minore o uguale a zero euro - Frequenza"])
           + int(row["Reddito complessivo da 0 a 10000 euro - Frequenza"]))
    return sum(amounts) / taxpayers, low / taxpayers * 100


@pytest.mark.parametrize("year", [2018, 2020])
def test_fetch_year_from_a_mirror_holding_the_csv(tmp_path, year):
    source = _real_year_file(year)
    session = FakeSession(error=AssertionError("network must not be used with a mirror"))
    entry = mef.fetch(year, tmp_path / "raw", mirror=source.parent.parent, session=session)
    assert entry["file"] == source.name and entry["year"] == year and not session.calls
    assert (tmp_path / "raw" / source.name).read_bytes() == source.read_bytes()
    assert mef.find_local(year, tmp_path / "raw") == tmp_path / "raw" / source.name
    frame = mef.load(tmp_path / "raw" / source.name)
    assert int(frame["tax_year"].iloc[0]) == year


def test_fetch_csv_of_another_year_is_refused(tmp_path):
    folder = tmp_path / "mirror" / "mef"
    folder.mkdir(parents=True)
    # the 2021 fixture CSV saved under the 2020 name: not the file of that year
    (folder / config.mef_csv_name(2020)).write_bytes(UTF8.read_bytes())
    with pytest.raises(InputFileError, match="tax year '2021'"):
        mef.fetch(2020, tmp_path / "raw", mirror=tmp_path / "mirror")
    assert not (tmp_path / "raw" / config.mef_csv_name(2020)).exists()


def test_fetch_newest_from_mirror_and_find_all(tmp_path, mirror):
    (mirror / "mef" / config.mef_csv_name(2018)).write_bytes(
        UTF8.read_bytes().replace(b"\n2021;", b"\n2018;"))
    entry = mef.fetch_newest(tmp_path / "raw", mirror=mirror)
    assert entry["year"] == 2021
    mef.fetch(2018, tmp_path / "raw", mirror=mirror)
    assert sorted(mef.find_all(tmp_path / "raw")) == [2018, 2021]


def test_fetch_newest_online_tries_years_downwards(tmp_path, fixture_zip_bytes, monkeypatch):
    monkeypatch.delenv(config.MIRROR_ENV, raising=False)

    class Session:
        calls: list = []

        def get(self, url, **kwargs):
            self.calls.append(url)
            assert "cocity-analysis" in kwargs["headers"]["User-Agent"]
            return FakeResponse(fixture_zip_bytes if url.endswith("_2022.zip") else b"", 200 if url.endswith(
                "_2022.zip") else 404)

    entry = mef.fetch_newest(tmp_path / "raw", session=Session(), first_year=2021, last_year=2023)
    assert entry["year"] == 2022
    assert [url[-8:] for url in Session.calls] == ["2023.zip", "2022.zip"]


def test_real_series_and_change_indicators_by_hand(tmp_path):
    """Matera and Gela: the income series and the 2018-2021 changes equal the files' own cells."""
    from cocity_analysis.method import indicators

    files = {year: _real_year_file(year) for year in (2018, 2020, 2021)}
    frames = {year: mef.load(path) for year, path in files.items()}
    series = indicators.income_series(frames, ["077014", "085007"], {y: p.name for y, p in files.items()})
    assert list(series.columns) == mef.SERIES_COLUMNS
    assert series[["istat_code", "year"]].values.tolist() == [
        [c, y] for c in ("077014", "085007") for y in (2018, 2020, 2021)]
    base = pd.concat([mef.with_year_prefix(frame, year) for year, frame in frames.items()], axis=1)
    for code in ("077014", "085007"):
        by_hand = {year: _plain_income(_plain_year_row(path, code)) for year, path in files.items()}
        for year in files:
            row = series[(series.istat_code == code) & (series.year == year)].iloc[0]
            assert row["income_per_taxpayer"] == pytest.approx(by_hand[year][0])
            assert row["share_taxpayers_le_10k"] == pytest.approx(by_hand[year][1])
            assert not row["income_per_taxpayer_is_bound"]
        change = indicators.FORMULAS["income_change_2018_2021"](base).loc[code]
        assert change == pytest.approx((by_hand[2021][0] / by_hand[2018][0] - 1) * 100)
        points = indicators.FORMULAS["low_income_share_change_2018_2021"](base).loc[code]
        assert points == pytest.approx(by_hand[2021][1] - by_hand[2018][1])


def test_change_from_a_suppressed_band_is_flagged():
    from cocity_analysis.method import indicators

    catalogue = indicators.load_catalogue().loc[["income_change_2018_2021", "low_income_share_change_2018_2021"]]
    columns = {f"mef{y}_{c}": v for y, values in {2018: (100, 1_000_000, 1_000_000, 5, 25),
                                                   2021: (100, pd.NA, 1_200_000, pd.NA, 20)}.items()
               for c, v in zip(("taxpayers", "total_income_eur", "income_positive_bands_eur",
                                "taxpayers_income_le_0", "taxpayers_income_0_10k"), values)}
    base = pd.DataFrame({k: pd.array([v], dtype="Int64") for k, v in columns.items()},
                        index=pd.Index(["000001"], name="istat_code"))
    values, treated = indicators.compute_indicators(base, catalogue)
    assert values.loc["000001", "income_change_2018_2021"] == pytest.approx(20.0)  # 12,000 (bound) vs 10,000
    assert values.loc["000001", "low_income_share_change_2018_2021"] == pytest.approx(20.0 - 30.0)
    assert sorted(treated["indicator"]) == ["income_change_2018_2021", "low_income_share_change_2018_2021"]
    assert treated["treatment"].str.contains("valore limite").all()
