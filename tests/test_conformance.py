"""OGC API Features Part 1 and Part 2 checks, after the OGC CITE ETS, against the running app."""
import math
import subprocess
import time
from urllib.parse import parse_qs, urlparse

import pytest

from layers.catalogue import COLLECTIONS

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/{}"
ITEMS = "/ogc/collections/{}/items"


def _local(href: str) -> str:
    """A link's path and query, to follow it with the test client."""
    parts = urlparse(href)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _links(doc: dict, rel: str) -> list[dict]:
    return [link for link in doc.get("links", []) if link["rel"] == rel]


class TestLandingAndConformance:
    def test_landing_page_has_the_four_required_links(self, client):
        doc = client.get("/ogc/?f=json").json()
        for rel in ("service-desc", "service-doc", "conformance", "data"):
            assert _links(doc, rel), rel

    def test_service_desc_resolves_to_an_openapi_3_document(self, client):
        href = _links(client.get("/ogc/?f=json").json(), "service-desc")[0]["href"]
        doc = client.get(_local(href)).json()
        assert doc["openapi"].startswith("3.")

    def test_conformance_declares_core_geojson_oas30_and_crs(self, client):
        classes = set(client.get("/ogc/conformance?f=json").json()["conformsTo"])
        base = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
        assert {base + "core", base + "geojson", base + "oas30"} <= classes
        assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in classes


    def test_conformance_declares_exactly_the_part_3_and_cql2_classes_implemented(self, client):
        classes = client.get("/ogc/conformance?f=json").json()["conformsTo"]
        part3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/"
        cql2 = "http://www.opengis.net/spec/cql2/1.0/conf/"
        assert sorted(c[len(part3):] for c in classes if c.startswith(part3)) == [
            "features-filter", "filter", "queryables", "queryables-query-parameters"]
        assert sorted(c[len(cql2):] for c in classes if c.startswith(cql2)) == [
            "accent-insensitive-comparison", "advanced-comparison-operators", "arithmetic",
            "array-functions", "basic-cql2", "basic-spatial-functions",
            "basic-spatial-functions-plus", "case-insensitive-comparison", "cql2-json",
            "cql2-text", "functions", "property-property", "spatial-functions",
            "temporal-functions"]

    def test_conformance_declares_the_processes_classes_that_hold_and_not_callback(self, client):
        classes = client.get("/ogc/conformance?f=json").json()["conformsTo"]
        base = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/"
        assert sorted(c[len(base):] for c in classes if c.startswith(base)) == [
            "core", "dismiss", "job-list", "json", "oas30", "ogc-process-description"]


class TestCollections:
    @pytest.mark.parametrize("collection", COLLECTIONS)
    def test_collection_lists_crs84_first_and_its_storage_crs(self, client, collection):
        doc = client.get(f"/ogc/collections/{collection}?f=json").json()
        assert doc["crs"][0] == CRS84
        assert EPSG.format(32639) in doc["crs"]
        assert doc["storageCrs"] == CRS84

    @pytest.mark.parametrize("collection", COLLECTIONS)
    def test_collection_has_an_items_link_and_a_spatial_extent(self, client, collection):
        doc = client.get(f"/ogc/collections/{collection}?f=json").json()
        assert _links(doc, "items")
        xmin, ymin, xmax, ymax = doc["extent"]["spatial"]["bbox"][0]
        assert 49.5 < xmin < xmax < 51 and 25.5 < ymin < ymax < 27

    def test_openapi_declares_limit_bbox_datetime_for_items(self, client):
        doc = client.get("/ogc/openapi?f=json").json()
        get = doc["paths"]["/collections/parcels/items"]["get"]
        names = set()
        for parameter in get["parameters"]:
            if "$ref" in parameter:
                names.add(parameter["$ref"].rsplit("/", 1)[-1])
            else:
                names.add(parameter["name"])
        assert {"limit", "bbox", "datetime"} <= names


