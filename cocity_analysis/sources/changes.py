"""ISTAT municipal changes: carry codes of municipalities that changed to today's code.

Official tables (MEF incomes, the 2011 census, older population files, ...)
follow the municipal list of their own date. Since then municipalities have been
merged (``ES``: suppressed into another) or moved to another province (``AP``:
a new code, e.g. Carbonia 092012 -> 107003 in 2006 -> 111009 in 2016). ISTAT
publishes every such event since 1991 in one file,
``Variazioni_amministrative_territoriali_dal_01011991.csv`` (inside
:data:`VARIATIONS_URL`), fetched with ``cocity fetch istat_changes`` into
``data/raw/istat_changes/`` (offline: ``$COCITY_DATA_MIRROR/istat_changes/``).

:func:`load_changes` reads that file exactly as published (cp1252, ``;``, CRLF,
14 columns, a header ending in a space, quoted fields that may hold a bare line
feed, the date column empty before 2008: the year ``Anno`` is used then) and
returns one row per code-changing event (``ES`` and ``AP``), in chronological
order. :func:`to_current_codes` adds today's code to any frame keyed by ISTAT
codes, following the events *in time order* (a code can come back: Olbia was
090047, 104017 from 2006, 090047 again from 2016), and reports every row whose
code changed or could not be matched, so nothing disappears silently.

Without the file (offline, no mirror) :func:`empty_changes` stands in: every
code is then kept as it is, and those that are not current are reported as
unmatched by the callers (``cocity prepare`` says which changes file was used,
or that none was, in ``provenance.json``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from cocity_analysis import config
from cocity_analysis.errors import InputFileError
from cocity_analysis.sources.cleaning import as_list

#: Official download (a zip holding :data:`config.ISTAT_CHANGES_FILE_NAME`).
VARIATIONS_URL = ("https://www.istat.it/storage/codici-unita-amministrative/"
                  "Variazioni-amministrative-e-territoriali-dal-1991.zip")
#: Official download of the list of suppressed municipalities (a zip holding
#: :data:`config.ISTAT_SUPPRESSED_FILE_NAME`), used to cross-check the ``ES`` rows.
SUPPRESSED_URL = "https://www.istat.it/storage/codici-unita-amministrative/Elenco-comuni-soppressi.zip"

CHANGES_COLUMNS = (
    "old_istat_code",
    "old_name",
    "old_province",
    "new_istat_code",
    "new_name",
    "new_province",
)
#: Extra columns of :func:`load_changes`: ISO date (``YYYY-MM-DD``, or ``YYYY`` before 2008 when
#: ISTAT gives only the year), ISTAT's type of change, line of the file.
EVENT_COLUMNS = ("effective", "kind", "line")
CODE_COLUMNS = ("old_istat_code", "new_istat_code")
REPORT_COLUMNS = ("old_code", "old_name", "new_code", "new_name", "status")

#: ``Tipo variazione`` codes in ISTAT's file; only ES and AP give a municipality a new code.
KINDS = {
    "ES": "estinzione (soppressione, fusione o incorporazione in un altro comune)",
    "AP": "cambio di appartenenza provinciale (nuovo codice)",
    "CS": "costituzione di un nuovo comune",
    "CD": "cambio di denominazione",
    "AQ": "acquisizione di territorio",
    "CE": "cessione di territorio",
    "AQES": "acquisizione di territorio di un comune soppresso",
    "CECS": "cessione di territorio per la costituzione di un nuovo comune",
}
CODE_CHANGING = ("ES", "AP")
#: Kept too, as the date from which a code is (again) valid: ``CS`` (a new municipality; its row
#: names one predecessor or the municipality that ceded territory, which goes on existing).
CREATING = ("CS",)

#: Header names of the official file (stripped: one ends in a space in the file).
_YEAR, _KIND, _CODE_OLD, _NAME_OLD = ("Anno", "Tipo variazione", "Codice Comune formato alfanumerico",
                                      "Denominazione Comune")
_PROV_OLD = "Codice Unità territoriale sovracomunale"
_CODE_NEW = "Codice del Comune associato alla variazione o nuovo codice Istat del Comune"
_NAME_NEW = "Denominazione Comune associata alla variazione o nuova denominazione"
_PROV_NEW = "Codice Unità territoriale sovracomunale associato alla variazione"
_DATE = "Data decorrenza validità amministrativa"
REQUIRED_HEADER = (_YEAR, _KIND, _PROV_OLD, _CODE_OLD, _NAME_OLD, _PROV_NEW, _CODE_NEW, _NAME_NEW, _DATE)

_CODE = re.compile(r"\d{6}")
_DAY = re.compile(r"(\d{2})/(\d{2})/(\d{4})")


def default_path() -> Path:
    """Where ``cocity fetch istat_changes`` puts ISTAT's file (``data/raw/istat_changes/``)."""
    return config.ISTAT_CHANGES_RAW_DIR / config.ISTAT_CHANGES_FILE_NAME


