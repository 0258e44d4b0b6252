"""OGC API Tiles: vector tiles of the layers, built by PostGIS, decoded and checked against SQL."""
import socket

import httpx
import mapbox_vector_tile
import morecantile
import psycopg
import pytest
from psycopg import sql

from layers import tiles
from layers.catalogue import LAYERS
from kernel.errors import ErrorMap, Unavailable
from layers.database import Database

MVT = "application/vnd.mapbox-vector-tile"
WEB = "WebMercatorQuad"
CRS84 = "WorldCRS84Quad"
PERSONAL = {"holder_national_id", "holder_phone"}
NULLABLE = {"risk_level", "max_height_m"}          # absent from an MVT feature when NULL
TILED = sorted(tiles.TILE_LAYERS)


def tile_url(collection: str, matrix: str, z, y, x) -> str:
    """pygeoapi's tile path: level / row / column."""
    return f"/ogc/collections/{collection}/tiles/{matrix}/{z}/{y}/{x}?f=mvt"


def tile_at(lon: float, lat: float, z: int, matrix: str = WEB) -> morecantile.Tile:
    """The tile of a tile matrix set that holds a point."""
    return morecantile.tms.get(matrix).tile(lon, lat, z)


def fetch(client, collection: str, tile: morecantile.Tile, matrix: str = WEB):
    """GET one tile."""
    return client.get(tile_url(collection, matrix, tile.z, tile.y, tile.x))


def features(response, collection: str) -> list[dict]:
    """The decoded features of a tile's (only) layer."""
    assert response.status_code == 200, response.text
    layers = mapbox_vector_tile.decode(response.content)
    assert set(layers) == {collection}
    return layers[collection]["features"]


def parcel_ids(db, envelope_sql: str, params) -> set[int]:
    """Ids of parcels whose geometry intersects an envelope (lon/lat)."""
    rows = db.execute(f"SELECT id FROM parcels WHERE ST_Intersects(geom, {envelope_sql})", params)
    return {row[0] for row in rows}


@pytest.fixture(scope="module")
def centre(db) -> tuple[float, float]:
    """Centre of the sample city (centre of the parcels' extent)."""
    return db.execute("SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(geom)::geometry)"
                      " c FROM parcels) x").fetchone()


@pytest.fixture(scope="module")
def city_bounds(db) -> tuple[float, float, float, float]:
    """Extent of all parcels (lon/lat)."""
    return db.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                      "FROM (SELECT ST_Extent(geom) e FROM parcels) x").fetchone()


def point_of(db, collection: str, kinds=None) -> tuple[float, float]:
    """A point on the first feature of a layer (of one of `kinds`, if given)."""
    table = sql.Identifier(LAYERS[collection].table)
    where = sql.SQL("kind = ANY(%s)") if kinds else sql.SQL("%s::text[] IS NULL")
    return db.execute(sql.SQL(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM {} WHERE {} "
        "ORDER BY id LIMIT 1) x").format(table, where), [list(kinds) if kinds else None]).fetchone()


def test_city_centre_z16_holds_exactly_the_parcels_intersecting_the_tile(client, db, centre):
    tile = tile_at(*centre, 16)
    found = features(fetch(client, "parcels", tile), "parcels")
    ids = {f["id"] for f in found}
    envelope = "ST_Transform(ST_TileEnvelope(%s, %s, %s, margin => %s), 4326)"
    inside = parcel_ids(db, envelope, [16, tile.x, tile.y, 0.0])
    with_buffer = parcel_ids(db, envelope, [16, tile.x, tile.y, tiles.BUFFER / tiles.EXTENT])
    assert len(inside) > 20
    assert inside <= ids <= with_buffer
    assert len(ids) == len(found)
    assert all(f["properties"]["id"] == f["id"] for f in found)


def test_a_tile_answers_with_the_mapbox_vector_tile_media_type(client, centre):
    response = fetch(client, "parcels", tile_at(*centre, 16))
    assert response.status_code == 200
    assert response.headers["content-type"] == MVT


@pytest.mark.parametrize("collection, level", [
    (name, index) for name in TILED for index in range(len(tiles.TILE_LAYERS[name].details))])
