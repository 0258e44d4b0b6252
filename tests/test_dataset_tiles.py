"""Dataset tiles (/ogc/tiles): several collections in one vector tile, the same content as their
own tilesets, cached by the versions of every layer in it, and bad requests refused."""
import re
import subprocess
import time

import mapbox_vector_tile
import morecantile
import pytest

from layers import tiles

MVT = "application/vnd.mapbox-vector-tile"
WEB = "WebMercatorQuad"


def dataset_url(z, y, x, matrix=WEB, query="f=mvt") -> str:
    """A dataset tile's path."""
    return f"/ogc/tiles/{matrix}/{z}/{y}/{x}" + (f"?{query}" if query else "")


@pytest.fixture(scope="module")
def busy_tile(db) -> morecantile.Tile:
    """The level-16 tile around the first parcel (it holds parcels, streets and licences)."""
    lon, lat = db.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p "
                          "FROM parcels ORDER BY id LIMIT 1) s").fetchone()
    return morecantile.tms.get(WEB).tile(lon, lat, 16)


def test_a_dataset_tile_is_the_collections_tiles_in_one(client, busy_tile):
    z, y, x = busy_tile.z, busy_tile.y, busy_tile.x
    combined = client.get(dataset_url(z, y, x))
    assert combined.status_code == 200 and combined.headers["content-type"] == MVT
    layers = mapbox_vector_tile.decode(combined.content)
    parts = []
    for collection in tiles.DATASET_LAYERS:
        own = client.get(f"/ogc/collections/{collection}/tiles/{WEB}/{z}/{y}/{x}?f=mvt")
        # its own tile is 200 where the dataset tile has its layer, else 204 (nothing drawn)
        assert own.status_code == (200 if collection in layers else 204), collection
        parts.append(own.content)
    assert combined.content == b"".join(parts)
    assert {"parcels", "streets"} <= set(layers)
    assert not {"holder_national_id", "holder_phone"} & {
        key for layer in layers.values() for f in layer["features"] for key in f["properties"]}


def test_collections_choose_the_layers_and_their_order(client, busy_tile):
    z, y, x = busy_tile.z, busy_tile.y, busy_tile.x
    response = client.get(dataset_url(z, y, x, query="collections=streets,parcels,streets"))
    assert response.status_code == 200
    assert list(mapbox_vector_tile.decode(response.content)) == ["streets", "parcels"]


def test_layers_not_drawn_at_a_level_are_left_out(client, busy_tile):
    parent = morecantile.tms.get(WEB).parent(busy_tile, zoom=12)[0]
    response = client.get(dataset_url(parent.z, parent.y, parent.x,
                                      query="collections=parcels,districts"))
    assert response.status_code == 200
    assert list(mapbox_vector_tile.decode(response.content)) == ["districts"]


def test_a_tile_with_nothing_to_draw_is_204(client):
    assert client.get(dataset_url(16, 10, 10)).status_code == 204        # the Arctic Ocean


def test_world_crs84_quad_tiles(client, busy_tile, db):
    lon, lat = db.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p "
                          "FROM parcels ORDER BY id LIMIT 1) s").fetchone()
    tile = morecantile.tms.get("WorldCRS84Quad").tile(lon, lat, 15)
    response = client.get(dataset_url(tile.z, tile.y, tile.x, matrix="WorldCRS84Quad",
                                      query="collections=parcels"))
    assert response.status_code == 200
    assert mapbox_vector_tile.decode(response.content)["parcels"]["features"]


def test_tilesets_metadata_and_tilejson(client):
    listing = client.get("/ogc/tiles").json()
    assert {t["tileMatrixSetURI"].rsplit("/", 1)[-1] for t in listing["tilesets"]} == {
        WEB, "WorldCRS84Quad"}
    meta = client.get(f"/ogc/tiles/{WEB}?f=json").json()
    assert [layer["id"] for layer in meta["layers"]] == list(tiles.DATASET_LAYERS)
    parcels = next(layer for layer in meta["layers"] if layer["id"] == "parcels")
    assert parcels["minTileMatrix"] == "15"
    item = next(link for link in meta["links"] if link["rel"] == "item")
    assert item["href"].endswith(f"/ogc/tiles/{WEB}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}?f=mvt")
    tilejson = client.get(f"/ogc/tiles/{WEB}?f=tilejson").json()
    assert tilejson["tiles"][0].endswith(f"/ogc/tiles/{WEB}/{{z}}/{{y}}/{{x}}?f=mvt")
    assert {layer["id"] for layer in tilejson["vector_layers"]} == set(tiles.DATASET_LAYERS)


def test_a_write_to_any_layer_in_the_tile_retires_it(client, db, busy_tile):
    url = dataset_url(busy_tile.z, busy_tile.y, busy_tile.x, query="collections=parcels,streets")
    first = client.get(url)
    assert client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    db.execute("UPDATE streets SET width_m = width_m WHERE id = (SELECT min(id) FROM streets)")
    deadline = time.monotonic() + 3      # the server learns of the write by NOTIFY
    while client.get(url).headers["ETag"] == first.headers["ETag"]:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    other = client.get(dataset_url(busy_tile.z, busy_tile.y, busy_tile.x,
                                   query="collections=parcels"))
    assert "streets" not in other.headers["ETag"]


