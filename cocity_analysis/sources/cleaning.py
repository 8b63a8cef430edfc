"""Small composable cleaning steps for official Italian tables, meant for ``DataFrame.pipe``.

Every frame function returns a new frame (the input is never modified) and
raises :class:`~cocity_analysis.errors.InputFileError` naming the file, the row
and the column of the first bad value. Missing values stay missing (NaN):
nothing is ever filled with 0.

Row numbers
-----------
Functions that report a row take ``first_line`` (default 2) and report
``index label + first_line``. With the default ``RangeIndex`` that
``pandas.read_csv`` gives a one-line-header file, label 0 is the first data
row, which is line 2 of the file (the header is line 1), so the reported row is
the line a text editor shows. Pass ``first_line=0`` when the index already holds
file line numbers. With a non-integer index the label itself is reported in the
message instead of a row number.

Examples
--------
>>> import pandas as pd
>>> raw = pd.DataFrame({"code": ["1001", "64008"], "income": ["1.234,5", ".."]})
>>> clean = raw.pipe(pad_codes, "code").pipe(parse_italian_numbers, ["income"])
>>> clean["code"].tolist(), clean["income"].tolist()
(['001001', '064008'], [1234.5, nan])
"""

from __future__ import annotations

import math
import numbers
import re
import unicodedata
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from cocity_analysis.errors import InputFileError

__all__ = [
    "MISSING_MARKERS",
    "normalise_name",
    "pad_codes",
    "parse_italian_number",
    "parse_italian_numbers",
    "replace_missing_markers",
]

#: Cell texts that ISTAT (and MEF) tables use for "no value", compared after stripping blanks.
#: ``-`` (phenomenon absent), ``..`` (not significant), ``...`` (not available), ``x``/``X``
#: (suppressed for confidentiality), ``:`` (not available, Eurostat style), ``n.d.``/``nd``.
#: They all become NaN, never 0.
MISSING_MARKERS = frozenset({"", "-", "..", "...", "x", "X", "n.d.", "nd", ":"})
_MISSING_MARKERS_CASELESS = frozenset({"n.d.", "nd"})

# Italian format: optional sign, digits with '.' thousands separators in groups of
# exactly three (or no separators at all), optional ',' decimal part.
_ITALIAN_NUMBER = re.compile(r"^(?P<sign>[+-]?)(?P<int>\d{1,3}(?:\.\d{3})+|\d+)(?:,(?P<dec>\d+))?$")
_INTEGER_CODE = re.compile(r"^\d+(?:\.0+)?$")

_APOSTROPHES = str.maketrans({c: "'" for c in "\u2019\u2018`\u00b4\u02bc\u02b9\u2032"})
_SEPARATORS = re.compile(r"[-\u2010\u2011\u2012\u2013\u2014\u2015\u2212']")
_BLANKS = re.compile(r"\s+")


def as_list(values: Iterable) -> list:
    """``values`` as a Python list: through ``tolist()`` for pandas and numpy objects.

    Iterating a pandas column of Arrow strings yields one element per call into pandas,
    about 20 times slower than ``tolist()``; loops over some 8,000 codes per source add up.

    Examples
    --------
    >>> as_list(pd.Series(["077014", "085007"], dtype="str"))
    ['077014', '085007']
    >>> as_list(code for code in ("077014",))
    ['077014']
    """
    tolist = getattr(values, "tolist", None)
    return tolist() if callable(tolist) else list(values)


def _is_missing_scalar(value) -> bool:
    """True for None, NaN, NA and NaT (anything pandas treats as a missing scalar)."""
    if value is None:
        return True
    try:
        result = pd.isna(value)
    except (TypeError, ValueError):
        return False
    return bool(result) if isinstance(result, (bool, np.bool_)) else False


def _is_missing_marker(text: str) -> bool:
    stripped = text.strip()
    return stripped in MISSING_MARKERS or stripped.lower() in _MISSING_MARKERS_CASELESS


