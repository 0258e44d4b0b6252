"""HTTP caching for layer data: ETag / Last-Modified / Cache-Control, 304s without a query, and
built vector tiles kept in memory.

Every layer table has a change counter (`layer_versions`, bumped by a statement trigger on any
write), so a validator for any items or tiles response is the layer's version plus the request:
a conditional request whose validator still holds is answered 304 before anything is read, and
any write to the layer changes every validator of that layer (and retires its cached tiles,
whose key is the validator). The routes call `LayerCache.respond` with the tables a response
is made of; no path is matched here.
"""
from __future__ import annotations

import hashlib
from datetime import timezone
from email.utils import format_datetime, parsedate_to_datetime

from starlette.requests import Request
from starlette.responses import Response

from kernel.cache import BytesCache
from layers.versions import LayerVersions

TILE_CACHE_BYTES = 64 * 1024 * 1024
TILE_MAX_BYTES = 1024 * 1024
MAX_AGE = {"items": 60, "tiles": 300, "tile": 300}


class LayerCache:
    """Validators from the layer versions, and the tile cache, of one application."""

    def __init__(self, versions: LayerVersions, capacity: int = TILE_CACHE_BYTES):
        """Versions come from the in-memory copy; tiles are kept up to `capacity` bytes."""
        self.versions = versions
        self.tiles = BytesCache(capacity, TILE_MAX_BYTES)

    async def respond(self, request: Request, tables: tuple[str, ...], kind: str, build
                      ) -> Response:
        """304 when the client's copy is current; else `await build()`, tagged (and, for a
        tile, kept). Without versions (database trouble) the response goes untagged."""
        versions = [self.versions.get(table) for table in tables]
        if any(version is None for version in versions):
            return await build()
        etag = _etag(request, "+".join(f"{t}-{v[0]}" for t, v in zip(tables, versions)))
        changed_at = max(version[1] for version in versions)
        headers = {"ETag": etag, "Last-Modified": _http_date(changed_at),
                   "Cache-Control": f"public, max-age={MAX_AGE[kind]}",
                   "Vary": "Accept, Accept-Language"}
        if _not_modified(request, etag, changed_at):
            return Response(status_code=304, headers=headers)
        if kind == "tile" and (kept := self.tiles.get(etag)) is not None:
            return _replayed(*kept)
        response = await build()
        if response.status_code in (200, 204):
            response.headers.update(headers)
            if kind == "tile":
                self.tiles.put(etag, response.status_code, response.raw_headers, response.body)
        return response


def _replayed(status: int, raw_headers: list, body: bytes) -> Response:
    """A kept response, as it was sent the first time."""
    response = Response(body, status_code=status)
    response.raw_headers = list(raw_headers)
    return response


def _http_date(moment) -> str:
    """An HTTP date (whole seconds, GMT)."""
    return format_datetime(moment.astimezone(timezone.utc).replace(microsecond=0), usegmt=True)


def _etag(request: Request, versions: str) -> str:
    """Weak validator: layer version(s) + everything that shapes the response."""
    scope, headers = request.scope, request.headers
    key = b"|".join([scope["path"].encode(), scope["query_string"],
                     headers.get("accept", "").encode(),
                     headers.get("accept-language", "").encode()])
    return f'W/"{versions}-{hashlib.blake2b(key, digest_size=8).hexdigest()}"'


def _not_modified(request: Request, etag: str, changed_at) -> bool:
    """RFC 9110: If-None-Match wins over If-Modified-Since."""
    headers = request.headers
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
