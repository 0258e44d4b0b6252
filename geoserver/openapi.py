"""A self-contained OpenAPI document: every remote `$ref` replaced by a local component.

pygeoapi's generated document points at schemas.opengis.net and raw.githubusercontent.com for
its parameters, responses and schemas; on an intranet without internet no client generator or
validator can resolve them. Each remote reference is mapped to a local component written here
(faithful to the OGC definitions, trimmed to what clients need), and any remote reference this
table does not know becomes a permissive local component, so the document always resolves.
"""
import copy
import re

REMOTE = re.compile(r"^https?://")

EXCEPTION = {"type": "object", "required": ["code"], "properties": {
    "code": {"type": "string"}, "type": {"type": "string"},
    "description": {"type": "string"}, "title": {"type": "string"},
    "status": {"type": "integer"}, "detail": {"type": "string"}}}
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
