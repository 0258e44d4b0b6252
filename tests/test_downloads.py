"""Downloads (issue 15 part 1 and 2): whole layers as files and filtered items in file formats,
read back with pyogrio (GDAL) from the real database."""
import csv
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pyogrio
import pytest
from pyogrio import raw

FORMATS = ("gpkg", "fgb", "geojson", "csv", "shp.zip", "kml")
PERSONAL = ("holder_national_id", "holder_phone")


def _open(tmp_path: Path, name: str, body: bytes) -> str:
    """Save a download and give the path GDAL opens it by."""
    path = tmp_path / name
    path.write_bytes(body)
    return f"/vsizip/{path}" if name.endswith(".zip") else str(path)


def _contents(name: str, body: bytes) -> bytes:
    """Every byte of a download (a zip's members uncompressed)."""
    if not name.endswith(".zip"):
        return body
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return b"".join(archive.read(member) for member in archive.namelist())


def _columns(path: str) -> dict:
    """Field name → values of the first layer (KML: as the LIBKML reader gives them)."""
    meta, _, _, values = raw.read(path)
    return dict(zip(meta["fields"], values))


def _bump(db, parcel_id: int = 1) -> None:
    """A write to the parcels layer (its version moves)."""
    db.execute("UPDATE parcels SET plan_no = plan_no WHERE id = %s", [parcel_id])


def _after_write(client, path: str, etag: str):
    """The download once the server has seen the write (its version listener, milliseconds)."""
    deadline = time.monotonic() + 5
    while (response := client.get(path, headers={"If-None-Match": etag})).status_code == 304:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return response


@pytest.fixture(scope="module")
def holders(db) -> set[str]:
    """The licence holders' personal values stored in the database."""
    rows = db.execute("SELECT holder_national_id, holder_phone FROM licenses "
                      "WHERE holder_national_id IS NOT NULL LIMIT 50").fetchall()
    assert rows, "the sample city has licence holders"
    return {value for row in rows for value in row if value}


@pytest.mark.parametrize("suffix", FORMATS)
def test_whole_licence_layer_reads_back_with_arabic_and_no_personal_data(
        client, db, tmp_path, holders, suffix):
    response = client.get(f"/downloads/licenses.{suffix}")
    assert response.status_code == 200, response.text
    path = _open(tmp_path, f"licenses.{suffix}", response.content)
    assert pyogrio.read_info(path)["features"] == db.execute(
        "SELECT count(*) FROM licenses").fetchone()[0]
    columns = _columns(path)
    arabic = db.execute("SELECT trade_name_ar FROM licenses ORDER BY id LIMIT 1").fetchone()[0]
    name_field = "trade_name" if suffix == "shp.zip" else "trade_name_ar"
    assert arabic in set(columns[name_field])
    assert not set(PERSONAL) & set(columns)
    everything = _contents(suffix, response.content)
    assert not [value for value in holders if value.encode() in everything]
    assert response.headers["content-disposition"] == f'attachment; filename="licenses.{suffix}"'


def test_csv_has_a_bom_wkt_and_neutralised_formulas(client, db):
    original = db.execute("SELECT trade_name_en FROM licenses WHERE id = 1").fetchone()[0]
    etag = client.get("/downloads/licenses.csv").headers["etag"]
    db.execute("UPDATE licenses SET trade_name_en = '=HYPERLINK(\"http://x\")' WHERE id = 1")
    try:
        response = _after_write(client, "/downloads/licenses.csv", etag)
    finally:
        db.execute("UPDATE licenses SET trade_name_en = %s WHERE id = 1", [original])
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    first = next(row for row in rows if row["id"] == "1")
    assert first["trade_name_en"] == "'=HYPERLINK(\"http://x\")"
    assert first["geometry_wkt"].startswith("POINT(")
    assert not [row for row in rows for cell in row.values() if cell[:1] in "=+@"]


