"""/raster: sample rasters line up with the layers; datasets are addressed by registry id only."""
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import morecantile
import numpy as np
import pytest
import rasterio
from PIL import Image
from rasterio.transform import from_origin

from data.rasters import SAMPLES, generate_sample_rasters
from geoserver import raster as raster_routes
from layers.rasters import raster_store

ROOT = Path(__file__).resolve().parent.parent
WMQ = morecantile.tms.get("WebMercatorQuad")
SAME_404 = {"type": "NotFound", "code": "NotFound", "title": "غير موجود",
            "description": "مجموعة البيانات الشبكية غير موجودة",
            "descriptions": {"ar": "مجموعة البيانات الشبكية غير موجودة",
                             "en": "raster dataset not found"}}


@pytest.fixture(scope="module")
def sample_rasters(settings, db):
    """The three sample rasters of the test city, generated into the app's state directory."""
    made = generate_sample_rasters(settings.database.dsn, raster_store(settings), progress=False)
    yield {r.id: r for r in made}
    db.execute("DELETE FROM rasters WHERE source = 'sample'")


def _centre_tile(raster, zoom: int):
    west, south, east, north = raster.bounds
    return WMQ.tile((west + east) / 2, (south + north) / 2, zoom)


def _value(client, dataset: str, lon: float, lat: float) -> list[float]:
    response = client.get(f"/raster/{dataset}/point/{lon},{lat}")
    assert response.status_code == 200, response.text
    return response.json()["values"]


def _stats_mean(client, dataset: str, geojson: str | None = None) -> float:
    if geojson is None:
        response = client.get(f"/raster/{dataset}/statistics")
    else:
        feature = {"type": "Feature", "properties": {}, "geometry": json.loads(geojson)}
        response = client.post(f"/raster/{dataset}/statistics", json=feature)
    assert response.status_code == 200, response.text
    body = response.json()
    stats = body["properties"]["statistics"] if "properties" in body else body
    return stats["b1"]["mean"]


# Listing and formats

def test_listing_names_the_sample_datasets_with_their_bounds(client, sample_rasters, db):
    listed = {d["id"]: d for d in client.get("/raster").json()["datasets"]}
    assert {i for i, _, _ in SAMPLES} <= set(listed)
    city = db.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                      "(SELECT ST_Extent(geom) e FROM parcels) x").fetchone()
    west, south, east, north = listed["orthophoto"]["bounds"]
    assert west < city[0] < city[2] < east and south < city[1] < city[3] < north
    assert listed["elevation"]["kind"] == "elevation"


@pytest.mark.parametrize("extension, media_type, magic", [
    ("png", "image/png", b"\x89PNG"), ("jpg", "image/jpeg", b"\xff\xd8\xff"),
    ("webp", "image/webp", b"RIFF")])
def test_orthophoto_tiles_come_as_png_jpeg_and_webp(client, sample_rasters, extension,
                                                     media_type, magic):
    tile = _centre_tile(sample_rasters["orthophoto"], 16)
    response = client.get(f"/raster/orthophoto/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}"
                          f".{extension}")
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.content.startswith(magic)
    assert Image.open(io.BytesIO(response.content)).size == (256, 256)


def test_tile_responses_are_cacheable_and_errors_are_not(client, sample_rasters):
    tile = _centre_tile(sample_rasters["orthophoto"], 15)
    ok = client.get(f"/raster/orthophoto/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}.png")
    missing = client.get("/raster/nothing-here/tiles/WebMercatorQuad/15/1/1.png")
    assert "max-age=" in ok.headers["cache-control"]
    assert missing.headers["cache-control"] == "no-store"


def test_a_repeated_tile_comes_from_the_tile_cache(client, sample_rasters):
    tile = _centre_tile(sample_rasters["hillshade"], 14)
    url = f"/raster/hillshade/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}.png"
    first, second = client.get(url), client.get(url)
    assert "x-tile-cache" not in first.headers
    assert second.headers["x-tile-cache"] == "hit"
    assert second.content == first.content


