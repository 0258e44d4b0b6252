"""Which rows and columns a features request selects: typed filters → parameterised SQL.

Shared by the pygeoapi provider and the GeoJSON fast path, so both answer the same query the
same way. Every problem with a client value raises `InvalidQuery`, whose message is safe to show.
"""
from datetime import date, datetime

from psycopg import sql

from layers import cql
from layers.catalogue import Layer
from layers.errors import InvalidQuery
from layers.queries import Where


def _shown(layer: Layer, name: str) -> str:
    """A client-given property name, quoted — unless it names a personal column, which a
    response never spells out."""
    return "(not a public property)" if name in layer.personal else repr(name)


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
        raise InvalidQuery(f"property '{name}' expects a {fmt or kind}, got {value!r}") from None
    if "\x00" in value:
        raise InvalidQuery(f"property '{name}' contains a NUL character")
    return value


def add_bbox(where: Where, layer: Layer, bbox) -> None:
    """Rows intersecting a CRS84 bbox; a box whose west edge is east of its east edge crosses
    the antimeridian and is two boxes."""
    if not bbox:
        return
    minx, miny, maxx, maxy = bbox[0], bbox[1], bbox[-2], bbox[-1]
    geom = sql.Identifier(layer.geometry_column)
    if minx <= maxx:
        where.add(sql.SQL("t.{} && ST_MakeEnvelope(%s, %s, %s, %s, 4326)").format(geom),
                  minx, miny, maxx, maxy)
        return
    where.add(sql.SQL("(t.{0} && ST_MakeEnvelope(%s, %s, 180, %s, 4326) OR "
                      "t.{0} && ST_MakeEnvelope(-180, %s, %s, %s, 4326))").format(geom),
              minx, miny, maxy, miny, maxx, maxy)


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
        raise InvalidQuery(f"datetime {text!r} is not an RFC 3339 date or date-time") from None


def add_properties(where: Where, layer: Layer, properties) -> None:
    """Equality filters from query parameters named after properties."""
    for name, value in properties:
        schema = layer.fields.get(name)
        if schema is None:
            raise InvalidQuery(f"unknown property {_shown(layer, name)}")
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
        raise InvalidQuery(err.message) from None
    where.add(condition, *params)


def selected(layer: Layer, names) -> tuple[str, ...]:
    """The property names to return (all public ones by default)."""
    if not names:
        return tuple(layer.fields)
    unknown = [name for name in names if name not in layer.fields]
    if unknown:
        raise InvalidQuery("unknown properties: " + ", ".join(_shown(layer, n) for n in unknown))
    return tuple(names)


def order(layer: Layer, sortby) -> tuple[sql.Composable, bool]:
    """ORDER BY from [(property, descending)], always ending with the id so pages are stable;
    and whether the order is the plain id order (which allows keyset paging)."""
    keys = []
    for name, descending in sortby or []:
        if name not in layer.fields and name != layer.id_field:
            raise InvalidQuery(f"cannot sort by unknown property {_shown(layer, name)}")
        keys.append(sql.SQL("t.{} {}").format(sql.Identifier(name),
                                              sql.SQL("DESC" if descending else "ASC")))
    keys.append(sql.SQL("t.{}").format(sql.Identifier(layer.id_field)))
    return sql.SQL("ORDER BY ") + sql.SQL(", ").join(keys), not sortby
