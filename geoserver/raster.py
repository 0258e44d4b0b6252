"""/raster: the registered datasets, and TiTiler endpoints addressed by registry id only.

Stock TiTiler hands the client's `url=` to GDAL. Here the path dependency looks the dataset id up
in the registry (a cached copy of the `rasters` table) and returns a file inside the raster store;
nothing from the request is ever turned into a path, and an unknown id, a missing file and a
malformed id all get the same 404 message.
"""
from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache, wraps
from pathlib import Path
from typing import Annotated

import attr
import rasterio
from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from pydantic import Field
from rio_tiler.io import Reader
from titiler.core.dependencies import DefaultDependency
from titiler.core.factory import TilerFactory

from kernel.errors import InvalidInput, NotFound
from geoserver.settings import Settings
from layers.database import Database
from layers.rasters import Raster, is_valid_id, list_rasters

NOT_FOUND = "raster dataset not found"
ZOOM_OUT_OF_RANGE = "zoom level outside the dataset's range"
MISS_REFRESH_S = 1.0           # an unknown id re-reads the registry at most this often
HANDLES_PER_THREAD = 8         # open datasets kept per worker thread
MAX_IMAGE_SIZE = 4096          # largest preview/statistics read, in pixels per side
MAX_TILE_BUFFER = 64
LOCATION_MARKS = ("://", "/vsi", "../", "..\\", "file:")   # any parameter naming a file/URL
BAND_TOKEN = re.compile(r"\bb(\d+)\b")
RESCALE = re.compile(r"^\s*-?[0-9.eE+-]+\s*,\s*-?[0-9.eE+-]+\s*$")
MATRIX_SETS = ("WebMercatorQuad", "WorldCRS84Quad")
GDAL_ENV = {"GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR"}   # registry files have no sidecars
MAX_PARAM_VALUE = 1e12         # largest number in algorithm_params
MAX_HISTOGRAM_BINS = 1000
MAX_ZOOM_PARAMETER = 30        # minzoom/maxzoom of tilejson and WMTS (larger ones overflowed)
MAX_BODY_VERTICES = 10000      # vertices of a statistics-over-a-shape body
MAX_PROJECTED = 1e9            # largest coordinate in a projected coord_crs (metres, feet)
GEOGRAPHIC_CRS = {"EPSG:4326", "OGC:CRS84", "CRS84", "WGS84"}


class Registry:
    """A per-process copy of the raster registry, refreshed after `ttl` seconds."""

    def __init__(self, db: Database, store: Path, ttl: float):
        """Remember where the registry and the files are; read nothing yet."""
        self._db, self._store, self._ttl = db, store.resolve(), ttl
        self._rasters: dict[str, Raster] = {}
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def all(self, max_age: float | None = None) -> dict[str, Raster]:
        """Every registered dataset by id, re-read from the database when older than `max_age`."""
        max_age = self._ttl if max_age is None else max_age
        if time.monotonic() - self._read_at > max_age:
            with self._lock:
                if time.monotonic() - self._read_at > max_age:
                    with self._db.connection() as conn:
                        self._rasters = {r.id: r for r in list_rasters(conn)}
                    self._read_at = time.monotonic()
        return self._rasters

    def peek(self, raster_id: str) -> Raster | None:
        """The dataset as last read, without going to the database (for the event loop)."""
        return self._rasters.get(raster_id)

    def get(self, raster_id: str) -> Raster:
        """The dataset registered under `raster_id`; NotFound (one message) otherwise."""
        if not is_valid_id(raster_id):
            raise NotFound(NOT_FOUND)
        raster = self.all().get(raster_id)
        if raster is None:   # a dataset added since the last read shows up within a second
            raster = self.all(max_age=MISS_REFRESH_S).get(raster_id)
        if raster is None:
            raise NotFound(NOT_FOUND)
        return raster

    def path(self, raster: Raster) -> Path:
        """The dataset's file inside the store; NotFound (same message) if it is not there."""
        path = (self._store / raster.file).resolve()
        if path.parent != self._store or not path.is_file():
            raise NotFound(NOT_FOUND)
        return path


def registry_reader(per_thread: int = HANDLES_PER_THREAD) -> type[Reader]:
    """rio-tiler's Reader over per-thread open handles of the (immutable) registry files."""
    # Registry files are content-named and never change, so each worker thread keeps its last
    # `per_thread` datasets open instead of opening and parsing the file on every tile.
    handles = threading.local()

    @attr.s
    class RegistryReader(Reader):
        """A Reader that borrows this thread's open handle of its file."""

        def __attrs_post_init__(self):
            """Take the thread's handle (opening it once) before Reader's own setup."""
            if self.dataset is None:
                self.dataset = _thread_handle(handles, self.input, per_thread)
            super().__attrs_post_init__()

    return RegistryReader


