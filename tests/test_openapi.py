"""The API description is a contract: it resolves offline, validates as OpenAPI 3, describes every
route the server has (and no route it has not), and says which credentials each operation needs.
"""
import re

import jsonschema
import pytest
from openapi_spec_validator import validate
from starlette.routing import Mount, Route, Router

from geoserver.openapi import APP_DOCUMENT, OGC_ADDITIONS, load, operations, ref_nodes, remote_refs
from tests.support.accounts import create_licence, licence

DOCUMENTS = {"ogc": "/ogc/openapi?f=json", "app": "/openapi.json"}
PART4 = "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/"
# Routes pygeoapi 0.24's own application registers for capabilities this server does not
# configure; its generated document leaves them out, and our route table (geoserver/routes.py)
# does not serve them at all.
PYGEOAPI_UNDOCUMENTED = {
    r"^/asyncapi$": "no publish-subscribe broker configured (501)",
    r"/(coverage|map)$": "no coverage or map collections (400: invalid provider type)",
    r"/styles/": "no map styles (404)",
    r"/(position|area|cube|radius|trajectory|corridor|locations|instances)(/|$)":
        "no EDR collections (400: invalid provider type)",
    r"^/stac": "no STAC catalogue configured (pygeoapi's empty catalogue)",
}


@pytest.fixture(scope="module")
def documents(client):
    """Both documents as served."""
    return {name: client.get(url).json() for name, url in DOCUMENTS.items()}


# --- resolves offline, validates ----------------------------------------------------------------

@pytest.mark.parametrize("name", DOCUMENTS)
def test_document_has_no_remote_references(documents, name):
    assert remote_refs(documents[name]) == []


@pytest.mark.parametrize("name", DOCUMENTS)
def test_document_validates_as_openapi_3(documents, name):
    validate(documents[name])


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_local_reference_resolves(documents, name):
    document = documents[name]
    for ref in {node["$ref"] for node in ref_nodes(document)}:
        node = document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        assert node is not None, ref


def test_shipped_yaml_documents_are_package_data():
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(APP_DOCUMENT).parents[1] / "pyproject.toml").read_text())
    patterns = project["tool"]["setuptools"]["package-data"]["*"]
    for path in (APP_DOCUMENT, OGC_ADDITIONS):
        assert any(Path(path).match(pattern) for pattern in patterns), path
        assert load(path)["paths"]


def test_items_operation_declares_datetime_for_a_collection_without_time(documents):
    refs = [p.get("$ref", p.get("name")) for p in
            documents["ogc"]["paths"]["/collections/districts/items"]["get"]["parameters"]]
    assert "#/components/parameters/datetime" in refs


def test_openapi_json_lists_both_documents(documents):
    urls = [entry["url"] for entry in documents["app"]["x-amanat-documents"]]
    assert urls == ["http://testserver/openapi.json", "http://testserver/ogc/openapi?f=json"]


# --- every route documented, every documented path a route --------------------------------------

def _pattern(path: str) -> re.Pattern:
    """A Starlette route path (or an OpenAPI path) as a regular expression of request paths."""
    path = re.sub(r"\{[^}/]+:path\}", "\x00", path)
    path = re.sub(r"\{[^}/]+\}", "\x01", path)
    return re.compile("^" + re.escape(path).replace("\x00", ".+").replace("\x01", "[^/]+") + "$")


def _unwrap(app, kind):
    """The application of type `kind` inside middleware that keeps it as `.app`."""
    while not isinstance(app, kind):
        app = app.app
    return app


def _served(app) -> dict[str, list[tuple[str, set[str]]]]:
    """(path, methods) of every route, by the document it belongs in (HEAD left out)."""
    from fastapi import FastAPI
    from fastapi.routing import iter_route_contexts

    from geoserver.imagery import PrefixRoute

    served = {"app": [], "ogc": []}
    for route in app.routes:
        if isinstance(route, Route):
            methods = set(route.methods) - {"HEAD"}
            if route.path.startswith("/ogc/"):
                served["ogc"].append((route.path.removeprefix("/ogc"), methods))
            else:
                served["app"].append((route.path, methods))
        elif isinstance(route, PrefixRoute):
            imagery = _unwrap(route.app, FastAPI)   # its own /openapi.json is not an operation
            served["app"] += [(r.path, set(r.methods) - {"HEAD"})
                              for r in iter_route_contexts(imagery.routes)
                              if r.original_route.include_in_schema]
        elif isinstance(route, Mount) and route.path == "/ogc":
            served["ogc"] += _mounted_routes(_unwrap(route.app, Router).routes)  # behind CORS
    return served


