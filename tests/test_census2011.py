"""ISTAT census 2011 by census area: loader, conservation, 2011 -> today's codes, indicators, fetch, pipeline.

(a) the real files of ``$COCITY_DATA_MIRROR/istat_census2011/`` (skipped without it), the expected
    values recomputed here with the ``csv`` module from the same files (never through the loader);
(b) fixtures hand-written in ISTAT's layout (cp1252, ``;``, CRLF; ``tests/fixtures/istat_census2011/``),
    one per bad input, each error naming file, row and column (or what is missing).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from .helpers import mirror_mef_zip
from cocity_analysis import config, pipeline
from cocity_analysis.method import indicators
from cocity_analysis.sources import registry
from cocity_analysis.errors import InputFileError
from cocity_analysis.sources import changes as municipal_changes
from cocity_analysis.sources import istat_census2011 as census

FIXTURES = Path(__file__).parent / "fixtures" / "istat_census2011"
CHANGES_FIXTURE = Path(__file__).parent / "fixtures" / "istat_changes" / "fixture_variazioni.csv"
AREAS = "Aree di Censimento"
FIXTURE_VARIABLES = ("P1", "P2", "P60", "P61", "A46")
FIXTURE_CURRENT = ["061019", "078157", "111009"]


def region_name(region: str) -> str:
    return f"{region}_indicatori_2011_areecensimento.csv"


def census_folder(tmp_path: Path, overrides: dict | None = None, elenco: Path | None = None) -> Path:
    """A census folder laid out as ISTAT's zip: the fixture regions, header-only files for the others.

    ``overrides``: region -> fixture path to use instead, or None to leave the region file out.
    """
    overrides = overrides or {}
    root = tmp_path / "istat_census2011"
    (root / AREAS).mkdir(parents=True)
    header = (FIXTURES / "fixture_R15_indicatori_2011_areecensimento.csv").read_bytes().split(b"\r\n")[0]
    for region in census.REGIONS:
        source = overrides.get(region, FIXTURES / f"fixture_{region_name(region)}")
        if source is None:
            continue
        target = root / AREAS / region_name(region)
        if Path(source).is_file():
            shutil.copyfile(source, target)
        else:
            target.write_bytes(header + b"\r\n")  # a region without municipalities in this fixture
    shutil.copyfile(FIXTURES / "fixture_tracciato_2011_areecensimento.csv", root / AREAS / "tracciato_2011_areecensimento.csv")
    shutil.copyfile(elenco or FIXTURES / "fixture_Elenco_comuni_2011.csv", root / census.MUNICIPALITIES_FILE)
    return root


def load_fixture(root: Path, **options):
    changes = municipal_changes.load_changes(CHANGES_FIXTURE)
    return census.load(root, current_codes=FIXTURE_CURRENT, changes=changes, variables=FIXTURE_VARIABLES,
                       **options)


def assert_located(excinfo, path_part, row, column):
    message = str(excinfo.value)
    assert path_part in message, message
    if row is not None:
        assert f"row {row}" in message and excinfo.value.row == row, message
    if column is not None:
        assert repr(column) in message and excinfo.value.column == column, message


# =========================================================================== (b) fixtures


def test_fixture_sums_maps_and_reports(tmp_path):
    result = load_fixture(census_folder(tmp_path))
    assert list(result.values.columns) == [f"census2011_{v}" for v in FIXTURE_VARIABLES]
    assert result.values.index.name == "istat_code"
    assert (result.values.dtypes == "float64").all()
    # Casal di Principe: two areas summed; Carbonia: 2011 code 107003 carried to 111009
    assert result.values.loc["061019"].tolist() == [3000.0, 1470.0, 1200.0, 780.0, 100.0]
    assert result.values.loc["111009", "census2011_P1"] == 1000.0
    assert list(result.values.index) == ["061019", "111009"]
    assert {"istat_code_2011": "107003", "istat_code": "111009", "name_2011": "Carbonia"} in \
        result.report["codes_carried_forward"]
    assert result.report["conservation"]["all_equal"] is True
    assert result.report["conservation"]["municipalities_checked"] == 3


def test_merged_municipality_with_an_absent_predecessor_is_missing_with_the_reason(tmp_path):
    result = load_fixture(census_folder(tmp_path))
    assert "078157" not in result.values.index  # never Rossano's figures alone
    reason = result.missing["078157"]
    assert "Corigliano Calabro (078044)" in reason["it"] and "manca" in reason["it"]
    assert "Corigliano Calabro (078044) is absent" in reason["en"]
    merged = {m["istat_code"]: m for m in result.report["merged"]}
    assert merged["078157"]["predecessors_2011"] == ["078044", "078108"]
    assert merged["078157"]["absent"] == ["078044"]


def test_merged_municipality_with_every_predecessor_gets_the_sum(tmp_path):
    r18 = tmp_path / "r18.csv"
    text = (FIXTURES / "fixture_R18_indicatori_2011_areecensimento.csv").read_bytes().decode("cp1252")
    text += "18;Calabria;78;Cosenza;44;Corigliano Calabro;78044;0;4000;1950;1600;1200;300\r\n"
    r18.write_bytes(text.encode("cp1252"))
    result = load_fixture(census_folder(tmp_path, {"R18": r18}))
    assert result.values.loc["078157", "census2011_P1"] == 2000.0 + 4000.0
    assert result.values.loc["078157", "census2011_A46"] == 100.0 + 300.0
    assert "078157" not in result.missing


def test_conservation_mismatch_is_reported_or_raised(tmp_path):
    elenco = tmp_path / "elenco.csv"
    text = (FIXTURES / "fixture_Elenco_comuni_2011.csv").read_bytes().decode("cp1252")
    elenco.write_bytes(text.replace(";2900;3000;", ";2900;3001;", 1).encode("cp1252"))
    root = census_folder(tmp_path, elenco=elenco)
    result = load_fixture(root)
    assert "061019" not in result.values.index
    assert "3000" in result.missing["061019"]["it"] and "3001" in result.missing["061019"]["it"]
    assert result.report["conservation"]["disagreeing"] == [
        {"istat_code_2011": "061019", "name_2011": "Casal di Principe", "units": 2, "p1_sum": 3000,
         "pop_2011": 3001}]
    with pytest.raises(census.CensusConservationError, match="add up to 3000.*POP_2011 = 3001"):
        load_fixture(root, on_mismatch="raise")


@pytest.mark.parametrize(
    ("fixture", "row", "column", "message"),
    [
        ("fixture_R15_missing_variable.csv", 1, "A46", "census variable A46 .* is missing"),
        ("fixture_R15_non_numeric.csv", 3, "P60", "'8OO' is not a whole number"),
        ("fixture_R15_unknown_code.csv", 3, "PROCOM", "061999 is not in ISTAT's list"),
    ],
)
def test_bad_region_file_is_located(tmp_path, fixture, row, column, message):
    root = census_folder(tmp_path, {"R15": FIXTURES / fixture})
    with pytest.raises(InputFileError, match=message) as excinfo:
        load_fixture(root)
    assert_located(excinfo, str(root / AREAS / region_name("R15")), row, column)


def test_missing_region_file_is_named(tmp_path):
    root = census_folder(tmp_path, {"R07": None})
    with pytest.raises(InputFileError, match="region file.* missing.*R07_indicatori") as excinfo:
        load_fixture(root)
    assert "R06_indicatori_2011_areecensimento.csv" in str(excinfo.value)  # what is there is listed


def test_column_not_in_tracciato_and_unknown_variable(tmp_path):
    root = census_folder(tmp_path)
    with pytest.raises(InputFileError, match="P999.* not defined in the tracciato; candidates: P1, P2"):
        census.load(root, current_codes=FIXTURE_CURRENT, changes=municipal_changes.empty_changes(),
                    variables=("P1", "P999"))
    tracciato = root / AREAS / "tracciato_2011_areecensimento.csv"
    tracciato.write_bytes(tracciato.read_bytes().replace(b"A46;Famiglie in affitto (fixture)\r\n", b""))
    with pytest.raises(InputFileError, match="column 'A46' is not defined in the tracciato") as excinfo:
        census.load(root, current_codes=FIXTURE_CURRENT, changes=municipal_changes.empty_changes(),
                    variables=("P1",))
    assert excinfo.value.row == 1


def test_zip_reads_like_the_folder(tmp_path):
    root = census_folder(tmp_path)
    expected = load_fixture(root).values
    zipped = tmp_path / "zipped"
    zipped.mkdir()
    with zipfile.ZipFile(zipped / census.CENSUS_ZIP, "w") as archive:
        for path in sorted((root / AREAS).iterdir()):
            archive.write(path, f"dati-cpa_2011/{AREAS}/{path.name}")
    shutil.copyfile(root / census.MUNICIPALITIES_FILE, zipped / census.MUNICIPALITIES_FILE)
    pd.testing.assert_frame_equal(load_fixture(zipped).values, expected)


def test_without_changes_file_codes_are_not_carried_and_say_why(tmp_path):
    result = census.load(census_folder(tmp_path), current_codes=FIXTURE_CURRENT,
                         changes=municipal_changes.empty_changes(), variables=FIXTURE_VARIABLES)
    assert list(result.values.index) == ["061019"]
    assert "non era disponibile" in result.missing["111009"]["it"]
    not_carried = {row["istat_code_2011"] for row in result.report["codes_2011_not_carried"]}
    assert {"107003", "078108", "078044"} <= not_carried


def test_municipal_list_quirks_are_read(tmp_path):
    listing = census.read_municipalities_2011(FIXTURES / "fixture_Elenco_comuni_2011.csv")
    assert listing.loc["061019"].tolist() == ["Casal di Principe", 3000]
    assert listing.index.tolist() == ["061019", "078044", "078108", "107003"]


def test_fetch_from_a_mirror_folder(tmp_path):
    mirror = tmp_path / "mirror"
    root = census_folder(mirror)
    assert root == mirror / "istat_census2011"
    dest = tmp_path / "raw" / "istat_census2011"
    entries = census.fetch(dest, mirror=mirror)
    assert len(entries) == 22  # tracciato + 20 regions + the 2011 list
    assert (dest / AREAS / region_name("R15")).read_bytes() == (root / AREAS / region_name("R15")).read_bytes()
    recorded = json.loads((dest / AREAS / "provenance.json").read_text(encoding="utf-8"))
    assert recorded[region_name("R20")]["mirror_path"] == str(root / AREAS / region_name("R20"))
    assert census.find_local(dest) == dest
    assert load_fixture(dest).values.equals(load_fixture(root).values)


def test_indicator_formulas_on_census_columns():
    base = pd.DataFrame({f"census2011_{v}": [value] for v, value in {
        "P60": 400.0, "P61": 260.0, "P1": 1000.0, "P14": 50.0, "P15": 50.0, "P16": 50.0, "P2": 490.0,
        "P30": 25.0, "P31": 25.0, "P32": 25.0, "P65": 160.0, "A46": 10.0, "A47": 80.0, "A48": 10.0,
        "A44": 30000.0, "PF2": 1000.0, "E3": 50.0, "E30": 5.0, "E31": 5.0, "PF8": 2.0, "PF1": 400.0,
        "ST15": 30.0, "P46": 950.0, "P49": 300.0, "P50": 200.0, "P51": 50.0, "P52": 10.0}.items()},
        index=pd.Index(["000001"], name="istat_code"))
    catalogue = indicators.load_catalogue()
    ids = [i for i in catalogue.index if i.startswith("census2011_")]
    values, _ = indicators.compute_indicators(base, catalogue.loc[ids])
    row = values.loc["000001"]
    assert row["census2011_unemployment_rate"] == pytest.approx(35.0)
    assert row["census2011_employment_rate"] == pytest.approx(260 / 850 * 100)
    assert row["census2011_female_employment_rate"] == pytest.approx(100 / (850 - 415) * 100)
    assert row["census2011_low_education"] == pytest.approx(560 / 950 * 100)
    assert row["census2011_families_renting"] == pytest.approx(10.0)
    assert row["census2011_floor_area_per_occupant"] == pytest.approx(30.0)
    assert row["census2011_buildings_poor_condition"] == pytest.approx(20.0)
    assert row["census2011_large_families"] == pytest.approx(0.5)
    assert row["census2011_share_foreign_residents"] == pytest.approx(3.0)
    assert set(catalogue.loc[ids, "reference_year"]) == {"2011"}
    assert set(catalogue.loc[ids, "role"]) == {"need", "context"}
    assert catalogue.loc["census2011_share_foreign_residents", "role"] == "context"
    for needed in indicators.SOURCE_COLUMNS["census2011"]:
        assert needed.removeprefix("census2011_") in census.VARIABLES


def test_bad_census_file_stops_prepare_and_leaves_processed_untouched(tmp_path):
    raw = tmp_path / "raw"
    census_folder(raw, {"R15": FIXTURES / "fixture_R15_non_numeric.csv"})
    processed = tmp_path / "processed"
    (processed / "runs" / "previous").mkdir(parents=True)
    (processed / "runs" / "previous" / "indicators.parquet").write_bytes(b"previous run")
    (processed / "current").symlink_to(Path("runs") / "previous")
    # the fixture's tracciato defines 5 variables, the indicators need more: refused before any write
    with pytest.raises(InputFileError, match="census variable.*P14.* not defined in the tracciato") as excinfo:
        pipeline.prepare(processed_dir=processed, raw_dir=raw, mef_dir=tmp_path / "no_mef")
    assert "tracciato_2011_areecensimento.csv" in str(excinfo.value)
    # the current dataset is untouched and no other dataset folder is left behind
    assert (processed / "current").resolve() == (processed / "runs" / "previous").resolve()
    assert sorted(p.name for p in (processed / "runs").iterdir()) == ["previous"]
    assert (processed / "current" / "indicators.parquet").read_bytes() == b"previous run"


# =========================================================================== (a) real files


@pytest.fixture(scope="module")
def mirror_census() -> Path:
    mirror = config.data_mirror()
    if mirror is None:
        pytest.skip(f"{config.MIRROR_ENV} is not set: the real census 2011 files are not available")
    root = mirror / "istat_census2011"
    changes = mirror / "istat_changes" / config.ISTAT_CHANGES_FILE_NAME
    if not (root / AREAS).is_dir() or not changes.is_file():
        pytest.skip(f"{root / AREAS} or {changes} not in the mirror named by {config.MIRROR_ENV}")
    return root


@pytest.fixture(scope="module")
def cities() -> pd.DataFrame:
    return registry.load_cms_cities(config.CMS_CITIES_FILE).set_index("istat_code")


@pytest.fixture(scope="module")
def real(mirror_census):
    from cocity_analysis.sources import istat_comuni

    changes = municipal_changes.load_changes(mirror_census.parent / "istat_changes" / config.ISTAT_CHANGES_FILE_NAME)
    return census.load(mirror_census, current_codes=istat_comuni.load().index, changes=changes)


@pytest.fixture(scope="module")
def plain(mirror_census) -> dict[str, dict[str, int]]:
    """2011 code -> {variable: sum over its census areas}, read with the csv module only."""
    sums: dict[str, dict[str, int]] = {}
    for path in sorted((mirror_census / AREAS).glob("R*_indicatori_2011_areecensimento.csv")):
        with open(path, newline="", encoding="cp1252") as handle:
            for row in csv.DictReader(handle, delimiter=";"):
                target = sums.setdefault(row["PROCOM"].zfill(6), {})
                for key, value in row.items():
                    if key[0] in "PSAE" and key[1:2].isalnum() and key not in ("PROCOM", "PROVINCIA"):
                        target[key] = target.get(key, 0) + int(value)
    return sums


@pytest.fixture(scope="module")
def plain_population(mirror_census) -> dict[str, int]:
    """2011 code -> POP_2011 of ISTAT's 2011 list, read with the csv module only."""
    text = (mirror_census / census.MUNICIPALITIES_FILE).read_bytes().decode("cp1252")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    header = next(reader)
    code, population = header.index("PRO_COM"), header.index("POP_2011")
    return {row[code].zfill(6): int(row[population]) for row in reader if row and row[code]}