def test_tilejson_points_at_the_dataset_tiles(client, sample_rasters):
    body = client.get("/raster/orthophoto/WebMercatorQuad/tilejson.json").json()
    assert body["tiles"][0].startswith(
        "http://testserver/raster/orthophoto/tiles/WebMercatorQuad/{z}/{x}/{y}")
    assert body["minzoom"] == sample_rasters["orthophoto"].minzoom


def test_wmts_capabilities_name_the_dataset_tiles(client, sample_rasters):
    response = client.get("/raster/orthophoto/WebMercatorQuad/WMTSCapabilities.xml")
    assert response.status_code == 200
    assert "http://testserver/raster/orthophoto/tiles/WebMercatorQuad" in response.text


def test_preview_is_a_small_image(client, sample_rasters):
    response = client.get("/raster/hillshade/preview.png?max_size=256")
    assert response.status_code == 200
    assert max(Image.open(io.BytesIO(response.content)).size) == 256


# The rasters agree with the vector layers

def test_orthophoto_shows_roofs_on_the_parcels(client, sample_rasters, db):
    points = db.execute("""
        SELECT ST_X(p), ST_Y(p) FROM (
          SELECT ST_Transform(ST_PointOnSurface(ST_Buffer(geom_utm, -6)), 4326) p FROM parcels
          WHERE land_use = 'residential' AND area_m2 > 400 ORDER BY id LIMIT 5) x""").fetchall()
    brightness = [np.mean(_value(client, "orthophoto", lon, lat)) for lon, lat in points]
    assert min(brightness) > 165, brightness


def test_orthophoto_shows_asphalt_on_the_streets(client, sample_rasters, db):
    points = db.execute("""
        SELECT ST_X(p), ST_Y(p) FROM (
          SELECT ST_Transform(ST_LineInterpolatePoint(
                   ST_OffsetCurve(geom_utm, width_m::float / 4), 0.37), 4326) p
          FROM streets WHERE kind = 'arterial' ORDER BY id LIMIT 5) x""").fetchall()
    brightness = [np.mean(_value(client, "orthophoto", lon, lat)) for lon, lat in points]
    assert max(brightness) < 120, brightness


def _points(db, area_sql: str, count: int = 20) -> list[tuple[float, float]]:
    rows = db.execute(f"""
        SELECT ST_X(p.geom), ST_Y(p.geom) FROM ST_Dump(ST_Transform(ST_GeneratePoints(
          ({area_sql}), {count}, 7), 4326)) p""").fetchall()
    return [tuple(row) for row in rows]


CORE = "SELECT geom_utm FROM constraints WHERE kind = 'flood_risk' AND risk_level = 'high'"


def test_the_wadi_is_a_depression_of_the_elevation_model(client, sample_rasters, db):
    bed = _points(db, CORE)
    banks = _points(db, f"""
        SELECT ST_Intersection(ST_Difference(ST_Buffer(g, 320), ST_Buffer(g, 220)),
          (SELECT ST_SetSRID(ST_Extent(geom_utm)::geometry, 32639) FROM parcels))
        FROM ({CORE}) c (g)""")
    height = {name: np.mean([_value(client, "elevation", *p)[0] for p in points])
              for name, points in (("bed", bed), ("banks", banks))}
    assert height["banks"] - height["bed"] > 2.0, height


def test_statistics_over_a_polygon_are_open_to_the_public(client, sample_rasters, db):
    (core,) = db.execute("SELECT ST_AsGeoJSON(geom) FROM constraints"
                         " WHERE kind = 'flood_risk' AND risk_level = 'high'").fetchone()
    assert _stats_mean(client, "elevation", core) < _stats_mean(client, "elevation") - 2.0


def test_elevation_at_a_point_is_metres_above_sea_level(client, sample_rasters, db):
    lon, lat = db.execute("SELECT ST_X(geom), ST_Y(geom) FROM facilities LIMIT 1").fetchone()
    (height,) = _value(client, "elevation", lon, lat)
    assert 0 < height < 40


