"""HTTP routes of the citizen services: Open311 GeoReport v2 at /open311/v2 (discovery,
services, requests GET and POST, single requests, tokens; .json or .xml), and the staff routes
at /open311/staff (geoserver.auth.POLICY: service agents and admins).

Every error on these routes is an Open311 error list ([{"code", "description"}] or
<errors><error>), in Arabic unless the client prefers English (Accept-Language), and so are the
names and notes of the documents. A request never reaches the database with an unchecked value.
"""
from __future__ import annotations

import functools
import json
import logging
import re
from urllib.parse import parse_qsl, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from citizens import (
    categories,
    jurisdiction,
    open311,
    queries,
    ratings,
    reports,
    staff,
    submission,
    track,
)
from citizens.errors import (
    ERRORS,
    InvalidReport,
    NotYourMunicipality,
    ReportNotFound,
    ServiceNotFound,
)
from citizens.settings import CitizenSettings
from kernel.errors import AmanatError, Bilingual, ErrorKind, ErrorMap, language_of
from kernel.principal import principal_of
from layers import audit
from layers import messages as layer_messages
from layers.database import Database

LOGGER = logging.getLogger(__name__)
FORM = "application/x-www-form-urlencoded"
READS = ["GET", "HEAD"]
MAX_FIELDS = 200
TOKEN = re.compile(r"^[0-9a-f]{32}$")
SERVICE_CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class NoSuchFormat(Bilingual, AmanatError):
    """A document asked in a format other than json or xml."""

    message_ar = "الصيغة غير متاحة؛ استخدم ‎.json أو ‎.xml"
    default_message = "no such format; use .json or .xml"


class BodyTooLarge(InvalidReport):
    """A POST body over the bound."""


def _english(request: Request) -> bool:
    """Whether the answer is English: lang=en, else an Accept-Language preferring English
    (kernel.errors.language_of; Arabic by default)."""
    return language_of(request) == "en"


def _format(request: Request) -> str:
    """The document format of the path (json when it names none we serve)."""
    fmt = request.path_params.get("fmt", "json")
    return fmt if fmt in open311.FORMATS else "json"


