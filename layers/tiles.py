"""pygeoapi vector-tile provider on PostGIS: one ST_AsMVT statement per tile, detail per zoom.

Configured in pygeoapi-config.yml as a second provider of a collection:
    - type: tile
      name: layers.tiles.PostGISVectorTiles
      data: {dsn: ${DATABASE_URL}, table: parcels}
      options: {zoom: {min: 15, max: 20}, schemes: [WebMercatorQuad, WorldCRS84Quad]}
      format: {name: mvt, mimetype: application/vnd.mapbox-vector-tile}

What a tile holds is decided here, per layer and zoom (TILE_LAYERS): the attributes a map styles
at that zoom (always public catalogue fields, never personal data), geometry simplified to about
half a pixel, polygons smaller than a pixel dropped, and a minimum zoom below which the layer is
not drawn (such tiles are empty: 204). Zoom levels are WebMercatorQuad levels; a WorldCRS84Quad
level z has about the ground resolution of WebMercatorQuad level z + 1 and is served as such.
The configured zoom range can narrow the range of TILE_LAYERS, never widen it.
"""
import functools
import logging
import re
from dataclasses import dataclass

import morecantile
from psycopg import sql
from pygeoapi.models.provider.base import TileMatrixSetEnum
from pygeoapi.provider.base_mvt import BaseMVTProvider

from kernel.errors import NotFound, QueryTooSlow, Unavailable
from layers.catalogue import LAYERS, Layer, layer_for_table
from layers.database import Database

LOGGER = logging.getLogger(__name__)

MVT_MIMETYPE = "application/vnd.mapbox-vector-tile"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EXTENT = 4096             # MVT grid units per tile side
BUFFER = 64               # grid units drawn beyond the tile edge (no seams at tile borders)
PIXELS = 256              # the screen pixels of a tile that "a pixel" refers to
MAX_ZOOM = 20
INDEX = re.compile(r"[0-9]{1,10}")   # ASCII digits only: no sign, blanks, exponent or "٣"


class TileNotFound(NotFound):
    """The tile is not in the tile matrix set (or the set is unknown)."""

    default_message = "tile not found"


class TileTooSlow(QueryTooSlow):
    """The tile statement hit the statement timeout: try again later."""

    default_message = "the tile took too long to build; try again shortly"


@dataclass(frozen=True)
class Detail:
    """What a layer's tiles hold from `minzoom` up (until the next Detail of the layer)."""

    minzoom: int
    fields: tuple[str, ...]
    kinds: tuple[str, ...] | None = None     # only rows whose `kind` is one of these (None: all)


@dataclass(frozen=True)
class TileLayer:
    """The tiles of one collection: its details by zoom, lowest first."""

    collection: str
    details: tuple[Detail, ...]
    maxzoom: int = MAX_ZOOM

    @property
    def minzoom(self) -> int:
        """Below this zoom the layer is not drawn."""
        return self.details[0].minzoom

    def detail_at(self, level: int) -> Detail | None:
        """The detail for a (WebMercatorQuad-equivalent) zoom level, None below minzoom."""
        chosen = None
        for detail in self.details:
            if detail.minzoom <= level:
                chosen = detail
        return chosen

    def field_zooms(self) -> dict[str, int]:
        """Every attribute that can appear in a tile and the lowest zoom it appears at."""
        zooms: dict[str, int] = {}
        for detail in self.details:
            for name in detail.fields:
                zooms.setdefault(name, detail.minzoom)
        return zooms


NAMES = ("name_ar", "name_en")
MAJOR_FACILITIES = ("hospital", "municipal_office", "police", "civil_defence")