def test_shapefile_zip_has_utf8_cpg_field_map_and_readme(client):
    response = client.get("/downloads/zoning.shp.zip")
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(archive.namelist())
    assert {"zoning.shp", "zoning.shx", "zoning.dbf", "zoning.prj", "zoning.cpg",
            "fields.csv", "README.txt"} <= names
    assert archive.read("zoning.cpg").strip() == b"UTF-8"
    mapping = dict(list(csv.reader(io.StringIO(archive.read("fields.csv").decode())))[1:])
    assert mapping["max_coverage_pct"] == "max_covera"
    assert mapping["setback_front_m"] == "setback_fr"
    assert all(len(short) <= 10 for short in mapping.values())
    assert "CC-BY-4.0" in archive.read("README.txt").decode()


def test_geopackage_carries_licence_and_attribution(client, tmp_path):
    path = _open(tmp_path, "parcels.gpkg", client.get("/downloads/parcels.gpkg").content)
    info = pyogrio.read_info(path)
    assert info["dataset_metadata"]["LICENSE"] == "CC-BY-4.0"
    assert "Amanat" in info["dataset_metadata"]["ATTRIBUTION"]
    assert info["crs"] == "EPSG:4326"


def test_kml_placemarks_are_named_by_the_layer_title(client, db):
    text = client.get("/downloads/licenses.kml").text
    name = db.execute("SELECT trade_name_en FROM licenses ORDER BY id LIMIT 1").fetchone()[0]
    assert f"<name>{name}</name>" in text.replace("&amp;", "&")


def test_head_of_a_download_has_its_headers_and_no_body(client):
    response = client.head("/downloads/districts.fgb")
    assert response.status_code == 200 and response.content == b""
    assert int(response.headers["content-length"]) > 0 and response.headers["etag"]


def test_geojson_download_is_a_feature_collection_with_its_licence(client, db):
    document = client.get("/downloads/districts.geojson").json()
    assert document["type"] == "FeatureCollection" and document["license"] == "CC-BY-4.0"
    assert len(document["features"]) == db.execute("SELECT count(*) FROM districts").fetchone()[0]