def _thread_handle(handles: threading.local, path: str, keep: int):
    """This thread's open rasterio dataset for `path` (the `keep` most recent stay open)."""
    opened = getattr(handles, "opened", None)
    if opened is None:
        opened = handles.opened = OrderedDict()
    dataset = opened.pop(path, None)
    if dataset is None or dataset.closed:
        dataset = rasterio.open(path)
    opened[path] = dataset
    while len(opened) > keep:
        opened.popitem(last=False)[1].close()
    return dataset


@lru_cache(maxsize=256)
def _zoom_range(path: str, tms_id: str) -> tuple[int, int]:
    """Native zoom range of a file in a tile matrix set (files are immutable: cached)."""
    from morecantile import tms as matrix_sets

    with Reader(path, tms=matrix_sets.get(tms_id)) as reader:
        return int(reader.minzoom), int(reader.maxzoom)


def path_dependency(registry: Registry, overzoom: int, matrix_sets: tuple[str, ...]):
    """The TiTiler path dependency: dataset id -> file of the registry; zoom range checked."""

    def dataset_path(
        request: Request,
        dataset_id: Annotated[str, PathParam(description="Dataset id, as listed by GET /raster")],
    ) -> str:
        """Resolve the dataset id to its file; 404 for anything unknown or out of range."""
        raster = registry.get(dataset_id)
        path = str(registry.path(raster))
        _check_bands(request, raster.band_count)
        _check_post_processing(request.query_params, raster)
        params = request.path_params
        if "lon" in params and "lat" in params:
            _check_point(params["lon"], params["lat"], request.query_params)
        if "z" in params and params.get("tileMatrixSetId") in matrix_sets:
            low, high = _zoom_range(path, params["tileMatrixSetId"])
            z_text = str(params["z"]).lstrip("-")   # ASCII digits only: "¹".isdigit() is True
            z = int(params["z"]) if z_text.isascii() and z_text.isdigit() else -1
            if not low <= z <= high + overzoom:
                raise NotFound(ZOOM_OUT_OF_RANGE)
        return path

    return dataset_path


def _check_bands(request: Request, band_count: int) -> None:
    """Band indexes (bidx, b<n> in expression) within the dataset; rescale as 'min,max'."""
    query = request.query_params
    indexes = list(query.getlist("bidx"))
    indexes += BAND_TOKEN.findall(" ".join(query.getlist("expression")))
    if any(not (v.isascii() and v.isdigit()) or not 1 <= int(v) <= band_count for v in indexes):
        raise InvalidInput("band index out of range: the dataset has {count} band(s)",
                           count=band_count)
    if any(not RESCALE.match(v) for v in query.getlist("rescale")):
        raise InvalidInput("rescale must be 'min,max' (two numbers)")
    _check_plain_values(query)


def _check_plain_values(query) -> None:
    """nodata a number and algorithm_params a JSON object (TiTiler answered 500 otherwise;
    found by fuzzing)."""
    for value in query.getlist("nodata"):
        try:
            float(value)
        except ValueError:
            raise InvalidInput("nodata must be a number or 'nan'") from None
    for value in query.getlist("algorithm_params"):
        try:
            params = json.loads(value)
        except ValueError:
            params = None
        if not isinstance(params, dict) or not _bounded_numbers(params):
            raise InvalidInput("algorithm_params must be a JSON object of finite numbers "
                               "(at most {limit:g} in size)", limit=MAX_PARAM_VALUE)
    _check_statistics(query)