def _mounted_routes(routes, prefix: str = "") -> list[tuple[str, set[str]]]:
    """The routes of a mount (ours and pygeoapi's), mounts flattened, static files left out."""
    found = []
    for route in routes:
        if isinstance(route, Mount) and route.path != "/static":
            found += _mounted_routes(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            found.append((prefix + route.path, set(route.methods) - {"HEAD"}))
    return found


def _documented(document: dict) -> list[tuple[str, str]]:
    """(path, METHOD) of every operation of a document."""
    return [(path, method.upper()) for path, method, _ in operations(document)]


def test_every_route_of_the_application_is_documented(client, documents):
    served = _served(client.app)
    for name in ("app", "ogc"):
        documented = _documented(documents[name])
        for path, methods in served[name]:
            for method in methods:
                assert any(_pattern(path).match(doc_path) and doc_method == method
                           for doc_path, doc_method in documented), (name, method, path)


def test_no_route_serves_a_pygeoapi_capability_that_is_not_configured(client):
    served = _served(client.app)["ogc"]
    assert len(served) > 20
    for path, _ in served:
        assert not any(re.search(pattern, path) for pattern in PYGEOAPI_UNDOCUMENTED), path


def test_every_documented_operation_is_served(client, documents):
    served = _served(client.app)
    routes = {"app": served["app"], "ogc": served["ogc"]}
    for name, document in documents.items():
        for path, method in _documented(document):
            concrete = re.sub(r"\{[^}]+\}", "1", path)
            found = any(_pattern(route).match(concrete) and method in methods
                        for route, methods in routes[name])
            assert found, (name, method, path)


# --- security as geoserver.auth.POLICY applies it -----------------------------------------------

@pytest.mark.parametrize("name, path, method, roles", [
    ("app", "/audit", "get", ["admin"]),
    ("ogc", "/processes/batch-compliance/execution", "post", ["admin", "analyst"]),
    ("ogc", "/jobs/{jobId}", "delete", ["admin", "analyst"]),
    ("ogc", "/collections/licenses/items/{featureId}", "put", ["admin", "office"]),
    ("ogc", "/collections/inspections/items/{featureId}", "delete", ["admin", "inspector"]),
    ("ogc", "/collections/inspections/items/{featureId}/photos/{position}", "get",
     ["admin", "inspector", "office"]),    # staff roles (issue 18)
    ("app", "/field/api/licences", "get", ["admin", "inspector", "office"]),
    ("app", "/field/api/assignments", "post", ["admin", "office"]),
])
def test_operations_that_need_a_role_require_credentials(documents, name, path, method, roles):
    operation = documents[name]["paths"][path][method]
    assert operation["security"] == [{"bearerAuth": []}, {"apiKey": []}]
    assert operation["x-amanat-roles"] == roles
    assert {"401", "403"} <= set(operation["responses"])


@pytest.mark.parametrize("name, path, method", [
    ("app", "/search", "get"), ("app", "/auth/token", "post"),
    ("app", "/certificates/verify", "post"), ("ogc", "/collections/parcels/items", "get"),
    ("ogc", "/processes/parcel-check/execution", "post"),
])
def test_open_operations_take_credentials_optionally(documents, name, path, method):
    operation = documents[name]["paths"][path][method]
    assert {} in operation["security"] and "x-amanat-roles" not in operation
    assert "401" in operation["responses"]   # credentials sent but not valid


def test_security_schemes_are_bearer_jwt_and_api_key(documents):
    for document in documents.values():
        schemes = document["components"]["securitySchemes"]
        assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http",
                                         "scheme": "bearer", "bearerFormat": "JWT"}
        assert schemes["apiKey"]["in"] == "header" and schemes["apiKey"]["name"] == "X-API-Key"


def test_sign_in_is_described_with_its_failures(documents):
    operation = documents["app"]["paths"]["/auth/token"]["post"]
    assert set(operation["requestBody"]["content"]) == {"application/json",
                                                        "application/x-www-form-urlencoded"}
    assert {"200", "400", "401", "429"} <= set(operation["responses"])
    assert documents["app"]["paths"]["/auth/me"]["get"]["security"] == [{"bearerAuth": []},
                                                                        {"apiKey": []}]


