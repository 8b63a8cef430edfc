"""ISTAT, 15th population and housing census 2011: census variables by census area, per today's municipality.

ISTAT distributes the *variabili censuarie* of 2011 in ``dati-cpa_2011.zip``
(:data:`CENSUS_URL`): one ``;``-separated cp1252 file per region,
``Aree di Censimento/R01_indicatori_2011_areecensimento.csv`` ... ``R20_...``
(one row per census area, ``ACE``; only the municipalities divided into areas),
the same variables per census section in ``Sezioni di Censimento/`` (every
municipality), and ``tracciato_*.csv``, the dictionary of the variables.
ISTAT's list of the municipalities of 2011 with their census population
(``Elenco_comuni_2011.csv``, inside :data:`MUNICIPALITIES_URL`) is the
reference for the codes and for the conservation check.

:func:`load` reads the files unchanged (from the fetched folder, laid out as in
the zip, or from the zip itself) and:

* validates every region file against the tracciato (a variable missing, a
  column the tracciato does not define, a cell that is not a whole number) and
  every ``PROCOM`` (2011 code written without leading zeros) against the 2011
  list: each problem is one :class:`~cocity_analysis.errors.InputFileError`
  naming file, row and column;
* sums the areas into 2011 municipalities and checks, for each, that the sum
  of ``P1`` (residents) equals ``POP_2011`` of the 2011 list
  (:class:`CensusConservationError` otherwise);
* carries 2011 codes to today's through ISTAT's file of municipal changes
  (events after census day only: Carbonia 107003 -> 111009, Olbia 104017 ->
  090047, Corigliano Calabro 078044 + Rossano 078108 -> Corigliano-Rossano
  078157). A municipality of today gets figures only when **every** 2011
  predecessor is in the files; otherwise it is missing, and the reason names
  the absent predecessor (Corigliano-Rossano is never given Rossano's figures).

Counts follow the 2011 boundaries: transfers of territory between municipalities
after 2011 (ISTAT's ``AQ``/``CE`` events) are not redistributed.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from cocity_analysis import config
from cocity_analysis.errors import CocityError, InputFileError
from cocity_analysis.fileio import sha256_file
from cocity_analysis.sources import changes as municipal_changes

CENSUS_URL = "https://www.istat.it/storage/cartografia/variabili-censuarie/dati-cpa_2011.zip"
MUNICIPALITIES_URL = ("https://www.istat.it/storage/cartografia/confini_amministrativi/non_generalizzati/2011/"
                      "Limiti_2011_WGS84.zip")
CENSUS_ZIP = "dati-cpa_2011.zip"
MUNICIPALITIES_FILE = "Elenco_comuni_2011.csv"
CENSUS_DAY = "2011-10-09"
REGIONS = tuple(f"R{number:02d}" for number in range(1, 21))
PREFIX = "census2011_"


@dataclass(frozen=True)
class Level:
    """A territorial level of ``dati-cpa_2011.zip``: its folder and file names."""

    name: str
    folder: str
    pattern: str  # region file name, with {region}
    tracciato: str


LEVELS = {
    "areas": Level("areas", "Aree di Censimento", "{region}_indicatori_2011_areecensimento.csv",
                   "tracciato_2011_areecensimento.csv"),
    "sections": Level("sections", "Sezioni di Censimento", "{region}_indicatori_2011_sezioni.csv",
                      "tracciato_2011_sezioni.csv"),
}

#: Census variables used by the indicators of the catalogue (codes of the tracciato).
VARIABLES = ("P1", "P2", "P14", "P15", "P16", "P30", "P31", "P32", "P46", "P47", "P48", "P49", "P50", "P51",
             "P52", "P60", "P61", "P62", "P64", "P65", "P128", "P130", "P131", "P132", "ST15",
             "A2", "A44", "A46", "A47", "A48", "PF1", "PF2", "PF3", "PF7", "PF8", "PF9", "E3", "E30", "E31")

_VARIABLE = re.compile(r"(?:P|ST|A|PF|E)\d+")
_DIGITS = re.compile(r"\d+")


class CensusConservationError(CocityError):
    """The residents of a municipality's areas do not add up to its census population."""


