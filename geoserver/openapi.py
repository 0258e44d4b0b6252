"""A self-contained OpenAPI document: every remote `$ref` replaced by a local component.

pygeoapi's generated document points at schemas.opengis.net and raw.githubusercontent.com for
its parameters, responses and schemas; on an intranet without internet no client generator or
validator can resolve them. Each remote reference is mapped to a local component written here
(faithful to the OGC definitions, trimmed to what clients need), and any remote reference this
table does not know becomes a permissive local component, so the document always resolves.

It also completes both documents with what is served outside pygeoapi and FastAPI: the routes of
the application itself (app_openapi.yml, merged into /openapi.json), the routes in front of
pygeoapi and the Part 4 writes (ogc_openapi.yml, with request schemas generated from
layers.feature_rules.SPECS), and on every operation the security geoserver.auth.POLICY applies.
"""
import copy
import re
from pathlib import Path

import yaml

from geoserver.auth import required_roles
from layers.feature_rules import SPECS

REMOTE = re.compile(r"^https?://")
HERE = Path(__file__).parent
APP_DOCUMENT = HERE / "app_openapi.yml"      # the application's own routes (/openapi.json)
OGC_ADDITIONS = HERE / "ogc_openapi.yml"     # routes served in front of pygeoapi (/ogc)
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

EXCEPTION = {"type": "object", "required": ["code"], "properties": {
    "code": {"type": "string"}, "type": {"type": "string"},
    "description": {"type": "string"}, "title": {"type": "string"},
    "status": {"type": "integer"}, "detail": {"type": "string"},
    "descriptions": {"type": "object", "description": "the message in Arabic and English "
                     "(`description` is the one of the chosen language: lang, else "
                     "Accept-Language, else Arabic)",
                     "properties": {"ar": {"type": "string"}, "en": {"type": "string"}}}}}
LINK = {"type": "object", "required": ["href"], "properties": {
    "href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"},
    "hreflang": {"type": "string"}, "title": {"type": "string"}, "length": {"type": "integer"},
    "templated": {"type": "boolean"}}}
LINKS = {"type": "array", "items": {"$ref": "#/components/schemas/link"}}
GEOMETRY = {"type": "object", "nullable": True, "required": ["type"],
            "properties": {"type": {"type": "string"}, "coordinates": {"type": "array"},
                           "geometries": {"type": "array"}}}
FEATURE = {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
    "type": {"type": "string", "enum": ["Feature"]},
    "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
    "geometry": {"$ref": "#/components/schemas/geometryGeoJSON"},
    "properties": {"type": "object", "nullable": True},
    "links": LINKS}}
FEATURES = {"type": "object", "required": ["type", "features"], "properties": {
    "type": {"type": "string", "enum": ["FeatureCollection"]},
    "features": {"type": "array", "items": {"$ref": "#/components/schemas/featureGeoJSON"}},
    "links": LINKS, "timeStamp": {"type": "string", "format": "date-time"},
    "numberMatched": {"type": "integer", "minimum": 0},
    "numberReturned": {"type": "integer", "minimum": 0}}}
LANDING = {"type": "object", "required": ["links"], "properties": {
    "title": {"type": "string"}, "description": {"type": "string"}, "links": LINKS}}
COLLECTION = {"type": "object", "required": ["id", "links"], "properties": {
    "id": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"},
    "links": LINKS, "extent": {"type": "object"}, "itemType": {"type": "string"},
    "crs": {"type": "array", "items": {"type": "string"}}, "storageCrs": {"type": "string"}}}
JOB = {"type": "object", "required": ["jobID", "status"], "properties": {
    "jobID": {"type": "string"}, "processID": {"type": "string"},
    "status": {"type": "string", "enum": ["accepted", "running", "successful", "failed",
                                          "dismissed"]},
    "message": {"type": "string"}, "progress": {"type": "integer", "minimum": 0, "maximum": 100},
    "type": {"type": "string", "enum": ["process"]},
    **{moment: {"type": "string", "format": "date-time", "nullable": True}
       for moment in ("created", "started", "finished", "updated")},
    "links": LINKS}}


def _json(description: str, schema: dict, media: str = "application/json") -> dict:
    """A response object with one media type."""
    return {"description": description, "content": {media: {"schema": schema}}}


def _error(description: str) -> dict:
    """An OGC exception response."""
    return _json(description, {"$ref": "#/components/schemas/exception"})


