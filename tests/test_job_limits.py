"""The per-client limit on asynchronous jobs: a client with as many jobs accepted or running as
AMANAT_LIMIT_MAX_ACTIVE_JOBS_PER_CLIENT allows gets a 429 with Retry-After, and nothing is
written or queued; other clients are not affected, and a job that ends frees its place.

No worker runs here, so queued jobs stay "accepted": that is what fills a client's quota.
Every test ends by dismissing the jobs it left, so other test files never see them.
"""
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from starlette.testclient import TestClient

from geoserver import create_app
from geoserver.limits import LimitSettings
from geoserver.settings import Settings
from processing import jobs
from processing.errors import TooManyJobs

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 2
EXECUTE = "/ogc/processes/parcel-check/execution"
ASYNC = {"Prefer": "respond-async"}


@pytest.fixture(scope="module")
def limit_settings(settings) -> Settings:
    """The test settings with a job limit of LIMIT per client."""
    return Settings(database=settings.database, server=settings.server,
                    limits=LimitSettings(max_active_jobs_per_client=LIMIT))


@pytest.fixture(scope="module")
def app(limit_settings):
    """The real application, built with those settings."""
    return create_app(limit_settings)


@pytest.fixture(scope="module")
def parcel_no(db) -> str:
    """A parcel number of the sample city."""
    return db.execute("SELECT parcel_no FROM parcels ORDER BY id LIMIT 1").fetchone()[0]


@pytest.fixture(scope="module")
def tokens(settings) -> dict:
    """Authorization headers of two analysts and an admin, named for this module."""
    from geoserver.cli_auth import add_user_with_token

    suffix = uuid.uuid4().hex[:6]
    names = {"a": f"t-jl-a-{suffix}", "b": f"t-jl-b-{suffix}", "admin": f"t-jl-adm-{suffix}"}
    return {key: (name, {"Authorization": "Bearer " + add_user_with_token(
        settings, name, "admin" if key == "admin" else "analyst", None)})
        for key, name in names.items()}


@pytest.fixture
def clients(app, database_url):
    """TestClients of the app, by client address; at the end every job still accepted or
    running that one of them (or a signed-in test user) submitted is dismissed."""
    opened, owners = {}, set()

    def client(address: str = "192.0.2.1") -> TestClient:
        if address not in opened:
            opened[address] = TestClient(app, client=(address, 50000)).__enter__()
        owners.add(f"ip:{address}")
        return opened[address]

    yield client
    for test_client in opened.values():
        test_client.__exit__(None, None, None)
    _dismiss_all(database_url, owners | {"t-jl-%"})


