"""The `amanat` command and the server process, started as a user would start them."""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
AMANAT = [sys.executable, "-m", "geoserver.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp_path, database_url: str, port: int | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMANAT_")}
    env.update(DATABASE_URL=database_url, AMANAT_STATE_DIR=str(tmp_path / "state"))
    if port:
        env["PORT"] = str(port)
    return env


class Server:
    """`amanat serve` in a subprocess on a free port."""

    def __init__(self, tmp_path, database_url: str, *args: str):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / f"server-{self.port}.log"  # a file: a pipe nobody reads fills up
        with self.log.open("w") as out:
            self.proc = subprocess.Popen([*AMANAT, "serve", *args], cwd=ROOT,
                                         env=_env(tmp_path, database_url, self.port),
                                         stdout=out, stderr=subprocess.STDOUT, text=True)

    def wait(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.log.read_text()}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.3)
        raise AssertionError("server did not start")

    def stop(self) -> str:
        self.proc.terminate()
        self.proc.wait(timeout=20)
        return self.log.read_text()


@pytest.mark.parametrize("url", ["not-a-url", "mysql://u:p@localhost/db",
                                 "postgresql://u:p@localhost:99999999/db"])
def test_bad_database_url_is_one_clear_line_and_nonzero_exit(tmp_path, url):
    done = subprocess.run([*AMANAT, "migrate"], cwd=ROOT, env=_env(tmp_path, url),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("amanat: DATABASE_URL")
    assert "Traceback" not in done.stderr


def test_missing_database_url_says_how_to_set_it(tmp_path):
    env = _env(tmp_path, "x")
    del env["DATABASE_URL"]
    done = subprocess.run([*AMANAT, "migrate"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert "DATABASE_URL is not set" in done.stderr


def test_server_starts_with_the_database_down_and_says_503(tmp_path):
    down = f"postgresql://amanat:amanat@127.0.0.1:{_free_port()}/amanat"
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
