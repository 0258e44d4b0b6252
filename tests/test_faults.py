"""Faults on purpose, against the real components: a load killed mid-way, results and panorama
tiles that cannot be written, pooled connections killed under the server. (PostgreSQL restarted
under load is in tests/test_database_restart.py: it breaks every open connection of the session,
so it is marked restarts_database and runs last.)"""
import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import psycopg
import pytest

from tests.support.databases import scratch_database
from tests.support.server import AMANAT, ROOT, Server, env

LAYER_TABLES = ("municipalities", "districts", "streets", "zoning", "parcels", "constraints",
                "facilities", "licenses", "panoramas", "inspections")


# Sample-city load killed mid-way

def _snapshot(url: str) -> dict:
    """Row counts of every layer table and a checksum of the parcel ids."""
    with psycopg.connect(url) as conn:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in LAYER_TABLES}
        ids = conn.execute("SELECT md5(string_agg(id::text, ',' ORDER BY id)) "
                           "FROM parcels").fetchone()[0]
    return {"counts": counts, "parcel_ids": ids}


def _wait_for_copy(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    """Until the subprocess's COPY of the parcels (200,000 rows: seconds, and tables follow it
    before the commit) is running in the scratch database."""
    name = url.rsplit("/", 1)[1]
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            assert proc.poll() is None, "the load finished before it could be killed"
            if conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                            "AND query LIKE 'COPY \"parcels\"%%' AND state = 'active'",
                            [name]).fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the load never reached the COPY of the parcels")


def _no_lock_left(url: str) -> None:
    """An exclusive lock on every layer table is granted at once (nothing holds one)."""
    with psycopg.connect(url) as conn:
        conn.execute("SET lock_timeout = '5s'")
        conn.execute("LOCK TABLE " + ", ".join(LAYER_TABLES) + " IN ACCESS EXCLUSIVE MODE")
        conn.rollback()


