"""ISTAT SDMX sources: loaders on fixture files in ISTAT's formats, fetch through sdmx1 without network.

Fixtures (``tests/fixtures/istat_sdmx/fixture_*``) follow the SDMX-CSV 1.0 layout
ISTAT's service returns (``DATAFLOW`` as ``IT1:<flow>(1.0)``, dimensions in
the dataflow's order, ``TIME_PERIOD``, ``OBS_VALUE``, ``OBS_STATUS``), with real
municipal codes and round fixture values; see the README there. No test touches
the network: downloads go through a fake ``requests.Session`` handed to sdmx1.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import requests

from cocity_analysis import config
from cocity_analysis.method import indicators
from cocity_analysis.cli import main
from cocity_analysis.errors import InputFileError, SourceUnavailableError
from cocity_analysis.sources import istat_sdmx, istat_tourism, optional
from cocity_analysis.sources import istat_comuni

FIXTURES = Path(__file__).parent / "fixtures" / "istat_sdmx"
FILES = {
    "labour": "fixture_DF_DCSS_ISTR_LAV_PEN_2_TV_3.csv",
    "education": "fixture_DF_DCSS_ISTR_LAV_PEN_2_TV_1.csv",
    "population": "fixture_22_289.csv",
    "foreigners": "fixture_29_7.csv",
    "dwellings": "fixture_DF_DCSS_ABITAZIONI_TV_1.csv",
    "tenure": "fixture_DF_DCSS_ABITAZIONI_TV_2.csv",
    "accommodation": "fixture_122_54_DF_DCSC_TUR_1.csv",
}
MATERA, MORANSENGO, TONENGO, MERGED = "077014", "005079", "005110", "005122"


@pytest.fixture(scope="module")
def current():
    return istat_comuni.load().index


@pytest.fixture(autouse=True)
def no_mirror(monkeypatch):
    """Tests choose their mirror explicitly; the environment's one must not leak in."""
    monkeypatch.delenv(config.MIRROR_ENV, raising=False)


def variant(tmp_path: Path, name: str, old: str, new: str, *, target: str | None = None) -> Path:
    text = (FIXTURES / FILES[name]).read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / (target or FILES[name])
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def mirror_with(tmp_path: Path, names) -> Path:
    mirror = tmp_path / "mirror"
    for name in names:
        dataset = istat_sdmx.get_dataset(name)
        folder = mirror / dataset.group
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / FILES[name], folder / dataset.file_names[0])
    return mirror


# --------------------------------------------------------------------------- datasets


def test_every_dataset_is_documented_and_wired():
    sources = set(indicators.SOURCE_COLUMNS)
    for dataset in optional.all_datasets():
        assert dataset.verified, dataset.name
        assert dataset.requires in sources
        assert set(dataset.columns) == set(indicators.SOURCE_COLUMNS[dataset.requires])
        assert dataset.group in ("istat_sdmx", "istat_tourism")
        if isinstance(dataset.key, str):
            assert dataset.key.split(".")[1] == ""  # REF_AREA open: all territories in one request
        assert dataset.query_url().startswith(istat_sdmx.SERVICE_URL + "/data/" + dataset.flow + "/")


def test_catalogue_requires_only_known_sources():
    catalogue = indicators.load_catalogue()
    known = set(indicators.SOURCE_COLUMNS)
    for indicator_id, entry in catalogue.iterrows():
        assert set(entry["requires"]) <= known, indicator_id
    assert (catalogue["focus_area"] == "culture_tourism").any()


# --------------------------------------------------------------------------- loading


