"""MEF municipal income statistics ("Redditi e principali variabili IRPEF su base comunale").

The Dipartimento delle Finanze publishes, for every tax year, one zip holding
one ``;``-separated CSV with a row per municipality (as it existed in that tax
year). :func:`load` turns it into one row per *today's* municipality:

* text is read as UTF-8 when it is valid UTF-8, otherwise as Latin-1
  (Windows-1252); anything else (UTF-16, binary) is refused;
* columns are found by their normalised header text (lower case, no accents,
  apostrophes or repeated spaces) matched against patterns, because the
  publisher's wording changes between years; a required column that is not
  found, or found twice, is an error listing the columns that are there;
* the trailing ``;`` of every row (one field more than the header) is ignored;
* codes are padded to 6 characters (``28001`` -> ``028001``);
* the publisher's final row (code ``0``, "Mancante/errata": declarations with a
  missing or wrong municipality) is excluded and reported;
* empty cells are missing values (``<NA>``), never 0;
* municipalities merged after the tax year are summed into today's
  municipality through ISTAT's file of municipal changes;
* codes that are neither current nor in that table are excluded and reported.

Every taxpayer read is accounted for: see :class:`MefLoadReport`.

**Sums with suppressed cells.** The publisher leaves a cell empty when the value
is suppressed (typically a band with very few taxpayers). A sum over cells one
of which is missing is unknown, so both ``total_income_eur`` (sum of the 8
income-band amounts) and the sums of merged municipalities are ``<NA>`` as soon
as one addend is missing (an all-missing sum is of course missing too). Adding
the known cells only would understate the total without saying so.
"""

from __future__ import annotations

import csv
import io
import operator
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cocity_analysis import config
from cocity_analysis.errors import CocityError, InputFileError
from cocity_analysis.sources import changes as municipal_changes
from cocity_analysis.sources.cleaning import as_list

if TYPE_CHECKING:  # imported where a download starts
    import requests


BANDS = {
    "le_0": r"(?:minore o uguale a|inferiore o uguale a|fino a) (?:zero|0)",
    "0_10k": r"(?:da )?(?:oltre )?(?:0|zero) (?:a|fino a) 10000",
    "10_15k": r"(?:da )?(?:oltre )?10000 (?:a|fino a) 15000",
    "15_26k": r"(?:da )?(?:oltre )?15000 (?:a|fino a) 26000",
    "26_55k": r"(?:da )?(?:oltre )?26000 (?:a|fino a) 55000",
    "55_75k": r"(?:da )?(?:oltre )?55000 (?:a|fino a) 75000",
    "75_120k": r"(?:da )?(?:oltre )?75000 (?:a|fino a) 120000",
    "over_120k": r"(?:oltre|superiore a|maggiore di|piu di) 120000",
}
BAND_COUNT_COLUMNS = [
    "taxpayers_income_le_0",
    "taxpayers_income_0_10k",
    "taxpayers_income_10_15k",
    "taxpayers_income_15_26k",
    "taxpayers_income_26_55k",
    "taxpayers_income_55_75k",
    "taxpayers_income_75_120k",
    "taxpayers_income_over_120k",
]
BAND_AMOUNT_COLUMNS = [f"income_{band}_eur" for band in BANDS]
OUTPUT_COLUMNS = [
    "tax_year",
    "taxpayers",
    "taxable_income_eur",
    "total_income_eur",
    *BAND_COUNT_COLUMNS,
    "employee_income_taxpayers",
    "pension_income_taxpayers",
    "property_income_taxpayers",
]
# Not asked by the loader's contract but needed downstream: the ``<= 0`` band is the one the
# publisher suppresses most often (its amount is <= 0 by definition), so the indicators can use
# the 7 positive bands, flagged as a treatment, where ``total_income_eur`` is unknown.
EXTRA_COLUMNS = ["income_positive_bands_eur"]

_FREQ = r"(?:frequenza|numero)"
_AMOUNT = r"(?:ammontare|importo)(?: in euro)?"
_BAND_PREFIX = r"(?:classe di )?reddito complessivo(?: in euro)?"


@dataclass(frozen=True)
class _Field:
    """A column to find in the file: internal name, header pattern, kind, label for messages."""

    name: str
    pattern: str
    kind: str  # "year", "code", "text", "count", "amount"
    label: str
    required: bool = True