class TestItems:
    def test_limit_above_the_maximum_returns_at_most_the_maximum(self, client):
        body = client.get(ITEMS.format("parcels") + "?f=json&limit=100000").json()
        assert 0 < body["numberReturned"] <= 1000

    @pytest.mark.parametrize("limit", ["0", "-1", "unlimited", "1.5", ""])
    def test_invalid_limit_is_400(self, client, limit):
        assert client.get(ITEMS.format("parcels") + f"?f=json&limit={limit}").status_code == 400

    def test_unknown_query_parameter_is_400(self, client):
        assert client.get(ITEMS.format("parcels") + "?f=json&colour=red").status_code == 400

    def test_number_returned_is_the_number_of_features(self, client):
        body = client.get(ITEMS.format("facilities") + "?f=json&limit=7").json()
        assert body["numberReturned"] == len(body["features"]) == 7

    @pytest.mark.parametrize("query", ["", "&district_id=1", "&bbox=50.0,26.2,50.3,26.6",
                                       "&filter=land_use%3D'commercial'"])
    def test_number_matched_equals_features_over_all_next_pages(self, client, query):
        url = ITEMS.format("parcels") + f"?f=json&limit=250{query}"
        first = client.get(url).json()
        seen, ids, pages = 0, set(), 0
        while url:
            page = client.get(url).json()
            seen += page["numberReturned"]
            ids.update(f["id"] for f in page["features"])
            nxt = _links(page, "next")
            url = _local(nxt[0]["href"]) if nxt else None
            pages += 1
            assert pages < 100
        assert first["numberMatched"] == seen == len(ids)

    def test_next_link_keeps_the_filters(self, client):
        page = client.get(ITEMS.format("parcels") + "?f=json&limit=5&district_id=1").json()
        query = parse_qs(urlparse(_links(page, "next")[0]["href"]).query)
        assert query["district_id"] == ["1"] and query["limit"] == ["5"]

    def test_prev_link_leads_back_to_the_previous_page(self, client):
        first = client.get(ITEMS.format("parcels") + "?f=json&limit=5").json()
        second = client.get(_local(_links(first, "next")[0]["href"])).json()
        back = client.get(_local(_links(second, "prev")[0]["href"])).json()
        assert [f["id"] for f in back["features"]] == [f["id"] for f in first["features"]]

    def test_last_page_has_no_next_link(self, client, db):
        count = db.execute("SELECT count(*) FROM facilities").fetchone()[0]
        page = client.get(ITEMS.format("facilities") + f"?f=json&limit={count}").json()
        assert page["numberReturned"] == count
        assert not _links(page, "next")

    @pytest.mark.parametrize("bbox", ["170,-10,-170,10", "-180,80,180,90", "-180,-90,180,-85"])
    def test_bbox_across_antimeridian_and_poles_is_accepted(self, client, bbox):
        response = client.get(ITEMS.format("parcels") + f"?f=json&bbox={bbox}")
        assert response.status_code == 200
        assert response.json()["numberReturned"] == 0

    def test_whole_world_bbox_returns_everything(self, client, db):
        count = db.execute("SELECT count(*) FROM districts").fetchone()[0]
        body = client.get(ITEMS.format("districts") + "?f=json&bbox=-180,-90,180,90").json()
        assert body["numberMatched"] == count

    @pytest.mark.parametrize("bbox", ["1,2,3", "a,b,c,d", "1,2,3,4,5", "10,20,5,10,1,2,3"])
    def test_malformed_bbox_is_400(self, client, bbox):
        assert client.get(ITEMS.format("parcels") + f"?f=json&bbox={bbox}").status_code == 400

    def test_datetime_on_a_collection_without_time_returns_all_features(self, client, db):
        count = db.execute("SELECT count(*) FROM districts").fetchone()[0]
        body = client.get(ITEMS.format("districts") + "?f=json&datetime=2020-01-01/..").json()
        assert body["numberMatched"] == count

    def test_datetime_interval_filters_a_collection_with_time(self, client, db):
        expected = db.execute("SELECT count(*) FROM licenses WHERE issue_date >= '2025-01-01'"
                              ).fetchone()[0]
        body = client.get(ITEMS.format("licenses") + "?f=json&datetime=2025-01-01T00:00:00Z/..").json()
        assert 0 < body["numberMatched"] == expected

    def test_single_item_links_self_alternate_and_collection(self, client, db):
        pid = db.execute("SELECT min(id) FROM parcels").fetchone()[0]
        doc = client.get(ITEMS.format("parcels") + f"/{pid}?f=json").json()
        for rel in ("self", "alternate", "collection"):
            assert _links(doc, rel), rel


