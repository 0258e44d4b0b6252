"""The imagery part of the server: /raster and /panoramas as one FastAPI application.

FastAPI (which TiTiler builds on) generates the OpenAPI document of every imagery route; it is
served at /openapi.json (the OGC API keeps its own at /ogc/openapi). The Starlette application
hands these paths to this one unchanged, so links and OpenAPI paths are the public ones.
"""
from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from rasterio.errors import CRSError
from rio_tiler import errors as tiler_errors
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import BaseRoute, Match, NoMatchFound
from titiler.core import errors as titiler_errors

from geoserver import openapi as openapi_docs
from geoserver import raster
from geoserver.errors import http_error
from geoserver.settings import Settings
from kernel import errors
from kernel.cache import BytesCache
from kernel.messages import N_
from layers.database import Database
from layers.rasters import raster_store
from panoramas import routes as panorama_routes
from panoramas.store import panorama_store

LOGGER = logging.getLogger(__name__)
PREFIXES = ("/raster", "/panoramas", "/openapi.json")
TILE_PATH = re.compile(r"^/raster/([^/]+)/tiles/")
MAX_CACHED_TILE = 1 << 20
DEFAULT_MAX_AGE_S = 60

# Library errors -> domain errors (and so, through the error map, status codes).
LIBRARY_ERRORS: list[tuple[type[Exception], type[errors.AmanatError], str]] = [
    (tiler_errors.TileOutsideBounds, errors.NotFound, N_("tile outside the dataset")),
    (tiler_errors.PointOutsideBounds, errors.NotFound, N_("point outside the dataset")),
    (titiler_errors.TileNotFoundError, errors.NotFound, N_("tile not found")),
    (tiler_errors.InvalidExpression, errors.InvalidInput, N_("invalid band expression")),
    (tiler_errors.MissingBands, errors.InvalidInput, N_("no band selected")),
    (tiler_errors.InvalidBandName, errors.InvalidInput, N_("invalid band")),
    (tiler_errors.InvalidColorMapName, errors.InvalidInput, N_("unknown colour map")),
    (tiler_errors.InvalidColorFormat, errors.InvalidInput, N_("invalid colour map")),
    (tiler_errors.InvalidFormat, errors.InvalidInput, N_("invalid image format")),
    (tiler_errors.InvalidBufferSize, errors.InvalidInput, N_("invalid tile buffer")),
    (tiler_errors.InvalidPointDataError, errors.InvalidInput, N_("invalid point data")),
    (titiler_errors.BadRequestError, errors.InvalidInput, N_("invalid request")),
    (CRSError, errors.InvalidInput, N_("unknown coordinate reference system")),
]


def _route_path(scope) -> str:
    """The request path below the application's root path."""
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


class PrefixRoute(BaseRoute):
    """A Starlette route passing every path under some prefixes to an ASGI app, unchanged."""

    def __init__(self, prefixes: tuple[str, ...], app):
        """Route `prefixes` (and everything below them) to `app`."""
        self.prefixes, self.app = prefixes, app

    def matches(self, scope):
        """Full match for HTTP requests under one of the prefixes."""
        if scope["type"] == "http":
            path = scope["path"]
            if any(path == p or path.startswith(p + "/") for p in self.prefixes):
                return Match.FULL, {"endpoint": self.app}
        return Match.NONE, {}

    def url_path_for(self, name, /, **path_params):
        """Imagery routes are not addressed by name from the outer application."""
        raise NoMatchFound(name, path_params)

    async def handle(self, scope, receive, send):
        """Hand the request over."""
        await self.app(scope, receive, send)


def routes(settings: Settings, db: Database, error_map: errors.ErrorMap) -> list[BaseRoute]:
    """Routes to add to the Starlette application."""
    return [PrefixRoute(PREFIXES, build(settings, db, error_map))]