TILE_LAYERS: dict[str, TileLayer] = {
    tiles.collection: tiles
    for tiles in (
        TileLayer("districts", (Detail(8, ("id", "code", *NAMES)),)),
        TileLayer("constraints", (Detail(8, ("id", "kind", "severity")),
                                  Detail(13, ("id", "kind", "severity", "risk_level",
                                              "max_height_m", *NAMES)))),
        TileLayer("zoning", (Detail(12, ("id", "code")),
                             Detail(14, ("id", "code", *NAMES)))),
        TileLayer("streets", (Detail(10, ("id", "kind"), kinds=("arterial",)),
                              Detail(12, ("id", "kind"), kinds=("arterial", "collector")),
                              Detail(14, ("id", "kind", *NAMES)),
                              Detail(16, ("id", "kind", *NAMES, "width_m", "row_m")))),
        TileLayer("facilities", (Detail(12, ("id", "kind"), kinds=MAJOR_FACILITIES),
                                 Detail(14, ("id", "kind")),
                                 Detail(16, ("id", "kind", *NAMES)))),
        TileLayer("parcels", (Detail(15, ("id", "land_use", "zoning_code")),
                              Detail(16, ("id", "parcel_no", "land_use", "zoning_code")))),
        TileLayer("licenses", (Detail(14, ("id", "status", "isic_code")),
                               Detail(16, ("id", "status", "isic_code",
                                           "trade_name_ar", "trade_name_en")))),
    )
}


@dataclass(frozen=True)
class Matrix:
    """A supported tile matrix set and how to build its tile envelopes in PostGIS."""

    id: str
    srid: int
    world_width: float        # width of the set's extent in its own units
    columns_at_zero: int      # tiles across at level 0 (rows at level 0 are always 1)
    level_offset: int         # WebMercatorQuad-equivalent level = z + level_offset
    envelope: sql.SQL         # ST_TileEnvelope of parameters z, x, y and a {margin} slot

    def tile_width(self, z: int) -> float:
        """Side of a tile at level z, in the set's CRS units."""
        return self.world_width / (self.columns_at_zero << z)

    def levels(self, minzoom: int, maxzoom: int) -> tuple[int, int]:
        """This set's levels for WebMercatorQuad-equivalent zooms `minzoom`..`maxzoom`."""
        return max(0, minzoom - self.level_offset), maxzoom - self.level_offset

    def contains(self, z: int, x: int, y: int) -> bool:
        """Whether column x and row y exist at level z."""
        return x < (self.columns_at_zero << z) and y < (1 << z)

    @property
    def definition(self):
        """pygeoapi's description of this tile matrix set."""
        return getattr(TileMatrixSetEnum, self.id.upper()).value


MATRICES: dict[str, Matrix] = {
    matrix.id: matrix
    for matrix in (
        Matrix("WebMercatorQuad", 3857, 2 * 20037508.342789244, 1, 0, sql.SQL(
            "ST_TileEnvelope(%(z)s::int, %(x)s::int, %(y)s::int, margin => {margin})")),
        # 2 x 1 tiles of 180 degrees at level 0 = the square tiling of level z + 1 over
        # (-180, -270, 180, 90), whose lower half is never asked for.
        Matrix("WorldCRS84Quad", 4326, 360.0, 2, 1, sql.SQL(
            "ST_TileEnvelope(%(z)s::int + 1, %(x)s::int, %(y)s::int, "
            "ST_MakeEnvelope(-180, -270, 180, 90, 4326), margin => {margin})")),
    )
}


@dataclass(frozen=True)
class Tile:
    """A validated tile address."""

    matrix: Matrix
    z: int
    x: int
    y: int

    @property
    def level(self) -> int:
        """The WebMercatorQuad-equivalent zoom level of this tile."""
        return self.z + self.matrix.level_offset


def matrix_for(matrix_id, schemes) -> Matrix:
    """The tile matrix set of that id if this provider serves it, or TileNotFound."""
    matrix = MATRICES.get(str(matrix_id))
    if matrix is None or matrix.id not in schemes:
        raise TileNotFound("unknown tile matrix set {id!r}", id=str(matrix_id)[:64])
    return matrix


