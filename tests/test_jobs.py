"""Asynchronous jobs run by real `amanat worker` processes, through the PostgreSQL queue."""
import csv
import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from starlette.testclient import TestClient

from geoserver import create_app
from geoserver.settings import ProcessingSettings, Settings

ROOT = Path(__file__).resolve().parent.parent
HEARTBEAT_S, STALLED_S = 0.5, 6.0  # generous: CI machines are shared and noisy


@pytest.fixture(scope="module")
def job_settings(settings) -> Settings:
    """The test settings with short heartbeats, so a dead worker is noticed in seconds."""
    return Settings(database=settings.database, server=settings.server,
                    processing=ProcessingSettings(heartbeat_s=HEARTBEAT_S,
                                                  stalled_after_s=STALLED_S))


@pytest.fixture
def web(job_settings, analyst_auth):
    """A web server (in-process) that can be stopped and started again, signed in as an
    analyst (batch jobs and their dismissal need that role)."""

    @contextmanager
    def serve(settings=job_settings):
        with TestClient(create_app(settings), headers=analyst_auth) as client:
            yield client

    return serve


@contextmanager
def worker(database_url, job_settings):
    """`amanat worker` in a subprocess; killed at the end if still running."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMANAT_")}
    env.update(DATABASE_URL=database_url, AMANAT_STATE_DIR=str(job_settings.server.state_dir),
               AMANAT_PROCESSING_HEARTBEAT_S=str(HEARTBEAT_S),
               AMANAT_PROCESSING_STALLED_AFTER_S=str(STALLED_S))
    process = subprocess.Popen([sys.executable, "-m", "geoserver.cli", "worker"], cwd=ROOT,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def submit(client, process: str, inputs: dict) -> str:
    """Execute asynchronously; the job's path."""
    response = client.post(f"/ogc/processes/{process}/execution", json={"inputs": inputs},
                           headers={"Prefer": "respond-async"})
    assert response.status_code == 201, response.text
    assert response.headers["preference-applied"] == "respond-async"
    return response.headers["location"].replace("http://testserver", "")


def wait_for(client, job: str, statuses: set, timeout: float = 60) -> dict:
    """Poll a job until its status is one of `statuses`."""
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(job).json()
        if status["status"] in statuses or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def test_a_batch_runs_in_a_worker_process_and_its_results_download_in_three_formats(web,
        database_url, job_settings, db):
    with web(job_settings) as client, worker(database_url, job_settings):
        job = submit(client, "batch-compliance", {})
        status = wait_for(client, job, {"successful", "failed"})
        assert status["status"] == "successful", status
        assert status["progress"] == 100
        job_id = job.rsplit("/", 1)[-1]
        stored = db.execute("SELECT count(*) FROM processing_findings WHERE job_id = %s",
                            [job_id]).fetchone()[0]
        assert stored > 0
        geojson = client.get(f"{job}/results?f=geojson")
        assert geojson.headers["content-type"].startswith("application/geo+json")
        body = geojson.json()
        assert len(body["features"]) == stored
        assert body["summary"]["checked"]["parcels"] == db.execute(
            "SELECT count(*) FROM parcels").fetchone()[0]
        feature = body["features"][0]["properties"]
        assert feature["message_ar"] and feature["message_en"] and feature["reference"]
        rows = list(csv.DictReader(io.StringIO(
            client.get(f"{job}/results?f=csv").content.decode("utf-8-sig"))))
        assert len(rows) == stored and rows[0]["rule"]
        _check_geopackage(client.get(f"{job}/results?f=gpkg"), stored)


def _check_geopackage(response, expected: int) -> None:
    """The download is a GeoPackage (header, core tables, geometry blobs) with every finding."""
    assert response.headers["content-type"] == "application/geopackage+sqlite3"
    assert response.content[:16] == b"SQLite format 3\x00"
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"amanat-test-{os.getpid()}.gpkg"
    path.write_bytes(response.content)
    try:
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
        assert db.execute("SELECT data_type, srs_id FROM gpkg_contents").fetchone() == (
            "features", 4326)
        count, magic = db.execute("SELECT count(*), substr(min(geom), 1, 2) FROM findings "
                                  "WHERE geom IS NOT NULL").fetchone()
        assert db.execute("SELECT count(*) FROM findings").fetchone()[0] == expected
        assert count > 0 and magic == b"GP"
        db.close()
    finally:
        path.unlink()


def test_a_job_survives_a_web_server_restart(web, database_url, job_settings):
    with web(job_settings) as first:
        job = submit(first, "batch-compliance", {"area": {"municipality": "KHB"}})
        assert first.get(job).json()["status"] == "accepted"
    with worker(database_url, job_settings), web(job_settings) as second:
        status = wait_for(second, job, {"successful", "failed"})
        assert status["status"] == "successful", status
        assert second.get(f"{job}/results?f=geojson").json()["type"] == "FeatureCollection"


def test_an_async_parcel_check_gets_a_verifiable_certificate(web, database_url, job_settings, db):
    parcel_no = db.execute("SELECT parcel_no FROM parcels ORDER BY id LIMIT 1").fetchone()[0]
    with web(job_settings) as client, worker(database_url, job_settings):
        job = submit(client, "parcel-check", {"parcel_no": parcel_no, "floors": 2})
        assert wait_for(client, job, {"successful", "failed"})["status"] == "successful"
        result = client.get(f"{job}/results").json()
        assert result["subject"]["parcel_no"] == parcel_no
        assert client.get(f"/certificates/{result['id']}/verify").json()["valid"] is True


@contextmanager
def parcels_locked(database_url):
    """Hold an exclusive lock on parcels, so a batch blocks right after it starts."""
    with psycopg.connect(database_url) as conn:
        conn.execute("LOCK TABLE parcels IN ACCESS EXCLUSIVE MODE")
        yield
        conn.rollback()


def test_killing_the_worker_mid_job_marks_the_job_failed_with_a_reason(web,
        database_url, job_settings):
    with web(job_settings) as client, parcels_locked(database_url):
        with worker(database_url, job_settings) as process:
            job = submit(client, "batch-compliance", {})
            running = wait_for(client, job, {"running"})
            assert running["status"] == "running" and running["progress"] >= 1
            process.send_signal(signal.SIGKILL)
            process.wait()
        time.sleep(STALLED_S + 1)
        status = client.get(job).json()
    assert status["status"] == "failed"
    assert "stopped responding" in status["messages"]["en"]
    assert status["message"] == status["messages"]["ar"]   # Arabic by default
    with web(job_settings) as fresh:
        assert fresh.get(f"{job}/results").status_code == 404


def test_dismissing_a_queued_job_cancels_it_and_forgets_it(web, job_settings, db):
    with web(job_settings) as client:
        job = submit(client, "batch-compliance", {"area": {"district": "KHB-01"}})
        response = client.delete(job)
        assert response.status_code == 200 and response.json()["status"] == "dismissed"
        assert client.get(job).status_code == 404
    queued = db.execute("SELECT status FROM procrastinate_jobs WHERE args->>'job_id' = %s",
                        [job.rsplit("/", 1)[-1]]).fetchone()
    assert queued[0] == "cancelled"