def test_each_zoom_carries_exactly_the_attributes_designed_for_it(client, db, collection, level):
    layer = tiles.TILE_LAYERS[collection]
    detail = layer.details[level]
    following = layer.details[level + 1].minzoom if level + 1 < len(layer.details) else 21
    point = point_of(db, collection, detail.kinds)
    for z in {detail.minzoom, following - 1}:
        found = features(fetch(client, collection, tile_at(*point, z)), collection)
        assert found, (collection, z)
        for feature in found:
            keys = set(feature["properties"])
            assert set(detail.fields) - NULLABLE <= keys <= set(detail.fields), (z, keys)
            if detail.kinds:
                assert feature["properties"]["kind"] in detail.kinds


def test_parcel_attributes_are_the_styled_ones_at_z15_and_z16(client, db):
    point = point_of(db, "parcels")
    low = features(fetch(client, "parcels", tile_at(*point, 15)), "parcels")
    high = features(fetch(client, "parcels", tile_at(*point, 16)), "parcels")
    assert set(low[0]["properties"]) == {"id", "land_use", "zoning_code"}
    assert set(high[0]["properties"]) == {"id", "parcel_no", "land_use", "zoning_code"}


@pytest.mark.parametrize("collection, z", [("parcels", 14), ("parcels", 12), ("licenses", 13),
                                           ("zoning", 11), ("facilities", 11)])
def test_below_the_layer_min_zoom_the_tile_is_empty_204(client, db, collection, z):
    response = fetch(client, collection, tile_at(*point_of(db, collection), z))
    assert response.status_code == 204
    assert response.content == b""


def test_a_tile_without_features_is_204_with_an_empty_body(client):
    response = fetch(client, "parcels", tile_at(0.5, 0.5, 16))
    assert response.status_code == 204
    assert response.content == b""


@pytest.mark.parametrize("path", [
    f"{WEB}/21/0/0", f"{WEB}/16/65536/0", f"{WEB}/16/0/65536", f"{WEB}/-1/0/0",
    f"{WEB}/16/-1/0", f"{WEB}/16/0/-5", f"{WEB}/16.0/0/0", f"{WEB}/1e1/0/0", f"{WEB}/abc/0/0",
    f"{WEB}/%D9%A1%D9%A6/0/0", f"{WEB}/99999999999999999999/0/0", f"{WEB}/16/%20/0",
    f"{CRS84}/0/0/2", f"{CRS84}/0/1/0", f"{CRS84}/15/32768/0", f"{CRS84}/20/0/0",
    "Unknown/16/0/0", "webmercatorquad/16/0/0",
])
def test_a_tile_outside_the_matrix_is_a_404_ogc_exception(client, path):
    response = client.get(f"/ogc/collections/parcels/tiles/{path}?f=mvt")
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "NotFound" and body["description"]


def test_a_404_tile_error_is_labelled_json(client):
    response = client.get(f"/ogc/collections/parcels/tiles/{WEB}/21/0/0?f=mvt")
    assert response.headers["content-type"].startswith("application/json")


def test_metadata_of_an_unknown_tile_matrix_set_is_404(client):
    assert client.get("/ogc/collections/parcels/tiles/Unknown/metadata?f=json").status_code == 404


@pytest.mark.parametrize("collection", ["panoramas", "inspections"])
def test_tiles_of_a_collection_without_tiles_are_404(client, collection):
    response = client.get(f"/ogc/collections/{collection}/tiles/{WEB}/16/0/0?f=mvt")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")


def test_world_crs84_quad_has_two_tiles_at_level_zero(client):
    assert client.get(tile_url("parcels", CRS84, 0, 0, 1)).status_code == 204
    assert client.get(tile_url("parcels", CRS84, 0, 0, 2)).status_code == 404


def test_world_crs84_quad_tile_holds_the_parcels_of_its_morecantile_bounds(client, db, centre):
    tile = tile_at(*centre, 15, CRS84)
    bounds = morecantile.tms.get(CRS84).xy_bounds(tile)
    ids = {f["id"] for f in features(fetch(client, "parcels", tile, CRS84), "parcels")}
    margin = (bounds.right - bounds.left) * tiles.BUFFER / tiles.EXTENT
    envelope = "ST_Expand(ST_MakeEnvelope(%s, %s, %s, %s, 4326), %s)"
    inside = parcel_ids(db, envelope, [*bounds, 0.0])
    with_buffer = parcel_ids(db, envelope, [*bounds, margin])
    assert len(inside) > 20
    assert inside <= ids <= with_buffer


