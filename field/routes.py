"""The field app's routes: the shell (/field/, its service worker, manifest, icons and files),
the assignment page (/field/assign) and the API the app reads (/field/api/...).

Access (geoserver.auth.POLICY): the shell and the assignment page are open (they hold no data);
/field/api reads are for staff (inspector, office, admin); assignment writes for offices and
admins. Data answers are never kept by shared caches.
"""
from __future__ import annotations

import gzip
import json
import math

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from field import area, assignments
from field.errors import AssignmentMissing, InvalidRequest, LicenceMissing
from field.settings import FieldSettings
from field.shell import ROOT, Shell, config, manifest
from kernel.errors import NotFound
from kernel.messages import language
from kernel.principal import Principal, principal_of
from layers.audit import Actor
from layers.database import Database
from webmap.assets import Assets

READS = ["GET", "HEAD"]
PRIVATE = {"Cache-Control": "private, no-store", "Vary": "Authorization"}
REVALIDATE = {"Cache-Control": "no-cache"}
MAX_BODY = 4096


def _text(request: Request, body: bytes, media: str, headers: dict) -> Response:
    """A text answer, gzip-compressed when the client takes it (the shell is ~70 % smaller:
    it matters on a slow network)."""
    headers = {**headers, "Vary": "Accept-Encoding"}
    if len(body) > 1024 and "gzip" in request.headers.get("accept-encoding", ""):
        body = gzip.compress(body, 6, mtime=0)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=media, headers=headers)


def _actor(request: Request) -> Actor:
    """The caller as layers.audit records it."""
    principal: Principal = principal_of(request.scope)
    client = request.client
    return Actor(principal.subject, principal.kind, principal.roles, principal.office,
                 principal.api_key_id, client.host if client else None,
                 request.headers.get("user-agent"))


def _near(request: Request, default_radius: int) -> tuple[tuple[float, float] | None, float]:
    """?near=lon,lat and ?radius=metres, checked."""
    params = request.query_params
    unknown = set(params) - {"near", "radius", "lang"}
    if unknown:
        raise InvalidRequest("unknown parameters: " + ", ".join(sorted(unknown))[:200],
                             "معاملات غير معروفة: " + ", ".join(sorted(unknown))[:200])
    near = None
    if "near" in params:
        parts = params["near"].split(",")
        try:
            lon, lat = (float(part) for part in parts) if len(parts) == 2 else (math.nan,) * 2
        except ValueError:
            lon = lat = math.nan
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise InvalidRequest("near must be longitude,latitude",
                                 "يجب أن يكون near خط الطول,خط العرض")
        near = (lon, lat)
    radius = params.get("radius", str(default_radius))
    if not (radius.isascii() and radius.isdigit() and 1 <= int(radius) <= area.MAX_RADIUS_M):
        raise InvalidRequest(f"radius must be 1 to {area.MAX_RADIUS_M} metres",
                             f"يجب أن يكون radius من 1 إلى {area.MAX_RADIUS_M} متر")
    return near, float(radius)


def _positive(text: str, missing) -> int:
    """A path id, or the `missing` error."""
    if not (text.isascii() and text.isdigit()) or len(text) > 15 or int(text) < 1:
        raise missing()
    return int(text)


