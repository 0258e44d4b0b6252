"""The route table: every path the server answers, in one list.

Ours first (the application's pages and APIs, then the OGC API routes we answer ourselves),
then what pygeoapi still answers (geoserver/ogc.py), then imagery (TiTiler, FastAPI). Access to
each is decided before routing by geoserver.auth.POLICY; request bodies are bounded by
geoserver.limits.BodyLimit; errors are answered by the application's error map.
"""
from __future__ import annotations

from pygeoapi.api import (
    describe_collections,
    get_collection_schema,
    itemtypes,
    openapi_,
    processes,
    tiles,
)
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.staticfiles import StaticFiles

from citizens import routes as citizen_routes
from field import routes as field_routes
from geoserver import downloads, imagery, ogc, quotas, signin
from geoserver.audit_api import audit_trail
from geoserver.dataset_tiles import CollectionTiles, DatasetTiles
from geoserver.editing import FeatureEditing
from geoserver.execution import Execution
from geoserver.features import FeatureRoutes
from geoserver.health import healthz
from geoserver.items import Items
from geoserver.services import Services
from indicators import routes as indicator_routes
from kernel.errors import NotFound
from layers.catalogue import LAYERS
from layers.tiles import MATRICES, TILE_LAYERS
from processing import routes as processing_routes
from webmap import routes as webmap_routes

READS = ["GET", "HEAD"]


def route_table(services: Services, api: ogc.AmanatAPI) -> list[BaseRoute]:
    """The routes of one application."""
    settings = services.settings
    return [
        # / (the map), /search, /districts, /static
        *webmap_routes.routes(services.db, services.assets, services.processing.ruleset),
        Route("/healthz", healthz, methods=READS),
        *signin.routes(settings, services.db, services.errors),   # /auth/token, /auth/me
        *processing_routes.certificate_routes(services.processing),   # /certificates
        Route("/audit", audit_trail, methods=["GET"]),   # admins (geoserver.auth.POLICY)
        *citizen_routes.routes(services.db, settings.server.base_url),   # /open311
        *field_routes.routes(services.db, services.assets, settings.editing),   # /field (the inspectors' app)
        *indicator_routes.routes(services.db, asset_url=services.assets.url),   # /indicators,
        # /licences/expiring, /dashboard (its Leaflet and Chart.js are the web map's files)
        *downloads.routes(downloads.Downloads(services),
                          quotas.Quotas(services.db, settings.quotas)),
        *quotas.routes(services.db),   # /admin/keys (researcher keys, usage)
        Mount("/ogc", app=_ogc_app(ogc_routes(services, api), api.config)),
        *imagery.routes(settings, services.db, services.errors),   # /raster, /panoramas
    ]


def ogc_routes(services: Services, api: ogc.AmanatAPI) -> list[BaseRoute]:
    """/ogc: ours (items, writes, tiles, execution), then pygeoapi's."""
    settings, cache = services.settings, services.cache
    base = f"{settings.server.base_url}/ogc"
    items = Items(api.config, base, services.db, settings.limits.max_filter_vertices,
                  services.versions)
    editing = FeatureEditing(settings, services.db, services.processing)
    features = FeatureRoutes(api, items, editing, cache, downloads.Downloads(services))
    dataset = DatasetTiles(services.db, base, cache)
    collection_tiles = CollectionTiles(api.config, cache)
    execution = Execution(api, settings.limits.max_active_jobs_per_client)
    collection = "/collections/{collection}"
    charged = quotas.Quotas(services.db, settings.quotas).charged
    return [
        Route(f"{collection}/items", charged(features.collection, quotas.items_kind),
              methods=[*READS, "POST"]),
        Route(f"{collection}/items/{{item}}", charged(features.item, "reads"),
              methods=[*READS, "PUT", "PATCH", "DELETE"]),
        Route(f"{collection}/items", features.options, methods=["OPTIONS"]),
        Route(f"{collection}/items/{{item}}", features.options, methods=["OPTIONS"]),
        Route(f"{collection}/items/{{item}}/photos/{{position}}", editing.photo, methods=READS),
        Route(f"{collection}/tiles/{{matrix}}/{{z}}/{{y}}/{{x}}", collection_tiles.tile,
              methods=READS),
        Route("/tiles", dataset.listing, methods=READS),
        Route("/tiles/{matrix}", dataset.metadata, methods=READS),
        Route("/tiles/{matrix}/{z}/{y}/{x}", dataset.tile, methods=READS),
        Route("/processes/{process_id}/execution", execution.execute, methods=["POST"]),
        *ogc.job_pages(api, processing_routes.job_routes(services.processing)),   # /jobs
        *pygeoapi_routes(api, services),
    ]


