"""The `amanat` command and the server process, started as a user would start them."""
import subprocess
import time

import httpx
import psycopg
import pytest

from geoserver.cli_common import without_password
from layers import accounts
from tests.support.server import AMANAT, ROOT, Server, env, free_port


@pytest.mark.parametrize("url", ["not-a-url", "mysql://u:p@localhost/db",
                                 "postgresql://u:p@localhost:99999999/db"])
def test_bad_database_url_is_one_clear_line_and_nonzero_exit(tmp_path, url):
    done = subprocess.run([*AMANAT, "migrate"], cwd=ROOT, env=env(tmp_path, url),
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("amanat: DATABASE_URL")
    assert "Traceback" not in done.stderr


def test_no_database_url_and_no_recorded_one_says_how_in_english_and_arabic(tmp_path):
    environment = env(tmp_path, "x")
    del environment["DATABASE_URL"]
    done = subprocess.run([*AMANAT, "migrate"], cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 2
    english, arabic = done.stderr.strip().splitlines()
    assert "DATABASE_URL is not set" in english and "make run" in english
    assert str(tmp_path / "state" / "database.url") in english
    assert "لم يُضبط DATABASE_URL" in arabic and "make run" in arabic
    assert "Traceback" not in done.stderr


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


# --- the database `make run` serves, found without DATABASE_URL -------------------------------

@pytest.fixture(scope="module")
def served_state(tmp_path_factory, database_url):
    """A state directory in which `amanat serve` (as `make run` starts it) recorded its database."""
    tmp = tmp_path_factory.mktemp("served")
    server = Server(tmp, database_url, "--no-sample")
    try:
        server.wait()
    finally:
        server.stop()
    return tmp


def _without_database_url(tmp_path) -> dict:
    environment = env(tmp_path, "unused")
    del environment["DATABASE_URL"]
    return environment


def test_serve_records_its_database_readable_by_its_owner_only(served_state, database_url):
    record = served_state / "state" / "database.url"
    assert record.read_text().strip() == database_url
    assert record.stat().st_mode & 0o777 == 0o600


def test_a_command_without_database_url_uses_the_served_one_and_names_it(served_state,
                                                                         database_url):
    with psycopg.connect(database_url) as conn:
        accounts.add_user(conn, "served-db-probe", "inspector", None)
    done = subprocess.run([*AMANAT, "users", "list"], cwd=ROOT, capture_output=True, text=True,
                          env=_without_database_url(served_state), timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "served-db-probe\tinspector" in done.stdout   # a user of the served database
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"amanat: database {without_password(database_url)} ")
    assert "recorded" in first and ":amanat@" not in done.stderr   # never the password


def test_database_url_wins_over_the_recorded_one(served_state):
    environment = _without_database_url(served_state)
    environment["DATABASE_URL"] = f"postgresql://amanat:amanat@127.0.0.1:{free_port()}/amanat"
    done = subprocess.run([*AMANAT, "users", "list"], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert "database unavailable" in done.stderr and "recorded" not in done.stderr


def test_serve_without_database_url_serves_the_recorded_one(served_state):
    port = free_port()
    environment = {**_without_database_url(served_state), "PORT": str(port)}
    log = served_state / "serve-recorded.log"
    with log.open("w") as out:
        proc = subprocess.Popen([*AMANAT, "serve", "--no-sample"], cwd=ROOT, env=environment,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        health = _health(f"http://127.0.0.1:{port}/healthz", proc, log)
        assert health == 200, log.read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _health(url: str, proc, log, timeout: float = 60) -> int:
    """The first /healthz status of a starting server."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            return httpx.get(url, timeout=5).status_code
        except httpx.HTTPError:
            time.sleep(0.3)
    raise AssertionError(f"no answer: {log.read_text()}")


# --- malformed input: one clear line (or click's usage error), exit != 0, nothing changed -----

TABLES = ("auth_users", "api_keys", "audit_log", "rasters", "panoramas", "parcels")
MALFORMED = [
    (["users", "add", "bad name", "--role", "analyst"], None, "invalid name 'bad name'"),
    (["users", "add", "u1", "--role", "boss"], None, "Invalid value for '--role'"),
    (["users", "add", "u1", "--role", "office"], None, "the office role needs --office"),
    (["users", "add", "u1", "--role", "analyst", "--office", "a b"], None, "invalid office"),
    (["users", "add", "u1", "--role", "analyst", "--days", "0"], None, "'--days'"),
    (["users", "add", "u1", "--role", "analyst", "--password-stdin"], "short\n",
     "at least 10 characters"),
    (["users", "add", "u1", "--role", "analyst", "--password-stdin"], "", "no password"),
    (["users", "password", "nobody", "--password-stdin"], "long enough password\n",
     "no user 'nobody'"),
    (["users", "token", "nobody"], None, "no enabled user 'nobody'"),
    (["users", "token", "nobody", "--days", "400"], None, "'--days'"),
    (["users", "disable", "nobody"], None, "no enabled user 'nobody'"),
    (["keys", "add", "", "--role", "analyst"], None, "invalid name ''"),
    (["keys", "add", "k1", "--role", "office"], None, "the office role needs --office"),
    (["keys", "revoke", "no-such-key"], None, "no live key 'no-such-key'"),
    (["audit", "--since", "yesterday"], None, "RFC 3339"),
    (["audit", "--limit", "0"], None, "'--limit'"),
    (["raster", "add", "{junk}", "--id", "r1", "--title", "T"], None, "not a raster file"),
    (["raster", "add", "{junk}", "--id", "BAD/ID", "--title", "T"], None, "invalid --id"),
    (["raster", "add", "{junk}", "--id", "r1", "--title", "  "], None, "--title is empty"),
    (["raster", "add", "{junk}", "--id", "r1", "--title", "T", "--kind", "lidar"], None,
     "'--kind'"),
    (["raster", "add", "no-such.tif", "--id", "r1", "--title", "T"], None, "does not exist"),
    (["raster", "remove", "no-such-raster"], None, "no raster dataset 'no-such-raster'"),
    (["panoramas", "ingest", "{junk}"], None, "is a file"),
    (["panoramas", "ingest", "no-such-dir"], None, "does not exist"),
    (["sample-city", "--parcels", "5"], None, "'--parcels'"),
    (["sample-city", "--seed", "x"], None, "'--seed'"),
    (["sample-city", "--seed", "-1"], None, "'--seed'"),
    (["audit", "--since", "2026-11-02T00:00:00Z", "--until", "2026-11-01T00:00:00Z"], None,
     "--until is before --since"),
    (["worker", "--concurrency", "0"], None, "'--concurrency'"),
    (["serve", "--workers", "0"], None, "'--workers'"),
    (["sample-imagery", "--bogus"], None, "No such option"),
    (["migrate", "extra"], None, "unexpected extra argument"),
]


def _snapshot(database_url: str, state) -> tuple:
    """Row counts of the tables a command could change, and the files of the state directory."""
    with psycopg.connect(database_url) as conn:
        counts = tuple(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                       for table in TABLES)
    return counts, sorted(str(p) for p in state.rglob("*") if p.is_file())


@pytest.mark.parametrize("args, stdin, says", MALFORMED, ids=[" ".join(c[0]) for c in MALFORMED])
def test_malformed_command_is_refused_clearly_and_changes_nothing(tmp_path, database_url, args,
                                                                  stdin, says):
    from click.testing import CliRunner

    from geoserver.cli import main

    junk = tmp_path / "junk.tif"
    junk.write_text("not a raster")
    state = tmp_path / "state"
    state.mkdir()
    before = _snapshot(database_url, state)
    result = CliRunner().invoke(main, [a.format(junk=junk) for a in args], input=stdin,
                                env={"DATABASE_URL": database_url,
                                     "AMANAT_STATE_DIR": str(state)})
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    last = result.stderr.strip().splitlines()[-1]
    assert says in last and last.startswith(("amanat: ", "Error: ")), result.stderr
    assert "Traceback" not in result.output
    assert _snapshot(database_url, state) == before


@pytest.mark.parametrize("args", [["migrate"], ["users", "list"], ["users", "token", "x"],
                                  ["keys", "list"], ["audit"], ["raster", "list"],
                                  ["raster", "remove", "x"], ["sample-imagery"],
                                  ["sample-city", "--parcels", "100"], ["worker"]],
                         ids=" ".join)
def test_database_down_is_one_line_and_exit_1_at_every_command(tmp_path, args):
    down = f"postgresql://amanat:amanat@127.0.0.1:{free_port()}/amanat"
    done = subprocess.run([*AMANAT, *args], cwd=ROOT, env=env(tmp_path, down),
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("amanat: database unavailable (connection failed"), done.stderr
    assert "Traceback" not in done.stderr and "sqlalche" not in done.stderr


@pytest.mark.parametrize("args", [["users", "list"], ["keys", "list"], ["raster", "list"],
                                  ["raster", "remove", "x"], ["sample-imagery"]], ids=" ".join)
def test_an_unmigrated_database_says_run_migrate(tmp_path, empty_database_url, args):
    done = subprocess.run([*AMANAT, *args], cwd=ROOT, env=env(tmp_path, empty_database_url),
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "run `amanat migrate` first" in done.stderr.strip().splitlines()[-1]
    assert "Traceback" not in done.stderr
