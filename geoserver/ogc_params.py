"""Query-parameter checks pygeoapi leaves out: unknown parameters on item requests are a 400.

pygeoapi silently ignores parameters it does not know, so a typo (`bbx=`) or a filter on a
column that is not public (`holder_phone=`) would return the unfiltered layer with a 200; the OGC
test suite expects a 400, and so does a client that wants to know its filter was applied.
"""
import re
from urllib.parse import parse_qsl

from geoserver.errors import error_response
from layers.catalogue import LAYERS

PERSONAL = frozenset().union(*(layer.personal for layer in LAYERS.values()))

ITEMS = re.compile(r"^/collections/(?P<collection>[^/]+)/items(?:/[^/]+)?$")
COMMON = {"f", "lang"}
ITEMS_PARAMETERS = COMMON | {
    "bbox", "bbox-crs", "crs", "limit", "offset", "resulttype", "datetime", "sortby",
    "properties", "skipGeometry", "filter", "filter-lang", "filter-crs",
    "after",  # keyset cursor written into our own next links
}
ITEM_PARAMETERS = COMMON | {"crs"}


class ItemParameters:
    """ASGI middleware rejecting unknown query parameters on /collections/{id}/items[/{id}]."""

    def __init__(self, app):
        """Wrap the pygeoapi application."""
        self.app = app

    async def __call__(self, scope, receive, send):
        """Answer 400 for an unknown parameter, otherwise pass the request on."""
        if scope["type"] == "http" and scope["method"] == "GET":
            unknown = self._unknown(scope)
            if unknown:
                shown = sorted(unknown - PERSONAL)  # never echo a personal column's name
                response = error_response(
                    400, "InvalidParameterValue",
                    "unknown query parameter(s)" + (f": {', '.join(shown)}" if shown else ""))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _unknown(scope) -> set[str]:
        """The query parameter names this route does not accept."""
        match = ITEMS.match(scope["path"].removeprefix(scope.get("root_path", "")))
        if not match or match["collection"] not in LAYERS:
            return set()
        names = {name for name, _ in parse_qsl(scope["query_string"].decode("latin-1"),
                                                keep_blank_values=True)}
        allowed = ITEMS_PARAMETERS if scope["path"].endswith("/items") else ITEM_PARAMETERS
        if scope["path"].endswith("/items"):
            allowed = allowed | set(LAYERS[match["collection"]].fields)
        return names - allowed