def parse_tile(matrix: Matrix, z, y, x, maxzoom: int) -> Tile:
    """The tile at level z, row y, column x of a tile matrix set, or TileNotFound."""
    if not all(isinstance(v, (int, str)) and INDEX.fullmatch(str(v)) for v in (z, y, x)):
        raise TileNotFound("tile matrix, row and column must be non-negative integers")
    z, y, x = int(z), int(y), int(x)
    if z > maxzoom or not matrix.contains(z, x, y):
        raise TileNotFound("no tile {z}/{y}/{x} in {matrix} (levels up to {maxzoom})", z=z, y=y,
                           x=x, matrix=matrix.id, maxzoom=maxzoom)
    return Tile(matrix, z, x, y)


def _column(layer: Layer, name: str) -> sql.Composable:
    """A public column as an MVT-encodable value (numbers as float8, dates as text)."""
    if name == layer.id_field:
        return sql.SQL("t.{0} AS {0}").format(sql.Identifier(name))
    schema = layer.fields[name]          # KeyError for anything not public
    cast = {"number": "::float8", "integer": "::bigint"}.get(schema.get("type"), "")
    if schema.get("format") in ("date", "date-time"):
        cast = "::text"
    return sql.SQL("t.{0}" + cast + " AS {0}").format(sql.Identifier(name))


SHAPES = {
    "Point": ("ST_Transform(t.{geom}, {srid})", "TRUE"),
    "LineString": ("ST_Simplify(ST_Transform(t.{geom}, {srid}), %(tolerance)s::float8)",
                   "ST_Length(s.g) >= %(pixel)s::float8"),
    # polygons smaller than a pixel are dropped (a small part of a larger polygon is left to
    # ST_AsMVTGeom, which collapses it on the tile grid: a per-part ST_Dump cost a sub-query
    # per row, measured at 2x the whole tile time for parcels at z15-z16)
    "MultiPolygon": ("ST_SimplifyPreserveTopology(ST_Transform(t.{geom}, {srid}), "
                     "%(tolerance)s::float8)", "ST_Area(s.g) >= %(pixel)s::float8 ^ 2"),
}

# OFFSET 0 keeps each subquery a plan node of its own, so that the shape and the MVT geometry
# are computed once per row (a flattened query would compute them again in every filter).
TILE_SQL = """
SELECT ST_AsMVT(f.*, %(name)s::text, {extent}, 'mvt_geom', 'mvt_id') FROM (
  SELECT ST_AsMVTGeom(s.g, {bounds}, {extent}, {buffer}, true) AS mvt_geom, {outer}
  FROM (
    SELECT {shape} AS g, t.{id} AS mvt_id, {columns}
    FROM {table} t
    WHERE t.{geom} && ST_Transform({area}, 4326) AND {kinds}
    OFFSET 0
  ) s
  WHERE {keep}
  OFFSET 0
) f WHERE f.mvt_geom IS NOT NULL
"""


def tile_query(layer: Layer, detail: Detail, tile: Tile) -> tuple[sql.Composed, dict]:
    """The one statement that builds a tile of a layer, and its parameters."""
    shape, keep = SHAPES[layer.geometry_type]
    geom, envelope = sql.Identifier(layer.geometry_column), tile.matrix.envelope
    kinds = sql.SQL("t.kind = ANY(%(kinds)s::text[])") if detail.kinds else sql.SQL("TRUE")
    outer = [sql.SQL("s.mvt_id")] + [sql.SQL("s.{}").format(sql.Identifier(name))
                                     for name in detail.fields]
    statement = sql.SQL(TILE_SQL).format(
        area=envelope.format(margin=sql.SQL("%(margin)s::float8")),
        bounds=envelope.format(margin=sql.Literal(0)),
        extent=sql.Literal(EXTENT), buffer=sql.Literal(BUFFER), outer=sql.SQL(", ").join(outer),
        id=sql.Identifier(layer.id_field), table=sql.Identifier(layer.table), geom=geom,
        columns=sql.SQL(", ").join(_column(layer, name) for name in detail.fields),
        shape=sql.SQL(shape).format(geom=geom, srid=sql.Literal(tile.matrix.srid)),
        keep=sql.SQL(keep), kinds=kinds)
    width = tile.matrix.tile_width(tile.z)
    params = {"z": tile.z, "x": tile.x, "y": tile.y, "margin": BUFFER / EXTENT,
              "tolerance": width / (2 * PIXELS), "pixel": width / PIXELS,
              "name": layer.id, "kinds": list(detail.kinds or ())}
    return statement, params