def test_labour_loader_sums_ages_reconciles_and_reports(current):
    values, report = istat_sdmx.load(FIXTURES / FILES["labour"], "labour", current_codes=current,
                                     return_report=True)
    assert list(values.columns) == ["employed_25_64", "unemployed_25_64", "labour_force_25_64", "residents_25_64"]
    assert values.loc[MATERA].tolist() == [1200.0, 200.0, 1400.0, 2000.0]  # 2024 only, 2023 rows ignored
    # Moransengo + Tonengo summed into today's Moransengo-Tonengo; Tonengo's empty cell -> missing, never 0
    assert values.loc[MERGED, "employed_25_64"] == 240.0
    assert pd.isna(values.loc[MERGED, "unemployed_25_64"])
    assert report.incomplete == {"unemployed_25_64": [TONENGO]}
    assert {m["old_istat_code"] for m in report.merged} == {MORANSENGO, TONENGO}
    assert report.unmatched == ["999001"]  # neither current nor in the changes table: excluded, reported
    assert report.rows_other_levels == 8  # Italy ("IT") rows are not municipalities
    assert "IT" not in values.index and "999001" not in values.index
    assert report.to_dict()["reference_year"] == "2024"


MATERA_Y25_UNEMPLOYED = ("IT1:DF_DCSS_ISTR_LAV_PEN_2_TV_3(1.0),A,077014,RESPOP_AV,T,Y25-49,TOTAL,ALL,12,ALL,ALL,"
                         "2024,100,\n")
MATERA_Y25_LABOUR = "IT1:DF_DCSS_ISTR_LAV_PEN_2_TV_3(1.0),A,077014,RESPOP_AV,T,Y25-49,TOTAL,ALL,22,ALL,ALL,2024,800,"


def test_absent_leaf_is_zero_only_where_the_leaves_add_up(tmp_path, current):
    """ISTAT leaves zero cells out: an absent 'unemployed' row is 0 only where employed == labour force."""
    text = (FIXTURES / FILES["labour"]).read_text(encoding="utf-8")
    assert MATERA_Y25_UNEMPLOYED in text and MATERA_Y25_LABOUR in text
    adds_up = tmp_path / "adds_up.csv"
    adds_up.write_text(text.replace(MATERA_Y25_UNEMPLOYED, "").replace(MATERA_Y25_LABOUR,
                                                                        MATERA_Y25_LABOUR.replace(",800,", ",700,")),
                       encoding="utf-8")
    values, report = istat_sdmx.load(adds_up, "labour", current_codes=current, return_report=True)
    assert values.loc[MATERA, "unemployed_25_64"] == 100.0  # 0 (Y25-49, filled) + 100 (Y50-64)
    assert report.zero_filled == [{"istat_code": MATERA, "code": "12", "of_total": "22", "AGE_NOCLASS": "Y25-49"}]
    assert any("set to 0" in note for note in report.notes)
    # the same row absent where employed (700) + the rest do not reach the labour force (800): missing
    does_not = tmp_path / "does_not.csv"
    does_not.write_text(text.replace(MATERA_Y25_UNEMPLOYED, ""), encoding="utf-8")
    values, report = istat_sdmx.load(does_not, "labour", current_codes=current, return_report=True)
    assert pd.isna(values.loc[MATERA, "unemployed_25_64"]) and not report.zero_filled
    assert MATERA in report.incomplete["unemployed_25_64"]


def test_education_leaves_not_in_the_output_are_read_for_the_check(tmp_path, current):
    """All six EDU_ATTAIN leaves are fetched; an absent NED is 0 where the five others add up to ALL."""
    header, *rows = (FIXTURES / FILES["education"]).read_text(encoding="utf-8").splitlines()
    matera = [row for row in rows if ",077014," in row]
    extra = []
    for row in matera:
        if ",PSE," in row:
            for leaf, value in (("BL", "200"), ("ML_RDD", "200"), ("USE_IF", "0")):
                extra.append(row.replace(",PSE,", f",{leaf},").replace(",100,", f",{value},"))
    ned_y25 = [row for row in matera if ",NED," in row and ",Y25-49," in row][0]
    # Y25-49: PSE 100 + LSE 300 + BL 200 + ML_RDD 200 + USE_IF 0 = 800; make ALL 800 so NED can only be 0
    kept = [row.replace(",ALL,99,2024,1000,", ",ALL,99,2024,800,") if ",Y25-49," in row else row
            for row in rows if row != ned_y25]
    path = tmp_path / FILES["education"]
    path.write_text("\n".join([header, *kept, *extra]) + "\n", encoding="utf-8")
    values, report = istat_sdmx.load(path, "education", current_codes=current, return_report=True)
    assert values.loc[MATERA, "residents_25_64_edu"] == 1800.0
    assert values.loc[MATERA, "low_education_25_64"] == 900.0  # NED 0 + PSE 100 + LSE 300, + 500 of Y50-64
    assert [f["code"] for f in report.zero_filled] == ["NED"]


