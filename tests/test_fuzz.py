"""A short schemathesis run over both OpenAPI documents of a running server: no 5xx, and the
documents describe the responses; without credentials and as an administrator, so the writes
(Part 4, batch jobs, the audit trail) are fuzzed too. `make fuzz` runs the long one (50
examples per operation, scripts/fuzz.sh).

The server runs on a scratch database of its own (a copy of the test city, dropped afterwards):
the administrator pass writes, and the other test modules count rows of the test database.

Regression tests for what fuzzing found come first: each answered 500 before.
"""
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.databases import SAMPLE_PARCELS, SAMPLE_SEED, scratch_database
from tests.support.server import ROOT, Server

SHORT_EXAMPLES = 3
HOOKS = ROOT / "scripts/schemathesis_hooks.py"


@pytest.fixture(scope="module")
def fuzz_database(database_url):
    """A scratch database with the test city (the administrator pass writes to it)."""
    from data.load import load_sample_city
    from layers import migrate

    with scratch_database(database_url) as url:
        migrate.upgrade(url)
        load_sample_city(url, parcels=SAMPLE_PARCELS, seed=SAMPLE_SEED, progress=False)
        yield url


@pytest.fixture(scope="module")
def server(tmp_path_factory, fuzz_database, settings):
    """`amanat serve` on a free port over the scratch city, with the sample rasters, and the
    bearer token of an administrator of it (`token`)."""
    from data.rasters import generate_sample_rasters
    from geoserver.cli_auth import add_user_with_token
    from layers.rasters import raster_store
    from geoserver.settings import DatabaseSettings

    tmp = tmp_path_factory.mktemp("fuzz")
    state = settings.model_copy(update={
        "server": settings.server.model_copy(update={"state_dir": tmp / "state"}),
        "database": DatabaseSettings(DATABASE_URL=fuzz_database)})
    generate_sample_rasters(fuzz_database, raster_store(state), progress=False)
    token = add_user_with_token(state, "fuzz-admin", "admin", None)   # makes the issuer key
    running = Server(tmp, fuzz_database, "--no-sample")
    running.token = token
    try:
        running.wait()
        yield running
    finally:
        running.stop()


def test_process_description_as_html_is_not_a_server_error(server):
    response = httpx.get(f"{server.url}/ogc/processes/parcel-check?f=html", timeout=30)
    assert response.status_code == 200


