"""Shared fixtures: a real PostGIS database (never mocked), migrated and loaded with a small city."""
import os
import uuid
from contextlib import contextmanager

import psycopg
import pytest

from layers import migrate

SAMPLE_PARCELS = 2000
SAMPLE_SEED = 7


def _test_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not url:
        pytest.exit("set TEST_DATABASE_URL (make test provisions one)", returncode=2)
    return url


def _with_dbname(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def database_url() -> str:
    """The test database, migrated and holding a small sample city (seed 7, 2000 parcels)."""
    from data.load import load_sample_city

    url = _test_url()
    migrate.upgrade(url)
    load_sample_city(url, parcels=SAMPLE_PARCELS, seed=SAMPLE_SEED, progress=False)
    return url


@contextmanager
def scratch_database(url: str):
    """A new empty database (from the PostGIS template) that is dropped afterwards."""
    name = f"amanat_scratch_{uuid.uuid4().hex[:10]}"
    admin = _with_dbname(url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        has_template = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = 'amanat_template'").fetchone()
        template = "amanat_template" if has_template else "template1"
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield _with_dbname(url, name)
    finally:
        _drop(admin, name)


def _drop(admin: str, name: str, attempts: int = 5) -> None:
    """Drop a scratch database, retrying while autovacuum still holds it."""
    import time

    for attempt in range(attempts):
        try:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except psycopg.errors.ObjectInUse:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)


@pytest.fixture
def empty_database_url():
    """A throwaway database with PostGIS and no schema."""
    with scratch_database(_test_url()) as url:
        yield url


@pytest.fixture(scope="session")
def db(database_url):
    """One autocommit connection to the loaded test database."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def settings(database_url, tmp_path_factory):
    """Settings of the app under test: the loaded test database, a private state directory."""
    from geoserver.settings import DatabaseSettings, ServerSettings, Settings

    return Settings(
        database=DatabaseSettings(DATABASE_URL=database_url),
        server=ServerSettings(PUBLIC_URL="http://testserver",
                              state_dir=tmp_path_factory.mktemp("state")),
    )


@pytest.fixture(scope="session")
def client(settings):
    """An HTTP client talking to the real application in-process (lifespan included)."""
    from starlette.testclient import TestClient

    from geoserver import create_app

    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def analyst_auth(settings, database_url) -> dict:
    """Authorization header of a real analyst token from the local issuer (batch jobs need it)."""
    from geoserver.cli_auth import add_user_with_token

    token = add_user_with_token(settings, "test-analyst", "analyst", None)
    return {"Authorization": f"Bearer {token}"}
