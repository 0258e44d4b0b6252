"""Downloads: whole layers as files, and filtered items streamed in a file format.

`GET /downloads/{collection}.{gpkg|fgb|geojson|csv|shp.zip|kml}`: the file of the layer's
current version (layers/export_files.py builds it on the first request after a change), with
ETag (the layer version and format), Last-Modified (the layer's last change), 304 on a current
If-None-Match, and byte ranges (Starlette's FileResponse; a range wholly beyond the end is a
416 JSON document here, with `Content-Range: bytes */size`).

`GET /ogc/collections/{id}/items?f=csv|geojsonseq|gpkg|fgb|shp|kml`: the items request parsed by
geoserver/items.py (`bbox`, `filter`, `datetime`, property equality, `properties`, `crs`), written
by layers/exports.py. CSV and GeoJSON text sequences are streamed from a server-side cursor
(flat memory); the GDAL formats are built in a temporary file, streamed, then deleted. There is
no `limit` for these formats: each client class has a feature budget instead
(`Settings.downloads`, geoserver/download_settings.py), checked by counting before anything is sent, so a download is never cut
short silently: a selection over the budget is refused (400) with the budget in the message.
"""
from __future__ import annotations

import re
import shutil
import tempfile
import threading
import weakref
from datetime import UTC
from email.utils import format_datetime
from pathlib import Path

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Route

from geoserver.download_settings import DownloadSettings
from kernel.errors import (
    InvalidInput,
    NotFound,
    TooManyRequests,
    Unavailable,
    error_response,
    language_of,
)
from kernel.principal import principal_of
from layers import exports
from layers.catalogue import COLLECTIONS, LAYERS, Layer
from layers.export_files import ExportFiles

STREAMED = ("csv", "geojsonseq")
BUILT = ("gpkg", "fgb", "shp", "kml")
ITEM_FORMATS = STREAMED + BUILT
SUFFIXES = sorted(((exports.FORMATS[f].suffix, f) for f in exports.WHOLE_LAYER),
                  key=lambda pair: -len(pair[0]))
RANGE = re.compile(r"^bytes=(.+)$")
CHUNK = 1 << 16


class DownloadsBusy(TooManyRequests):
    """Every stream this process allows is in use (each holds a database connection)."""

    retry_after_s = 5

    def __init__(self):
        """The fixed message."""
        super().__init__("too many downloads are being streamed at once; try again in "
                         "{seconds} s", seconds=self.retry_after_s)


class _Slot:
    """A held stream, released once."""

    def __init__(self, semaphore: threading.BoundedSemaphore):
        """Hold one of `semaphore`'s slots (already acquired)."""
        self._semaphore, self._held = semaphore, True
        self._lock = threading.Lock()

    def release(self) -> None:
        """Give the slot back (again: nothing)."""
        with self._lock:
            if self._held:
                self._held = False
                self._semaphore.release()


def split_name(name: str) -> tuple[str, str]:
    """`parcels.shp.zip` → ("parcels", "shp"); NotFound for an unknown collection or format."""
    for suffix, fmt in SUFFIXES:
        if name.endswith("." + suffix):
            collection = name[: -len(suffix) - 1]
            if collection in COLLECTIONS:
                return collection, fmt
            raise NotFound("no collection {name!r}", name=collection[:64])
    raise NotFound("no download {name!r}; formats: {formats}", name=name[:64],
                   formats=", ".join(suffix for suffix, _ in reversed(SUFFIXES)))


def _unsatisfiable(header: str | None, size: int) -> bool:
    """Whether a Range header asks only for bytes beyond the end of a file of `size` bytes."""
    found = RANGE.match(header or "")
    if not found:
        return False
    starts = []
    for part in found.group(1).split(","):
        start, _, end = part.strip().partition("-")
        if start.strip().isdigit():
            starts.append(int(start))
        elif not end.strip().isdigit():   # malformed: left to FileResponse (400)
            return False
        elif int(end) == 0:
            starts.append(size)           # a zero-length suffix range
    return bool(starts) and len(starts) == len(found.group(1).split(",")) and min(starts) >= size


