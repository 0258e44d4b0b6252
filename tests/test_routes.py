"""The route table (geoserver/routes.py): one id parser, one collection registry and one
parameter check for every path an items request can take, ours or pygeoapi's."""
import pytest

ITEMS = "/ogc/collections/parcels/items"


def _ogc_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text[:300]
    body = response.json()
    assert body["code"] == code and body["type"] == code and body["description"]
    assert "Traceback" not in response.text and "psycopg" not in response.text
    return body


@pytest.mark.parametrize("fmt", ["json", "html", "jsonld"])
@pytest.mark.parametrize("item", ["٣", "+3", " 3", "3.0", "1" * 19])
def test_an_id_that_is_not_ascii_digits_is_a_404_in_every_format(client, fmt, item):
    _ogc_error(client.get(f"{ITEMS}/{item}", params={"f": fmt}), 404, "NotFound")


def test_the_same_id_in_ascii_digits_is_found_in_every_format(client, db):
    (first,) = db.execute("SELECT min(id) FROM parcels").fetchone()
    for fmt in ("json", "html", "jsonld"):
        response = client.get(f"{ITEMS}/{first}", params={"f": fmt})
        assert response.status_code == 200, (fmt, response.text[:200])
        assert str(first) in response.text


@pytest.mark.parametrize("path", [
    "/ogc/collections/nowhere/items", "/ogc/collections/nowhere/items/1",
    "/ogc/collections/nowhere/tiles/WebMercatorQuad/16/27786/41892",
    "/ogc/collections/nowhere/tiles"])
def test_an_unknown_collection_is_a_404(client, path):
    _ogc_error(client.get(path), 404, "NotFound")


@pytest.mark.parametrize("fmt", ["json", "html", "jsonld"])
def test_an_unknown_parameter_is_a_400_whoever_renders_the_page(client, fmt):
    body = _ogc_error(client.get(ITEMS, params={"f": fmt, "bbx": "1,2,3,4"}), 400,
                      "InvalidParameterValue")
    assert "bbx" in body["descriptions"]["en"]


def test_a_query_sent_with_post_and_the_same_filter_in_the_url_select_the_same_features(
        client, db):
    ids = [row[0] for row in db.execute("SELECT id FROM parcels ORDER BY id LIMIT 3")]
    query = {"op": "in", "args": [{"property": "id"}, ids]}
    posted = client.post(ITEMS, params={"f": "json"}, json=query,
                         headers={"Content-Type": "application/query-cql-json"})
    got = client.get(ITEMS, params={"f": "json", "filter": f"id IN ({','.join(map(str, ids))})"})
    assert posted.status_code == got.status_code == 200, posted.text[:300]
    assert [f["id"] for f in posted.json()["features"]] == ids
    assert [f["id"] for f in got.json()["features"]] == ids


def test_a_malformed_query_body_is_a_400_and_not_a_write(client, db):
    before = db.execute("SELECT count(*) FROM parcels").fetchone()[0]
    response = client.post(ITEMS, content=b"{not json",
                           headers={"Content-Type": "application/query-cql-json"})
    _ogc_error(response, 400, "InvalidParameterValue")
    assert db.execute("SELECT count(*) FROM parcels").fetchone()[0] == before


def test_a_write_to_a_read_only_collection_is_a_405_naming_what_is_allowed(client, auth):
    response = client.post(ITEMS, json={"type": "Feature"}, headers=auth["admin"])
    _ogc_error(response, 405, "MethodNotAllowed")
    assert response.headers["allow"] == "GET, HEAD"


def test_cross_origin_reads_of_the_ogc_api_are_allowed(client):
    response = client.get(f"{ITEMS}?f=json&limit=1", headers={"Origin": "https://gis.example"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