def _path(name: str, description: str, schema: dict | None = None) -> dict:
    """A required path parameter."""
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": schema or {"type": "string"}}


TILESETS = {"type": "object", "required": ["tilesets", "links"], "properties": {
    "links": LINKS, "tilesets": {"type": "array", "items": {
        "type": "object", "required": ["crs", "dataType", "links"], "properties": {
            "title": {"type": "string"}, "tileMatrixSetURI": {"type": "string"},
            "crs": {"type": "string"}, "dataType": {"type": "string",
                                                     "enum": ["map", "vector", "coverage"]},
            "links": LINKS}}}}}
CONFORMANCE = {"type": "object", "required": ["conformsTo"], "properties": {
    "conformsTo": {"type": "array", "items": {"type": "string"}}}}

SCHEMAS = {"exception": EXCEPTION, "link": LINK, "geometryGeoJSON": GEOMETRY,
           "featureGeoJSON": FEATURE, "featureCollectionGeoJSON": FEATURES,
           "landingPage": LANDING, "collection": COLLECTION, "statusInfo": JOB}

# Remote reference (without the host) → (component section, local name, definition)
KNOWN = {
    "features/part1/1.0/openapi/ogcapi-features-1.yaml#/components/responses/InvalidParameter":
        ("responses", "InvalidParameter", _error("A query parameter has an invalid value.")),
    "features/part1/1.0/openapi/ogcapi-features-1.yaml#/components/responses/ServerError":
        ("responses", "ServerError", _error("A server error occurred.")),
    "features/part1/1.0/openapi/ogcapi-features-1.yaml#/components/responses/NotFound":
        ("responses", "NotFound", _error("The requested resource does not exist.")),
    "features/part1/1.0/openapi/ogcapi-features-1.yaml#/components/responses/Features":
        ("responses", "Features", _json("The features of the collection.",
                                        {"$ref": "#/components/schemas/featureCollectionGeoJSON"},
                                        "application/geo+json")),
    "features/part1/1.0/openapi/ogcapi-features-1.yaml#/components/responses/Feature":
        ("responses", "Feature", _json("One feature.", {"$ref": "#/components/schemas/featureGeoJSON"},
                                       "application/geo+json")),
    "features/part1/1.0/openapi/ogcapi-features-1.yaml#/components/responses/Collection":
        ("responses", "Collection", _json("A feature collection's description.",
                                          {"$ref": "#/components/schemas/collection"})),
    "features/part1/1.0/openapi/ogcapi-features-1.yaml#/components/responses/LandingPage":
        ("responses", "LandingPage", _json("The landing page.",
                                           {"$ref": "#/components/schemas/landingPage"})),
    "features/part1/1.0/openapi/ogcapi-features-1.yaml#/components/parameters/featureId":
        ("parameters", "featureId", _path("featureId", "Identifier of a feature.")),
    "features/part1/1.0/openapi/ogcapi-features-1.yaml#/components/parameters/datetime":
        ("parameters", "datetime", {
            "name": "datetime", "in": "query", "required": False, "style": "form",
            "explode": False, "schema": {"type": "string"},
            "description": "An RFC 3339 date-time or interval (`start/end`, `..` open)."}),
    "cql2/1.0/cql2.json": ("schemas", "cql2", {"type": "object",
                                              "description": "A CQL2 JSON expression."}),
    "ogcapi-records/master/core/openapi/parameters/sortby.yaml": ("parameters", "sortby", {
        "name": "sortby", "in": "query", "required": False, "style": "form", "explode": False,
        "description": "Comma-separated properties, `-` prefix for descending.",
        "schema": {"type": "array", "minItems": 1,
                   "items": {"type": "string", "pattern": "[+|-]?[A-Za-z_].*"}}}),
    "tiles/part1/1.0/openapi/ogcapi-tiles-1.yaml#/components/parameters/tileRow":
        ("parameters", "tileRow", _path("tileRow", "Row of the tile.", {"type": "integer",
                                                                        "minimum": 0})),
    "tiles/part1/1.0/openapi/ogcapi-tiles-1.yaml#/components/parameters/tileCol":
        ("parameters", "tileCol", _path("tileCol", "Column of the tile.", {"type": "integer",
                                                                           "minimum": 0})),
    "tiles/part1/1.0/openapi/ogcapi-tiles-1.yaml#/components/parameters/tileMatrix":
        ("parameters", "tileMatrix", _path("tileMatrix", "Zoom level (tile matrix id).")),
    "tiles/part1/1.0/openapi/ogcapi-tiles-1.yaml#/components/parameters/tileMatrixSetId":
        ("parameters", "tileMatrixSetId", _path("tileMatrixSetId", "Tile matrix set.", {
            "type": "string", "enum": ["WebMercatorQuad", "WorldCRS84Quad"]})),
    "tiles/part1/1.0/openapi/ogcapi-tiles-1.yaml#/components/schemas/link":
        ("schemas", "link", LINK),
    "processes/part1/1.0/openapi/responses/NotFound.yaml":
        ("responses", "NotFound", _error("The requested resource does not exist.")),
    "processes/part1/1.0/openapi/responses/ServerError.yaml":
        ("responses", "ServerError", _error("A server error occurred.")),
    "processes/part1/1.0/openapi/responses/ExecuteAsync.yaml":
        ("responses", "ExecuteAsync", {"description": "Started asynchronous execution.",
                                       "headers": {"Location": {"schema": {"type": "string"}}},
                                       "content": {"application/json": {
                                           "schema": {"$ref": "#/components/schemas/statusInfo"}}}}),
    "processes/part1/1.0/openapi/responses/ProcessList.yaml":
        ("responses", "ProcessList", _json("The processes offered.", {
            "type": "object", "required": ["processes", "links"],
            "properties": {"processes": {"type": "array", "items": {"type": "object"}},
                           "links": LINKS}})),
    "processes/part1/1.0/openapi/schemas/execute.yaml":
        ("schemas", "execute", {"type": "object", "properties": {
            "inputs": {"type": "object"}, "outputs": {"type": "object"},
            "response": {"type": "string", "enum": ["raw", "document"]}}}),
    "processes/part1/1.0/openapi/schemas/exception.yaml": ("schemas", "exception", EXCEPTION),
}


