"""ISTAT municipal changes: map codes of municipalities that no longer exist to today's code.

Official tables (MEF incomes, older population files, ...) follow the municipal
list of their own year. Municipalities merged since then appear under codes that
are no longer valid. The package ships a small table
(``cocity_analysis/data/istat_municipal_changes.csv``, one row per suppressed
code) that says which of today's municipalities each old code belongs to.

:func:`load_changes` reads and validates that table; :func:`to_current_codes`
adds today's code to any frame keyed by ISTAT codes and reports every row whose
code changed or could not be matched, so nothing disappears silently.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from .. import config
from ..errors import InputFileError

CHANGES_COLUMNS = (
    "old_istat_code",
    "old_name",
    "old_province",
    "new_istat_code",
    "new_name",
    "new_province",
)
CODE_COLUMNS = ("old_istat_code", "new_istat_code")
REPORT_COLUMNS = ("old_code", "old_name", "new_code", "new_name", "status")

_CODE = re.compile(r"\d{6}")


def load_changes(path: str | Path = config.MUNICIPAL_CHANGES_FILE) -> pd.DataFrame:
    """Read and validate the table of municipal changes.

    Parameters
    ----------
    path : str or Path
        UTF-8 CSV with the columns of :data:`CHANGES_COLUMNS` (extra columns are
        kept). Defaults to the table shipped with the package.

    Returns
    -------
    DataFrame
        One row per suppressed code, codes as 6-character strings, in file order.

    Raises
    ------
    InputFileError
        Naming file, row (1-based line, header = line 1) and column when the
        file is empty or not UTF-8, a column is missing, a row has the wrong
        number of fields, a code is not exactly 6 digits, an old code appears
        twice, a code maps onto itself, or the changes form a cycle.

    Examples
    --------
    >>> changes = load_changes()
    >>> changes.set_index("old_istat_code").loc["005079", "new_istat_code"]
    '005122'
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise InputFileError(path, "file not found") from None
    except UnicodeDecodeError as exc:
        raise InputFileError(path, f"not valid UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if not text.strip():
        raise InputFileError(path, "file is empty")
    reader = csv.reader(text.splitlines())
    header = [name.strip() for name in next(reader)]
    missing = [name for name in CHANGES_COLUMNS if name not in header]
    if missing:
        raise InputFileError(
            path, f"missing column(s) {', '.join(missing)}; columns present: {', '.join(header)}", row=1,
            column=missing[0])
    records, lines = [], []
    for fields in reader:
        if not fields or not any(value.strip() for value in fields):
            continue
        if len(fields) != len(header):
            raise InputFileError(path, f"{len(fields)} fields where the header has {len(header)}",
                                 row=reader.line_num)
        records.append([value.strip() for value in fields])
        lines.append(reader.line_num)
    frame = pd.DataFrame(records, columns=header)
    frame.index = pd.Index(lines, name="line")
    return (
        frame.pipe(_check_codes, path)
        .pipe(_check_unique_old_codes, path)
        .pipe(_check_no_cycles, path)
        .reset_index(drop=True)
    )


def _check_codes(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Every code must be exactly 6 digits (the table is curated: no padding is guessed)."""
    for column in CODE_COLUMNS:
        bad = ~frame[column].map(lambda value: bool(_CODE.fullmatch(value)))
        if bad.any():
            line = bad[bad].index[0]
            raise InputFileError(path, f"ISTAT code {frame.at[line, column]!r} is not exactly 6 digits",
                                 row=int(line), column=column)
    return frame


def _check_unique_old_codes(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """An old code may belong to one new municipality only."""
    duplicated = frame["old_istat_code"].duplicated(keep="first")
    if duplicated.any():
        line = duplicated[duplicated].index[0]
        code = frame.at[line, "old_istat_code"]
        first = frame.index[frame["old_istat_code"] == code][0]
        raise InputFileError(path, f"old code {code} appears twice (lines {first} and {line})",
                             row=int(line), column="old_istat_code")
    return frame


def _check_no_cycles(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Chains (a -> b -> c) are allowed; a code reaching itself again is not."""
    mapping = dict(zip(frame["old_istat_code"], frame["new_istat_code"]))
    lines = dict(zip(frame["old_istat_code"], frame.index))
    for start in mapping:
        if mapping[start] == start:
            raise InputFileError(path, f"code {start} maps onto itself", row=int(lines[start]),
                                 column="new_istat_code")
        seen = [start]
        code = mapping[start]
        while code in mapping:
            if code in seen:
                chain = " -> ".join([*seen, code])
                raise InputFileError(path, f"changes form a cycle: {chain}", row=int(lines[start]),
                                     column="new_istat_code")
            seen.append(code)
            code = mapping[code]
    return frame


def _resolve(code: str, mapping: dict[str, str], current: set[str] | None) -> tuple[str, bool]:
    """Follow ``mapping`` from ``code``; return (last code reached, whether it is current)."""
    seen = {code}
    while (current is None or code not in current) and code in mapping:
        code = mapping[code]
        if code in seen:
            raise ValueError(f"the changes table has a cycle through {code}")
        seen.add(code)
    return code, (current is None or code in current)


def to_current_codes(
    frame: pd.DataFrame,
    code_column: str = "istat_code",
    changes: pd.DataFrame | None = None,
    *,
    current_codes: Iterable[str] | None = None,
    new_column: str = "current_istat_code",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add today's ISTAT code to every row of ``frame``.

    A code is kept as it is when it is current: when ``current_codes`` is given,
    when it is in that list; when it is None, when it is not an old code of the
    changes table. Otherwise the changes table is followed (through chains,
    a -> b -> c) until a current code is reached. A code that reaches no current
    code gets a missing value and is listed in the report as ``unmatched``; it
    is the caller's job to exclude and report those rows.

    Parameters
    ----------
    frame : DataFrame
        Any table with 6-character string ISTAT codes in ``code_column`` (a
        column, or the name of the index).
    code_column : str
        Column (or index name) holding the codes.
    changes : DataFrame, optional
        As returned by :func:`load_changes`; by default the shipped table.
    current_codes : iterable of str, optional
        Today's valid codes (e.g. the ISTAT list). When None, every code that is
        not an old code of ``changes`` counts as current.
    new_column : str
        Name of the added column.

    Returns
    -------
    (DataFrame, DataFrame)
        ``frame`` with ``new_column`` added (string, <NA> when unmatched), and a
        report with one row per input row whose code changed or is unmatched,
        indexed like ``frame``, with columns ``old_code``, ``old_name``,
        ``new_code``, ``new_name`` (names from the changes table, <NA> when the
        code is not in it) and ``status`` (``"changed"`` or ``"unmatched"``).

    Examples
    --------
    >>> frame = pd.DataFrame({"istat_code": ["005079", "005110", "001001"], "n": [1, 2, 3]})
    >>> out, report = to_current_codes(frame)
    >>> out["current_istat_code"].tolist()
    ['005122', '005122', '001001']
    >>> report["status"].tolist()
    ['changed', 'changed']
    """
    changes = load_changes() if changes is None else changes
    mapping = dict(zip(changes["old_istat_code"], changes["new_istat_code"]))
    old_names = dict(zip(changes["old_istat_code"], changes["old_name"]))
    new_names = dict(zip(changes["new_istat_code"], changes["new_name"]))
    current = None if current_codes is None else {str(code) for code in current_codes}

    if code_column in frame.columns:
        codes = frame[code_column]
    elif frame.index.name == code_column:
        codes = frame.index.to_series(index=frame.index)
    else:
        raise KeyError(f"{code_column!r} is neither a column nor the index of the frame")
    codes = pd.Series(codes.to_numpy(dtype=object), index=frame.index)
    if not codes.map(lambda value: isinstance(value, str)).all():
        raise TypeError(f"codes in {code_column!r} must be strings (6 characters, leading zeros kept)")

    resolved = {code: _resolve(code, mapping, current) for code in codes.unique()}
    final = codes.map(lambda code: resolved[code][0])
    matched = codes.map(lambda code: resolved[code][1]).astype(bool)

    out = frame.copy()
    out[new_column] = pd.array(final.where(matched).to_numpy(dtype=object), dtype="string")

    changed = matched & (final != codes)
    reported = changed | ~matched
    report = pd.DataFrame(
        {
            "old_code": codes[reported],
            "old_name": codes[reported].map(old_names),
            "new_code": final[reported].where(final[reported] != codes[reported]),
            "new_name": final[reported].where(final[reported] != codes[reported]).map(new_names),
            "status": pd.Series("changed", index=codes.index).where(matched, "unmatched")[reported],
        },
        columns=list(REPORT_COLUMNS),
    ).astype("string")
    return out, report
