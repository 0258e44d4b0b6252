"""The part of the OGC API that pygeoapi serves, built per application.

pygeoapi's own Starlette module builds one application at import time from environment
variables; here a `pygeoapi.api.API` is built from the resolved configuration of this
application's settings (no environment writes, no module reloads, no patched functions);
geoserver/routes.py (`pygeoapi_routes`) lists what pygeoapi still answers: landing page,
conformance, collections metadata, queryables and schemas, HTML and JSON-LD items, tileset
metadata, tile matrix sets, processes and their execution, the OpenAPI document and pygeoapi's
static files. Every other OGC route (GeoJSON items, Part 4 writes, tiles, jobs) is ours.

The configuration carries this application's objects to the plugins pygeoapi builds from it:
its `Database` to the providers (`data.database`), its permit-check runtime and error map to the
job manager and the processes. pygeoapi deep-copies the configuration; those objects copy as
themselves.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import datetime, time, timezone
from pathlib import Path

import yaml
from psycopg import sql
from pygeoapi import l10n
from pygeoapi.api import API, CONFORMANCE_CLASSES, SYSTEM_LOCALE, APIRequest, all_apis
from pygeoapi.api import landing_page as pygeoapi_landing_page
from pygeoapi.formats import F_HTML, FORMAT_TYPES
from pygeoapi.util import render_j2_template, to_json
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from geoserver import auth, openapi
from geoserver.settings import Settings
from kernel.errors import Unavailable, language_of, pygeoapi_texts
from kernel.messages import ANSWER_LANGUAGE, language
from layers import cql_functions, database, feature_rules
from layers.catalogue import layer_for_table
from layers.database import Database
from webmap.assets import Assets

LOGGER = logging.getLogger(__name__)
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")
TILESETS_VECTOR = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
DATASET_TILES_CONFORMANCE = tuple(
    f"http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/{name}"
    for name in ("dataset-tilesets", "collections-selection"))
# Features Part 3 and CQL2 (21-065r2) as layers/cql*.py implement them (tests/test_cql*.py):
# not the HTML items of pygeoapi, whose own pygeofilter parser reads the older draft.
FILTER_CONFORMANCE = tuple(
    f"http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/{name}"
    for name in ("filter", "features-filter", "queryables", "queryables-query-parameters")
) + tuple(
    f"http://www.opengis.net/spec/cql2/1.0/conf/{name}"
    for name in ("basic-cql2", "advanced-comparison-operators", "case-insensitive-comparison",
                 "accent-insensitive-comparison", "basic-spatial-functions",
                 "basic-spatial-functions-plus", "spatial-functions", "temporal-functions",
                 "array-functions", "property-property", "functions", "arithmetic",
                 "cql2-text", "cql2-json"))
# Processes Part 1 (tests/test_processes_owslib.py, tests/test_job_list.py): not html (a job's
# results are JSON, GeoPackage or CSV only), not callback.
EXCEPTION_TYPES = {   # Processes core /req/core/process-exception/no-such-process
    "NoSuchProcess": "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/no-such-process"}
PROCESSES_CONFORMANCE = tuple(
    f"http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/{name}"
    for name in ("core", "ogc-process-description", "json", "oas30", "job-list", "dismiss"))


# --- configuration ------------------------------------------------------------------------


def _variables(settings: Settings) -> dict[str, str]:
    """The values pygeoapi-config.yml refers to as ${NAME}."""
    return {"AMANAT_PUBLIC_URL": settings.server.base_url,
            "AMANAT_OGC_URL": f"{settings.server.base_url}/ogc"}


def load_config(settings: Settings) -> dict:
    """pygeoapi-config.yml with its ${NAME} references resolved from the settings."""
    known = _variables(settings)

    def value(match: re.Match) -> str:
        if match.group(1) not in known:
            raise ValueError(f"pygeoapi-config.yml: unknown variable ${{{match.group(1)}}}")
        return known[match.group(1)]

    text = settings.pygeoapi_config.read_text(encoding="utf-8")
    config = yaml.safe_load(VARIABLE.sub(value, text))
    _resolve_templates(config, settings.pygeoapi_config.parent)
    return config


def _resolve_templates(config: dict, base: Path) -> None:
    """server.templates' path and static directory relative to the configuration file (pygeoapi
    would read them relative to the working directory)."""
    templates = config["server"].get("templates") or {}
    for key in ("path", "static"):
        if key in templates:
            templates[key] = str((base / templates[key]).resolve())


def _extent(conn, table: str) -> tuple[list[float] | None, list[str | None]]:
    """Bounding box (CRS84) and time range of one table."""
    layer = layer_for_table(table)
    span = sql.SQL("min(t.{0}), max(t.{0})").format(
        sql.Identifier(layer.time_field)) if layer.time_field else sql.SQL("NULL, NULL")
    row = conn.execute(sql.SQL(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), t0, t1 FROM "
        "(SELECT ST_Extent(t.{geom}) e, {time} FROM {table} t) x (e, t0, t1)"
    ).format(time=span, geom=sql.Identifier(layer.geometry_column),
             table=sql.Identifier(layer.table))).fetchone()
    if row is None or row[0] is None:
        return None, [None, None]
    return [round(v, 6) for v in row[:4]], [_utc(value) for value in row[4:]]


def _utc(value) -> datetime | None:
    """A date or timestamp as an aware UTC datetime (pygeoapi wants datetimes in extents)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(), tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).replace(microsecond=0)