@pytest.mark.parametrize("body", [b"\x07\xff\xfe", b"[]", b"null"])
def test_execute_body_that_is_not_a_json_object_is_a_400(server, body):
    response = httpx.post(f"{server.url}/ogc/processes/parcel-check/execution", content=body,
                          headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 400
    assert "JSON object" in response.json()["descriptions"]["en"]


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
    assert {"/search", "/healthz", "/auth/token", "/audit"} <= set(document["paths"])


def test_conformance_and_tilesets_match_their_documented_schemas(server):
    import jsonschema

    document = httpx.get(f"{server.url}/ogc/openapi?f=json", timeout=30).json()
    schemas = document["components"]["schemas"]
    resolver = {"components": document["components"]}
    tiles = httpx.get(f"{server.url}/ogc/collections/parcels/tiles?f=json", timeout=30).json()
    conformance = httpx.get(f"{server.url}/ogc/conformance?f=json", timeout=30).json()
    for schema, body in ((schemas["tiles"], tiles), (schemas["confClasses"], conformance)):
        jsonschema.validate(body, {**schema, **resolver})


def _schemathesis(server, tmp_path, document: str, base: str, *args: str,
                  phases: str = "examples,fuzzing"):
    """A short schemathesis run (the settings of scripts/fuzz.sh, fewer examples)."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "schemathesis"), "--config-file",
         str(ROOT / "scripts/schemathesis.toml"), "run", server.url + document,
         "--url", server.url + base,
         "--checks", "not_a_server_error,response_schema_conformance",
         "--max-examples", str(SHORT_EXAMPLES), "--phases", phases,
         "--workers", "2", "--no-shrink", "--no-color", "--seed", "1",
         "--request-timeout", "30", *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=240,
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)})


@pytest.mark.slow
@pytest.mark.parametrize("who", ["anonymous", "admin"])
@pytest.mark.parametrize("document, base", [("/ogc/openapi?f=json", "/ogc"),
                                            ("/openapi.json", "")])
def test_short_fuzz_finds_no_server_error(server, tmp_path, document, base, who):
    args = ("-H", f"Authorization: Bearer {server.token}") if who == "admin" else ()
    done = _schemathesis(server, tmp_path, document, base, *args)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "generated" in done.stdout and " 0 generated" not in done.stdout


@pytest.mark.slow
def test_coverage_phase_of_the_imagery_document_finds_no_server_error(server, tmp_path):
    """The coverage phase (boundary and wrong-type values of every parameter and body member)
    over /openapi.json, anonymously: it found the statistics body whose geometry type was an
    object (a 500). `make fuzz` runs it over both documents, as both callers."""
    done = _schemathesis(server, tmp_path, "/openapi.json", "", phases="coverage")
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "Coverage" in done.stdout and " 0 generated" not in done.stdout


def test_the_admin_pass_is_signed_in(server):
    """The token the administrator pass sends is accepted (a pass of 401s would prove little)."""
    response = httpx.get(f"{server.url}/audit?limit=1",
                         headers={"Authorization": f"Bearer {server.token}"}, timeout=30)
    assert response.status_code == 200
    assert httpx.get(f"{server.url}/audit?limit=1", timeout=30).status_code == 401


@pytest.mark.parametrize("query", ["nodata=%F1%82%80%9Eu~", "algorithm=terrainrgb&algorithm_params=null"])
def test_imagery_values_that_are_not_numbers_or_objects_are_a_400(server, query):
    response = httpx.get(f"{server.url}/raster/elevation/WebMercatorQuad/tilejson.json?{query}",
                         timeout=30)
    assert response.status_code == 400


def test_imagery_openapi_validates_as_openapi_3_1(server):
    from openapi_spec_validator import validate

    validate(httpx.get(f"{server.url}/openapi.json", timeout=30).json())


@pytest.mark.parametrize("path", [
    "/ogc/jobs?offset=759428402759303604598592241664",   # bigint overflow in SQL
    "/raster/elevation/preview?bidx=1&color_formula=%C3%A7",   # not a formula
    "/raster/elevation/preview.png?color_formula=gamma%20r%201.5",   # float data, no rescale
    "/raster/orthophoto/preview.png?color_formula=sigmoidal%20rgb%2010",   # argument missing
    "/raster/orthophoto/preview.png?color_formula=gamma%20rgb%200",   # gamma 0
    "/raster/elevation/statistics?algorithm=normalizedIndex",   # needs 2 bands, 1 band
    "/raster/elevation/statistics?algorithm=grayscale",   # needs 3 bands (ValueError)
    "/raster/elevation/WebMercatorQuad/WMTSCapabilities.xml?maxzoom=3652275",   # overflow
    "/raster/elevation/WebMercatorQuad/tilejson.json?minzoom=-1",
])
def test_values_found_by_fuzzing_are_a_400(server, path):
    response = httpx.get(server.url + path, timeout=30)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "InvalidParameterValue"


@pytest.mark.parametrize("path", [
    "/raster/elevation/preview.png?color_formula=gamma%20r%201.5&rescale=0,100",
    "/raster/orthophoto/preview.png?color_formula=gamma%20rgb%201.5",
    "/raster/elevation/preview.png?algorithm=hillshade&color_formula=gamma%20r%201.5",
    "/raster/elevation/WebMercatorQuad/WMTSCapabilities.xml?minzoom=10&maxzoom=14",
])
def test_the_same_parameters_used_rightly_still_render(server, path):
    assert httpx.get(server.url + path, timeout=60).status_code == 200


def test_statistics_without_a_valid_pixel_match_the_documented_schema(server):
    """The standard deviation of one band has no valid pixel: its statistics are null, which
    the document now allows (TiTiler documents numbers)."""
    import jsonschema

    document = httpx.get(f"{server.url}/openapi.json", timeout=30).json()
    body = httpx.get(f"{server.url}/raster/elevation/statistics?algorithm=std", timeout=60).json()
    assert body["std"]["min"] is None
    jsonschema.validate(body["std"], document["components"]["schemas"]["BandStatistics"])


def test_nearest_panorama_to_a_point_across_the_world_is_a_404(server):
    response = httpx.get(f"{server.url}/panoramas/nearest?lon=139.75&lat=0", timeout=30)
    assert response.status_code == 404   # a 500 before: the point cannot be put in UTM 39N