def _key(url: str) -> str:
    """A remote reference without scheme and host (and the 'ogcapi/' folder of OGC's site)."""
    rest = REMOTE.sub("", url).split("/", 1)[1]
    return rest.removeprefix("ogcapi/").removeprefix("opengeospatial/")


def _fallback(url: str, used: set[str]) -> tuple[str, str, dict]:
    """A permissive local component for a remote reference no table entry knows."""
    pointer = url.split("#", 1)[1] if "#" in url else ""
    section = next((s for s in ("responses", "parameters", "schemas") if f"/{s}/" in pointer
                    or f"/{s}/" in url), "schemas")
    stem = re.sub(r"\W", "_", url.rsplit("/", 1)[-1].split(".")[0]) or "remote"
    name = stem
    while name in used:
        name += "_"
    definition = {"description": f"See {url}"} if section == "responses" else {}
    return section, name, definition


def bundle(document: dict) -> dict:
    """The document with every remote $ref replaced by a local one (a new dict)."""
    doc = copy.deepcopy(document)
    components = doc.setdefault("components", {})
    for name, schema in SCHEMAS.items():
        components.setdefault("schemas", {}).setdefault(name, schema)
    components.setdefault("parameters", {}).setdefault(
        "datetime", KNOWN["features/part1/1.0/openapi/ogcapi-features-1.yaml"
                          "#/components/parameters/datetime"][2])
    _correct_pygeoapi(doc, components)
    used: set[str] = set()

    def local(url: str) -> str:
        section, name, definition = KNOWN.get(_key(url)) or _fallback(url, used)
        components.setdefault(section, {}).setdefault(name, definition)
        used.add(name)
        return f"#/components/{section}/{name}"

    for node in ref_nodes(doc):
        if REMOTE.match(node["$ref"]):
            node["$ref"] = local(node["$ref"])
    return doc


def ref_nodes(node):
    """Every object in a document that holds a `$ref` string (depth first)."""
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node
        for value in node.values():
            yield from ref_nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from ref_nodes(value)


def _correct_pygeoapi(doc: dict, components: dict) -> None:
    """Local definitions pygeoapi gets wrong (found by schemathesis response checks): a tiles
    list is `tilesets` (OGC API Tiles 1.0), not `tileMatrixSetLinks`; the conformance
    declaration is not a landing page."""
    components.setdefault("schemas", {})["tiles"] = TILESETS
    components["schemas"]["confClasses"] = CONFORMANCE
    components.setdefault("responses", {})["ConformanceDeclaration"] = _json(
        "The conformance classes this API implements.",
        {"$ref": "#/components/schemas/confClasses"})
    get = doc.get("paths", {}).get("/conformance", {}).get("get", {})
    if "200" in get.get("responses", {}):
        get["responses"]["200"] = {"$ref": "#/components/responses/ConformanceDeclaration"}