FIELDS: tuple[_Field, ...] = (
    _Field("tax_year", r"anno(?: di)? (?:d )?imposta", "year", "Anno di imposta"),
    _Field("istat_code", r"codice istat(?: del)?(?: comune)?|codice comune istat", "code",
           "Codice Istat Comune"),
    _Field("name", r"denominazione(?: del)?(?: comune)?|(?:nome )?(?:del )?comune", "text",
           "Denominazione Comune"),
    _Field("region", r"(?:denominazione |nome )?regione", "text", "Regione", required=False),
    _Field("taxpayers", r"(?:numero|n)(?: dei| di)? contribuenti|contribuenti", "count",
           "Numero contribuenti"),
    _Field("taxable_income_eur", rf"reddito imponibile {_AMOUNT}", "amount",
           "Reddito imponibile - Ammontare in euro"),
    *(
        _Field(count, rf"{_BAND_PREFIX} {body}(?: euro)? {_FREQ}", "count",
               f"Reddito complessivo {band} - Frequenza")
        for (band, body), count in zip(BANDS.items(), BAND_COUNT_COLUMNS)
    ),
    *(
        _Field(amount, rf"{_BAND_PREFIX} {body}(?: euro)? {_AMOUNT}", "amount",
               f"Reddito complessivo {band} - Ammontare in euro")
        for (band, body), amount in zip(BANDS.items(), BAND_AMOUNT_COLUMNS)
    ),
    _Field("employee_income_taxpayers", rf"reddito da lavoro dipendente(?: e assimilati)? {_FREQ}", "count",
           "Reddito da lavoro dipendente e assimilati - Frequenza"),
    _Field("pension_income_taxpayers", rf"reddito da pensione(?: e assimilati)? {_FREQ}", "count",
           "Reddito da pensione - Frequenza"),
    _Field("property_income_taxpayers", rf"reddito (?:da|dei) fabbricati {_FREQ}", "count",
           "Reddito da fabbricati - Frequenza"),
)
NUMERIC_FIELDS = [f.name for f in FIELDS if f.kind in ("count", "amount")]

TRAILER_REASON = "publisher's row for declarations with a missing or wrong municipality (code 0)"
UNMATCHED_REASON = "code is neither a current municipality nor in the table of municipal changes"


class ConservationError(CocityError):
    """Taxpayers read and taxpayers accounted for do not add up (a bug, not an input problem)."""


# --------------------------------------------------------------------------- report


@dataclass
class MefLoadReport:
    """Everything :func:`load` read, kept, merged and excluded.

    The identity ``taxpayers_in == taxpayers_out + taxpayers_excluded +
    taxpayers_unresolved`` holds for every load (see :meth:`check_conservation`).
    All taxpayer totals count known values only; ``taxpayers_unresolved`` are
    the known taxpayers of rows merged into a municipality whose total is
    missing because another of its rows has no taxpayer count (0 for the MEF
    files seen so far).

    Attributes
    ----------
    source_file : str
        File read (``archive.zip::member.csv`` for a zip).
    encoding : str
        ``"utf-8"`` or ``"latin-1"`` (decoded as Windows-1252, its superset).
    tax_year : int
        The year in the file's tax year column.
    columns : dict
        Internal name -> header text found in the file.
    rows_read : int
        Data rows (not counting the header), including the trailer row.
    rows_kept : int
        Data rows that went into the result (``rows_read - len(excluded)``).
    rows_out : int
        Rows of the result (today's municipalities).
    taxpayers_in, taxpayers_out, taxpayers_unresolved : int
        Known taxpayers in all data rows, in the result, and lost to missing sums.
    excluded : DataFrame
        ``line, code, name, taxpayers, reason``: trailer row and unmatched codes.
    merged : DataFrame
        ``line, old_code, old_name, new_code, new_name, taxpayers``: rows summed
        into today's municipality.
    unmatched : DataFrame
        The excluded rows whose code is unknown (subset of ``excluded``).
    total_income_missing : int
        Result rows whose ``total_income_eur`` is missing (a band amount suppressed).
    """

    source_file: str
    encoding: str
    tax_year: int
    columns: dict[str, str]
    rows_read: int
    rows_kept: int
    rows_out: int
    taxpayers_in: int
    taxpayers_out: int
    taxpayers_unresolved: int
    excluded: pd.DataFrame
    merged: pd.DataFrame
    unmatched: pd.DataFrame
    total_income_missing: int
    current_codes_given: bool = field(default=False)

    @property
    def taxpayers_excluded(self) -> int:
        """Known taxpayers of the excluded rows."""
        return int(self.excluded["taxpayers"].sum())

    def check_conservation(self) -> None:
        """Raise :class:`ConservationError` unless every row and taxpayer read is accounted for.

        Examples
        --------
        >>> frame, report = load(path, return_report=True)  # doctest: +SKIP
        >>> report.check_conservation()  # doctest: +SKIP
        """
        problems = []
        accounted = self.taxpayers_out + self.taxpayers_excluded + self.taxpayers_unresolved
        if self.taxpayers_in != accounted:
            problems.append(
                f"taxpayers in {self.taxpayers_in} != out {self.taxpayers_out} + excluded "
                f"{self.taxpayers_excluded} + unresolved {self.taxpayers_unresolved} (= {accounted})")
        if self.rows_read != self.rows_kept + len(self.excluded):
            problems.append(f"rows read {self.rows_read} != kept {self.rows_kept} + excluded {len(self.excluded)}")
        if self.rows_out > self.rows_kept:
            problems.append(f"more rows out ({self.rows_out}) than rows kept ({self.rows_kept})")
        if problems:
            raise ConservationError(f"{self.source_file}: " + "; ".join(problems))

    def to_dict(self) -> dict:
        """Plain JSON-ready summary (for provenance files and reports)."""

        def records(frame: pd.DataFrame) -> list[dict]:
            return [
                {key: (None if pd.isna(value) else value.item() if hasattr(value, "item") else value)
                 for key, value in row.items()}
                for row in frame.to_dict(orient="records")
            ]

        return {
            "source_file": self.source_file,
            "encoding": self.encoding,
            "tax_year": self.tax_year,
            "columns": dict(self.columns),
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "rows_out": self.rows_out,
            "taxpayers_in": self.taxpayers_in,
            "taxpayers_out": self.taxpayers_out,
            "taxpayers_excluded": self.taxpayers_excluded,
            "taxpayers_unresolved": self.taxpayers_unresolved,
            "total_income_missing": self.total_income_missing,
            "excluded": records(self.excluded),
            "merged": records(self.merged),
            "unmatched": records(self.unmatched),
        }


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _Source:
    """Where the rows come from, for error messages."""

    label: str
    encoding: str
    header: tuple[str, ...]
    columns: dict[str, str]  # internal name -> header text