def _parse(value) -> float:
    """Parse one value; raise ValueError with a short reason when it is not a number."""
    if _is_missing_scalar(value):
        return math.nan
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{value!r} is a boolean, not a number")
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isinf(number):
            raise ValueError(f"{value!r} is not a finite number")
        return number
    if not isinstance(value, str):
        raise ValueError(f"{value!r} ({type(value).__name__}) is not a number")
    text = value.strip()
    if _is_missing_marker(text):
        return math.nan
    match = _ITALIAN_NUMBER.match(text)
    if match is None:
        raise ValueError(
            f"{value!r} is not a number in Italian format (e.g. '1.234,5'; "
            f"missing markers: {', '.join(repr(m) for m in sorted(MISSING_MARKERS))})"
        )
    plain = match["sign"] + match["int"].replace(".", "")
    if match["dec"]:
        plain += "." + match["dec"]
    return float(plain)


def parse_italian_number(value) -> float:
    """Parse one number written in Italian format; missing markers give NaN.

    ``.`` separates thousands (in groups of exactly three digits) and ``,``
    separates decimals, so ``"1.5"`` is rejected rather than guessed. Numbers
    that are already numeric (int, float) are returned as float.

    Parameters
    ----------
    value : str, int, float or None
        The cell value. ``None``, NaN and the ISTAT missing markers
        (:data:`MISSING_MARKERS`, e.g. ``"-"``, ``".."``, ``"x"``, ``"n.d."``, ``""``)
        mean "no value".

    Returns
    -------
    float
        The number, or NaN for a missing value (never 0).

    Raises
    ------
    InputFileError
        When the value is not a number (without file context; use
        :func:`parse_italian_numbers` on a frame to get file, row and column).

    Examples
    --------
    >>> parse_italian_number("1.234,5")
    1234.5
    >>> parse_italian_number("1234")
    1234.0
    >>> parse_italian_number("-3,2")
    -3.2
    >>> parse_italian_number("1.234.567")
    1234567.0
    >>> parse_italian_number("..")
    nan
    >>> parse_italian_number(None)
    nan
    >>> parse_italian_number("12a")
    Traceback (most recent call last):
    ...
    cocity_analysis.errors.InputFileError: '12a' is not a number in Italian format ...
    """
    try:
        return _parse(value)
    except ValueError as exc:
        raise InputFileError(None, str(exc)) from None


def _as_column_list(frame: pd.DataFrame, columns, source) -> list:
    if columns is None:
        return list(frame.columns)
    if isinstance(columns, str) or not isinstance(columns, Iterable):
        columns = [columns]
    columns = list(columns)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputFileError(
            source,
            f"missing column(s) {', '.join(repr(c) for c in missing)}; "
            f"columns present: {', '.join(repr(c) for c in frame.columns)}",
            column=str(missing[0]),
        )
    return columns


def _row_of(label, first_line: int) -> int | None:
    if isinstance(label, (numbers.Integral, np.integer)) and not isinstance(label, (bool, np.bool_)):
        return int(label) + first_line
    return None


def _cell_error(source, label, column, first_line: int, reason: str, extra: str = "") -> InputFileError:
    row = _row_of(label, first_line)
    where = "" if row is not None else f"index label {label!r}: "
    return InputFileError(source, f"{where}{reason}{extra}", row=row, column=str(column))


