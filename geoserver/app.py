"""create_app(settings): one ASGI application serving the OGC API, imagery, the map and health.

Everything the application holds is built here and kept on `app.state.services`
(geoserver/services.py): no module-level state is set, no environment variable is written, no
library is patched or reloaded, so several applications can live in one process.
"""
import contextlib

from starlette.applications import Starlette

from geoserver import auth, errors, ogc
from geoserver.caching import LayerCache
from geoserver.identity import Authenticator
from geoserver.limits import BodyLimit
from geoserver.routes import route_table
from geoserver.services import Services
from geoserver.settings import Settings
from layers import database
from layers.versions import LayerVersions
from processing import runtime
from webmap.assets import Assets


def build_services(settings: Settings) -> Services:
    """The pool, versions, caches, error map, sign-on and permit-check runtime of one app."""
    db = database.from_settings(settings.database)
    versions = LayerVersions(db)
    return Services(
        settings=settings, db=db, versions=versions, cache=LayerCache(versions),
        errors=errors.error_map(),
        authenticator=Authenticator(settings.auth, settings.server.state_dir, db),
        processing=runtime.build(settings, db),   # validates the rules file, loads the key
        assets=Assets.load(),
    )


def _lifespan(services: Services):
    """Open the pools and the layer-version listener at start; close them at stop."""

    @contextlib.asynccontextmanager
    async def lifespan(app):
        services.start()
        await services.db.open_reads()   # the hot-read pool lives on the serving event loop
        yield
        await services.db.close_reads()
        services.stop()

    return lifespan


def create_app(settings: Settings) -> Starlette:
    """Assemble the server from its parts; nothing is built before this is called."""
    services = build_services(settings)
    api = ogc.build(settings, services.db, services.processing, services.errors,
                    services.assets)
    app = Starlette(routes=route_table(services, api), lifespan=_lifespan(services))
    app.state.services = services
    app.state.settings = settings
    errors.install(app, services.errors)
    auth.install(app, services.authenticator, services.errors)   # roles before every route
    app.add_middleware(BodyLimit, limits=settings.limits)   # 413 before anything reads a body
    return app