#: today's code -> 2011 codes of the cities whose code changed (ISTAT's changes file; checked below)
CHANGED = {"111009": ["107003"], "111035": ["107009"], "090047": ["104017"], "078157": ["078044", "078108"]}


def test_real_38_of_39_have_every_census_variable(real, cities):
    present = [code for code in cities.index if code in real.values.index]
    assert len(cities) == 39 and len(present) == 38
    assert set(cities.index) - set(present) == {"078157"}  # Corigliano-Rossano
    assert real.values.loc[present].notna().all().all()
    assert list(real.values.columns) == [f"census2011_{v}" for v in census.VARIABLES]


def test_real_corigliano_rossano_is_missing_with_its_reason(real, plain):
    assert "078108" in plain and "078044" not in plain  # only Rossano is in ISTAT's area files
    assert "078157" not in real.values.index
    assert "Corigliano Calabro (078044)" in real.missing["078157"]["it"]


def test_real_code_mapping_for_the_cities_whose_code_changed(real, cities, plain):
    for today, olds in CHANGED.items():
        assert today in cities.index
        carried = {r["istat_code_2011"] for r in real.report["codes_carried_forward"] if r["istat_code"] == today}
        assert carried == {old for old in olds if old in plain}
    for today in ("111009", "111035", "090047"):
        (old,) = CHANGED[today]
        assert real.values.loc[today, "census2011_P1"] == plain[old]["P1"]
    for today in cities.index:  # the other 35 kept their 2011 code
        if today not in CHANGED:
            assert today in plain and real.values.loc[today, "census2011_P61"] == plain[today]["P61"]