def _check_post_processing(query, raster: Raster) -> None:
    """An algorithm gets the bands it needs, a colour formula parses and applies to the data it
    is given (8-bit after rescale, else the algorithm's, the expression's or the dataset's
    type), zoom overrides are levels (each answered 500 from TiTiler, rio-tiler or morecantile;
    found by fuzzing)."""
    from titiler.core.algorithm import algorithms

    bidx, expressions = query.getlist("bidx"), query.getlist("expression")
    if bidx:
        bands, dtype = len(bidx), raster.dtype
    elif expressions:
        bands, dtype = len(";".join(expressions).split(";")), "float64"
    else:
        bands, dtype = raster.band_count, raster.dtype
    for name in query.getlist("algorithm"):
        if name in algorithms.list():
            fields = algorithms.get(name).model_fields
            needed = fields["input_nbands"].default
            if needed and bands < needed:
                raise InvalidInput("the algorithm {name} needs {needed} bands; "
                                   "{bands} would be read", name=name, needed=needed,
                                   bands=bands)
            bands = fields["output_nbands"].default or bands
            dtype = fields["output_dtype"].default or "float32"
    for formula in query.getlist("color_formula"):
        _check_color_formula(formula, bands, "uint8" if query.getlist("rescale") else dtype)
    for name in ("minzoom", "maxzoom"):
        for value in query.getlist(name):
            if not (value.isascii() and value.isdigit()) or int(value) > MAX_ZOOM_PARAMETER:
                raise InvalidInput("{name} must be a zoom level from 0 to {highest}", name=name,
                                   highest=MAX_ZOOM_PARAMETER)


def _check_color_formula(formula: str, bands: int, dtype: str) -> None:
    """InvalidInput unless the formula applies to `bands` bands of `dtype` as rio-tiler
    applies it (on integer data only)."""
    import numpy
    from color_operations import parse_operations
    from color_operations.utils import scale_dtype, to_math_type

    if not numpy.issubdtype(numpy.dtype(dtype), numpy.integer):
        raise InvalidInput("color_formula applies to 8- or 16-bit data: add rescale=min,max")
    try:
        with numpy.errstate(all="ignore"):
            data = numpy.ones((bands, 1, 1), dtype=dtype)
            for operation in parse_operations(formula):
                data = scale_dtype(operation(to_math_type(data)), numpy.uint8)
    except (IndexError, KeyError, ValueError, TypeError, ZeroDivisionError):
        raise InvalidInput("color_formula is not a colour formula for these bands "
                           "(e.g. 'gamma r 1.2')") from None


