"""pygeoapi feature provider on PostGIS: the database builds the GeoJSON, one query a request.

Configured in pygeoapi-config.yml as
    name: layers.features.PostGISFeatures
    data: {dsn: ${DATABASE_URL}, table: parcels}
Only the columns listed in layers.catalogue are ever selected (personal data never is).
"""
import json
import logging
import re
from datetime import date, datetime

import psycopg
from psycopg import sql
from psycopg_pool import PoolTimeout
from pygeoapi.provider.base import (BaseProvider, ProviderConnectionError,
                                    ProviderInvalidQueryError, ProviderItemNotFoundError,
                                    ProviderQueryError)

from layers import cql, pool, queries
from layers.catalogue import layer_for_table

LOGGER = logging.getLogger(__name__)
COUNT_CAP = 10_000
EPSG_URI = re.compile(r"/EPSG/0/(\d+)$")


class DatabaseUnavailable(ProviderConnectionError):
    """The database does not answer: 503 with a JSON error, never a traceback."""

    http_status_code = 503
    ogc_exception_code = "ServiceUnavailable"
    default_msg = "the database is not available; try again shortly"


def target_srid(crs_transform_spec) -> int | None:
    """SRID to output, or None when the output is the stored CRS84."""
    if crs_transform_spec is None:
        return None
    match = EPSG_URI.search(crs_transform_spec.target_crs_uri or "")
    return int(match.group(1)) if match else None


def _typed(value: str, schema: dict, name: str):
    """Convert a query-string value to the column's type, or raise a 400."""
    kind, fmt = schema.get("type"), schema.get("format")
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
        if fmt == "date":
            return date.fromisoformat(value)
        if fmt == "date-time":
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ProviderInvalidQueryError(
            user_msg=f"property '{name}' expects a {fmt or kind}, got {value!r}") from None
    return value