def normalise_header(text: str) -> str:
    """Header text reduced for matching: lower case, no accents, apostrophes or extra spaces.

    Thousands separators inside numbers are dropped and punctuation becomes a space.

    Examples
    --------
    >>> normalise_header("Reddito di spettanza dell'imprenditore in contabilita'  ordinaria - Frequenza")
    'reddito di spettanza dellimprenditore in contabilita ordinaria frequenza'
    >>> normalise_header("Reddito complessivo da 10.000 a 15.000 € - Ammontare")
    'reddito complessivo da 10000 a 15000 ammontare'
    """
    text = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in text if not unicodedata.combining(char)).lower()
    text = re.sub(r"['’`´]", "", text)
    text = re.sub(r"(?<=\d)[.\s](?=\d{3}(?!\d))", "", text)
    text = re.sub(r"[^0-9a-z<>=]+", " ", text)
    return " ".join(text.split())


def _read_bytes(path: Path) -> tuple[bytes, str]:
    """Bytes of the CSV (the only CSV inside a zip) and a label naming it."""
    if not path.is_file():
        raise InputFileError(path, "file not found")
    if not zipfile.is_zipfile(path):
        if path.suffix.lower() == ".zip":
            raise InputFileError(path, "not a valid zip archive (damaged or incomplete download?)")
        return path.read_bytes(), str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            entries = [info for info in archive.infolist() if not info.is_dir()]
            csvs = [info for info in entries
                    if info.filename.lower().endswith(".csv") and not info.filename.startswith("__MACOSX/")]
            if len(csvs) != 1:
                listing = ", ".join(info.filename for info in entries) or "nothing"
                raise InputFileError(path, f"the zip must hold exactly one CSV file, it holds {len(csvs)} "
                                           f"(entries: {listing})")
            return archive.read(csvs[0]), f"{path}::{csvs[0].filename}"
    except zipfile.BadZipFile as exc:
        raise InputFileError(path, f"damaged zip archive ({exc})") from None


def _locate(data: bytes, position: int) -> tuple[int, str]:
    """Line (1-based) and column name (from the header line) of a byte position."""
    line = data.count(b"\n", 0, position) + 1
    start = data.rfind(b"\n", 0, position) + 1
    field_index = data.count(b";", start, position)
    first_line = data.split(b"\n", 1)[0]
    for mark in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        first_line = first_line.removeprefix(mark)
    header_names = first_line.replace(b"\x00", b"").decode("latin-1").split(";")
    name = header_names[field_index].strip() if field_index < len(header_names) else ""
    if not name or len(name) > 100 or not name.isprintable():
        name = f"field {field_index + 1}"
    return line, name


def _decode(data: bytes, label: str) -> tuple[str, str]:
    """Text of the file: strict UTF-8, else Latin-1 (as Windows-1252); refuse anything else."""
    if not data.strip():
        raise InputFileError(label, "file is empty (expected the header on line 1)", row=1)
    nul = data.find(b"\x00")
    if nul >= 0:
        line, column = _locate(data, nul)
        raise InputFileError(label, "contains NUL bytes: this is UTF-16 or binary data, not UTF-8 or "
                                    "Latin-1 text; save the file as a UTF-8 or Latin-1 CSV",
                             row=line, column=column)
    try:
        text, encoding = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        try:
            text, encoding = data.decode("cp1252"), "latin-1"
        except UnicodeDecodeError as exc:
            line, column = _locate(data, exc.start)
            raise InputFileError(label, f"byte 0x{data[exc.start]:02x} is neither UTF-8 nor Latin-1 text; "
                                        "save the file as a UTF-8 or Latin-1 CSV",
                                 row=line, column=column) from None
    control = re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", text)
    if control:
        position = len(text[: control.start()].encode(encoding if encoding == "utf-8" else "cp1252"))
        line, column = _locate(data, position)
        raise InputFileError(label, f"control character {control.group()!r} in the text: not a UTF-8 or "
                                    "Latin-1 CSV (binary data?)", row=line, column=column)
    return text.removeprefix("\ufeff"), encoding


