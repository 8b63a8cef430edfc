"""Municipality names -> ISTAT codes, never by silent guess.

Names arrive written in many ways (``Cava de' Tirreni``, ``Cava de’ Tirreni``,
``CAVA DE TIRRENI``, ``Corigliano Rossano``, ``Barleta``). :func:`resolve` maps
each one onto the current ISTAT list of municipalities
(:mod:`cocity_analysis.sources.istat_comuni`):

1. an ISTAT code (``"064008"``, ``"64008"``) is looked up directly;
2. an optional province in parentheses restricts the search: ``Castro (LE)``
   (vehicle abbreviation) or ``Castro (Lecce)`` (province name);
3. the name is reduced with :func:`~cocity_analysis.sources.cleaning.normalise_name`
   (case, accents, apostrophes, hyphens) and an exact match wins;
4. otherwise a typo is accepted only when one name scores at least
   :data:`FUZZY_THRESHOLD` (``rapidfuzz`` ratio, 0-100) *and* leads the
   runner-up by at least :data:`FUZZY_MARGIN` points, and that name belongs to
   one municipality only;
5. everything else (unknown, ambiguous like bare ``Castro``) raises
   :class:`~cocity_analysis.errors.NameResolutionError` listing the candidates
   as ``official name (province) code``. When several names fail, one
   :class:`UnresolvedNamesError` covers them all.

Examples
--------
>>> resolve(["Matera", "CAVA DE TIRRENI", "Barleta", "64008"])[["input", "istat_code", "name"]]  # doctest: +SKIP
             input istat_code              name
0           Matera     077014            Matera
1  CAVA DE TIRRENI     065037  Cava de' Tirreni
2          Barleta     110002          Barletta
3            64008     064008          Avellino
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence, TextIO

import pandas as pd
from rapidfuzz import fuzz, process

from cocity_analysis import config
from cocity_analysis.sources.cleaning import as_list, normalise_name
from cocity_analysis.errors import CocityError, InputFileError, NameResolutionError

__all__ = [
    "FUZZY_MARGIN",
    "FUZZY_THRESHOLD",
    "RESULT_COLUMNS",
    "UnresolvedNamesError",
    "cli_resolve",
    "load_cms_cities",
    "resolve",
    "resolve_one",
]

#: Minimum rapidfuzz ``ratio`` (0-100) for a typo to be accepted (``Barleta`` -> 93.3).
FUZZY_THRESHOLD = 90.0
#: Minimum lead of the best fuzzy score over the runner-up name.
FUZZY_MARGIN = 5.0
#: How many candidates an error lists.
MAX_CANDIDATES = 5
#: Columns of the frame returned by :func:`resolve`.
RESULT_COLUMNS = ["input", "istat_code", "name", "province_abbr", "region"]
CMS_CITY_COLUMN = "city"

_CODE = re.compile(r"^\d{1,6}$")
_PROVINCE_SUFFIX = re.compile(r"^(?P<name>.*?)\s*\(\s*(?P<province>[^()]*?)\s*\)\s*$")


class UnresolvedNamesError(NameResolutionError):
    """Several names failed: one error covering all of them.

    Attributes
    ----------
    errors : list of NameResolutionError
        One error per failed name, in input order.
    names : list of str
        The failed names.
    """

    def __init__(self, errors: Sequence[NameResolutionError], total: int | None = None):
        self.errors = list(errors)
        self.names = [error.name for error in self.errors]
        self.name = ", ".join(self.names)
        self.candidates = [c for error in self.errors for c in error.candidates]
        of = f" of {total}" if total is not None else ""
        self.reason = f"{len(self.errors)}{of} names could not be resolved"
        lines = [self.reason + ":"] + [f"  - {error}" for error in self.errors]
        CocityError.__init__(self, "\n".join(lines))


@dataclass(frozen=True)
class _Index:
    """Lookup tables built once from a municipalities frame."""

    frame: pd.DataFrame                      # indexed by istat_code: name, province_abbr, region
    by_key: dict[str, tuple[str, ...]]       # normalised name -> codes
    by_accented_key: dict[str, tuple[str, ...]]  # same, accents kept (Paternò vs Paterno)
    provinces: dict[str, str]                # normalised province name or abbr -> abbr
    abbr_of: dict[str, str]                  # code -> province abbr

    def describe(self, code: str) -> str:
        row = self.frame.loc[code]
        return f"{row['name']} ({row['province_abbr']}) {code}"


def _build_index(municipalities: pd.DataFrame) -> _Index:
    required = ["name", "province_abbr", "region"]
    missing = [c for c in required if c not in municipalities.columns]
    if missing:
        raise ValueError(f"municipalities frame lacks column(s) {missing}; expected the output of "
                         f"cocity_analysis.sources.istat_comuni.load()")
    frame = municipalities.copy()
    frame.index = frame.index.astype(str)
    keys: dict[str, list[str]] = defaultdict(list)
    accented: dict[str, list[str]] = defaultdict(list)

    def add(text, code):
        if isinstance(text, str) and text.strip():
            plain = normalise_name(text)
            # an ASCII name has no accent to keep: both keys are the same (half the work on ~8,000 names)
            with_accents = plain if text.isascii() else normalise_name(text, keep_accents=True)
            for table, key in ((keys, plain), (accented, with_accents)):
                if code not in table[key]:
                    table[key].append(code)

    full_names = frame["name_full"] if "name_full" in frame.columns else pd.Series(None, index=frame.index)
    for code, name, full in zip(as_list(frame.index), as_list(frame["name"]), as_list(full_names)):
        texts = [name]
        if isinstance(full, str):
            texts += [full, *full.split("/")]  # bilingual names, e.g. Bolzano/Bozen
        # most names equal their full form: each distinct text is normalised once per code
        for text in dict.fromkeys(texts):
            add(text, code)
    provinces = {}
    for abbr in frame["province_abbr"].dropna().unique():
        provinces[str(abbr).upper()] = str(abbr)
    if "province" in frame.columns:
        for name, abbr in frame[["province", "province_abbr"]].dropna().drop_duplicates().itertuples(index=False):
            provinces.setdefault(normalise_name(name), abbr)
            for part in str(name).split("/"):
                provinces.setdefault(normalise_name(part), abbr)
    return _Index(frame=frame, by_key={k: tuple(v) for k, v in keys.items()},
                  by_accented_key={k: tuple(v) for k, v in accented.items()}, provinces=provinces,
                  abbr_of=frame["province_abbr"].to_dict())


@functools.lru_cache(maxsize=1)
def _default_index() -> _Index:
    from cocity_analysis.sources import istat_comuni

    return _build_index(istat_comuni.load())


def _index_for(municipalities: pd.DataFrame | None) -> _Index:
    return _default_index() if municipalities is None else _build_index(municipalities)


def _candidates(index: _Index, key: str, keys: Iterable[str] | None = None) -> list[str]:
    """Closest names for an error message.

    Alternates the best by whole-name similarity (typos: ``Forano Canavese``)
    and by partial similarity (``WRatio``: ``Lamezia`` -> ``Lamezia Terme``).
    """
    choices = list(index.by_key) if keys is None else list(keys)
    if not key or not choices:
        return []
    rankings = [[choice for choice, _, _ in process.extract(key, choices, scorer=scorer, limit=MAX_CANDIDATES)]
                for scorer in (fuzz.ratio, fuzz.WRatio)]
    out: list[str] = []
    for pair in zip(*rankings):
        for choice in pair:
            for code in index.by_key[choice]:
                text = index.describe(code)
                if text not in out:
                    out.append(text)
    return out[:MAX_CANDIDATES]


def _resolve_code(index: _Index, text: str, digits: str) -> str:
    code = digits.zfill(6)
    if code not in index.frame.index:
        raise NameResolutionError(text, f"no municipality has ISTAT code {code} in the current ISTAT list")
    return code


def _resolve_text(index: _Index, text) -> str:
    """Return the ISTAT code of one input or raise NameResolutionError."""
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise NameResolutionError(str(text), f"expected a name or an ISTAT code, got {type(text).__name__}")
    raw = str(text)
    stripped = raw.strip()
    if not stripped:
        raise NameResolutionError(raw, "empty name")
    if _CODE.match(stripped):
        return _resolve_code(index, raw, stripped)

    name, province = stripped, None
    match = _PROVINCE_SUFFIX.match(stripped)
    if match and match["name"]:
        name = match["name"]
        wanted = match["province"]
        province = index.provinces.get(wanted.upper()) if len(wanted) == 2 else None
        province = province or index.provinces.get(normalise_name(wanted))
        if province is None:
            raise NameResolutionError(raw, f"unknown province {wanted!r} (use the two-letter abbreviation, e.g. 'LE')")
    key = normalise_name(name)
    if not key:
        raise NameResolutionError(raw, "empty name")

    exact = index.by_key.get(key, ())
    if province is not None:
        in_province = tuple(code for code in exact if index.abbr_of[code] == province)
        if exact and not in_province:
            raise NameResolutionError(raw, f"no municipality of this name in province {province}",
                                      [index.describe(code) for code in exact])
        exact = in_province
    if len(exact) > 1 and not name.isascii():
        # Names equal once accents are stripped: an accent typed in the input decides
        # ("Paternò" is the one in CT); a plain-ASCII input stays ambiguous.
        accented = index.by_accented_key.get(normalise_name(name, keep_accents=True), ())
        narrowed = tuple(code for code in exact if code in accented)
        if len(narrowed) == 1:
            exact = narrowed
    if len(exact) == 1:
        return exact[0]
    if len(exact) > 1:
        example = f"{name} ({index.abbr_of[exact[-1]]})"
        raise NameResolutionError(raw, f"ambiguous: {len(exact)} municipalities have this name; add the "
                                       f"province, e.g. {example!r}", [index.describe(code) for code in exact])

    if province is None:
        keys = list(index.by_key)
    else:
        keys = [k for k, codes in index.by_key.items() if any(index.abbr_of[c] == province for c in codes)]
    ranked = process.extract(key, keys, scorer=fuzz.ratio, limit=10)
    if ranked:
        best_key, best_score, _ = ranked[0]
        # runner-up: the best name of *another* municipality (Bolzano and Bozen are one town)
        runner_up = next((score for other, score, _ in ranked[1:]
                          if set(index.by_key[other]) != set(index.by_key[best_key])), 0.0)
        codes = index.by_key[best_key]
        if province is not None:
            codes = tuple(code for code in codes if index.abbr_of[code] == province)
        if best_score >= FUZZY_THRESHOLD and best_score - runner_up >= FUZZY_MARGIN:
            if len(codes) == 1:
                return codes[0]
            raise NameResolutionError(
                raw, f"ambiguous: the closest name belongs to {len(codes)} municipalities; add the province",
                [index.describe(code) for code in codes])
        detail = (f"best similarity {best_score:.0f}, runner-up {runner_up:.0f}; a typo is accepted only at "
                  f">= {FUZZY_THRESHOLD:.0f} with a lead of >= {FUZZY_MARGIN:.0f}")
    else:
        detail = "no municipality to compare with"
    where = f" in province {province}" if province else ""
    raise NameResolutionError(raw, f"unknown municipality{where} ({detail})", _candidates(index, key, keys))


def _resolve_each(names, index: _Index) -> list[str | NameResolutionError]:
    results: list[str | NameResolutionError] = []
    for text in names:
        try:
            results.append(_resolve_text(index, text))
        except NameResolutionError as error:
            results.append(error)
    return results


def _as_list(names) -> list:
    if isinstance(names, (str, int)):
        return [names]
    return list(names)


def _result_frame(inputs: list, codes: list[str], index: _Index) -> pd.DataFrame:
    official = index.frame.loc[codes] if codes else index.frame.iloc[:0]
    return pd.DataFrame({
        "input": pd.Series([str(x) for x in inputs], dtype=object).astype(str),
        "istat_code": pd.Series(codes, dtype=object).astype(str),
        "name": pd.Series(official["name"].tolist(), dtype=object).astype(str),
        "province_abbr": pd.Series(official["province_abbr"].tolist(), dtype=object).astype(str),
        "region": pd.Series(official["region"].tolist(), dtype=object).astype(str),
    }, columns=RESULT_COLUMNS)


def resolve(names: Iterable[str] | str, *, municipalities: pd.DataFrame | None = None) -> pd.DataFrame:
    """Map municipality names (or ISTAT codes) to ISTAT codes and official names.

    Parameters
    ----------
    names : iterable of str, or str
        Names as written anywhere, optionally with a province in parentheses
        (``"Castro (LE)"``), or ISTAT codes (``"064008"``, ``"64008"``). A
        single string is treated as one name.
    municipalities : pandas.DataFrame, optional
        The municipal list to match against, indexed by ``istat_code`` with
        columns ``name``, ``province_abbr``, ``region`` (and optionally
        ``name_full``, ``province``); default the current ISTAT list
        (:func:`cocity_analysis.sources.istat_comuni.load`, cached).

    Returns
    -------
    pandas.DataFrame
        One row per input, in input order, with columns ``input``,
        ``istat_code``, ``name`` (official Italian name), ``province_abbr``,
        ``region``. Duplicated inputs give duplicated rows.

    Raises
    ------
    NameResolutionError
        When exactly one name is unknown or ambiguous; lists the candidates
        (``official name (province) code``).
    UnresolvedNamesError
        When several names fail; a :class:`NameResolutionError` whose message
        lists every failed name with its reason and candidates.

    Examples
    --------
    >>> towns = pd.DataFrame(
    ...     {"name": ["Castro", "Castro", "Matera"], "province_abbr": ["BG", "LE", "MT"],
    ...      "region": ["Lombardia", "Puglia", "Basilicata"]},
    ...     index=pd.Index(["016065", "075096", "077014"], name="istat_code"))
    >>> resolve(["matera", "Castro (LE)", "77014"], municipalities=towns)["istat_code"].tolist()
    ['077014', '075096', '077014']
    >>> resolve(["Castro"], municipalities=towns)
    Traceback (most recent call last):
    ...
    cocity_analysis.errors.NameResolutionError: 'Castro': ambiguous: 2 municipalities have this name; \
