"""Name -> ISTAT code resolution against the real ISTAT list (codes checked by hand in the file)."""

from __future__ import annotations

import doctest
import io

import pandas as pd
import pytest

from cocity_analysis import config
from cocity_analysis.sources import registry
from cocity_analysis.errors import InputFileError, NameResolutionError
from cocity_analysis.sources.registry import UnresolvedNamesError, cli_resolve, load_cms_cities, resolve, resolve_one

CMS_39 = ["Andria", "Avellino", "Aversa", "Barletta", "Battipaglia", "Benevento", "Brindisi", "Caltanissetta",
          "Campobasso", "Carbonia", "Casal di Principe", "Caserta", "Castrovillari", "Catanzaro",
          "Cava de' Tirreni", "Cerignola", "Corigliano-Rossano", "Crotone", "Gela", "Iglesias", "Lamezia Terme",
          "Lentini", "Manfredonia", "Marsala", "Matera", "Mazara del Vallo", "Mesagne", "Mondragone", "Niscemi",
          "Olbia", "Porto Torres", "Potenza", "Salerno", "San Severo", "Sassari", "Taranto", "Termoli", "Trani",
          "Vittoria"]

# A few codes read by hand from the ISTAT file.
KNOWN = {"Matera": "077014", "Avellino": "064008", "Barletta": "110002", "Cerignola": "071020",
         "Cava de' Tirreni": "065037", "Corigliano-Rossano": "078157", "Carbonia": "111009", "Olbia": "090047"}


def code_of(name: str) -> str:
    return resolve_one(name)["istat_code"]


def test_result_columns_and_order():
    out = resolve(["Trani", "Matera", "Trani"])
    assert list(out.columns) == ["input", "istat_code", "name", "province_abbr", "region"]
    assert out["input"].tolist() == ["Trani", "Matera", "Trani"]
    assert out["istat_code"].tolist() == ["110009", "077014", "110009"]
    assert out.loc[1, ["name", "province_abbr", "region"]].tolist() == ["Matera", "MT", "Basilicata"]


@pytest.mark.parametrize("name", ["Cava de' Tirreni", "Cava de\u2019 Tirreni", "CAVA DE TIRRENI", "cava de tirreni",
                                  "Cava de\u2018Tirreni", "  Cava  de'  Tirreni "])
def test_case_and_apostrophes(name):
    row = resolve_one(name)
    assert row["istat_code"] == "065037"
    assert row["name"] == "Cava de' Tirreni"  # the official spelling, not the input
    assert row["input"] == name


@pytest.mark.parametrize("name", ["Corigliano-Rossano", "Corigliano Rossano", "corigliano\u2013rossano"])
def test_hyphen_or_space(name):
    assert code_of(name) == "078157"


def test_accents():
    assert code_of("Aglie") == "001001"  # official: Agliè
    assert code_of("AGLIÈ") == "001001"


def test_accent_typed_in_the_input_tells_paterno_from_paterno():
    # Paterno (PZ) 076100 and Paternò (CT) 087033 differ only by the accent.
    assert code_of("Paternò") == "087033"
    assert code_of("Paterno (PZ)") == "076100"
    with pytest.raises(NameResolutionError) as info:
        resolve_one("Paterno")  # typed without accent: could be either, so no guess
    assert info.value.candidates == ["Paterno (PZ) 076100", "Paternò (CT) 087033"]


@pytest.mark.parametrize(("typo", "code"), [("Barleta", "110002"), ("Cerignol", "071020"),
                                            ("Caltanisetta", "085004"), ("Catanzro", "079023")])
def test_small_typos(typo, code):
    row = resolve_one(typo)
    assert row["istat_code"] == code


def test_castro_is_ambiguous_and_lists_both():
    with pytest.raises(NameResolutionError) as info:
        resolve_one("Castro")
    error = info.value
    assert error.name == "Castro"
    assert error.candidates == ["Castro (BG) 016065", "Castro (LE) 075096"]
    assert "ambiguous" in str(error)


@pytest.mark.parametrize(("name", "code"), [("Castro (LE)", "075096"), ("Castro (BG)", "016065"),
                                            ("castro (le)", "075096"), ("Castro(LE)", "075096"),
                                            ("Castro (Lecce)", "075096")])
