"""A short schemathesis run over both OpenAPI documents of a running server: no 5xx, and the
documents describe the responses. `make fuzz` runs the long one (50 examples per operation).

Regression tests for what fuzzing found come first: each answered 500 before.
"""
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.test_cli import ROOT, Server

SHORT_EXAMPLES = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory, database_url, settings, db):
    """`amanat serve` on a free port over the test city, with the sample rasters."""
    from data.rasters import generate_sample_rasters
    from geoserver.raster import raster_store

    tmp = tmp_path_factory.mktemp("fuzz")
    state = settings.model_copy(update={"server": settings.server.model_copy(
        update={"state_dir": tmp / "state"})})
    generate_sample_rasters(database_url, raster_store(state), progress=False)
    running = Server(tmp, database_url, "--no-sample")
    try:
        running.wait()
        yield running
    finally:
        running.stop()
        db.execute("DELETE FROM rasters WHERE source = 'sample'")


def test_process_description_as_html_is_not_a_server_error(server):
    response = httpx.get(f"{server.url}/ogc/processes/parcel-check?f=html", timeout=30)
    assert response.status_code == 200


@pytest.mark.parametrize("body", [b"\x07\xff\xfe", b"[]", b"null"])
def test_execute_body_that_is_not_a_json_object_is_a_400(server, body):
    response = httpx.post(f"{server.url}/ogc/processes/parcel-check/execution", content=body,
                          headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 400
    assert "JSON object" in response.json()["description"]


@pytest.mark.parametrize("path", ["/ogc/collections/parcels/items/%C2%B9",
                                  "/raster/elevation/tiles/WebMercatorQuad/%C2%B9/1/1.png"])
def test_non_ascii_digits_in_a_path_are_not_a_server_error(server, path):
    response = httpx.get(f"{server.url}{path}", timeout=30)
    assert response.status_code == 404


def test_imagery_openapi_lists_both_documents(server):
    document = httpx.get(f"{server.url}/openapi.json", timeout=30).json()
    urls = [entry["url"] for entry in document["x-amanat-documents"]]
    assert urls == [f"{server.url}/openapi.json", f"{server.url}/ogc/openapi?f=json"]
    assert document["externalDocs"]["url"] == f"{server.url}/ogc/openapi?f=json"


def test_conformance_and_tilesets_match_their_documented_schemas(server):
    import jsonschema

    document = httpx.get(f"{server.url}/ogc/openapi?f=json", timeout=30).json()
    schemas = document["components"]["schemas"]
    resolver = {"components": document["components"]}
    tiles = httpx.get(f"{server.url}/ogc/collections/parcels/tiles?f=json", timeout=30).json()
    conformance = httpx.get(f"{server.url}/ogc/conformance?f=json", timeout=30).json()
    for schema, body in ((schemas["tiles"], tiles), (schemas["confClasses"], conformance)):
        jsonschema.validate(body, {**schema, **resolver})


@pytest.mark.slow
@pytest.mark.parametrize("document, base", [("/ogc/openapi?f=json", "/ogc"),
                                            ("/openapi.json", "")])
def test_short_fuzz_finds_no_server_error(server, tmp_path, document, base):
    done = subprocess.run(
        [str(Path(sys.executable).parent / "schemathesis"), "--config-file",
         str(ROOT / "scripts/schemathesis.toml"), "run", server.url + document,
         "--url", server.url + base,
         "--checks", "not_a_server_error,response_schema_conformance",
         "--max-examples", str(SHORT_EXAMPLES), "--phases", "examples,fuzzing",
         "--workers", "2", "--no-shrink", "--no-color", "--seed", "1",
         "--request-timeout", "30"],
        cwd=tmp_path, capture_output=True, text=True, timeout=240,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""})
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]


@pytest.mark.parametrize("query", ["nodata=%F1%82%80%9Eu~", "algorithm=terrainrgb&algorithm_params=null"])
def test_imagery_values_that_are_not_numbers_or_objects_are_a_400(server, query):
    response = httpx.get(f"{server.url}/raster/elevation/WebMercatorQuad/tilejson.json?{query}",
                         timeout=30)
    assert response.status_code == 400


def test_imagery_openapi_validates_as_openapi_3_1(server):
    from openapi_spec_validator import validate

    validate(httpx.get(f"{server.url}/openapi.json", timeout=30).json())
