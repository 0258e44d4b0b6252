"""Which rows and columns a features request selects: typed filters → parameterised SQL.

Shared by the pygeoapi provider and the GeoJSON fast path, so both answer the same query the
same way. Every problem with a client value raises `InvalidQuery`, whose message is safe to show.
"""
import math
from datetime import date, datetime
from functools import lru_cache

from psycopg import sql
from pyproj import Transformer
from pyproj.exceptions import ProjError

from layers import cql
from layers.catalogue import Layer
from layers.errors import InvalidQuery
from layers.queries import Where
from kernel.messages import Phrase


def _shown(layer: Layer, name: str) -> str | Phrase:
    """A client-given property name, quoted — unless it names a personal column, which a
    response never spells out."""
    return HIDDEN if name in layer.personal else repr(name)


def typed(value: str, schema: dict, name: str):
    """Convert a query-string value to the column's type, or raise InvalidQuery."""
    kind, fmt = schema.get("type"), schema.get("format")
    try:
        if kind == "integer":
            number = int(value)
            if abs(number) >= 2**63:
                raise ValueError
            return number
        if kind == "number":
            return float(value)
        if fmt == "date":
            return date.fromisoformat(value)
        if fmt == "date-time":
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidQuery("property '{name}' expects a {kind}, got {value!r}", name=name,
                           kind=fmt or kind, value=value) from None
    if "\x00" in value:
        raise InvalidQuery("property '{name}' contains a NUL character", name=name)
    return value


CRS84_SRID = 4326       # CRS84 boxes are lon/lat, the plane the layers' geometries are stored in
HIDDEN = Phrase("(ليست خاصية عامة)", "(not a public property)")
DENSIFY = 64            # segments per edge of a projected box, transformed to lon/lat
PREFILTER_MARGIN = 1e-6  # degrees (~0.1 m) around those lon/lat bounds: edges curve between
#                          the densified points, and PostGIS's PROJ may differ in the last digits


def bbox_corners(bbox) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a 4-number bbox or a 6-number one (heights dropped)."""
    half = len(bbox) // 2
    return bbox[0], bbox[1], bbox[half], bbox[half + 1]


def _box(srid: int) -> sql.Composable:
    """A box from four bound numbers (west, south, east, north) in `srid`: a polygon, or a
    line or point when it has no width or height (a flat envelope polygon intersects nothing)."""
    return sql.SQL("ST_SetSRID(ST_MakeBox2D(ST_Point(%s, %s), ST_Point(%s, %s))::geometry, "
                   "{})").format(sql.Literal(srid))


def _intersecting(geom: sql.Composable) -> sql.Composable:
    """The rows whose geometry intersects one CRS84 box: the index first (&&), then exactly."""
    return sql.SQL("({g} && {b} AND ST_Intersects({g}, {b}))").format(g=geom, b=_box(CRS84_SRID))


def add_bbox(where: Where, layer: Layer, bbox, srid: int | None = None) -> None:
    """Rows whose geometry intersects a bbox (OGC API Features /req/core/fc-bbox-response), not
    merely its envelope. Without `srid` the box is CRS84; a box whose west edge is east of its
    east edge crosses the antimeridian and is two boxes. With a projected `srid` (x, y order)
    the geometry is compared in that CRS."""
    if not bbox:
        return
    west, south, east, north = bbox_corners(bbox)
    geom = sql.SQL("t.{}").format(sql.Identifier(layer.geometry_column))
    if srid not in (None, CRS84_SRID):
        _add_projected_bbox(where, geom, (west, south, east, north), srid)
    elif west <= east:
        where.add(_intersecting(geom), *(west, south, east, north) * 2)
    else:
        where.add(sql.SQL("({} OR {})").format(_intersecting(geom), _intersecting(geom)),
                  *(west, south, 180, north) * 2, *(-180, south, east, north) * 2)


def _add_projected_bbox(where: Where, geom: sql.Composable, corners, srid: int) -> None:
    """A box in a projected CRS: the index with the box's lon/lat bounds (its edges densified,
    as they curve in lon/lat), then ST_Intersects in the box's own CRS."""
    west, south, east, north = lon_lat_bounds(corners, srid)
    where.add(sql.SQL("({g} && {e} AND ST_Intersects(ST_Transform({g}, {p}), {b}))").format(
        g=geom, e=_box(CRS84_SRID), p=sql.Literal(srid), b=_box(srid)),
        west - PREFILTER_MARGIN, south - PREFILTER_MARGIN, east + PREFILTER_MARGIN,
        north + PREFILTER_MARGIN, *corners)