def _ogc_app(routes: list[BaseRoute], config: dict):
    """The /ogc router, behind CORS when the configuration says so (server.cors: any origin may
    read the OGC API, as pygeoapi's own application allows)."""
    app = Router(routes=routes)
    if config["server"].get("cors"):
        return CORSMiddleware(app, allow_origins=["*"], allow_methods=["*"],
                              expose_headers=["*"])
    return app


def pygeoapi_routes(api: ogc.AmanatAPI, services: Services) -> list[BaseRoute]:
    """What pygeoapi answers: metadata, HTML pages' data, processes, OpenAPI, static files."""
    on = ogc.endpoint
    tiles_metadata = _TilesMetadata(api, services)
    return [
        Route("/", on(api, ogc.landing_page), methods=READS),
        Route("/openapi", on(api, openapi_), methods=READS),
        Route("/conformance", on(api, ogc.conformance), methods=READS),
        Route("/functions", on(api, ogc.functions), methods=READS),
        Route("/TileMatrixSets", on(api, tiles.tilematrixsets), methods=READS),
        Route("/TileMatrixSets/{matrix}", on(api, tiles.tilematrixset, "matrix"),
              methods=READS),
        Route("/collections", on(api, describe_collections), methods=READS),
        Route("/collections/{collection}", on(api, describe_collections, "collection"),
              methods=READS),
        Route("/collections/{collection}/schema",
              on(api, get_collection_schema, "collection"), methods=READS),
        Route("/collections/{collection}/queryables",
              on(api, itemtypes.get_collection_queryables, "collection"), methods=READS),
        Route("/collections/{collection}/tiles", tiles_metadata.tilesets, methods=READS),
        Route("/collections/{collection}/tiles/{matrix}", tiles_metadata.tileset,
              methods=READS),
        Route("/collections/{collection}/tiles/{matrix}/metadata", tiles_metadata.tileset,
              methods=READS),
        Route("/processes", on(api, processes.describe_processes), methods=READS),
        Route("/processes/{process_id}", on(api, processes.describe_processes, "process_id"),
              methods=READS),
        Mount("/static", StaticFiles(directory=api.config["server"]["templates"]["static"])),
    ]


class _TilesMetadata:
    """Tileset metadata of a collection, by pygeoapi, after our checks: a collection without
    tiles or an unknown tile matrix set is a 404 (pygeoapi answers 400, or a plain-text 500),
    and errors are labelled JSON (pygeoapi labels them as vector tiles); cached by version."""

    def __init__(self, api, services: Services):
        """pygeoapi's API and the layer cache."""
        self.api, self.cache = api, services.cache
        self.tiled, self.matrices = set(TILE_LAYERS), set(MATRICES)

    def _check(self, request, matrix: str | None):
        """The collection's layer, or NotFound."""
        name = request.path_params["collection"]
        if name not in LAYERS:
            raise NotFound("no collection {name!r}", name=name[:64])
        if name not in self.tiled:
            raise NotFound("this collection has no tiles")
        if matrix is not None and matrix not in self.matrices:
            raise NotFound("unknown tile matrix set; use {names}",
                           names=" | ".join(sorted(self.matrices)))
        return LAYERS[name]

    async def tilesets(self, request):
        """GET /collections/{collection}/tiles."""
        layer = self._check(request, None)
        return await self.cache.respond(request, (layer.table,), "tiles", lambda: _json_errors(
            ogc.call(self.api, tiles.get_collection_tiles, request, layer.id)))

    async def tileset(self, request):
        """GET /collections/{collection}/tiles/{matrix}[/metadata]."""
        matrix = request.path_params["matrix"]
        layer = self._check(request, matrix)
        return await self.cache.respond(request, (layer.table,), "tiles", lambda: _json_errors(
            ogc.call(self.api, tiles.get_collection_tiles_metadata, request, layer.id, matrix,
                     skip_valid_check=True)))


async def _json_errors(pending):
    """A response whose errors are labelled JSON."""
    response = await pending
    if response.status_code >= 400:
        response.headers["content-type"] = "application/json"
    return response