class Open311:
    """The GeoReport v2 endpoints and the staff routes of one application."""

    def __init__(self, db: Database, base_url: str, settings: CitizenSettings):
        """The database, the public base URL and the settings."""
        self.db, self.base_url, self.settings = db, base_url.rstrip("/"), settings
        self.errors = ErrorMap(ERRORS, ratings.ERRORS, {NoSuchFormat: open311_kind(404),
                                        BodyTooLarge: open311_kind(413)},
                               messages=(layer_messages.MESSAGES,))
        self.pages = track.environment()

    # --- answers ---------------------------------------------------------------------------

    def document(self, request: Request, kind: str, body, status: int = 200,
                 headers: dict | None = None) -> Response:
        """A document in the format the path asks for."""
        fmt = _format(request)
        english = _english(request)
        return Response(open311.render(kind, body, fmt), status_code=status,
                        media_type=open311.FORMATS[fmt],
                        headers={"Content-Language": "en" if english else "ar",
                                 "Vary": "Accept-Language", **(headers or {})})

    def failure(self, request: Request, exc: Exception) -> Response:
        """An Open311 error list for a domain error (500, logged, for anything else): the
        description in the answer's language, `descriptions` in both (as kernel.errors does)."""
        kind, texts = self.errors.kind_of(exc), self.errors.texts(exc)
        if kind is None:
            LOGGER.error("unexpected error", exc_info=exc)
        status = kind.status if kind else 500
        headers = {}
        if getattr(exc, "retry_after_s", None):
            headers["Retry-After"] = str(exc.retry_after_s)
        text = texts["en" if _english(request) else "ar"]
        return self.document(request, "errors", [open311.error(status, text, texts)], status,
                             headers)

    def _checked(self, request: Request) -> None:
        """The format is one we serve and jurisdiction_id (if given) is this Amana."""
        if request.path_params.get("fmt", "json") not in open311.FORMATS:
            raise NoSuchFormat()
        reports.check_jurisdiction(self.settings, request.query_params.get("jurisdiction_id"))

    # --- discovery and services --------------------------------------------------------------

    async def discovery(self, request: Request) -> Response:
        """GET discovery.{fmt}."""
        return self.document(request, "discovery",
                             open311.discovery(self.settings, self.base_url))

    async def services(self, request: Request) -> Response:
        """GET services.{fmt}: every active category; with lat and long (an extension), those
        of that point, which must be inside the Amana (400 otherwise)."""
        given = queries.once(list(request.query_params.multi_items()),
                             {"jurisdiction_id", "api_key", "lang", "lat", "long"})
        point = None
        if "lat" in given or "long" in given:
            point = (submission.coordinate("long", given.get("long"), 180),
                     submission.coordinate("lat", given.get("lat"), 90))

        def work(conn):
            if point is not None:
                jurisdiction.locate(conn, *point)
            return categories.active(conn)

        found = await run_in_threadpool(self.db.run, work)
        english = _english(request)
        return self.document(request, "services", [open311.service(c, english) for c in found])

    async def service(self, request: Request) -> Response:
        """GET services/{code}.{fmt}: the category's attributes."""
        code = request.path_params["code"]
        if not SERVICE_CODE.match(code):
            raise ServiceNotFound()
        found = await run_in_threadpool(self.db.run,
                                        lambda conn: categories.described(conn, code))
        return self.document(request, "definition", open311.definition(found, _english(request)))

    # --- requests ----------------------------------------------------------------------------

    async def requests(self, request: Request) -> Response:
        """GET requests.{fmt} (filters, paging) or POST (a new report, form-encoded)."""
        if request.method == "POST":
            return await self.submit(request)
        codes = await run_in_threadpool(
            self.db.run, lambda conn: {c.code for c in categories.active(conn)})
        query = queries.parse(list(request.query_params.multi_items()), self.settings, codes)
        rows, more = await run_in_threadpool(self.db.run,
                                             lambda conn: reports.listing(conn, query))
        english = _english(request)
        body = [open311.request(row, english) for row in rows]
        return self.document(request, "requests", body,
                             headers=self._paging(request, query, more))

    def _paging(self, request: Request, query: reports.RequestQuery, more: bool) -> dict:
        """The Link header of a page (next when another page follows, prev after the first)."""
        params = dict(request.query_params)
        links = []
        for rel, page, exists in (("next", query.page + 1, more and query.page < queries.MAX_PAGE),
                                  ("prev", query.page - 1, query.page > 1)):
            if exists:
                url = f"{self.base_url}{request.url.path}?{urlencode({**params, 'page': page})}"
                links.append(f'<{url}>; rel="{rel}"')
        return {"Link": ", ".join(links)} if links else {}

    async def submit(self, request: Request) -> Response:
        """POST requests.{fmt}: store a report; answers its number and token (201)."""
        pairs = await self._form(request)
        form = submission.parse(pairs)
        actor = _actor(request)
        client = request.client.host if request.client else "unknown"
        done = await run_in_threadpool(
            self.db.run, lambda conn: reports.submit(conn, self.settings, form, client, actor))
        body = [open311.accepted(done, _english(request))]
        location = f"{self.base_url}/open311/v2/requests/{done.tracking_no}.{_format(request)}"
        return self.document(request, "requests", body, 201, {"Location": location})

    async def _form(self, request: Request) -> list[tuple[str, str]]:
        """The (name, value) pairs of a form-encoded body within its bound."""
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != FORM:
            raise InvalidReport(f"send the report as {FORM}", f"أرسل البلاغ بصيغة {FORM}")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.settings.max_form_bytes:
                raise BodyTooLarge(f"the form is larger than {self.settings.max_form_bytes:,} bytes",
                                   f"النموذج أكبر من {self.settings.max_form_bytes:,} بايت")
        try:
            return parse_qsl(bytes(body).decode("utf-8"), keep_blank_values=True,
                             strict_parsing=False, max_num_fields=MAX_FIELDS)
        except (UnicodeDecodeError, ValueError):
            raise InvalidReport("the form is not UTF-8 form-encoded text (or has too many fields)",
                                "النموذج ليس نصًا مرمزًا بـ UTF-8 (أو حقوله كثيرة)") from None

    async def one(self, request: Request) -> Response:
        """GET requests/{id}.{fmt}: one report (a list of one, as the spec says)."""
        queries.once(list(request.query_params.multi_items()), {"jurisdiction_id", "api_key", "lang"})
        tracking = _tracking(request.path_params["id"])
        row = await run_in_threadpool(self.db.run, lambda conn: reports.public(conn, tracking))
        return self.document(request, "requests", [open311.request(row, _english(request))])

    async def token(self, request: Request) -> Response:
        """GET tokens/{id}.{fmt}: the request a token stands for."""
        token_id = request.path_params["id"]
        if not TOKEN.match(token_id):
            raise ReportNotFound()
        tracking = await run_in_threadpool(self.db.run,
                                           lambda conn: reports.by_token(conn, token_id))
        return self.document(request, "requests", [open311.token(tracking, token_id)])

    # --- staff -------------------------------------------------------------------------------

    async def queue(self, request: Request) -> Response:
        """GET /open311/staff/queue: reports of the caller's municipality (admins: any, or
        ?municipality=), open and in progress unless ?status= says otherwise, received since
        ?since= (a date and time) when given."""
        given = queries.once(list(request.query_params.multi_items()),
                             {"municipality", "status", "since", "page", "page_size", "lang"})
        since = queries.moment("since", given["since"]) if "since" in given else None
        municipality = self._municipality(request, given.get("municipality"))
        statuses = [s.strip() for s in given.get("status", "open,in_progress").split(",")]
        if not statuses or any(s not in staff.STATUSES for s in statuses):
            raise InvalidReport("status must list open, in_progress, closed",
                                "يجب أن تكون الحالة من open وin_progress وclosed")
        size = queries.whole("page_size", given.get("page_size"), self.settings.page_size, 1000)
        page = queries.whole("page", given.get("page"), 1, queries.MAX_PAGE)
        rows = await run_in_threadpool(self.db.run, lambda conn: staff.queue(
            conn, municipality, statuses, since, size, (page - 1) * size))
        return JSONResponse(json.loads(json.dumps(
            {"municipality": municipality, "page": page, "reports": rows}, default=_plain)))

    def _municipality(self, request: Request, asked: str | None) -> str | None:
        """Whose queue: an agent's own municipality only; an admin's choice (None: all)."""
        principal = principal_of(request.scope)
        if principal.has("admin"):
            return asked
        if principal.office is None or (asked is not None and asked != principal.office):
            raise NotYourMunicipality()
        return principal.office

    async def update(self, request: Request) -> Response:
        """PATCH (or POST) /open311/staff/requests/{id}: status, close reason, public note,
        assignee; answers the report as the public sees it."""
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            raise InvalidReport("the body must be JSON", "يجب أن يكون المحتوى JSON") from None
        wanted = staff.parse_change(body)
        tracking, actor = _tracking(request.path_params["id"]), _actor(request)

        def work(conn):
            staff.change(conn, actor, tracking, wanted)
            return reports.public(conn, tracking)

        row = await run_in_threadpool(self.db.run, work)
        return self.document(request, "requests", [open311.request(row, _english(request))])


    # --- the public status page ------------------------------------------------------------

    async def track(self, request: Request) -> Response:
        """GET /track[?number=...&lang=en]: the status, history and next step of a report, a
        licence or a certificate."""
        given = request.query_params
        lang = language_of(request)
        english, number = lang == "en", (given.get("number") or "").strip().upper()[:40]
        context = {"lang": lang, "number": number, "result": None, "error": None,
                   "amana": self.settings.amana_en if english else self.settings.amana_ar}
        status, headers = 200, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
        client = request.client.host if request.client else "unknown"
        try:
            if set(given) - {"lang", "number"}:
                raise InvalidReport("unknown parameter", "معامل غير معروف")
            if number:
                context["result"] = await run_in_threadpool(
                    self.db.run, lambda conn: ratings.for_page(conn, track.lookup(
                        conn, self.settings, number, client, english, self.base_url)))
        except AmanatError as exc:
            kind = self.errors.kind_of(exc)
            status = kind.status if kind else 500
            context["error"] = self.errors.texts(exc)[lang]
            if getattr(exc, "retry_after_s", None):
                headers["Retry-After"] = str(exc.retry_after_s)
        html = self.pages.get_template("track.html").render(**context)
        return HTMLResponse(html, status_code=status, headers=headers)