def refresh_extents(config: dict, db: Database) -> None:
    """Replace each collection's extents by what the database holds (left alone if it is down)."""

    def work(conn):
        for resource in config["resources"].values():
            bbox, (begin, end) = _extent(conn, resource["providers"][0]["data"]["table"])
            extents = resource.setdefault("extents", {})
            if bbox:
                extents["spatial"] = {"bbox": bbox, "crs": CRS84}
            if "temporal" in extents and begin:
                extents["temporal"] = {"begin": begin, "end": end}

    try:
        db.run(work)
    except Unavailable:
        LOGGER.warning("extents not refreshed, database unavailable")


def complete_openapi(document: dict) -> dict:
    """Declare `datetime` on every items operation (Features Part 1 requires it everywhere;
    pygeoapi only declares it for collections with a time field)."""
    for path, operations in document.get("paths", {}).items():
        get = operations.get("get")
        if not path.endswith("/items") or not get:
            continue
        refs = [p.get("$ref", "") for p in get.get("parameters", [])]
        bbox = next((ref for ref in refs if ref.endswith("/parameters/bbox")), None)
        if bbox and not any(ref.endswith("/parameters/datetime") for ref in refs):
            get["parameters"].append({"$ref": bbox.replace("/parameters/bbox",
                                                           "/parameters/datetime")})
    return document


def openapi_document(settings: Settings, config: dict) -> dict:
    """The OGC OpenAPI document, generated from the resolved configuration and kept in the
    state directory until the configuration or the code that writes it changes."""
    from pygeoapi.openapi import generate_openapi_document

    state = settings.server.state_dir / "ogc"
    state.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
    config_path, openapi_path = state / "pygeoapi-config.yml", state / "openapi.yml"
    sources = (openapi.__file__, openapi.OGC_ADDITIONS, feature_rules.__file__, auth.__file__,
               __file__)
    code = b"".join(Path(source).read_bytes() for source in sources)
    limits = settings.editing.model_dump_json().encode()
    digest = hashlib.sha256(text.encode() + code + limits).hexdigest()
    stamp = state / "openapi.sha256"
    if not (openapi_path.exists() and stamp.exists() and stamp.read_text() == digest):
        config_path.write_text(text, encoding="utf-8")
        config_path.chmod(0o600)
        document = yaml.safe_load(generate_openapi_document(config_path, "yaml"))
        document = openapi.ogc_routes(openapi.bundle(complete_openapi(document)),
                                      settings.editing.max_photos)
        openapi_path.write_text(yaml.safe_dump(document, allow_unicode=True),
                                encoding="utf-8")
        stamp.write_text(digest)
    return yaml.safe_load(openapi_path.read_text(encoding="utf-8"))


def prepare(settings: Settings) -> None:
    """Write the OpenAPI document once before the server's workers start (each would)."""
    db = database.from_settings(settings.database, name="amanat-prepare")
    try:
        config = load_config(settings)
        refresh_extents(config, db)
        openapi_document(settings, config)
    finally:
        db.close()


def _inject(config: dict, db: Database, runtime, errors, max_vertices: int) -> dict:
    """Hand this application's objects to the plugins pygeoapi builds from `config`."""
    for resource in config["resources"].values():
        for provider in resource.get("providers", []):
            provider["data"] = {**provider["data"], "database": db,
                                "max_vertices": max_vertices}
    manager = config["server"]["manager"]
    manager["runtime"], manager["errors"] = runtime, errors
    for process in (manager.get("amanat_processes") or {}).values():
        process["processor"] = {**process["processor"], "runtime": runtime}
    return config


# --- the pygeoapi API of one application ------------------------------------------------------


