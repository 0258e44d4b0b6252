"""Shared fixtures: a real PostGIS database (never mocked), migrated and loaded with a small city;
the app; test users and their tokens; the browser. Their helpers are in tests/support/."""
import psycopg
import pytest

pytest.register_assert_rewrite("tests.support")   # before the helpers are first imported

from layers import migrate  # noqa: E402
from tests.support.databases import (SAMPLE_PARCELS, SAMPLE_SEED,  # noqa: E402
                                     configured_url, scratch_database)

RESTARTS_DATABASE = "restarts_database"
pytest_plugins = ("tests.support.citizens", "tests.support.oidc")   # api; provider, sso


def pytest_configure(config):
    config.addinivalue_line(
        "markers", f"{RESTARTS_DATABASE}: restarts the PostgreSQL cluster (breaking every open "
        "connection of the session); run after every other test")


def pytest_collection_modifyitems(session, config, items):
    """Tests that restart the database run last (in their collected order)."""
    items.sort(key=lambda item: item.get_closest_marker(RESTARTS_DATABASE) is not None)


@pytest.fixture(scope="session")
def database_url() -> str:
    """The test database, migrated and holding a small sample city (seed 7, 2000 parcels)."""
    from data.load import load_sample_city

    url = configured_url()
    migrate.upgrade(url)
    load_sample_city(url, parcels=SAMPLE_PARCELS, seed=SAMPLE_SEED, progress=False)
    return url


@pytest.fixture
def empty_database_url():
    """A throwaway database with PostGIS and no schema."""
    with scratch_database(configured_url()) as url:
        yield url


@pytest.fixture(scope="session")
def db(database_url):
    """One autocommit connection to the loaded test database."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def settings(database_url, tmp_path_factory):
    """Settings of the app under test: the loaded test database, a private state directory."""
    from geoserver.settings import DatabaseSettings, QuotaSettings, ServerSettings, Settings

    unbounded = "1000000/minute"   # quotas are tested with their own apps (test_quotas.py)
    return Settings(
        database=DatabaseSettings(DATABASE_URL=database_url),
        server=ServerSettings(PUBLIC_URL="http://testserver",
                              state_dir=tmp_path_factory.mktemp("state")),
        quotas=QuotaSettings(anonymous_reads=unbounded, anonymous_downloads=unbounded,
                             researcher_reads=unbounded, researcher_downloads=unbounded),
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


@pytest.fixture(scope="module")
def tokens(settings, database_url) -> dict[str, str]:
    """A bearer token per test user (tests/support/accounts.py USERS), made as `amanat users add`
    makes them; new users for each test module."""
    from tests.support.accounts import make_tokens

    return make_tokens(settings)


@pytest.fixture(scope="module")
def auth(tokens) -> dict[str, dict]:
    """Authorization headers per test user; `public` sends none."""
    from tests.support.accounts import headers_of

    return headers_of(tokens)


@pytest.fixture(scope="module")
def browser():
    """Headless Debian chromium (a module using it calls tests.support.browser.require_chromium
    first)."""
    from tests.support.browser import launch

    with launch() as launched:
        yield launched