def column_name(variable: str) -> str:
    """Output column of a census variable: ``P60`` -> ``census2011_P60``."""
    return PREFIX + variable


# --------------------------------------------------------------------------- reading


class _Files:
    """The census files, from a folder laid out as the zip or from the zip itself."""

    def __init__(self, root: Path):
        self.root = root
        archive = root if root.is_file() else root / CENSUS_ZIP
        self.zip = zipfile.ZipFile(archive) if archive.is_file() and zipfile.is_zipfile(archive) else None
        self.zip_path = archive if self.zip else None
        self._members = {}
        if self.zip:
            for name in self.zip.namelist():
                parts = Path(name).parts
                if len(parts) >= 2:
                    self._members[(parts[-2], parts[-1])] = name

    def label(self, folder: str, name: str) -> str:
        if self.zip:
            return f"{self.zip_path}::{self._members.get((folder, name), f'{folder}/{name}')}"
        return str(self.root / folder / name)

    def exists(self, folder: str, name: str) -> bool:
        return (folder, name) in self._members if self.zip else (self.root / folder / name).is_file()

    def listing(self, folder: str) -> list[str]:
        if self.zip:
            return sorted(name for (parent, name) in self._members if parent == folder)
        target = self.root / folder
        return sorted(p.name for p in target.iterdir()) if target.is_dir() else []

    def read(self, folder: str, name: str) -> bytes:
        if self.zip:
            return self.zip.read(self._members[(folder, name)])
        return (self.root / folder / name).read_bytes()

    def sha256(self, folder: str, name: str) -> str:
        if self.zip:
            import hashlib

            return hashlib.sha256(self.read(folder, name)).hexdigest()
        return sha256_file(self.root / folder / name)


def _decode(data: bytes, label: str) -> str:
    if not data.strip():
        raise InputFileError(label, "file is empty")
    if data.startswith(b"\xef\xbb\xbf"):
        return data.decode("utf-8-sig")
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise InputFileError(label, f"not Windows-1252 text as ISTAT publishes it ({exc.reason} at byte "
                                    f"{exc.start})") from None


def _rows(text: str) -> Iterable[tuple[int, list[str]]]:
    """(1-based line where the record starts, fields) of a ``;`` CSV, header included."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    start = 1
    for fields in reader:
        yield start, fields
        start = reader.line_num + 1


def read_tracciato(files: _Files, level: Level) -> dict[str, str]:
    """Variable code -> definition, from ISTAT's tracciato (identifier fields included)."""
    label = files.label(level.folder, level.tracciato)
    if not files.exists(level.folder, level.tracciato):
        raise InputFileError(label, "the dictionary of the census variables (tracciato) is missing; "
                                    f"fetch the census with `cocity fetch istat_census2011`")
    rows = list(_rows(_decode(files.read(level.folder, level.tracciato), label)))
    header = [name.strip() for name in rows[0][1]]
    if header[:2] != ["Nome Campo", "Definizione"]:
        raise InputFileError(label, f"expected the columns 'Nome Campo;Definizione', found {';'.join(header)}",
                             row=1)
    out = {}
    for line, fields in rows[1:]:
        if not any(value.strip() for value in fields):
            continue
        if len(fields) < 2 or not fields[0].strip():
            raise InputFileError(label, "a variable without code or definition", row=line, column="Nome Campo")
        out[fields[0].strip()] = fields[1].strip()
    return out