class AmanatAPI(API):
    """pygeoapi's API with two measured fixes, per instance (nothing patched):

    - get_exception: pygeoapi logs every answered error at ERROR with a traceback, 4xx
      included (two tracebacks per empty tile); client errors are answered without logging.
    - get_dataset_templates: `GET /processes/{id}?f=html` looked the process up among the
      collections (ours are under `amanat_processes`) → KeyError, a 500 found by fuzzing.
    """

    def get_exception(self, status, headers, format_, code, description):
        """The exception document; logged (with traceback) only for server errors."""
        if int(status) >= 500:
            return super().get_exception(status, headers, format_, code, description)
        lang = ANSWER_LANGUAGE.get()
        texts = pygeoapi_texts(description, code, getattr(self.manager, "errors", None))
        exception = {"code": code, "type": EXCEPTION_TYPES.get(code, code),
                     "description": texts[lang], "descriptions": texts}
        if getattr(description, "titles", None):
            exception["title"] = description.titles[lang]
        headers["Content-Language"] = lang
        if format_ == F_HTML:
            headers["Content-Type"] = FORMAT_TYPES[F_HTML]
            content = render_j2_template(self.tpl_config, self.config["server"]["templates"],
                                         "exception.html", exception, SYSTEM_LOCALE)
        else:
            content = to_json(exception, self.pretty_print)
        return headers, status, content

    def get_dataset_templates(self, dataset: str) -> dict:
        """A collection's templates, or the server's for names that are not collections."""
        templates = self.config.get("resources", {}).get(dataset, {}).get("templates")
        return templates or self.tpl_config["server"]["templates"]


def build(settings: Settings, db: Database, runtime, errors, assets: Assets) -> AmanatAPI:
    """The pygeoapi API of this application."""
    config = load_config(settings)
    refresh_extents(config, db)
    document = openapi_document(settings, config)
    _inject(config, db, runtime, errors, settings.limits.max_filter_vertices)
    api = AmanatAPI(config, document)
    api.tpl_config["amanat"] = {"assets": page_assets(settings.server.base_url, assets)}
    # pygeoapi renders /TileMatrixSets with the whole template configuration as the templates
    # setting (tiles.tilematrixsets): with a path there too, those pages are ours as well.
    api.tpl_config["path"] = config["server"]["templates"]["path"]
    return api


def page_assets(base_url: str, assets: Assets) -> dict[str, str]:
    """URLs of the web map's files the HTML pages load (Leaflet, VectorGrid, the Arabic font),
    served by this server (geoserver/templates/ogc/_base.html)."""
    files = {"leaflet_js": "vendor/leaflet/leaflet.js", "leaflet_css": "vendor/leaflet/leaflet.css",
             "vectorgrid_js": "vendor/vectorgrid/vectorgrid.js", "fonts_css": "map/fonts.css"}
    return {name: f"{base_url}{assets.url(public)}" for name, public in files.items()}


class AmanatRequest(APIRequest):
    """pygeoapi's request, whose HTML pages are in Arabic unless English is asked for (`lang`,
    else the first language of Accept-Language); a `lang` that is neither gives Arabic."""

    def __init__(self, request, supported_locales):
        """pygeoapi's reading of the request, then the language of an HTML page."""
        super().__init__(request, supported_locales)
        if self.format == F_HTML:
            self._locale = page_locale(self._args.get(l10n.QUERY_PARAM),
                                       request.headers.get("accept-language"),
                                       supported_locales)


def page_locale(lang: str | None, accept_language: str | None, supported) -> l10n.Locale:
    """The locale of an HTML page, in the language errors are answered in
    (kernel.messages.language: `lang` if ar or en, else Accept-Language, else Arabic)."""
    wanted = language(lang if isinstance(lang, str) else None, accept_language)
    return next((locale for locale in map(l10n.str2locale, supported)
                 if locale.language == wanted), l10n.str2locale(supported[0]))


# --- calling it ------------------------------------------------------------------------------


def _response(headers: dict, status: int, content) -> Response:
    """A pygeoapi (headers, status, content) triple as a Starlette response."""
    if headers.get("Content-Type") == "text/html":
        response = HTMLResponse(content=content, status_code=status)
    elif isinstance(content, dict):
        response = JSONResponse(content, status_code=status)
    else:
        response = Response(content, status_code=status)
    response.headers.update(headers)
    return response


async def call(api: API, function, request, *args, skip_valid_check: bool = False) -> Response:
    """Answer a request with one of pygeoapi's API functions, in a worker thread (which
    carries the request's context variables)."""
    api_request = await AmanatRequest.from_starlette(request, api.locales)
    answering = ANSWER_LANGUAGE.set(language_of(request))   # for get_exception
    try:
        if not skip_valid_check and not api_request.is_valid():
            return _response(*api.get_format_exception(api_request))
        headers, status, content = await run_in_threadpool(function, api, api_request, *args)
    finally:
        ANSWER_LANGUAGE.reset(answering)
    if api_request.format == F_HTML:   # the page's language (tilesets said their provider's)
        headers["Content-Language"] = l10n.locale2str(api_request.locale)
    return _response(headers, status, content)


