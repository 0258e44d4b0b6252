"""HTTP caching for layer data: ETag / Last-Modified / Cache-Control, and 304s without a query.

Every layer table has a change counter (`layer_versions`, bumped by a statement trigger on any
write), so a validator for any items or tiles response is the layer's version plus the request:
a conditional request whose validator still holds is answered 304 before pygeoapi runs, and any
write to the layer changes every validator of that layer.
"""
import hashlib
import logging
import re
from collections import OrderedDict
from datetime import timezone
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import parse_qsl

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response

from geoserver.dataset_tiles import collections_of
from layers.catalogue import LAYERS
from layers.versions import LayerVersions

LOGGER = logging.getLogger(__name__)
CACHED = re.compile(r"^/collections/(?P<collection>[^/]+)/(?P<kind>items|tiles)(?:/|$)")
TILE = re.compile(r"^/collections/[^/]+/tiles/[^/]+/\d+/\d+/\d+$")
DATASET_TILE = re.compile(r"^/tiles/[^/]+/\d+/\d+/\d+$")
TILE_CACHE_BYTES = 64 * 1024 * 1024
TILE_MAX_BYTES = 1024 * 1024


class TileCache:
    """Built tiles kept in memory, keyed by their validator (layer version + request), so a
    write to a layer retires its tiles; least recently used tiles go first."""

    def __init__(self, capacity: int = TILE_CACHE_BYTES):
        """An empty cache holding at most `capacity` bytes of tiles."""
        self.capacity = capacity
        self.size = 0
        self.entries: OrderedDict[str, tuple[int, list, bytes]] = OrderedDict()

    def get(self, key: str):
        """(status, headers, body) of a cached tile, or None."""
        entry = self.entries.get(key)
        if entry is not None:
            self.entries.move_to_end(key)
        return entry

    def put(self, key: str, status: int, headers: list, body: bytes) -> None:
        """Keep a tile (200 with a body, or 204), evicting the oldest ones beyond capacity."""
        if len(body) > TILE_MAX_BYTES or key in self.entries:
            return
        self.entries[key] = (status, headers, body)
        self.size += len(body) + 200
        while self.size > self.capacity and self.entries:
            _, (_, _, old) = self.entries.popitem(last=False)
            self.size -= len(old) + 200
MAX_AGE = {"items": 60, "tiles": 300, "tile": 300}


class LayerCaching:
    """ASGI middleware adding validators to layer responses and answering 304s."""

    def __init__(self, app, versions: LayerVersions):
        """Wrap the OGC application; versions come from the in-memory copy."""
        self.app = app
        self.versions = versions
        self.tiles = TileCache()

    async def __call__(self, scope, receive, send):
        """Serve a 304 when the client's copy is current; otherwise tag the response."""
        target = self._target(scope)
        if target is None:
            await self.app(scope, receive, send)
            return
        tables, kind = target
        versions = [self.versions.get(table) for table in tables]
        if any(version is None for version in versions):
            await self.app(scope, receive, send)
            return
        etag = self._etag(scope, "+".join(f"{t}-{v[0]}" for t, v in zip(tables, versions)))
        changed_at = max(version[1] for version in versions)
        modified = format_datetime(changed_at.astimezone(timezone.utc).replace(microsecond=0),
                                   usegmt=True)
        headers = {"ETag": etag, "Last-Modified": modified,
                   "Cache-Control": f"public, max-age={MAX_AGE[kind]}",
                   "Vary": "Accept, Accept-Language"}
        if self._not_modified(Headers(scope=scope), etag, changed_at):
            await Response(status_code=304, headers=headers)(scope, receive, send)
            return
        if kind == "tile":
            await self._tile(scope, receive, send, etag, headers)
            return
        await self.app(scope, receive, self._tagging(send, headers))

    async def _tile(self, scope, receive, send, etag: str, extra: dict) -> None:
        """Serve a tile from the cache, or build it and keep it."""
        cached = self.tiles.get(etag)
        if cached is None:
            captured = {"body": []}

            async def capture(message):
                if message["type"] == "http.response.start":
                    captured["start"] = message
                elif message["type"] == "http.response.body":
                    captured["body"].append(message.get("body", b""))

            await self.app(scope, receive, self._tagging(capture, extra))
            start = captured["start"]
            cached = (start["status"], start.get("headers", []), b"".join(captured["body"]))
            if cached[0] in (200, 204):
                self.tiles.put(etag, *cached)
        status, headers, body = cached
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body if scope["method"] != "HEAD"
                    else b""})

    @staticmethod
    def _target(scope) -> tuple[tuple[str, ...], str] | None:
        """(tables, kind) of a cacheable GET: items, tiles metadata, a tile of a published
        layer, or a dataset tile (its selected collections); None for anything else."""
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return None
        path = scope["path"].removeprefix(scope.get("root_path", ""))
        if DATASET_TILE.match(path):
            query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
            try:
                chosen = collections_of(query.get("collections"))
            except ValueError:
                return None          # the 400 is not cached
            return tuple(LAYERS[c].table for c in chosen), "tile"
        match = CACHED.match(path)
        if not match or match["collection"] not in LAYERS:
            return None
        kind = "tile" if match["kind"] == "tiles" and TILE.match(path) else match["kind"]
        return (LAYERS[match["collection"]].table,), kind

    @staticmethod
    def _etag(scope, versions: str) -> str:
        """Weak validator: layer version(s) + everything that shapes the response."""
        headers = Headers(scope=scope)
        key = b"|".join([scope["path"].encode(), scope["query_string"],
                         headers.get("accept", "").encode(),
                         headers.get("accept-language", "").encode()])
        return f'W/"{versions}-{hashlib.blake2b(key, digest_size=8).hexdigest()}"'

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
            if message["type"] == "http.response.start" and message["status"] in (200, 204):
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers[name] = value
            await send(message)

        return tagged