def read_municipalities_2011(path: str | Path) -> pd.DataFrame:
    """ISTAT's list of the municipalities of 2011 (``Elenco_comuni_2011.csv``).

    Header cells spanning lines, decimal commas and trailing empty columns are
    handled; codes become 6-character strings.

    Returns
    -------
    DataFrame
        Indexed by ``istat_code_2011``, columns ``name`` and ``pop_2011`` (int64).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(path, "file not found; fetch it with `cocity fetch istat_census2011`") from None
    rows = _rows(_decode(data, str(path)))
    _, header = next(rows)
    header = [re.sub(r"\s+", "", name) for name in header]
    needed = ("PRO_COM", "NOME", "POP_2011")
    missing = [name for name in needed if name not in header]
    if missing:
        raise InputFileError(path, f"missing column(s) {', '.join(missing)}; columns present: "
                                   f"{', '.join(h for h in header if h)}", row=1, column=missing[0])
    at = {name: header.index(name) for name in needed}
    records, seen = [], {}
    for line, fields in rows:
        if not any(value.strip() for value in fields):
            continue
        if len(fields) <= max(at.values()):
            raise InputFileError(path, f"{len(fields)} fields, fewer than the header's", row=line)
        code = fields[at["PRO_COM"]].strip()
        if not re.fullmatch(r"\d{4,6}", code):
            raise InputFileError(path, f"municipality code {code!r} is not a number of 4 to 6 digits",
                                 row=line, column="PRO_COM")
        code = code.zfill(6)
        if code in seen:
            raise InputFileError(path, f"code {code} appears twice (lines {seen[code]} and {line})", row=line,
                                 column="PRO_COM")
        seen[code] = line
        population = fields[at["POP_2011"]].strip().replace(".", "").replace(",", ".")
        try:
            value = float(population)
        except ValueError:
            value = float("nan")
        if not value == value or value != int(value) or value < 0:
            raise InputFileError(path, f"census population {fields[at['POP_2011']]!r} is not a whole number",
                                 row=line, column="POP_2011")
        records.append((code, fields[at["NOME"]].strip(), int(value)))
    frame = pd.DataFrame.from_records(records, columns=["istat_code_2011", "name", "pop_2011"])
    return frame.set_index("istat_code_2011").astype({"pop_2011": "int64"})


def _parse_region_fast(records: list, header: list[str], procom: int, positions: list[int],
                       known: set) -> tuple[list, list, np.ndarray] | None:
    """(codes, lines, int64 matrix) of a region file's records in vectorised steps, or None when any row or
    cell would be an error of :func:`_parse_region_checked` (which then names it)."""
    codes, lines, kept = [], [], []
    for line, fields in records:
        if not any(value.strip() for value in fields):
            continue
        code = fields[procom].strip() if len(fields) == len(header) else ""
        if not code.isdecimal() or len(code) > 6 or code.zfill(6) not in known:
            return None
        codes.append(code.zfill(6))
        lines.append(line)
        kept.append(fields)
    if not kept:
        return codes, lines, np.zeros((0, len(positions)), dtype="int64")
    cells = np.char.strip(np.array(kept, dtype=str)[:, positions])
    # \d+ (the checked reading) is str.isdecimal; beyond 18 digits int64 could overflow
    if not np.char.isdecimal(cells).all() or np.char.str_len(cells).max() > 18:
        return None
    return codes, lines, cells.astype("int64")


def _parse_region_checked(label: str, records: list, header: list[str], procom: int, positions: list[int],
                          wanted: list[str], known: set) -> tuple[list, list, np.ndarray]:
    """What :func:`_parse_region_fast` returns, row by row and cell by cell: raises on the first error."""
    codes, lines, matrix = [], [], []
    for line, fields in records:
        if not any(value.strip() for value in fields):
            continue
        if len(fields) != len(header):
            raise InputFileError(label, f"{len(fields)} fields where the header has {len(header)}", row=line)
        code = fields[procom].strip()
        if not _DIGITS.fullmatch(code) or len(code) > 6:
            raise InputFileError(label, f"municipality code {code!r} is not a 2011 ISTAT code", row=line,
                                 column="PROCOM")
        code = code.zfill(6)
        if code not in known:
            raise InputFileError(label, f"2011 municipality code {code} is not in ISTAT's list of the "
                                        f"municipalities of 2011 ({MUNICIPALITIES_FILE})", row=line,
                                 column="PROCOM")
        values = []
        for position, variable in zip(positions, wanted):
            cell = fields[position].strip()
            if not _DIGITS.fullmatch(cell):
                raise InputFileError(label, f"{variable} = {fields[position]!r} is not a whole number", row=line,
                                     column=variable)
            values.append(int(cell))
        codes.append(code)
        lines.append(line)
        matrix.append(values)
    return codes, lines, np.array(matrix, dtype="int64").reshape(len(matrix), len(wanted))


def _read_region(files: _Files, level: Level, region: str, variables: dict[str, str],
                 municipalities: pd.DataFrame) -> pd.DataFrame:
    """One region file: (PROCOM as 6-digit 2011 code, variables as int64), validated."""
    name = level.pattern.format(region=region)
    label = files.label(level.folder, name)
    text = _decode(files.read(level.folder, name), label)
    rows = iter(_rows(text))
    _, header = next(rows)
    header = [value.strip() for value in header]
    for column in header:
        if column not in variables:
            raise InputFileError(label, f"column {column!r} is not defined in the tracciato {level.tracciato}",
                                 row=1, column=column)
    wanted = [code for code in variables if _VARIABLE.fullmatch(code)]
    missing = [code for code in wanted if code not in header]
    if missing:
        raise InputFileError(label, f"census variable {missing[0]} ({variables[missing[0]]}) is missing"
                                    + (f", and {len(missing) - 1} more" if len(missing) > 1 else ""),
                             row=1, column=missing[0])
    if "PROCOM" not in header:
        raise InputFileError(label, "column PROCOM (municipality code) is missing", row=1, column="PROCOM")
    procom = header.index("PROCOM")
    positions = [header.index(code) for code in wanted]
    known = set(municipalities.index.tolist())  # tolist: iterating an arrow-backed index is slow
    records = list(rows)
    parsed = _parse_region_fast(records, header, procom, positions, known)
    if parsed is None:  # some row or cell is wrong: the row-by-row reading names the first one
        parsed = _parse_region_checked(label, records, header, procom, positions, wanted, known)
    codes, lines, matrix = parsed
    frame = pd.DataFrame(matrix, columns=wanted)
    frame.insert(0, "istat_code_2011", codes)
    frame.insert(1, "line", lines)
    frame.attrs["label"] = label
    return frame


# --------------------------------------------------------------------------- result


@dataclass
class Census2011:
    """What :func:`load` returns.

    Attributes
    ----------
    values : DataFrame
        Indexed by today's ``istat_code`` (6-character strings), float columns
        ``census2011_<VAR>``; one row per municipality of today with figures.
    missing : dict
        Today's code -> ``{"it": ..., "en": ...}``: why a municipality of the
        list in use has no figure (not divided into census areas, a predecessor
        absent, no 2011 predecessor).
    report : dict
        Reconciliation: files, rows, conservation per municipality, codes
        carried forward, merged municipalities, 2011 codes not carried.
    provenance : list of dict
        One record per file read (name, sha256, role).
    """

    values: pd.DataFrame
    missing: dict
    report: dict
    provenance: list = field(default_factory=list)


def find_local(raw_dir: str | Path = config.ISTAT_CENSUS2011_RAW_DIR, level: str = "areas") -> Path | None:
    """``raw_dir`` when it holds the census (zip or folder) and the 2011 list, else None."""
    raw_dir = Path(raw_dir)
    if not (raw_dir / MUNICIPALITIES_FILE).is_file():
        return None
    if (raw_dir / CENSUS_ZIP).is_file() or (raw_dir / LEVELS[level].folder).is_dir():
        return raw_dir
    return None


def _reason(kind: str, **names) -> dict:
    texts = {
        "not_in_files": (
            "il comune non è suddiviso in aree di censimento nel 2011 e non compare nei file ISTAT per area "
            "(dati-cpa_2011)",
            "the municipality was not divided into census areas in 2011 and is not in ISTAT's area files "
            "(dati-cpa_2011)"),
        "predecessor_absent": (
            "dopo il 2011 questo comune riunisce {all_it}: nei file del censimento 2011 per area manca {absent_it}, "
            "quindi il dato del comune attuale non è calcolabile (non si usano i dati dei soli altri comuni)",
            "since 2011 this municipality joins {all_en}: {absent_en} is absent from the 2011 census area files, "
            "so today's municipality has no figure (the other predecessors alone are not used)"),
        "unconserved": (
            "nei file ISTAT per area i residenti di {name} ({code}) sommano a {p1}, ma la popolazione censita "
            "del 2011 è {pop}: i dati non tornano e non vengono usati",
            "in ISTAT's area files the residents of {name} ({code}) add up to {p1}, but its 2011 census "
            "population is {pop}: the figures do not reconcile and are not used"),
        "no_predecessor": (
            "nessun comune del 2011 corrisponde a questo codice{hint_it}",
            "no municipality of 2011 corresponds to this code{hint_en}"),
    }
    italian, english = texts[kind]
    return {"it": italian.format(**names), "en": english.format(**names)}


def load(raw_dir: str | Path = config.ISTAT_CENSUS2011_RAW_DIR, *, current_codes: Iterable[str] | None = None,
         changes: pd.DataFrame | None = None, level: str = "areas",
         variables: Iterable[str] | str | None = VARIABLES, on_mismatch: str = "exclude") -> Census2011:
    """Census 2011 variables summed by today's municipality.

    Parameters
    ----------
    raw_dir : path
        Folder holding ``Elenco_comuni_2011.csv`` and either ``dati-cpa_2011.zip``
        or the extracted folder (``Aree di Censimento/...``) as in the zip.
    current_codes : iterable of str, optional
        Today's ISTAT codes (the list in use). Default: the 2011 codes carried
        to the end of the changes file.
    changes : DataFrame, optional
        ISTAT's changes (:func:`changes.load_changes`); default the fetched file.
        :func:`changes.empty_changes` keeps 2011 codes as they are: those that
        are not current are then reported, never silently dropped.
    level : {"areas", "sections"}
        ACE files (default) or section files (same layout, ``Sezioni di Censimento/``).
    variables : iterable of str, "all" or None
        Variables to return (default :data:`VARIABLES`); ``"all"`` or None:
        every variable of the tracciato.
    on_mismatch : {"exclude", "raise"}
        A 2011 municipality whose units' ``P1`` does not add up to its
        ``POP_2011``: left without figures, with the reason, and listed in the
        report (default; the real files have two: Settimo Torinese, Termini
        Imerese), or :class:`CensusConservationError`.

    Returns
    -------
    Census2011

    Raises
    ------
    InputFileError
        A region file or the tracciato missing, a variable missing or not in the
        tracciato, a cell that is not a whole number, a 2011 code not in the
        2011 list (file, row, column named).
    CensusConservationError
        With ``on_mismatch="raise"``: a 2011 municipality whose areas' ``P1``
        does not add up to ``POP_2011``.

    Examples
    --------
    >>> census = load(current_codes=istat_comuni.load().index)  # doctest: +SKIP
    >>> census.values.loc["111009", "census2011_P1"]  # Carbonia, 2011 code 107003  # doctest: +SKIP
    28882.0
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}")
    spec = LEVELS[level]
    raw_dir = Path(raw_dir)
    files = _Files(raw_dir)
    if not files.zip and not (raw_dir / spec.folder).is_dir():
        raise InputFileError(raw_dir / spec.folder, f"folder of the census files ({spec.folder}) not found, nor "
                                                    f"{raw_dir / CENSUS_ZIP}; fetch them with "
                                                    "`cocity fetch istat_census2011`")
    municipalities = read_municipalities_2011(raw_dir / MUNICIPALITIES_FILE)
    dictionary = read_tracciato(files, spec)
    if variables in (None, "all"):
        chosen = [code for code in dictionary if _VARIABLE.fullmatch(code)]
    else:
        chosen = list(variables)
        unknown = [code for code in chosen if code not in dictionary]
        if unknown:
            raise InputFileError(files.label(spec.folder, spec.tracciato),
                                 f"census variable(s) {', '.join(unknown)} not defined in the tracciato; "
                                 f"candidates: {', '.join(c for c in dictionary if _VARIABLE.fullmatch(c))}")
    absent = [spec.pattern.format(region=r) for r in REGIONS if not files.exists(spec.folder,
                                                                                 spec.pattern.format(region=r))]
    if absent:
        raise InputFileError(files.label(spec.folder, absent[0]),
                             f"region file(s) missing from the census files: {', '.join(absent)}; present: "
                             f"{', '.join(files.listing(spec.folder)) or 'none'}")

    provenance = [{"role": "istat_census2011:municipalities_2011", "name": MUNICIPALITIES_FILE,
                   "sha256": sha256_file(raw_dir / MUNICIPALITIES_FILE)},
                  {"role": "istat_census2011:tracciato", "name": f"{spec.folder}/{spec.tracciato}",
                   "sha256": files.sha256(spec.folder, spec.tracciato)}]
    parts, rows_read = [], 0
    for region in REGIONS:
        name = spec.pattern.format(region=region)
        part = _read_region(files, spec, region, dictionary, municipalities)
        rows_read += len(part)
        parts.append(part)
        provenance.append({"role": f"istat_census2011:{level}", "name": f"{spec.folder}/{name}",
                           "sha256": files.sha256(spec.folder, name), "rows": int(len(part))})
    every = [code for code in dictionary if _VARIABLE.fullmatch(code)]
    areas = pd.concat([p[["istat_code_2011", *every]] for p in parts], ignore_index=True)
    by_2011 = areas.groupby("istat_code_2011", sort=True)[every].sum()
    units = areas.groupby("istat_code_2011", sort=True).size()

    if on_mismatch not in ("exclude", "raise"):
        raise ValueError("on_mismatch must be 'exclude' or 'raise'")
    conservation = _check_conservation(by_2011, units, municipalities, on_mismatch)
    unconserved = {row["istat_code_2011"]: row for row in conservation["disagreeing"]}

    changes = municipal_changes.load_changes() if changes is None else changes
    resolved = municipal_changes.resolve_codes(municipalities.index, changes, current_codes, since=CENSUS_DAY)
    current = set(current_codes) if current_codes is not None else {c for c in resolved.values() if c}
    predecessors: dict[str, list[str]] = {}
    for old, new in resolved.items():
        if new is not None:
            predecessors.setdefault(new, []).append(old)
    not_carried = sorted(old for old, new in resolved.items() if new is None)

    present = set(by_2011.index)
    values, missing, merged = {}, {}, []
    for code in sorted(current):
        olds = sorted(predecessors.get(code, []))
        if not olds:
            hint = ("" if len(changes) else " (il file ISTAT delle variazioni dei comuni non era disponibile)",
                    "" if len(changes) else " (ISTAT's file of municipal changes was not available)")
            missing[code] = _reason("no_predecessor", hint_it=hint[0], hint_en=hint[1])
            continue
        lacking = [old for old in olds if old not in present]
        if lacking and len(lacking) == len(olds):
            missing[code] = _reason("not_in_files")
            continue
        if len(olds) > 1:
            entry = {"istat_code": code, "predecessors_2011": olds, "absent": lacking}
            merged.append(entry)
        mismatched = [old for old in olds if old in unconserved]
        if mismatched:
            row = unconserved[mismatched[0]]
            missing[code] = _reason("unconserved", name=row["name_2011"], code=row["istat_code_2011"],
                                    p1=row["p1_sum"], pop=row["pop_2011"])
            continue
        if lacking:
            def names(codes):
                return ", ".join(f"{municipalities.at[c, 'name']} ({c})" for c in codes)
            missing[code] = _reason("predecessor_absent", all_it=names(olds), all_en=names(olds),
                                    absent_it=names(lacking), absent_en=names(lacking))
            continue
        values[code] = olds
    # each municipality of today: the sum of its 2011 predecessors' figures (integers, so exact in any order)
    successor = pd.Series({old: code for code, olds in values.items() for old in olds}, dtype=object)
    out = (by_2011.loc[successor.index].groupby(successor.to_numpy(), sort=True).sum()
           .reindex(columns=every).astype("float64"))
    out.index = pd.Index(out.index.astype(str), name="istat_code")
    out = out[chosen].rename(columns=column_name).sort_index()

    carried = {old: new for old, new in resolved.items() if new is not None and new != old and old in present}
    report = {
        "dataset": "ISTAT, 15° Censimento generale della popolazione e delle abitazioni 2011, variabili "
                   f"censuarie per {'area di censimento' if level == 'areas' else 'sezione di censimento'}",
        "level": level,
        "source": str(files.zip_path or raw_dir / spec.folder),
        "rows_read": int(rows_read),
        "municipalities_2011_in_files": int(len(by_2011)),
        "municipalities_2011_listed": int(len(municipalities)),
        "conservation": conservation,
        "codes_carried_forward": [{"istat_code_2011": old, "istat_code": new,
                                   "name_2011": municipalities.at[old, "name"]} for old, new in sorted(carried.items())],
        "merged": merged,
        "codes_2011_not_carried": [{"istat_code_2011": old, "name_2011": municipalities.at[old, "name"],
                                    "in_files": old in present} for old in not_carried],
        "municipalities_with_values": int(len(out)),
        "changes_events_used": int(len(changes)),
    }
    return Census2011(values=out, missing=missing, report=report, provenance=provenance)