def test_crs84_level_z_is_drawn_like_web_mercator_level_z_plus_one(client, db):
    point = point_of(db, "parcels")
    assert fetch(client, "parcels", tile_at(*point, 13, CRS84), CRS84).status_code == 204
    found = features(fetch(client, "parcels", tile_at(*point, 14, CRS84), CRS84), "parcels")
    assert set(found[0]["properties"]) == {"id", "land_use", "zoning_code"}


def test_licence_tiles_never_carry_personal_fields_or_values(client, db, city_bounds):
    personal = db.execute("SELECT holder_national_id, holder_phone FROM licenses").fetchall()
    values = {value.encode() for row in personal for value in row}
    checked = 0
    city = [tile for z in (14, 16) for tile in morecantile.tms.get(WEB).tiles(*city_bounds, [z])]
    close = [tile_at(*point_of(db, "licenses"), z) for z in (18, 20)]
    for tile in city + close:
        response = fetch(client, "licenses", tile)
        if response.status_code == 204:
            continue
        for feature in features(response, "licenses"):
            assert not PERSONAL & set(feature["properties"])
        assert b"holder" not in response.content
        assert not any(value in response.content for value in values)
        checked += 1
    assert checked >= 4


def test_tile_rules_only_name_public_catalogue_fields():
    for name, layer in tiles.TILE_LAYERS.items():
        public = set(LAYERS[name].fields) | {LAYERS[name].id_field}
        assert set(layer.field_zooms()) <= public - PERSONAL, name


@pytest.mark.parametrize("collection", TILED)
def test_tilejson_lists_fields_zooms_bounds_and_a_url_that_resolves(client, db, city_bounds,
                                                                    collection):
    body = client.get(f"/ogc/collections/{collection}/tiles/{WEB}/metadata?f=tilejson").json()
    layer = tiles.TILE_LAYERS[collection]
    assert body["tilejson"] == "3.0.0"
    assert (body["minzoom"], body["maxzoom"]) == (layer.minzoom, 20)
    [vector_layer] = body["vector_layers"]
    assert vector_layer["id"] == collection
    assert set(vector_layer["fields"]) == set(layer.field_zooms())
    assert not PERSONAL & set(vector_layer["fields"])
    west, south, east, north = body["bounds"]
    extent = db.execute(sql.SQL("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                "(SELECT ST_Extent(geom) e FROM {}) x").format(
        sql.Identifier(collection))).fetchone()
    assert west <= extent[0] and south <= extent[1] and east >= extent[2] and north >= extent[3]
    tile = tile_at(*point_of(db, collection, layer.details[0].kinds), layer.minzoom)
    [template] = body["tiles"]
    url = template.format(z=tile.z, x=tile.x, y=tile.y).removeprefix("http://testserver")
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == MVT


def test_ogc_tileset_metadata_describes_layer_limits_and_template(client, db):
    body = client.get(f"/ogc/collections/licenses/tiles/{WEB}/metadata?f=json").json()
    [layer] = body["layers"]
    assert (layer["minTileMatrix"], layer["maxTileMatrix"]) == ("14", "20")
    assert set(layer["propertiesSchema"]["properties"]) == {
        "id", "status", "isic_code", "trade_name_ar", "trade_name_en"}
    item = next(link for link in body["links"] if link["rel"] == "item")
    assert item["type"] == MVT and item["href"].endswith("{tileMatrix}/{tileRow}/{tileCol}?f=mvt")
    limits = {limit["tileMatrix"]: limit for limit in body["tileMatrixSetLimits"]}
    assert sorted(limits, key=int) == [str(z) for z in range(14, 21)]
    tile = tile_at(*point_of(db, "licenses"), 16)
    limit = limits["16"]
    assert limit["minTileRow"] <= tile.y <= limit["maxTileRow"]
    assert limit["minTileCol"] <= tile.x <= limit["maxTileCol"]


def test_crs84_tileset_zoom_range_is_one_level_lower(client):
    body = client.get(f"/ogc/collections/parcels/tiles/{CRS84}/metadata?f=tilejson").json()
    assert (body["minzoom"], body["maxzoom"]) == (14, 19)


def test_tilesets_list_offers_both_matrix_sets_and_the_tile_template(client):
    body = client.get("/ogc/collections/parcels/tiles?f=json").json()
    uris = {tileset["tileMatrixSetURI"].rsplit("/", 1)[-1] for tileset in body["tilesets"]}
    assert uris == {WEB, CRS84}
    item = next(link for link in body["links"] if link["rel"] == "item")
    assert item["href"].endswith(
        "/collections/parcels/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}?f=mvt")


