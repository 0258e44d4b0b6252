"""Checks at the edge of the OGC API that pygeoapi leaves out.

- Unknown query parameters on item requests are a 400: pygeoapi silently ignores them, so a typo
  (`bbx=`) or a filter on a column that is not public (`holder_phone=`) would return the
  unfiltered layer with a 200; the OGC test suite expects a 400, and so does a client that wants
  to know its filter was applied.
- Tile requests for a collection without tiles, or an unknown tile matrix set, are a 404 (pygeoapi
  answers 400, or a plain-text 500 on the metadata route).
- Tile error responses are labelled JSON (pygeoapi labels them as vector tiles).
"""
import re
from urllib.parse import parse_qsl

from starlette.datastructures import MutableHeaders

from geoserver.errors import error_response
from layers.catalogue import LAYERS

ITEMS = re.compile(r"^/collections/(?P<collection>[^/]+)/items(?:/[^/]+)?$")
TILES = re.compile(r"^/collections/(?P<collection>[^/]+)/tiles(?:/(?P<matrix>[^/]+))?")
COMMON = {"f", "lang"}
ITEMS_PARAMETERS = COMMON | {
    "bbox", "bbox-crs", "crs", "limit", "offset", "resulttype", "datetime", "sortby",
    "properties", "skipGeometry", "filter", "filter-lang", "filter-crs",
    "after",  # keyset cursor written into our own next links
}
ITEM_PARAMETERS = COMMON | {"crs"}
PERSONAL = frozenset().union(*(layer.personal for layer in LAYERS.values()))


class RequestChecks:
    """ASGI middleware in front of the OGC application."""

    def __init__(self, app):
        """Wrap the OGC application."""
        from layers.tiles import MATRICES, TILE_LAYERS

        self.app = app
        self.tiled = set(TILE_LAYERS)
        self.matrices = set(MATRICES)

    async def __call__(self, scope, receive, send):
        """Answer bad requests here; pass the rest on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"].removeprefix(scope.get("root_path", ""))
        refusal = self._refusal(scope, path) if scope["method"] == "GET" else None
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        if TILES.match(path):
            send = _json_errors(send)
        await self.app(scope, receive, send)

    def _refusal(self, scope, path: str):
        """An error response for this request, or None."""
        tiles = TILES.match(path)
        if tiles and tiles["collection"] in LAYERS:
            if tiles["collection"] not in self.tiled:
                return error_response(404, "NotFound", "this collection has no tiles")
            if tiles["matrix"] and tiles["matrix"] not in self.matrices:
                return error_response(404, "NotFound", "unknown tile matrix set; use "
                                      + " or ".join(sorted(self.matrices)))
            return None
        unknown = _unknown_parameters(scope, path)
        if unknown:
            shown = sorted(unknown - PERSONAL)  # never echo a personal column's name
            return error_response(400, "InvalidParameterValue", "unknown query parameter(s)"
                                  + (f": {', '.join(shown)}" if shown else ""))
        return None


def _unknown_parameters(scope, path: str) -> set[str]:
    """The query parameter names an items route does not accept."""
    match = ITEMS.match(path)
    if not match or match["collection"] not in LAYERS:
        return set()
    names = {name for name, _ in parse_qsl(scope["query_string"].decode("latin-1"),
                                            keep_blank_values=True)}
    if path.endswith("/items"):
        return names - ITEMS_PARAMETERS - set(LAYERS[match["collection"]].fields)
    return names - ITEM_PARAMETERS


def _json_errors(send):
    """A send() that labels error responses as JSON."""

    async def relabel(message):
        if message["type"] == "http.response.start" and message["status"] >= 400:
            MutableHeaders(scope=message)["content-type"] = "application/json"
        await send(message)

    return relabel
