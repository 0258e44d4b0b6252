"""Databases of the tests: the one named by TEST_DATABASE_URL, and scratch ones made from the
PostGIS template and dropped afterwards (never mocked)."""
import os
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

SAMPLE_PARCELS = 2000
SAMPLE_SEED = 7


def configured_url() -> str:
    """TEST_DATABASE_URL (or DATABASE_URL); ends the session when neither is set.

    (Not named test_…: a test module importing it would collect it as a test.)"""
    url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not url:
        pytest.exit("set TEST_DATABASE_URL (make test provisions one)", returncode=2)
    return url


def with_dbname(url: str, name: str) -> str:
    """`url` naming database `name` instead."""
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@contextmanager
def scratch_database(url: str):
    """A new empty database (from the PostGIS template) that is dropped afterwards."""
    name = f"amanat_scratch_{uuid.uuid4().hex[:10]}"
    admin = with_dbname(url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        has_template = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = 'amanat_template'").fetchone()
        template = "amanat_template" if has_template else "template1"
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield with_dbname(url, name)
    finally:
        _drop(admin, name)


def _drop(admin: str, name: str, attempts: int = 5) -> None:
    """Drop a scratch database, retrying while autovacuum still holds it."""
    for attempt in range(attempts):
        try:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except psycopg.errors.ObjectInUse:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)


@contextmanager
def scratch_city(tmp: Path):
    """A scratch database holding the sample city, and settings whose state directory is under
    `tmp`: (database URL, settings)."""
    from data.load import load_sample_city
    from geoserver.settings import DatabaseSettings, ServerSettings, Settings
    from layers import migrate

    with scratch_database(configured_url()) as url:
        migrate.upgrade(url)
        load_sample_city(url, parcels=SAMPLE_PARCELS, seed=SAMPLE_SEED, progress=False)
        yield url, Settings(database=DatabaseSettings(DATABASE_URL=url),
                            server=ServerSettings(state_dir=tmp / "state"))