def parse_italian_numbers(frame: pd.DataFrame, columns: str | Sequence[str], *,
                          source: str | Path | None = None, first_line: int = 2) -> pd.DataFrame:
    """Convert columns of Italian-format numbers to float; missing markers become NaN.

    Parameters
    ----------
    frame : pandas.DataFrame
        Table as read from the file (strings).
    columns : str or sequence of str
        The columns to convert; the others are left as they are.
    source : str or Path, optional
        The file the frame was read from, named in error messages.
    first_line : int, default 2
        Line of the file holding the row with index label 0: the reported row is
        ``label + first_line`` (2 = one header line, so row numbers match a text
        editor). Use 0 when the index already holds line numbers.

    Returns
    -------
    pandas.DataFrame
        A copy with ``columns`` as float64 (NaN where the value is missing).

    Raises
    ------
    InputFileError
        For a missing column, or for the first value (in row order) that is not
        a number, naming ``source``, row and column and counting the other bad values.

    Examples
    --------
    >>> raw = pd.DataFrame({"city": ["Matera", "Trani"], "x": ["1.234,5", "x"], "y": ["-3,2", "7"]})
    >>> out = parse_italian_numbers(raw, ["x", "y"])
    >>> out["x"].tolist(), out["y"].tolist()
    ([1234.5, nan], [-3.2, 7.0])
    >>> bad = pd.DataFrame({"x": ["1", "12a"]})
    >>> parse_italian_numbers(bad, "x", source="irpef.csv")
    Traceback (most recent call last):
    ...
    cocity_analysis.errors.InputFileError: file irpef.csv, row 3, column 'x': '12a' is not a number ...
    """
    columns = _as_column_list(frame, columns, source)
    out = frame.copy()
    bad = []  # (position, column order, label, column, reason)
    converted = {}
    for order, column in enumerate(columns):
        values = np.empty(len(frame), dtype="float64")
        for position, (label, value) in enumerate(frame[column].items()):
            try:
                values[position] = _parse(value)
            except ValueError as exc:
                values[position] = math.nan
                bad.append((position, order, label, column, str(exc)))
        converted[column] = values
    if bad:
        bad.sort(key=lambda item: (item[0], item[1]))
        _, _, label, column, reason = bad[0]
        extra = f" ({len(bad) - 1} more non-numeric value(s) in these columns)" if len(bad) > 1 else ""
        raise _cell_error(source, label, column, first_line, reason, extra)
    for column, values in converted.items():
        out[column] = pd.Series(values, index=frame.index, name=column)
    return out