def test_castro_with_province(name, code):
    row = resolve_one(name)
    assert row["istat_code"] == code and row["name"] == "Castro"


def test_province_that_does_not_match_lists_real_ones():
    with pytest.raises(NameResolutionError) as info:
        resolve_one("Castro (MI)")
    assert "province MI" in str(info.value)
    assert info.value.candidates == ["Castro (BG) 016065", "Castro (LE) 075096"]


def test_unknown_province():
    with pytest.raises(NameResolutionError) as info:
        resolve_one("Matera (ZZ)")
    assert "unknown province 'ZZ'" in str(info.value)


def test_unknown_name_lists_candidates():
    with pytest.raises(NameResolutionError) as info:
        resolve_one("Lamezia")
    error = info.value
    assert "unknown municipality" in str(error)
    assert error.candidates[:2] == ["Amelia (TR) 055004", "Lamezia Terme (CZ) 079160"]  # best by ratio, by WRatio
    assert 1 < len(error.candidates) <= registry.MAX_CANDIDATES
    assert "Lamezia Terme (CZ) 079160" in str(error)


def test_no_guess_when_two_names_are_close():
    # "Mazara" is as close to Atzara as to nothing better: must not guess Mazara del Vallo or Atzara.
    with pytest.raises(NameResolutionError) as info:
        resolve_one("Mazara")
    assert "Mazara del Vallo (TP) 081012" in info.value.candidates


@pytest.mark.parametrize(("typo", "both"), [
    ("Forano Canavese", ["Fiorano Canavese (TO) 001105", "Forno Canavese (TO) 001107"]),  # ratio 96.8 vs 96.6
    ("Ercenasco", ["Cercenasco (TO) 001071", "Mercenasco (TO) 001150"]),  # 94.7 vs 94.7
])
def test_no_guess_when_the_runner_up_is_as_close(typo, both):
    # Both scores are above the threshold; without a clear lead there is no silent pick.
    with pytest.raises(NameResolutionError) as info:
        resolve_one(typo)
    assert set(both) <= set(info.value.candidates)
    assert "runner-up" in str(info.value)


def test_fuzzy_match_on_an_ambiguous_name_is_an_error():
    with pytest.raises(NameResolutionError) as info:
        resolve_one("Castr")  # closest is "castro", which is two municipalities
    assert info.value.candidates == ["Castro (BG) 016065", "Castro (LE) 075096"]


def test_gibberish_is_unknown():
    with pytest.raises(NameResolutionError):
        resolve_one("Xyzzy")


@pytest.mark.parametrize(("code", "expected"), [("064008", "064008"), ("64008", "064008"), (64008, "064008"),
                                                ("77014", "077014"), ("111009", "111009")])
def test_istat_codes_as_input(code, expected):
    row = resolve_one(code)
    assert row["istat_code"] == expected


def test_unknown_code():
    with pytest.raises(NameResolutionError) as info:
        resolve_one("999999")
    assert "999999" in str(info.value)


def test_several_failures_raise_one_error_covering_all():
    with pytest.raises(UnresolvedNamesError) as info:
        resolve(["Matera", "Castro", "Xyzzy", "Barletta", "Lamezia"])
    error = info.value
    assert isinstance(error, NameResolutionError)
    assert error.names == ["Castro", "Xyzzy", "Lamezia"]
    text = str(error)
    assert "3 of 5 names could not be resolved" in text
    for part in ["'Castro'", "Castro (LE) 075096", "'Xyzzy'", "'Lamezia'", "Lamezia Terme (CZ) 079160"]:
        assert part in text
    assert "'Matera'" not in text


def test_a_single_string_is_one_name():
    assert resolve("Matera")["istat_code"].tolist() == ["077014"]


def test_custom_municipalities_frame():
    towns = pd.DataFrame({"name": ["Castro", "Matera"], "province_abbr": ["BG", "MT"],
                          "region": ["Lombardia", "Basilicata"]},
                         index=pd.Index(["016065", "077014"], name="istat_code"))
    # With only one Castro in the list, bare "Castro" is not ambiguous.
    assert resolve(["Castro"], municipalities=towns)["istat_code"].tolist() == ["016065"]


