"""pygeoapi feature provider on PostGIS: the database builds the GeoJSON, one query a request.

Configured in pygeoapi-config.yml as
    name: layers.features.PostGISFeatures
    data: {dsn: ${DATABASE_URL}, table: parcels}
Only the columns listed in layers.catalogue are ever selected (personal data never is).
"""
import json
import logging
import re
from pygeoapi.provider.base import (BaseProvider, ProviderConnectionError,
                                    ProviderInvalidQueryError, ProviderItemNotFoundError)

from layers import queries, selection
from layers.catalogue import layer_for_table

LOGGER = logging.getLogger(__name__)
COUNT_CAP = 10_000
EPSG_URI = re.compile(r"/EPSG/0/(\d+)$")


class DatabaseUnavailable(ProviderConnectionError):
    """The database does not answer: 503 with a JSON error, never a traceback."""

    http_status_code = 503
    ogc_exception_code = "ServiceUnavailable"
    default_msg = "the database is not available; try again shortly"


class QueryTimeout(ProviderConnectionError):
    """A statement ran past statement_timeout: 503, the client may narrow the query."""

    http_status_code = 503
    ogc_exception_code = "ServiceUnavailable"
    default_msg = "the query took too long; narrow it down (smaller bbox, a filter)"


def target_srid(crs_transform_spec) -> int | None:
    """SRID to output, or None when the output is the stored CRS84."""
    if crs_transform_spec is None:
        return None
    match = EPSG_URI.search(crs_transform_spec.target_crs_uri or "")
    return int(match.group(1)) if match else None


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
        try:
            where = queries.Where()
            selection.add_filter(where, self.layer, filterq)
            selection.add_bbox(where, self.layer, bbox)
            selection.add_datetime(where, self.layer, datetime_)
            selection.add_properties(where, self.layer, properties or [])
            names = selection.selected(self.layer, select_properties)
            order, _ = selection.order(self.layer, [(item["property"], item.get("order") == "-")
                                                    for item in sortby or []])
        except selection.InvalidQuery as err:
            raise ProviderInvalidQueryError(user_msg=err.message) from None
        feature = queries.feature_json(self.layer, names, target_srid(crs_transform_spec),
                                       skip_geometry)
        page = self._read(feature, where, order, limit, offset)
        collection = {"type": "FeatureCollection",
                      "features": json.loads("[" + ",".join(page.features) + "]"),
                      "numberReturned": len(page.features)}
        if resulttype == "hits":
            collection["features"], collection["numberReturned"] = [], 0
        if page.matched is not None:
            collection["numberMatched"] = page.matched
        return collection

    def get(self, identifier, crs_transform_spec=None, **kwargs):
        """One feature by id, in one query."""
        try:
            key = int(identifier)
        except (TypeError, ValueError):
            raise ProviderItemNotFoundError(user_msg=f"no feature with id {identifier!r}") from None
        feature = queries.feature_json(self.layer, tuple(self._fields),
                                       target_srid(crs_transform_spec), False)
        row = self._fetch(queries.single(self.layer, feature), [key])
        if row is None:
            raise ProviderItemNotFoundError(user_msg=f"no feature with id {identifier!r}")
        return json.loads(row[0])

    def _read(self, feature, where, order, limit, offset) -> queries.Page:
        """One page of features; database trouble becomes a 503/400."""
        return self._guarded(queries.read_page, self.dsn, self.layer, feature, where, order,
                             limit, offset, COUNT_CAP)

    def _fetch(self, statement, params):
        """Run one statement and return its first row; database trouble becomes a 503/400."""
        return self._guarded(queries.fetch_one, self.dsn, statement, params)

    @staticmethod
    def _guarded(function, *args):
        """Call a database function, turning its domain errors into pygeoapi's."""
        try:
            return function(*args)
        except queries.DatabaseDown:
            raise DatabaseUnavailable() from None
        except queries.QueryTooSlow:
            raise QueryTimeout() from None
        except selection.InvalidQuery as err:
            raise ProviderInvalidQueryError(user_msg=err.message) from None
