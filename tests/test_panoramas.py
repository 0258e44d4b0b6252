"""Panoramas: ingest (metadata, sequences, privacy blur, tiles), lookup and the tile endpoints.

The images are rendered street scenes of the test city with EXIF written the way cameras write
it, ingested by the same code as real imagery. Their capture points lie on a local street far
from the sample sequences: sequence A (six images 12 m apart, March 2026, a face on the first
and a plate on the third), sequence B (two newer images beside A, the second without heading)
and a lone image C behind A (December 2025).
"""
import datetime as dt
import hashlib
import io
import math
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import psycopg
import pytest
from PIL import Image
from pyproj import Transformer

from data import panoramas as scenes
from data.imagery import generate_sample_imagery, needs_sample_imagery
from panoramas import privacy
from panoramas.store import panorama_store
from panoramas.ingest import ingest
from panoramas.metadata import Capture, capture_exif
from panoramas.store import levels

RIYADH = dt.timezone(dt.timedelta(hours=3))
WIDTH = 2048
A_TIME = dt.datetime(2026, 3, 1, 8, 0, tzinfo=RIYADH)
B_TIME = dt.datetime(2026, 5, 1, 9, 0, tzinfo=RIYADH)
C_TIME = dt.datetime(2025, 12, 1, 10, 0, tzinfo=RIYADH)
SECTORS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
TO_LONLAT = Transformer.from_crs(32639, 4326, always_xy=True)


class Street:
    """A local street far from the sample sequences: origin, unit direction and normal (UTM)."""

    def __init__(self, db):
        row = db.execute("""
            SELECT s.id, ST_X(ST_StartPoint(s.geom_utm)), ST_Y(ST_StartPoint(s.geom_utm)),
                   ST_X(ST_EndPoint(s.geom_utm)), ST_Y(ST_EndPoint(s.geom_utm))
            FROM streets s WHERE s.kind = 'local' AND ST_Length(s.geom_utm) > 150
              AND NOT EXISTS (SELECT 1 FROM panoramas p
                              WHERE ST_DWithin(p.geom_utm, s.geom_utm, 250))
            ORDER BY s.id LIMIT 1""").fetchone()
        self.id, x0, y0, x1, y1 = row
        length = math.hypot(x1 - x0, y1 - y0)
        self.u = np.array([x1 - x0, y1 - y0]) / length
        self.n = np.array([self.u[1], -self.u[0]])
        self.origin = np.array([x0, y0]) + 40 * self.u + 2.5 * self.n
        self.azimuth = math.degrees(math.atan2(self.u[0], self.u[1])) % 360

    def utm(self, along: float, lateral: float = 0.0) -> np.ndarray:
        """UTM point `along` metres down the street, `lateral` to its right."""
        return self.origin + along * self.u + lateral * self.n

    def lonlat(self, along: float, lateral: float = 0.0) -> tuple[float, float]:
        """Longitude and latitude of a street position."""
        return TO_LONLAT.transform(*self.utm(along, lateral))