def test_docstring_examples_run():
    result = doctest.testmod(registry, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted >= 2


# --- the 39 cities ----------------------------------------------------------------------------

def test_cms_cities_file_is_the_published_list():
    text = config.CMS_CITIES_FILE.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "city"
    assert lines[1:] == CMS_39
    assert len(set(CMS_39)) == 39


def test_the_39_resolve_to_39_distinct_codes():
    out = load_cms_cities()
    assert out["input"].tolist() == CMS_39
    assert out["istat_code"].is_unique and len(out) == 39
    assert out["name"].tolist() == CMS_39  # every name is already the official spelling
    codes = dict(zip(out["input"], out["istat_code"]))
    for name, code in KNOWN.items():
        assert codes[name] == code


def test_the_39_resolve_directly_too():
    assert resolve(CMS_39)["istat_code"].nunique() == 39


def write(tmp_path, text, name="cms_cities.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_load_cms_cities_empty_file(tmp_path):
    path = write(tmp_path, "")
    with pytest.raises(InputFileError) as info:
        load_cms_cities(path)
    assert info.value.path == str(path) and "empty" in str(info.value)


def test_load_cms_cities_missing_column(tmp_path):
    path = write(tmp_path, "comune\nMatera\n")
    with pytest.raises(InputFileError) as info:
        load_cms_cities(path)
    assert info.value.path == str(path) and info.value.column == "city"
    assert "'comune'" in str(info.value)


def test_load_cms_cities_unresolvable_row(tmp_path):
    path = write(tmp_path, "city\nMatera\nCastro\nTrani\n")
    with pytest.raises(InputFileError) as info:
        load_cms_cities(path)
    error = info.value
    assert (error.path, error.row, error.column) == (str(path), 3, "city")
    assert "Castro (LE) 075096" in str(error)


def test_load_cms_cities_several_unresolvable_rows_in_one_error(tmp_path):
    path = write(tmp_path, "city\nMatera\nCastro\nTrani\nXyzzy\n")
    with pytest.raises(InputFileError) as info:
        load_cms_cities(path)
    text = str(info.value)
    assert "row 3: 'Castro'" in text and "row 5: 'Xyzzy'" in text


def test_load_cms_cities_duplicate_municipality(tmp_path):
    path = write(tmp_path, "city\nMatera\nTrani\n77014\n")
    with pytest.raises(InputFileError) as info:
        load_cms_cities(path)
    assert info.value.row == 4 and "row 2" in str(info.value)


def test_load_cms_cities_empty_name(tmp_path):
    path = write(tmp_path, "city,note\nMatera,x\n ,y\n")
    with pytest.raises(InputFileError) as info:
        load_cms_cities(path)
    assert (info.value.row, info.value.column) == (3, "city")


def test_load_cms_cities_not_utf8(tmp_path):
    path = write(tmp_path, "city\nAgliè\n", encoding="utf-16")
    with pytest.raises(InputFileError) as info:
        load_cms_cities(path)
    assert "UTF-8" in str(info.value)


def test_load_cms_cities_province_and_bom(tmp_path):
    path = write(tmp_path, "\ufeffcity\nCastro (LE)\n\nMatera\n")
    out = load_cms_cities(path)
    assert out["istat_code"].tolist() == ["075096", "077014"]


# --- CLI --------------------------------------------------------------------------------------

def run_cli(names):
    stdout, stderr = io.StringIO(), io.StringIO()
    code = cli_resolve(names, stdout, stderr)
    return code, stdout.getvalue(), stderr.getvalue()


def test_cli_all_resolved():
    code, out, err = run_cli(["Matera", "CAVA DE TIRRENI", "64008"])
    assert code == 0 and err == ""
    assert out == "Matera\t077014\tMatera\nCAVA DE TIRRENI\t065037\tCava de' Tirreni\n64008\t064008\tAvellino\n"


def test_cli_some_failures():
    code, out, err = run_cli(["Barleta", "Castro", "Trani"])
    assert code == 1
    assert out == "Barleta\t110002\tBarletta\nTrani\t110009\tTrani\n"
    assert err.startswith("error: 'Castro': ambiguous")
    assert "Castro (BG) 016065" in err and "Castro (LE) 075096" in err


def test_cli_no_names():
    code, out, err = run_cli([])
    assert code == 2 and out == "" and "at least one" in err