def _number(text: str) -> float | None:
    """A finite float parsed from text, or None."""
    try:
        value = float(text)
    except (TypeError, ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def _bounded_numbers(value) -> bool:
    """Whether every number inside a JSON value is finite and at most MAX_PARAM_VALUE in size
    (a huge number overflowed inside TiTiler's algorithms; found by fuzzing)."""
    if isinstance(value, dict):
        return all(_bounded_numbers(v) for v in value.values())
    if isinstance(value, list):
        return all(_bounded_numbers(v) for v in value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return abs(value) <= MAX_PARAM_VALUE and math.isfinite(value)
    return True


def _check_statistics(query) -> None:
    """Percentiles 0..100, histogram bins a bounded count or finite edges, histogram range
    two finite numbers (each answered 500 from TiTiler/numpy; found by fuzzing)."""
    for text in query.getlist("p"):
        value = _number(text)
        if value is None or not 0 <= value <= 100 or value != int(value):
            raise InvalidInput("p (percentile) must be a whole number from 0 to 100")
    for text in query.getlist("histogram_bins"):
        parts = [_number(part) for part in text.split(",")]
        if (None in parts or len(parts) > MAX_HISTOGRAM_BINS + 1
                or (len(parts) == 1 and not 1 <= parts[0] <= MAX_HISTOGRAM_BINS)):
            raise InvalidInput("histogram_bins must be a count from 1 to {highest} "
                               "or a list of finite bin edges", highest=MAX_HISTOGRAM_BINS)
    for text in query.getlist("histogram_range"):
        parts = [_number(part) for part in text.split(",")]
        if len(parts) != 2 or None in parts:
            raise InvalidInput("histogram_range must be 'min,max' (two finite numbers)")


def _geographic(query) -> bool:
    """Whether request coordinates are longitude/latitude (no coord_crs, or a WGS 84 one)."""
    crs = query.get("coord_crs")
    return crs is None or crs.strip().upper() in GEOGRAPHIC_CRS


def _check_position(x: float, y: float, geographic: bool) -> None:
    """A coordinate pair finite, and within -180..180 / -90..90 when it is lon/lat."""
    if not (math.isfinite(x) and math.isfinite(y)):
        raise InvalidInput("coordinates must be finite numbers")
    if geographic and not (-180 <= x <= 180 and -90 <= y <= 90):
        raise InvalidInput("coordinates must be longitude -180..180 and latitude -90..90")
    if abs(x) > MAX_PROJECTED or abs(y) > MAX_PROJECTED:
        raise InvalidInput("coordinates out of range")


def _check_point(lon, lat, query) -> None:
    """The point of /point/{lon},{lat}: numbers, finite, in range (TiTiler answered 500 for a
    latitude of -1.79e308; found by fuzzing). A point in range but off the raster stays 404."""
    x, y = _number(str(lon)), _number(str(lat))
    if x is None or y is None:
        raise InvalidInput("coordinates must be finite numbers")
    _check_position(x, y, _geographic(query))


GEOMETRY_DEPTH = {"Point": 1, "MultiPoint": 2, "LineString": 2, "MultiLineString": 3,
                  "Polygon": 3, "MultiPolygon": 4}


async def check_geojson_body(request: Request) -> None:
    """A POST body (statistics over a shape) is a Feature or FeatureCollection whose geometries
    are GeoJSON geometries with finite, in-range coordinates and at most MAX_BODY_VERTICES
    vertices (infinite or null geometries, a geometry type that is an object: 500s inside
    TiTiler or here; found by fuzzing)."""
    if request.method != "POST":
        return
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise InvalidInput("the body must be a GeoJSON Feature or FeatureCollection") from None
    counter = [0]
    geographic = _geographic(request.query_params)
    for feature in _features(body):
        _check_feature(feature, geographic, counter)


def _features(body) -> list:
    """The features of a GeoJSON Feature or FeatureCollection body, or InvalidInput."""
    kind = body.get("type") if isinstance(body, dict) else None
    if kind == "Feature":
        return [body]
    if kind == "FeatureCollection":
        if not isinstance(body.get("features"), list):
            raise InvalidInput("a FeatureCollection needs a 'features' array")
        return body["features"]
    raise InvalidInput("the body must be a GeoJSON Feature or FeatureCollection")


def _check_feature(feature, geographic: bool, counter: list[int]) -> None:
    """One Feature: type 'Feature', properties an object or null, a checked geometry."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise InvalidInput("each feature must be a GeoJSON Feature (type 'Feature')")
    if not isinstance(feature.get("properties", {}), (dict, type(None))):
        raise InvalidInput("feature properties must be an object or null")
    _check_bbox_member(feature.get("bbox"))
    geometry = feature.get("geometry")
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    if not isinstance(kind, str) or kind not in GEOMETRY_DEPTH:
        raise InvalidInput("each feature needs a Point, LineString or Polygon geometry "
                           "(or their Multi- forms)")
    _check_bbox_member(geometry.get("bbox"))
    _check_coordinates(geometry.get("coordinates"), GEOMETRY_DEPTH[kind], geographic, counter)


def _check_bbox_member(value) -> None:
    """A GeoJSON 'bbox' member, when present: 4 or 6 finite numbers."""
    if value is None:
        return
    if (not isinstance(value, list) or len(value) not in (4, 6)
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                       and _number(str(v)) is not None for v in value)):
        raise InvalidInput("a GeoJSON bbox must be 4 or 6 finite numbers")


def _check_coordinates(value, depth: int, geographic: bool, counter: list[int]) -> None:
    """Nested coordinate arrays of the expected depth, non-empty, positions checked."""
    if not isinstance(value, list) or not value:
        raise InvalidInput("geometry coordinates must be non-empty arrays")
    if depth > 1:
        for part in value:
            _check_coordinates(part, depth - 1, geographic, counter)
        return
    if len(value) not in (2, 3) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise InvalidInput("a position must be 2 or 3 numbers")
    counter[0] += 1
    if counter[0] > MAX_BODY_VERTICES:
        raise InvalidInput("geometry has more than {limit} vertices", limit=MAX_BODY_VERTICES)
    x, y = _number(str(value[0])), _number(str(value[1]))   # a huge JSON int: no OverflowError
    if x is None or y is None:
        raise InvalidInput("coordinates must be finite numbers")
    _check_position(x, y, geographic)


def refuse_locations(request: Request) -> None:
    """Refuse any parameter that names a file or a URL (datasets are addressed by id)."""
    for key, value in request.query_params.multi_items():
        text = f"{key}={value}".lower()
        if (key.lower() == "url" or value.lstrip().startswith(("/", "\\", "~"))
                or any(mark in text for mark in LOCATION_MARKS)):
            raise InvalidInput("imagery parameters cannot name files or URLs; "
                               "datasets are addressed by id (see GET /raster)")


# Field (not Query): TiTiler also takes width and height from the path (/preview/{w}x{h}.png).
Size = Annotated[int | None, Field(ge=1, le=MAX_IMAGE_SIZE, description="Output size (px)")]


@dataclass
class PreviewSize(DefaultDependency):
    """Preview and statistics read size, bounded."""

    max_size: Annotated[int | None, Field(ge=1, le=MAX_IMAGE_SIZE,
                                          description="Largest side of the image read")] = 1024
    height: Size = None
    width: Size = None

    def __post_init__(self):
        """An explicit width or height replaces max_size."""
        if self.width or self.height:
            self.max_size = None


@dataclass
class PartSize(PreviewSize):
    """Statistics-over-a-polygon read size, bounded (stock TiTiler reads full resolution)."""


@dataclass
class TileOptions(DefaultDependency):
    """Tile buffer and padding, bounded."""

    buffer: Annotated[float | None, Query(gt=0, le=MAX_TILE_BUFFER)] = None
    padding: Annotated[int | None, Query(gt=0, le=MAX_TILE_BUFFER)] = None


def _links(request: Request, raster: Raster) -> list[dict]:
    """Links of one dataset."""
    base = f"{str(request.base_url).rstrip('/')}/raster/{raster.id}"
    wmq = "WebMercatorQuad"
    return [
        {"rel": "tilejson", "href": f"{base}/{wmq}/tilejson.json", "type": "application/json"},
        {"rel": "tiles", "href": f"{base}/tiles/{wmq}/{{z}}/{{x}}/{{y}}.png",
         "type": "image/png", "templated": True},
        {"rel": "wmts", "href": f"{base}/{wmq}/WMTSCapabilities.xml",
         "type": "application/xml"},
        {"rel": "info", "href": f"{base}/info", "type": "application/json"},
        {"rel": "preview", "href": f"{base}/preview.png", "type": "image/png"},
        {"rel": "point", "href": f"{base}/point/{{lon}},{{lat}}", "templated": True,
         "type": "application/json"},
        {"rel": "statistics", "href": f"{base}/statistics", "type": "application/json"},
    ]


def _listing(registry: Registry):
    """GET /raster."""

    def list_datasets(request: Request) -> dict:
        """The registered raster datasets: id, title, kind, bounds (lon/lat), zoom range, links."""
        return {"datasets": [
            {"id": r.id, "title": r.title, "kind": r.kind, "bounds": list(r.bounds),
             "crs": r.crs, "band_count": r.band_count, "dtype": r.dtype,
             "resolution_m": r.resolution_m, "minzoom": r.minzoom, "maxzoom": r.maxzoom,
             "links": _links(request, r)}
            for r in registry.all().values()]}

    return list_datasets


PREFIX = "/raster/{dataset_id}"


def checked_algorithms():
    """TiTiler's algorithm dependency, with an algorithm that cannot run on the image it is
    given (grayscale of one band, terrain RGB of too large a range: ValueError, a 500 before;
    found by fuzzing) answered 400."""
    from titiler.core.algorithm import algorithms

    chosen = algorithms.dependency

    @wraps(chosen)
    def post_process(*args, **kwargs):
        algorithm = chosen(*args, **kwargs)
        if algorithm is None:
            return None

        def run(image):
            try:
                return algorithm(image)
            except ValueError as err:
                raise InvalidInput("the algorithm cannot be applied here: {reason}",
                                   reason=str(err)) from None

        return run

    return post_process


def tiler_factory(settings: Settings, registry: Registry) -> TilerFactory:
    """TiTiler's endpoints for one dataset, resolved through the registry; bounded reads."""
    from morecantile import TileMatrixSets
    from morecantile import tms as matrix_sets

    return TilerFactory(
        router_prefix=PREFIX, name="raster", reader=registry_reader(),
        path_dependency=path_dependency(registry, settings.imagery.overzoom, MATRIX_SETS),
        environment_dependency=lambda: GDAL_ENV,
        supported_tms=TileMatrixSets({name: matrix_sets.get(name) for name in MATRIX_SETS}),
        img_preview_dependency=PreviewSize, img_part_dependency=PartSize,
        process_dependency=checked_algorithms(),
        tile_dependency=TileOptions, add_viewer=False, add_part=False,
    )


def build_router(settings: Settings, registry: Registry,
                 tiler: TilerFactory | None = None) -> APIRouter:
    """The /raster routes: the listing and the TiTiler factory under /raster/{dataset_id}."""
    tiler = tiler or tiler_factory(settings, registry)
    router = APIRouter(dependencies=[Depends(refuse_locations),
                                     Depends(check_geojson_body)], tags=["Raster"])
    router.add_api_route("/raster", _listing(registry), methods=["GET"],
                         summary="List the registered raster datasets")
    router.include_router(tiler.router, prefix=PREFIX)
    return router
