"""cocity_analysis.sources.areas: the municipal areas computed without pandas, as load_areas gives them."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from cocity_analysis import config
from cocity_analysis.sources import areas, population


def test_areas_computed_before_give_the_same_table():
    computed = areas.municipal_areas(config.POPULATION_YEAR)
    codes, km2 = computed
    assert codes.dtype == np.int64 and km2.dtype == np.float64 and len(codes) == len(km2) > 7800
    given = population.load_areas(computed=computed)
    assert given.equals(population.load_areas())
    # Matera, about 392 km² (ISTAT), in the equal-area projection of the generalised boundaries
    assert 380 < given.at["077014", "area_km2"] < 400


def test_areas_do_not_import_pandas():
    """The reason the module exists: cocity prepare computes the areas while it is still importing pandas."""
    code = ("import sys; from cocity_analysis import config; from cocity_analysis.sources import areas; "
            "areas.municipal_areas(config.POPULATION_YEAR); print(sorted(m for m in ('pandas', 'geopandas') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