class PostGISFeatures(BaseProvider):
    """OGC API Features provider over one table of the layer catalogue."""

    def __init__(self, provider_def):
        """Resolve the table against the catalogue; touch no database."""
        super().__init__(provider_def)
        self.layer = layer_for_table(provider_def["data"]["table"])
        self.dsn = provider_def["data"]["dsn"]
        self.id_field = self.layer.id_field
        self.time_field = self.layer.time_field
        self.title_field = self.layer.title_field
        self._fields = dict(self.layer.fields)

    def get_fields(self):
        """Public fields and their JSON Schema types (from the catalogue, no database call)."""
        return self._fields

    def query(self, offset=0, limit=10, resulttype="results", bbox=None, datetime_=None,
              properties=None, sortby=None, select_properties=None, skip_geometry=False,
              q=None, filterq=None, crs_transform_spec=None, **kwargs):
        """A page of features as a GeoJSON FeatureCollection dict."""
        where = queries.Where()
        if filterq is not None:
            try:
                condition, params = cql.to_sql(filterq, self.layer)
            except cql.CQLError as err:
                raise ProviderInvalidQueryError(user_msg=err.message) from None
            where.add(condition, *params)
        self._where_bbox(where, bbox)
        self._where_datetime(where, datetime_)
        self._where_properties(where, properties or [])
        names = self._selected(select_properties)
        feature = queries.feature_json(self.layer, names, target_srid(crs_transform_spec),
                                       skip_geometry)
        statement, params = queries.page(self.layer, feature, where, self._order(sortby),
                                         limit, offset, COUNT_CAP)
        text, matched = self._fetch(statement, params)
        features = json.loads(text)
        collection = {"type": "FeatureCollection", "features": features[:limit],
                      "numberReturned": min(len(features), limit)}
        if resulttype == "hits":
            collection["features"], collection["numberReturned"] = [], 0
        if matched is not None:
            collection["numberMatched"] = matched
        return collection

    def get(self, identifier, crs_transform_spec=None, **kwargs):
        """One feature by id, in one query."""
        try:
            key = int(identifier)
        except (TypeError, ValueError):
            raise ProviderItemNotFoundError(user_msg=f"no feature with id {identifier!r}") from None
        feature = queries.feature_json(self.layer, list(self._fields),
                                       target_srid(crs_transform_spec), False)
        row = self._fetch(queries.single(self.layer, feature), [key])
        if row is None:
            raise ProviderItemNotFoundError(user_msg=f"no feature with id {identifier!r}")
        return json.loads(row[0])

    def _fetch(self, statement, params):
        """Run one statement and return its first row; database trouble becomes a 503/400."""
        try:
            with pool.get(self.dsn).connection() as conn:
                return conn.execute(statement, params).fetchone()
        except (PoolTimeout, psycopg.OperationalError) as err:
            LOGGER.warning("database unavailable: %s", err)
            raise DatabaseUnavailable() from None
        except psycopg.errors.QueryCanceled:
            raise ProviderQueryError(user_msg="the query took too long; narrow it down") from None
        except psycopg.DataError as err:
            LOGGER.info("rejected query value: %s", err)
            raise ProviderInvalidQueryError(user_msg="a query value is out of range") from None

    def _selected(self, select_properties) -> list[str]:
        """The property names to return (all public ones by default)."""
        if not select_properties:
            return list(self._fields)
        unknown = [name for name in select_properties if name not in self._fields]
        if unknown:
            raise ProviderInvalidQueryError(user_msg=f"unknown properties: {', '.join(unknown)}")
        return list(select_properties)

    def _where_bbox(self, where, bbox) -> None:
        """Features intersecting the bbox (already in the storage CRS, lon/lat)."""
        if not bbox:
            return
        minx, miny, maxx, maxy = bbox[0], bbox[1], bbox[-2], bbox[-1]
        where.add(sql.SQL("t.{} && ST_MakeEnvelope(%s, %s, %s, %s, 4326)").format(
            sql.Identifier(self.layer.geometry_column)), minx, miny, maxx, maxy)

    def _where_datetime(self, where, datetime_) -> None:
        """Instant or interval on the layer's time field; layers without time ignore it."""
        if not datetime_ or not self.time_field:
            return
        column = sql.SQL("t.{}").format(sql.Identifier(self.time_field))
        if "/" not in datetime_:
            where.add(sql.SQL("{} = %s::timestamptz").format(column), datetime_)
            return
        start, end = datetime_.split("/", 1)
        if start not in ("", ".."):
            where.add(sql.SQL("{} >= %s::timestamptz").format(column), start)
        if end not in ("", ".."):
            where.add(sql.SQL("{} <= %s::timestamptz").format(column), end)

    def _where_properties(self, where, properties) -> None:
        """Equality filters from query parameters named after properties."""
        for name, value in properties:
            if name not in self._fields:
                raise ProviderInvalidQueryError(user_msg=f"unknown property '{name}'")
            schema = self._fields[name]
            if schema.get("type") == "array":
                where.add(sql.SQL("%s = ANY(t.{})").format(sql.Identifier(name)), value)
            else:
                where.add(sql.SQL("t.{} = %s").format(sql.Identifier(name)),
                          _typed(value, schema, name))

    def _order(self, sortby) -> sql.Composable:
        """ORDER BY from sortby, always ending with the id so pages are stable."""
        keys = []
        for item in sortby or []:
            name = item["property"]
            if name not in self._fields and name != self.id_field:
                raise ProviderInvalidQueryError(user_msg=f"cannot sort by unknown property '{name}'")
            direction = sql.SQL("DESC") if item.get("order") == "-" else sql.SQL("ASC")
            keys.append(sql.SQL("t.{} {}").format(sql.Identifier(name), direction))
        keys.append(sql.SQL("t.{}").format(sql.Identifier(self.id_field)))
        return sql.SQL("ORDER BY ") + sql.SQL(", ").join(keys)