def open311_kind(status: int):
    """An ErrorKind of one of this module's own errors."""
    titles = {404: ("غير موجود", "Not found"), 413: ("المحتوى كبير جدًا", "Payload too large")}
    return ErrorKind(status, "InvalidParameterValue", *titles[status])


def _tracking(value: str) -> str:
    """A tracking number from a path; ReportNotFound when it cannot be one."""
    if not queries.TRACKING.match(value):
        raise ReportNotFound()
    return value


def _plain(value):
    """JSON for dates and times."""
    return value.isoformat(timespec="seconds") if hasattr(value, "isoformat") else str(value)


def _actor(request: Request) -> audit.Actor:
    """Who writes (a citizen is the public principal) and from where, for the audit trail."""
    principal = principal_of(request.scope)
    client = request.client.host if request.client else None
    return audit.Actor(principal.subject, principal.kind, principal.roles, principal.office,
                       principal.api_key_id, client, request.headers.get("user-agent"))


def _answering(api: Open311, handler):
    """`handler` with its errors answered as Open311 error lists."""
    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        try:
            api._checked(request)
            return await handler(request)
        except Exception as exc:  # noqa: BLE001 -- every error in the Open311 form, 500 logged
            return api.failure(request, exc)
    return endpoint


class RatingRoutes:
    """POST /track/rate (HTML, from the /track page) and /feedback (JSON) of an Open311 api
    (citizens.routes.Open311: its database, form reader, error map and page templates)."""

    def __init__(self, api, settings: ratings.RatingSettings | None = None):
        """The api whose database and pages are used, and the bounds of the forms."""
        self.api, self.settings = api, settings or ratings.RatingSettings()

    def _page(self, lang: str, number: str, exc: AmanatError) -> HTMLResponse:
        """The /track page saying why a rating was refused, with its 4xx status."""
        kind = self.api.errors.kind_of(exc)
        headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
        if getattr(exc, "retry_after_s", None):
            headers["Retry-After"] = str(exc.retry_after_s)
        html = self.api.pages.get_template("track.html").render(
            lang=lang, number=number, result=None, error=self.api.errors.texts(exc)[lang],
            amana=self.api.settings.amana_en if lang == "en" else self.api.settings.amana_ar)
        return HTMLResponse(html, status_code=kind.status if kind else 500, headers=headers)

    async def rate(self, request: Request) -> Response:
        """POST /track/rate: a closed report's rating; back to its /track page (303)."""
        lang, number = language_of(request), ""
        client = request.client.host if request.client else "unknown"
        try:
            form = queries.once(await self.api._form(request), ratings.REPORT_FIELDS)
            number = (form.get("number") or "").strip().upper()[:40]
            if not queries.TRACKING.match(number):
                raise ratings.ReportNotFound()
            await run_in_threadpool(self.api.db.run, lambda conn: ratings.rate_report(
                conn, self.settings, number, form, client))
        except AmanatError as exc:
            return self._page(lang, number, exc)
        return RedirectResponse(f"/track?{urlencode({'lang': lang, 'number': number})}", 303)

    async def feedback(self, request: Request) -> Response:
        """GET /feedback?path=: a signed form for that page; POST: store the page's rating."""
        english = language_of(request) == "en"
        if request.method != "POST":
            given = queries.once(list(request.query_params.multi_items()), {"path", "lang"})
            path = ratings.page(given.get("path"))
            signed = await run_in_threadpool(self.api.db.run, lambda conn: ratings.sign(
                ratings.signing_key(conn), "page:" + path))
            return JSONResponse({"path": path, "form": signed, "honeypot": ratings.HONEYPOT,
                                 "min_seconds": self.settings.min_seconds},
                                headers={"Cache-Control": "no-store"})
        form = queries.once(await self.api._form(request), ratings.PAGE_FIELDS)
        client = request.client.host if request.client else "unknown"
        await run_in_threadpool(self.api.db.run, lambda conn: ratings.rate_page(
            conn, self.settings, form, client))
        return JSONResponse({"stored": True, "message": ratings.THANKS[1 if english else 0]},
                            status_code=201, headers={"Content-Language": "en" if english else "ar"})


