"""ISTAT accommodation capacity by municipality ("Capacità degli esercizi ricettivi").

ISTAT's survey of the capacity of accommodation establishments counts, every
year and for every municipality, the establishments and their bed places
(hotels and other collective accommodation together: by municipality ISTAT
publishes only the total). It is disseminated through ISTAT's SDMX service as
dataflow ``122_54_DF_DCSC_TUR_1`` ("Capacità degli esercizi ricettivi per tipo
di esercizio - com.").

Fetching and reading go through :mod:`cocity_analysis.sources.istat_sdmx`
(same service, same file formats, same reconciliation of merged
municipalities); the dataset is described there beside the census ones
(:data:`istat_sdmx.ACCOMMODATION`), and this module is the home of
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

from cocity_analysis.sources.istat_sdmx import FetchResult
from cocity_analysis.sources import istat_sdmx

GROUP = istat_sdmx.TOURISM_GROUP
CAPACITY = istat_sdmx.ACCOMMODATION
DATASETS = istat_sdmx.TOURISM_DATASETS


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
