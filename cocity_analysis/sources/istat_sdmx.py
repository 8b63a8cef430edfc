"""ISTAT data by municipality through ISTAT's SDMX web service (IstatData), with ``sdmx1``.

ISTAT disseminates its tables (permanent census of population and dwellings,
resident population, foreign residents, tourism capacity, ...) through an SDMX
2.1 REST service. ``sdmx1`` knows that service as source ``"ISTAT"``
(``https://esploradati.istat.it/SDMXWS/rest``); :func:`fetch` uses it to build
and send one query per dataset (all municipalities at once: ISTAT throttles
clients that send many requests) and saves the response **unchanged** under
``data/raw/<group>/<dataflow id>.csv`` (SDMX-CSV 1.0, the format IstatData
serves and exports) or ``.xml`` (an SDMX-ML 2.1 data message).
:func:`load` reads either file as distributed and returns one row per *today's*
municipality.

What is and is not verified
---------------------------
No network reaches ISTAT from the machine this module was written on, so
nothing here was run against the live service. Dataflow ids, dimension order,
dimension ids and codes were taken from real public material (``sdmx1``'s own
source list, and public code and notes whose authors ran the queries against
``esploradati.istat.it``); each :class:`Dataset` says which parts were
verified that way (``verified``) and which were not (``unverified``). A query
or code that turns out wrong does not fail silently: :func:`load` stops with
an error that lists the codes the file actually contains.

Loading rules
-------------
* the file is SDMX-CSV (header starting with ``DATAFLOW``) or SDMX-ML
  (read with ``sdmx1``); its dataflow must be the dataset's;
* rows are kept only for municipalities: ``REF_AREA`` of exactly six digits
  (the service also returns Italy, regions and provinces, coded otherwise);
* the dataset's filters select the cells; every other dimension must hold one
  value only (else the file is a different cut than expected: error);
* census tables leave out cells whose value is 0 (no row at all for, say, the
  unemployed of a small municipality). Where a dataset declares a
  ``partition`` (a published total and the leaf codes that add up to it), a
  leaf *absent from the file* is taken as 0 **only when the leaves present
  already add up to the published total** (then the absent ones can only be
  0); every such fill is counted in the report. A cell present with an empty
  or non-numeric value, or absent where the leaves do not add up, stays missing;
* cells are summed over ``sum_over`` dimensions and over codes mapped to the
  same output column, **strictly**: a missing or non-numeric cell makes the sum
  missing (never 0, never a partial sum);
* queries send ``startPeriod`` only: on this service ``endPeriod`` returns empty
  data on ``22_289`` and is ignored on the tourism flow (source [N]); the
  reference year is selected in the loader;
* the reference year is the dataset's ``year`` (error listing the years present
  when absent);
* municipalities merged after the reference year are summed into today's
  municipality through the ISTAT's file of municipal changes
  (:mod:`cocity_analysis.sources.changes`); codes neither current nor in that
  table are excluded and reported, never dropped silently.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from cocity_analysis import config
from cocity_analysis.errors import CocityError, InputFileError, SourceUnavailableError
from cocity_analysis.sources import changes as municipal_changes
from cocity_analysis.sources import fetching

if TYPE_CHECKING:  # imported where a download starts
    import requests

#: ``sdmx1`` source id of ISTAT's service (present in sdmx1's ``sources.json``).
SDMX_SOURCE = "ISTAT"
#: Base address of the service, as listed for source "ISTAT" in sdmx1 2.28's ``sources.json``.
SERVICE_URL = "https://esploradati.istat.it/SDMXWS/rest"
#: Media type for SDMX-CSV 1.0 data; public code querying esploradati.istat.it uses it.
CSV_MEDIA_TYPE = "application/vnd.sdmx.data+csv;version=1.0.0"
#: Media type for SDMX-ML 2.1 generic data (self-describing: readable without the DSD).
XML_MEDIA_TYPE = "application/vnd.sdmx.genericdata+xml;version=2.1"
#: Seconds between two requests to ISTAT (public guides report ~5 requests/minute).
DEFAULT_PAUSE = 13.0
#: Seconds to wait for one answer (whole-country queries are slow).
DEFAULT_TIMEOUT = 600.0

MUNICIPAL_CODE = re.compile(r"^\d{6}$")
#: Codes ISTAT's dataflows use for "all" in a dimension. Used only for a dimension the query left
#: open that turns out to hold several codes: then exactly one of them must be a total, and that
#: one is kept (and the choice reported).
TOTAL_CODES = frozenset({"ALL", "TOTAL", "TOT", "T", "9", "99", "_T"})
BASE_COLUMNS = ("DATAFLOW", "REF_AREA", "TIME_PERIOD", "OBS_VALUE")


@dataclass(frozen=True)
class Dataset:
    """One ISTAT dataflow, the query that fetches it and how to read it.

    Attributes
    ----------
    name : str
        Short id (``"labour"``).
    group : str
        Source group: folder under ``data/raw/`` and in the mirror, and the
        ``cocity fetch`` choice (``"istat_sdmx"``, ``"istat_tourism"``).
    requires : str
        Source name used by indicators (``requires:`` in the catalogue) and as
        key of the pipeline's ``unavailable`` dict.
    flow : str
        Dataflow id (agency IT1).
    key : str or dict
        SDMX key for the query: dot-separated codes in the DSD's dimension
        order, empty = all (``REF_AREA`` is always left empty: all territories);
        or, when the dimension order is not known, ``{dimension id: code}``,
        which ``sdmx1`` turns into a key after fetching the dataflow's structure.
    year : str
        Reference year (``TIME_PERIOD``) loaded.
    filters : mapping
        Dimension -> codes kept.
    measure_dim : str
        Dimension whose codes become output columns.
    measures : mapping
        Code of ``measure_dim`` -> output column; codes mapped to the same
        column are summed.
    sum_over : tuple of str
        Dimensions whose kept codes are summed (e.g. two age classes).
    partitions : mapping
        Published total code of ``measure_dim`` -> the leaf codes that add up
        to it. Leaves absent from the file are 0 where the leaves present add
        up to the total (ISTAT's census tables leave zero cells out). Leaves
        not in ``measures`` are fetched and read only for this check.
    label_it, label_en : str
        What the dataset is, for reports and messages.
    verified : str
        What of the above was checked against real public material, and where.
    unverified : str
        What was not (empty when everything was).
    """

    name: str
    group: str
    requires: str
    flow: str
    key: str | dict
    year: str
    filters: Mapping[str, tuple[str, ...]]
    measure_dim: str
    measures: Mapping[str, str]
    label_it: str
    label_en: str
    sum_over: tuple[str, ...] = ()
    partitions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    verified: str = ""
    unverified: str = ""

    @property
    def file_names(self) -> tuple[str, str]:
        """Official file names accepted: the SDMX-CSV response first, then SDMX-ML."""
        return (f"{self.flow}.csv", f"{self.flow}.xml")

    @property
    def columns(self) -> list[str]:
        """Output columns, in first-appearance order."""
        return list(dict.fromkeys(self.measures.values()))

    @property
    def params(self) -> dict[str, str]:
        # startPeriod only: endPeriod returns empty data on 22_289 and is ignored on the tourism flow [N]
        return {"startPeriod": self.year}

    @property
    def key_text(self) -> str:
        if isinstance(self.key, str):
            return self.key
        return "; ".join(f"{dim}={code}" for dim, code in self.key.items())

    def query_url(self) -> str:
        """The data query, as a person would type it (for messages and provenance)."""
        if isinstance(self.key, str):
            return f"{SERVICE_URL}/data/{self.flow}/{self.key}?startPeriod={self.year}"
        return (f"{SERVICE_URL}/data/{self.flow}/<key with {self.key_text}, in the order of the dataflow's "
                f"dimensions>?startPeriod={self.year}")

    def codes_for(self, dim: str) -> tuple[str, ...]:
        if dim == self.measure_dim:
            return tuple(self.measures)
        return tuple(self.filters.get(dim, ()))

    @property
    def leaf_codes(self) -> tuple[str, ...]:
        """Codes of ``measure_dim`` read only to check a partition (not output columns)."""
        leaves = (code for codes in self.partitions.values() for code in codes)
        return tuple(dict.fromkeys(code for code in leaves if code not in self.measures))


# --------------------------------------------------------------------------- datasets
#
# Sources of the facts below (public repositories found with the project's code search; none
# could be re-run from here):
# [S] sdmx1 2.28 sources.json: source "ISTAT", url https://esploradati.istat.it/SDMXWS/rest.
# [L] a public script that queries esploradati.istat.it for DF_DCSS_ISTR_LAV_PEN_2_TV_3 and _TV_1
#     with keys "A..RESPOP_AV.T.Y25-49+Y50-64.TOTAL.ALL.1+12+22+99.." and
#     "A..RESPOP_AV.T.Y25-49+Y50-64.TOTAL.BL+ML_RDD+ALL.99..", reads SDMX-CSV columns REF_AREA,
#     INDICATOR, GENDER, AGE_NOCLASS, CITIZENSHIP, EDU_ATTAIN, CUR_ACT_STAT, and checks
#     1 (employed) + 12 (unemployed) = 22 (labour force), 99 = all; used for reference year 2024.
# [E] a public note measuring the same census tables: EDU_ATTAIN leaves USE_IF, LSE, ML_RDD, PSE,
#     BL, NED partition ALL (no suppression, 254 of 254 municipalities checked).
# [P] a public research note with live calls and trimmed real responses: 22_289 key
#     FREQ.REF_AREA.DATA_TYPE.SEX.AGE.MARITAL_STATUS = A.<code>.JAN.9.TOTAL.99 and 29_7 key
#     FREQ.REF_AREA.DATA_TYPE.SEX.AGE = A.<code>.JAN.9.TOTAL, both with data for 1 January 2023-2026;
#     SDMX-CSV header "DATAFLOW,FREQ,REF_AREA,DATA_TYPE,SEX,AGE,...,TIME_PERIOD,OBS_VALUE,OBS_STATUS".
# [A] public code reading DF_DCSS_ABITAZIONI_TV_1 by municipality with key "A..NUM_DW_AV......"
#     (9 dimensions; INDICATOR NUM_DW_AV = dwellings, NUM_OCC_DW_AV = occupied dwellings); a public
#     inventory of IstatData exports lists its years 2019/2021/2023 for 8,063 territories.
# [O] public code reading DF_DCSS_ABITAZIONI_TV_2 with INDICATOR=NUM_OCC_DW_AV and OWNERSHIP_TYPE
#     OWN / ALL (home-ownership rate), levels province and municipality. Not seen run.
# [T] public code (with the live figures it got) querying 122_54_DF_DCSC_TUR_1 with key
#     "A..NUM_EST+BEDS.N.ALL.551_553.NAP.ALL.ALL.ALL.TOT" in dimension order FREQ.REF_AREA.DATA_TYPE.
#     ADJUSTMENT.TYPE_ACCOMMODATION.ECON_ACTIVITY.COUNTRY_RES_GUESTS.LOCALITY_TYPE.URBANIZ_DEGREE.
#     COASTAL_AREA.SIZE; by municipality only TYPE_ACCOMMODATION=ALL exists; figures for 2024 and
#     2025 (2025 adds short-term rentals: a break in series).
# [T2] public code and tests reading the service's SDMX-CSV for 122_54_DF_DCSC_TUR_* (several independent
#     repositories): the dimension ids are ECON_ACTIVITY_NACE_2007 and SIZE_BY_NUMBER_ROOMS (not
#     ECON_ACTIVITY and SIZE), header "DATAFLOW,FREQ,REF_AREA,DATA_TYPE,ADJUSTMENT,TYPE_ACCOMMODATION,
#     ECON_ACTIVITY_NACE_2007,COUNTRY_RES_GUESTS,LOCALITY_TYPE,URBANIZ_DEGREE,COASTAL_AREA,
#     SIZE_BY_NUMBER_ROOMS,TIME_PERIOD,OBS_VALUE"; by municipality COUNTRY_RES_GUESTS is NAP.
# [L2] public code querying DF_DCSS_ISTR_LAV_PEN_2_TV_3 by dimension id: its 10 dimensions end with
#     LOC_DEST and REAS_COMMUTING (both ALL for these counts); CUR_ACT_STAT also has 23 (inactive).
# [N] ondata/guida-api-istat, "Note endpoint esploradati.istat.it" (January 2026, with ISTAT Contact
#     Centre's answer of November 2025): on /rest/data of 22_289, startPeriod=Y&endPeriod=Y returns empty
#     data (a confirmed ISTAT bug); hence startPeriod only, the year being selected by load().

CENSUS_LABEL = "ISTAT, Censimento permanente della popolazione e delle abitazioni"

LABOUR = Dataset(
    name="labour", group="istat_sdmx", requires="istat_labour",
    flow="DF_DCSS_ISTR_LAV_PEN_2_TV_3",
    key="A..RESPOP_AV.T.Y25-49+Y50-64.TOTAL.ALL.1+12+22+99..",
    year="2024",
    filters={"FREQ": ("A",), "INDICATOR": ("RESPOP_AV",), "GENDER": ("T",),
             "AGE_NOCLASS": ("Y25-49", "Y50-64"), "CITIZENSHIP": ("TOTAL",), "EDU_ATTAIN": ("ALL",)},
    measure_dim="CUR_ACT_STAT",
    measures={"1": "employed_25_64", "12": "unemployed_25_64", "22": "labour_force_25_64",
              "99": "residents_25_64"},
    sum_over=("AGE_NOCLASS",),
    partitions={"22": ("1", "12")},  # labour force = employed + unemployed; a missing 12 is 0 where 1 == 22
    label_it="occupati, disoccupati e forze di lavoro 25-64 anni per comune (censimento permanente)",
    label_en="employed, unemployed and labour force aged 25-64 by municipality (permanent census)",
    verified="[L]: dataflow, key, dimension ids, codes and year 2024",
)

EDUCATION = Dataset(
    name="education", group="istat_sdmx", requires="istat_education",
    flow="DF_DCSS_ISTR_LAV_PEN_2_TV_1",
    key="A..RESPOP_AV.T.Y25-49+Y50-64.TOTAL.ALL+NED+PSE+LSE+BL+ML_RDD+USE_IF.99..",
    year="2024",
    filters={"FREQ": ("A",), "INDICATOR": ("RESPOP_AV",), "GENDER": ("T",),
             "AGE_NOCLASS": ("Y25-49", "Y50-64"), "CITIZENSHIP": ("TOTAL",), "CUR_ACT_STAT": ("99",)},
    measure_dim="EDU_ATTAIN",
    measures={"ALL": "residents_25_64_edu", "NED": "low_education_25_64",
              "PSE": "low_education_25_64", "LSE": "low_education_25_64"},
    sum_over=("AGE_NOCLASS",),
    # [E]: the six leaves partition ALL; all are fetched so that an absent (zero) leaf can be told apart
    partitions={"ALL": ("NED", "PSE", "LSE", "BL", "ML_RDD", "USE_IF")},
    label_it="residenti 25-64 anni per titolo di studio per comune (censimento permanente)",
    label_en="residents aged 25-64 by educational attainment by municipality (permanent census)",
    verified="[L] dataflow, key layout, dimension ids, year 2024; [E] codes NED, PSE, LSE, ALL",
    unverified="the exact key with all six leaves (the public query asked BL+ML_RDD+ALL in that position)",
)

POPULATION = Dataset(
    name="population", group="istat_sdmx", requires="istat_population",
    flow="22_289", key="A..JAN.9.TOTAL.99", year="2024",
    filters={"FREQ": ("A",), "SEX": ("9",), "AGE": ("TOTAL",), "MARITAL_STATUS": ("99",)},
    measure_dim="DATA_TYPE", measures={"JAN": "residents_jan"},
    label_it="popolazione residente al 1° gennaio per comune",
    label_en="resident population on 1 January by municipality",
    verified="[P]: dataflow, key, dimension ids and codes, 1 January 2024",
)

FOREIGNERS = Dataset(
    name="foreigners", group="istat_sdmx", requires="istat_foreigners",
    flow="29_7", key="A..JAN.9.TOTAL", year="2024",
    filters={"FREQ": ("A",), "SEX": ("9",), "AGE": ("TOTAL",)},
    measure_dim="DATA_TYPE", measures={"JAN": "foreign_residents_jan"},
    label_it="stranieri residenti al 1° gennaio per comune",
    label_en="foreign residents on 1 January by municipality",
    verified="[P]: dataflow, key, dimension ids and codes, 1 January 2024",
)

DWELLINGS = Dataset(
    name="dwellings", group="istat_sdmx", requires="istat_dwellings",
    flow="DF_DCSS_ABITAZIONI_TV_1", key="A..NUM_DW_AV+NUM_OCC_DW_AV......", year="2023",
    filters={"FREQ": ("A",)},
    measure_dim="INDICATOR", measures={"NUM_DW_AV": "dwellings", "NUM_OCC_DW_AV": "occupied_dwellings"},
    label_it="abitazioni e abitazioni occupate per comune (censimento permanente)",
    label_en="dwellings and occupied dwellings by municipality (permanent census)",
    verified="[A]: dataflow, 9-dimension key with INDICATOR third, codes NUM_DW_AV and NUM_OCC_DW_AV, year 2023",
    unverified="the six dimensions after INDICATOR are left open: load() requires one value each",
)

TENURE = Dataset(
    name="tenure", group="istat_sdmx", requires="istat_tenure",
    flow="DF_DCSS_ABITAZIONI_TV_2", key="A..NUM_OCC_DW_AV......", year="2021",
    filters={"FREQ": ("A",), "INDICATOR": ("NUM_OCC_DW_AV",)},
    measure_dim="OWNERSHIP_TYPE", measures={"OWN": "occupied_dwellings_owned", "ALL": "occupied_dwellings_all"},
    label_it="abitazioni occupate per titolo di godimento per comune (censimento permanente)",
    label_en="occupied dwellings by tenure status by municipality (permanent census)",
    verified="[O]: dataflow id, dimension ids INDICATOR and OWNERSHIP_TYPE, codes NUM_OCC_DW_AV, OWN, ALL",
    unverified=("not seen run against the service; the key is written as a string with the 9-dimension layout "
                "of DF_DCSS_ABITAZIONI_TV_1 ([A]: INDICATOR third, the rest open) instead of fetching the "
                "dataflow's ~10 MB structure; the year 2021 (the census benchmark year) is an assumption"),
)

DATASETS: dict[str, Dataset] = {d.name: d for d in (LABOUR, EDUCATION, POPULATION, FOREIGNERS, DWELLINGS, TENURE)}

# ISTAT accommodation capacity (cocity fetch istat_tourism): see cocity_analysis.sources.istat_tourism
TOURISM_GROUP = "istat_tourism"

ACCOMMODATION = Dataset(
    name="accommodation", group=TOURISM_GROUP, requires="istat_tourism",
    flow="122_54_DF_DCSC_TUR_1",
    key="A..NUM_EST+BEDS.N.ALL.551_553.NAP.ALL.ALL.ALL.TOT",
    year="2024",
    filters={"FREQ": ("A",), "ADJUSTMENT": ("N",), "TYPE_ACCOMMODATION": ("ALL",),
             "ECON_ACTIVITY_NACE_2007": ("551_553",), "COUNTRY_RES_GUESTS": ("NAP",), "LOCALITY_TYPE": ("ALL",),
             "URBANIZ_DEGREE": ("ALL",), "COASTAL_AREA": ("ALL",), "SIZE_BY_NUMBER_ROOMS": ("TOT",)},
    measure_dim="DATA_TYPE",
    measures={"BEDS": "accommodation_beds", "NUM_EST": "accommodation_establishments"},
    label_it="capacità degli esercizi ricettivi (esercizi e posti letto) per comune",
    label_en="capacity of accommodation establishments (establishments and bed places) by municipality",
    verified=("dataflow, dimension order, key, codes, year 2024 ([T]); dimension ids ECON_ACTIVITY_NACE_2007 and "
              "SIZE_BY_NUMBER_ROOMS as in the service's SDMX-CSV ([T2]); see the docstring of cocity_analysis.sources.istat_tourism"),
)

TOURISM_DATASETS: dict[str, Dataset] = {ACCOMMODATION.name: ACCOMMODATION}


def datasets_in(group: str) -> list[Dataset]:
    """Every registered dataset of ``group`` (census/population, tourism)."""
    return [d for d in (*DATASETS.values(), *TOURISM_DATASETS.values()) if d.group == group]


# --------------------------------------------------------------------------- report


@dataclass
class SdmxLoadReport:
    """What :func:`load` read, kept, merged and excluded."""

    dataset: str
    flow: str
    source_file: str
    year: str
    file_format: str
    rows_read: int
    rows_municipal: int
    rows_other_levels: int
    municipalities_out: int
    zero_filled: list[dict] = field(default_factory=list)
    merged: list[dict] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    incomplete: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "dataset": self.dataset, "dataflow": self.flow, "source_file": self.source_file,
            "reference_year": self.year, "format": self.file_format, "rows_read": self.rows_read,
            "rows_municipal": self.rows_municipal, "rows_other_territorial_levels": self.rows_other_levels,
            "municipalities_out": self.municipalities_out, "merged_into_current": self.merged,
            "codes_neither_current_nor_in_changes": self.unmatched,
            "municipalities_with_missing_cells": self.incomplete, "notes": self.notes,
            "absent_cells_set_to_zero": self.zero_filled,
        }


# --------------------------------------------------------------------------- reading


def _strip_label(header: str) -> str:
    """``"REF_AREA: Territorio"`` -> ``"REF_AREA"`` (IstatData exports may add labels to headers)."""
    return header.split(":", 1)[0].strip()


def read_observations(path: str | Path) -> tuple[pd.DataFrame, str, list[str]]:
    """Read an SDMX-CSV or SDMX-ML data file into a long table of strings.

    Returns
    -------
    (DataFrame, str, list)
        One row per observation with one column per dimension, ``TIME_PERIOD``,
        ``OBS_VALUE`` (text as in the file), ``DATAFLOW`` and, for SDMX-CSV,
        attribute columns; the format (``"sdmx-csv"`` or ``"sdmx-ml"``); and the
        dimension columns (in SDMX-CSV 1.0 those between ``DATAFLOW`` and
        ``TIME_PERIOD``).
    """
    path = Path(path)
    try:
        head = path.read_bytes()[:512]
    except OSError as exc:
        raise InputFileError(path, f"cannot read the file ({exc})") from None
    text_head = head.decode("utf-8-sig", errors="replace").lstrip()
    if text_head.startswith("<"):
        frame = _read_xml(path)
        return frame, "sdmx-ml", [c for c in frame.columns if c not in ("DATAFLOW", "TIME_PERIOD", "OBS_VALUE")]
    if text_head.upper().startswith("DATAFLOW"):
        frame = _read_csv(path)
        columns = list(frame.columns)
        return frame, "sdmx-csv", columns[columns.index("DATAFLOW") + 1:columns.index("TIME_PERIOD")]
    raise InputFileError(path, f"neither SDMX-CSV (header starting with DATAFLOW) nor SDMX-ML; it starts with "
                               f"{text_head[:60]!r}")


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFileError(path, f"SDMX-CSV is UTF-8; this file is not ({exc})") from None
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, quoting=csv.QUOTE_MINIMAL)
    except (pd.errors.ParserError, ValueError) as exc:
        raise InputFileError(path, f"not a readable CSV ({exc})") from None
    frame.columns = [_strip_label(c) for c in frame.columns]
    missing = [c for c in BASE_COLUMNS if c not in frame.columns]
    if missing:
        raise InputFileError(path, f"SDMX-CSV without column(s) {', '.join(missing)}; columns are: "
                                   f"{', '.join(frame.columns)}", row=1)
    return frame


def _read_xml(path: Path) -> pd.DataFrame:
    import sdmx

    try:
        message = sdmx.read_sdmx(path)
    except Exception as exc:  # sdmx1 raises many kinds on a malformed message
        raise InputFileError(path, f"not a readable SDMX-ML data message ({type(exc).__name__}: {exc})") from None
    datasets = getattr(message, "data", None)
    if not datasets:
        raise InputFileError(path, "SDMX-ML message without data sets (an error message, or an empty answer)")
    frames = []
    for dataset in datasets:
        series = sdmx.to_pandas(dataset)
        if series.empty:
            continue
        frame = series.rename("OBS_VALUE").reset_index()
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["REF_AREA", "TIME_PERIOD", "OBS_VALUE"])
    frame = pd.concat(frames, ignore_index=True)
    values = frame["OBS_VALUE"]
    frame = frame.drop(columns="OBS_VALUE").astype(str)
    frame["OBS_VALUE"] = values.map(lambda v: "" if pd.isna(v) else repr(float(v)))
    flow = getattr(getattr(message, "dataflow", None), "id", None)
    frame["DATAFLOW"] = flow or ""
    return frame


def _flow_of(value: str) -> str:
    """``"IT1:29_7(1.0)"`` -> ``"29_7"``."""
    text = value.strip()
    if ":" in text:
        text = text.split(":", 1)[1]
    return text.split("(", 1)[0].strip()


def _check_flow(frame: pd.DataFrame, dataset: Dataset, path: Path) -> None:
    flows = {_flow_of(v) for v in frame["DATAFLOW"].unique() if str(v).strip()}
    if flows and flows != {dataset.flow}:
        raise InputFileError(path, f"the file holds dataflow {', '.join(sorted(flows))}, not {dataset.flow} "
                                   f"({dataset.label_en}); it is not the file this dataset expects",
                             column="DATAFLOW")


def _present(frame: pd.DataFrame, dim: str) -> str:
    values = sorted(frame[dim].unique())
    shown = ", ".join(values[:30]) + (f" ... ({len(values)} codes)" if len(values) > 30 else "")
    return shown or "(none)"


def _to_number(text: str) -> float | None:
    """Observation value as float; None when empty, non-numeric (ISTAT markers) or NaN."""
    text = str(text).strip()
    if text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return None if value != value else value


def _select(frame: pd.DataFrame, dataset: Dataset, path: Path, year: str, dims: list[str],
            notes: list[str]) -> pd.DataFrame:
    """Apply the dataset's filters and year; check every other dimension is single-valued."""
    used = {"REF_AREA", "TIME_PERIOD", dataset.measure_dim, *dataset.filters}
    for dim in sorted(used - {"REF_AREA", "TIME_PERIOD"}):
        if dim not in frame.columns:
            raise InputFileError(path, f"dimension {dim} of dataset {dataset.name} is not in the file; its "
                                       f"columns are: {', '.join(frame.columns)}", column=dim)
    years = sorted(frame["TIME_PERIOD"].unique())
    if year not in years:
        raise InputFileError(path, f"reference year {year} of dataset {dataset.name} is not in the file "
                                   f"(TIME_PERIOD present: {', '.join(years) or 'none'})", column="TIME_PERIOD")
    frame = frame[frame["TIME_PERIOD"] == year]
    for dim, codes in [*dataset.filters.items(), (dataset.measure_dim, tuple(dataset.measures))]:
        present = set(frame[dim].unique())
        absent = [c for c in codes if c not in present]
        if absent:
            raise InputFileError(path, f"{dim}: code(s) {', '.join(absent)} expected by dataset {dataset.name} are "
                                       f"not in the file for {year}; codes present: {_present(frame, dim)}",
                                 column=dim)
        keep = (*codes, *dataset.leaf_codes) if dim == dataset.measure_dim else codes
        frame = frame[frame[dim].isin(keep)]
    for dim in dims:
        if dim in used or dim in dataset.sum_over or dim not in frame.columns:
            continue
        values = sorted(frame[dim].unique())
        if len(values) <= 1:
            continue
        totals = [v for v in values if v in TOTAL_CODES]
        if len(totals) != 1:
            raise InputFileError(path, f"dimension {dim} has several codes ({_present(frame, dim)}) where "
                                       f"dataset {dataset.name} expects one, and no single total code among "
                                       f"them ({', '.join(sorted(TOTAL_CODES))}); the file is a different cut "
                                       "than the documented query", column=dim)
        frame = frame[frame[dim] == totals[0]]
        notes.append(f"{dim}: several codes in the file, the total code {totals[0]} was kept")
    return frame


def _pivot(frame: pd.DataFrame, dataset: Dataset, path: Path) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Strict sums per municipality and output column; report municipalities with missing cells."""
    keys = ["REF_AREA", dataset.measure_dim, *dataset.sum_over]
    duplicated = frame.duplicated(subset=keys, keep=False)
    if duplicated.any():
        sample = frame.loc[duplicated, keys].head(3).to_dict("records")
        raise InputFileError(path, f"the same cell appears more than once (e.g. {sample}); expected one "
                                   "observation per municipality, code and year")
    values = [_to_number(text) for text in frame["OBS_VALUE"]]
    cells = dict(zip(map(tuple, frame[keys].to_numpy()), values))
    codes = sorted(frame["REF_AREA"].unique())
    combos = list(itertools.product(*(dataset.codes_for(d) for d in dataset.sum_over)))
    filled = _fill_absent_leaves(cells, dataset, codes, combos)
    out: dict[str, list[Any]] = {column: [] for column in dataset.columns}
    incomplete: dict[str, list[str]] = {}
    for code in codes:
        for column in dataset.columns:
            total: float | None = 0.0
            for measure_code in (m for m, c in dataset.measures.items() if c == column):
                for combo in combos:
                    value = cells.get((code, measure_code, *combo))
                    if value is None:
                        total = None
                        break
                    total += value
                if total is None:
                    break
            if total is None:
                incomplete.setdefault(column, []).append(code)
            out[column].append(float("nan") if total is None else total)
    result = pd.DataFrame(out, index=pd.Index(codes, name="istat_code"), dtype="float64")
    return result, incomplete, filled


def _fill_absent_leaves(cells: dict, dataset: Dataset, codes: list[str], combos: list[tuple]) -> list[dict]:
    """Set to 0 the leaves absent from the file where the leaves present add up to the published total.

    ``cells`` maps (municipality, measure code, *sum_over codes) -> value (None for an empty or
    non-numeric cell); it is updated in place. A leaf that is present but empty is never filled.
    Returns one record per filled cell (municipality, code, combination).
    """
    filled = []
    for total_code, leaves in dataset.partitions.items():
        for code in codes:
            for combo in combos:
                total = cells.get((code, total_code, *combo))
                if total is None:
                    continue
                absent = [leaf for leaf in leaves if (code, leaf, *combo) not in cells]
                if not absent:
                    continue
                present = [cells[(code, leaf, *combo)] for leaf in leaves if (code, leaf, *combo) in cells]
                if any(value is None for value in present) or abs(sum(present) - total) > 1e-6:
                    continue
                for leaf in absent:
                    cells[(code, leaf, *combo)] = 0.0
                    filled.append({"istat_code": code, "code": leaf, "of_total": total_code,
                                   **dict(zip(dataset.sum_over, combo))})
    return filled


def _reconcile(frame: pd.DataFrame, current_codes: Iterable[str] | None, changes: pd.DataFrame | None,
               report: SdmxLoadReport) -> pd.DataFrame:
    if current_codes is None:
        return frame
    changes = municipal_changes.load_changes() if changes is None else changes
    mapped, changed = municipal_changes.to_current_codes(frame, "istat_code", changes,
                                                         current_codes=list(current_codes))
    new = mapped["current_istat_code"]
    for old, row in changed.iterrows():
        if row["status"] == "changed":
            report.merged.append({"old_istat_code": str(old), "new_istat_code": str(row["new_code"])})
        else:
            report.unmatched.append(str(old))
    kept = mapped[new.notna()].drop(columns="current_istat_code")
    groups = new[new.notna()].astype(str).to_numpy()
    # strict sum: one missing addend makes the merged municipality's value missing
    summed = kept.groupby(groups).sum(min_count=1)
    summed = summed.mask(kept.isna().groupby(groups).any())
    summed.index.name = "istat_code"
    return summed.astype("float64").sort_index()


def load(path: str | Path, dataset: Dataset | str, *, current_codes: Iterable[str] | None = None,
         changes: pd.DataFrame | None = None, year: str | int | None = None, return_report: bool = False):
    """Read an ISTAT SDMX file (as distributed) into one row per municipality.

    Parameters
    ----------
    path : path
        SDMX-CSV or SDMX-ML file of the dataset's dataflow.
    dataset : Dataset or str
        The dataset (or its name, see :data:`DATASETS`).
    current_codes : iterable of str, optional
        Today's 6-character ISTAT codes; when given, merged municipalities are
        summed into today's municipality and unknown codes are excluded and
        reported. When None, codes are kept as in the file.
    changes : DataFrame, optional
        Table of municipal changes (default: ISTAT's file fetched into data/raw/istat_changes/).
    year : str or int, optional
        Reference year (default: the dataset's).
    return_report : bool
        Also return a :class:`SdmxLoadReport`.

    Returns
    -------
    DataFrame (and SdmxLoadReport)
        Indexed by ``istat_code``; one float column per output column of the
        dataset (missing, never 0, where a cell is missing).

    Raises
    ------
    InputFileError
        Wrong format or dataflow, a dimension or code or year not in the file,
        several codes where one is expected, duplicated cells; the message
        names the file and lists what the file contains.
    """
    path = Path(path)
    if isinstance(dataset, str):
        dataset = get_dataset(dataset)
    year = str(year) if year is not None else dataset.year
    raw, file_format, dims = read_observations(path)
    _check_flow(raw, dataset, path)
    raw["REF_AREA"] = raw["REF_AREA"].astype(str).str.strip()
    unpadded = raw["REF_AREA"].str.fullmatch(r"\d{4,5}")
    if unpadded.any():
        # 4-5 digits can only be a municipal code that lost its leading zeros (e.g. re-saved by a
        # spreadsheet): ISTAT's territorial codes for regions and provinces are shorter or alphanumeric
        raw.loc[unpadded, "REF_AREA"] = raw.loc[unpadded, "REF_AREA"].str.zfill(6)
        notes_codes = [f"REF_AREA: {int(unpadded.sum())} row(s) with a municipal code of 4-5 digits padded to 6"]
    else:
        notes_codes = []
    is_municipal = raw["REF_AREA"].str.fullmatch(MUNICIPAL_CODE)
    municipal = raw[is_municipal]
    if municipal.empty:
        raise InputFileError(path, f"no municipal rows (REF_AREA of six digits) in the file; REF_AREA present: "
                                   f"{_present(raw, 'REF_AREA')}", column="REF_AREA")
    notes: list[str] = list(notes_codes)
    selected = _select(municipal, dataset, path, year, dims, notes)
    values, incomplete, filled = _pivot(selected, dataset, path)
    if filled:
        notes.append(f"{dataset.measure_dim}: {len(filled)} cell(s) absent from the file set to 0 in "
                     f"{len({f['istat_code'] for f in filled})} municipalities, where the other leaves add up to "
                     "the published total (ISTAT leaves zero cells out)")
    report = SdmxLoadReport(dataset=dataset.name, flow=dataset.flow, source_file=path.name, year=year,
                            file_format=file_format, rows_read=len(raw), rows_municipal=int(is_municipal.sum()),
                            rows_other_levels=int((~is_municipal).sum()), municipalities_out=0,
                            incomplete=incomplete, notes=notes, zero_filled=filled)
    values = _reconcile(values, current_codes, changes, report)
    report.municipalities_out = len(values)
    return (values, report) if return_report else values


def get_dataset(name: str) -> Dataset:
    """The registered dataset called ``name`` (census/population or tourism)."""
    registry = {**DATASETS, **TOURISM_DATASETS}
    if name not in registry:
        raise CocityError(f"unknown ISTAT dataset {name!r}; candidates: {', '.join(sorted(registry))}")
    return registry[name]


def find_local(dataset: Dataset, raw_dir: str | Path | None = None) -> Path | None:
    """The dataset's file in ``raw_dir`` (default ``data/raw/<group>``), or None."""
    folder = Path(raw_dir) if raw_dir is not None else config.RAW_DIR / dataset.group
    for name in dataset.file_names:
        if (folder / name).is_file():
            return folder / name
    return None


# --------------------------------------------------------------------------- fetching


def check_file(path: Path) -> str | None:
    """None when ``path`` looks like an SDMX data file, else what it looks like."""
    head = Path(path).read_bytes()[:4096].decode("utf-8-sig", errors="replace").lstrip()
    if head.upper().startswith("DATAFLOW"):
        return None
    if head.startswith("<"):
        if "GenericData" in head or "StructureSpecificData" in head:
            return None
        if "Error" in head:
            return "an SDMX error message, not data"
        return "XML but not an SDMX-ML data message"
    return f"neither SDMX-CSV nor SDMX-ML (it starts with {head[:60]!r})"


def make_client(session=None, timeout: float = DEFAULT_TIMEOUT):
    """An ``sdmx1`` client for ISTAT's service (``session`` lets tests inject a fake one)."""
    import sdmx

    client = (sdmx.Client(SDMX_SOURCE, session=session) if session is not None
              else sdmx.Client(SDMX_SOURCE, timeout=timeout))
    headers = getattr(client.session, "headers", None)
    if headers is not None:
        headers["User-Agent"] = config.USER_AGENT  # the service sees who asks
    return client


def _download(dataset: Dataset, client, file_format: str, timeout: float):
    def download(tmp: Path) -> str:
        if file_format == "xml":
            message = client.get("data", dataset.flow, key=dataset.key, params=dataset.params,
                                 headers={"Accept": XML_MEDIA_TYPE, "User-Agent": config.USER_AGENT}, tofile=tmp)
            return getattr(getattr(message, "response", None), "url", None) or dataset.query_url()
        request = client.get("data", dataset.flow, key=dataset.key, params=dataset.params,
                             headers={"Accept": CSV_MEDIA_TYPE, "User-Agent": config.USER_AGENT}, dry_run=True)
        response = client.session.send(request, stream=True, timeout=timeout)
        try:
            if response.status_code == 404:
                raise SourceUnavailableError(
                    f"ISTAT {dataset.flow}: {request.url} answered 404, which ISTAT's service uses for "
                    "'no data for this query' (key or year not in the dataflow). Check the query against "
                    "the dataflow's structure, or put the file in the mirror.")
            response.raise_for_status()
            with open(tmp, "wb") as handle:
                for chunk in response.iter_content(chunk_size=1 << 16):
                    handle.write(chunk)
        finally:
            response.close()
        return request.url

    return download


@dataclass
class FetchResult:
    """Files fetched (provenance entries) and datasets that could not be fetched."""

    group: str
    entries: list[dict] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)

    def raise_for_failures(self) -> None:
        if self.failures:
            raise SourceUnavailableError("; ".join(f"{name}: {msg}" for name, msg in self.failures.items()))


def fetch(group: str = "istat_sdmx", names: Sequence[str] | None = None, *, dest_dir: str | Path | None = None,
          mirror: str | Path | None = None, session=None, file_format: str = "csv",
          pause: float = DEFAULT_PAUSE, timeout: float = DEFAULT_TIMEOUT) -> FetchResult:
    """Put the files of ``group``'s datasets in ``dest_dir`` (mirror first, else ISTAT's service).

    With a mirror (``mirror`` or ``COCITY_DATA_MIRROR``) each file is copied from
    ``<mirror>/<group>/<dataflow id>.csv`` (or ``.xml``) and the network is never
    used. Without one, each dataset is queried once through ``sdmx1``
    (all municipalities in one request), ``pause`` seconds apart, and the answer
    is saved unchanged. Every file gets an entry (sha256, date, query) in
    ``dest_dir/provenance.json``.

    Parameters
    ----------
    group : str
        ``"istat_sdmx"`` (census and population) or ``"istat_tourism"``.
    names : sequence of str, optional
        Dataset names (default: all of the group).
    dest_dir : path, optional
        Default ``data/raw/<group>``.
    mirror : path, optional
        Mirror folder; overrides ``COCITY_DATA_MIRROR``.
    session : requests.Session, optional
        Session for the ``sdmx1`` client (tests pass a fake one; no network).
    file_format : {"csv", "xml"}
        Ask the service for SDMX-CSV (default) or SDMX-ML generic data.
    pause, timeout : float
        Seconds between requests, and to wait for one answer.

    Returns
    -------
    FetchResult
        Entries of the files written and, per dataset that failed, why. Call
        :meth:`FetchResult.raise_for_failures` to turn failures into a
        :class:`SourceUnavailableError`.
    """
    if file_format not in ("csv", "xml"):
        raise CocityError(f"file_format must be 'csv' or 'xml', not {file_format!r}")
    selected = datasets_in(group)
    if not selected:
        raise CocityError(f"unknown ISTAT source group {group!r}; candidates: istat_sdmx, istat_tourism")
    if names:
        known = {d.name: d for d in selected}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise CocityError(f"unknown dataset(s) {', '.join(unknown)} in {group}; candidates: "
                              f"{', '.join(known)}")
        selected = [known[n] for n in names]
    dest_dir = Path(dest_dir) if dest_dir is not None else config.RAW_DIR / group
    result = FetchResult(group=group)
    use_mirror = fetching.mirror_dir(mirror) is not None
    client = None if use_mirror else make_client(session, timeout)
    for number, dataset in enumerate(selected):
        if number and not use_mirror and pause:
            time.sleep(pause)
        names_order = dataset.file_names if file_format == "csv" else tuple(reversed(dataset.file_names))
        try:
            entry = fetching.fetch_file(
                source=group, label=f"ISTAT {dataset.flow} ({dataset.label_en})", names=names_order,
                dest_dir=dest_dir,
                download=_download(dataset, client, file_format, timeout) if client is not None else _no_download,
                check=check_file, mirror=mirror,
                how_to_get=f"SDMX query {dataset.query_url()}",
                extra={"dataset": dataset.name, "dataflow": dataset.flow, "key": dataset.key_text,
                       "reference_year": dataset.year, "service": SERVICE_URL},
            )
        except (SourceUnavailableError, InputFileError) as exc:
            result.failures[dataset.name] = str(exc)
            import requests

            if isinstance(exc.__cause__, (requests.ConnectionError, requests.Timeout)):
                for rest in selected[number + 1:]:  # the service is unreachable: do not hammer it
                    result.failures[rest.name] = (f"not tried: ISTAT's service was unreachable for "
                                                  f"{dataset.name} (see that error)")
                break
            continue
        for name in dataset.file_names:  # one file per dataset: drop the other format's stale copy
            other = dest_dir / name
            if name != entry["file"] and other.exists():
                other.unlink()
        result.entries.append(entry)
    return result


def _no_download(tmp: Path) -> str:  # pragma: no cover - never called: mirror mode never downloads
    raise SourceUnavailableError("no download in mirror mode")