def test_codes_are_kept_as_in_the_file_without_a_current_list():
    values = istat_sdmx.load(FIXTURES / FILES["labour"], "labour")
    assert {MORANSENGO, TONENGO, "999001", MATERA} == set(values.index)
    assert all(len(code) == 6 for code in values.index)


@pytest.mark.parametrize("name,expected", [
    ("education", {"residents_25_64_edu": 2000.0, "low_education_25_64": 1000.0}),
    ("population", {"residents_jan": 50000.0}),
    ("foreigners", {"foreign_residents_jan": 2500.0}),
    ("dwellings", {"dwellings": 25000.0, "occupied_dwellings": 20000.0}),
    ("tenure", {"occupied_dwellings_owned": 15000.0, "occupied_dwellings_all": 20000.0}),
    ("accommodation", {"accommodation_beds": 3000.0, "accommodation_establishments": 100.0}),
])
def test_each_dataset_loads_matera(name, expected, current):
    values = istat_sdmx.load(FIXTURES / FILES[name], name, current_codes=current)
    assert values.loc[MATERA].to_dict() == expected
    assert values.index.name == "istat_code"


def test_tourism_module_reads_its_year_not_the_break_in_series(current):
    values = istat_tourism.load(FIXTURES / FILES["accommodation"], current_codes=current)
    assert values.loc[MATERA, "accommodation_beds"] == 3000.0  # 2024, not 2025
    assert values.loc[MERGED, "accommodation_beds"] == 30.0


def test_sdmx_ml_generic_data_reads_like_csv(current):
    values, report = istat_sdmx.load(FIXTURES / "fixture_29_7.xml", "foreigners", current_codes=current,
                                     return_report=True)
    assert values.loc[MATERA, "foreign_residents_jan"] == 2500.0
    assert report.file_format == "sdmx-ml" and report.rows_other_levels == 1


def test_wrong_dataflow_is_refused(tmp_path):
    with pytest.raises(InputFileError, match=r"holds dataflow 29_7, not 22_289"):
        istat_sdmx.load(FIXTURES / FILES["foreigners"], "population")


def test_missing_code_lists_the_codes_present(tmp_path):
    path = variant(tmp_path, "labour", ",12,ALL,ALL,2024", ",13,ALL,ALL,2024")
    with pytest.raises(InputFileError) as info:
        istat_sdmx.load(path, "labour")
    message = str(info.value)
    assert "CUR_ACT_STAT" in message and "12" in message and "13" in message


def test_missing_year_lists_the_years_present(tmp_path):
    with pytest.raises(InputFileError, match=r"2024.*not in the file.*2021") as info:
        istat_sdmx.load(FIXTURES / FILES["tenure"], "tenure", year=2024)
    assert info.value.column == "TIME_PERIOD"


def test_open_dimension_with_details_keeps_the_total_or_fails(tmp_path):
    text = (FIXTURES / FILES["dwellings"]).read_text(encoding="utf-8").splitlines()
    header = text[0].replace("INDICATOR,", "INDICATOR,TYPE,")
    rows = []
    for line in text[1:]:
        head, tail = line.split(",NUM_", 1)
        rows.append(f"{head},NUM_{tail.split(',', 1)[0]},ALL,{tail.split(',', 1)[1]}")
        rows.append(f"{head},NUM_{tail.split(',', 1)[0]},DETAIL,2023,1,")
    path = tmp_path / "dwellings_with_type.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    values, report = istat_sdmx.load(path, "dwellings", return_report=True)
    assert values.loc[MATERA, "dwellings"] == 25000.0
    assert report.notes == ["TYPE: several codes in the file, the total code ALL was kept"]
    path.write_text(path.read_text(encoding="utf-8").replace(",ALL,", ",A1,"), encoding="utf-8")
    with pytest.raises(InputFileError, match="TYPE has several codes"):
        istat_sdmx.load(path, "dwellings")