# Bad input

def test_a_point_outside_the_raster_is_404(client, sample_rasters):
    response = client.get("/raster/elevation/point/10.0,10.0")
    assert response.status_code == 404
    assert response.json()["descriptions"]["en"] == "point outside the dataset"


@pytest.mark.parametrize("zoom", [2, 25])
def test_a_zoom_outside_the_dataset_range_is_404(client, sample_rasters, zoom):
    tile = _centre_tile(sample_rasters["orthophoto"], zoom)
    response = client.get(f"/raster/orthophoto/tiles/WebMercatorQuad/{zoom}/{tile.x}/{tile.y}.png")
    assert response.status_code == 404


def test_an_unknown_dataset_is_404_with_the_message_of_any_other(client, sample_rasters,
                                                                 settings):
    stored = sample_rasters["orthophoto"].file       # a file that does exist in the store
    answers = [client.get(f"/raster/{name}/info") for name in
               ("no-such-dataset", stored, "passwd", "etc", "ORTHOPHOTO")]
    assert (raster_store(settings) / stored).is_file()
    assert {r.status_code for r in answers} == {404}
    assert all(r.json() == SAME_404 for r in answers)


@pytest.mark.parametrize("existing, missing", [
    ("/etc/passwd", "/etc/no-such-file"),
    ("file:///etc/passwd", "file:///etc/no-such-file"),
    ("/vsicurl/http://127.0.0.1:9/a.tif", "/vsicurl/http://127.0.0.1:9/b.tif"),
    ("https://example.com/cog.tif", "https://example.com/none.tif"),
    ("../../../../etc/passwd", "../../../../etc/no-such-file"),
])
def test_urls_and_paths_in_parameters_are_refused_the_same_way(client, sample_rasters,
                                                                existing, missing):
    answers = [client.get("/raster/orthophoto/info", params={"url": value})
               for value in (existing, missing)]
    answers += [client.get("/raster/orthophoto/tiles/WebMercatorQuad/15/1/1.png",
                           params={"expression": value}) for value in (existing, missing)]
    assert {r.status_code for r in answers} == {400}
    assert len({r.text for r in answers}) == 1


@pytest.mark.parametrize("encoded", ["..%2F..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd",
                                     "%2e%2e", "%2Fvsicurl%2Fhttp:%2F%2F127.0.0.1:9%2Fa.tif"])
def test_traversal_in_the_dataset_id_is_404(client, sample_rasters, encoded):
    response = client.get(f"/raster/{encoded}/info")
    assert response.status_code == 404
    assert "passwd" not in response.text and "root:" not in response.text


@pytest.mark.parametrize("query", ["bidx=7", "expression=b1*b9", "rescale=a,b",
                                   "colormap_name=nope", "resampling=foo", "buffer=1000"])