def build(settings: Settings, db: Database, error_map: errors.ErrorMap):
    """The imagery ASGI application: FastAPI routes, error map, tile cache, cache headers."""
    registry = raster.Registry(db, raster_store(settings), settings.imagery.registry_ttl_s)
    app = FastAPI(title="Amanat imagery", version="1.0",
                  description="Orthophoto, elevation and hillshade tiles (TiTiler, datasets "
                              "addressed by registry id) and 360° street-level panoramas.",
                  openapi_url="/openapi.json", docs_url=None, redoc_url=None)
    app.include_router(raster.build_router(settings, registry))
    app.include_router(panorama_routes.build_router(db, panorama_store(settings),
                                                    settings.panoramas))
    _install_errors(app, error_map)
    _list_documents(app, settings)
    wrapped = TileCache(app, registry, settings.imagery.tile_cache_mb << 20)
    wrapped = CacheHeaders(wrapped, settings.imagery.max_age_s)
    if settings.server.public_url:
        wrapped = PublicURL(wrapped, settings.server.public_url)
    return wrapped


def _list_documents(app: FastAPI, settings: Settings) -> None:
    """Make /openapi.json the one entry point: FastAPI's document of the imagery routes with
    the application's own routes (geoserver/app_openapi.yml, read now, when the application is
    built) merged in; it names itself and the OGC API's document."""
    generate = app.openapi
    base = settings.server.base_url
    own = openapi_docs.load(openapi_docs.APP_DOCUMENT)
    built: dict = {}

    def openapi() -> dict:
        if "document" not in built:
            document = openapi_docs.application_document(generate(), own)
            document.setdefault("externalDocs", {
                "description": "OGC API (features, tiles, processes): its own OpenAPI document",
                "url": f"{base}/ogc/openapi?f=json"})
            document.setdefault("x-amanat-documents", [
                {"title": "Imagery, panoramas, web map, search, sign-in, certificates, audit",
                 "url": f"{base}/openapi.json"},
                {"title": "OGC API (features, tiles, processes, jobs, Part 4 writes)",
                 "url": f"{base}/ogc/openapi?f=json"}])
            built["document"] = document
        return built["document"]

    app.openapi = openapi


