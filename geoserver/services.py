"""The services of one application, built by create_app and held on `app.state.services`.

Everything that would otherwise be process-wide state lives here, so two applications in one
process (two Amanat, or a test's scratch database beside the main one) never share a pool, a
cache or a rules file. Routes reach it with `services_of(request)`; the pygeoapi plugins get
their parts through the configuration they are built from (geoserver/ogc.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from geoserver.caching import LayerCache
from geoserver.identity import Authenticator
from geoserver.settings import Settings
from kernel.errors import ErrorMap
from layers.database import Database
from layers.versions import LayerVersions
from processing.runtime import Runtime
from webmap.assets import Assets


@dataclass
class Services:
    """The pool, layer versions, caches, error map, sign-on, permit-check runtime, and the web
    map's files (listed and hashed once: the map, the OGC pages, the field app and the
    dashboard all load them)."""

    settings: Settings
    db: Database
    versions: LayerVersions
    cache: LayerCache
    errors: ErrorMap
    authenticator: Authenticator
    processing: Runtime
    assets: Assets

    def start(self) -> None:
        """Open the pool (without waiting for the database) and start the version listener."""
        self.db.open()
        self.versions.start()

    def stop(self) -> None:
        """Stop the listener and close the pool."""
        self.versions.stop()
        self.db.close()


def services_of(request: Request) -> Services:
    """The services of the application serving `request`."""
    return request.app.state.services