def test_malformed_rendering_parameters_are_400(client, sample_rasters, query):
    tile = _centre_tile(sample_rasters["orthophoto"], 16)
    response = client.get(f"/raster/orthophoto/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}"
                          f".png?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "InvalidParameterValue"


def test_an_unknown_coordinate_system_is_400(client, sample_rasters):
    response = client.get("/raster/elevation/point/50.1,26.4?coord_crs=EPSG:99999")
    assert response.status_code == 400


def test_oversized_reads_are_refused(client, sample_rasters):
    response = client.get("/raster/orthophoto/preview.png?max_size=100000")
    assert response.status_code == 400


# Found by the long fuzz run: each answered 500 from inside TiTiler before.

@pytest.mark.parametrize("point", ["0.0,-1.79e308", "1e308,1e308", "181,26", "nan,26.4",
                                   "1e300,26?coord_crs=EPSG:32639"])
def test_a_point_with_impossible_coordinates_is_400(client, sample_rasters, point):
    response = client.get(f"/raster/elevation/point/{point}")
    assert response.status_code == 400
    assert "coordinates" in response.json()["descriptions"]["en"]


@pytest.mark.parametrize("query", [
    "algorithm=cast&p=" + "9" * 40, "algorithm=cast&p=1000", "p=-5",
    "algorithm=cast&algorithm_params=" + json.dumps({"output_min": [10 ** 400]}),
    "histogram_bins=" + "9" * 40, "histogram_range=0," + "9" * 400])
def test_statistics_parameters_that_overflow_are_400(client, sample_rasters, query):
    response = client.get(f"/raster/elevation/statistics?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "InvalidParameterValue"


def _feature(geometry) -> dict:
    return {"type": "Feature", "properties": {}, "geometry": geometry}


@pytest.mark.parametrize("body", [
    _feature({"type": "Point", "coordinates": [1e308, -1e308]}),
    _feature({"type": "Polygon", "coordinates": [[[0, 0], [1e308, 0], [0, 1e308], [0, 0]]]}),
    _feature({"type": "Point", "coordinates": [10 ** 400, 0]}),
    _feature({"type": "GeometryCollection", "geometries": []}),
    _feature(None),
    _feature({"type": "Polygon", "coordinates": []}),
    _feature({"type": "LineString", "coordinates": [[0, 0, 0, 0], [1, 1]]}),
    {"type": "FeatureCollection", "features": [
        _feature({"type": "MultiPoint", "coordinates": [[50, 26]] * 10001})]},
])
def test_a_wild_geojson_statistics_body_is_400(client, sample_rasters, body):
    response = client.post("/raster/elevation/statistics", json=body)
    assert response.status_code == 400
    assert response.json()["code"] == "InvalidParameterValue"


STATISTICS_BODY = "the body must be a GeoJSON Feature or FeatureCollection"
GEOMETRY_KIND = ("each feature needs a Point, LineString or Polygon geometry "
                 "(or their Multi- forms)")


@pytest.mark.parametrize("body, message", [
    (_feature({"type": {"x": 1}, "coordinates": [50.1, 26.4]}), GEOMETRY_KIND),   # a 500 before
    (_feature({"type": ["Point"], "coordinates": [50.1, 26.4]}), GEOMETRY_KIND),
    (_feature({"type": 7, "coordinates": [50.1, 26.4]}), GEOMETRY_KIND),
    (_feature({"coordinates": [50.1, 26.4]}), GEOMETRY_KIND),
    (_feature("Point"), GEOMETRY_KIND),
    ([_feature({"type": "Point", "coordinates": [50.1, 26.4]})], STATISTICS_BODY),
    ("Feature", STATISTICS_BODY),
    ({"type": {"Feature": 1}}, STATISTICS_BODY),
    ({"type": "Point", "coordinates": [50.1, 26.4]}, STATISTICS_BODY),
    ({"type": "FeatureCollection", "features": {"0": {}}},
     "a FeatureCollection needs a 'features' array"),
    ({"type": "FeatureCollection", "features": [7]},
     "each feature must be a GeoJSON Feature (type 'Feature')"),
    ({"type": "FeatureCollection", "features": [{"type": {"a": 1}}]},
     "each feature must be a GeoJSON Feature (type 'Feature')"),
    ({**_feature({"type": "Point", "coordinates": [50.1, 26.4]}), "properties": "x"},
     "feature properties must be an object or null"),
    ({**_feature({"type": "Point", "coordinates": [50.1, 26.4]}), "bbox": {"w": 1}},
     "a GeoJSON bbox must be 4 or 6 finite numbers"),
    (_feature({"type": "Point", "coordinates": [50.1, 26.4], "bbox": [1, 2, "3", 4]}),
     "a GeoJSON bbox must be 4 or 6 finite numbers"),
    (_feature({"type": "Point", "coordinates": {"x": 50.1}}),
     "geometry coordinates must be non-empty arrays"),
    (_feature({"type": "Point", "coordinates": ["50.1", "26.4"]}),
     "a position must be 2 or 3 numbers"),
    (_feature({"type": "Polygon", "coordinates": [[{"x": 1}]]}),
     "geometry coordinates must be non-empty arrays"),
])
def test_a_malformed_statistics_body_is_a_400_naming_the_problem(client, sample_rasters, body,
                                                                 message):
    response = client.post("/raster/elevation/statistics", json=body)
    assert response.status_code == 400, response.text
    body = response.json()
    assert {key: body[key] for key in ("type", "code")} == {
        "type": "InvalidParameterValue", "code": "InvalidParameterValue"}
    assert body["descriptions"]["en"] == message
    assert body["description"] == body["descriptions"]["ar"]


@pytest.mark.parametrize("content, message", [
    (b"", STATISTICS_BODY), (b"NaN", STATISTICS_BODY),
    (b"{", "the body is not valid JSON"), (b"\xff\xfe", "the body is not valid JSON")])
def test_a_statistics_body_that_is_not_json_is_a_400(client, sample_rasters, content, message):
    response = client.post("/raster/elevation/statistics", content=content,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["descriptions"]["en"] == message


# OpenAPI

def test_every_imagery_route_is_in_the_openapi_document(client, settings, sample_rasters):
    from panoramas.routes import build_router as panorama_router
    from panoramas.store import panorama_store

    db = client.app.state.services.db
    registry = raster_routes.Registry(db, raster_store(settings), 5)
    tiler = raster_routes.tiler_factory(settings, registry)
    expected = {"/raster"} | {raster_routes.PREFIX + r.path_format for r in tiler.router.routes}
    expected |= {r.path_format for r in panorama_router(db, panorama_store(settings), settings.panoramas).routes}
    documented = client.get("/openapi.json").json()["paths"]
    assert len(expected) > 20
    assert expected <= set(documented), expected - set(documented)


def test_no_imagery_route_takes_a_url_parameter(client):
    document = client.get("/openapi.json").json()
    names = {p.get("name") for op in document["paths"].values() for method in op.values()
             if isinstance(method, dict) for p in method.get("parameters", [])}
    assert "url" not in names


# amanat raster add

def _georeferenced_tif(path: Path, size: int = 600) -> None:
    pixels = np.random.default_rng(3).integers(0, 255, (3, size, size), dtype=np.uint8)
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=3,
                       dtype="uint8", crs="EPSG:32639",
                       transform=from_origin(412000, 2918000, 0.5, 0.5)) as dst:
        dst.write(pixels)


def _amanat(settings, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMANAT_")}
    env.update(DATABASE_URL=settings.database.dsn,
               AMANAT_STATE_DIR=str(settings.server.state_dir))
    return subprocess.run([sys.executable, "-m", "geoserver.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_raster_add_converts_to_cog_and_serves_it(client, settings, tmp_path, db):
    source = tmp_path / "survey.tif"
    _georeferenced_tif(source)
    done = _amanat(settings, "raster", "add", str(source), "--id", "survey-2026",
                   "--title", "Survey 2026", "--kind", "orthophoto")
    try:
        assert done.returncode == 0, done.stderr
        assert "100%" in done.stderr                 # the tqdm progress bar
        (file,) = db.execute("SELECT file FROM rasters WHERE id = 'survey-2026'").fetchone()
        with rasterio.open(raster_store(settings) / file) as cog:
            assert cog.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        info = client.get("/raster/survey-2026/info")
        assert info.status_code == 200 and info.json()["count"] == 3
    finally:
        _amanat(settings, "raster", "remove", "survey-2026")


def test_raster_add_refuses_a_file_without_georeferencing(settings, tmp_path):
    plain = tmp_path / "photo.png"
    Image.new("RGB", (64, 64)).save(plain)
    done = _amanat(settings, "raster", "add", str(plain), "--id", "photo", "--title", "Photo")
    assert done.returncode == 2
    assert "no georeferencing" in done.stderr
