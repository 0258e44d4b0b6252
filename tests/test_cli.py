"""The `amanat` command and the server process, started as a user would start them."""
import subprocess

import httpx
import pytest

from tests.support.server import AMANAT, ROOT, Server, env, free_port


@pytest.mark.parametrize("url", ["not-a-url", "mysql://u:p@localhost/db",
                                 "postgresql://u:p@localhost:99999999/db"])
def test_bad_database_url_is_one_clear_line_and_nonzero_exit(tmp_path, url):
    done = subprocess.run([*AMANAT, "migrate"], cwd=ROOT, env=env(tmp_path, url),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("amanat: DATABASE_URL")
    assert "Traceback" not in done.stderr


def test_missing_database_url_says_how_to_set_it(tmp_path):
    environment = env(tmp_path, "x")
    del environment["DATABASE_URL"]
    done = subprocess.run([*AMANAT, "migrate"], cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert "DATABASE_URL is not set" in done.stderr


def test_server_starts_with_the_database_down_and_says_503(tmp_path):
    down = f"postgresql://amanat:amanat@127.0.0.1:{free_port()}/amanat"
    server = Server(tmp_path, down)
    try:
        server.wait()
        health = httpx.get(f"{server.url}/healthz", timeout=15)
        assert health.status_code == 503
        assert "database" in health.json()["reason"]
        items = httpx.get(f"{server.url}/ogc/collections/parcels/items?f=json", timeout=15)
        assert items.status_code == 503
        assert items.json()["description"]
        assert "Traceback" not in items.text and "psycopg" not in items.text
    finally:
        server.stop()


def test_server_serves_the_nine_collections(tmp_path, database_url):
    server = Server(tmp_path, database_url, "--no-sample")
    try:
        server.wait()
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
        body = httpx.get(f"{server.url}/ogc/collections?f=json", timeout=10).json()
        assert len(body["collections"]) == 9
        assert body["links"][0]["href"].startswith(server.url + "/ogc")
    finally:
        server.stop()