def test_real_conservation_for_each_city(real, cities, plain, plain_population):
    for today in cities.index:
        for old in CHANGED.get(today, [today]):
            if old in plain:
                assert plain[old]["P1"] == plain_population[old], old
    conservation = real.report["conservation"]
    assert conservation["municipalities_checked"] == len(plain) == 486
    disagreeing = {row["istat_code_2011"]: row for row in conservation["disagreeing"]}
    expected = {code for code in plain if plain[code]["P1"] != plain_population[code]}
    assert set(disagreeing) == expected
    for code, row in disagreeing.items():
        assert (row["p1_sum"], row["pop_2011"]) == (plain[code]["P1"], plain_population[code])
        assert code not in real.values.index  # figures that do not reconcile are not used


def _rate(values: dict, numerator, denominator) -> float:
    return numerator(values) / denominator(values) * 100


def test_real_hand_checked_rates(real, plain):
    catalogue = indicators.load_catalogue()
    ids = [i for i in catalogue.index if i.startswith("census2011_")]
    computed, _ = indicators.compute_indicators(real.values, catalogue.loc[ids])
    cases = {"061019": "Casal di Principe", "077014": "Matera", "073027": "Taranto"}
    for code in cases:
        p = plain[code]
        unemployment = _rate(p, lambda v: v["P60"] - v["P61"], lambda v: v["P60"])
        employment = _rate(p, lambda v: v["P61"], lambda v: v["P1"] - v["P14"] - v["P15"] - v["P16"])
        renting = _rate(p, lambda v: v["A46"], lambda v: v["A46"] + v["A47"] + v["A48"])
        poor = _rate(p, lambda v: v["E30"] + v["E31"], lambda v: v["E3"])
        assert computed.loc[code, "census2011_unemployment_rate"] == pytest.approx(unemployment)
        assert computed.loc[code, "census2011_employment_rate"] == pytest.approx(employment)
        assert computed.loc[code, "census2011_families_renting"] == pytest.approx(renting)
        assert computed.loc[code, "census2011_buildings_poor_condition"] == pytest.approx(poor)
        assert computed.loc[code, "census2011_floor_area_per_occupant"] == pytest.approx(p["A44"] / p["PF2"])
    assert 34 < computed.loc["061019", "census2011_unemployment_rate"] < 36  # Casal di Principe, ~35 %
    assert computed.loc["077014", "census2011_unemployment_rate"] < 16  # Matera


def test_real_prepare_has_census_indicators_for_38(tmp_path, mirror_census):
    raw = tmp_path / "raw"
    shutil.copytree(mirror_census, raw / "istat_census2011")
    (raw / "istat_changes").mkdir()
    shutil.copyfile(mirror_census.parent / "istat_changes" / config.ISTAT_CHANGES_FILE_NAME,
                    raw / "istat_changes" / config.ISTAT_CHANGES_FILE_NAME)
    result = pipeline.prepare(raw_dir=raw, mef_path=mirror_mef_zip(), mef_dir=tmp_path / "no_mef",
                              iccu_dir=tmp_path / "no_iccu", comuni_dir=tmp_path / "no_list", write=False)
    values = result.indicators
    assert values["census2011_unemployment_rate"].notna().sum() == 38
    assert pd.isna(values.loc["078157", "census2011_unemployment_rate"])
    assert "078157" in result.reconciliation["census2011"]["missing_for_cities"]
    assert "census2011" not in result.provenance["unavailable_sources"]
    roles = [i["role"] for i in result.provenance["inputs"]]
    assert roles.count("istat_census2011:areas") == 20 and "istat_municipal_changes" in roles
