"""The assembled server: OGC API collections, health, errors as JSON."""
import json

import pytest

from layers.catalogue import COLLECTIONS, LAYERS

PERSONAL = {"holder_national_id", "holder_phone"}


def test_landing_page_links_to_api_description_conformance_and_data(client):
    body = client.get("/ogc/?f=json").json()
    rels = {link["rel"] for link in body["links"]}
    assert {"service-desc", "conformance", "data"} <= rels


def test_collections_are_the_nine_published_layers(client):
    body = client.get("/ogc/collections?f=json").json()
    assert sorted(c["id"] for c in body["collections"]) == sorted(COLLECTIONS)


def test_collection_titles_are_bilingual(client):
    english = client.get("/ogc/collections/parcels?f=json&lang=en").json()["title"]
    arabic = client.get("/ogc/collections/parcels?f=json&lang=ar").json()["title"]
    assert english == "Parcels"
    assert arabic == "قطع الأراضي"


def test_collection_extent_is_read_from_the_database(client, db):
    bbox = client.get("/ogc/collections/parcels?f=json").json()["extent"]["spatial"]["bbox"][0]
    xmin, ymin, xmax, ymax = db.execute(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
        "FROM (SELECT ST_Extent(geom) e FROM parcels) x").fetchone()
    assert bbox == pytest.approx([xmin, ymin, xmax, ymax], abs=1e-5)


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_every_collection_answers_geojson_with_its_row_count(client, db, collection):
    response = client.get(f"/ogc/collections/{collection}/items?f=json&limit=5")
    assert response.status_code == 200
    body = response.json()
    count = db.execute(f'SELECT count(*) FROM "{LAYERS[collection].table}"').fetchone()[0]
    assert count > 0
    assert body["type"] == "FeatureCollection"
    assert body["numberMatched"] == count
    assert body["numberReturned"] == len(body["features"]) == min(5, count)
    for feature in body["features"]:
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] in ("Point", "LineString", "MultiPolygon")
        assert set(feature["properties"]) == set(LAYERS[collection].fields)


def test_an_unfiltered_page_counts_the_whole_layer_above_the_count_cap(client, db,
                                                                      monkeypatch):
    # above the cap a filtered page omits numberMatched; GDAL and QGIS then count a layer by
    # paging through all of it, so a whole layer's count is kept per layer version instead
    import time

    from geoserver import items
    monkeypatch.setattr(items, "COUNT_CAP", 100)
    count = db.execute("SELECT count(*) FROM parcels").fetchone()[0]
    assert count > 100
    page = client.get("/ogc/collections/parcels/items?f=json&limit=3").json()
    assert page["numberMatched"] == count
    after = client.get(_link(page, "next")).json()   # a keyset page: still the whole layer
    assert after["numberMatched"] == count
    filtered = client.get("/ogc/collections/parcels/items?f=json&limit=3&filter=area_m2>0"
                          ).json()
    assert "numberMatched" not in filtered        # 2,000 matches, above the cap of 100
    (new_id,) = db.execute("INSERT INTO parcels (parcel_no, plan_no, block_no, district_id, "
                           "area_m2, frontage_m, land_use, zoning_code, geom) SELECT "
                           "'T-TOTAL-1', plan_no, block_no, district_id, area_m2, frontage_m, "
                           "land_use, zoning_code, geom FROM parcels LIMIT 1 RETURNING id"
                           ).fetchone()
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:   # the version arrives by LISTEN/NOTIFY
            matched = client.get("/ogc/collections/parcels/items?f=json&limit=1").json()
            if matched["numberMatched"] == count + 1:
                break
            time.sleep(0.05)
        assert matched["numberMatched"] == count + 1
    finally:
        db.execute("DELETE FROM parcels WHERE id = %s", [new_id])


def _link(document: dict, rel: str) -> str:
    """The path of a document's link of relation `rel` (as the test client asks it)."""
    href = next(link["href"] for link in document["links"] if link["rel"] == rel
                and link.get("type") == "application/geo+json")
    return href.replace("http://testserver", "")


def test_single_item_is_the_row_with_that_id(client, db):
    pid, parcel_no = db.execute("SELECT id, parcel_no FROM parcels ORDER BY id DESC LIMIT 1").fetchone()
    body = client.get(f"/ogc/collections/parcels/items/{pid}?f=json").json()
    assert body["id"] == pid
    assert body["properties"]["parcel_no"] == parcel_no


@pytest.mark.parametrize("identifier", ["999999999", "abc", "1;DROP TABLE parcels"])
def test_unknown_item_is_404_json(client, identifier):
    response = client.get(f"/ogc/collections/parcels/items/{identifier}?f=json")
    assert response.status_code == 404
    assert response.json()["code"] == "NotFound"


def test_unknown_collection_is_404(client):
    assert client.get("/ogc/collections/nope/items?f=json").status_code == 404


def test_bbox_returns_only_intersecting_features(client, db):
    x, y = db.execute("SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(geom)) c "
                      "FROM parcels) s").fetchone()
    bbox = f"{x - 0.002},{y - 0.002},{x + 0.002},{y + 0.002}"
    body = client.get(f"/ogc/collections/parcels/items?f=json&bbox={bbox}&limit=1000").json()
    expected = db.execute("SELECT count(*) FROM parcels WHERE ST_Intersects(geom, "
                          "ST_MakeEnvelope(%s, %s, %s, %s, 4326))",
                          [x - 0.002, y - 0.002, x + 0.002, y + 0.002]).fetchone()[0]
    assert 0 < body["numberReturned"] == expected


