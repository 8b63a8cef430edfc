"""Stated priorities: the shipped templates are empty; answers are validated; compare and matrix.

Every answer here is a fixture written by the test (``need`` says so); nothing
is a real city's statement.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from cocity_analysis import FOCUS_AREAS
from cocity_analysis.sources import questionnaire
from cocity_analysis.cli import main
from cocity_analysis.errors import InputFileError, NameResolutionError

HEADER = "city,focus_area,priority,need,respondent_role,date"
MATERA, CAVA = "077014", "065037"


def write_csv(tmp_path, *rows, header=HEADER, name="fixture_answers.csv", encoding="utf-8", sep=","):
    path = tmp_path / name
    lines = [header.replace(",", sep)] + [sep.join(row) for row in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


FIXTURE_ROWS = [
    ("Matera", "housing", "5", "fixture need A", "fixture role", "2024-05-01"),
    ("Matera", "poverty", "2", "fixture need B", "fixture role", "01/05/2024"),
    ("Matera", "inclusion_work", "3", "", "fixture role", ""),
    ("Matera", "culture_tourism", "1", "fixture need C", "fixture role", "2024-05-01"),
    ("Cava de’ Tirreni", "Riduzione del disagio abitativo", "4", "fixture need D", "fixture role", "2024-06-30"),
]


# --------------------------------------------------------------------------- templates


def test_shipped_csv_template_is_header_only():
    text = questionnaire.TEMPLATE_CSV.read_text(encoding="utf-8")
    assert text == HEADER + "\n"
    assert questionnaire.load(questionnaire.TEMPLATE_CSV).empty


def test_shipped_excel_template_is_empty_with_instructions():
    book = load_workbook(questionnaire.TEMPLATE_XLSX)
    assert book.sheetnames == ["questionario", "istruzioni"]
    answers = list(book["questionario"].iter_rows(values_only=True))
    assert answers == [tuple(questionnaire.COLUMNS)]
    instructions = [cell for row in book["istruzioni"].iter_rows(values_only=True) for cell in row if cell]
    for area in FOCUS_AREAS:
        assert area in instructions
    assert any("5 = priorità massima" in str(cell) for cell in instructions)
    assert questionnaire.load(questionnaire.TEMPLATE_XLSX).empty


def test_templates_are_reproducible(tmp_path):
    written = questionnaire.write_templates(tmp_path / "t.csv", tmp_path / "t.xlsx")
    assert written.csv.read_text(encoding="utf-8") == questionnaire.TEMPLATE_CSV.read_text(encoding="utf-8")
    fresh = load_workbook(written.xlsx)
    shipped = load_workbook(questionnaire.TEMPLATE_XLSX)
    for name in shipped.sheetnames:
        assert list(fresh[name].iter_rows(values_only=True)) == list(shipped[name].iter_rows(values_only=True))


# --------------------------------------------------------------------------- loading


def test_load_valid_csv(tmp_path):
    stated = questionnaire.load(write_csv(tmp_path, *FIXTURE_ROWS))
    assert list(stated.columns) == questionnaire.OUTPUT_COLUMNS
    assert stated["istat_code"].tolist() == [MATERA] * 4 + [CAVA]
    assert stated["city"].iloc[-1] == "Cava de' Tirreni"
    assert stated["focus_area"].iloc[-1] == "housing"  # Italian label accepted
    assert stated["priority"].tolist() == [5, 2, 3, 1, 4]
    assert stated["date"].iloc[1] == pd.Timestamp("2024-05-01") and pd.isna(stated["date"].iloc[2])
    assert stated["row"].tolist() == [2, 3, 4, 5, 6]


def test_load_excel_style_csv_semicolon_cp1252(tmp_path):
    path = write_csv(tmp_path, ("Matera", "poverty", "4", "fixture bisogno è", "fixture", "2024-01-31"),
                     sep=";", encoding="cp1252")
    stated = questionnaire.load(path)
    assert stated["need"].iloc[0] == "fixture bisogno è"


def test_load_xlsx(tmp_path):
    path = tmp_path / "fixture_answers.xlsx"
    questionnaire.write_templates(tmp_path / "t.csv", path)
    book = load_workbook(path)
    sheet = book["questionario"]
    sheet.append(["Matera", "housing", 5, "fixture need", "fixture role", pd.Timestamp("2024-05-01").to_pydatetime()])
    sheet.append([None] * 6)
    sheet.append(["Cava de' Tirreni", "poverty", 3.0, None, None, None])
    book.save(path)
    stated = questionnaire.load(path)
    assert stated["istat_code"].tolist() == [MATERA, CAVA]
    assert stated["priority"].tolist() == [5, 3]
    assert stated["row"].tolist() == [2, 4]
    assert stated["date"].iloc[0] == pd.Timestamp("2024-05-01")


def test_unknown_city_is_the_resolvers_error(tmp_path):
    path = write_csv(tmp_path, FIXTURE_ROWS[0], ("Materra di Sotto", "housing", "3", "", "", ""))
    with pytest.raises(NameResolutionError) as info:
        questionnaire.load(path)
    assert info.value.name == "Materra di Sotto" and "row 3" in str(info.value)


def test_ambiguous_city_lists_candidates(tmp_path):
    with pytest.raises(NameResolutionError) as info:
        questionnaire.load(write_csv(tmp_path, ("Castro", "housing", "3", "", "", "")))
    assert "Castro (LE)" in str(info.value) and "Castro (BG)" in str(info.value)


@pytest.mark.parametrize("value", ["0", "6", "7", "3.5", "alta", ""])
def test_priority_out_of_range_names_the_row(tmp_path, value):
    path = write_csv(tmp_path, FIXTURE_ROWS[0], ("Matera", "housing", value, "", "", ""))
    with pytest.raises(InputFileError) as info:
        questionnaire.load(path)
    assert info.value.row == 3 and info.value.column == "priority" and "1 to 5" in str(info.value)


def test_bad_focus_area_lists_candidates(tmp_path):
    with pytest.raises(InputFileError) as info:
        questionnaire.load(write_csv(tmp_path, ("Matera", "tourism", "3", "", "", "")))
    assert info.value.row == 2 and info.value.column == "focus_area"
    for area in FOCUS_AREAS:
        assert area in str(info.value)


@pytest.mark.parametrize("value", ["31/02/2024", "2024-13-01", "maggio 2024"])
def test_bad_date_names_row_and_column(tmp_path, value):
    with pytest.raises(InputFileError) as info:
        questionnaire.load(write_csv(tmp_path, ("Matera", "housing", "3", "", "", value)))
    assert (info.value.row, info.value.column) == (2, "date")


def test_bad_header_is_refused(tmp_path):
    with pytest.raises(InputFileError, match="missing column"):
        questionnaire.load(write_csv(tmp_path, header="city,focus_area,priority"))
    with pytest.raises(InputFileError, match="unknown column"):
        questionnaire.load(write_csv(tmp_path, header=HEADER + ",score"))


# --------------------------------------------------------------------------- analysis


def data_priorities():
    """A priorities table as `cocity prepare` writes it (fixture scores)."""
    rows = [(MATERA, "poverty", 1, 80.0), (MATERA, "inclusion_work", 2, 60.0), (MATERA, "housing", 3, 40.0),
            (MATERA, "culture_tourism", pd.NA, None), (CAVA, "housing", 1, 70.0)]
    frame = pd.DataFrame(rows, columns=["istat_code", "focus_area", "rank", "score"])
    frame["rank"] = frame["rank"].astype("Int64")
    return frame


def test_compare_flags_large_gaps(tmp_path):
    stated = questionnaire.load(write_csv(tmp_path, *FIXTURE_ROWS))
    table = questionnaire.compare(stated, data_priorities()).set_index(["istat_code", "focus_area"])
    housing = table.loc[(MATERA, "housing")]
    assert housing["stated_rank"] == 1 and housing["data_rank"] == 3 and housing["gap"] == -2
    assert housing["large_gap"] and "più in alto" in housing["note"]
    poverty = table.loc[(MATERA, "poverty")]
    assert poverty["stated_rank"] == 3 and poverty["gap"] == 2 and poverty["large_gap"]
    assert not table.loc[(MATERA, "inclusion_work"), "large_gap"]
    tourism = table.loc[(MATERA, "culture_tourism")]
    assert pd.isna(tourism["gap"]) and not tourism["large_gap"]  # no data rank: no gap, no flag
    assert table.loc[(CAVA, "housing"), "gap"] == 0


def test_compare_averages_several_respondents(tmp_path):
    rows = [("Matera", "housing", "5", "", "fixture role 1", ""), ("Matera", "housing", "2", "", "fixture role 2", "")]
    table = questionnaire.compare(questionnaire.load(write_csv(tmp_path, *rows)), data_priorities())
    assert table.loc[0, "stated_priority"] == 3.5 and table.loc[0, "responses"] == 2


def test_matrix_has_every_city_and_area(tmp_path):
    stated = questionnaire.load(write_csv(tmp_path, *FIXTURE_ROWS))
    cities = pd.DataFrame(index=pd.Index([MATERA, CAVA, "071020"], name="istat_code"))
    table = questionnaire.matrix(stated, cities)
    assert table.shape == (3, 4) and list(table.columns) == list(FOCUS_AREAS)
    assert table.loc[MATERA].tolist() == [3.0, 5.0, 2.0, 1.0]
    assert table.loc["071020"].isna().all()
    assert questionnaire.matrix(stated.iloc[0:0], cities).isna().all().all()


# --------------------------------------------------------------------------- cocity prepare --questionnaire


@pytest.fixture
def fake_prepare(monkeypatch):
    calls = []

    def prepare(**kwargs):
        calls.append(kwargs)
        for writer in kwargs.get("extra_writers", ()):  # the real prepare calls them in the new dataset folder
            writer(Path(kwargs["processed_dir"]))
        return SimpleNamespace(provenance={"unavailable_sources": {}, "method": {"k_chosen": 2}},
                               cities=pd.DataFrame(index=[MATERA]), indicators=pd.DataFrame(index=[MATERA]))

    monkeypatch.setattr("cocity_analysis.pipeline.prepare", prepare)
    return calls


def test_prepare_writes_stated_priorities(tmp_path, fake_prepare):
    out = tmp_path / "processed"
    path = write_csv(tmp_path, *FIXTURE_ROWS)
    assert main(["prepare", "--processed", str(out), "--questionnaire", str(path)]) == 0
    written = pd.read_parquet(out / questionnaire.STATED_FILE)
    assert len(written) == 5 and set(written["istat_code"]) == {MATERA, CAVA}


def test_prepare_without_answers_writes_nothing(tmp_path, fake_prepare):
    out = tmp_path / "processed"
    assert main(["prepare", "--processed", str(out), "--questionnaire", str(questionnaire.TEMPLATE_CSV)]) == 0
    assert not (out / questionnaire.STATED_FILE).exists()
    assert main(["prepare", "--processed", str(out)]) == 0
    assert not (out / questionnaire.STATED_FILE).exists()


def test_bad_questionnaire_stops_before_anything_is_prepared(tmp_path, fake_prepare, capsys):
    path = write_csv(tmp_path, ("Matera", "housing", "9", "", "", ""))
    assert main(["prepare", "--processed", str(tmp_path / "p"), "--questionnaire", str(path)]) == 2
    assert not fake_prepare and "row 2" in capsys.readouterr().err


def test_empty_workbook_sheet_error(tmp_path):
    path = tmp_path / "empty.xlsx"
    book = Workbook()
    book.active.title = "questionario"
    book.save(path)
    with pytest.raises(InputFileError, match="empty sheet"):
        questionnaire.load(path)