def test_a_sample_city_load_killed_mid_copy_leaves_the_previous_city_intact(tmp_path,
                                                                            database_url):
    from data.load import load_sample_city
    from layers import migrate

    with scratch_database(database_url) as url:
        migrate.upgrade(url)
        load_sample_city(url, parcels=600, seed=3, progress=False)
        before = _snapshot(url)
        environment = {**env(tmp_path, url), "AMANAT_STATE_DIR": str(tmp_path / "state")}
        proc = subprocess.Popen([*AMANAT, "sample-city", "--parcels", "200000", "--no-imagery"],
                                cwd=ROOT, env=environment, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            _wait_for_copy(url, proc)
            time.sleep(0.2)                     # some rows of the new parcels are written
            proc.send_signal(signal.SIGKILL)
            assert proc.wait(timeout=10) == -signal.SIGKILL
        finally:
            if proc.poll() is None:
                proc.kill()
        _no_lock_left(url)
        assert _snapshot(url) == before
        assert before["counts"]["parcels"] >= 600


# Results and panorama tiles that cannot be written

@pytest.fixture(scope="module")
def finished_batch(client, analyst_auth, db):
    """A finished batch job over one district (its findings are in the database)."""
    from processing import worker

    (district,) = db.execute("SELECT code FROM districts ORDER BY code LIMIT 1").fetchone()
    response = client.post("/ogc/processes/batch-compliance/execution",
                           json={"inputs": {"area": {"district": district}}},
                           headers={**analyst_auth, "Prefer": "respond-async"})
    assert response.status_code == 201, response.text
    job = response.headers["location"].replace("http://testserver", "")
    worker.run_job(client.app.state.services.processing, job.rsplit("/", 1)[-1])
    assert client.get(job, headers=analyst_auth).json()["status"] == "successful"
    return job


def test_a_results_file_that_cannot_be_written_is_a_clear_503_and_leaves_nothing(
        client, analyst_auth, finished_batch, tmp_path, monkeypatch):
    import tempfile

    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the temporary directory should be")
    monkeypatch.setattr(tempfile, "tempdir", str(blocker / "tmp"))     # mkstemp: ENOTDIR
    response = client.get(f"{finished_batch}/results?f=gpkg", headers=analyst_auth)
    assert response.status_code == 503
    assert "cannot be written" in response.json()["descriptions"]["en"]
    assert "Traceback" not in response.text and "Errno" not in response.text
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    status = client.get(finished_batch, headers=analyst_auth).json()
    assert status["status"] == "successful"          # the job and its findings are untouched
    again = client.get(f"{finished_batch}/results?f=gpkg", headers=analyst_auth)
    assert again.status_code == 200 and again.content.startswith(b"SQLite format 3")


FULL_DISK = """
import json, os, resource, signal, sys, tempfile
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)       # writes past the limit fail with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[3]), resource.RLIM_INFINITY))
tempfile.tempdir = sys.argv[2]
import psycopg
from psycopg.rows import dict_row
from kernel.errors import AmanatError
from processing import exports
with psycopg.connect(os.environ["DATABASE_URL"], row_factory=dict_row) as conn:
    job = conn.execute("SELECT * FROM processing_jobs WHERE id = %s", [sys.argv[1]]).fetchone()
    try:
        path = exports.geopackage(conn, job)
        print(json.dumps({"written": path}))
    except AmanatError as err:
        print(json.dumps({"error": type(err).__name__, "message": err.message}))
"""


def test_a_full_disk_while_writing_a_results_file_leaves_no_partial_file(finished_batch,
                                                                         tmp_path, settings):
    job_id = finished_batch.rsplit("/", 1)[-1]
    temp = tmp_path / "temp"
    temp.mkdir()
    done = subprocess.run([sys.executable, "-c", FULL_DISK, job_id, str(temp), "8192"],
                          cwd=ROOT, env={**os.environ, "DATABASE_URL": settings.database.dsn},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["error"] == "Unavailable", answer
    assert "disk full" in answer["message"]
    assert list(temp.iterdir()) == []


def _panorama(folder: Path, db) -> Path:
    """One 2:1 camera JPEG with EXIF position and time, inside the test city (noise compresses
    badly, so its tiles are large)."""
    import datetime as dt

    from data import panoramas as scenes
    from panoramas.metadata import Capture

    lon, lat = db.execute("SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) "
                          "FROM parcels ORDER BY id LIMIT 1").fetchone()
    rgb = np.random.default_rng(5).integers(0, 255, (1024, 2048, 3), dtype=np.uint8)
    capture = Capture(lon, lat, 90.0, dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.timezone.utc), "Fault cam", 2048, 1024)
    folder.mkdir()
    scenes.write_image(folder / "fault.jpg", rgb, capture)
    return folder


PANORAMA_FULL_DISK = """
import json, os, resource, signal, sys
from pathlib import Path
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
from geoserver.settings import PanoramaSettings
from panoramas.ingest import ingest
from panoramas.store import PanoramaStore
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[3]), resource.RLIM_INFINITY))
try:
    report = ingest(os.environ["DATABASE_URL"], PanoramaStore(Path(sys.argv[2])),
                    Path(sys.argv[1]), PanoramaSettings(), progress=False)
    print(json.dumps({"ingested": report.ingested}))
except OSError as err:
    print(json.dumps({"error": type(err).__name__, "errno": err.errno}))
"""


def _panorama_rows(db, folder: Path) -> int:
    from panoramas.ingest import content_key

    key = content_key((folder / "fault.jpg").read_bytes())
    return db.execute("SELECT count(*) FROM panoramas WHERE image_ref = %s", [key]).fetchone()[0]


def test_panorama_tiles_that_cannot_be_written_leave_no_row_and_no_tiles(tmp_path, db,
                                                                         settings):
    from geoserver.settings import PanoramaSettings
    from panoramas.ingest import ingest
    from panoramas.store import PanoramaStore

    folder = _panorama(tmp_path / "camera", db)
    blocker = tmp_path / "store-is-a-file"
    blocker.write_text("x")
    with pytest.raises(NotADirectoryError):     # permission-like: the store cannot be created
        ingest(settings.database.dsn, PanoramaStore(blocker / "panoramas"), folder,
               PanoramaSettings(), progress=False)
    store = tmp_path / "store"
    done = subprocess.run([sys.executable, "-c", PANORAMA_FULL_DISK, str(folder), str(store),
                           "20000"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "DATABASE_URL": settings.database.dsn})
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer == {"error": "OSError", "errno": errno.EFBIG}, answer
    assert _panorama_rows(db, folder) == 0
    leftovers = [p for p in store.rglob("*") if p.is_file()]
    assert leftovers == [] and list((store / ".staging").iterdir()) == []


def test_panorama_ingest_into_an_unwritable_store_is_one_line_not_a_traceback(tmp_path, db,
                                                                              settings):
    folder = _panorama(tmp_path / "camera", db)
    state = tmp_path / "state"
    state.mkdir()
    (state / "panoramas").write_text("a file where the panorama store should be")
    done = subprocess.run([*AMANAT, "panoramas", "ingest", str(folder)], cwd=ROOT,
                          env=env(tmp_path, settings.database.dsn), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("amanat: cannot write the panorama")
    assert _panorama_rows(db, folder) == 0


# Pooled connections broken under the server (what a database restart does to them)

def test_pooled_connections_killed_under_the_server_are_replaced_without_a_failed_request(
        tmp_path, database_url):
    from concurrent.futures import ThreadPoolExecutor

    server = Server(tmp_path, database_url, "--no-sample")
    items = f"{server.url}/ogc/collections/parcels/items?f=json&limit=5"
    item = f"{server.url}/ogc/collections/parcels/items/1?f=json"   # the hot-read pool
    try:
        server.wait()
        with ThreadPoolExecutor(8) as many:      # grow both pools to several connections
            assert {r.status_code for r in many.map(
                lambda n: httpx.get((items, item)[n % 2], timeout=10), range(64))} == {200}
        with psycopg.connect(database_url, autocommit=True) as conn:
            (killed,) = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = 'amanat' "
                "AND pid <> pg_backend_pid()").fetchone()
        assert killed >= 4
        assert [httpx.get(url, timeout=10).status_code
                for _ in range(12) for url in (items, item)] == [200] * 24
    finally:
        server.stop()