def _match_columns(header: list[str], label: str) -> dict[str, str]:
    """Map each field to exactly one header; report every missing field in one error."""
    normalised = [normalise_header(name) for name in header]
    found, missing = {}, []
    for spec in FIELDS:
        hits = [name for name, norm in zip(header, normalised) if re.fullmatch(spec.pattern, norm)]
        if len(hits) > 1:
            raise InputFileError(label, f"{len(hits)} columns match {spec.label!r}: {hits}; "
                                        "cannot tell which one to use", row=1, column=hits[1])
        if hits:
            found[spec.name] = hits[0]
        elif spec.required:
            missing.append(spec.label)
    if missing:
        present = "; ".join(repr(name) for name in header if name.strip()) or "none"
        hint = " (is the file ';'-separated?)" if len(header) == 1 else ""
        raise InputFileError(
            label,
            f"required column(s) not found{hint}: {'; '.join(repr(m) for m in missing)}. "
            f"Columns in the file: {present}",
            row=1, column=missing[0])
    return found


def _parse_table(text: str, label: str, encoding: str) -> tuple[pd.DataFrame, _Source]:
    """Needed columns as stripped strings, indexed by the 1-based line number of each row."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    try:
        header = next((row for row in reader if any(value.strip() for value in row)), None)
        if header is None:
            raise InputFileError(label, "file is empty (expected the header on line 1)", row=1)
        header_line = reader.line_num
        while header and not header[-1].strip():
            header = header[:-1]
        header = [name.strip() for name in header]
        columns = _match_columns(header, label)
        positions = {name: header.index(text_) for name, text_ in columns.items()}
        width = len(header)
        pick = operator.itemgetter(*positions.values())
        picked: list[tuple] = []
        lines: list[int] = []
        for row in reader:
            # "".join(...).strip() is empty exactly when every cell is blank (C speed, ~8,000 rows)
            if not "".join(row).strip():
                continue
            if len(row) < width or "".join(row[width:]).strip():
                raise InputFileError(label, f"row has {len(row)} fields but the header has {width} "
                                            "(plus an optional empty one)", row=reader.line_num,
                                     column=header[min(len(row), width) - 1])
            picked.append(pick(row))
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise InputFileError(label, f"cannot parse the CSV ({exc})", row=reader.line_num) from None
    if not lines:
        raise InputFileError(label, "no data rows after the header", row=header_line + 1)
    if len(positions) == 1:
        picked = [(value,) for value in picked]
    raw = pd.DataFrame(picked, columns=list(positions), index=pd.Index(lines, name="line"), dtype="str")
    frame = pd.DataFrame({name: raw[name].str.strip() for name in positions}, index=raw.index)
    return frame, _Source(label, encoding, tuple(header), columns)


# --------------------------------------------------------------------------- cleaning steps


def _pad_codes(frame: pd.DataFrame, source: _Source) -> pd.DataFrame:
    """Codes to 6-character strings; flag the publisher's trailer row (code 0 or empty + 'mancante')."""
    codes = frame["istat_code"]
    text = frame["name"] + " " + (frame["region"] if "region" in frame else "")
    says_missing = text.str.contains(r"mancante|errat", case=False, regex=True)
    digits = codes.str.fullmatch(r"\d{1,6}")
    trailer = (digits & codes.str.fullmatch(r"0+")) | ((codes == "") & says_missing)
    bad = ~digits & ~trailer
    if bad.any():
        line = bad[bad].index[0]
        value = codes[line]
        reason = "is empty" if value == "" else "is not a number of up to 6 digits"
        raise InputFileError(source.label, f"ISTAT code {value!r} {reason}", row=int(line),
                             column=source.columns["istat_code"])
    return frame.assign(istat_code=codes.where(trailer, codes.str.zfill(6)), is_trailer=trailer)


def _check_duplicates(frame: pd.DataFrame, source: _Source) -> pd.DataFrame:
    """A municipality code may appear once (after padding, before merging)."""
    codes = frame.loc[~frame["is_trailer"], "istat_code"]
    duplicated = codes.duplicated(keep="first")
    if duplicated.any():
        line = duplicated[duplicated].index[0]
        first = codes.index[codes == codes[line]][0]
        raise InputFileError(source.label, f"ISTAT code {codes[line]} appears twice (lines {first} and {line})",
                             row=int(line), column=source.columns["istat_code"])
    return frame