class TestCrs:
    @pytest.mark.parametrize("code", [4326, 3857, 32637, 32638, 32639])
    def test_crs_parameter_sets_content_crs_and_transforms(self, client, db, code):
        pid = db.execute("SELECT min(id) FROM facilities").fetchone()[0]
        response = client.get(ITEMS.format("facilities") + f"/{pid}?f=json&crs={EPSG.format(code)}")
        assert response.status_code == 200
        assert response.headers["Content-Crs"] == f"<{EPSG.format(code)}>"
        x, y = response.json()["geometry"]["coordinates"]
        sql = ("SELECT ST_Y(geom), ST_X(geom) FROM facilities WHERE id = %s" if code == 4326 else
               "SELECT ST_X(g), ST_Y(g) FROM (SELECT ST_Transform(geom, %s) g FROM facilities "
               "WHERE id = %s) s")
        expected = db.execute(sql, [pid] if code == 4326 else [code, pid]).fetchone()
        assert (x, y) == pytest.approx(expected, abs=0.01)

    def test_default_output_is_crs84(self, client):
        response = client.get(ITEMS.format("facilities") + "?f=json&limit=1")
        assert response.headers["Content-Crs"] == f"<{CRS84}>"

    @pytest.mark.parametrize("crs", ["EPSG:4326", "http://www.opengis.net/def/crs/EPSG/0/2154",
                                     "nonsense"])
    def test_unsupported_crs_is_400(self, client, crs):
        assert client.get(ITEMS.format("parcels") + f"?f=json&crs={crs}").status_code == 400

    def test_bbox_crs_selects_the_same_features_as_crs84(self, client, db):
        x0, y0, x1, y1 = db.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent("
            "ST_Transform(geom, 32639)) e FROM (SELECT geom FROM parcels ORDER BY id LIMIT 30) p) s"
        ).fetchone()
        utm = client.get(ITEMS.format("parcels") + f"?f=json&limit=1000&bbox={x0},{y0},{x1},{y1}"
                         f"&bbox-crs={EPSG.format(32639)}").json()
        assert utm["numberReturned"] >= 30

    def test_unsupported_bbox_crs_is_400(self, client):
        response = client.get(ITEMS.format("parcels") + "?f=json&bbox=1,2,3,4&bbox-crs=nonsense")
        assert response.status_code == 400


class TestCaching:
    def test_items_carry_validators(self, client):
        response = client.get(ITEMS.format("districts") + "?f=json")
        assert response.headers["ETag"] and response.headers["Last-Modified"]
        assert "max-age" in response.headers["Cache-Control"]

    def test_matching_if_none_match_is_304_without_body(self, client):
        url = ITEMS.format("districts") + "?f=json&limit=3"
        etag = client.get(url).headers["ETag"]
        response = client.get(url, headers={"If-None-Match": etag})
        assert response.status_code == 304 and response.content == b""

    def test_if_modified_since_the_last_change_is_304(self, client):
        url = ITEMS.format("districts") + "?f=json&limit=4"
        modified = client.get(url).headers["Last-Modified"]
        assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304

    def test_a_write_to_the_layer_changes_the_etag(self, client, db):
        url = ITEMS.format("streets") + "?f=json&limit=2"
        before = client.get(url).headers["ETag"]
        db.execute("UPDATE streets SET width_m = width_m WHERE id = (SELECT min(id) FROM streets)")
        deadline = time.monotonic() + 3  # the server learns of the write by NOTIFY, within ms
        while client.get(url).headers["ETag"] == before and time.monotonic() < deadline:
            time.sleep(0.02)
        assert client.get(url).headers["ETag"] != before
        assert client.get(url, headers={"If-None-Match": before}).status_code == 200

    def test_a_cached_tile_is_the_tile_and_a_write_retires_it(self, client, db):
        x, y = db.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p "
                          "FROM parcels ORDER BY id LIMIT 1) s").fetchone()
        n = 2 ** 16
        col = int((x + 180) / 360 * n)
        row = int((1 - math.asinh(math.tan(math.radians(y))) / math.pi) / 2 * n)
        url = f"/ogc/collections/parcels/tiles/WebMercatorQuad/16/{row}/{col}?f=mvt"
        first, again = client.get(url), client.get(url)
        assert first.status_code == again.status_code == 200
        assert first.content == again.content and first.headers["ETag"] == again.headers["ETag"]
        pid, use = db.execute("SELECT id, land_use FROM parcels ORDER BY id LIMIT 1").fetchone()
        db.execute("UPDATE parcels SET land_use = 'vacant' WHERE id = %s", [pid])
        try:
            deadline = time.monotonic() + 3
            while client.get(url).headers["ETag"] == first.headers["ETag"]:
                assert time.monotonic() < deadline
                time.sleep(0.02)
            assert b"vacant" in client.get(url).content
        finally:
            db.execute("UPDATE parcels SET land_use = %s WHERE id = %s", [use, pid])

    def test_different_queries_have_different_etags(self, client):
        a = client.get(ITEMS.format("districts") + "?f=json&limit=1").headers["ETag"]
        b = client.get(ITEMS.format("districts") + "?f=json&limit=2").headers["ETag"]
        assert a != b


class TestGdal:
    @pytest.fixture(scope="class")
    def server(self, settings, database_url, tmp_path_factory):
        from tests.support.server import Server

        server = Server(tmp_path_factory.mktemp("gdal"), database_url, "--no-sample")
        server.wait()
        yield server
        server.stop()

    @pytest.mark.parametrize("collection", COLLECTIONS)
    def test_ogrinfo_reads_every_collection(self, server, db, collection):
        done = subprocess.run(["ogrinfo", "-ro", "-so", "-al", f"OAPIF:{server.url}/ogc",
                               collection], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "Feature Count" in done.stdout or "Geometry" in done.stdout
