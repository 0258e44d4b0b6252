"""The web map's routes: the page at /, the search, district facts, and the map's static files."""
from __future__ import annotations

from starlette.routing import BaseRoute, Route

from layers.database import Database
from webmap.assets import Assets
from webmap.districts import district_endpoint
from webmap.page import MapPage
from webmap.search import search_endpoint


def routes(db: Database, assets: Assets, ruleset=None) -> list[BaseRoute]:
    """/ (the map), /search, /districts/{id} and /static/{version}/{path} of `assets` (the
    application's, listed once); `ruleset` (the permit checks' rules) fills the analyst panel."""
    page = MapPage(db, assets, ruleset)
    return [
        Route("/", page.endpoint, methods=["GET", "HEAD"]),
        Route("/search", search_endpoint(db), methods=["GET"]),
        Route("/districts/{district_id:int}", district_endpoint(db), methods=["GET"]),
        Route("/static/{version}/{path:path}", assets.serve, methods=["GET", "HEAD"]),
    ]