@lru_cache(maxsize=16)
def _to_lon_lat(srid: int) -> Transformer:
    """A transformer from `srid` to lon/lat (pyproj's are thread-safe; building one costs ms)."""
    return Transformer.from_crs(srid, CRS84_SRID, always_xy=True)


def lon_lat_bounds(corners, srid: int) -> tuple[float, float, float, float]:
    """Lon/lat bounds of a box given in `srid`, from DENSIFY points per edge; InvalidQuery when
    part of it is outside what the CRS can express (PostGIS would fail the query)."""
    west, south, east, north = corners
    steps = [i / DENSIFY for i in range(DENSIFY + 1)]
    xs = [west + (east - west) * f for f in steps] * 2 + [west] * len(steps) + [east] * len(steps)
    ys = [south] * len(steps) + [north] * len(steps) + [south + (north - south) * f
                                                       for f in steps] * 2
    try:
        lons, lats = _to_lon_lat(srid).transform(xs, ys, errcheck=True)
    except ProjError:
        lons = lats = [math.inf]
    if not all(map(math.isfinite, [*lons, *lats])):
        raise InvalidQuery("bbox lies outside the area its bbox-crs can express")
    return min(lons), min(lats), max(lons), max(lats)


def add_datetime(where: Where, layer: Layer, interval: str | None) -> None:
    """Instant or interval on the layer's time field; layers without time ignore it."""
    if not interval or not layer.time_field:
        return
    column = sql.SQL("t.{}").format(sql.Identifier(layer.time_field))
    if "/" not in interval:
        where.add(sql.SQL("{} = %s").format(column), _instant(interval))
        return
    start, end = interval.split("/", 1)
    if start not in ("", ".."):
        where.add(sql.SQL("{} >= %s").format(column), _instant(start))
    if end not in ("", ".."):
        where.add(sql.SQL("{} <= %s").format(column), _instant(end))


def _instant(text: str) -> datetime | date:
    """An RFC 3339 date or date-time, or InvalidQuery."""
    try:
        if "T" in text or "t" in text:
            return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidQuery("datetime {value!r} is not an RFC 3339 date or date-time",
                           value=text) from None


def add_properties(where: Where, layer: Layer, properties) -> None:
    """Equality filters from query parameters named after properties."""
    for name, value in properties:
        schema = layer.fields.get(name)
        if schema is None:
            raise InvalidQuery("unknown property {name}", name=_shown(layer, name))
        if schema.get("type") == "array":
            where.add(sql.SQL("%s = ANY(t.{})").format(sql.Identifier(name)), value)
        else:
            where.add(sql.SQL("t.{} = %s").format(sql.Identifier(name)),
                      typed(value, schema, name))


def add_filter(where: Where, layer: Layer, node,
               max_vertices: int = cql.DEFAULT_MAX_VERTICES) -> None:
    """A parsed CQL2 filter (pygeofilter AST); geometry literals of at most max_vertices."""
    if node is None:
        return
    try:
        condition, params = cql.to_sql(node, layer, max_vertices)
    except cql.CQLError as err:
        raise InvalidQuery(err.template, **err.params) from None
    where.add(condition, *params)


def selected(layer: Layer, names) -> tuple[str, ...]:
    """The property names to return (all public ones by default)."""
    if not names:
        return tuple(layer.fields)
    unknown = [name for name in names if name not in layer.fields]
    if unknown:
        raise InvalidQuery("unknown properties: {names}",
                           names=[Phrase.of(_shown(layer, n)) for n in unknown])
    return tuple(names)


def order(layer: Layer, sortby) -> tuple[sql.Composable, bool]:
    """ORDER BY from [(property, descending)], always ending with the id so pages are stable;
    and whether the order is the plain id order (which allows keyset paging)."""
    keys = []
    for name, descending in sortby or []:
        if name not in layer.fields and name != layer.id_field:
            raise InvalidQuery("cannot sort by unknown property {name}",
                               name=_shown(layer, name))
        keys.append(sql.SQL("t.{} {}").format(sql.Identifier(name),
                                              sql.SQL("DESC" if descending else "ASC")))
    keys.append(sql.SQL("t.{}").format(sql.Identifier(layer.id_field)))
    return sql.SQL("ORDER BY ") + sql.SQL(", ").join(keys), not sortby
