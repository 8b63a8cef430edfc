"""ISTAT accommodation capacity by municipality ("Capacità degli esercizi ricettivi").

ISTAT's survey of the capacity of accommodation establishments counts, every
year and for every municipality, the establishments and their bed places
(hotels and other collective accommodation together: by municipality ISTAT
publishes only the total). It is disseminated through ISTAT's SDMX service as
dataflow ``122_54_DF_DCSC_TUR_1`` ("Capacità degli esercizi ricettivi per tipo
di esercizio - com.").

Fetching and reading go through :mod:`cocity_analysis.sources.istat_sdmx`
(same service, same file formats, same reconciliation of merged
municipalities); this module only describes the dataset and is the home of
``cocity fetch istat_tourism`` (files in ``data/raw/istat_tourism/``, or
``<mirror>/istat_tourism/122_54_DF_DCSC_TUR_1.csv``).

Verified from real public material (public code that ran the query and
reports the national totals it got; public code and tests reading the
service's SDMX-CSV for the same flows): the dataflow id, the 11 dimensions in
order ``FREQ.REF_AREA.DATA_TYPE.ADJUSTMENT.TYPE_ACCOMMODATION.
ECON_ACTIVITY_NACE_2007.COUNTRY_RES_GUESTS.LOCALITY_TYPE.URBANIZ_DEGREE.
COASTAL_AREA.SIZE_BY_NUMBER_ROOMS`` (the ids the service's SDMX-CSV header
uses), the key
``A..NUM_EST+BEDS.N.ALL.551_553.NAP.ALL.ALL.ALL.TOT`` and that 2024 has data.
The same source reports that from 2025 ISTAT also counts short-term rentals
(establishments almost triple): a break in series. The reference year is
therefore 2024.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .istat_sdmx import Dataset, FetchResult
from . import istat_sdmx

GROUP = "istat_tourism"

CAPACITY = Dataset(
    name="accommodation", group=GROUP, requires="istat_tourism",
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
              "SIZE_BY_NUMBER_ROOMS as in the service's SDMX-CSV ([T2]); see the module docstring"),
)

DATASETS: dict[str, Dataset] = {CAPACITY.name: CAPACITY}


def fetch(*, dest_dir: str | Path | None = None, mirror: str | Path | None = None, session=None,
          file_format: str = "csv", names: Sequence[str] | None = None, **kwargs) -> FetchResult:
    """Fetch the accommodation-capacity file (see :func:`istat_sdmx.fetch`)."""
    return istat_sdmx.fetch(GROUP, names, dest_dir=dest_dir, mirror=mirror, session=session,
                            file_format=file_format, **kwargs)


def load(path: str | Path, **kwargs):
    """Read the accommodation-capacity file (see :func:`istat_sdmx.load`).

    Returns a frame indexed by ``istat_code`` with ``accommodation_beds`` and
    ``accommodation_establishments``.
    """
    return istat_sdmx.load(path, CAPACITY, **kwargs)
