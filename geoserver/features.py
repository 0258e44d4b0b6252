"""The items routes of the OGC API: every request on /collections/{id}/items[/{fid}].

One handler per route decides, from the parsed request, who answers: GeoJSON reads (GET, and
POST of a CQL2-JSON query) are ours (geoserver/items.py), tagged by the layer's version
(geoserver/caching.py); Part 4 writes and signed-in single-item reads are geoserver/editing.py;
HTML and JSON-LD pages go to pygeoapi (geoserver/ogc.py), which reads through the same provider
SQL. The collection id is resolved against the layer catalogue first: unknown is a 404.
"""
from __future__ import annotations

import json

from pygeoapi.api import itemtypes
from starlette.requests import Request
from starlette.responses import Response

from geoserver import ogc
from geoserver.auth import QUERY_MEDIA, media_type
from geoserver.caching import LayerCache
from geoserver.editing import FeatureEditing
from geoserver.items import Items, check_parameters
from kernel.errors import InvalidInput, NotFound
from layers import cql_parse
from layers.catalogue import LAYERS, Layer

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
OURS = ("json", "geojson")
MAX_QUERY_BYTES = 1 << 20


def _layer(request: Request) -> Layer:
    """The collection of the path, or NotFound."""
    name = request.path_params["collection"]
    if name not in LAYERS:
        raise NotFound("no collection {name!r}", name=name[:64])
    return LAYERS[name]


def _ours(request: Request) -> bool:
    """Whether a read asks for GeoJSON (f=json|geojson, or no f and no HTML/JSON-LD Accept)."""
    fmt = request.query_params.get("f")
    if fmt is None:
        accept = request.headers.get("accept", "")
        return not ("html" in accept or "ld+json" in accept)
    return fmt in OURS


class FeatureRoutes:
    """Handlers of the items routes of one application."""

    def __init__(self, api, items: Items, editing: FeatureEditing, cache: LayerCache,
                 downloads=None):
        """pygeoapi's API (HTML, JSON-LD), our reader and writer, the layer cache, the file
        formats (geoserver/downloads.py: f=csv|geojsonseq|gpkg|fgb|shp|kml)."""
        self.api, self.items, self.editing, self.cache = api, items, editing, cache
        self.downloads = downloads

    async def collection(self, request: Request) -> Response:
        """GET / HEAD / POST /collections/{collectionId}/items."""
        layer = _layer(request)
        if request.method == "POST":
            if media_type(request.headers) != QUERY_MEDIA:
                return await self.editing.write(request, layer.id, None)
            check_parameters(layer, request.query_params.keys(), single=False)
            node = await _query_body(request)
            return await self.items.page(layer, dict(request.query_params), node)
        check_parameters(layer, request.query_params.keys(), single=False)
        return await self.cache.respond(request, (layer.table,), "items",
                                        lambda: self._page(request, layer))

    async def _page(self, request: Request, layer: Layer) -> Response:
        """A page in the format asked for."""
        fmt = request.query_params.get("f")
        if self.downloads is not None and fmt in self.downloads.FORMATS:
            query = self.items.parse(layer, dict(request.query_params))
            return await self.downloads.items(request, layer, fmt, query)
        if _ours(request):
            return await self.items.page(layer, dict(request.query_params))
        return await ogc.call(self.api, itemtypes.get_collection_items, request, layer.id,
                              skip_valid_check=True)

    async def item(self, request: Request) -> Response:
        """GET / HEAD / PUT / PATCH / DELETE /collections/{collectionId}/items/{featureId}."""
        layer, item = _layer(request), request.path_params["item"]
        if request.method in WRITE_METHODS:
            return await self.editing.write(request, layer.id, item)
        check_parameters(layer, request.query_params.keys(), single=True)
        if self.editing.applies_to(request, layer.id):
            return await self.editing.private_item(request, layer.id, item)
        return await self.cache.respond(request, (layer.table,), "items",
                                        lambda: self._one(request, layer, item))

    async def options(self, request: Request) -> Response:
        """OPTIONS of the items or of an item: pygeoapi's answer (the methods it allows)."""
        layer = _layer(request)
        args = [layer.id] + ([request.path_params["item"]] if "item" in request.path_params
                             else [])
        return await ogc.call(self.api, itemtypes.manage_collection_item, request, "options",
                              *args, skip_valid_check=True)

    async def _one(self, request: Request, layer: Layer, item: str) -> Response:
        """One feature in the format asked for."""
        if _ours(request):
            return await self.items.one(layer, item, dict(request.query_params))
        return await ogc.call(self.api, itemtypes.get_collection_item, request, layer.id, item)


async def _query_body(request: Request):
    """The CQL2-JSON filter of a query sent with POST (Features Part 3), parsed."""
    body = await request.body()
    if len(body) > MAX_QUERY_BYTES:
        raise InvalidInput("the query is too large")
    try:
        return cql_parse.parse_json(json.loads(body))
    except cql_parse.CQLError as err:
        raise InvalidInput(err.template, **err.params) from None
    except Exception:  # the parser raises many unrelated types on bad input
        raise InvalidInput("Bad CQL JSON") from None   # pygeoapi's words, kept for clients