def _dismiss_all(database_url: str, owners: set) -> None:
    """Dismiss every active job of these owners (patterns with % allowed)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute("SELECT id FROM processing_jobs WHERE owner LIKE ANY(%s) "
                            "AND status IN ('accepted', 'running')", [list(owners)]).fetchall()
        for (job_id,) in rows:
            jobs.dismiss(conn, str(job_id))


def submit(client, parcel_no: str, headers: dict | None = None):
    """Execute parcel-check asynchronously; the response."""
    return client.post(EXECUTE, json={"inputs": {"parcel_no": parcel_no}},
                       headers={**ASYNC, **(headers or {})})


def job_id(response) -> str:
    """The id of the job an accepted execution created."""
    assert response.status_code == 201, response.text
    return response.headers["location"].rsplit("/", 1)[-1]


def fill(client, parcel_no: str, headers: dict | None = None) -> list[str]:
    """Submit LIMIT jobs, all accepted; their ids."""
    return [job_id(submit(client, parcel_no, headers)) for _ in range(LIMIT)]


def counts(db) -> tuple[int, int]:
    """(job rows, queue entries)."""
    return (db.execute("SELECT count(*) FROM processing_jobs").fetchone()[0],
            db.execute("SELECT count(*) FROM procrastinate_jobs").fetchone()[0])


def assert_too_many(response) -> None:
    """A 429 in the OGC exception shape, with Retry-After and a bilingual description."""
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["code"] == "TooManyRequests"
    assert f"{LIMIT} of yours are accepted or running" in body["descriptions"]["en"]
    assert f"لديك {LIMIT} مقبولة أو جارية" in body["descriptions"]["ar"] == body["description"]
    assert int(response.headers["retry-after"]) > 0


def test_jobs_up_to_the_limit_are_accepted_and_one_more_is_a_429_that_writes_nothing(
        clients, tokens, parcel_no, db):
    name, headers = tokens["a"]
    client = clients()
    accepted = [submit(client, parcel_no, headers) for _ in range(LIMIT)]
    assert all("retry-after" not in response.headers for response in accepted)
    before = counts(db)
    assert_too_many(submit(client, parcel_no, headers))
    assert counts(db) == before
    owners = db.execute("SELECT DISTINCT owner FROM processing_jobs WHERE id = ANY(%s)",
                        [[job_id(response) for response in accepted]]).fetchall()
    assert owners == [(name,)]


def test_another_signed_in_client_is_not_affected(clients, tokens, parcel_no):
    client = clients()
    fill(client, parcel_no, tokens["a"][1])
    assert_too_many(submit(client, parcel_no, tokens["a"][1]))
    assert submit(client, parcel_no, tokens["b"][1]).status_code == 201


def test_anonymous_callers_are_counted_by_address(clients, parcel_no, db):
    first, second = clients("192.0.2.10"), clients("192.0.2.11")
    ids = fill(first, parcel_no)
    assert_too_many(submit(first, parcel_no))
    assert submit(second, parcel_no).status_code == 201
    assert db.execute("SELECT DISTINCT owner FROM processing_jobs WHERE id = ANY(%s)",
                      [ids]).fetchall() == [("ip:192.0.2.10",)]


def test_admins_are_limited_too(clients, tokens, parcel_no):
    client = clients()
    fill(client, parcel_no, tokens["admin"][1])
    assert_too_many(submit(client, parcel_no, tokens["admin"][1]))


def test_synchronous_executions_are_not_limited(clients, tokens, parcel_no):
    client, headers = clients(), tokens["a"][1]
    fill(client, parcel_no, headers)
    response = client.post(EXECUTE, json={"inputs": {"parcel_no": parcel_no}}, headers=headers)
    assert response.status_code == 200, response.text


def test_a_finished_job_frees_its_place(clients, tokens, parcel_no):
    from processing import worker

    client, headers = clients(), tokens["a"][1]
    first, _ = fill(client, parcel_no, headers)
    worker.run_job(client.app.state.services.processing, first)   # what `amanat worker` runs
    assert client.get(f"/ogc/jobs/{first}").json()["status"] == "successful"
    assert submit(client, parcel_no, headers).status_code == 201


def test_a_failed_job_frees_its_place(clients, tokens, parcel_no, db):
    client, headers = clients(), tokens["a"][1]
    first, _ = fill(client, parcel_no, headers)
    jobs.fail(db, first, "the worker gave up")   # what a worker records for a failed run
    assert submit(client, parcel_no, headers).status_code == 201


def test_a_job_whose_worker_died_frees_its_place(clients, tokens, parcel_no, db):
    client, headers = clients(), tokens["a"][1]
    first, _ = fill(client, parcel_no, headers)
    # the job was taken by a worker that is gone: running, its queue entry 'doing', no worker
    jobs.start(db, first)
    db.execute("UPDATE procrastinate_jobs SET status = 'doing', worker_id = NULL "
               "WHERE id = (SELECT queue_job_id FROM processing_jobs WHERE id = %s)", [first])
    assert submit(client, parcel_no, headers).status_code == 201
    status = client.get(f"/ogc/jobs/{first}").json()
    assert status["status"] == "failed" and "stopped responding" in status["messages"]["en"]


def test_a_dismissed_job_frees_its_place(clients, tokens, parcel_no):
    client, headers = clients(), tokens["a"][1]
    first, _ = fill(client, parcel_no, headers)
    assert client.delete(f"/ogc/jobs/{first}", headers=headers).status_code == 200
    assert submit(client, parcel_no, headers).status_code == 201
    assert_too_many(submit(client, parcel_no, headers))


def test_concurrent_submissions_never_exceed_the_limit(clients, tokens, parcel_no, db):
    name, headers = tokens["a"]
    client, attempts = clients(), 4 * LIMIT
    start, statuses = threading.Barrier(attempts), []

    def one():
        start.wait()
        statuses.append(submit(client, parcel_no, headers).status_code)

    threads = [threading.Thread(target=one) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(statuses) == [201] * LIMIT + [429] * (attempts - LIMIT)
    assert jobs.active_count(db, name) == LIMIT


def test_a_submission_waits_for_one_of_the_same_owner_in_flight(database_url, parcel_no):
    """Deterministic interleaving: the second submission blocks on the first one's lock, then
    counts the first one's job (without the lock it would count zero and pass)."""
    owner, outcome = f"t-jl-race-{uuid.uuid4().hex[:6]}", {}
    inputs = {"parcel_no": parcel_no}

    def second():
        with psycopg.connect(database_url, autocommit=True) as conn:
            try:
                jobs.submit(conn, database_url, "parcel-check", inputs, owner, 1)
                outcome["result"] = "accepted"
            except TooManyJobs:
                outcome["result"] = "refused"

    thread = threading.Thread(target=second)
    try:
        with psycopg.connect(database_url, autocommit=True) as first:
            with first.transaction():
                jobs.submit(first, database_url, "parcel-check", inputs, owner, 1)
                thread.start()
                time.sleep(0.5)
                waiting = thread.is_alive()   # on the first transaction's lock
            thread.join(30)
            assert waiting and outcome == {"result": "refused"}, outcome
            assert jobs.active_count(first, owner) == 1
    finally:
        if thread.is_alive():
            thread.join(30)
        _dismiss_all(database_url, {owner})


