"""SQL for the feature provider: GeoJSON built by PostGIS, every value a bound parameter."""
from dataclasses import dataclass, field
from functools import lru_cache

from psycopg import sql

from kernel.errors import NotFound
from layers.catalogue import Layer
from layers.database import Database

# Output CRS: SRID and coordinate decimals. EPSG:4326 is served in its official lat/lon order.
DEGREES = 7
METRES = 2
LAT_LON = {4326}


@dataclass
class Where:
    """A conjunction of SQL conditions and their parameters."""

    parts: list = field(default_factory=list)
    params: list = field(default_factory=list)

    def add(self, condition: sql.Composable, *params) -> None:
        """Append one condition with its parameters."""
        self.parts.append(condition)
        self.params.extend(params)

    def sql(self) -> sql.Composable:
        """The WHERE clause (empty when there is no condition)."""
        if not self.parts:
            return sql.SQL("")
        return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(self.parts)


def geometry_json(layer: Layer, srid: int | None) -> sql.Composable:
    """ST_AsGeoJSON of the layer's geometry in the output CRS (None = CRS84, as stored)."""
    geom = sql.SQL("t.{}").format(sql.Identifier(layer.geometry_column))
    if srid is None:
        return sql.SQL("ST_AsGeoJSON({}, {}, 0)::json").format(geom, sql.Literal(DEGREES))
    if srid in LAT_LON:
        return sql.SQL("ST_AsGeoJSON(ST_FlipCoordinates({}), {}, 0)::json").format(
            geom, sql.Literal(DEGREES))
    return sql.SQL("ST_AsGeoJSON(ST_Transform({}, {}), {}, 0)::json").format(
        geom, sql.Literal(srid), sql.Literal(METRES))


@lru_cache(maxsize=1024)
def feature_json(layer: Layer, properties: tuple[str, ...], srid: int | None,
                 skip_geometry: bool) -> sql.Composable:
    """A json_build_object expression producing one GeoJSON Feature per row (composed once)."""
    props = sql.SQL(", ").join(
        sql.SQL("{}, t.{}").format(sql.Literal(name), sql.Identifier(name)) for name in properties
    )
    geometry = sql.SQL("NULL") if skip_geometry else geometry_json(layer, srid)
    return sql.SQL(
        "json_build_object('type', 'Feature', 'id', t.{id}, 'geometry', {geometry}, "
        "'properties', json_build_object({props}))"
    ).format(id=sql.Identifier(layer.id_field), geometry=geometry, props=props)


@dataclass
class Page:
    """One page of features: their JSON texts, whether more follow, how many match (or None
    when that is above the count cap), and the id of the last feature (for keyset paging)."""

    features: list[str]
    more: bool
    matched: int | None
    last_id: int | None


def read_page(db: Database, layer: Layer, feature: sql.Composable, where: Where,
              order: sql.Composable, limit: int, offset: int, count_cap: int) -> Page:
    """Fetch limit + 1 rows (to know whether a next page exists) and, only when the page does
    not already tell, count the matches up to `count_cap` rows."""
    table = sql.Identifier(layer.table)
    rows_sql = sql.SQL("SELECT {feature}::text, t.{id} FROM {table} t{where} {order} "
                       "LIMIT %s OFFSET %s").format(
        feature=feature, id=sql.Identifier(layer.id_field), table=table, where=where.sql(),
        order=order)
    count_sql = sql.SQL("SELECT count(*) FROM (SELECT 1 FROM {table} t{where} LIMIT %s) c").format(
        table=table, where=where.sql())

    def work(conn):
        rows = conn.execute(rows_sql, [*where.params, limit + 1, offset]).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        if (rows and not more) or (not rows and offset == 0):
            matched = offset + len(rows)
        else:
            n = conn.execute(count_sql, [*where.params, count_cap + 1]).fetchone()[0]
            matched = n if n <= count_cap else None
        return Page([row[0] for row in rows], more, matched, rows[-1][1] if rows else None)

    return db.run(work)


class LayerTotals:
    """Exact row counts of whole layers, one `count(*)` per layer version: the numberMatched of
    an unfiltered request at any size (above the count cap a page would omit it, and GDAL and
    QGIS then count a layer by paging through all of it). `versions` is the application's
    LayerVersions; without a version (database trouble) there is no count."""

    def __init__(self, db: Database, versions):
        """Count in `db`, keyed by the versions `versions.get(table)` gives."""
        self.db, self.versions = db, versions
        self._kept: dict[str, tuple[int, int]] = {}   # table -> (version, rows)

    def total(self, layer: Layer) -> int | None:
        """The layer's row count at its current version (a version read before counting, so a
        write meanwhile makes the next call count again)."""
        current = self.versions.get(layer.table)
        if current is None:
            return None
        kept = self._kept.get(layer.table)
        if kept is not None and kept[0] == current[0]:
            return kept[1]
        statement = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(layer.table))
        rows = self.db.fetch_one(statement, [])[0]
        self._kept[layer.table] = (current[0], rows)
        return rows


@lru_cache(maxsize=256)
def single_statement(layer: Layer, srid: int | None) -> bytes:
    """The statement of one feature by id with all its properties, composed once per layer and
    output CRS (composing it per request cost a fifth of a single-item read)."""
    return single(layer, feature_json(layer, tuple(layer.fields), srid, False)).as_bytes(None)


def single(layer: Layer, feature: sql.Composable) -> sql.Composable:
    """One statement fetching one feature by id."""
    return sql.SQL("SELECT {feature}::text FROM {table} t WHERE t.{id} = %s").format(
        feature=feature, table=sql.Identifier(layer.table), id=sql.Identifier(layer.id_field))


MAX_ID_DIGITS = 18   # ids are bigint; 18 digits always fit


def feature_id(text) -> int:
    """A feature id from a path (ASCII digits only: no sign, blanks or "٣"), or NotFound."""
    value = str(text)
    if not (value.isascii() and value.isdigit()) or len(value) > MAX_ID_DIGITS:
        raise NotFound("no feature with id {id!r}", id=value[:40])
    return int(value)
