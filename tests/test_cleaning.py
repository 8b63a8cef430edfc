"""Cleaning steps on hand-picked values (each expected value worked out by hand)."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pandas as pd
import pytest

from cocity_analysis.sources import cleaning
from cocity_analysis.sources.cleaning import normalise_name, pad_codes, parse_italian_number, parse_italian_numbers, replace_missing_markers
from cocity_analysis.errors import InputFileError


def test_docstring_examples_run():
    result = doctest.testmod(cleaning, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 20
    assert result.failed == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.234,5", 1234.5),
        ("1234", 1234.0),
        ("-3,2", -3.2),
        ("+7", 7.0),
        ("0,05", 0.05),
        ("1.234.567", 1234567.0),
        ("1.234.567,89", 1234567.89),
        ("  12  ", 12.0),
        ("1234,5", 1234.5),
        ("-1.000", -1000.0),
        (42, 42.0),
        (2.5, 2.5),
        (np.int64(7), 7.0),
    ],
)
def test_parse_italian_number_values(text, expected):
    assert parse_italian_number(text) == pytest.approx(expected, abs=0, rel=1e-15)


@pytest.mark.parametrize("marker", ["-", "..", "...", "x", "X", "n.d.", "N.D.", "nd", "ND", "", "   ", ":", " - ",
                                    None, math.nan, pd.NA])
def test_missing_markers_are_nan_not_zero(marker):
    value = parse_italian_number(marker)
    assert math.isnan(value)


@pytest.mark.parametrize("text", ["12a", "1.5", "1,2,3", "1.23,4", "12.3456", "abc", "1 234", "1e5", "--1", "12,"])
def test_parse_italian_number_rejects_non_numbers(text):
    # "1.5" and "12.3456" are not valid Italian format (dots group thousands by three): no guessing.
    with pytest.raises(InputFileError) as info:
        parse_italian_number(text)
    assert repr(text) in str(info.value)


def test_parse_italian_number_rejects_booleans_and_infinity():
    with pytest.raises(InputFileError):
        parse_italian_number(True)
    with pytest.raises(InputFileError):
        parse_italian_number(float("inf"))


def test_parse_italian_numbers_converts_only_given_columns():
    raw = pd.DataFrame({"city": ["Matera", "Trani", "Gela"],
                        "income": ["1.234,5", "x", "-3,2"],
                        "pop": ["60.000", "..", "72.005"]})
    out = parse_italian_numbers(raw, ["income", "pop"])
    assert out["city"].tolist() == ["Matera", "Trani", "Gela"]
    assert out["income"].dtype == np.float64 and out["pop"].dtype == np.float64
    assert out["income"].iloc[0] == 1234.5 and math.isnan(out["income"].iloc[1]) and out["income"].iloc[2] == -3.2
    assert out["pop"].iloc[0] == 60000.0 and math.isnan(out["pop"].iloc[1]) and out["pop"].iloc[2] == 72005.0
    # the input is left untouched
    assert raw["income"].tolist() == ["1.234,5", "x", "-3,2"]


def test_parse_italian_numbers_accepts_single_column_name():
    out = parse_italian_numbers(pd.DataFrame({"a": ["1,5"]}), "a")
    assert out["a"].tolist() == [1.5]


def test_parse_italian_numbers_error_names_file_row_and_column():
    raw = pd.DataFrame({"a": ["1", "2", "3"], "b": ["4", "5", "12a"]})
    with pytest.raises(InputFileError) as info:
        parse_italian_numbers(raw, ["a", "b"], source="data/raw/irpef.csv")
    error = info.value
    # index label 2 + first_line 2 = line 4 (header is line 1, label 0 is line 2)
    assert (error.path, error.row, error.column) == ("data/raw/irpef.csv", 4, "b")
    assert "file data/raw/irpef.csv, row 4, column 'b'" in str(error)
    assert "'12a'" in str(error)


def test_parse_italian_numbers_reports_first_bad_row_and_counts_others():
    raw = pd.DataFrame({"a": ["1", "zz", "3"], "b": ["oops", "5", "6"]})
    with pytest.raises(InputFileError) as info:
        parse_italian_numbers(raw, ["a", "b"], source="f.csv", first_line=10)
    assert (info.value.row, info.value.column) == (10, "b")  # row order first: label 0 -> line 10
    assert "1 more" in str(info.value)


def test_parse_italian_numbers_missing_column():
    with pytest.raises(InputFileError) as info:
        parse_italian_numbers(pd.DataFrame({"a": ["1"]}), ["a", "zz"], source="f.csv")
    assert info.value.column == "zz"
    assert "'a'" in str(info.value)  # lists the columns present


def test_parse_italian_numbers_non_integer_index_reports_label():
    raw = pd.DataFrame({"a": ["1", "bad"]}, index=["077014", "064008"])
    with pytest.raises(InputFileError) as info:
        parse_italian_numbers(raw, "a", source="f.csv")
    assert info.value.row is None
    assert "064008" in str(info.value)


def test_replace_missing_markers():
    raw = pd.DataFrame({"a": ["12", "..", " x ", "n.d.", "0"], "b": ["-", "Sud", "", "X", "..."],
                        "n": [1, 2, 3, 4, 5]})
    out = replace_missing_markers(raw)
    assert out["a"].tolist()[0] == "12" and out["a"].tolist()[4] == "0"
    assert out["a"].isna().tolist() == [False, True, True, True, False]
    assert out["b"].isna().tolist() == [True, False, True, True, True]
    assert out["n"].tolist() == [1, 2, 3, 4, 5]
    assert raw["a"].tolist() == ["12", "..", " x ", "n.d.", "0"]  # input unchanged


def test_replace_missing_markers_only_given_columns():
    raw = pd.DataFrame({"a": ["..", "1"], "b": ["..", "2"]})
    out = replace_missing_markers(raw, ["a"])
    assert out["a"].isna().tolist() == [True, False]
    assert out["b"].tolist() == ["..", "2"]


@pytest.mark.parametrize(
    ("value", "width", "expected"),
    [("1001", 6, "001001"), (1001, 6, "001001"), (1001.0, 6, "001001"), ("1001.0", 6, "001001"),
     ("064008", 6, "064008"), (" 77014 ", 6, "077014"), ("110001", 6, "110001"), (np.int64(58091), 6, "058091"),
     ("65", 3, "065"), (1, 2, "01")],
)
def test_pad_codes_values(value, width, expected):
    frame = pd.DataFrame({"code": [value]})
    assert pad_codes(frame, "code", width)["code"].tolist() == [expected]


@pytest.mark.parametrize("value", ["1001.5", 1001.5, "12a", "", None, math.nan, -5, "1234567", "-1001", True])
def test_pad_codes_rejects_invalid(value):
    frame = pd.DataFrame({"code": ["077014", value]})
    with pytest.raises(InputFileError) as info:
        pad_codes(frame, "code", source="cities.csv")
    assert (info.value.path, info.value.row, info.value.column) == ("cities.csv", 3, "code")


def test_pad_codes_keeps_other_columns_and_input():
    frame = pd.DataFrame({"code": [1001, 64008], "name": ["Agliè", "Avellino"]})
    out = pad_codes(frame, "code")
    assert out["code"].tolist() == ["001001", "064008"]
    assert out["name"].tolist() == ["Agliè", "Avellino"]
    assert frame["code"].tolist() == [1001, 64008]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Cava de' Tirreni", "cava de tirreni"),
        ("Cava de\u2019 Tirreni", "cava de tirreni"),
        ("Cava de\u2018 Tirreni", "cava de tirreni"),
        ("Cava de` Tirreni", "cava de tirreni"),
        ("Cava de\u00b4 Tirreni", "cava de tirreni"),
        ("CAVA DE TIRRENI", "cava de tirreni"),
        ("Corigliano-Rossano", "corigliano rossano"),
        ("Corigliano\u2013Rossano", "corigliano rossano"),
        ("Corigliano \u2014 Rossano", "corigliano rossano"),
        ("Agliè", "aglie"),
        ("Paternò", "paterno"),
        ("  San   Severo\t", "san severo"),
        ("Nabrežina", "nabrezina"),
        ("Trentino-Alto Adige/Südtirol", "trentino alto adige/sudtirol"),
    ],
)
def test_normalise_name(text, expected):
    assert normalise_name(text) == expected


def test_as_list_gives_the_values_of_columns_indexes_and_iterables():
    from cocity_analysis.sources.cleaning import as_list

    codes = ["077014", "085007", None]
    assert as_list(pd.Series(codes[:2], dtype="str")) == codes[:2]
    assert as_list(pd.Index(codes[:2], dtype="str")) == codes[:2]
    assert as_list(code for code in codes) == codes
    assert as_list({"077014": 1}) == ["077014"]
    missing = as_list(pd.Series(codes, dtype="str"))
    assert missing[:2] == codes[:2] and pd.isna(missing[2])