@pytest.mark.parametrize("query", ["collections=", "collections=parcels,nope",
                                   "collections=parcels,,streets", "collections=municipalities",
                                   "collections=" + "a" * 600, "f=json", "f=png", "bbox=1,2,3,4",
                                   "collections=%00"])
def test_bad_parameters_are_400(client, busy_tile, query):
    response = client.get(dataset_url(busy_tile.z, busy_tile.y, busy_tile.x, query=query))
    assert response.status_code == 400, query
    assert response.json()["code"] == "InvalidParameterValue"


@pytest.mark.parametrize("path", [f"/ogc/tiles/{WEB}/21/0/0", f"/ogc/tiles/{WEB}/1/2/0",
                                  f"/ogc/tiles/{WEB}/-1/0/0", f"/ogc/tiles/{WEB}/1/0/x",
                                  f"/ogc/tiles/{WEB}/%D9%A3/0/0", "/ogc/tiles/Nope/1/0/0",
                                  "/ogc/tiles/Nope", f"/ogc/tiles/{WEB}/99999999999/0/0"])
def test_tiles_that_do_not_exist_are_404(client, path):
    response = client.get(path)
    assert response.status_code == 404 and response.json()["code"] == "NotFound"


@pytest.mark.parametrize("path, query", [("/ogc/tiles", "f=html"), ("/ogc/tiles", "x=1"),
                                         (f"/ogc/tiles/{WEB}", "f=xml"),
                                         (f"/ogc/tiles/{WEB}", "collections=parcels")])
def test_bad_metadata_parameters_are_400(client, path, query):
    assert client.get(f"{path}?{query}").status_code == 400


@pytest.mark.parametrize("path", ["/ogc/tiles", f"/ogc/tiles/{WEB}"])
def test_metadata_takes_the_language_parameter_as_every_page_does(client, path):
    # the OGC HTML pages link here with their lang; it chooses the language of errors only
    assert client.get(f"{path}?f=json&lang=en").status_code == 200
    refused = client.get(f"{path}?lang=en&x=1")
    assert refused.status_code == 400
    assert refused.json()["description"] == refused.json()["descriptions"]["en"]
    assert client.get(f"{path}?x=1").json()["description"] == refused.json()["descriptions"]["ar"]


def test_a_tile_takes_the_language_parameter(client, busy_tile):
    url = dataset_url(busy_tile.z, busy_tile.y, busy_tile.x, query="collections=parcels")
    assert client.get(url + "&lang=en").status_code == 200
    refused = client.get(url + "&lang=en&f=png")
    assert refused.status_code == 400
    assert refused.json()["description"] == refused.json()["descriptions"]["en"]


def test_writes_by_other_roles_are_refused_by_the_policy_403(client, analyst_auth):
    # geoserver/auth.py decides from method and path alone: any write it does not list is an
    # admin's, so an analyst is refused before the route is reached
    response = client.post(dataset_url(16, 0, 0), content=b"{}", headers=analyst_auth)
    assert response.status_code == 403
    assert response.json()["code"] == "Forbidden"


def test_writes_by_an_admin_are_405_the_tiles_are_read_only(client, auth):
    response = client.post(dataset_url(16, 0, 0), content=b"{}", headers=auth["admin"])
    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}


def test_the_landing_page_and_conformance_announce_the_dataset_tilesets(client):
    links = client.get("/ogc?f=json").json()["links"]
    tilesets = [link for link in links
                if link["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"]
    assert len(tilesets) == 1 and tilesets[0]["href"].endswith("/ogc/tiles?f=json")
    classes = client.get("/ogc/conformance?f=json").json()["conformsTo"]
    for name in ("dataset-tilesets", "collections-selection", "geodata-tilesets"):
        assert f"http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/{name}" in classes
    assert "<html" in client.get("/ogc?f=html").text      # the HTML landing page is untouched


def test_gdal_reads_a_dataset_tile_from_the_running_server(tmp_path, database_url, busy_tile):
    """A real client (GDAL's MVT driver over HTTP) sees one layer per collection."""
    from tests.support.server import Server

    server = Server(tmp_path, database_url, "--no-sample")
    try:
        server.wait()
        z, y, x = busy_tile.z, busy_tile.y, busy_tile.x
        url = f"MVT:/vsicurl/{server.url}{dataset_url(z, y, x, query='f=mvt')}"
        done = subprocess.run(["ogrinfo", "-ro", "-so", url, "-oo", f"X={x}", "-oo", f"Y={y}",
                               "-oo", f"Z={z}"], capture_output=True, text=True, timeout=60)
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    layers = re.findall(r"^\d+: (\w+) \(", done.stdout, re.M)
    assert layers[:1] == ["zoning"] and {"parcels", "streets", "licenses"} <= set(layers)