def sector(azimuth: float) -> str:
    """The compass sector of an azimuth."""
    return SECTORS[int(((azimuth + 22.5) % 360) // 45)]


# (name, along, lateral, time, heading?, decoration)
SHOTS = [(f"a{i}", 12.0 * i, 0.0, A_TIME + dt.timedelta(seconds=1.5 * i), True,
          {0: "face", 2: "plate"}.get(i)) for i in range(6)]
SHOTS += [("b0", 1.0, 0.4, B_TIME, True, None),
          ("b1", 35.0, 0.4, B_TIME + dt.timedelta(seconds=20), False, None),
          ("c0", -15.0, 0.0, C_TIME, True, None)]


def _render(db, street: Street, along: float, lateral: float, heading: float) -> np.ndarray:
    x, y = street.utm(along, lateral)
    surroundings = scenes.surroundings(db, {"x": x, "y": y}, seed=11)
    return scenes.render(surroundings, heading, WIDTH, seed=int(along * 10) + 1000)


def _write(path, rgb, lon, lat, when, heading):
    capture = Capture(lon, lat, heading, when, "Test 360cam", WIDTH, WIDTH // 2)
    scenes.write_image(path, rgb, capture)


@pytest.fixture(scope="module")
def street(db):
    return Street(db)


@pytest.fixture(scope="module")
def shots(tmp_path_factory, db, street):
    """The test images on disk, and the pixel boxes of the drawn face and plate."""
    folder = tmp_path_factory.mktemp("camera")
    boxes = {}
    for name, along, lateral, when, has_heading, decoration in SHOTS:
        rgb = _render(db, street, along, lateral, street.azimuth)
        if decoration == "face":
            boxes[name] = scenes.draw_face(rgb, 800, 520, 64)
        elif decoration == "plate":
            boxes[name] = scenes.draw_plate(rgb, 1300, 590, 80)
        _write(folder / f"{name}.jpg", rgb, *street.lonlat(along, lateral), when,
               street.azimuth if has_heading else None)
        if decoration:
            np.save(folder / f"{name}.npy", rgb)
    _bad_files(folder, street)
    return folder, boxes


def _bad_files(folder, street):
    """A truncated JPEG, one without GPS, a square one and a text file named .jpg."""
    good = (folder / "a1.jpg").read_bytes()
    (folder / "zz-corrupt.jpg").write_bytes(good[: len(good) * 2 // 3])
    rgb = np.full((512, 1024, 3), 128, np.uint8)
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2026:03:01 08:00:00"
    Image.fromarray(rgb).save(folder / "zz-no-gps.jpg", "JPEG", exif=exif)
    square = Capture(*street.lonlat(5), 0.0, A_TIME, "Test 360cam", 512, 512)
    square_exif, _ = capture_exif(square)
    Image.fromarray(np.full((512, 512, 3), 90, np.uint8)).save(folder / "zz-square.jpg", "JPEG",
                                                               exif=square_exif)
    (folder / "zz-notes.jpg").write_text("not a picture")


@pytest.fixture(scope="module")
def ingested(shots, settings, db):
    """The test images ingested into the test database; removed again afterwards."""
    folder, _ = shots
    report = ingest(settings.database.dsn, panorama_store(settings), folder, settings.panoramas,
                    progress=False)
    ids = {path.rsplit("/", 1)[1].removesuffix(".jpg"): pid for path, pid in report.ingested}
    yield report, ids
    refs = [row[0] for row in db.execute("SELECT image_ref FROM panoramas WHERE id = ANY(%s)",
                                         [list(ids.values())])]
    db.execute("DELETE FROM panoramas WHERE id = ANY(%s)", [list(ids.values())])
    db.execute("SELECT setval(pg_get_serial_sequence('panoramas', 'id'), max(id)) "
               "FROM panoramas")
    for ref in refs:
        panorama_store(settings).remove(ref)


def _row(db, pid: int) -> dict:
    keys = ("sequence_id", "sequence_index", "captured_at", "heading", "lon", "lat", "street_id",
            "image_ref")
    values = db.execute("SELECT sequence_id, sequence_index, captured_at, heading_deg::float,"
                        " ST_X(geom), ST_Y(geom), street_id, image_ref FROM panoramas"
                        " WHERE id = %s", [pid]).fetchone()
    return dict(zip(keys, values, strict=True))


def _top_level(client, pid: int) -> np.ndarray:
    """The most detailed level of a panorama, reassembled from its tiles."""
    description = client.get(f"/panoramas/{pid}/tiles").json()
    level = len(description["levels"]) - 1
    spec = description["levels"][level]
    size = spec["width"] // spec["cols"]
    image = np.zeros((spec["width"] // 2, spec["width"], 3), np.uint8)
    for row in range(spec["rows"]):
        for col in range(spec["cols"]):
            url = description["tileUrl"].format(level=level, col=col, row=row)
            tile = Image.open(io.BytesIO(client.get(url).content)).convert("RGB")
            image[row * size:(row + 1) * size, col * size:(col + 1) * size] = np.asarray(tile)
    return image


def _variance(rgb: np.ndarray, box) -> float:
    x, y, w, h = box
    return float(cv2.cvtColor(np.ascontiguousarray(rgb[y:y + h, x:x + w]),
                              cv2.COLOR_RGB2GRAY).var())


# Ingest

def test_files_without_position_not_2_to_1_or_corrupt_are_reported_and_skipped(ingested):
    report, _ = ingested
    reasons = {path.rsplit("/", 1)[1]: reason for path, reason in report.skipped}
    assert reasons["zz-corrupt.jpg"].startswith("corrupt JPEG")
    assert reasons["zz-no-gps.jpg"] == "no GPS position"
    assert reasons["zz-square.jpg"].startswith("not an equirectangular 2:1 image")
    assert reasons["zz-notes.jpg"].startswith("not an image file")


def test_skipped_files_leave_no_row_and_no_tiles(ingested, settings, db):
    report, ids = ingested
    assert set(ids) == {name for name, *_ in SHOTS}
    store = panorama_store(settings)
    refs = [_row(db, pid)["image_ref"] for pid in ids.values()]
    assert all(store.has(ref) for ref in refs)
    assert not list((store.root / ".staging").glob("*"))


def test_images_are_grouped_into_sequences_by_time_and_distance(ingested, db):
    _, ids = ingested
    rows = {name: _row(db, pid) for name, pid in ids.items()}
    assert len({rows[f"a{i}"]["sequence_id"] for i in range(6)}) == 1
    assert [rows[f"a{i}"]["sequence_index"] for i in range(6)] == list(range(6))
    assert rows["b0"]["sequence_id"] == rows["b1"]["sequence_id"] != rows["a0"]["sequence_id"]
    assert rows["c0"]["sequence_id"] not in {rows["a0"]["sequence_id"], rows["b0"]["sequence_id"]}


def test_rows_carry_the_exif_position_heading_and_time(ingested, db, street):
    _, ids = ingested
    row = _row(db, ids["a3"])
    lon, lat = street.lonlat(36.0)
    assert abs(row["lon"] - lon) < 1e-6 and abs(row["lat"] - lat) < 1e-6
    assert abs(row["heading"] - street.azimuth) < 0.02
    assert row["captured_at"] == A_TIME + dt.timedelta(seconds=4.5)
    assert row["street_id"] == street.id


def test_an_image_without_heading_faces_the_direction_of_travel(ingested, db, street):
    _, ids = ingested
    heading = _row(db, ids["b1"])["heading"]
    assert abs((heading - street.azimuth + 180) % 360 - 180) < 2


def test_ingesting_the_same_files_again_adds_nothing(ingested, shots, settings, db):
    folder, _ = shots
    before = db.execute("SELECT count(*) FROM panoramas").fetchone()[0]
    again = ingest(settings.database.dsn, panorama_store(settings), folder, settings.panoramas,
                   progress=False)
    assert again.ingested == []
    assert sum(reason == "already ingested" for _, reason in again.skipped) == len(SHOTS)
    assert db.execute("SELECT count(*) FROM panoramas").fetchone()[0] == before


# Privacy

def test_the_detector_finds_a_drawn_face_and_a_drawn_plate(db, street):
    rgb = _render(db, street, 0, 0, street.azimuth)
    face = scenes.draw_face(rgb, 600, 520, 60)
    plate = scenes.draw_plate(rgb, 1500, 600, 90)
    found = {box.kind: box for box in privacy.detect(rgb)}
    assert _overlaps(found["face"], face) and _overlaps(found["plate"], plate)


def _overlaps(box, drawn) -> bool:
    x, y, w, h = drawn
    return box.x < x + w and x < box.x + box.w and box.y < y + h and y < box.y + box.h


def test_blurring_removes_the_detail_of_the_detected_face(db, street):
    rgb = _render(db, street, 0, 0, street.azimuth)
    face = scenes.draw_face(rgb, 600, 520, 60)
    blurred = privacy.blur(rgb, privacy.detect(rgb))
    assert _variance(blurred, face) < 0.2 * _variance(rgb, face)
    assert np.array_equal(blurred[:, 1200:1400], rgb[:, 1200:1400])    # the rest is untouched


def test_a_face_on_the_360_seam_is_blurred_on_both_sides(db, street):
    rgb = _render(db, street, 0, 0, street.azimuth)
    _, y, _, h = scenes.draw_face(rgb, WIDTH // 2, 520, 60)
    rgb = np.ascontiguousarray(np.roll(rgb, WIDTH // 2, axis=1))    # face centred on column 0
    blurred = privacy.blur(rgb, privacy.detect(rgb))
    right_edge, left_edge = (WIDTH - 25, y, 25, h), (0, y, 25, h)
    assert _variance(blurred, right_edge) < 0.3 * _variance(rgb, right_edge)
    assert _variance(blurred, left_edge) < 0.3 * _variance(rgb, left_edge)


def test_the_published_face_and_plate_are_blurred(ingested, shots, client):
    folder, boxes = shots
    _, ids = ingested
    for name in ("a0", "a2"):
        original = np.load(folder / f"{name}.npy")
        published = _top_level(client, ids[name])
        assert _variance(published, boxes[name]) < 0.25 * _variance(original, boxes[name]), name


def test_no_unblurred_copy_is_in_the_public_store(ingested, shots, settings, db):
    folder, boxes = shots
    _, ids = ingested
    originals = {hashlib.sha256(p.read_bytes()).digest() for p in folder.glob("*.jpg")}
    store = panorama_store(settings)
    ref = _row(db, ids["a0"])["image_ref"]
    files = [p for p in store.directory(ref).rglob("*") if p.is_file()]
    assert not originals & {hashlib.sha256(p.read_bytes()).digest() for p in files}
    original = np.load(folder / "a0.npy")
    x, y, w, h = boxes["a0"]
    for level, spec in enumerate(store.manifest(ref)["levels"]):
        scale = spec["width"] / WIDTH
        image = _assemble(store.directory(ref) / str(level), spec)
        small = cv2.resize(original, (spec["width"], spec["width"] // 2),
                           interpolation=cv2.INTER_AREA)
        box = (int(x * scale), int(y * scale), int(w * scale), int(h * scale))
        assert _variance(image, box) < 0.3 * _variance(small, box), level
    preview = np.asarray(Image.open(store.directory(ref) / "preview.jpg").convert("RGB"))
    scale = preview.shape[1] / WIDTH
    box = (int(x * scale), int(y * scale), int(w * scale), int(h * scale))
    small = cv2.resize(original, preview.shape[1::-1], interpolation=cv2.INTER_AREA)
    assert _variance(preview, box) < 0.5 * _variance(small, box)


def _assemble(directory, spec) -> np.ndarray:
    size = spec["width"] // spec["cols"]
    image = np.zeros((spec["width"] // 2, spec["width"], 3), np.uint8)
    for row in range(spec["rows"]):
        for col in range(spec["cols"]):
            tile = np.asarray(Image.open(directory / f"{col}_{row}.jpg").convert("RGB"))
            image[row * size:(row + 1) * size, col * size:(col + 1) * size] = tile
    return image


# Tiles for Photo Sphere Viewer

def test_levels_are_power_of_two_grids_twice_as_wide_as_high():
    for level in levels(8000, 512, 8192):
        assert level.cols & (level.cols - 1) == 0 and level.rows & (level.rows - 1) == 0
        assert level.width == 2 * (level.width // 2) and level.cols == 2 * level.rows
        assert level.width // level.cols == 512


def test_the_tiles_description_follows_equirectangular_tiles_adapter(ingested, client):
    _, ids = ingested
    body = client.get(f"/panoramas/{ids['a1']}/tiles").json()
    assert body["levels"] == [{"width": 1024, "cols": 2, "rows": 1},
                              {"width": 2048, "cols": 4, "rows": 2}]
    assert body["width"] == 2 * body["height"] == 2048
    assert body["baseUrl"].endswith("/preview.jpg")
    assert all(f"{{{name}}}" in body["tileUrl"] for name in ("col", "row", "level"))


def test_every_tile_is_a_square_jpeg_cached_for_a_year(ingested, client):
    _, ids = ingested
    body = client.get(f"/panoramas/{ids['a1']}/tiles").json()
    for level, spec in enumerate(body["levels"]):
        for col in range(spec["cols"]):
            for row in range(spec["rows"]):
                response = client.get(body["tileUrl"].format(level=level, col=col, row=row))
                assert response.status_code == 200
                assert response.headers["content-type"] == "image/jpeg"
                assert "immutable" in response.headers["cache-control"]
                assert Image.open(io.BytesIO(response.content)).size == (512, 512)


def test_the_preview_is_a_small_equirectangular_jpeg(ingested, client):
    _, ids = ingested
    response = client.get(f"/panoramas/{ids['a1']}/preview.jpg")
    assert response.status_code == 200
    assert Image.open(io.BytesIO(response.content)).size == (512, 256)


@pytest.mark.parametrize("path", ["/panoramas/999999999", "/panoramas/999999999/tiles",
                                  "/panoramas/999999999/preview.jpg",
                                  "/panoramas/999999999/neighbours",
                                  "/panoramas/images/" + "0" * 32 + "/0/0/0.jpg",
                                  "/panoramas/images/" + "0" * 32 + "/preview.jpg"])
def test_an_unknown_panorama_is_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("key", ["..", "..%2F..%2Fetc", "%2Fetc%2Fpasswd", ".staging",
                                 "0" * 31 + "g"])
def test_image_keys_that_are_not_keys_are_404_like_unknown_ones(ingested, client, key):
    unknown = client.get("/panoramas/images/" + "0" * 32 + "/0/0/0.jpg")
    response = client.get(f"/panoramas/images/{key}/0/0/0.jpg")
    assert response.status_code == 404
    assert response.json()["descriptions"]["en"] in (unknown.json()["descriptions"]["en"],
                                                     "Not Found")


def test_a_tile_beyond_the_level_grid_is_404(ingested, client):
    _, ids = ingested
    tile_url = client.get(f"/panoramas/{ids['a1']}/tiles").json()["tileUrl"]
    assert client.get(tile_url.format(level=0, col=2, row=0)).status_code == 404
    assert client.get(tile_url.format(level=7, col=0, row=0)).status_code == 404


# Lookup

def test_nearest_finds_the_closest_panorama_within_the_radius(ingested, client, street):
    _, ids = ingested
    lon, lat = street.lonlat(36.0, -2.0)
    body = client.get("/panoramas/nearest", params={"lon": lon, "lat": lat, "radius": 30}).json()
    assert body["id"] == ids["a3"]
    assert 1.5 < body["distance_m"] < 2.5


def test_nearest_with_nothing_within_the_radius_is_404(ingested, client, street):
    lon, lat = street.lonlat(36.0, 120.0)
    response = client.get("/panoramas/nearest", params={"lon": lon, "lat": lat, "radius": 20})
    assert response.status_code == 404


def test_nearest_honours_the_capture_date_filter(ingested, client, street):
    _, ids = ingested
    lon, lat = street.lonlat(36.0, -2.0)
    body = client.get("/panoramas/nearest", params={"lon": lon, "lat": lat, "radius": 30,
                                                    "after": "2026-04-01"}).json()
    assert body["id"] == ids["b1"]


def test_neighbours_are_previous_and_next_in_the_sequence(ingested, client):
    _, ids = ingested
    body = client.get(f"/panoramas/{ids['a2']}/neighbours").json()
    assert body["previous"]["id"] == ids["a1"] and body["next"]["id"] == ids["a3"]
    first = client.get(f"/panoramas/{ids['a0']}/neighbours").json()
    assert first["previous"] is None and first["next"]["id"] == ids["a1"]


def test_a_sector_prefers_the_same_sequence_over_a_nearer_newer_image(ingested, client, street):
    _, ids = ingested     # from a2 (24 m): a3 at 12 m vs b1 (newer) at 11 m, same 10 m band
    sectors = client.get(f"/panoramas/{ids['a2']}/neighbours").json()["sectors"]
    assert sectors[sector(street.azimuth)]["id"] == ids["a3"]


def test_a_sector_prefers_the_newest_among_other_sequences(ingested, client, street):
    _, ids = ingested     # from c0 (-15 m): a0 at 15 m (March) vs b0 at 16 m (May)
    sectors = client.get(f"/panoramas/{ids['c0']}/neighbours").json()["sectors"]
    assert sectors[sector(street.azimuth)]["id"] == ids["b0"]
    assert sectors[sector(street.azimuth + 180)] is None


def test_neighbours_honour_the_capture_date_filter(ingested, client, street):
    _, ids = ingested
    sectors = client.get(f"/panoramas/{ids['c0']}/neighbours",
                         params={"before": "2026-04-01T00:00:00Z"}).json()["sectors"]
    assert sectors[sector(street.azimuth)]["id"] == ids["a0"]


def test_a_reversed_date_range_is_400(client):
    response = client.get("/panoramas/nearest", params={
        "lon": 50.1, "lat": 26.4, "after": "2026-05-01", "before": "2026-01-01"})
    assert response.status_code == 400


def test_the_panoramas_layer_is_readable_through_ogc_api(ingested, client):
    _, ids = ingested
    response = client.get(f"/ogc/collections/panoramas/items/{ids['a1']}?f=json")
    assert response.status_code == 200
    assert response.json()["properties"]["sequence_index"] == 1


# The sample city

@pytest.fixture(scope="module")
def sample_city(tmp_path_factory):
    """A small sample city in a scratch database, with its imagery made as `make run` does."""
    from data.load import load_sample_city
    from geoserver.settings import DatabaseSettings, ServerSettings, Settings
    from layers import migrate
    from tests.support.databases import configured_url, scratch_database

    with scratch_database(configured_url()) as url:
        migrate.upgrade(url)
        load_sample_city(url, parcels=500, seed=3, progress=False)
        settings = Settings(database=DatabaseSettings(DATABASE_URL=url),
                            server=ServerSettings(state_dir=tmp_path_factory.mktemp("city")))
        before = needs_sample_imagery(settings)
        made = generate_sample_imagery(settings, progress=False, panorama_limit=15)
        yield settings, made, before


def test_the_sample_city_gets_rasters_and_panoramas(sample_city):
    settings, made, before = sample_city
    assert before and not needs_sample_imagery(settings)
    assert made["rasters"] == 3 and 0 < made["panoramas"] <= 15


def test_every_sample_panorama_row_has_its_image(sample_city):
    settings, _, _ = sample_city
    store = panorama_store(settings)
    with psycopg.connect(settings.database.dsn) as conn:
        refs = [row[0] for row in conn.execute("SELECT image_ref FROM panoramas")]
    assert refs and all(store.has(ref) for ref in refs)


def test_the_sample_faces_and_plates_are_detected_and_blurred(sample_city):
    _, made, _ = sample_city
    drawn = sum(1 for i in range(made["panoramas"]) if i % scenes.FACE_EVERY == 0) + \
        sum(1 for i in range(made["panoramas"]) if i % scenes.PLATE_EVERY == 0)
    assert made["blurred"] >= drawn


def test_the_ingest_command_reports_skipped_files(tmp_path, settings):
    _gps_less_image(tmp_path / "camera")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMANAT_")}
    env.update(DATABASE_URL=settings.database.dsn, AMANAT_STATE_DIR=str(tmp_path / "state"))
    done = subprocess.run([sys.executable, "-m", "geoserver.cli", "panoramas", "ingest",
                           str(tmp_path / "camera")], cwd=Path(__file__).parent.parent, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "no-gps.jpg: no GPS position" in done.stderr
    assert "ingested 0 panorama(s)" in done.stdout and "1 skipped" in done.stdout


def _gps_less_image(folder):
    folder.mkdir()
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2026:03:01 08:00:00"
    Image.fromarray(np.full((256, 512, 3), 128, np.uint8)).save(folder / "no-gps.jpg", "JPEG",
                                                                exif=exif)