def _to_int(values: pd.Series, name: str, source: _Source) -> pd.Series:
    """Whole numbers to Int64; empty cell -> <NA>; anything else is an error naming row and column."""
    empty = values == ""
    valid = values.str.fullmatch(r"[+-]?\d+")
    bad = ~empty & ~valid
    if bad.any():
        line = bad[bad].index[0]
        raise InputFileError(source.label, f"{values[line]!r} is not a whole number (expected digits, "
                                           "or an empty cell for a missing value)",
                             row=int(line), column=source.columns[name])
    # Validated digits: parse them in one vectorised step (no Python loop over ~8,000 rows).
    numbers = np.zeros(len(values), dtype="int64")
    filled = ~empty.to_numpy(dtype=bool)
    if filled.any():
        numbers[filled] = _parse_digits(values[filled])
    return pd.Series(pd.arrays.IntegerArray(numbers, ~filled), index=values.index, name=name)


def _parse_digits(values: pd.Series) -> np.ndarray:
    """Validated whole numbers (``[+-]?\\d+``) to int64: Arrow's parser (a tenth of the time of one
    Python ``int`` per cell), or ``astype`` for what it declines (a ``+`` sign, non-ASCII digits)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        return pc.cast(pa.array(values.array), pa.int64()).to_numpy()
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return values.astype("int64").to_numpy()


def _parse_numbers(frame: pd.DataFrame, source: _Source) -> pd.DataFrame:
    """Counts and amounts to nullable Int64; the tax year to a single int."""
    years = _to_int(frame["tax_year"], "tax_year", source)
    if years.isna().any():
        line = years[years.isna()].index[0]
        raise InputFileError(source.label, "tax year is empty", row=int(line), column=source.columns["tax_year"])
    if years.nunique() != 1:
        line = years[years != years.iloc[0]].index[0]
        raise InputFileError(source.label, f"the file mixes tax years {sorted(years.unique().tolist())}",
                             row=int(line), column=source.columns["tax_year"])
    numbers = {name: _to_int(frame[name], name, source) for name in NUMERIC_FIELDS}
    return frame.assign(tax_year=years.astype("int64"), **numbers)


def _sum_strict(frame: pd.DataFrame) -> pd.Series:
    """Row sum that is <NA> as soon as one addend is missing."""
    return frame.sum(axis=1, skipna=False).astype("Int64")


def _add_total_income(frame: pd.DataFrame) -> pd.DataFrame:
    """``total_income_eur``: sum of the 8 income-band amounts (missing if one is suppressed)."""
    return frame.assign(total_income_eur=_sum_strict(frame[BAND_AMOUNT_COLUMNS]),
                        income_positive_bands_eur=_sum_strict(frame[BAND_AMOUNT_COLUMNS[1:]]))


def _display_name(frame: pd.DataFrame) -> pd.Series:
    """Name to show in reports: the municipality, or the region field when the name is '0' (trailer)."""
    name = frame["name"]
    if "region" not in frame:
        return name
    return name.where(~name.isin(["", "0"]), frame["region"])


def _group_sum_strict(values: pd.DataFrame, key: pd.Series) -> pd.DataFrame:
    """Sum rows sharing ``key``; a group with any missing addend is <NA> in that column."""
    summed = values.groupby(key, sort=True).sum(min_count=1)
    any_missing = values.isna().groupby(key, sort=True).any()
    return summed.mask(any_missing)


def _normalise_current(codes: Iterable) -> set[str]:
    """Caller's list of today's codes as 6-character strings."""
    codes = as_list(codes)
    texts = pd.Series([str(code) for code in codes], dtype="str").str.strip()
    valid = texts.str.fullmatch(r"\d{1,6}").to_numpy(dtype=bool)
    if not valid.all():
        raise ValueError(f"current code {codes[int(np.argmin(valid))]!r} is not an ISTAT municipality code")
    return set(texts.str.zfill(6))


# --------------------------------------------------------------------------- public API


def load(
    path: str | Path,
    *,
    current_codes: Iterable[str] | None = None,
    changes: pd.DataFrame | None = None,
    return_report: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, MefLoadReport]:
    """Load one MEF municipal IRPEF file into one row per today's municipality.

    Parameters
    ----------
    path : str or Path
        The official zip (holding exactly one CSV) or the CSV itself.
    current_codes : iterable of str, optional
        Today's ISTAT municipality codes (e.g. the ISTAT list). Rows whose code
        (after following the changes table) is not in it are excluded and
        reported. When None, every code that is not an old code of the changes
        table counts as current.
    changes : DataFrame, optional
        Table of municipal changes as returned by
        :func:`cocity_analysis.sources.changes.load_changes`; by default ISTAT's
        file fetched into ``data/raw/istat_changes/``.
    return_report : bool
        Also return a :class:`MefLoadReport`.

    Returns
    -------
    DataFrame or (DataFrame, MefLoadReport)
        Indexed by ``istat_code`` (6-character string), sorted, with the columns
        of :data:`OUTPUT_COLUMNS`: ``tax_year`` (int64) and nullable Int64
        counts and euro amounts (<NA> where the publisher left a cell empty or a
        sum has a missing addend).

    Raises
    ------
    InputFileError
        With file, row and column, for: a file that is neither UTF-8 nor
        Latin-1, an empty file, a missing or ambiguous required column, a
        non-numeric value in a numeric column, a duplicated ISTAT code, a zip
        without exactly one CSV.

    Examples
    --------
    >>> frame, report = load("Redditi_..._CSV_2021.zip", return_report=True)  # doctest: +SKIP
    >>> "005122" in frame.index  # Moransengo + Tonengo, merged in today's municipality  # doctest: +SKIP
    True
    >>> report.excluded[["code", "name"]].iloc[0].tolist()  # doctest: +SKIP
    ['0', 'Mancante/errata']
    """
    data, label = _read_bytes(Path(path))
    text, encoding = _decode(data, label)
    raw, source = _parse_table(text, label, encoding)
    rows = (
        raw.pipe(_pad_codes, source)
        .pipe(_check_duplicates, source)
        .pipe(_parse_numbers, source)
        .pipe(_add_total_income)
        .assign(display_name=_display_name)
    )
    changes = municipal_changes.load_changes() if changes is None else changes
    current = None if current_codes is None else _normalise_current(current_codes)

    trailer = rows[rows["is_trailer"]]
    municipalities = rows[~rows["is_trailer"]]
    mapped, mapping_report = municipal_changes.to_current_codes(
        municipalities, "istat_code", changes, current_codes=current, new_column="current_istat_code")
    unmatched_mask = mapped["current_istat_code"].isna()
    kept = mapped[~unmatched_mask]
    unmatched = mapped[unmatched_mask]

    frame = (
        _group_sum_strict(kept[["taxpayers", "taxable_income_eur", "total_income_eur", *BAND_COUNT_COLUMNS,
                                "employee_income_taxpayers", "pension_income_taxpayers",
                                "property_income_taxpayers", *EXTRA_COLUMNS]],
                          kept["current_istat_code"].astype(str).rename("istat_code"))
        .assign(tax_year=int(rows["tax_year"].iloc[0]))
        .reindex(columns=OUTPUT_COLUMNS + EXTRA_COLUMNS)
    )
    frame.index = pd.Index(frame.index.astype(str), name="istat_code")
    frame = frame.sort_index()

    if not return_report:
        return frame
    report = _build_report(rows, trailer, unmatched, kept, mapping_report, frame, source)
    report.current_codes_given = current is not None
    report.check_conservation()
    return frame, report


def _build_report(rows: pd.DataFrame, trailer: pd.DataFrame, unmatched: pd.DataFrame, kept: pd.DataFrame,
                  mapping_report: pd.DataFrame, frame: pd.DataFrame, source: _Source) -> MefLoadReport:
    """Assemble the accounting of one load."""

    def excluded_rows(part: pd.DataFrame, reason) -> pd.DataFrame:
        return pd.DataFrame({
            "line": part.index.astype("int64"),
            "code": part["istat_code"].to_numpy(),
            "name": part["display_name"].to_numpy(),
            "taxpayers": part["taxpayers"].to_numpy(),
            "reason": reason if isinstance(reason, str) else reason.to_numpy(),
        })

    unmatched_reasons = mapping_report.loc[unmatched.index, "new_code"].map(
        lambda new: UNMATCHED_REASON if pd.isna(new) else
        f"code maps to {new} through the table of municipal changes, which is not a current municipality")
    excluded = pd.concat(
        [excluded_rows(trailer, TRAILER_REASON), excluded_rows(unmatched, unmatched_reasons)],
        ignore_index=True,
    ).astype({"taxpayers": "Int64", "line": "int64"})
    unmatched_frame = excluded.iloc[len(trailer):].reset_index(drop=True)

    changed = mapping_report[mapping_report["status"] == "changed"]
    merged = pd.DataFrame({
        "line": changed.index.astype("int64"),
        "old_code": changed["old_code"].to_numpy(),
        "old_name": changed["old_name"].to_numpy(),
        "file_name": kept.loc[changed.index, "display_name"].to_numpy(),
        "new_code": changed["new_code"].to_numpy(),
        "new_name": changed["new_name"].to_numpy(),
        "taxpayers": kept.loc[changed.index, "taxpayers"].to_numpy(),
    }).astype({"taxpayers": "Int64"})

    out_missing = frame.index[frame["taxpayers"].isna()]
    unresolved = int(kept.loc[kept["current_istat_code"].isin(out_missing), "taxpayers"].sum())
    return MefLoadReport(
        source_file=source.label,
        encoding=source.encoding,
        tax_year=int(rows["tax_year"].iloc[0]),
        columns=dict(source.columns),
        rows_read=len(rows),
        rows_kept=len(kept),
        rows_out=len(frame),
        taxpayers_in=int(rows["taxpayers"].sum()),
        taxpayers_out=int(frame["taxpayers"].sum()),
        taxpayers_unresolved=unresolved,
        excluded=excluded,
        merged=merged,
        unmatched=unmatched_frame,
        total_income_missing=int(frame["total_income_eur"].isna().sum()),
    )


def find_local(year: int, raw_dir: str | Path = config.MEF_RAW_DIR) -> Path | None:
    """Path of the MEF file for ``year`` in ``raw_dir`` (the official zip, else the CSV inside it), or None.

    Examples
    --------
    >>> find_local(2021, tmp_path)  # doctest: +SKIP
    None
    """
    for name in (config.mef_file_name(year), config.mef_csv_name(year)):
        candidate = Path(raw_dir) / name
        if candidate.is_file():
            return candidate
    return None


_FILE_YEAR = re.compile(r"^Redditi_e_principali_variabili_IRPEF_su_base_comunale_CSV_(\d{4})\.(zip|csv)$")


def find_all(raw_dir: str | Path = config.MEF_RAW_DIR) -> dict[int, Path]:
    """Every MEF file in ``raw_dir``, by tax year (the zip preferred to the CSV of the same year).

    Returns
    -------
    dict
        ``{tax year: path}`` sorted by year ({} when the folder is absent).

    Examples
    --------
    >>> sorted(find_all("data/raw/mef"))  # doctest: +SKIP
    [2018, 2020, 2021]
    """
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        return {}
    years = sorted({int(m.group(1)) for p in raw_dir.iterdir() if p.is_file() and (m := _FILE_YEAR.match(p.name))})
    return {year: find_local(year, raw_dir) for year in years}


def _check_zip(path: Path) -> str | None:
    """None when ``path`` is a readable zip, else a short description of what it is."""
    if not zipfile.is_zipfile(path):
        head = path.read_bytes()[:60]
        return f"not a zip archive (starts with {head!r})"
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except zipfile.BadZipFile as exc:
        return f"damaged zip archive ({exc})"
    return None if bad is None else f"damaged zip archive (member {bad} fails its CRC check)"


def _check_csv(path: Path, year: int) -> str | None:
    """None when ``path`` is the MEF CSV of tax year ``year`` (header and first row), else what is wrong."""
    if zipfile.is_zipfile(path):
        return "a zip archive, where the CSV inside the official zip was expected"
    data = path.read_bytes()
    try:
        text, _ = _decode(data, str(path))
        rows = csv.reader(io.StringIO(text[:20000], newline=""), delimiter=";")
        header = [name.strip() for name in next(rows, [])]
        columns = _match_columns(header, str(path))
        first = next(rows, None)
    except InputFileError as exc:
        where = ", ".join(part for part in (f"row {exc.row}" if exc.row else "",
                                            f"column {exc.column!r}" if exc.column else "") if part)
        return exc.reason + (f" ({where})" if where else "")
    if first is None:
        return "a CSV header without data rows"
    found = first[header.index(columns["tax_year"])].strip()
    if found != str(year):
        return f"the MEF file of tax year {found!r} (line 2), not {year}"
    return None


def _check(path: Path, year: int) -> str | None:
    """Check a fetched file by the name it is saved under (the temporary name ends in ``.csv.<random>.tmp``)."""
    name = path.name.lower()
    is_csv = name.endswith(".csv") or (name.endswith(".tmp") and ".csv." in name)
    return _check_csv(path, year) if is_csv else _check_zip(path)


def fetch(
    year: int,
    dest_dir: str | Path = config.MEF_RAW_DIR,
    *,
    mirror: str | Path | None = None,
    session: requests.Session | None = None,
    timeout: float = 60,
) -> dict:
    """Put the official MEF file for ``year`` in ``dest_dir`` and record where it came from.

    With a mirror (``mirror`` or the ``COCITY_DATA_MIRROR`` environment
    variable) the file is copied from ``<mirror>/mef/`` — the official zip
    (:func:`config.mef_file_name`) or, when the mirror holds that instead, the
    CSV inside it (:func:`config.mef_csv_name`, same bytes as the zip member) —
    and the network is never used (mirrors are for offline machines). Without
    one the zip is downloaded from :data:`config.MEF_URL_PATTERN`. Either way it
    is written atomically (never half-written) and checked (a readable zip, or
    a MEF CSV of that tax year), and ``dest_dir/provenance.json`` gets an entry
    for it.

    Parameters
    ----------
    year : int
        Tax year.
    dest_dir : str or Path
        Folder to write into (created if needed).
    mirror : str or Path, optional
        Mirror folder; overrides ``COCITY_DATA_MIRROR``.
    session : requests.Session, optional
        Session used for the download (tests pass a fake one).
    timeout : float
        Seconds to wait for the server.

    Returns
    -------
    dict
        The provenance entry: ``file``, ``year``, ``url``, ``mirror_path``
        (None when downloaded), ``sha256``, ``size``, ``retrieved_at`` (UTC, ISO 8601).

    Raises
    ------
    SourceUnavailableError
        When the mirror lacks the file, or the download fails or returns
        something that is not a zip; the message says what was tried and how
        to fix it.
    InputFileError
        When the mirror's file is not a valid zip, or not the MEF CSV of ``year``.

    Examples
    --------
    >>> entry = fetch(2021, mirror="/data/mirror")  # doctest: +SKIP
    >>> entry["file"]  # doctest: +SKIP
    'Redditi_e_principali_variabili_IRPEF_su_base_comunale_CSV_2021.zip'
    """
    from cocity_analysis.sources.fetching import fetch_file, http_download

    name = config.mef_file_name(year)
    url = config.MEF_URL_PATTERN.format(year=year)

    download = http_download(url, session, timeout)

    return fetch_file(source="mef", label=f"MEF {year}", names=[name, config.mef_csv_name(year)],
                      dest_dir=dest_dir, download=download, check=lambda path: _check(path, year),
                      mirror=mirror, how_to_get=f"download it from {url}",
                      extra={"year": int(year), "url": url}, url=url)


def fetch_newest(
    dest_dir: str | Path = config.MEF_RAW_DIR,
    *,
    mirror: str | Path | None = None,
    session: requests.Session | None = None,
    timeout: float = 60,
    first_year: int | None = None,
    last_year: int | None = None,
) -> dict:
    """Fetch the newest tax year the MEF has published (online), or the newest the mirror holds.

    Online, years are tried from ``last_year`` (default: the calendar year
    before this one, the earliest a tax year can be published) down to
    ``first_year`` (default :data:`config.MEF_DEFAULT_YEAR`); the first that
    downloads is kept. With a mirror, the newest year of ``<mirror>/mef/`` is
    copied.

    Returns
    -------
    dict
        The provenance entry of :func:`fetch`.

    Raises
    ------
    SourceUnavailableError
        When no year in the range could be fetched; the message lists the years tried.

    Examples
    --------
    >>> fetch_newest(mirror="/data/mirror")["year"]  # doctest: +SKIP
    2021
    """
    import datetime

    from cocity_analysis.errors import SourceUnavailableError
    from cocity_analysis.sources.fetching import mirror_dir

    folder = mirror_dir(mirror)
    if folder is not None:
        years = find_all(folder / "mef")
        if not years:
            raise SourceUnavailableError(
                f"MEF: the data mirror {folder} holds no MEF file in {folder / 'mef'} "
                f"({config.mef_file_name('YYYY')} or {config.mef_csv_name('YYYY')})")
        return fetch(max(years), dest_dir, mirror=folder, session=session, timeout=timeout)
    last = last_year if last_year is not None else datetime.date.today().year - 1
    first = first_year if first_year is not None else config.MEF_DEFAULT_YEAR
    errors = []
    for year in range(last, first - 1, -1):
        try:
            return fetch(year, dest_dir, session=session, timeout=timeout)
        except SourceUnavailableError as exc:
            errors.append(f"{year}: {exc}")
    raise SourceUnavailableError("MEF: no tax year between {} and {} could be downloaded ({})".format(
        first, last, "; ".join(errors)))


# --------------------------------------------------------------------------- several tax years

#: Columns of one tax year carried into the base table as ``mef<year>_<column>`` (every loaded year,
#: the newest included), so that indicators of change name the exact years they compare.
YEAR_COLUMNS = [column for column in OUTPUT_COLUMNS + EXTRA_COLUMNS if column != "tax_year"]
SOURCE = "MEF - Dipartimento delle Finanze"
DATASET = "Redditi e principali variabili IRPEF su base comunale"
#: Columns of :func:`income_series` (``income_series.parquet``).
SERIES_COLUMNS = ["istat_code", "year", "income_per_taxpayer", "share_taxpayers_le_10k", "taxpayers",
                  "income_per_taxpayer_is_bound", "share_taxpayers_le_10k_is_bound", "source", "dataset", "file"]


def year_source(year: int) -> str:
    """Source name of one MEF tax year in the catalogue's ``requires`` (``"mef_2018"``)."""
    return f"mef_{int(year)}"


def year_columns(year: int) -> list[str]:
    """Base-table columns of one tax year (``mef2018_taxpayers``, ...)."""
    return [f"mef{int(year)}_{column}" for column in YEAR_COLUMNS]


def with_year_prefix(frame: pd.DataFrame, year: int) -> pd.DataFrame:
    """The columns of :data:`YEAR_COLUMNS` of a :func:`load` result, renamed ``mef<year>_<column>``.

    Examples
    --------
    >>> frame = pd.DataFrame({c: [1] for c in YEAR_COLUMNS}, index=pd.Index(["077014"], name="istat_code"))
    >>> list(with_year_prefix(frame, 2018).columns)[:2]
    ['mef2018_taxpayers', 'mef2018_taxable_income_eur']
    """
    return frame[YEAR_COLUMNS].rename(columns=lambda column: f"mef{int(year)}_{column}")