def _fetch(db: Database, statement, params):
    """First row of one statement (a cancelled one is TileTooSlow)."""
    try:
        return db.fetch_one(statement, params)
    except QueryTooSlow:
        LOGGER.warning("tile statement cancelled (statement timeout): %s", params)
        raise TileTooSlow() from None


def _fetch_all(db: Database, statements: list[tuple]) -> list:
    """First row of several statements, sent together in one pipeline on one connection."""
    def work(conn):
        with conn.pipeline():
            cursors = [conn.execute(statement, params) for statement, params in statements]
            return [cursor.fetchone() for cursor in cursors]

    try:
        return db.run(work)
    except QueryTooSlow:
        LOGGER.warning("dataset tile statement cancelled (statement timeout)")
        raise TileTooSlow() from None


# Dataset tiles (OGC API Tiles "dataset tilesets" with "collections selection"): the layers of
# one tile, bottom to top when nothing else is asked for.
DATASET_LAYERS = ("zoning", "constraints", "parcels", "streets", "districts", "facilities",
                  "licenses")


def dataset_tile(db: Database, tile: Tile, collections: tuple[str, ...]) -> bytes | None:
    """One vector tile holding a layer per collection (in the given order) that has something
    to draw at this level: the MVT layers of each built as for its own tileset, concatenated
    (a vector tile is a sequence of layers). None when nothing is drawn."""
    statements = []
    for collection in collections:
        tiles = TILE_LAYERS[collection]
        detail = tiles.detail_at(tile.level)
        if detail is not None and tile.level <= tiles.maxzoom:
            statements.append(tile_query(LAYERS[collection], detail, tile))
    if not statements:
        return None
    rows = _fetch_all(db, statements)
    return b"".join(bytes(row[0]) for row in rows if row and row[0]) or None


def tileset_links(metadata: str, tiles: str, server_url: str, matrix: Matrix) -> list[dict]:
    """Links of a vector tileset whose metadata is at `metadata` (?f=json, ?f=tilejson) and
    whose tiles are under `tiles`: metadata, TileJSON, tiling scheme, tile URL template."""
    return [
        {"rel": "self", "type": "application/json", "href": f"{metadata}?f=json"},
        {"rel": "alternate", "type": "application/json", "title": "TileJSON",
         "href": f"{metadata}?f=tilejson"},
        {"rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
         "type": "application/json", "href": f"{server_url}/TileMatrixSets/{matrix.id}?f=json"},
        {"rel": "item", "type": MVT_MIMETYPE, "templated": True,
         "href": f"{tiles}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}?f=mvt"},
    ]


EXTENT_SQL = ("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
              "FROM (SELECT ST_Extent(t.{geom}) AS e FROM {table} t) x")
GEOMETRY_DIMENSION = {"Point": 0, "LineString": 1, "MultiPolygon": 2}


@functools.cache
def _tms(matrix_id: str):
    """morecantile's definition of a tile matrix set (used for tile limits of a bbox)."""
    return morecantile.tms.get(matrix_id)


def matrix_limits(matrix: Matrix, bounds, low: int, high: int) -> list[dict]:
    """tileMatrixSetLimits: the rows and columns covering the bounds at each level."""
    tms, (west, south, east, north) = _tms(matrix.id), bounds
    limits = []
    for z in range(low, high + 1):
        top_left, bottom_right = tms.tile(west, north, z), tms.tile(east, south, z)
        limits.append({"tileMatrix": str(z), "minTileRow": top_left.y,
                       "maxTileRow": bottom_right.y, "minTileCol": top_left.x,
                       "maxTileCol": bottom_right.x})
    return limits