def plain_tuples(document: dict) -> dict:
    """Tuple schemas as plain arrays of fixed length (of one member schema, or any of them).

    FastAPI writes TiTiler's band descriptions (pairs of strings) as tuples (`prefixItems`, or
    `items: [..]`); schemathesis refuses both forms in a response schema. An array of the
    member schema(s) with minItems = maxItems says nearly the same."""

    def walk(node):
        if isinstance(node, dict):
            members = node.get("prefixItems", node.get("items"))
            if isinstance(members, list) and members:
                node.pop("prefixItems", None)
                alike = all(m == members[0] for m in members)
                node["items"] = members[0] if alike else {"anyOf": members}
                node["minItems"] = node["maxItems"] = len(members)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    return document


def remote_refs(document) -> list[str]:
    """Every $ref that points outside the document (for tests)."""
    return [node["$ref"] for node in ref_nodes(document) if not node["$ref"].startswith("#")]


# --- the routes served outside pygeoapi and FastAPI --------------------------------------------

BEARER = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
          "description": "A token of the local issuer (`amanat users add`, POST /auth/token) "
                         "or of the OpenID Connect provider: `Authorization: Bearer <token>`."}
API_KEY = {"type": "apiKey", "in": "header", "name": "X-API-Key",
           "description": "An API key (`amanat keys add`); ignored when an Authorization "
                          "header is sent."}
SIGNED_IN = [{"bearerAuth": []}, {"apiKey": []}]
ANYONE = [{}, *SIGNED_IN]


def load(path: Path) -> dict:
    """A YAML document shipped with the package."""
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def operations(document: dict):
    """(path, method, operation) of every operation of a document."""
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            if isinstance(item.get(method), dict):
                yield path, method, item[method]


def merge(document: dict, extra: dict) -> dict:
    """`document` with the paths (whole path items) and components of `extra`; a component
    name both define differently is an error, so neither silently hides the other."""
    document.setdefault("paths", {}).update(copy.deepcopy(extra.get("paths", {})))
    components = document.setdefault("components", {})
    for section, entries in extra.get("components", {}).items():
        present = components.setdefault(section, {})
        for name, definition in entries.items():
            if name in present and present[name] != definition:
                raise ValueError(f"OpenAPI component {section}/{name} is defined twice")
            present[name] = copy.deepcopy(definition)
    return document


def _ref(section: str, name: str) -> dict:
    """A local reference."""
    return {"$ref": f"#/components/{section}/{name}"}


def _roles(method: str, path: str, operation: dict) -> tuple[frozenset[str], bool]:
    """The roles POLICY asks of an operation (of any of its media types), and whether one of
    its media types needs none (a POST of a CQL2-JSON query to the items is a read)."""

    media = list(operation.get("requestBody", {}).get("content", {})) or [""]
    needed = [required_roles(method.upper(), path, kind) for kind in media]
    return frozenset().union(*needed), not all(needed)


