"""Stated priorities: the cities' own answers, set beside the data-driven ranking.

The programme's focus groups asked each city for a first analysis of needs and
priorities. This module reads those answers from the questionnaire template
(``data/raw/questionnaire_template.csv`` or ``.xlsx``; shipped **empty**: no
answer is ever invented), validates them, and compares them with the
data-driven priorities.

Template columns (one row per city, focus area and respondent):

=================  ==============================================================
``city``           municipality name (or ISTAT code), resolved like ``cocity resolve``
``focus_area``     ``inclusion_work``, ``housing``, ``poverty``, ``culture_tourism``
                   (or the Italian label of the area)
``priority``       integer 1-5: how high the city puts the area, **5 = massima
                   priorità**, 1 = minima
``need``           free text: the need the city names
``respondent_role`` free text: who answered (role, not name)
``date``           date of the answer: ``AAAA-MM-GG`` or ``GG/MM/AAAA`` (empty allowed)
=================  ==============================================================

Comparison rule (:func:`compare`)
---------------------------------
For each city, the areas it answered are ranked by mean stated priority
(1 = highest; ties share the average rank). The gap is ``stated_rank -
data_rank`` (the data-driven rank of ``priorities.parquet``, 1 = highest
relative need). With four areas, a gap of two places or more
(``|gap| >= LARGE_GAP``) is flagged as large: e.g. the city puts first an
area the data put third or fourth. No gap is computed where either rank is
missing (an area without data is never ranked, see the method).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Iterable

import pandas as pd

from cocity_analysis import FOCUS_AREA_LABELS, FOCUS_AREAS, config
from cocity_analysis.errors import InputFileError, NameResolutionError
from cocity_analysis.fileio import write_parquet_atomic

COLUMNS = ("city", "focus_area", "priority", "need", "respondent_role", "date")
OUTPUT_COLUMNS = ["istat_code", "city", "focus_area", "priority", "need", "respondent_role", "date", "row"]
PRIORITY_MIN, PRIORITY_MAX = 1, 5
#: Two places apart (out of four areas) or more: a large gap between stated and data-driven rank.
LARGE_GAP = 2
STATED_FILE = "stated_priorities.parquet"
TEMPLATE_CSV = config.INPUTS_DIR / "questionnaire_template.csv"
TEMPLATE_XLSX = config.INPUTS_DIR / "questionnaire_template.xlsx"
SHEET_ANSWERS = "questionario"
SHEET_INSTRUCTIONS = "istruzioni"

INSTRUCTIONS_IT = [
    "Questionario sulle priorità dichiarate dalle città (PN Metro plus e città medie Sud 2021-2027, Priorità 5).",
    "Compilare il foglio «questionario»: una riga per città, area di intervento e persona che risponde.",
    "Non modificare l'intestazione (prima riga) e non aggiungere colonne.",
    "city: nome del comune come lo pubblica il programma (es. «Cava de' Tirreni») oppure codice ISTAT.",
    "focus_area: uno degli identificativi elencati sotto (oppure la denominazione italiana dell'area).",
    "priority: numero intero da 1 a 5; 5 = priorità massima, 1 = priorità minima.",
    "need: testo libero, il bisogno indicato dalla città.",
    "respondent_role: ruolo di chi risponde (non il nome).",
    "date: data della risposta nel formato AAAA-MM-GG oppure GG/MM/AAAA.",
    "Il file viene controllato da `cocity prepare --questionnaire FILE`: un errore indica riga e colonna da correggere.",
]


class QuestionnaireCityError(NameResolutionError):
    """The resolver's error for a city of the questionnaire, located by file and row."""

    def __init__(self, error: NameResolutionError, path: Path, row: int):
        self.path = str(path)
        self.row = row
        NameResolutionError.__init__(self, error.name, f"{error.reason} (file {path}, row {row}, column 'city')",
                                     error.candidates)


# --------------------------------------------------------------------------- reading


def _decode(data: bytes, path: Path) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputFileError(path, "the file is neither UTF-8 nor Windows-1252 text")  # pragma: no cover


