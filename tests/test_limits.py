"""Limits: each bounded by a setting, each refusal a clear 4xx (or a 503 for a slow statement)."""
import json

import pytest

from geoserver.limits import LimitSettings
from geoserver.app import create_app


def test_declared_body_over_the_limit_is_a_413_before_it_is_read(client, settings):
    size = settings.limits.max_body_bytes + 1
    response = client.post("/ogc/collections/licenses/items", content=b"x" * size,
                           headers={"Content-Type": "application/geo+json"})
    assert response.status_code == 413
    assert response.json()["code"] == "PayloadTooLarge"


def test_streamed_body_over_the_limit_is_a_413(client, settings):
    limit = settings.limits.max_process_body_bytes

    def chunks():   # no Content-Length: chunked transfer
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    response = client.post("/ogc/processes/parcel-check/execution", content=chunks(),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert f"{limit:,}" in response.json()["descriptions"]["en"]


def test_execute_request_has_a_smaller_body_limit_than_uploads(client, settings):
    body = json.dumps({"inputs": {"parcel_no": "x" * settings.limits.max_process_body_bytes}})
    response = client.post("/ogc/processes/parcel-check/execution", content=body,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_body_under_the_limit_reaches_the_route(client):
    response = client.post("/ogc/processes/parcel-check/execution",
                           json={"inputs": {"parcel_no": "NO-SUCH-PARCEL"}})
    assert response.status_code == 404      # the route read the body: the parcel is unknown
    assert "NO-SUCH-PARCEL" in response.json()["descriptions"]["en"]


def test_body_limits_are_settings_with_bounds():
    assert LimitSettings(max_body_bytes=4096).max_body_bytes == 4096
    with pytest.raises(ValueError):
        LimitSettings(max_body_bytes=10)


def _polygon(vertices: int) -> str:
    import math

    ring = [(50.12 + 0.001 * math.cos(2 * math.pi * i / vertices),
             26.38 + 0.001 * math.sin(2 * math.pi * i / vertices)) for i in range(vertices)]
    ring.append(ring[0])
    return "POLYGON((" + ",".join(f"{x:.6f} {y:.6f}" for x, y in ring) + "))"


def test_cql_geometry_literal_with_too_many_vertices_is_a_400(settings):
    from starlette.testclient import TestClient

    tight = settings.model_copy(update={
        "limits": settings.limits.model_copy(update={"max_filter_vertices": 50})})
    with TestClient(create_app(tight)) as small:
        response = small.get("/ogc/collections/parcels/items",
                             params={"filter": f"S_INTERSECTS(geometry,{_polygon(60)})"})
    assert response.status_code == 400
    assert "vertices" in response.json()["descriptions"]["en"]


def test_cql_geometry_literal_under_the_vertex_limit_is_answered(client):
    response = client.get("/ogc/collections/parcels/items",
                          params={"filter": f"S_INTERSECTS(geometry,{_polygon(40)})"})
    assert response.status_code == 200


def test_process_geometry_with_too_many_vertices_is_a_400(client):
    ring = json.loads(json.dumps([[50.12 + 1e-6 * i, 26.38] for i in range(1200)]
                                 + [[50.12, 26.381], [50.12, 26.38]]))
    response = client.post("/ogc/processes/parcel-check/execution", json={"inputs": {
        "parcel": {"type": "Polygon", "coordinates": [ring]}, "use": "residential"}})
    assert response.status_code == 400
    assert "vertices" in response.text


def test_request_connections_carry_the_statement_timeout(client, settings):
    # items, tiles, the raster registry, the panorama API and the permit checks all borrow
    # from this pool (layers.database.Database); its connections are set up in one place
    with client.app.state.services.db.connection() as conn:
        shown = conn.execute("SHOW statement_timeout").fetchone()[0]
    assert shown == f"{settings.database.statement_timeout_ms // 1000}s"


def test_a_statement_over_the_timeout_is_query_too_slow_not_a_hung_worker(client, settings):
    from kernel.errors import QueryTooSlow

    services = client.app.state.services

    def slow(conn):
        with conn.transaction():
            conn.execute("SET LOCAL statement_timeout = 50")
            conn.execute("SELECT pg_sleep(5)")

    with pytest.raises(QueryTooSlow) as caught:
        services.db.run(slow)
    kind = services.errors.kind_of(caught.value)
    assert (kind.status, kind.code) == (503, "ServiceUnavailable")