def _check_conservation(by_2011: pd.DataFrame, units: pd.Series, municipalities: pd.DataFrame,
                        on_mismatch: str) -> dict:
    """Per 2011 municipality in the files: sum of P1 over its units = POP_2011 of the 2011 list."""
    listed = municipalities["pop_2011"].reindex(by_2011.index)
    summed = by_2011["P1"]
    bad = summed.index[(summed != listed).to_numpy()]
    disagreeing = [{"istat_code_2011": code, "name_2011": municipalities.at[code, "name"],
                    "units": int(units[code]), "p1_sum": int(summed[code]), "pop_2011": int(listed[code])}
                   for code in bad]
    if disagreeing and on_mismatch == "raise":
        first = disagreeing[0]
        raise CensusConservationError(
            f"census 2011: the residents (P1) of the {first['units']} census units of {first['name_2011']} "
            f"({first['istat_code_2011']}) add up to {first['p1_sum']}, but {MUNICIPALITIES_FILE} gives "
            f"POP_2011 = {first['pop_2011']}"
            + (f" ({len(bad) - 1} more municipalities disagree)" if len(bad) > 1 else "")
            + "; check that the files belong together (fetch both again with `cocity fetch istat_census2011`)")
    return {"municipalities_checked": int(len(summed)), "municipalities_equal": int(len(summed) - len(bad)),
            "residents_p1": int(summed.sum()), "residents_pop_2011": int(listed.sum()),
            "all_equal": not disagreeing, "disagreeing": disagreeing,
            "rule": "sum of P1 over the census units of a municipality = POP_2011 of Elenco_comuni_2011.csv; "
                    "a municipality that disagrees gets no census figure (missing, with the reason)"}


