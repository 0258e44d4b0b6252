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
tile matrix set 404, database trouble 503, all as JSON (the application's error map).

Also the tile of one collection, /collections/{collectionId}/tiles/{tileMatrixSetId}/{z}/{y}/{x}
(its metadata stays with pygeoapi, which asks the same provider).
"""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from geoserver.caching import LayerCache
from kernel.errors import InvalidInput, NotFound
from layers import tiles
from layers.catalogue import LAYERS
from layers.database import Database

TILE_PARAMETERS = {"f", "collections", "lang"}
METADATA_PARAMETERS = {"f", "lang"}   # lang: the language of errors (kernel.messages)
MAX_COLLECTIONS_PARAMETER = 512


def _parameters(request: Request, allowed: set[str]) -> dict:
    """The query parameters, InvalidInput naming any unknown one."""
    names = set(request.query_params.keys())
    if names - allowed:
        raise InvalidInput("unknown query parameter(s): {names}",
                           names=", ".join(sorted(names - allowed))[:200])
    return dict(request.query_params)


class DatasetTiles:
    """The /tiles routes of one application."""

    def __init__(self, db: Database, base_url: str, cache: LayerCache):
        """`base_url` is the OGC API's public URL (…/ogc)."""
        self.db, self.base_url, self.cache = db, base_url.rstrip("/"), cache

    async def listing(self, request: Request) -> Response:
        """GET /tiles: the dataset tilesets."""
        return self._listing(_parameters(request, METADATA_PARAMETERS).get("f", "json"))

    async def metadata(self, request: Request) -> Response:
        """GET /tiles/{tileMatrixSetId}: OGC tileset metadata or TileJSON."""
        params = _parameters(request, METADATA_PARAMETERS)
        matrix = tiles.matrix_for(request.path_params["matrix"], tiles.MATRICES)
        return self._metadata(matrix, params.get("f", "json"))

    async def tile(self, request: Request) -> Response:
        """GET /tiles/{tileMatrixSetId}/{z}/{y}/{x}: cached by the layers' versions."""
        params = _parameters(request, TILE_PARAMETERS)
        chosen = collections_of(params.get("collections"))
        matrix = tiles.matrix_for(request.path_params["matrix"], tiles.MATRICES)
        tables = tuple(LAYERS[c].table for c in chosen)
        return await self.cache.respond(request, tables, "tile",
                                        lambda: self._tile(matrix, request.path_params,
                                                           params, chosen))

    async def _tile(self, matrix: tiles.Matrix, path: dict, params: dict,
                    chosen: tuple[str, ...]) -> Response:
        """The tile as MVT, or 204 when it draws nothing."""
        if params.get("f", "mvt") != "mvt":
            raise InvalidInput("tiles are served as f=mvt only")
        tile = tiles.parse_tile(matrix, path["z"], path["y"], path["x"],
                                tiles.MAX_ZOOM - matrix.level_offset)
        body = await run_in_threadpool(tiles.dataset_tile, self.db, tile, chosen)
        if body is None:
            return Response(status_code=204)
        return Response(body, media_type=tiles.MVT_MIMETYPE)

    def _listing(self, fmt: str) -> Response:
        """GET /tiles: the dataset tilesets."""
        if fmt != "json":
            raise InvalidInput("f must be json")
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
            raise InvalidInput("f must be json or tilejson")
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
    """The collections asked for, in order, without repeats (all when none is given);
    InvalidInput for an empty list or a collection that has no tiles."""
    if value is None:
        return tiles.DATASET_LAYERS
    if len(value) > MAX_COLLECTIONS_PARAMETER:
        raise InvalidInput("collections: too long")
    chosen = tuple(dict.fromkeys(name.strip() for name in value.split(",")))
    unknown = [name for name in chosen if name not in tiles.TILE_LAYERS]
    if not chosen or unknown:
        shown = ", ".join(repr(name[:40]) for name in unknown[:5]) or "(none)"
        raise InvalidInput("collections: not a tiled collection: {shown}; use {names}",
                           shown=shown, names=",".join(tiles.DATASET_LAYERS))
    return chosen


class CollectionTiles:
    """The tiles of one collection, from the provider its configuration describes."""

    def __init__(self, config: dict, cache: LayerCache):
        """One provider per tiled collection (they hold no per-request state)."""
        self.cache = cache
        self.providers = {}
        for name, resource in config["resources"].items():
            for provider in resource.get("providers", []):
                if provider.get("type") == "tile":
                    self.providers[name] = tiles.PostGISVectorTiles(provider)

    async def tile(self, request: Request) -> Response:
        """GET /collections/{collection}/tiles/{tileMatrixSetId}/{z}/{y}/{x}?f=mvt."""
        path = request.path_params
        provider = self.providers.get(path["collection"])
        if provider is None:
            if path["collection"] in LAYERS:
                raise NotFound("this collection has no tiles")
            raise NotFound("no collection {name!r}", name=path['collection'][:64])
        params = dict(request.query_params)   # clients add their own (GDAL, QGIS): ignored
        if params.get("f", "mvt") != "mvt":
            raise InvalidInput("tiles are served as f=mvt only")
        matrix = tiles.matrix_for(path["matrix"], provider.schemes)

        async def build() -> Response:
            body = await run_in_threadpool(provider.get_tiles, None, matrix.id, path["z"],
                                           path["y"], path["x"])
            if body is None:
                return Response(status_code=204)
            return Response(body, media_type=tiles.MVT_MIMETYPE)

        return await self.cache.respond(request, (provider.layer.table,), "tile", build)