# --- OGC API Features Part 4 ----------------------------------------------------------------------

def test_conformance_declares_the_part4_classes_implemented(client):
    classes = set(client.get("/ogc/conformance?f=json").json()["conformsTo"])
    for name in ("create-replace-delete", "update", "optimistic-locking-etags", "features"):
        assert PART4 + name in classes


@pytest.mark.parametrize("collection", ["licenses", "inspections"])
def test_part4_operations_are_described(documents, collection):
    paths = documents["ogc"]["paths"]
    create = paths[f"/collections/{collection}/items"]["post"]
    assert {"application/geo+json", "application/json",
            "application/query-cql-json"} <= set(create["requestBody"]["content"])
    assert {"201", "400", "401", "403", "409", "413", "415"} <= set(create["responses"])
    item = paths[f"/collections/{collection}/items/{{featureId}}"]
    assert {"get", "put", "patch", "delete"} <= set(item)
    assert {"200", "404", "412", "428"} <= set(item["put"]["responses"])
    assert "application/merge-patch+json" in item["patch"]["requestBody"]["content"]
    assert "204" in item["delete"]["responses"]


def test_only_inspections_take_photos_in_a_multipart_creation(documents):
    paths = documents["ogc"]["paths"]
    assert "multipart/form-data" in paths["/collections/inspections/items"]["post"][
        "requestBody"]["content"]
    assert "multipart/form-data" not in paths["/collections/licenses/items"]["post"][
        "requestBody"]["content"]


def test_cql2_queries_of_read_only_collections_use_the_query_media_type(documents):
    content = documents["ogc"]["paths"]["/collections/parcels/items"]["post"]["requestBody"][
        "content"]
    assert set(content) == {"application/query-cql-json"}


def _schema(document: dict, name: str) -> dict:
    """A component schema that can be checked with jsonschema (nullable as JSON Schema)."""
    schema = document["components"]["schemas"][name]

    def plain(node):
        if isinstance(node, dict):
            node = {key: plain(value) for key, value in node.items()}
            if node.pop("nullable", False) and "type" in node:
                node["type"] = [node["type"], "null"]
            node.pop("readOnly", None)
            return node
        return [plain(value) for value in node] if isinstance(node, list) else node

    return plain(schema)


def test_a_licence_the_server_accepts_matches_the_documented_schema(client, documents, auth,
                                                                    db):
    body = licence(db)
    jsonschema.validate(body, _schema(documents["ogc"], "licensesFeature"))
    assert client.post("/ogc/collections/licenses/items", json=body,
                       headers=auth["office"]).status_code == 201


def test_the_documented_schema_refuses_what_the_server_refuses(documents, db):
    schema = _schema(documents["ogc"], "licensesFeature")
    for change in ({"holder_phone": "12345"}, {"colour": "red"}, {"shop_area_m2": 0}):
        body = licence(db)
        body["properties"].update(change)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(body, schema)


def test_optimistic_locking_with_etags_as_the_conformance_test_checks(client, auth, db):
    """/conf/optimistic-locking-etags: GET gives an ETag; a stale If-Match is 412 and changes
    nothing, the current one succeeds with a new ETag, none at all is 428."""
    fid, _, path = create_licence(client, auth, db)
    office = auth["office"]
    tag = client.get(path, headers=office).headers["etag"]
    merge = {**office, "Content-Type": "application/merge-patch+json"}
    patch = b'{"properties": {"trade_name_en": "Locked Grocery"}}'
    assert client.patch(path, content=patch, headers={**merge, "If-Match": '"0"'}
                        ).status_code == 412
    assert client.get(path, headers=office).headers["etag"] == tag
    changed = client.patch(path, content=patch, headers={**merge, "If-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    assert client.patch(path, content=patch, headers=merge).status_code == 428
    replace = client.put(path, json=licence(db), headers={**office, "If-Match": tag})
    assert replace.status_code == 412
    assert client.delete(path, headers={**auth["admin"], "If-Match": '"0"'}).status_code == 412
    assert client.delete(path, headers=auth["admin"]).status_code == 428
    assert client.delete(path, headers={**auth["admin"], "If-Match": changed.headers["etag"]}
                         ).status_code == 204
    assert client.get(path, headers=office).status_code == 404
    assert fid
