"""create_app(settings): one ASGI application serving the OGC API, imagery, the map and health."""
import contextlib
import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Mount, Route

from geoserver import auth, errors, imagery, ogc, signin
from geoserver.audit_api import audit_trail
from geoserver.editing import FeatureEditing
from geoserver.caching import LayerCaching
from geoserver.dataset_tiles import DatasetTiles
from geoserver.health import healthz
from geoserver.limits import BodyLimit
from geoserver.ogc_params import RequestChecks
from geoserver.settings import Settings
from layers import cql, pool
from layers.versions import LayerVersions
from processing import routes as processing_routes
from processing.manager import JobCallers
from processing import runtime as processing_runtime
from webmap import routes as webmap_routes

LOGGER = logging.getLogger(__name__)


def _configure_pools(settings: Settings) -> None:
    """Pool sizes and timeouts for every provider of this process."""
    db = settings.database
    pool.configure(min_size=db.pool_min, max_size=db.pool_max, timeout=db.pool_timeout_s,
                   statement_timeout_ms=db.statement_timeout_ms)
    cql.configure(max_vertices=settings.limits.max_filter_vertices)


def _lifespan(settings: Settings, versions: LayerVersions):
    """Open the database pool (without waiting for the database) and the layer-version listener
    at start; close both at stop."""

    @contextlib.asynccontextmanager
    async def lifespan(app):
        pool.get(settings.database.dsn)
        versions.start()
        yield
        versions.stop()
        pool.close_all()

    return lifespan


async def _http_error(request: Request, exc: HTTPException):
    """Starlette's own 404/405 as OGC-style JSON."""
    return errors.error_response(exc.status_code, "NotFound" if exc.status_code == 404
                                 else "InvalidRequest", exc.detail)


def create_app(settings: Settings) -> Starlette:
    """Assemble the server from its parts; nothing is built before this is called."""
    _configure_pools(settings)
    versions = LayerVersions(settings.database.dsn)
    processing_runtime.configure(settings)   # validates the rules file, loads the signing key
    routes = [
        *webmap_routes.routes(settings),   # / (the map), /search, /static
        Route("/healthz", healthz),
        *signin.routes(settings),   # /auth/token (sign-in), /auth/me
        *processing_routes.routes(),  # /certificates and /ogc/jobs (before the /ogc mount)
        Route("/audit", audit_trail, methods=["GET"]),   # admins (geoserver.auth.POLICY)
        Mount("/ogc", app=FeatureEditing(   # Part 4 writes; signed-in item reads (editing.py)
            RequestChecks(LayerCaching(DatasetTiles(   # /ogc/tiles: several layers per tile
                ogc.build(settings), settings.database.dsn, f"{settings.server.base_url}/ogc"),
                versions)), settings)),
        *imagery.routes(settings),   # /raster, /panoramas and their /openapi.json
    ]
    app = Starlette(routes=routes, lifespan=_lifespan(settings, versions))
    app.state.settings = settings
    errors.install(app)
    processing_routes.install_errors(app)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_middleware(JobCallers)   # who runs a process (job owner and limit), inside auth
    auth.install(app, settings)   # sign-on and roles in front of every route
    app.add_middleware(BodyLimit, limits=settings.limits)   # 413 before anything reads a body
    return app