@pytest.fixture
def served(database_url, settings, tokens, tmp_path):
    """`amanat serve` (uvicorn, uvloop, httptools: the production stack) with a limit of 1,
    trusting the test tokens (the session's sign-on key, made by `tokens`); its base URL."""
    import shutil

    key = settings.auth.key_path(settings.server.state_dir)
    (tmp_path / "keys").mkdir()
    shutil.copy2(key, tmp_path / "keys" / key.name)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMANAT_")}
    env.update(DATABASE_URL=database_url, AMANAT_STATE_DIR=str(tmp_path), PORT=str(port),
               AMANAT_LIMIT_MAX_ACTIVE_JOBS_PER_CLIENT="1")
    log = tmp_path / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "geoserver.cli", "serve", "--no-sample"],
                                   cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(process, port, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wait_for_port(process, port: int, log: Path, timeout: float = 90) -> None:
    """Return once the server accepts connections."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise AssertionError("server did not start")


def test_the_caller_reaches_the_manager_on_the_production_server(served, settings, parcel_no,
                                                                 database_url, db):
    import httpx

    from geoserver.cli_auth import add_user_with_token

    name = f"t-jl-srv-{uuid.uuid4().hex[:6]}"
    headers = {**ASYNC, "Authorization": "Bearer " + add_user_with_token(
        settings, name, "analyst", None)}
    body = {"inputs": {"parcel_no": parcel_no}}
    try:
        first = httpx.post(served + EXECUTE, json=body, headers=headers, timeout=30)
        second = httpx.post(served + EXECUTE, json=body, headers=headers, timeout=30)
        assert db.execute("SELECT owner FROM processing_jobs WHERE id = %s",
                          [job_id(first)]).fetchone() == (name,)
    finally:
        _dismiss_all(database_url, {name})
    assert second.status_code == 429, second.text
    assert second.json()["code"] == "TooManyRequests"
    assert second.headers["retry-after"].isdigit()


def test_the_limit_is_read_from_its_environment_variable(monkeypatch):
    monkeypatch.setenv("AMANAT_LIMIT_MAX_ACTIVE_JOBS_PER_CLIENT", "7")
    assert LimitSettings().max_active_jobs_per_client == 7


@pytest.mark.parametrize("value", ["lots", "0", "-1", "2.5"])
def test_a_malformed_limit_is_refused_at_start(database_url, tmp_path, value):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMANAT_")}
    env.update(DATABASE_URL=database_url, AMANAT_STATE_DIR=str(tmp_path),
               AMANAT_LIMIT_MAX_ACTIVE_JOBS_PER_CLIENT=value)
    done = subprocess.run([sys.executable, "-m", "geoserver.cli", "serve", "--no-sample"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "max_active_jobs_per_client" in done.stderr
    assert "Traceback" not in done.stderr