def test_etag_gives_304_and_a_write_gives_a_new_file(client, db):
    first = client.get("/downloads/parcels.fgb")
    etag = first.headers["etag"]
    assert first.headers["last-modified"]
    again = client.get("/downloads/parcels.fgb", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    original = db.execute("SELECT plan_no FROM parcels WHERE id = 1").fetchone()[0]
    db.execute("UPDATE parcels SET plan_no = 'PLAN-REBUILT' WHERE id = 1")
    try:
        after = _after_write(client, "/downloads/parcels.fgb", etag)
        fresh = client.get("/downloads/parcels.csv")
    finally:
        db.execute("UPDATE parcels SET plan_no = %s WHERE id = 1", [original])
    assert after.status_code == 200 and after.headers["etag"] != etag
    assert b"PLAN-REBUILT" in after.content and b"PLAN-REBUILT" in fresh.content


def test_range_gives_206_and_beyond_the_end_416_json(client):
    whole = client.get("/downloads/districts.gpkg").content
    part = client.get("/downloads/districts.gpkg", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == whole[:100]
    assert part.headers["content-range"] == f"bytes 0-99/{len(whole)}"
    beyond = client.get("/downloads/districts.gpkg",
                        headers={"Range": f"bytes={len(whole)}-", "Accept-Language": "en"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(whole)}"
    body = beyond.json()
    assert "beyond the end" in body["descriptions"]["en"] and body["descriptions"]["ar"]


@pytest.mark.parametrize("path", ["/downloads/nowhere.gpkg", "/downloads/parcels.xlsx",
                                  "/downloads/parcels", "/downloads/municipalities.gpkg",
                                  "/downloads/.gpkg", "/downloads/parcels.shp"])
def test_unknown_collection_or_format_is_404_json(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert set(response.json()) == {"type", "code", "title", "description", "descriptions"}


BUILDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from layers import exports
    from layers.catalogue import LAYERS
    from layers.database import Database
    from layers.export_files import ExportFiles

    def slow(conn, selection, fmt, path, workdir):
        Path(path).write_bytes(b"partial GeoPackage")
        print("building", flush=True)
        time.sleep(60)

    exports.write_file = slow
    ExportFiles(Database(sys.argv[1]), Path(sys.argv[2])).get(LAYERS["parcels"], "gpkg",
                                                              int(sys.argv[3]))
""")


def test_a_build_killed_midway_leaves_the_previous_file_served(client, db, settings, tmp_path):
    before = client.get("/downloads/parcels.gpkg")
    assert before.status_code == 200
    _bump(db)
    version = db.execute("SELECT version FROM layer_versions WHERE layer = 'parcels'"
                         ).fetchone()[0]
    time.sleep(0.2)   # the server's version listener sees the write
    root = Path(settings.server.state_dir) / "downloads"
    builder = subprocess.Popen(
        [sys.executable, "-c", BUILDER, settings.database.dsn, str(root), str(version)],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)
    try:
        assert builder.stdout.readline().strip() == "building"
        during = client.get("/downloads/parcels.gpkg")   # the other process holds the build
        assert during.content == before.content
        assert during.headers["etag"] == before.headers["etag"]
    finally:
        os.kill(builder.pid, signal.SIGKILL)
        builder.wait()
    assert not (root / "parcels" / f"parcels-v{version}.gpkg").exists()
    assert list((root / "parcels").glob(".parcels.gpkg.*"))    # the killed build's leftovers
    after = client.get("/downloads/parcels.gpkg")
    assert after.headers["etag"] == f'"parcels-v{version}-gpkg"'
    path = _open(tmp_path, "after.gpkg", after.content)
    assert pyogrio.read_info(path)["features"] == db.execute(
        "SELECT count(*) FROM parcels").fetchone()[0]
    assert not list((root / "parcels").glob(".parcels.gpkg.*"))


# --- filtered downloads from the items endpoint ------------------------------------------------

ITEMS = "/ogc/collections/parcels/items"
BBOX = "50.09,26.37,50.12,26.39"


def _matched(client, **params) -> int:
    """numberMatched of the same selection as GeoJSON."""
    return client.get(ITEMS, params={**params, "limit": 1, "f": "json"}).json()["numberMatched"]


def test_streamed_csv_honours_bbox_and_properties(client):
    response = client.get(ITEMS, params={"f": "csv", "bbox": BBOX,
                                         "properties": "parcel_no,land_use"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == _matched(client, bbox=BBOX) > 0
    assert set(rows[0]) == {"id", "parcel_no", "land_use", "geometry_wkt"}


def test_streamed_geojsonseq_honours_a_cql2_filter(client):
    response = client.get(ITEMS, params={"f": "geojsonseq", "filter": "land_use = 'commercial'"})
    assert response.status_code == 200, response.text
    records = [json.loads(part) for part in response.text.split("\x1e") if part.strip()]
    assert len(records) == _matched(client, filter="land_use = 'commercial'") > 0
    assert {r["properties"]["land_use"] for r in records} == {"commercial"}


@pytest.mark.parametrize("fmt,suffix", [("gpkg", "gpkg"), ("fgb", "fgb"), ("shp", "shp.zip"),
                                        ("kml", "kml")])
def test_built_formats_honour_the_filter(client, tmp_path, fmt, suffix):
    response = client.get(ITEMS, params={"f": fmt, "bbox": BBOX})
    assert response.status_code == 200, response.text
    path = _open(tmp_path, f"x.{suffix}", response.content)
    assert pyogrio.read_info(path)["features"] == _matched(client, bbox=BBOX)


def test_gpkg_in_a_projected_crs(client, tmp_path):
    crs = "http://www.opengis.net/def/crs/EPSG/0/32637"
    response = client.get(ITEMS, params={"f": "gpkg", "bbox": BBOX, "crs": crs})
    assert response.status_code == 200, response.text
    info = pyogrio.read_info(_open(tmp_path, "p.gpkg", response.content))
    assert info["crs"] == "EPSG:32637" and info["total_bounds"][0] > 100_000


def test_head_of_a_filtered_download_counts_and_writes_nothing(client):
    scratch = set(Path("/tmp").glob("amanat-download-*"))
    response = client.head(ITEMS, params={"f": "gpkg", "bbox": BBOX})
    assert response.status_code == 200 and response.content == b""
    assert int(response.headers["x-feature-count"]) == _matched(client, bbox=BBOX)
    assert set(Path("/tmp").glob("amanat-download-*")) == scratch


def test_streams_beyond_the_process_limit_are_429_and_a_finished_one_frees_its_slot(settings):
    from starlette.testclient import TestClient

    from geoserver import create_app
    from geoserver.settings import DownloadSettings

    one = DownloadSettings(streams_per_process=1)
    with TestClient(create_app(settings.model_copy(update={"downloads": one}))) as app:
        with app.stream("GET", ITEMS, params={"f": "csv"}) as first:
            assert first.status_code == 200
            next(first.iter_bytes())                     # the first stream is being read
            busy = app.get(ITEMS, params={"f": "geojsonseq", "lang": "en"})
        deadline = time.monotonic() + 10   # the server sees the client leave, then frees it
        while (after := app.get(ITEMS, params={"f": "csv", "filter": "id <= 5"})
               ).status_code == 429 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert busy.status_code == 429 and busy.headers["retry-after"] == "5"
    assert "streamed at once" in busy.json()["descriptions"]["en"]
    assert after.status_code == 200


def test_licence_csv_never_carries_holders(client, holders):
    response = client.get("/ogc/collections/licenses/items", params={"f": "csv"})
    assert response.status_code == 200
    assert not [value for value in holders if value.encode() in response.content]


@pytest.mark.parametrize("params,text", [
    ({"f": "csv", "filter": "land_use = "}, "filter"),
    ({"f": "gpkg", "bbox": "1,2,3"}, "bbox"),
    ({"f": "csv", "crs": "http://www.opengis.net/def/crs/EPSG/0/9999"}, "crs"),
    ({"f": "kml", "filter": "nowhere > 3"}, "nowhere"),
    ({"f": "csv", "holder_phone": "1"}, "unknown query parameter"),
])
def test_invalid_filters_are_400_and_leave_no_file(client, params, text):
    scratch = set(Path("/tmp").glob("amanat-download-*"))
    response = client.get(ITEMS if "holder_phone" not in params
                          else "/ogc/collections/licenses/items", params=params)
    assert response.status_code == 400, response.text
    assert text in response.json()["descriptions"]["en"]
    assert "holder_phone" not in response.text
    assert set(Path("/tmp").glob("amanat-download-*")) == scratch


def test_a_selection_over_the_budget_is_refused_not_truncated(settings):
    from starlette.testclient import TestClient

    from geoserver import create_app
    from geoserver.settings import DownloadSettings

    budgets = DownloadSettings(anonymous_features=10)
    with TestClient(create_app(settings.model_copy(update={"downloads": budgets}))) as small:
        over = small.get(ITEMS, params={"f": "csv", "lang": "en"})
        under = small.get(ITEMS, params={"f": "csv", "filter": "id <= 10"})
    assert over.status_code == 400
    assert "more than 10 features" in over.json()["descriptions"]["en"]
    assert under.status_code == 200 and under.headers["x-feature-count"] == "10"


def test_prefetching_hands_a_read_error_to_the_writer_and_stops_when_the_writer_does():
    import threading

    from layers.exports import prefetched

    def failing():
        yield 1
        raise RuntimeError("connection lost")

    with pytest.raises(RuntimeError, match="connection lost"):
        list(prefetched(failing()))
    endless = prefetched(iter(range(10**9)))
    assert next(endless) == 0
    endless.close()   # the writer failed: the reader thread ends too
    assert not [t for t in threading.enumerate() if t.name == "export-prefetch"]