class Downloads:
    """The download routes of one application."""

    FORMATS = ITEM_FORMATS   # the items formats answered here

    def __init__(self, services):
        """Files under `<state_dir>/downloads`; versions from the app's listener; budgets
        from the application's settings."""
        self.services = services
        self.files = ExportFiles(services.db, Path(services.settings.server.state_dir)
                                 / "downloads")
        self.settings: DownloadSettings = services.settings.downloads
        self._streams = threading.BoundedSemaphore(self.settings.streams_per_process)

    async def whole(self, request: Request) -> Response:
        """GET / HEAD /downloads/{name}: a whole layer as a file."""
        collection, fmt = split_name(request.path_params["name"])
        layer = LAYERS[collection]
        version = self.services.versions.get(layer.table)
        if version is None:
            raise Unavailable()
        number, changed_at = version
        etag = f'"{layer.id}-v{number}-{fmt}"'
        headers = {"ETag": etag,
                   "Last-Modified": format_datetime(changed_at.astimezone(UTC), usegmt=True),
                   "Cache-Control": "public, max-age=60", "Access-Control-Allow-Origin": "*"}
        if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
            return Response(status_code=304, headers=headers)
        built = await run_in_threadpool(self.files.get, layer, fmt, number)
        if built.version != number:   # another process is building: the previous file
            headers["ETag"] = f'"{layer.id}-v{built.version}-{fmt}"'
            headers.pop("Last-Modified")
        size = built.path.stat().st_size
        if _unsatisfiable(request.headers.get("range"), size):
            return self._range_refused(request, size)
        media = exports.FORMATS[fmt].media_type
        return FileResponse(built.path, media_type=media, headers=headers,
                            filename=f"{layer.id}.{exports.FORMATS[fmt].suffix}")

    def _range_refused(self, request: Request, size: int) -> Response:
        """416 with Content-Range, as a JSON error document in the request's language."""
        texts = self.services.errors.texts(InvalidInput(
            "the range starts beyond the end of the file ({size} bytes)", size=size))
        return error_response(416, "RangeNotSatisfiable", texts,
                              headers={"Content-Range": f"bytes */{size}"},
                              lang=language_of(request))

    async def items(self, request: Request, layer: Layer, fmt: str, query) -> Response:
        """Filtered items in a file format (`query`: geoserver.items.ItemsQuery)."""
        selection = exports.Selection(layer, query.properties, query.where, query.srid)
        budget = self.settings.budget(principal_of(request.scope))
        found = await run_in_threadpool(self._count, selection, budget)
        if found > budget:
            raise InvalidInput("the selection holds more than {budget} features, the budget of "
                               "a download for this client; narrow it (bbox, filter, datetime) "
                               "or download the whole layer from /downloads/{name}",
                               budget=budget, name=f"{layer.id}.gpkg")
        spec = exports.FORMATS[fmt]
        headers = {"Content-Disposition": f'attachment; filename="{layer.id}.{spec.suffix}"',
                   "Content-Crs": f"<{query.crs}>", "X-Feature-Count": str(found)}
        if request.method == "HEAD":   # the count and headers, nothing written
            return Response(media_type=spec.media_type, headers=headers)
        if fmt in STREAMED:
            slot = self._slot()
            stream = self._stream(exports.TEXT_WRITERS[fmt], selection, slot)
            weakref.finalize(stream, slot.release)   # a stream never started frees its slot
            return StreamingResponse(_closing(stream, slot), media_type=spec.media_type,
                                     headers=headers)
        path, work = await run_in_threadpool(self._build, selection, fmt)
        return StreamingResponse(_file_chunks(path, work), media_type=spec.media_type,
                                 headers={**headers, "Content-Length": str(path.stat().st_size)})

    def _count(self, selection: exports.Selection, budget: int) -> int:
        """The selection's size, counted up to the budget + 1."""
        with self.services.db.connection() as conn:
            return exports.count(conn, selection, budget)

    def _slot(self) -> _Slot:
        """One of the streams this process may hold a connection for, or DownloadsBusy."""
        if not self._streams.acquire(blocking=False):
            raise DownloadsBusy()
        return _Slot(self._streams)

    def _stream(self, chunks, selection: exports.Selection, slot: _Slot):
        """Encoded chunks of a text format, from a connection held while streaming."""
        try:
            with self.services.db.connection() as conn:
                for chunk in chunks(conn, selection):
                    yield chunk.encode()
        finally:
            slot.release()

    def _build(self, selection: exports.Selection, fmt: str) -> tuple[Path, Path]:
        """A temporary file of the selection (and its directory, removed after sending)."""
        work = Path(tempfile.mkdtemp(prefix="amanat-download-"))
        try:
            path = work / f"{selection.layer.id}.{exports.FORMATS[fmt].suffix}"
            scratch = work / "scratch"
            scratch.mkdir()
            with self.services.db.connection() as conn:
                exports.write_file(conn, selection, fmt, path, scratch)
            return path, work
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise


async def _closing(stream, slot: _Slot):
    """The chunks of a synchronous stream read in worker threads; closed (its cursor, its
    connection and its slot given back) as soon as the response ends, also when the client
    leaves mid-way (the worker thread has returned by then: a cancelled wait lets it finish)."""
    try:
        async for chunk in iterate_in_threadpool(stream):
            yield chunk
    finally:
        stream.close()
        slot.release()


async def _file_chunks(path: Path, work: Path):
    """The bytes of a temporary file, then the file is removed (also when the client leaves)."""
    try:
        handle = await run_in_threadpool(open, path, "rb")
        try:
            while chunk := await run_in_threadpool(handle.read, CHUNK):
                yield chunk
        finally:
            handle.close()
    finally:
        await run_in_threadpool(shutil.rmtree, work, True)


def routes(downloads: Downloads, quotas) -> list[Route]:
    """/downloads/{collection}.{format}, charged to the caller's download quota."""
    return [Route("/downloads/{name}", quotas.charged(downloads.whole, "downloads"),
                  methods=["GET", "HEAD"])]