def endpoint(api: API, function, *names: str, skip_valid_check: bool = False):
    """A Starlette endpoint calling `function` with the path parameters `names`."""

    async def handle(request):
        args = [request.path_params.get(name) for name in names]
        return await call(api, function, request, *args, skip_valid_check=skip_valid_check)

    handle.__name__ = getattr(function, "__name__", "pygeoapi")
    return handle


JOB_PAGES = {"/jobs": "jobs/index.html", "/jobs/{job_id}": "jobs/job.html"}


def job_pages(api: API, routes: list[BaseRoute]) -> list[BaseRoute]:
    """The job routes (processing.routes, JSON), answering GET with an HTML page of the same
    document when one is asked for (f=html, or a browser's Accept without f)."""
    return [Route(route.path, _html_page(api, route.endpoint, JOB_PAGES[route.path]),
                  methods=sorted(route.methods or ()), name=route.name)
            if isinstance(route, Route) and route.path in JOB_PAGES else route
            for route in routes]


def _wants_html(request) -> bool:
    """f=html, or no f and an Accept naming HTML."""
    fmt = request.query_params.get("f")
    return fmt == F_HTML if fmt is not None else "text/html" in request.headers.get("accept", "")


def _html_page(api: API, endpoint, template: str):
    """An endpoint answering `endpoint`'s JSON document as the page `template` when asked."""

    async def handle(request):
        response = await endpoint(request)
        if request.method != "GET" or response.status_code != 200 or not _wants_html(request):
            return response
        locale = page_locale(request.query_params.get(l10n.QUERY_PARAM),
                             request.headers.get("accept-language"), api.locales)
        content = await run_in_threadpool(
            render_j2_template, api.tpl_config, api.config["server"]["templates"], template,
            json.loads(response.body), locale)
        return HTMLResponse(content, headers={"Content-Language": l10n.locale2str(locale)})

    handle.__name__ = getattr(endpoint, "__name__", "job_page")
    return handle


def landing_page(api: API, request: APIRequest):
    """pygeoapi's landing page, with the link to the dataset tilesets (/tiles) in JSON."""
    headers, status, content = pygeoapi_landing_page(api, request)
    if status == 200 and str(headers.get("Content-Type", "")).startswith("application/json"):
        document = json.loads(content)
        document.setdefault("links", []).append({
            "rel": TILESETS_VECTOR, "type": "application/json",
            "title": "Vector tiles of every layer (dataset tilesets)",
            "href": f"{api.base_url}/tiles?f=json"})
        content = json.dumps(document, ensure_ascii=False)
    return headers, status, content


def conformance(api: API, request: APIRequest):
    """The conformance classes: pygeoapi's, plus those our own routes implement (Features
    Part 4: create, replace, delete, update by merge patch, If-Match ETags, on features; the
    dataset tilesets of OGC API Tiles; Features Part 3 and CQL2; Processes)."""
    document = {"conformsTo": declared_classes(api)}
    headers = request.get_response_headers(**api.api_headers)
    if request.format == F_HTML:
        content = render_j2_template(api.tpl_config, api.config["server"]["templates"],
                                     "conformance.html", document, request.locale)
        return headers, 200, content
    return headers, 200, to_json(document, api.pretty_print)


def functions(api: API, request: APIRequest):
    """The functions CQL2 filters may call (Features Part 3 /functions), described in the
    request's language (Arabic or English)."""
    lang = "ar" if request.locale.language == "ar" else "en"
    headers = request.get_response_headers(**api.api_headers)
    headers["Content-Type"] = "application/json"
    return headers, 200, to_json(cql_functions.describe(lang), api.pretty_print)


def declared_classes(api: API) -> list[str]:
    """pygeoapi's classes for the configured resources (as pygeoapi.api.conformance lists
    them: our processes are not resources, so none of its Processes classes, callback among
    them) and ours, sorted."""
    apis = all_apis()
    declared = set(CONFORMANCE_CLASSES)
    for resource in api.config["resources"].values():
        for provider in resource.get("providers", []):
            if provider["type"] in apis:
                declared.update(apis[provider["type"]].CONFORMANCE_CLASSES)
            if provider["type"] == "feature":
                declared.update(apis["itemtypes"].CONFORMANCE_CLASSES_FEATURES)
    declared.update(openapi.PART4_CONFORMANCE)
    declared.update(DATASET_TILES_CONFORMANCE)
    declared.update(FILTER_CONFORMANCE)
    declared.update(PROCESSES_CONFORMANCE)
    return sorted(declared)
