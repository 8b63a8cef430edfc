"""ICCU "Anagrafe delle biblioteche italiane": libraries registered in each municipality.

The Istituto Centrale per il Catalogo Unico (ICCU) publishes its register of
Italian libraries as open data (CC0). The dataset *territorio*
(``territorio.zip`` holding ``territorio.csv``) has one row per library with
its municipality's ISTAT code; :func:`load` counts the rows per municipality
and carries the codes to today's through the table of municipal changes.

The file as ICCU distributes it:

* UTF-8, ``;`` separated, one header row (``codice-isil;codice-sbn;denominazione;...;
  codice istat comune;...``);
* ``codice istat comune`` is the code of the municipality *at the date of the
  snapshot*, as text with leading zeros;
* every kind of library is there (local authority, state, school, university,
  church, archives, institutes), and the file carries **no type column**
  (ICCU puts the types in another dataset, *tipologie*). All rows are
  therefore counted: telling public libraries from the others by their names
  would be a guess.

A municipality with no row has no library *registered* in that snapshot: the
count is 0, but the register may simply lack it (ICCU's register is filled in
by regions and institutions, unevenly). :func:`load` returns the count for
every current municipality and :func:`zero_notes` the notes a report shows
beside such a zero; nothing is filled in or dropped silently.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Iterable

import pandas as pd

from cocity_analysis import config
from cocity_analysis.errors import InputFileError
from cocity_analysis.sources import changes as municipal_changes
from cocity_analysis.sources.cleaning import as_list

if TYPE_CHECKING:  # imported where a download starts
    import requests

URL = "http://opendata.anagrafe.iccu.sbn.it/territorio.zip"
SOURCE_PAGE = "https://anagrafe.iccu.sbn.it/it/open-data/"
ZIP_NAME = "territorio.zip"
CSV_NAME = "territorio.csv"
PUBLISHER = "ICCU - Istituto Centrale per il Catalogo Unico"
DATASET = "Anagrafe delle biblioteche italiane, dataset «territorio»"
CODE_COLUMN = "codice istat comune"
ID_COLUMN = "codice-isil"
REQUIRED_COLUMNS = (ID_COLUMN, "denominazione", "comune", CODE_COLUMN)
OUTPUT_COLUMN = "iccu_libraries"
#: Snapshot date of a file taken from a data mirror, which the file itself does not carry: the mirror's
#: README states it (``<mirror>/README.md``: "snapshot of July 2020"). A downloaded file is dated by its
#: download (``retrieved_at`` in ``data/raw/iccu/provenance.json``).
MIRROR_SNAPSHOT = "luglio 2020"

_CODE = re.compile(r"\d{6}")


@dataclass
class IccuLoadReport:
    """What :func:`load` read, carried to today's codes and left out.

    Attributes
    ----------
    source_file : str
        File read (``archive.zip::territorio.csv`` for the zip).
    rows_read : int
        Libraries (data rows) in the file.
    libraries_out : int
        Libraries counted in a current municipality.
    merged : list of dict
        ``old_code``, ``new_code``, ``libraries``: codes of municipalities merged
        since the snapshot, counted in today's municipality.
    unmatched : list of dict
        ``code``, ``libraries``, ``example``: codes neither current nor in the
        table of changes (their libraries are not counted anywhere).
    municipalities_without_library : int
        Current municipalities with no registered library (count 0).
    """

    source_file: str
    rows_read: int
    libraries_out: int
    merged: list[dict] = field(default_factory=list)
    unmatched: list[dict] = field(default_factory=list)
    municipalities_without_library: int = 0

    def to_dict(self) -> dict:
        """Plain JSON-ready summary (for ``reconciliation.json``)."""
        return {"source_file": self.source_file, "rows_read": self.rows_read,
                "libraries_out": self.libraries_out, "merged": list(self.merged),
                "unmatched": list(self.unmatched),
                "municipalities_without_library": self.municipalities_without_library}


def _read_text(path: Path) -> tuple[str, str]:
    """Text of ``territorio.csv`` (the file, or the only CSV of the zip) and a label naming it."""
    if not path.is_file():
        raise InputFileError(path, "file not found")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = [info.filename for info in archive.infolist()
                       if info.filename.lower().endswith(".csv") and not info.filename.startswith("__MACOSX/")]
            if len(members) != 1:
                raise InputFileError(path, f"the zip must hold exactly one CSV ({CSV_NAME}), it holds "
                                           f"{len(members)}: {', '.join(members) or 'none'}")
            data, label = archive.read(members[0]), f"{path}::{members[0]}"
    elif path.suffix.lower() == ".zip":
        raise InputFileError(path, "not a valid zip archive (damaged or incomplete download?)")
    else:
        data, label = path.read_bytes(), str(path)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4096]:
        raise InputFileError(label, "UTF-16 or binary data: ICCU's territorio.csv is UTF-8 text", row=1)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputFileError(label, f"not UTF-8 text (byte 0x{data[exc.start]:02x}); ICCU publishes UTF-8",
                             row=line) from None
    return text, label


def _read_rows(text: str, label: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    try:
        header = [cell.strip() for cell in next(reader, [])]
        if not any(header):
            raise InputFileError(label, "file is empty (expected the header on line 1)", row=1)
        missing = [name for name in REQUIRED_COLUMNS if name not in header]
        if missing:
            hint = " (is the file ';'-separated?)" if len(header) == 1 else ""
            raise InputFileError(label, f"required column(s) {', '.join(repr(m) for m in missing)} not found"
                                        f"{hint}; columns in the file: {', '.join(repr(h) for h in header)}",
                                 row=1, column=missing[0])
        rows = []
        for cells in reader:
            if not "".join(cells).strip():
                continue
            if len(cells) != len(header):
                raise InputFileError(label, f"row has {len(cells)} fields but the header has {len(header)}",
                                     row=reader.line_num, column=header[min(len(cells), len(header)) - 1])
            rows.append((reader.line_num, cells))
    except csv.Error as exc:
        raise InputFileError(label, f"cannot parse the CSV ({exc})", row=reader.line_num) from None
    if not rows:
        raise InputFileError(label, "no data rows after the header", row=2)
    return header, rows


def read_libraries(path: str | Path) -> tuple[pd.DataFrame, str]:
    """The libraries of ``territorio.csv`` (or ``territorio.zip``) as rows, codes validated.

    Returns
    -------
    (DataFrame, str)
        ``line`` (1-based file line), ``isil``, ``name``, ``municipality``,
        ``istat_code`` (6 characters), and a label naming the file read.

    Raises
    ------
    InputFileError
        Naming file, row and column: not UTF-8, a missing column, a row with
        the wrong number of fields, an ISTAT code that is not 6 digits, an
        empty or repeated ISIL code.
    """
    text, label = _read_text(Path(path))
    header, rows = _read_rows(text, label)
    at = {name: header.index(name) for name in REQUIRED_COLUMNS}
    seen: dict[str, int] = {}
    records = []
    for line, cells in rows:
        code, isil = cells[at[CODE_COLUMN]].strip(), cells[at[ID_COLUMN]].strip()
        if not _CODE.fullmatch(code):
            reason = "is empty" if not code else "is not 6 digits (ICCU writes it as text with leading zeros)"
            raise InputFileError(label, f"ISTAT code {code!r} {reason}", row=line, column=CODE_COLUMN)
        if not isil:
            raise InputFileError(label, "empty ISIL code (every library has one)", row=line, column=ID_COLUMN)
        if isil in seen:
            raise InputFileError(label, f"library {isil} appears twice (lines {seen[isil]} and {line})",
                                 row=line, column=ID_COLUMN)
        seen[isil] = line
        records.append((line, isil, cells[at["denominazione"]].strip(), cells[at["comune"]].strip(), code))
    frame = pd.DataFrame(records, columns=["line", "isil", "name", "municipality", "istat_code"])
    return frame, label


def load(path: str | Path, *, current_codes: Iterable[str], changes: pd.DataFrame | None = None,
         return_report: bool = False) -> pd.DataFrame | tuple[pd.DataFrame, IccuLoadReport]:
    """Number of registered libraries per today's municipality.

    Parameters
    ----------
    path : str or Path
        ``territorio.zip`` as ICCU distributes it, or the ``territorio.csv`` inside.
    current_codes : iterable of str
        Today's ISTAT codes: every one gets a count (0 when no library is
        registered there), codes of merged municipalities are carried to them.
    changes : DataFrame, optional
        Table of municipal changes (:func:`changes.load_changes`); default the shipped one.
    return_report : bool
        Also return an :class:`IccuLoadReport`.

    Returns
    -------
    DataFrame or (DataFrame, IccuLoadReport)
        Indexed by ``istat_code`` (today's codes, sorted), one Int64 column
        ``iccu_libraries``.

    Examples
    --------
    >>> counts = load("data/raw/iccu/territorio.csv", current_codes=["077014", "085007"])  # doctest: +SKIP
    >>> counts["iccu_libraries"].tolist()  # doctest: +SKIP
    [8, 0]
    """
    libraries, label = read_libraries(path)
    current = sorted(set(map(str, as_list(current_codes))))
    changes = municipal_changes.load_changes() if changes is None else changes
    mapped, mapping = municipal_changes.to_current_codes(libraries, "istat_code", changes, current_codes=current,
                                                         new_column="current_istat_code")
    counted = mapped[mapped["current_istat_code"].notna()]
    counts = (counted.groupby(counted["current_istat_code"].astype(str)).size()
              .reindex(current, fill_value=0).astype("Int64"))  # a municipality with no row registers 0
    frame = counts.rename(OUTPUT_COLUMN).to_frame()
    frame.index.name = "istat_code"
    if not return_report:
        return frame

    def grouped(rows: pd.DataFrame, new: bool) -> list[dict]:
        out = []
        for code, part in rows.groupby("istat_code", sort=True):
            entry = {"old_code" if new else "code": code, "libraries": int(len(part))}
            if new:
                entry["new_code"] = str(part["current_istat_code"].iloc[0])
            else:
                entry["example"] = f"{part['isil'].iloc[0]} {part['name'].iloc[0]} ({part['municipality'].iloc[0]})"
            out.append(entry)
        return out

    changed = mapped.loc[mapping.index[mapping["status"] == "changed"]]
    unmatched = mapped.loc[mapping.index[mapping["status"] == "unmatched"]]
    report = IccuLoadReport(source_file=label, rows_read=len(libraries), libraries_out=int(counts.sum()),
                            merged=grouped(changed, True), unmatched=grouped(unmatched, False),
                            municipalities_without_library=int((counts == 0).sum()))
    return frame, report


def zero_note(snapshot: str) -> str:
    """Italian note shown beside a count of 0 (``treatments.parquet``)."""
    return (f"nessuna biblioteca registrata nell'Anagrafe ICCU ({snapshot}): può essere una lacuna del registro "
            "(lo 0 è quello del registro, non una verifica sul territorio), perciò il dato non è usato nei punteggi")


def mask_register_zeros(values: pd.DataFrame, base: pd.DataFrame,
                        indicator: str = "libraries_per_10000_residents") -> pd.DataFrame:
    """``values`` with ``indicator`` missing wherever the register counts no library (a possible gap).

    Examples
    --------
    >>> base = pd.DataFrame({"iccu_libraries": [8, 0]}, index=pd.Index(["077014", "085007"], name="istat_code"))
    >>> values = pd.DataFrame({"libraries_per_10000_residents": [1.34, 0.0]}, index=base.index)
    >>> mask_register_zeros(values, base)["libraries_per_10000_residents"].isna().tolist()
    [False, True]
    """
    if indicator not in values.columns or OUTPUT_COLUMN not in base.columns:
        return values
    zero = base[OUTPUT_COLUMN].reindex(values.index).eq(0).fillna(False).to_numpy(dtype=bool)
    out = values.copy()
    out.loc[zero, indicator] = float("nan")
    return out


def zero_notes(counts: pd.DataFrame, codes: Iterable[str], snapshot: str,
               indicator: str = "libraries_per_10000_residents") -> pd.DataFrame:
    """Treatment rows (``istat_code``, ``indicator``, ``treatment``) for the cities with no registered library.

    Examples
    --------
    >>> counts = pd.DataFrame({"iccu_libraries": [8, 0]}, index=pd.Index(["077014", "085007"], name="istat_code"))
    >>> zero_notes(counts, ["077014", "085007"], "luglio 2020")["istat_code"].tolist()
    ['085007']
    """
    values = counts[OUTPUT_COLUMN].reindex(list(codes))
    zero = [code for code, value in values.items() if not pd.isna(value) and int(value) == 0]
    return pd.DataFrame({"istat_code": zero, "indicator": indicator, "treatment": zero_note(snapshot),
                         "kind": "register_gap"},
                        columns=["istat_code", "indicator", "treatment", "kind"])


def _check(path: Path) -> str | None:
    """None when ``path`` reads as ICCU's territorio file (zip or CSV), else what is wrong."""
    from cocity_analysis.sources.fetching import reader_check

    return reader_check(read_libraries)(path)


def fetch(dest_dir: str | Path = config.ICCU_RAW_DIR, *, mirror: str | Path | None = None,
          session: requests.Session | None = None, timeout: float = 120) -> dict:
    """Put ICCU's ``territorio`` file in ``dest_dir`` (mirror first, else download) and record it.

    With a mirror (``mirror`` or ``COCITY_DATA_MIRROR``) ``<mirror>/iccu/territorio.zip``
    or ``<mirror>/iccu/territorio.csv`` is copied and the network is never used;
    without one :data:`URL` is downloaded. The file is checked to be readable by
    :func:`read_libraries` before it replaces anything.

    Returns
    -------
    dict
        The provenance entry (``file``, ``url``, ``mirror_path``, ``sha256``,
        ``size``, ``retrieved_at``, ``snapshot``).

    Examples
    --------
    >>> fetch(mirror="/data/mirror")["file"]  # doctest: +SKIP
    'territorio.csv'
    """
    from cocity_analysis.sources.fetching import fetch_file, http_download, mirror_dir

    download = http_download(URL, session, timeout)

    from_mirror = mirror_dir(mirror) is not None
    return fetch_file(source="iccu", label="ICCU Anagrafe delle biblioteche (territorio)",
                      names=[ZIP_NAME, CSV_NAME], dest_dir=dest_dir, download=download, check=_check,
                      mirror=mirror, how_to_get=f"download it from {URL} (page {SOURCE_PAGE})", url=URL,
                      extra={"publisher": PUBLISHER, "dataset": DATASET,
                             "snapshot": MIRROR_SNAPSHOT if from_mirror else None})


def find_local(raw_dir: str | Path = config.ICCU_RAW_DIR) -> Path | None:
    """The fetched ``territorio.zip`` (else ``territorio.csv``) in ``raw_dir``, or None."""
    for name in (ZIP_NAME, CSV_NAME):
        candidate = Path(raw_dir) / name
        if candidate.is_file():
            return candidate
    return None


def snapshot_of(path: Path, provenance: dict | None) -> str:
    """Date of the register's snapshot, in Italian: the mirror's stated date, else the download date."""
    entry = (provenance or {}).get(Path(path).name, {})
    mirror = config.data_mirror()
    if not entry and mirror is not None and Path(path).resolve().parent == (mirror / "iccu").resolve():
        return MIRROR_SNAPSHOT  # the mirror's file read in place (tests, `prepare --iccu-dir <mirror>/iccu`)
    if entry.get("snapshot"):
        return str(entry["snapshot"])
    retrieved = entry.get("retrieved_at")
    if retrieved:
        return f"scaricato il {retrieved[:10]}"
    return "data dell'estrazione non registrata"