async def _json_body(request: Request):
    """The JSON body (at most MAX_BODY bytes), or InvalidRequest."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise InvalidRequest("send application/json", "أرسل الطلب بصيغة application/json")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise InvalidRequest("the body is too large", "متن الطلب أكبر من المسموح")
    try:
        return json.loads(body)
    except ValueError:
        raise InvalidRequest("the body is not valid JSON", "متن الطلب ليس JSON صالحًا") from None


class FieldApp:
    """The shell and API of one application."""

    def __init__(self, db: Database, assets: Assets, limits, settings: FieldSettings):
        """The database, the web map's files, the editing limits (photos), the app's settings."""
        self.db, self.settings = db, settings
        self.shell = Shell.build(assets)
        self.config = config(self.shell, limits, settings)
        self.manifest = manifest(self.shell)
        env = Environment(loader=FileSystemLoader(ROOT / "templates"),
                          autoescape=select_autoescape(["html"]))
        self.pages = {name: env.get_template(f"{name}.html") for name in ("app", "assign")}
        self.worker = (ROOT / "sw.js").read_text(encoding="utf-8").replace(
            "__VERSION__", self.shell.version).replace(
            "__SHELL__", json.dumps(self.shell.urls()))

    def _page(self, request: Request, name: str) -> Response:
        """A page in the request's language (the other one is a tap away, offline too)."""
        lang = language(request.query_params.get("lang"), request.headers.get("accept-language"))
        html = self.pages[name].render(
            lang=lang, dir="rtl" if lang == "ar" else "ltr", config=self.config,
            shell=self.shell, texts=self.config["texts"][lang])
        return _text(request, html.encode(), "text/html; charset=utf-8", REVALIDATE)

    async def app(self, request: Request) -> Response:
        """GET /field/: the app shell."""
        return self._page(request, "app")

    async def assign_page(self, request: Request) -> Response:
        """GET /field/assign: the office's assignment page."""
        return self._page(request, "assign")

    async def service_worker(self, request: Request) -> Response:
        """GET /field/sw.js (scope /field/)."""
        return _text(request, self.worker.encode(), "text/javascript; charset=utf-8",
                     REVALIDATE)

    async def web_manifest(self, request: Request) -> Response:
        """GET /field/manifest.webmanifest."""
        return _text(request, self.manifest, "application/manifest+json", REVALIDATE)

    async def icon(self, request: Request) -> Response:
        """GET /field/icons/{name}."""
        data = self.shell.icons.get(request.path_params["name"])
        if data is None:
            raise NotFound("no such file")
        return Response(data, media_type="image/png", headers={"Cache-Control": "max-age=86400"})

    async def static(self, request: Request) -> Response:
        """GET /field/static/{version}/{name}: a listed file."""
        path = self.shell.files.get(request.path_params["name"])
        if path is None:
            raise NotFound("no such file")
        current = request.path_params["version"] == self.shell.version
        cache = "public, max-age=31536000, immutable" if current else "no-cache"
        return _text(request, path.read_bytes(), MEDIA_TYPES[path.suffix],
                     {"Cache-Control": cache})

    async def licences(self, request: Request) -> JSONResponse:
        """GET /field/api/licences[?near=lon,lat&radius=m]: assigned, then nearby licences."""
        near, radius = _near(request, self.settings.nearby_radius_m)
        found = await run_in_threadpool(area.licences, self.db, _actor(request), near, radius)
        return JSONResponse({"licences": found}, headers=PRIVATE)

    async def history(self, request: Request) -> JSONResponse:
        """GET /field/api/licences/{id}/history: the licence's inspections."""
        found = await run_in_threadpool(area.history, self.db,
                                        _positive(request.path_params["id"], LicenceMissing))
        if found is None:
            raise LicenceMissing()
        return JSONResponse({"inspections": found}, headers=PRIVATE)

    async def assignments(self, request: Request) -> JSONResponse:
        """GET /field/api/assignments (?all=1 with closed ones), POST a new one."""
        if request.method == "POST":
            wanted = assignments.parse(await _json_body(request))
            stored = await run_in_threadpool(assignments.create, self.db, wanted,
                                             _actor(request))
            return JSONResponse(stored, status_code=201, headers=PRIVATE)
        open_only = request.query_params.get("all") != "1"
        found = await run_in_threadpool(assignments.listing, self.db, _actor(request),
                                        open_only)
        return JSONResponse({"assignments": found}, headers=PRIVATE)

    async def withdraw(self, request: Request) -> Response:
        """DELETE /field/api/assignments/{id}: withdraw an open assignment."""
        await run_in_threadpool(assignments.withdraw, self.db,
                                _positive(request.path_params["id"], AssignmentMissing),
                                _actor(request))
        return Response(status_code=204, headers=PRIVATE)


MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


def routes(db: Database, assets: Assets, limits, settings: FieldSettings | None = None
           ) -> list[BaseRoute]:
    """/field/... (settings from AMANAT_FIELD_* when not given)."""
    app = FieldApp(db, assets, limits, settings or FieldSettings())
    return [
        Route("/field/", app.app, methods=READS),
        Route("/field/assign", app.assign_page, methods=READS),
        Route("/field/sw.js", app.service_worker, methods=READS),
        Route("/field/manifest.webmanifest", app.web_manifest, methods=READS),
        Route("/field/icons/{name}", app.icon, methods=READS),
        Route("/field/static/{version}/{name}", app.static, methods=READS),
        Route("/field/api/licences", app.licences, methods=["GET"]),
        Route("/field/api/licences/{id}/history", app.history, methods=["GET"]),
        Route("/field/api/assignments", app.assignments, methods=["GET", "POST"]),
        Route("/field/api/assignments/{id}", app.withdraw, methods=["DELETE"]),
    ]