def test_duplicated_cells_are_refused(tmp_path):
    text = (FIXTURES / FILES["population"]).read_text(encoding="utf-8")
    line = [l for l in text.splitlines() if ",077014," in l and ",2024," in l][0]
    path = tmp_path / "dup.csv"
    path.write_text(text + line + "\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="more than once"):
        istat_sdmx.load(path, "population")


def test_not_an_sdmx_file_is_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("Comune;Valore\nMatera;1\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="neither SDMX-CSV"):
        istat_sdmx.load(path, "population")


def test_codes_without_leading_zeros_are_padded(tmp_path, current):
    path = variant(tmp_path, "population", ",005079,", ",5079,")
    values, report = istat_sdmx.load(path, "population", current_codes=current, return_report=True)
    assert values.loc[MERGED, "residents_jan"] == 300.0
    assert report.notes == ["REF_AREA: 1 row(s) with a municipal code of 4-5 digits padded to 6"]


def test_labels_in_headers_are_tolerated(tmp_path):
    path = variant(tmp_path, "population", "REF_AREA,", "REF_AREA: Territorio,")
    assert istat_sdmx.load(path, "population").loc[MATERA, "residents_jan"] == 50000.0


# --------------------------------------------------------------------------- fetching


class RecordedSession(requests.Session):
    """A requests session that answers from recorded bodies and never touches the network."""

    def __init__(self, bodies: dict[str, bytes], content_type: str = "application/vnd.sdmx.data+csv; version=1.0.0",
                 status: int = 200):
        super().__init__()
        self.bodies = bodies
        self.content_type = content_type
        self.status = status
        self.requests: list[requests.PreparedRequest] = []

    def send(self, request, **kwargs):
        self.requests.append(request)
        flow = request.url.split("/data/", 1)[1].split("/", 1)[0]
        response = requests.Response()
        response.status_code = self.status
        response.url = request.url
        response.request = request
        response.headers["Content-Type"] = self.content_type
        response._content = self.bodies.get(flow, b"") if self.status == 200 else b"NoRecordsFound"
        response._content_consumed = True
        response.raw = io.BytesIO(response._content)
        return response


class OfflineSession(requests.Session):
    def send(self, request, **kwargs):
        raise requests.ConnectionError("no network on this machine")


def test_fetch_downloads_through_sdmx1_and_records_provenance(tmp_path):
    bodies = {istat_sdmx.get_dataset(n).flow: (FIXTURES / FILES[n]).read_bytes() for n in ("labour", "foreigners")}
    session = RecordedSession(bodies)
    result = istat_sdmx.fetch("istat_sdmx", ["labour", "foreigners"], dest_dir=tmp_path, session=session, pause=0)
    assert not result.failures
    urls = [r.url for r in session.requests]
    assert urls[0] == (istat_sdmx.SERVICE_URL + "/data/DF_DCSS_ISTR_LAV_PEN_2_TV_3/"
                       "A..RESPOP_AV.T.Y25-49+Y50-64.TOTAL.ALL.1+12+22+99..?startPeriod=2024")
    # startPeriod only: endPeriod returns empty data on 22_289 and is ignored on the tourism flow
    assert urls[1] == istat_sdmx.SERVICE_URL + "/data/29_7/A..JAN.9.TOTAL?startPeriod=2024"
    assert all(r.headers["Accept"] == istat_sdmx.CSV_MEDIA_TYPE for r in session.requests)
    assert all("cocity-analysis" in r.headers["User-Agent"] for r in session.requests)
    saved = tmp_path / "DF_DCSS_ISTR_LAV_PEN_2_TV_3.csv"
    assert saved.read_bytes() == (FIXTURES / FILES["labour"]).read_bytes()  # unchanged, as distributed
    provenance = json.loads((tmp_path / "provenance.json").read_text(encoding="utf-8"))
    entry = provenance["DF_DCSS_ISTR_LAV_PEN_2_TV_3.csv"]
    assert entry["url"] == urls[0] and entry["mirror_path"] is None
    assert len(entry["sha256"]) == 64 and entry["retrieved_at"].endswith("+00:00")
    assert entry["dataflow"] == "DF_DCSS_ISTR_LAV_PEN_2_TV_3" and entry["reference_year"] == "2024"


def test_fetch_sdmx_ml_through_sdmx1_reader(tmp_path, current):
    body = (FIXTURES / "fixture_29_7.xml").read_bytes()
    session = RecordedSession({"29_7": body}, content_type="application/vnd.sdmx.genericdata+xml; version=2.1")
    result = istat_sdmx.fetch("istat_sdmx", ["foreigners"], dest_dir=tmp_path, session=session, pause=0,
                              file_format="xml")
    assert not result.failures and result.entries[0]["file"] == "29_7.xml"
    assert session.requests[0].headers["Accept"] == istat_sdmx.XML_MEDIA_TYPE
    assert (tmp_path / "29_7.xml").read_bytes() == body
    assert istat_sdmx.load(tmp_path / "29_7.xml", "foreigners", current_codes=current).loc[MATERA].iloc[0] == 2500.0


def test_fetch_offline_says_what_was_tried_and_how_to_fix(tmp_path):
    result = istat_sdmx.fetch("istat_sdmx", ["population"], dest_dir=tmp_path, session=OfflineSession(), pause=0)
    message = result.failures["population"]
    assert "download failed" in message and config.MIRROR_ENV in message and "istat_sdmx/22_289.csv" in message
    assert not (tmp_path / "22_289.csv").exists()
    with pytest.raises(SourceUnavailableError):
        result.raise_for_failures()
    everything = istat_sdmx.fetch("istat_sdmx", dest_dir=tmp_path, session=OfflineSession(), pause=3600)
    assert set(everything.failures) == set(istat_sdmx.DATASETS)  # stops at once, no hour-long pauses
    assert "not tried" in everything.failures["education"]


def test_fetch_404_is_explained(tmp_path):
    session = RecordedSession({}, status=404)
    result = istat_sdmx.fetch("istat_sdmx", ["population"], dest_dir=tmp_path, session=session, pause=0)
    assert "404" in result.failures["population"] and "no data for this query" in result.failures["population"]


def test_fetch_from_mirror_never_uses_the_network(tmp_path, monkeypatch):
    mirror = mirror_with(tmp_path, ["population", "foreigners", "accommodation"])
    monkeypatch.setattr(requests.Session, "send", lambda *a, **k: pytest.fail("network used in mirror mode"))
    dest = tmp_path / "raw"
    result = istat_sdmx.fetch("istat_sdmx", ["population", "foreigners", "dwellings"], dest_dir=dest / "istat_sdmx",
                              mirror=mirror)
    assert [e["file"] for e in result.entries] == ["22_289.csv", "29_7.csv"]
    assert "does not exist" in result.failures["dwellings"] and "No download was tried" in result.failures["dwellings"]
    entry = result.entries[0]
    assert entry["mirror_path"] == str(mirror / "istat_sdmx" / "22_289.csv") and entry["url"] is None
    tourism = istat_tourism.fetch(dest_dir=dest / "istat_tourism", mirror=mirror)
    assert tourism.entries[0]["file"] == "122_54_DF_DCSC_TUR_1.csv" and not tourism.failures


def test_fetch_replaces_the_other_format(tmp_path):
    mirror = mirror_with(tmp_path, ["population"])
    dest = tmp_path / "raw"
    dest.mkdir()
    (dest / "22_289.xml").write_text("<old/>", encoding="utf-8")
    istat_sdmx.fetch("istat_sdmx", ["population"], dest_dir=dest, mirror=mirror)
    assert not (dest / "22_289.xml").exists() and (dest / "22_289.csv").exists()


def test_cli_fetch_istat_from_mirror(tmp_path, monkeypatch, capsys):
    mirror = mirror_with(tmp_path, ["population"])
    monkeypatch.setenv(config.MIRROR_ENV, str(mirror))
    assert main(["fetch", "istat_population", "--dest", str(tmp_path / "out")]) == 0
    assert "22_289.csv\tsha256=" in capsys.readouterr().out
    assert main(["fetch", "istat_tourism", "--dest", str(tmp_path / "out2")]) == 2
    err = capsys.readouterr().err
    assert "istat_tourism/122_54_DF_DCSC_TUR_1.csv" in err and config.MIRROR_ENV in err


# --------------------------------------------------------------------------- optional sources for prepare


def test_load_all_joins_what_is_there_and_explains_the_rest(tmp_path, current):
    raw = tmp_path / "raw"
    for name in ("labour", "population", "foreigners", "accommodation"):
        dataset = istat_sdmx.get_dataset(name)
        (raw / dataset.group).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / FILES[name], raw / dataset.group / dataset.file_names[0])
    # a present but unusable file: the dwellings slot holds another dataflow
    shutil.copyfile(FIXTURES / FILES["population"], raw / "istat_sdmx" / "DF_DCSS_ABITAZIONI_TV_1.csv")
    extra, unavailable, inputs = optional.load_all(raw, current)
    assert extra.loc[MATERA, ["employed_25_64", "residents_jan", "foreign_residents_jan", "accommodation_beds"]].tolist() \
        == [1200.0, 50000.0, 2500.0, 3000.0]
    assert set(unavailable) == {"istat_education", "istat_dwellings", "istat_tenure"}
    assert "non scaricato" in unavailable["istat_education"]["it"]
    assert "not 22_289" not in unavailable["istat_education"]["it"]
    assert "DF_DCSS_ABITAZIONI_TV_1" in unavailable["istat_dwellings"]["en"]
    assert "holds dataflow 22_289" in unavailable["istat_dwellings"]["it"]
    roles = {record["role"]: record for record in inputs}
    assert set(roles) == {"istat_sdmx:labour", "istat_sdmx:population", "istat_sdmx:foreigners",
                          "istat_tourism:accommodation"}
    assert len(roles["istat_sdmx:labour"]["sha256"]) == 64
    assert roles["istat_sdmx:labour"]["codes_neither_current_nor_in_changes"] == ["999001"]
    json.dumps(inputs)  # goes into provenance.json


def test_load_all_without_files_marks_every_source_unavailable(tmp_path):
    extra, unavailable, inputs = optional.load_all(tmp_path)
    assert extra.empty and not inputs
    assert set(unavailable) == {d.requires for d in optional.all_datasets()}


def test_indicators_from_fixture_files(tmp_path, current):
    raw = tmp_path / "raw"
    for name in FILES:
        dataset = istat_sdmx.get_dataset(name)
        (raw / dataset.group).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / FILES[name], raw / dataset.group / dataset.file_names[0])
    extra, unavailable, _ = optional.load_all(raw, current)
    assert not unavailable
    base = extra.assign(pop_total=pd.Series({MATERA: 60000.0}))
    catalogue = indicators.load_catalogue()
    new = catalogue[catalogue["requires"].map(lambda r: any(s.startswith("istat_") for s in r))]
    values, _ = indicators.compute_indicators(base, new, {})
    matera = values.loc[MATERA]
    assert matera["employment_rate_25_64"] == pytest.approx(60.0)
    assert matera["unemployment_rate_25_64"] == pytest.approx(200 / 1400 * 100)
    assert matera["share_low_education_25_64"] == pytest.approx(50.0)
    assert matera["share_foreign_residents"] == pytest.approx(5.0)
    assert matera["residents_per_occupied_dwelling"] == pytest.approx(2.5)
    assert matera["share_dwellings_not_owned"] == pytest.approx(25.0)
    assert matera["beds_per_1000_residents"] == pytest.approx(50.0)
    assert pd.isna(values.loc[MERGED, "unemployment_rate_25_64"])  # a missing cell stays missing