def routes(db: Database, base_url: str, settings: CitizenSettings | None = None) -> list[Route]:
    """The /open311 routes, /track with its rating form and /feedback (settings from
    AMANAT_CITIZENS_* when not given)."""
    api = Open311(db, base_url, settings or CitizenSettings())
    rating = RatingRoutes(api)
    v2, on = "/open311/v2", functools.partial(_answering, api)
    return [
        Route(f"{v2}/discovery.{{fmt}}", on(api.discovery), methods=READS),
        Route(f"{v2}/services.{{fmt}}", on(api.services), methods=READS),
        Route(f"{v2}/services/{{code}}.{{fmt}}", on(api.service), methods=READS),
        Route(f"{v2}/requests.{{fmt}}", on(api.requests), methods=[*READS, "POST"]),
        Route(f"{v2}/requests/{{id}}.{{fmt}}", on(api.one), methods=READS),
        Route(f"{v2}/tokens/{{id}}.{{fmt}}", on(api.token), methods=READS),
        Route("/track", api.track, methods=READS),
        Route("/track/rate", rating.rate, methods=["POST"]),
        Route("/feedback", on(rating.feedback), methods=[*READS, "POST"]),
        Route("/open311/staff/queue", on(api.queue), methods=READS),
        Route("/open311/staff/requests/{id}", on(api.update), methods=["PATCH", "POST"]),
    ]