def replace_missing_markers(frame: pd.DataFrame, columns: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Replace ISTAT missing markers (``"-"``, ``".."``, ``"x"``, ``""``, ...) by NaN.

    Only text cells whose stripped value is one of :data:`MISSING_MARKERS`
    (``n.d.`` and ``nd`` in any case) are replaced; other values are kept as they are.

    Parameters
    ----------
    frame : pandas.DataFrame
        Input table.
    columns : str or sequence of str, optional
        Columns to clean; default all columns.

    Returns
    -------
    pandas.DataFrame
        A copy with the markers replaced by NaN (never 0).

    Raises
    ------
    InputFileError
        When a requested column is missing.

    Examples
    --------
    >>> raw = pd.DataFrame({"a": ["12", "..", " x ", "N.D."], "b": ["-", "Sud", "", "3"]})
    >>> out = replace_missing_markers(raw)
    >>> out["a"].tolist(), out["b"].tolist()
    (['12', nan, nan, nan], [nan, 'Sud', nan, '3'])
    """
    columns = _as_column_list(frame, columns, None)
    out = frame.copy()
    for column in columns:
        series = frame[column]
        mask = series.map(lambda v: isinstance(v, str) and _is_missing_marker(v)).astype(bool)
        if mask.any():
            out[column] = series.mask(mask)
    return out


def _pad(value, width: int) -> str:
    """One code to a zero-padded string of ``width`` digits; ValueError with a reason otherwise."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= width:
        return value.zfill(width)  # fast path for the common case
    if _is_missing_scalar(value):
        raise ValueError("missing code")
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{value!r} is not a code")
    if isinstance(value, numbers.Integral):
        number = int(value)
        if number < 0:
            raise ValueError(f"{value!r} is negative")
        text = str(number)
    elif isinstance(value, numbers.Real):
        number = float(value)
        if not number.is_integer() or number < 0:
            raise ValueError(f"{value!r} is not a whole non-negative number")
        text = str(int(number))
    elif isinstance(value, str):
        stripped = value.strip()
        if not _INTEGER_CODE.match(stripped):
            raise ValueError(f"{value!r} is not a numeric code (digits only; '1001.0' is accepted, '1001.5' is not)")
        text = stripped.split(".")[0]
    else:
        raise ValueError(f"{value!r} ({type(value).__name__}) is not a code")
    if len(text) > width:
        raise ValueError(f"{value!r} has more than {width} digits")
    return text.zfill(width)


def pad_codes(frame: pd.DataFrame, column: str, width: int = 6, *,
              source: str | Path | None = None, first_line: int = 2) -> pd.DataFrame:
    """Zero-pad a code column (ISTAT municipality codes by default) to ``width`` characters.

    Spreadsheets and ``read_csv`` turn ``"001001"`` into ``1001`` or ``1001.0``;
    this puts the leading zeros back. Whole numbers are accepted as int, float
    or text (``"1001.0"``); anything else (``"1001.5"``, letters, negative or
    too long values, missing codes) is an error, never a guess.

    Parameters
    ----------
    frame : pandas.DataFrame
        Input table.
    column : str
        The code column.
    width : int, default 6
        Number of digits (6 for municipalities, 3 for provinces, 2 for regions).
    source : str or Path, optional
        The file the frame was read from, named in error messages.
    first_line : int, default 2
        Line of the file holding the row with index label 0 (see module docstring).

    Returns
    -------
    pandas.DataFrame
        A copy with ``column`` as text codes of exactly ``width`` digits.

    Raises
    ------
    InputFileError
        For a missing column or the first invalid code, naming file, row and column.

    Examples
    --------
    >>> raw = pd.DataFrame({"code": ["1001", 64008, 1001.0, "110001", " 77014 "]})
    >>> pad_codes(raw, "code")["code"].tolist()
    ['001001', '064008', '001001', '110001', '077014']
    >>> pad_codes(pd.DataFrame({"code": ["1001.5"]}), "code", source="x.csv")
    Traceback (most recent call last):
    ...
    cocity_analysis.errors.InputFileError: file x.csv, row 2, column 'code': '1001.5' is not a numeric code ...
    """
    _as_column_list(frame, [column], source)
    out = frame.copy()
    values = as_list(frame[column])
    # the common case (text digits, short enough) in one pass; every other value through _pad
    padded = [value.zfill(width) if type(value) is str and value.isascii() and value.isdigit()
              and len(value) <= width else None for value in values]
    for position in [position for position, code in enumerate(padded) if code is None]:
        try:
            padded[position] = _pad(values[position], width)
        except ValueError as exc:
            raise _cell_error(source, frame.index[position], column, first_line, str(exc)) from None
    out[column] = pd.Series(padded, index=frame.index, name=column, dtype=object).astype(str)
    return out


def normalise_name(text: str, *, keep_accents: bool = False) -> str:
    """Reduce a place name to a key for matching (not for display).

    Lower-cases, replaces typographic apostrophes (’ ‘ ` ´) by ``'``, removes
    accents (Unicode NFKD, combining marks dropped), turns hyphens, dashes and
    apostrophes into spaces and collapses runs of blanks.

    Parameters
    ----------
    text : str
        A municipality name as written anywhere.
    keep_accents : bool, default False
        Keep accented letters (composed, NFC) instead of stripping them; used
        to tell apart names that differ only by an accent (Paternò / Paterno).

    Returns
    -------
    str
        The matching key.

    Examples
    --------
    >>> normalise_name("Cava de’ Tirreni")
    'cava de tirreni'
    >>> normalise_name("CAVA DE TIRRENI") == normalise_name("Cava de' Tirreni")
    True
    >>> normalise_name("Corigliano-Rossano")
    'corigliano rossano'
    >>> normalise_name("  Agliè ")
    'aglie'
    >>> normalise_name("Sant’Agata di Militello")
    'sant agata di militello'
    >>> normalise_name("Paternò", keep_accents=True)
    'paternò'
    """
    if not isinstance(text, str):
        raise TypeError(f"normalise_name expects a str, got {type(text).__name__}")
    text = text.translate(_APOSTROPHES)
    if text.isascii():  # most names: nothing to compose or strip (fast path, same result)
        pass
    elif keep_accents:
        text = unicodedata.normalize("NFC", text)
    else:
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.lower()
    text = _SEPARATORS.sub(" ", text)
    return _BLANKS.sub(" ", text).strip()