def _read_csv_rows(path: Path) -> list[tuple[int, dict]]:
    text = _decode(path.read_bytes(), path)
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = list(reader)
    if not rows:
        raise InputFileError(path, f"empty file: expected the header {', '.join(COLUMNS)}", row=1)
    header = [cell.strip().lower() for cell in rows[0]]
    _check_header(header, path)
    out = []
    for number, cells in enumerate(rows[1:], start=2):
        if not any(str(c).strip() for c in cells):
            continue
        if len(cells) > len(header):
            raise InputFileError(path, f"{len(cells)} fields where the header has {len(header)}", row=number)
        out.append((number, dict(zip(header, cells + [""] * (len(header) - len(cells))))))
    return out


def _read_xlsx_rows(path: Path) -> list[tuple[int, dict]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=False, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a non-xlsx file
        raise InputFileError(path, f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
    sheet = book[SHEET_ANSWERS] if SHEET_ANSWERS in book.sheetnames else book.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    book.close()
    if not rows:
        raise InputFileError(path, f"empty sheet {sheet.title!r}: expected the header {', '.join(COLUMNS)}", row=1)
    header = [str(c).strip().lower() if c is not None else "" for c in rows[0]]
    while header and header[-1] == "":
        header.pop()
    _check_header(header, path)
    out = []
    for number, cells in enumerate(rows[1:], start=2):
        cells = list(cells)
        if not any(c is not None and str(c).strip() for c in cells):
            continue
        extra = [c for c in cells[len(header):] if c is not None and str(c).strip()]
        if extra:
            raise InputFileError(path, f"values beyond the {len(header)} columns of the header: {extra}", row=number)
        cells = cells[:len(header)] + [None] * (len(header) - len(cells))
        out.append((number, dict(zip(header, cells))))
    return out


def _check_header(header: list[str], path: Path) -> None:
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s) {', '.join(repr(c) for c in unknown)}")
        if len(set(header)) != len(header):
            parts.append("duplicated column(s)")
        raise InputFileError(path, "; ".join(parts) + f"; expected exactly: {', '.join(COLUMNS)}", row=1)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", " ", text.replace("’", "'")).strip()


_AREA_LOOKUP = {**{_fold(a): a for a in FOCUS_AREAS},
                **{_fold(label): area for lang in ("it", "en") for area, label in FOCUS_AREA_LABELS[lang].items()}}


def _focus_area(value, path: Path, row: int) -> str:
    text = _text(value)
    area = _AREA_LOOKUP.get(_fold(text))
    if area is None:
        candidates = "; ".join(f"{a} ({FOCUS_AREA_LABELS['it'][a]})" for a in FOCUS_AREAS)
        raise InputFileError(path, f"unknown focus area {text!r}; candidates: {candidates}", row=row,
                             column="focus_area")
    return area


def _priority(value, path: Path, row: int) -> int:
    text = _text(value)
    try:
        number = float(text.replace(",", "."))
    except ValueError:
        number = None
    if number is None or not number.is_integer() or not PRIORITY_MIN <= number <= PRIORITY_MAX:
        raise InputFileError(path, f"priority must be an integer from {PRIORITY_MIN} to {PRIORITY_MAX} "
                                   f"(5 = highest), got {text!r}", row=row, column="priority")
    return int(number)


def _date(value, path: Path, row: int):
    if value is None or _text(value) == "":
        return pd.NaT
    if isinstance(value, datetime):
        return pd.Timestamp(value).normalize()
    if isinstance(value, date):
        return pd.Timestamp(value)
    text = _text(value)
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S"):
        try:
            return pd.Timestamp(datetime.strptime(text, pattern)).normalize()
        except ValueError:
            continue
    raise InputFileError(path, f"date {text!r} is not a date in the form AAAA-MM-GG or GG/MM/AAAA", row=row,
                         column="date")


def load(path: str | Path, *, municipalities: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read and validate a filled-in questionnaire (``.csv`` or ``.xlsx``).

    Parameters
    ----------
    path : path
        The template, filled in: CSV (UTF-8 or Windows-1252, ``,`` or ``;``)
        or the Excel variant (sheet ``questionario``).
    municipalities : DataFrame, optional
        Municipal list for the resolver (default: the current ISTAT list).

    Returns
    -------
    DataFrame
        One row per answer: ``istat_code``, ``city`` (official name),
        ``focus_area`` (id), ``priority`` (Int64, 1-5), ``need``,
        ``respondent_role`` (text), ``date`` (datetime, NaT when empty) and
        ``row`` (line in the file). Empty when the file has a header only.

    Raises
    ------
    NameResolutionError
        Unknown or ambiguous city: the resolver's error (with its candidates),
        located by file and row.
    InputFileError
        Bad header, focus area (lists the candidates), priority outside 1-5 or
        bad date: names the row and the column.
    """
    from cocity_analysis.sources import registry

    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found")
    rows = _read_xlsx_rows(path) if path.suffix.lower() in (".xlsx", ".xlsm") else _read_csv_rows(path)
    records = []
    resolved: dict[str, tuple[str, str]] = {}
    for number, cells in rows:
        city = _text(cells.get("city"))
        if not city:
            raise InputFileError(path, "city is empty", row=number, column="city")
        if city not in resolved:
            try:
                found = registry.resolve([city], municipalities=municipalities).iloc[0]
            except NameResolutionError as error:
                raise QuestionnaireCityError(error, path, number) from error
            resolved[city] = (found["istat_code"], found["name"])
        code, name = resolved[city]
        records.append({
            "istat_code": code, "city": name,
            "focus_area": _focus_area(cells.get("focus_area"), path, number),
            "priority": _priority(cells.get("priority"), path, number),
            "need": _text(cells.get("need")), "respondent_role": _text(cells.get("respondent_role")),
            "date": _date(cells.get("date"), path, number), "row": number,
        })
    frame = pd.DataFrame(records, columns=OUTPUT_COLUMNS)
    frame["priority"] = frame["priority"].astype("Int64")
    frame["row"] = frame["row"].astype("int64")
    frame["date"] = pd.to_datetime(frame["date"])
    for column in ("istat_code", "city", "focus_area", "need", "respondent_role"):
        frame[column] = frame[column].astype("string")
    return frame


# --------------------------------------------------------------------------- analysis


def matrix(stated: pd.DataFrame, cities: Iterable[str] | pd.DataFrame | pd.Index | None = None) -> pd.DataFrame:
    """Cities x focus areas: mean stated priority (1-5), missing where the city gave no answer.

    Parameters
    ----------
    stated : DataFrame
        From :func:`load` (or ``stated_priorities.parquet``).
    cities : iterable of codes, Index or DataFrame indexed by code, optional
        Rows to show (e.g. ``cities.parquet``: the 39, in that order). Default:
        the cities that answered.

    Returns
    -------
    DataFrame
        Indexed by ``istat_code``, one float column per focus area in the fixed
        order of :data:`cocity_analysis.FOCUS_AREAS`.
    """
    if len(stated):
        table = stated.assign(priority=stated["priority"].astype("float64")).pivot_table(
            index="istat_code", columns="focus_area", values="priority", aggfunc="mean")
    else:
        table = pd.DataFrame(index=pd.Index([], name="istat_code"))
    table = table.reindex(columns=list(FOCUS_AREAS)).astype("float64")
    if cities is not None:
        index = cities.index if isinstance(cities, pd.DataFrame) else pd.Index(list(cities))
        table = table.reindex(index)
    table.index = pd.Index([str(c) for c in table.index], name="istat_code")
    table.columns.name = None
    return table


def compare(stated: pd.DataFrame, priorities: pd.DataFrame) -> pd.DataFrame:
    """Stated vs data-driven priority, per city and focus area; large gaps flagged.

    Parameters
    ----------
    stated : DataFrame
        From :func:`load`.
    priorities : DataFrame
        ``priorities.parquet``: ``istat_code``, ``focus_area``, ``rank``, ``score``.

    Returns
    -------
    DataFrame
        One row per city (that answered) and focus area: ``istat_code``,
        ``focus_area``, ``stated_priority`` (mean, 1-5), ``responses``,
        ``stated_rank`` (1 = highest among the areas the city answered; ties
        averaged), ``data_rank`` and ``data_score`` (from ``priorities``),
        ``gap`` (``stated_rank - data_rank``), ``large_gap`` (``|gap| >=``
        :data:`LARGE_GAP`) and ``note`` (Italian, for large gaps).
    """
    columns = ["istat_code", "focus_area", "stated_priority", "responses", "stated_rank", "data_rank",
               "data_score", "gap", "large_gap", "note"]
    if not len(stated):
        return pd.DataFrame(columns=columns)
    grouped = (stated.assign(priority=stated["priority"].astype("float64"))
               .groupby(["istat_code", "focus_area"], observed=True)["priority"]
               .agg(stated_priority="mean", responses="size").reset_index())
    grouped["istat_code"] = grouped["istat_code"].astype(str)
    grouped["focus_area"] = grouped["focus_area"].astype(str)
    grouped["stated_rank"] = grouped.groupby("istat_code")["stated_priority"].rank(ascending=False, method="average")
    data = priorities[["istat_code", "focus_area", "rank", "score"]].rename(
        columns={"rank": "data_rank", "score": "data_score"}).astype({"istat_code": str, "focus_area": str})
    out = grouped.merge(data, on=["istat_code", "focus_area"], how="left")
    out["data_rank"] = pd.to_numeric(out["data_rank"], errors="coerce").astype("float64")
    out["gap"] = out["stated_rank"] - out["data_rank"]
    out["large_gap"] = (out["gap"].abs() >= LARGE_GAP).fillna(False).astype(bool)
    out["note"] = None
    higher = out["large_gap"] & (out["gap"] < 0)
    lower = out["large_gap"] & (out["gap"] > 0)
    out.loc[higher, "note"] = "la città la mette più in alto di quanto indichino i dati"
    out.loc[lower, "note"] = "i dati la indicano più in alto di quanto dichiari la città"
    out["responses"] = out["responses"].astype("int64")
    order = {area: i for i, area in enumerate(FOCUS_AREAS)}
    out = out.assign(_o=out["focus_area"].map(order)).sort_values(["istat_code", "_o"]).drop(columns="_o")
    return out[columns].reset_index(drop=True)


# --------------------------------------------------------------------------- files


def write_stated(stated: pd.DataFrame, processed_dir: str | Path) -> Path | None:
    """Write ``stated_priorities.parquet`` atomically; nothing (None) when there is no answer."""
    if not len(stated):
        return None
    return write_parquet_atomic(Path(processed_dir) / STATED_FILE, stated.reset_index(drop=True))


@dataclass(frozen=True)
class Templates:
    csv: Path
    xlsx: Path


def write_templates(csv_path: str | Path = TEMPLATE_CSV, xlsx_path: str | Path = TEMPLATE_XLSX) -> Templates:
    """(Re)write the empty templates: the CSV header, and the Excel workbook with instructions.

    The workbook has a ``questionario`` sheet with the header only and an
    ``istruzioni`` sheet with the instructions in Italian and the allowed focus
    area ids and labels. No answer is written: the templates stay empty.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    csv_path, xlsx_path = Path(csv_path), Path(xlsx_path)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    csv_path.write_text(",".join(COLUMNS) + "\n", encoding="utf-8")

    book = Workbook()
    sheet = book.active
    sheet.title = SHEET_ANSWERS
    sheet.append(list(COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDEF", (28, 18, 10, 60, 28, 14)):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    info = book.create_sheet(SHEET_INSTRUCTIONS)
    info.append(["Istruzioni"])
    info["A1"].font = Font(bold=True)
    for line in INSTRUCTIONS_IT:
        info.append([line])
    info.append([])
    info.append(["focus_area (identificativo)", "area di intervento"])
    info.cell(row=info.max_row, column=1).font = Font(bold=True)
    info.cell(row=info.max_row, column=2).font = Font(bold=True)
    for area in FOCUS_AREAS:
        info.append([area, FOCUS_AREA_LABELS["it"][area]])
    info.append([])
    info.append(["priority", "significato"])
    info.cell(row=info.max_row, column=1).font = Font(bold=True)
    info.cell(row=info.max_row, column=2).font = Font(bold=True)
    for value, meaning in ((5, "priorità massima"), (4, "alta"), (3, "media"), (2, "bassa"), (1, "priorità minima")):
        info.append([value, meaning])
    info.column_dimensions["A"].width = 30
    info.column_dimensions["B"].width = 80
    book.properties.creator = "cocity-analysis"
    xlsx_path.parent.mkdir(parents=True, exist_ok=True)
    book.save(xlsx_path)
    return Templates(csv=csv_path, xlsx=xlsx_path)