def secure(document: dict, prefix: str, exception: dict) -> dict:
    """Security schemes, and on every operation what geoserver.auth.POLICY requires (unless
    the operation says so itself), 401 (credentials that are not valid are refused on every
    route) and, where a role is needed, 403. `prefix` is where the document's paths are
    mounted, `exception` the schema of its error documents."""
    components = document.setdefault("components", {})
    schemes = components.setdefault("securitySchemes", {})
    schemes.setdefault("bearerAuth", BEARER)
    schemes.setdefault("apiKey", API_KEY)
    responses = components.setdefault("responses", {})
    error = {"content": {"application/json": {"schema": exception}},
             "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}}}
    responses.setdefault("Unauthorized", {**error, "description": (
        "Credentials are needed and none were sent, or the credentials sent are not valid "
        "(on any route).")})
    responses.setdefault("Forbidden", {**error, "description": "Signed in, but without a "
                                                               "role this needs."})
    for path, method, operation in operations(document):
        roles, open_too = _roles(method, prefix + path, operation)
        operation.setdefault("security", ANYONE if open_too or not roles else SIGNED_IN)
        answers = operation.setdefault("responses", {})
        answers.setdefault("401", _ref("responses", "Unauthorized"))
        if roles:
            operation["x-amanat-roles"] = sorted(roles)
            answers.setdefault("403", _ref("responses", "Forbidden"))
    return document


def validation_as_400(document: dict) -> dict:
    """FastAPI documents 422 for parameters that do not validate; the imagery application
    answers those with 400 (geoserver.imagery._validation_error)."""
    for _, _, operation in operations(document):
        answers = operation.get("responses", {})
        if answers.pop("422", None) is not None:
            answers.setdefault("400", _ref("responses", "BadRequest"))
    return document


def nullable_statistics(document: dict) -> dict:
    """The statistics of a window without one valid pixel (all nodata, or an algorithm's empty
    output) are null, which TiTiler documents as numbers (found by schemathesis response
    checks)."""
    statistics = document.get("components", {}).get("schemas", {}).get("BandStatistics", {})
    for name in ("min", "max", "mean", "std", "median", "majority", "minority"):
        value = statistics.get("properties", {}).get(name)
        if value and value.get("type") == "number":
            value["type"] = ["number", "null"]
    return document


def application_document(generated: dict, own: dict) -> dict:
    """/openapi.json: FastAPI's document of the imagery routes with the application's own
    routes (`own`, app_openapi.yml) merged in and the security of every route."""
    document = merge(plain_tuples(copy.deepcopy(generated)), own)
    document["info"] = {**document.get("info", {}), **own.get("info", {})}
    validation_as_400(document)
    nullable_statistics(document)
    return secure(document, "", _ref("schemas", "ExceptionReport"))


# --- OGC API: Part 4 writes and the routes in front of pygeoapi ---------------------------------

KINDS = {"text": {"type": "string"}, "integer": {"type": "integer"},
         "number": {"type": "number"}, "date": {"type": "string", "format": "date"},
         "datetime": {"type": "string", "format": "date-time"}}
POINT = {"type": "object", "required": ["type", "coordinates"], "properties": {
    "type": {"type": "string", "enum": ["Point"]},
    "coordinates": {"type": "array", "minItems": 2, "maxItems": 3,
                    "description": "[longitude, latitude] (CRS84)",
                    "items": {"type": "number", "minimum": -180, "maximum": 180}}}}
FEATURE_MEDIA = ("application/geo+json", "application/json")
PATCH_MEDIA = "application/merge-patch+json"
QUERY_MEDIA = "application/query-cql-json"
PART4 = "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/"
PART4_CONFORMANCE = tuple(PART4 + name for name in (
    "create-replace-delete", "update", "optimistic-locking-etags", "features"))


def property_schema(field) -> dict:
    """The JSON schema of one writable property (layers.feature_rules.Field)."""
    schema = dict(KINDS[field.kind])
    if field.kind == "text":
        schema["maxLength"] = field.max_length
        if field.required:
            schema["minLength"] = 1
        if field.pattern is not None:
            schema["pattern"] = field.pattern.pattern
        if field.choices:
            schema["enum"] = list(field.choices)
    if field.minimum is not None:
        schema["minimum"] = field.minimum
    if field.maximum is not None:
        schema["maximum"] = field.maximum
    return schema


def feature_schemas(spec) -> tuple[dict, dict]:
    """(Feature to create or replace, merge patch) schemas of an editable collection."""
    names = {name: property_schema(field) for name, field in spec.fields.items()}
    ignored = {name: {"readOnly": True, "description": "set by the server; ignored"}
               for name in sorted(spec.read_only)}
    required = [name for name, field in spec.fields.items()
                if field.required and not spec.defaulted(name, None)]
    properties = {"type": "object", "nullable": True, "additionalProperties": False,
                  "properties": {**names, **ignored}}
    if required:
        properties["required"] = required
    feature = {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
        "type": {"type": "string", "enum": ["Feature"]}, "id": {"readOnly": True},
        "geometry": POINT, "properties": properties}}
    patched = {name: {**schema, "nullable": True} for name, schema in names.items()}
    patch = {"type": "object", "description": "A JSON merge patch (RFC 7396) of the Feature: "
             "members given replace, null removes an optional property.", "properties": {
                 "geometry": POINT, "properties": {
                     "type": "object", "additionalProperties": False,
                     "properties": {**patched, **ignored}}}}
    return feature, patch


def _filled(template: dict, collection: str) -> dict:
    """An operation template of ogc_openapi.yml for one collection."""
    text = yaml.safe_dump(template, allow_unicode=True)
    operation = yaml.safe_load(text.replace("{collection}", collection))
    operation["tags"] = [collection]
    return operation