def empty_changes() -> pd.DataFrame:
    """A changes table with no event: what is used when ISTAT's file is not available."""
    return pd.DataFrame({name: pd.Series(dtype=object) for name in (*CHANGES_COLUMNS, *EVENT_COLUMNS)})


def _read_table(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header (stripped) and (line, fields) of a cp1252 ``;`` CSV; line = 1-based line of the row's start."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(path, "file not found; fetch it with `cocity fetch istat_changes`") from None
    if not data.strip():
        raise InputFileError(path, "file is empty")
    try:
        text = data.decode("utf-8-sig") if data.startswith(b"\xef\xbb\xbf") else data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise InputFileError(path, f"not Windows-1252 text as ISTAT publishes it ({exc.reason} at byte "
                                   f"{exc.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    header = [name.strip() for name in next(reader)]
    rows = []
    start = reader.line_num + 1
    for fields in reader:
        if any(value.strip() for value in fields):
            rows.append((start, fields))
        start = reader.line_num + 1
    return header, rows


def load_changes(path: str | Path | None = None, suppressed: str | Path | None = None) -> pd.DataFrame:
    """Read ISTAT's file of municipal changes since 1991, exactly as published.

    Parameters
    ----------
    path : str or Path, optional
        ``Variazioni_amministrative_territoriali_dal_01011991.csv``; default
        :func:`default_path` (fetched with ``cocity fetch istat_changes``).
    suppressed : str or Path, optional
        ISTAT's ``Elenco comuni soppressi.csv``. When given (by default: when it
        is beside ``path``), every ``ES`` row must name a successor that list
        also gives for that code.

    Returns
    -------
    DataFrame
        One row per event that gives a municipality a new code (``ES``, ``AP``:
        old code -> new code) or creates one (``CS``: associated municipality ->
        created code; never followed as a change, it only dates the new code),
        sorted by date then line, with the columns of :data:`CHANGES_COLUMNS`
        (codes as 6-character strings; provinces as ISTAT's 3-digit codes) and
        :data:`EVENT_COLUMNS`.

    Raises
    ------
    InputFileError
        Naming file, row (1-based line where the record starts; header = 1)
        and column when the file is missing, empty or not cp1252, a column is
        missing, a row has a different number of fields than the header, the
        type of change is unknown, a code is not 6 digits, a year or date is
        malformed, or the list of suppressed municipalities disagrees.

    Examples
    --------
    >>> changes = load_changes("Variazioni_amministrative_territoriali_dal_01011991.csv")  # doctest: +SKIP
    >>> changes.query("old_istat_code == '107003'")[["new_istat_code", "effective", "kind"]].values.tolist()  # doctest: +SKIP
    [['111009', '2016-04-28', 'AP']]
    """
    path = Path(path) if path is not None else default_path()
    header, rows = _read_table(path)
    missing = [name for name in REQUIRED_HEADER if name not in header]
    if missing:
        raise InputFileError(path, f"missing column(s) {', '.join(missing)}; columns present: "
                                   f"{', '.join(header)}", row=1, column=missing[0])
    at = {name: header.index(name) for name in REQUIRED_HEADER}
    records = []
    for line, fields in rows:
        if len(fields) != len(header):
            raise InputFileError(path, f"{len(fields)} fields where the header has {len(header)}", row=line)
        kind = fields[at[_KIND]].strip()
        if kind not in KINDS:
            raise InputFileError(path, f"unknown type of change {kind!r}; known: {', '.join(KINDS)}",
                                 row=line, column=_KIND)
        year = fields[at[_YEAR]].strip()
        if not re.fullmatch(r"\d{4}", year):
            raise InputFileError(path, f"year {year!r} is not 4 digits", row=line, column=_YEAR)
        day = fields[at[_DATE]].strip()
        if day:
            match = _DAY.fullmatch(day)
            if not match or match.group(3) != year:
                raise InputFileError(path, f"date {day!r} is not dd/mm/yyyy of the year {year}", row=line,
                                     column=_DATE)
            effective = f"{match.group(3)}-{match.group(2)}-{match.group(1)}"
        else:
            effective = year  # ISTAT gives no day before 2008: the year orders the events
        if kind not in CODE_CHANGING + CREATING:
            continue
        old, new = fields[at[_CODE_OLD]].strip(), fields[at[_CODE_NEW]].strip()
        for column, code in ((_CODE_OLD, old), (_CODE_NEW, new)):
            if not _CODE.fullmatch(code):
                raise InputFileError(path, f"ISTAT code {code!r} is not exactly 6 digits", row=line,
                                     column=column)
        if old == new:
            raise InputFileError(path, f"{kind} row maps code {old} onto itself", row=line, column=_CODE_NEW)
        if kind in CREATING:  # the row is the new municipality's: swap, old = the associated one
            records.append({
                "old_istat_code": new, "old_name": fields[at[_NAME_NEW]].strip(),
                "old_province": fields[at[_PROV_NEW]].strip(),
                "new_istat_code": old, "new_name": fields[at[_NAME_OLD]].strip(),
                "new_province": fields[at[_PROV_OLD]].strip(),
                "effective": effective, "kind": kind, "line": line,
            })
            continue
        records.append({
            "old_istat_code": old, "old_name": fields[at[_NAME_OLD]].strip(),
            "old_province": fields[at[_PROV_OLD]].strip(),
            "new_istat_code": new, "new_name": fields[at[_NAME_NEW]].strip() or None,
            "new_province": fields[at[_PROV_NEW]].strip(),
            "effective": effective, "kind": kind, "line": line,
        })
    frame = pd.DataFrame.from_records(records, columns=[*CHANGES_COLUMNS, *EVENT_COLUMNS])
    frame = frame.sort_values(["effective", "line"], kind="stable").reset_index(drop=True)
    frame["new_name"] = _fill_new_names(frame)
    if suppressed is None and (path.parent / config.ISTAT_SUPPRESSED_FILE_NAME).is_file():
        suppressed = path.parent / config.ISTAT_SUPPRESSED_FILE_NAME
    if suppressed is not None:
        _check_against_suppressed(frame, path, Path(suppressed))
    return frame


def _fill_new_names(frame: pd.DataFrame) -> pd.Series:
    """``AP`` rows leave the new name empty (the name does not change): take the old one."""
    return frame["new_name"].where(frame["new_name"].notna(), frame["old_name"])


def _check_against_suppressed(frame: pd.DataFrame, path: Path, suppressed: Path) -> None:
    """Every ``ES`` row's successor must be one ISTAT's list of suppressed municipalities gives too."""
    header, rows = _read_table(suppressed)
    needed = ("Codice Comune", "Codice del Comune associato alla variazione")
    missing = [name for name in needed if name not in header]
    if missing:
        raise InputFileError(suppressed, f"missing column(s) {', '.join(missing)}; columns present: "
                                         f"{', '.join(h for h in header if h)}", row=1, column=missing[0])
    old_at, new_at = header.index(needed[0]), header.index(needed[1])
    successors: dict[str, set[str]] = {}
    for _, fields in rows:
        if len(fields) > max(old_at, new_at):
            successors.setdefault(fields[old_at].strip(), set()).add(fields[new_at].strip())
    for row in frame[frame["kind"] == "ES"].itertuples():
        known = successors.get(row.old_istat_code)
        if known is not None and row.new_istat_code not in known:
            raise InputFileError(
                path, f"code {row.old_istat_code} is suppressed into {row.new_istat_code}, but {suppressed} "
                      f"gives {', '.join(sorted(known))} as its successor", row=int(row.line), column=_CODE_NEW)


class _Events:
    """Outgoing events per old code, and the date from which each code is valid (its last incoming event)."""

    def __init__(self, changes: pd.DataFrame):
        effective = changes["effective"] if "effective" in changes else pd.Series("", index=changes.index)
        kinds = changes["kind"] if "kind" in changes else pd.Series("", index=changes.index)
        self.outgoing: dict[str, list[tuple[tuple[str, int], str]]] = {}
        self.incoming: dict[str, tuple[str, int]] = {}
        columns = (changes["old_istat_code"], changes["new_istat_code"], effective, kinds)
        for order, (old, new, when, kind) in enumerate(zip(*(as_list(column) for column in columns))):
            key = (str(when), order)
            if kind not in CREATING:
                self.outgoing.setdefault(str(old), []).append((key, str(new)))
            self.incoming[str(new)] = max(key, self.incoming.get(str(new), key))
        for items in self.outgoing.values():
            items.sort()

    def get(self, code, default=()):
        return self.outgoing.get(code, default)


def _events(changes: pd.DataFrame) -> _Events:
    """The events of ``changes``; a table without :data:`EVENT_COLUMNS` (hand-built) is taken in row order."""
    return _Events(changes)


def _resolve(code: str, events: _Events, current: set[str] | None, since: str | None) -> tuple[str, bool]:
    """Follow the events of ``code`` after ``since`` in time order; (last code reached, whether current).

    Without ``since``, a code is taken as of its last incoming event (creation,
    change of province, ...): a code that came back (Olbia 090047 from 2016,
    Baranzate 015250 re-created in 2004) means today's municipality, not the
    earlier one. With ``current``, the walk stops at the first current code.
    Two events of one code on the same date with different successors (a split)
    leave it unmatched.
    """
    key: tuple[str, int] = (since, 1 << 62) if since else events.incoming.get(code, ("", -1))
    while current is None or code not in current:
        later = [(when, new) for when, new in events.get(code, ()) if when > key]
        if not later:
            break
        when, new = later[0]
        if any(other[0][0] == when[0] and other[1] != new for other in later[1:]):
            return code, False
        code, key = new, when
    return code, (current is None or code in current)


def resolve_codes(codes: Iterable[str], changes: pd.DataFrame, current_codes: Iterable[str] | None = None,
                  *, since: str | None = None) -> dict[str, str | None]:
    """Today's code of each distinct code in ``codes`` (None when none is reached).

    Parameters
    ----------
    codes : iterable of str
        6-character ISTAT codes.
    changes : DataFrame
        From :func:`load_changes` (or :func:`empty_changes`).
    current_codes : iterable of str, optional
        Today's codes; a code in it is kept as it is. When None, the events are
        followed to the end.
    since : str, optional
        ISO date the codes refer to (``"2011-10-09"`` for the census): only
        later events are followed. Default: every event.

    Examples
    --------
    >>> table = pd.DataFrame({"old_istat_code": ["090047", "104017"], "new_istat_code": ["104017", "090047"],
    ...                       "effective": ["2006", "2016-04-28"]})
    >>> resolve_codes(["104017", "090047"], table, since="2011-10-09")
    {'104017': '090047', '090047': '090047'}
    """
    events = _events(changes)
    current = None if current_codes is None else set(map(str, as_list(current_codes)))
    out = {}
    for code in dict.fromkeys(map(str, as_list(codes))):
        final, ok = _resolve(code, events, current, since)
        out[code] = final if ok else None
    return out


def to_current_codes(
    frame: pd.DataFrame,
    code_column: str = "istat_code",
    changes: pd.DataFrame | None = None,
    *,
    current_codes: Iterable[str] | None = None,
    new_column: str = "current_istat_code",
    since: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add today's ISTAT code to every row of ``frame``.

    A code is kept as it is when it is current: when ``current_codes`` is given,
    when it is in that list; when it is None, when no later event moves it. Otherwise
    the events of the changes table are followed in time order (chains
    a -> b -> c, and codes that come back) until a current code is reached. A
    code that reaches no current code gets a missing value and is listed in the
    report as ``unmatched``; it is the caller's job to exclude and report those rows.

    Parameters
    ----------
    frame : DataFrame
        Any table with 6-character string ISTAT codes in ``code_column`` (a
        column, or the name of the index).
    code_column : str
        Column (or index name) holding the codes.
    changes : DataFrame, optional
        As returned by :func:`load_changes`; by default ISTAT's file fetched into
        ``data/raw/istat_changes/``.
    current_codes : iterable of str, optional
        Today's valid codes (e.g. the ISTAT list).
    new_column : str
        Name of the added column.
    since : str, optional
        ISO date the codes refer to: only later events are followed.

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
    >>> table = pd.DataFrame({"old_istat_code": ["005079", "005110"], "old_name": ["Moransengo", "Tonengo"],
    ...                       "new_istat_code": ["005122", "005122"], "new_name": ["Moransengo-Tonengo"] * 2})
    >>> frame = pd.DataFrame({"istat_code": ["005079", "005110", "001001"], "n": [1, 2, 3]})
    >>> out, report = to_current_codes(frame, changes=table)
    >>> out["current_istat_code"].tolist()
    ['005122', '005122', '001001']
    >>> report["status"].tolist()
    ['changed', 'changed']
    """
    changes = load_changes() if changes is None else changes
    old_names = (dict(zip(as_list(changes["old_istat_code"]), as_list(changes["old_name"])))
                 if "old_name" in changes else {})
    new_names = (dict(zip(as_list(changes["new_istat_code"]), as_list(changes["new_name"])))
                 if "new_name" in changes else {})

    if code_column in frame.columns:
        codes = frame[code_column]
    elif frame.index.name == code_column:
        codes = frame.index.to_series(index=frame.index)
    else:
        raise KeyError(f"{code_column!r} is neither a column nor the index of the frame")
    codes = pd.Series(codes.to_numpy(dtype=object), index=frame.index)
    if not codes.map(lambda value: isinstance(value, str)).all():
        raise TypeError(f"codes in {code_column!r} must be strings (6 characters, leading zeros kept)")

    events = _events(changes)
    current = None if current_codes is None else set(map(str, as_list(current_codes)))
    resolved = {code: _resolve(code, events, current, since) for code in codes.unique()}
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


# --------------------------------------------------------------------------- fetch


def _check_csv(path: Path) -> str | None:
    """None when ``path`` looks like ISTAT's changes file, else what it is."""
    head = path.read_bytes()[:200]
    try:
        first = head.decode("cp1252").splitlines()[0] if head else ""
    except UnicodeDecodeError:
        first = ""
    if not first.startswith("Anno;Tipo variazione"):
        return f"not ISTAT's changes file (starts with {head[:60]!r})"
    return None


def _check_suppressed(path: Path) -> str | None:
    head = path.read_bytes()[:200]
    if not head.decode("cp1252", errors="replace").startswith("Anno;"):
        return f"not ISTAT's list of suppressed municipalities (starts with {head[:60]!r})"
    return None


def _zip_member_download(url: str, member_name: str, session=None):
    """A ``download(tmp)`` for :func:`fetching.fetch_file`: get the zip at ``url``, write its member."""
    import tempfile
    import zipfile

    import requests

    def download(tmp: Path) -> str:
        http = session or requests
        response = http.get(url, timeout=120, headers={"User-Agent": "cocity-analysis (PN Metro plus needs analysis)"})
        response.raise_for_status()
        with tempfile.TemporaryFile() as handle:
            handle.write(response.content)
            handle.seek(0)
            try:
                archive = zipfile.ZipFile(handle)
            except zipfile.BadZipFile:
                raise OSError(f"{url} did not return a zip archive") from None
            names = [n for n in archive.namelist() if Path(n).name == member_name]
            if not names:
                raise OSError(f"{url} holds no {member_name} (members: {', '.join(archive.namelist()[:10])})")
            tmp.write_bytes(archive.read(names[0]))
        return f"{url}::{names[0]}"

    return download


def fetch(dest_dir: str | Path | None = None, *, mirror: str | Path | None = None, session=None) -> list[dict]:
    """Put ISTAT's changes file (and the list of suppressed municipalities) in ``dest_dir``.

    Online: the CSV inside :data:`VARIATIONS_URL` (and inside
    :data:`SUPPRESSED_URL`); with a mirror, ``<mirror>/istat_changes/<file>``.
    Each file gets an entry in ``dest_dir/provenance.json``. The list of
    suppressed municipalities is optional: when it cannot be had, only the
    changes file is fetched.

    Returns
    -------
    list of dict
        The provenance entries written.
    """
    from cocity_analysis.errors import SourceUnavailableError
    from cocity_analysis.sources import fetching

    dest_dir = Path(dest_dir) if dest_dir is not None else config.ISTAT_CHANGES_RAW_DIR
    entries = [fetching.fetch_file(
        source="istat_changes", label="ISTAT, variazioni amministrative e territoriali dei comuni dal 1991",
        names=[config.ISTAT_CHANGES_FILE_NAME], dest_dir=dest_dir,
        download=_zip_member_download(VARIATIONS_URL, config.ISTAT_CHANGES_FILE_NAME, session),
        check=_check_csv, mirror=mirror, url=VARIATIONS_URL,
        how_to_get=f"the CSV inside {VARIATIONS_URL}",
        extra={"dataset": "Variazioni amministrative e territoriali dei comuni dal 1991"})]
    try:
        entries.append(fetching.fetch_file(
            source="istat_changes", label="ISTAT, elenco dei comuni soppressi",
            names=[config.ISTAT_SUPPRESSED_FILE_NAME], dest_dir=dest_dir,
            download=_zip_member_download(SUPPRESSED_URL, config.ISTAT_SUPPRESSED_FILE_NAME, session),
            check=_check_suppressed, mirror=mirror, url=SUPPRESSED_URL,
            how_to_get=f"the CSV inside {SUPPRESSED_URL}", extra={"dataset": "Elenco comuni soppressi"}))
    except SourceUnavailableError:
        stale = dest_dir / config.ISTAT_SUPPRESSED_FILE_NAME
        if stale.exists():  # never cross-check against a list older than the file just fetched
            stale.unlink()
    load_changes(dest_dir / config.ISTAT_CHANGES_FILE_NAME)  # refuse a file the loader cannot read
    return entries