# --------------------------------------------------------------------------- fetch


def _check_zip(path: Path) -> str | None:
    if not zipfile.is_zipfile(path):
        return f"not a zip archive (starts with {path.read_bytes()[:60]!r})"
    with zipfile.ZipFile(path) as archive:
        folders = {Path(name).parent.name for name in archive.namelist()}
    if LEVELS["areas"].folder not in folders:
        return f"a zip without the folder {LEVELS['areas'].folder!r}"
    return None


def _check_census_csv(path: Path) -> str | None:
    head = path.read_bytes()[:40].decode("cp1252", errors="replace")
    if not (head.startswith("CODREG;") or head.startswith("Nome Campo;")):
        return f"not an ISTAT census 2011 file (starts with {head!r})"
    return None


def _check_municipalities(path: Path) -> str | None:
    head = path.read_bytes()[:40].decode("cp1252", errors="replace")
    if not head.startswith("RIPARTIZIONE;"):
        return f"not ISTAT's list of the municipalities of 2011 (starts with {head!r})"
    return None


def _download(url: str, session=None):
    from cocity_analysis.sources.fetching import http_download

    return http_download(url, session, timeout=300)


def fetch(dest_dir: str | Path | None = None, *, mirror: str | Path | None = None, session=None) -> list[dict]:
    """Put the census 2011 files and the 2011 municipal list in ``dest_dir``.

    With a mirror: ``<mirror>/istat_census2011/dati-cpa_2011.zip`` when there,
    else the extracted folder (``Aree di Censimento/R01..R20_...``, the
    tracciato), copied with the same layout (about 1.4 MB); and
    ``<mirror>/istat_census2011/Elenco_comuni_2011.csv``. Online:
    :data:`CENSUS_URL` (kept as a zip, read in place) and the member
    ``Elenco_comuni_2011.csv`` of :data:`MUNICIPALITIES_URL`. Every file gets an
    entry in the ``provenance.json`` of its folder. Nothing fetched goes into git
    (``data/raw/`` is ignored).

    Returns
    -------
    list of dict
        The provenance entries written.
    """
    from cocity_analysis.sources import fetching

    dest_dir = Path(dest_dir) if dest_dir is not None else config.ISTAT_CENSUS2011_RAW_DIR
    mirror_folder = fetching.mirror_dir(mirror)
    entries = []
    level = LEVELS["areas"]
    label = "ISTAT, censimento 2011, variabili censuarie (dati-cpa_2011)"
    if mirror_folder is not None and not fetching.find_in_mirror(mirror_folder, "istat_census2011", [CENSUS_ZIP]):
        names = [level.tracciato, *(level.pattern.format(region=r) for r in REGIONS)]
        for name in names:
            entries.append(fetching.fetch_file(
                source="istat_census2011", label=f"{label}: {name}", names=[f"{level.folder}/{name}"],
                dest_dir=dest_dir / level.folder, download=_download(CENSUS_URL, session),
                check=_check_census_csv, mirror=mirror_folder,
                how_to_get=f"extract {level.folder}/ from {CENSUS_URL}",
                extra={"dataset": "Variabili censuarie per area di censimento (dati-cpa_2011)",
                       "reference_date": CENSUS_DAY}))
        stale = dest_dir / CENSUS_ZIP
        if stale.exists():
            stale.unlink()  # the folder just copied is the one to read
    else:
        entries.append(fetching.fetch_file(
            source="istat_census2011", label=label, names=[CENSUS_ZIP], dest_dir=dest_dir,
            download=_download(CENSUS_URL, session), check=_check_zip, mirror=mirror_folder, url=CENSUS_URL,
            how_to_get=CENSUS_URL,
            extra={"dataset": "Variabili censuarie per area di censimento (dati-cpa_2011)",
                   "reference_date": CENSUS_DAY}))
    entries.append(fetching.fetch_file(
        source="istat_census2011", label="ISTAT, elenco dei comuni 2011 (Limiti_2011_WGS84)",
        names=[MUNICIPALITIES_FILE], dest_dir=dest_dir,
        download=municipal_changes._zip_member_download(MUNICIPALITIES_URL, MUNICIPALITIES_FILE, session),
        check=_check_municipalities, mirror=mirror_folder, url=MUNICIPALITIES_URL,
        how_to_get=f"the member {MUNICIPALITIES_FILE} of {MUNICIPALITIES_URL}",
        extra={"dataset": "Elenco dei comuni 2011 con popolazione censita", "reference_date": CENSUS_DAY}))
    return entries
