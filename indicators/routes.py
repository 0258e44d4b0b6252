"""/indicators (JSON, CSV, GeoJSON by district) and /licences/expiring (the signed-in office's
list, as the periodic expiry task built it).

Access (geoserver.auth.POLICY): indicators are open (counts and shares, no personal column);
the expiry list is for offices (their own) and admins (?office=). The indicators file is read
and checked when the route table is built: a bad file stops the server from starting.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from indicators import definitions, expiry, query, store
from indicators.dashboard import CSP, Dashboard
from indicators.errors import NotAnOffice, UnknownIndicator
from kernel.errors import NotFound
from kernel.messages import language
from kernel.principal import principal_of
from layers.database import Database

READS = ["GET", "HEAD"]
SUFFIXES = {".csv": "csv", ".geojson": "geojson", ".json": "json"}
FRESH = {"Cache-Control": "no-cache"}


class IndicatorRoutes:
    """The indicator routes of one application."""

    def __init__(self, db: Database, indicators: dict[str, definitions.Indicator]):
        """The database and the checked indicators."""
        self.db, self.indicators = db, indicators

    def _resolve(self, name: str) -> tuple[definitions.Indicator, str]:
        """The indicator a path names (with a format suffix or not), or UnknownIndicator."""
        fmt = "json"
        for suffix, kind in SUFFIXES.items():
            if name.endswith(suffix):
                name, fmt = name.removesuffix(suffix), kind
                break
        found = self.indicators.get(name)
        if found is None:
            raise UnknownIndicator("no indicator {id!r}", id=name[:60])
        return found, fmt

    async def listing(self, request: Request) -> Response:
        """GET /indicators: every indicator, described."""
        return JSONResponse({"indicators": [one.describe() for one in self.indicators.values()]},
                            headers=FRESH)

    async def indicator(self, request: Request) -> Response:
        """GET /indicators/{id}[.csv|.geojson]: the rows matching the filters."""
        indicator, fmt = self._resolve(request.path_params["name"])
        asked = query.parse(indicator, list(request.query_params.multi_items()), fmt)
        result = await run_in_threadpool(
            self.db.run, lambda conn: store.rows(conn, indicator, asked.filters))
        if asked.format == "csv":
            return Response(_csv(result), media_type="text/csv; charset=utf-8", headers={
                **FRESH, "Content-Disposition": f'attachment; filename="{indicator.id}.csv"'})
        if asked.format == "geojson":
            document = await run_in_threadpool(
                self.db.run, lambda conn: store.by_district(conn, result))
            return Response(json.dumps(document, ensure_ascii=False),
                            media_type="application/geo+json", headers=FRESH)
        return JSONResponse({**indicator.describe(), "computed_at": result.computed_at.isoformat(),
                             "filters": asked.filters, "numberMatched": len(result.rows),
                             "rows": result.rows}, headers=FRESH)

    async def expiring(self, request: Request) -> Response:
        """GET /licences/expiring: the signed-in office's licences expiring within 30/60/90
        days (an admin names the office with ?office=)."""
        principal = principal_of(request.scope)
        office = principal.office
        if "admin" in principal.roles:
            office = request.query_params.get("office") or office
        if not office:
            raise NotAnOffice("this list is for an office: sign in with an office account")
        days = request.query_params.get("within_days")
        found = await run_in_threadpool(
            self.db.run, lambda conn: expiry.office_list(conn, office, days))
        return JSONResponse(found, headers={"Cache-Control": "private, no-store",
                                            "Vary": "Authorization"})


class DashboardRoutes:
    """GET /dashboard and its own static files (the page is built by indicators.dashboard)."""

    def __init__(self, page: Dashboard):
        """The page's builder."""
        self.built = page

    async def page(self, request: Request) -> Response:
        """GET /dashboard: the page, or its message for a wrong parameter (4xx)."""
        lang = language(request.query_params.get("lang"), request.headers.get("accept-language"))
        status, html = await run_in_threadpool(
            self.built.render, list(request.query_params.multi_items()), lang)
        return HTMLResponse(html, status_code=status, headers={
            "Content-Security-Policy": CSP, "Cache-Control": "no-cache",
            "Content-Language": lang, "Vary": "Accept-Language"})

    async def static(self, request: Request) -> Response:
        """GET /dashboard/static/{version}/{name}: dashboard.js or dashboard.css."""
        found = self.built.static_file(request.path_params["version"],
                                       request.path_params["name"])
        if found is None:
            raise NotFound("no such file")
        path, media, cache = found
        return FileResponse(path, media_type=media, headers={"Cache-Control": cache})


def _csv(result: store.Result) -> bytes:
    """The rows as CSV (UTF-8 with a BOM, so spreadsheet programs read the Arabic)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    columns = [*result.indicator.columns, "computed_at"]
    writer.writerow(columns)
    for row in result.rows:
        writer.writerow(["" if row.get(name) is None else row[name] for name in columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def routes(db: Database, path: Path = definitions.DEFAULT_FILE,
           asset_url=None) -> list[BaseRoute]:
    """/indicators, /licences/expiring and /dashboard (the indicators file checked now);
    `asset_url` names the web map's vendor files (webmap.assets.Assets.url)."""
    app = IndicatorRoutes(db, definitions.load(path))
    page = DashboardRoutes(Dashboard(db, app.indicators, asset_url))
    return [
        Route("/dashboard", page.page, methods=READS),
        Route("/dashboard/static/{version}/{name}", page.static, methods=READS),
        Route("/indicators", app.listing, methods=READS),
        Route("/indicators/{name}", app.indicator, methods=READS),
        Route("/licences/expiring", app.expiring, methods=READS),
    ]