@pytest.mark.parametrize("z", [10, 12])
def test_whole_city_tiles_are_small(client, city_bounds, z):
    for collection in TILED:
        drawn = z >= tiles.TILE_LAYERS[collection].minzoom
        for tile in morecantile.tms.get(WEB).tiles(*city_bounds, [z]):
            response = fetch(client, collection, tile)
            # the city's tiles hold some of every layer drawn at z; below its min zoom: empty
            assert response.status_code == (200 if drawn else 204), (collection, tile)
            assert len(response.content) < 100_000, (collection, tile)


def test_polygons_are_simplified_at_low_zoom(client, db):
    key, lon, lat = db.execute(
        "SELECT id, ST_X(p), ST_Y(p) FROM constraints, LATERAL ST_PointOnSurface(geom) p "
        "ORDER BY ST_NPoints(geom) DESC LIMIT 1").fetchone()
    tile = tile_at(lon, lat, 12)
    stored = db.execute(
        "SELECT ST_NPoints(ST_Intersection(geom, ST_Transform(ST_TileEnvelope(%s, %s, %s), 4326)))"
        " FROM constraints WHERE id = %s", [12, tile.x, tile.y, key]).fetchone()[0]
    found = features(fetch(client, "constraints", tile), "constraints")
    geometry = next(f["geometry"] for f in found if f["id"] == key)
    rings = geometry["coordinates"] if geometry["type"] == "Polygon" else [
        ring for polygon in geometry["coordinates"] for ring in polygon]
    assert stored > 500
    assert sum(len(ring) for ring in rings) < stored / 4


def test_a_polygon_smaller_than_a_pixel_is_dropped(database_url, centre):
    lon, lat = centre
    with psycopg.connect(database_url) as conn:
        key = conn.execute(
            "INSERT INTO constraints (kind, severity, name_ar, name_en, description_ar, "
            "description_en, geom) VALUES ('utility_easement', 'warning', 'ص', 'tiny', 'ص', "
            "'tiny', ST_Multi(ST_Expand(ST_SetSRID(ST_MakePoint(%s, %s), 4326), 0.00001))) "
            "RETURNING id", [lon, lat]).fetchone()[0]

        def ids(z):
            tile = tile_at(lon, lat, z)
            detail = tiles.TILE_LAYERS["constraints"].detail_at(z)
            statement, params = tiles.tile_query(
                LAYERS["constraints"], detail, tiles.Tile(tiles.MATRICES[WEB], z, tile.x, tile.y))
            data = conn.execute(statement, params).fetchone()[0]
            layer = mapbox_vector_tile.decode(bytes(data)).get("constraints", {"features": []})
            return {f["id"] for f in layer["features"]}

        try:
            assert key not in ids(14)       # ~2 m square, a pixel is ~9 m
            assert key in ids(20)           # a pixel is ~15 cm
        finally:
            conn.rollback()                 # never committed: other tests never see it


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_database_down_is_503_for_tiles_and_metadata_still_answers():
    down = f"postgresql://amanat:amanat@127.0.0.1:{_free_port()}/amanat"
    provider = tiles.PostGISVectorTiles({
        "name": "layers.tiles.PostGISVectorTiles", "type": "tile",
        "data": {"database": Database(down, timeout=1), "table": "parcels"},
        "options": {"zoom": {"min": 15, "max": 20}, "schemes": [WEB, CRS84]},
        "format": {"name": "mvt", "mimetype": MVT}})
    with pytest.raises(Unavailable) as raised:
        provider.get_tiles(tileset=WEB, z=16, y=27786, x=41892)
    kind = ErrorMap().kind_of(raised.value)
    assert (kind.status, kind.code) == (503, "ServiceUnavailable")
    body = provider.get_metadata("parcels", "http://testserver/ogc", tileset=WEB,
                                 metadata_format="tilejson", title="Parcels")
    assert "bounds" not in body and body["minzoom"] == 15


@pytest.mark.slow
def test_database_down_is_a_503_json_error_for_a_tile(tmp_path):
    from tests.support.server import Server

    server = Server(tmp_path, f"postgresql://amanat:amanat@127.0.0.1:{_free_port()}/amanat")
    try:
        server.wait()
        response = httpx.get(server.url + tile_url("parcels", WEB, 16, 27786, 41892), timeout=20)
        assert response.status_code == 503
        assert response.json()["code"] == "ServiceUnavailable"
        assert "Traceback" not in response.text and "psycopg" not in response.text
    finally:
        server.stop()