add the province, e.g. 'Castro (LE)'; candidates: Castro (BG) 016065; Castro (LE) 075096
    """
    inputs = _as_list(names)
    index = _index_for(municipalities)
    results = _resolve_each(inputs, index)
    errors = [r for r in results if isinstance(r, NameResolutionError)]
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise UnresolvedNamesError(errors, total=len(inputs))
    return _result_frame(inputs, results, index)


def resolve_one(name: str, *, municipalities: pd.DataFrame | None = None) -> pd.Series:
    """Resolve a single name or code; see :func:`resolve`.

    Parameters
    ----------
    name : str
        A municipality name (optionally ``"Name (PR)"``) or ISTAT code.
    municipalities : pandas.DataFrame, optional
        As in :func:`resolve`.

    Returns
    -------
    pandas.Series
        ``input``, ``istat_code``, ``name``, ``province_abbr``, ``region``.

    Raises
    ------
    NameResolutionError
        When the name is unknown or ambiguous, listing the candidates.

    Examples
    --------
    >>> resolve_one("Cava de’ Tirreni")["istat_code"]  # doctest: +SKIP
    '065037'
    """
    return resolve([name], municipalities=municipalities).iloc[0]


def _read_city_rows(path: Path) -> list[tuple[int, str]]:
    """(file line, city) pairs from a one-column UTF-8 CSV with header ``city``."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputFileError(path, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InputFileError(path, f"not UTF-8 text (byte {data[exc.start]:#04x}); save the file as UTF-8",
                             row=line) from None
    if not text.strip():
        raise InputFileError(path, f"empty file: expected a header {CMS_CITY_COLUMN!r} and one city per row")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header, rows, last_line = None, [], 0
    try:
        for cells in reader:
            start, last_line = last_line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = [cell.strip() for cell in cells]
                if CMS_CITY_COLUMN not in header:
                    raise InputFileError(path, f"missing column {CMS_CITY_COLUMN!r}; columns present: "
                                               f"{', '.join(repr(c) for c in header)}", row=start,
                                         column=CMS_CITY_COLUMN)
                position = header.index(CMS_CITY_COLUMN)
                continue
            if len(cells) != len(header):
                raise InputFileError(path, f"{len(cells)} cells, but the header has {len(header)}", row=start)
            city = cells[position].strip()
            if not city:
                raise InputFileError(path, "empty city name", row=start, column=CMS_CITY_COLUMN)
            rows.append((start, city))
    except csv.Error as exc:
        raise InputFileError(path, f"malformed CSV: {exc}", row=reader.line_num) from None
    if not rows:
        raise InputFileError(path, "no cities after the header")
    return rows


def load_cms_cities(path: str | Path = config.CMS_CITIES_FILE, *,
                    municipalities: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read the list of Città Medie Sud and resolve every name to its ISTAT code.

    Parameters
    ----------
    path : str or Path, default ``config.CMS_CITIES_FILE``
        UTF-8 CSV with a column ``city`` (one name per row, as the programme
        publishes it; ``"Name (PR)"`` is accepted where a name is ambiguous).
    municipalities : pandas.DataFrame, optional
        As in :func:`resolve`.

    Returns
    -------
    pandas.DataFrame
        One row per city in file order, columns as :func:`resolve`.

    Raises
    ------
    InputFileError
        Empty or non-UTF-8 file, missing ``city`` column (listing the columns
        present), empty names, names that cannot be resolved (file, row and
        the candidates; all failing rows in one message) or two rows that are
        the same municipality.
    """
    path = Path(path)
    rows = _read_city_rows(path)
    index = _index_for(municipalities)
    results = _resolve_each([city for _, city in rows], index)
    failed = [(line, error) for (line, _), error in zip(rows, results) if isinstance(error, NameResolutionError)]
    if len(failed) == 1:
        line, error = failed[0]
        raise InputFileError(path, str(error), row=line, column=CMS_CITY_COLUMN) from error
    if failed:
        detail = "\n".join(f"  - row {line}: {error}" for line, error in failed)
        raise InputFileError(path, f"{len(failed)} city names could not be resolved:\n{detail}",
                             row=failed[0][0], column=CMS_CITY_COLUMN)
    seen: dict[str, int] = {}
    for (line, city), code in zip(rows, results):
        if code in seen:
            raise InputFileError(path, f"{city!r} is the same municipality ({index.describe(code)}) as row "
                                       f"{seen[code]}", row=line, column=CMS_CITY_COLUMN)
        seen[code] = line
    return _result_frame([city for _, city in rows], results, index)


def cli_resolve(names: Sequence[str], stdout: TextIO, stderr: TextIO, *,
                municipalities: pd.DataFrame | None = None) -> int:
    """Command-line verb ``cocity resolve NAME...``.

    Prints ``input<TAB>istat_code<TAB>official name`` on ``stdout`` for each
    resolved name, in input order, and ``error: ...`` with the candidates on
    ``stderr`` for each failure.

    Parameters
    ----------
    names : sequence of str
        Names or ISTAT codes as typed on the command line.
    stdout, stderr : text streams
        Where to write results and errors.
    municipalities : pandas.DataFrame, optional
        As in :func:`resolve`.

    Returns
    -------
    int
        0 when every name resolved, 1 when at least one failed (or the ISTAT
        list could not be read), 2 when no name was given.
    """
    names = list(names)
    if not names:
        print("error: give at least one municipality name or ISTAT code", file=stderr)
        return 2
    try:
        index = _index_for(municipalities)
    except CocityError as error:
        print(f"error: {error}", file=stderr)
        return 1
    status = 0
    for text, result in zip(names, _resolve_each(names, index)):
        if isinstance(result, NameResolutionError):
            print(f"error: {result}", file=stderr)
            status = 1
        else:
            print(f"{text}\t{result}\t{index.frame.at[result, 'name']}", file=stdout)
    return status
