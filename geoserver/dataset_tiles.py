"""OGC API Tiles dataset tilesets: one vector tile holding several collections, at /ogc/tiles.

A map that draws seven layers from per-collection tilesets asks for seven tiles per tile
position (about 190 requests for one screen at level 18; a browser fetches six at a time from
one host). A dataset tile holds a layer per collection, so the same screen takes one request per
position. Routes (OGC API Tiles 1.0, "dataset tilesets" and "collections selection"):

    /tiles                                   the dataset tilesets (one per tile matrix set)
    /tiles/{tileMatrixSetId}                 tileset metadata (?f=json, or ?f=tilejson)
    /tiles/{tileMatrixSetId}/{z}/{y}/{x}     the tile (?collections=parcels,streets&f=mvt)

`collections` chooses the layers and their order (bottom to top); without it, every tiled
collection. Each layer holds what the collection's own tiles hold at that level (layers.tiles),
built in one database round trip. Errors: unknown parameter or collection 400, no such tile or
tile matrix set 404, database trouble 503, all as JSON.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qsl

from pygeoapi.provider.base import ProviderGenericError
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from geoserver.errors import error_response
from layers import tiles
from layers.catalogue import LAYERS

ROUTE = re.compile(r"^/tiles(?:/(?P<matrix>[^/]+)(?:/(?P<z>[^/]+)/(?P<y>[^/]+)/(?P<x>[^/]+))?)?/?$")
TILE_PARAMETERS = {"f", "collections"}
METADATA_PARAMETERS = {"f"}
MAX_COLLECTIONS_PARAMETER = 512


class DatasetTiles:
    """ASGI application answering /tiles…; every other request goes to the wrapped app."""

    def __init__(self, app, dsn: str, base_url: str):
        """Wrap the OGC application; `base_url` is the OGC API's public URL (…/ogc)."""
        self.app, self.dsn, self.base_url = app, dsn, base_url.rstrip("/")

    async def __call__(self, scope, receive, send):
        """Serve a dataset-tiles request, or pass it on."""
        match = None
        if scope["type"] == "http":
            match = ROUTE.match(scope["path"].removeprefix(scope.get("root_path", "")))
        if match is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            response = error_response(405, "InvalidRequest", "method not allowed")
            response.headers["Allow"] = "GET, HEAD"
        else:
            response = await self._respond(match, scope)
        await response(scope, receive, send)

    async def _respond(self, match: re.Match, scope) -> Response:
        """The response to a GET of one of the three routes."""
        query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        names = {name for name, _ in query}
        params = dict(query)
        allowed = TILE_PARAMETERS if match["z"] is not None else METADATA_PARAMETERS
        if names - allowed:
            return error_response(400, "InvalidParameterValue", "unknown query parameter(s): "
                                  + ", ".join(sorted(names - allowed))[:200])
        try:
            if match["matrix"] is None:
                return self._listing(params.get("f", "json"))
            matrix = tiles.matrix_for(match["matrix"], tiles.MATRICES)
            if match["z"] is None:
                return self._metadata(matrix, params.get("f", "json"))
            return await self._tile(matrix, match, params)
        except ProviderGenericError as err:   # TileNotFound 404, TileTooSlow / database 503
            return error_response(int(err.http_status_code), err.ogc_exception_code, err.message)
        except ValueError as err:
            return error_response(400, "InvalidParameterValue", str(err))

    async def _tile(self, matrix: tiles.Matrix, match: re.Match, params: dict) -> Response:
        """The tile as MVT, or 204 when it draws nothing."""
        if params.get("f", "mvt") != "mvt":
            raise ValueError("tiles are served as f=mvt only")
        tile = tiles.parse_tile(matrix, match["z"], match["y"], match["x"],
                                tiles.MAX_ZOOM - matrix.level_offset)
        chosen = collections_of(params.get("collections"))
        body = await run_in_threadpool(tiles.dataset_tile, self.dsn, tile, chosen)
        if body is None:
            return Response(status_code=204)
        return Response(body, media_type=tiles.MVT_MIMETYPE)

    def _listing(self, fmt: str) -> Response:
        """GET /tiles: the dataset tilesets."""
        if fmt != "json":
            raise ValueError("f must be json")
        return JSONResponse({
            "links": [{"rel": "self", "type": "application/json",
                       "href": f"{self.base_url}/tiles?f=json"}],
            "tilesets": [{
                "title": f"Amanat layers ({matrix.id})", "dataType": "vector",
                "crs": matrix.definition.crs,
                "tileMatrixSetURI": matrix.definition.tileMatrixSetURI,
                "links": self._links(matrix)} for matrix in tiles.MATRICES.values()],
        })

    def _metadata(self, matrix: tiles.Matrix, fmt: str) -> Response:
        """GET /tiles/{tileMatrixSetId}: OGC tileset metadata or TileJSON."""
        if fmt == "tilejson":
            return JSONResponse(self._tilejson(matrix))
        if fmt != "json":
            raise ValueError("f must be json or tilejson")
        layers = []
        for collection in tiles.DATASET_LAYERS:
            low, high = _levels(matrix, collection)
            layer = LAYERS[collection]
            layers.append({"id": collection, "dataType": "vector",
                           "geometryDimension": tiles.GEOMETRY_DIMENSION[layer.geometry_type],
                           "minTileMatrix": str(low), "maxTileMatrix": str(high)})
        return JSONResponse({
            "title": f"Amanat layers ({matrix.id})", "dataType": "vector",
            "crs": matrix.definition.crs, "tileMatrixSetURI": matrix.definition.tileMatrixSetURI,
            "mediaTypes": [tiles.MVT_MIMETYPE], "layers": layers, "links": self._links(matrix)})

    def _tilejson(self, matrix: tiles.Matrix) -> dict:
        """TileJSON 3.0.0 (MapLibre, QGIS): one source, a vector layer per collection."""
        levels = {c: _levels(matrix, c) for c in tiles.DATASET_LAYERS}
        return {
            "tilejson": "3.0.0", "name": "Amanat layers", "scheme": "xyz",
            "tiles": [f"{self.base_url}/tiles/{matrix.id}/{{z}}/{{y}}/{{x}}?f=mvt"],
            "minzoom": min(low for low, _ in levels.values()),
            "maxzoom": max(high for _, high in levels.values()),
            "vector_layers": [{"id": c, "minzoom": low, "maxzoom": high}
                              for c, (low, high) in levels.items()],
        }

    def _links(self, matrix: tiles.Matrix) -> list[dict]:
        """Links of a dataset tileset."""
        base = f"{self.base_url}/tiles/{matrix.id}"
        return tiles.tileset_links(base, base, self.base_url, matrix)


def _levels(matrix: tiles.Matrix, collection: str) -> tuple[int, int]:
    """Lowest level a collection is drawn at and highest level served, in this matrix set."""
    layer = tiles.TILE_LAYERS[collection]
    return matrix.levels(layer.minzoom, layer.maxzoom)


def collections_of(value: str | None) -> tuple[str, ...]:
    """The collections asked for, in order, without repeats (all when none is given); ValueError
    for an empty list or a collection that has no tiles."""
    if value is None:
        return tiles.DATASET_LAYERS
    if len(value) > MAX_COLLECTIONS_PARAMETER:
        raise ValueError("collections: too long")
    chosen = tuple(dict.fromkeys(name.strip() for name in value.split(",")))
    unknown = [name for name in chosen if name not in tiles.TILE_LAYERS]
    if not chosen or unknown:
        shown = ", ".join(repr(name[:40]) for name in unknown[:5]) or "(none)"
        raise ValueError(f"collections: not a tiled collection: {shown}; use "
                         + ",".join(tiles.DATASET_LAYERS))
    return chosen