def _json_body(schema_name: str, media) -> dict:
    """A required request body of one schema in some media types."""
    return {"required": True, "content": {kind: {"schema": _ref("schemas", schema_name)}
                                          for kind in media}}


def _multipart(collection: str, max_photos: int) -> dict:
    """The multipart form of an inspection with photos."""
    return {"schema": {"type": "object", "required": ["feature"], "properties": {
        "feature": {"type": "string", "description": f"The {collection} Feature as GeoJSON text."},
        "photo": {"type": "array", "maxItems": max_photos, "description": "JPEG, PNG or WebP.",
                  "items": {"type": "string", "format": "binary"}}}},
        "encoding": {"feature": {"contentType": ", ".join(FEATURE_MEDIA)},
                     "photo": {"contentType": "image/jpeg, image/png, image/webp"}}}


def add_editing(document: dict, templates: dict, specs: dict, max_photos: int) -> None:
    """POST on the items and PUT, PATCH, DELETE on each item of the editable collections."""
    schemas = document["components"]["schemas"]
    for collection, spec in specs.items():
        items = document["paths"].get(f"/collections/{collection}/items")
        item = document["paths"].get(f"/collections/{collection}/items/{{featureId}}")
        if items is None or item is None:
            continue
        schemas[f"{collection}Feature"], schemas[f"{collection}Patch"] = feature_schemas(spec)
        create = _filled(templates["create"], collection)
        create["operationId"] = f"create{collection.title()}Feature"
        create["requestBody"] = _json_body(f"{collection}Feature", FEATURE_MEDIA)
        create["requestBody"]["content"][QUERY_MEDIA] = {"schema": _ref("schemas", "cql2")}
        if collection == "inspections":          # photos come with an inspection
            create["requestBody"]["content"]["multipart/form-data"] = _multipart(collection,
                                                                                 max_photos)
        if not spec.idempotent:                  # the parameters: Idempotency-Key
            create.pop("parameters")
        items["post"] = create
        for action, method, body in (("replace", "put", _json_body(f"{collection}Feature",
                                                                   FEATURE_MEDIA)),
                                     ("update", "patch", _json_body(f"{collection}Patch", (
                                         PATCH_MEDIA, *FEATURE_MEDIA))),
                                     ("delete", "delete", None)):
            operation = _filled(templates[action], collection)
            operation["operationId"] = f"{action}{collection.title()}Feature"
            if body:
                operation["requestBody"] = body
            item[method] = operation
        get = item.get("get")
        if get:
            get.setdefault("responses", {})["304"] = {
                "description": "Not modified (If-None-Match names the current ETag; signed-in "
                               "callers, who get the ETag)."}


def add_tilesets(document: dict, template: dict) -> None:
    """/collections/{id}/tiles/{tileMatrixSetId} (and its /metadata alias) of every tiled
    collection."""
    tiled = [p for p in document.get("paths", {}) if re.fullmatch(r"/collections/[^/]+/tiles", p)]
    for path in tiled:
        collection = path.split("/")[2]
        for suffix, name in (("", "Tileset"), ("/metadata", "TilesetMetadata")):
            operation = _filled(template, collection)
            operation["operationId"] = f"get{collection.title()}{name}"
            document["paths"][f"{path}/{{tileMatrixSetId}}{suffix}"] = {"get": operation}


def cql2_queries(document: dict) -> None:
    """pygeoapi documents its CQL2-JSON item queries as application/json; a POST of
    application/json to the items is a creation here (Part 4), the query media type is
    application/query-cql-json."""
    for path, item in document.get("paths", {}).items():
        post = item.get("post") if path.endswith("/items") else None
        content = (post or {}).get("requestBody", {}).get("content", {})
        if "application/json" in content and set(content) == {"application/json"}:
            content[QUERY_MEDIA] = content.pop("application/json")


def ogc_routes(document: dict, max_photos: int) -> dict:
    """The OGC API document completed with the routes served in front of pygeoapi, the Part 4
    writes and the security of every operation (after `bundle`: it uses its components)."""

    additions = load(OGC_ADDITIONS)
    templates = additions.pop("x-editing")
    add_tilesets(document, additions.pop("x-tileset"))
    cql2_queries(document)
    document["paths"] = {path: item for path, item in document.get("paths", {}).items()
                         if not path.startswith("/jobs")}   # pygeoapi's own job manager
    merge(document, additions)
    add_editing(document, templates, SPECS, max_photos)
    return secure(document, "/ogc", _ref("schemas", "exception"))