class PostGISVectorTiles(BaseMVTProvider):
    """OGC API Tiles provider: Mapbox vector tiles of one catalogue table, built by PostGIS."""

    def __init__(self, provider_def):
        """Resolve the table and its tile rules against the catalogue; touch no database."""
        provider_def = {"options": {}, "format": {"name": "mvt", "mimetype": MVT_MIMETYPE},
                        **provider_def}
        super().__init__(provider_def)
        self.layer = layer_for_table(provider_def["data"]["table"])
        self.db: Database | None = provider_def["data"].get("database")   # None: OpenAPI generation
        self.tiles = TILE_LAYERS[self.layer.id]
        zoom = self.options.get("zoom") or {}
        self.minzoom = max(self.tiles.minzoom, int(zoom.get("min", 0)))
        self.maxzoom = min(self.tiles.maxzoom, int(zoom.get("max", MAX_ZOOM)))
        self.options = {**self.options, "zoom": {"min": self.minzoom, "max": self.maxzoom}}
        self.schemes = [m for m in MATRICES if not self.schemes or m in self.schemes]

    def __repr__(self):
        """Provider and table, never the connection string."""
        return f"<PostGISVectorTiles> {self.layer.table}"

    def get_layer(self):
        """The MVT layer name: the collection id."""
        return self.layer.id

    def get_fields(self):
        """Attributes that can appear in tiles, with their JSON Schema types."""
        return {name: self.layer.fields.get(name, {"type": "integer"})
                for name in self.tiles.field_zooms()}

    def get_tiling_schemes(self):
        """The tile matrix sets served (pygeoapi's definitions)."""
        return [MATRICES[m].definition for m in self.schemes]

    def zoom_range(self, matrix: Matrix) -> tuple[int, int]:
        """Lowest level drawn and highest level served in a tile matrix set."""
        return matrix.levels(self.minzoom, self.maxzoom)

    def get_tiles(self, layer=None, tileset=None, z=None, y=None, x=None, format_=None):
        """The tile as MVT bytes, or None (204) when it holds nothing; TileNotFound if no tile."""
        matrix = matrix_for(tileset, self.schemes)
        low, high = self.zoom_range(matrix)
        tile = parse_tile(matrix, z, y, x, high)
        detail = self.tiles.detail_at(tile.level)
        if tile.z < low or detail is None:
            return None
        statement, params = tile_query(self.layer, detail, tile)
        row = _fetch(self.db, statement, params)
        if row is None or row[0] is None:
            return None
        return bytes(row[0]) or None

    def get_tiles_service(self, baseurl=None, servicepath=None, dirpath=None, tile_type=None):
        """Links for the tilesets list: tile URL template and TileJSON template."""
        self._service_url = servicepath
        tilesets = servicepath.split("/{tileMatrix}")[0]
        self._service_metadata_url = f"{tilesets}/metadata"
        return {"links": [
            {"type": self.mimetype, "rel": "item", "templated": True, "href": servicepath,
             "title": f"{self.layer.id} vector tiles"},
            {"type": "application/json", "rel": "describedby", "templated": True,
             "href": f"{tilesets}/metadata?f=tilejson", "title": "TileJSON of a tile matrix set"},
        ]}

    def get_metadata(self, dataset, server_url, layer=None, tileset=None, metadata_format=None,
                     title=None, description=None, keywords=None, **kwargs):
        """Tileset metadata: OGC JSON (default), TileJSON 3.0.0 or the HTML page's data."""
        matrix = matrix_for(tileset, self.schemes)
        base = f"{server_url}/collections/{dataset}/tiles/{matrix.id}"
        fmt = (metadata_format or "json").lower()
        if fmt == "tilejson":
            return self.tilejson(matrix, base, title, description)
        if fmt == "html":
            return {"id": dataset, "title": title, "tileset": matrix.id,
                    "collections_path": f"{base}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}?f=mvt",
                    "json_url": f"{base}/metadata?f=json",
                    "tilejson_url": f"{base}/metadata?f=tilejson",
                    "metadata": {"zoom": self.zoom_range(matrix), "bounds": self.bounds(),
                                 "fields": self.tiles.field_zooms()}}
        return self.tileset(matrix, base, server_url, title, description)

    def bounds(self) -> list[float] | None:
        """The layer's lon/lat extent (None when empty or the database is down)."""
        statement = sql.SQL(EXTENT_SQL).format(geom=sql.Identifier(self.layer.geometry_column),
                                               table=sql.Identifier(self.layer.table))
        try:
            row = _fetch(self.db, statement, {})
        except Unavailable:
            LOGGER.warning("tileset metadata of %s without bounds", self.layer.id)
            return None
        if row is None or row[0] is None:
            return None
        west, south, east, north = (float(v) for v in row)
        return [round(west - 5e-7, 6), round(south - 5e-7, 6), round(east + 5e-7, 6),
                round(north + 5e-7, 6)]

    def tilejson(self, matrix: Matrix, base: str, title, description) -> dict:
        """TileJSON 3.0.0 for web maps (Leaflet.VectorGrid, MapLibre, protomaps) and QGIS."""
        low, high = self.zoom_range(matrix)
        types = {"integer": "Number", "number": "Number"}
        zooms = self.tiles.field_zooms()
        document = {
            "tilejson": "3.0.0", "name": title or self.layer.id, "description": description,
            "scheme": "xyz", "tiles": [f"{base}/{{z}}/{{y}}/{{x}}?f=mvt"],
            "minzoom": low, "maxzoom": high,
            "vector_layers": [{
                "id": self.layer.id, "minzoom": low, "maxzoom": high,
                "description": "attributes from level: " + ", ".join(
                    f"{name} {zoom - matrix.level_offset}" for name, zoom in zooms.items()),
                "fields": {name: types.get(schema.get("type"), "String")
                           for name, schema in self.get_fields().items()},
            }],
        }
        bounds = self.bounds()
        if bounds:
            document["bounds"] = bounds
            document["center"] = [round((bounds[0] + bounds[2]) / 2, 6),
                                  round((bounds[1] + bounds[3]) / 2, 6), low]
        return document

    def tileset(self, matrix: Matrix, base: str, server_url: str, title, description) -> dict:
        """OGC API Tiles tileset metadata (tileset conformance class)."""
        low, high = self.zoom_range(matrix)
        zooms, definition = self.tiles.field_zooms(), matrix.definition
        layer = {"id": self.layer.id, "title": title, "dataType": "vector",
                 "geometryDimension": GEOMETRY_DIMENSION[self.layer.geometry_type],
                 "minTileMatrix": str(low), "maxTileMatrix": str(high),
                 "propertiesSchema": {"type": "object", "properties": {
                     name: {**schema, "description":
                            f"in tiles from level {zooms[name] - matrix.level_offset}"}
                     for name, schema in self.get_fields().items()}}}
        document = {
            "title": title, "description": description, "dataType": "vector",
            "crs": definition.crs, "tileMatrixSetURI": definition.tileMatrixSetURI,
            "mediaTypes": [self.mimetype], "layers": [layer],
            "links": tileset_links(f"{base}/metadata", base, server_url, matrix),
        }
        bounds = self.bounds()
        if bounds:
            box = {"lowerLeft": bounds[:2], "upperRight": bounds[2:], "crs": CRS84}
            document["boundingBox"] = layer["boundingBox"] = box
            document["tileMatrixSetLimits"] = matrix_limits(matrix, bounds, low, high)
        return document