@pytest.mark.parametrize("query", ["bbox=1,2,3", "limit=-1", "limit=abc", "offset=-5",
                                   "district_id=notanumber", "sortby=nonexistent",
                                   "sortby=id;DROP TABLE licenses", "sortby=license_no%22--",
                                   "crs=EPSG:9999", "after=-1", "skipGeometry=maybe",
                                   "properties=nonexistent", "datetime=yesterday"])
def test_malformed_parameters_are_400_json(client, query):
    response = client.get(f"/ogc/collections/licenses/items?f=json&{query}")
    assert response.status_code == 400, response.text
    assert "Traceback" not in response.text
    assert response.json()["description"]


def test_property_filter_selects_matching_rows(client, db):
    district = db.execute("SELECT district_id FROM parcels LIMIT 1").fetchone()[0]
    expected = db.execute("SELECT count(*) FROM parcels WHERE district_id = %s",
                          [district]).fetchone()[0]
    body = client.get(f"/ogc/collections/parcels/items?f=json&district_id={district}").json()
    assert body["numberMatched"] == expected


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_root_serves_a_bilingual_page(client):
    page = client.get("/").text
    assert 'dir="rtl"' in page and "Amanat" in page


class TestPersonalData:
    """Licence holder fields never leave the database on public requests."""

    def _assert_clean(self, text: str, db):
        national_id, phone = db.execute(
            "SELECT holder_national_id, holder_phone FROM licenses ORDER BY id LIMIT 1").fetchone()
        for word in (*PERSONAL, national_id, phone):
            assert word not in text

    @pytest.mark.parametrize("path", [
        "/ogc/collections/licenses/items?f=json&limit=1000&sortby=license_no",
        "/ogc/collections/licenses/items?f=jsonld&limit=50&sortby=license_no",
        "/ogc/collections/licenses/items?f=html&limit=50&sortby=license_no",
        "/ogc/collections/licenses/queryables?f=json",
        "/ogc/collections/licenses/schema?f=json",
        "/ogc/collections/licenses?f=json",
    ])
    def test_absent_from_public_routes(self, client, db, path):
        response = client.get(path)
        assert response.status_code == 200, path
        self._assert_clean(response.text, db)

    def test_named_in_the_api_description_only_as_what_an_office_sends(self, client, db):
        """The OGC OpenAPI document must tell offices they send holder data when they write a
        licence (Part 4 request bodies), and must not name it anywhere a response is described."""
        document = client.get("/ogc/openapi?f=json").json()
        writes = {_ref_name(op["requestBody"]) for item in document["paths"].values()
                  for method, op in item.items()
                  if method in ("post", "put", "patch") and "requestBody" in op} - {None}
        read_side = json.dumps({**document, "components": {
            **document["components"], "schemas": {
                name: schema for name, schema in document["components"]["schemas"].items()
                if name not in writes}}}, ensure_ascii=False)
        self._assert_clean(read_side, db)
        assert {"licensesFeature", "licensesPatch"} <= writes
        assert all(json.dumps(_responses(document)).count(f"schemas/{name}\"") == 0
                   for name in ("licensesFeature", "licensesPatch"))

    def test_absent_from_single_item(self, client, db):
        lid = db.execute("SELECT id FROM licenses ORDER BY id LIMIT 1").fetchone()[0]
        for fmt in ("json", "jsonld", "html"):
            self._assert_clean(client.get(f"/ogc/collections/licenses/items/{lid}?f={fmt}").text, db)

    @pytest.mark.parametrize("query", ["properties=holder_phone", "sortby=holder_national_id",
                                       "holder_phone=0500000000"])
    def test_cannot_be_selected_sorted_or_filtered(self, client, db, query):
        response = client.get(f"/ogc/collections/licenses/items?f=json&{query}")
        assert response.status_code == 400
        self._assert_clean(response.text, db)


def test_responses_are_json_parseable_geojson(client):
    text = client.get("/ogc/collections/streets/items?f=json&limit=3").text
    assert json.loads(text)["features"][0]["geometry"]["type"] == "LineString"


@pytest.mark.parametrize("query", ["limit=3", "filter=area_m2<0", "bbox=10,10,10.1,10.1",
                                   "offset=100000000"])
def test_json_ld_items_are_valid_json_with_or_without_features(client, db, query):
    # pygeoapi's template wrote `"@id": "…",}` for a page without features
    response = client.get(f"/ogc/collections/parcels/items?f=jsonld&{query}")
    assert response.status_code == 200, response.text
    body = json.loads(response.text)
    assert body["type"] == "FeatureCollection" and isinstance(body["features"], list)
    if query == "limit=3":
        ids = [int(f["@id"].rsplit("/", 1)[1]) for f in body["features"]]
        first = db.execute("SELECT id FROM parcels ORDER BY id LIMIT 3").fetchall()
        assert ids == [row[0] for row in first]
    else:
        assert body["features"] == []


def _ref_name(request_body: dict) -> str | None:
    """The components/schemas name a JSON request body refers to, if any."""
    for media in request_body.get("content", {}).values():
        ref = media.get("schema", {}).get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            return ref.rsplit("/", 1)[1]
    return None


def _responses(document: dict) -> list:
    """Every response description of the document's operations and components."""
    found = [op.get("responses", {}) for item in document["paths"].values()
             for op in item.values() if isinstance(op, dict)]
    return found + [document["components"].get("responses", {})]
