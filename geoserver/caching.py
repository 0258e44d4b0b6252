"""HTTP caching for layer data: ETag / Last-Modified / Cache-Control, and 304s without a query.

Every layer table has a change counter (`layer_versions`, bumped by a statement trigger on any
write), so a validator for any items or tiles response is the layer's version plus the request:
a conditional request whose validator still holds is answered 304 before pygeoapi runs, and any
write to the layer changes every validator of that layer.
"""
import hashlib
import logging
import re
from datetime import timezone
from email.utils import format_datetime, parsedate_to_datetime

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response

from layers.catalogue import LAYERS
from layers.versions import LayerVersions

LOGGER = logging.getLogger(__name__)
CACHED = re.compile(r"^/collections/(?P<collection>[^/]+)/(?P<kind>items|tiles)(?:/|$)")
MAX_AGE = {"items": 60, "tiles": 300}


class LayerCaching:
    """ASGI middleware adding validators to layer responses and answering 304s."""

    def __init__(self, app, versions: LayerVersions):
        """Wrap the OGC application; versions come from the in-memory copy."""
        self.app = app
        self.versions = versions

    async def __call__(self, scope, receive, send):
        """Serve a 304 when the client's copy is current; otherwise tag the response."""
        match = self._match(scope)
        if match is None:
            await self.app(scope, receive, send)
            return
        layer = LAYERS[match["collection"]]
        version = self.versions.get(layer.table)
        if version is None:
            await self.app(scope, receive, send)
            return
        etag = self._etag(scope, layer.table, version[0])
        modified = format_datetime(version[1].astimezone(timezone.utc).replace(microsecond=0),
                                   usegmt=True)
        headers = {"ETag": etag, "Last-Modified": modified,
                   "Cache-Control": f"public, max-age={MAX_AGE[match['kind']]}",
                   "Vary": "Accept, Accept-Language"}
        if self._not_modified(Headers(scope=scope), etag, version[1]):
            await Response(status_code=304, headers=headers)(scope, receive, send)
            return
        await self.app(scope, receive, self._tagging(send, headers))

    @staticmethod
    def _match(scope):
        """The route match for a cacheable GET on a published layer, else None."""
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return None
        match = CACHED.match(scope["path"].removeprefix(scope.get("root_path", "")))
        return match if match and match["collection"] in LAYERS else None

    @staticmethod
    def _etag(scope, table: str, version: int) -> str:
        """Weak validator: layer version + everything that shapes the response."""
        headers = Headers(scope=scope)
        key = b"|".join([scope["path"].encode(), scope["query_string"],
                         headers.get("accept", "").encode(),
                         headers.get("accept-language", "").encode()])
        return f'W/"{table}-{version}-{hashlib.blake2b(key, digest_size=8).hexdigest()}"'

    @staticmethod
    def _not_modified(headers: Headers, etag: str, changed_at) -> bool:
        """RFC 9110: If-None-Match wins over If-Modified-Since."""
        if "if-none-match" in headers:
            tags = [tag.strip() for tag in headers["if-none-match"].split(",")]
            return "*" in tags or etag in tags or etag.removeprefix("W/") in tags
        since = headers.get("if-modified-since")
        if since:
            try:
                return changed_at.replace(microsecond=0) <= parsedate_to_datetime(since)
            except (TypeError, ValueError):
                return False
        return False

    @staticmethod
    def _tagging(send, extra: dict):
        """A send() that adds the validators to successful responses."""

        async def tagged(message):
            if message["type"] == "http.response.start" and message["status"] == 200:
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers[name] = value
            await send(message)

        return tagged
