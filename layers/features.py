"""pygeoapi feature provider on PostGIS: the database builds the GeoJSON, one query a request.

Configured in pygeoapi-config.yml as
    name: layers.features.PostGISFeatures
    data: {table: parcels}
create_app puts the application's `Database` into `data.database` (pygeoapi hands the provider
its configuration, never objects of its own). Only the columns listed in layers.catalogue are
ever selected (personal data never is). Problems are domain errors (layers.errors, kernel.errors):
pygeoapi lets them through and the application's error map answers them.
"""
import json
import logging
import re
from pygeoapi.provider.base import BaseProvider

from kernel.errors import NotFound
from layers import queries, selection
from layers.catalogue import layer_for_table
from layers.database import Database

LOGGER = logging.getLogger(__name__)
COUNT_CAP = 10_000
EPSG_URI = re.compile(r"/EPSG/0/(\d+)$")


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
        self.db: Database | None = provider_def["data"].get("database")
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
        selection.add_filter(where, self.layer, filterq)
        selection.add_bbox(where, self.layer, bbox)
        selection.add_datetime(where, self.layer, datetime_)
        selection.add_properties(where, self.layer, properties or [])
        names = selection.selected(self.layer, select_properties)
        order, _ = selection.order(self.layer, [(item["property"], item.get("order") == "-")
                                                for item in sortby or []])
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
        key = queries.feature_id(identifier)
        feature = queries.feature_json(self.layer, tuple(self._fields),
                                       target_srid(crs_transform_spec), False)
        row = self._fetch(queries.single(self.layer, feature), [key])
        if row is None:
            raise NotFound("no feature with id {id!r}", id=identifier)
        return json.loads(row[0])

    def _read(self, feature, where, order, limit, offset) -> queries.Page:
        """One page of features."""
        return queries.read_page(self.db, self.layer, feature, where, order, limit, offset,
                                 COUNT_CAP)

    def _fetch(self, statement, params):
        """The first row of one statement."""
        return self.db.fetch_one(statement, params)