def _install_errors(app: FastAPI, error_map: errors.ErrorMap) -> None:
    """Domain errors through the application's error map; library errors translated to domain
    errors first; validation errors as 400 naming the parameters."""

    async def domain_error(request: Request, exc: Exception):
        return error_map.answer(_domain(request, exc), request)

    async def routing_error(request: Request, exc: HTTPException):
        return http_error(error_map, request, exc)

    async def validation_error(request: Request, exc: RequestValidationError):
        return error_map.answer(_invalid(exc), request)

    app.add_exception_handler(errors.AmanatError, domain_error)
    app.add_exception_handler(HTTPException, routing_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    for kind, _, _ in LIBRARY_ERRORS:
        app.add_exception_handler(kind, domain_error)


def _domain(request: Request, exc: Exception) -> Exception:
    """A rio-tiler/TiTiler error as the domain error of LIBRARY_ERRORS (detail to the log)."""
    for kind, domain, message in LIBRARY_ERRORS:
        if isinstance(exc, kind):
            LOGGER.info("%s on %s: %s", kind.__name__, request.url.path, exc)
            return domain(message)
    return exc


def _invalid(exc: RequestValidationError) -> errors.InvalidInput:
    """A parameter that does not validate: 400 naming the parameters (not echoing values);
    a body that is not JSON at all is said to be so."""
    if any(err.get("type") == "json_invalid" for err in exc.errors()):
        return errors.InvalidInput("the body is not valid JSON")
    names = sorted({str(loc[-1]) if loc[0] != "body" else "body"
                    for loc in (err.get("loc") or ("request",) for err in exc.errors())})
    return errors.InvalidInput("invalid value for: {names}", names=", ".join(names) or "request")


class TileCache:
    """Rendered raster tiles kept in memory (kernel.cache.BytesCache), per worker process.

    The key holds the dataset's file name, which changes whenever the dataset is replaced.
    """

    def __init__(self, app, registry: raster.Registry, max_bytes: int):
        """Cache the tile responses of `app` up to `max_bytes` (0 turns the cache off)."""
        self.app, self.registry = app, registry
        self.cache = BytesCache(max_bytes, MAX_CACHED_TILE)

    def _key(self, scope) -> tuple | None:
        """Cache key of a tile request, or None when it is not cacheable."""
        if not self.cache.capacity or scope["type"] != "http" or scope["method"] != "GET":
            return None
        match = TILE_PATH.match(_route_path(scope))
        dataset = self.registry.peek(match.group(1)) if match else None
        if dataset is None:
            return None
        query = "&".join(sorted(scope.get("query_string", b"").decode("latin-1").split("&")))
        return dataset.file, _route_path(scope), query

    async def __call__(self, scope, receive, send):
        """Answer from the cache, or render and remember a 200 response."""
        key = self._key(scope)
        if key is None:
            return await self.app(scope, receive, send)
        hit = self.cache.get(key)
        if hit:
            status, headers, body = hit
            await send({"type": "http.response.start", "status": status,
                        "headers": headers + [(b"x-tile-cache", b"hit")]})
            return await send({"type": "http.response.body", "body": body})
        await self.app(scope, receive, self._recorder(key, send))

    def _recorder(self, key: tuple, send):
        """A `send` that also keeps a copy of a small 200 response."""
        start, chunks = {}, []

        async def record(message):
            if message["type"] == "http.response.start":
                start.update(message)
            elif start.get("status") == 200:
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    self.cache.put(key, start["status"], start.get("headers", []),
                                   b"".join(chunks))
            await send(message)

        return record


class CacheHeaders:
    """Cache-Control on imagery responses: errors are never cached (stock TiTiler caches 404s).

    Also names JPEG by its registered media type (TiTiler says image/jpg for .jpg).
    """

    def __init__(self, app, raster_max_age_s: int):
        """Dataset responses get `raster_max_age_s`; listings and other JSON a minute."""
        self.app, self.raster_max_age = app, raster_max_age_s

    async def __call__(self, scope, receive, send):
        """Set the header on the way out unless the endpoint chose one."""
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        raster_path = _route_path(scope).startswith("/raster/")   # not the listing itself
        age = self.raster_max_age if raster_path else DEFAULT_MAX_AGE_S

        async def send_with_header(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if message["status"] >= 400:
                    headers["Cache-Control"] = "no-store"
                elif "cache-control" not in headers:
                    headers["Cache-Control"] = f"public, max-age={age}"
                if headers.get("content-type") == "image/jpg":
                    headers["Content-Type"] = "image/jpeg"
            await send(message)

        await self.app(scope, receive, send_with_header)


class PublicURL:
    """Requests seen as addressed to PUBLIC_URL, so TiTiler's links (tilejson, WMTS) use it."""

    def __init__(self, app, public_url: str):
        """Rewrite scheme, host and path prefix of every request to those of `public_url`."""
        parts = urlsplit(public_url)
        self.app, self.scheme, self.netloc = app, parts.scheme, parts.netloc
        self.host = parts.hostname or parts.netloc
        self.prefix = parts.path.rstrip("/")
        self.port = parts.port or (443 if parts.scheme == "https" else 80)

    async def __call__(self, scope, receive, send):
        """Hand over a scope that names the public address."""
        if scope["type"] == "http":
            headers = [(k, v) for k, v in scope["headers"] if k != b"host"]
            root = self.prefix + scope.get("root_path", "")
            scope = {**scope, "scheme": self.scheme, "server": (self.host, self.port),
                     "headers": [(b"host", self.netloc.encode()), *headers],
                     "root_path": root, "app_root_path": root,
                     "path": self.prefix + scope["path"]}
        await self.app(scope, receive, send)
