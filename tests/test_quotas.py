"""Quotas (issue 15 part 4): anonymous clients per address, researcher keys with a larger quota,
counted by the `limits` library in PostgreSQL (shared by every server process), usage per key
for admins; keys issued, listed and revoked over HTTP and the CLI."""
import contextlib
import json
import time

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

ITEMS = "/ogc/collections/districts/items"
QUOTAS = {"anonymous_reads": "3/minute", "anonymous_downloads": "2/minute",
          "researcher_reads": "6/minute", "researcher_downloads": "4/minute",
          "sync_s": 0}   # exact: every charged request counted in PostgreSQL


@contextlib.contextmanager
def _app(settings, **extra):
    """An application with small quotas."""
    from geoserver import create_app
    from geoserver.settings import QuotaSettings

    quotas = QuotaSettings(**{**QUOTAS, **extra})
    with TestClient(create_app(settings.model_copy(update={"quotas": quotas}))) as client:
        yield client


@pytest.fixture
def small(settings, db):
    """A fresh count: the windows of earlier runs are forgotten."""
    db.execute("DELETE FROM quota_counters")
    with _app(settings) as client:
        yield client


@pytest.fixture
def researcher(client, auth, db) -> dict:
    """The headers of a new researcher key issued by an admin over HTTP."""
    response = client.post("/admin/keys", json={"name": "uni-lab"}, headers=auth["admin"])
    assert response.status_code == 201, response.text
    assert response.json()["role"] == "researcher"
    return {"X-API-Key": response.json()["key"], "id": response.json()["id"]}


def _key(headers: dict) -> dict:
    return {"X-API-Key": headers["X-API-Key"]}


def test_anonymous_reads_beyond_the_quota_are_429_with_retry_after(small):
    assert [small.get(ITEMS).status_code for _ in range(3)] == [200, 200, 200]
    refused = small.get(ITEMS, params={"lang": "en"})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    body = refused.json()
    assert body["code"] == "TooManyRequests"
    assert body["descriptions"]["en"].startswith("quota exceeded: 3 data reads per minute")
    assert "طلبات قراءة البيانات" in body["descriptions"]["ar"]


def test_single_items_count_as_reads(small):
    for _ in range(3):
        assert small.get(f"{ITEMS}/1").status_code == 200
    assert small.get(f"{ITEMS}/1").status_code == 429


def test_downloads_have_their_own_quota(small):
    assert small.get("/downloads/districts.csv").status_code == 200
    assert small.get(ITEMS, params={"f": "csv"}).status_code == 200   # a filtered download
    assert small.get("/downloads/districts.geojson").status_code == 429
    assert small.get(ITEMS).status_code == 200                          # reads are still open


def test_a_researcher_key_has_the_larger_quota(small, researcher):
    for _ in range(3):
        small.get(ITEMS)
    assert small.get(ITEMS).status_code == 429                      # anonymous: used up
    statuses = [small.get(ITEMS, headers=_key(researcher)).status_code for _ in range(7)]
    assert statuses == [200] * 6 + [429]


def test_staff_are_not_charged(small, auth):
    assert {small.get(ITEMS, headers=auth["analyst"]).status_code for _ in range(8)} == {200}


def test_two_server_processes_share_the_counts(small, settings):
    with _app(settings) as other:   # a second app: its own pool, same database
        assert small.get(ITEMS).status_code == 200
        assert other.get(ITEMS).status_code == 200
        assert small.get(ITEMS).status_code == 200
        assert other.get(ITEMS).status_code == 429


def test_buffered_counts_reach_postgresql_and_the_other_processes(settings, db):
    db.execute("DELETE FROM quota_counters")
    with _app(settings, sync_s=0.05) as one, _app(settings, sync_s=0.05) as two:
        statuses = [one.get(ITEMS).status_code for _ in range(4)]
        time.sleep(0.3)   # a few intervals: the hits are in PostgreSQL
        stored = db.execute("SELECT sum(hits) FROM quota_counters").fetchone()[0]
        first = two.get(ITEMS).status_code    # the other process has not synced this window
        time.sleep(0.3)
        later = two.get(ITEMS).status_code
    assert statuses == [200, 200, 200, 429]
    assert stored == 4
    assert (first, later) == (200, 429)


def test_buffered_usage_is_written_in_the_background(settings, db, researcher):
    with _app(settings, sync_s=0.05) as buffered:
        for _ in range(3):
            assert buffered.get(ITEMS, headers=_key(researcher)).status_code == 200
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            row = db.execute("SELECT sum(charged) FROM quota_usage WHERE api_key_id = %s",
                             [researcher["id"]]).fetchone()
            if row[0] == 3:
                break
            time.sleep(0.05)
    assert row[0] == 3


def test_admins_see_usage_per_key(small, client, auth, researcher):
    for _ in range(7):
        small.get(ITEMS, headers=_key(researcher))
    listing = client.get("/admin/keys", headers=auth["admin"])
    assert listing.status_code == 200
    mine = next(k for k in listing.json()["keys"] if k["id"] == researcher["id"])
    assert "key" not in mine and "secret_sha256" not in json.dumps(mine)
    assert mine["usage"] == [{"day": mine["usage"][0]["day"], "kind": "reads", "charged": 6,
                              "refused": 1}]


def test_a_revoked_key_is_refused(client, auth, researcher):
    assert client.get(ITEMS, headers=_key(researcher)).status_code == 200
    assert client.delete(f"/admin/keys/{researcher['id']}",
                         headers=auth["admin"]).status_code == 204
    assert client.get(ITEMS, headers=_key(researcher)).status_code == 401
    assert client.delete(f"/admin/keys/{researcher['id']}",
                         headers=auth["admin"]).status_code == 404


@pytest.mark.parametrize("who,status", [("public", 401), ("analyst", 403), ("office", 403)])
def test_only_admins_manage_keys(client, auth, db, who, status):
    before = db.execute("SELECT count(*) FROM api_keys").fetchone()[0]
    assert client.get("/admin/keys", headers=auth[who]).status_code == status
    assert client.post("/admin/keys", json={"name": "x"}, headers=auth[who]).status_code == status
    assert db.execute("SELECT count(*) FROM api_keys").fetchone()[0] == before


@pytest.mark.parametrize("body", [b"[]", b"{", b'{"name": "a b"}', b'{"name": "x", "role": "boss"}',
                                  b'{"name": "x", "extra": 1}', b'{"role": "researcher"}',
                                  b'{"name": "x", "role": "office"}'])
def test_a_bad_key_request_is_400_and_issues_nothing(client, auth, db, body):
    before = db.execute("SELECT count(*) FROM api_keys").fetchone()[0]
    response = client.post("/admin/keys", content=body, headers={
        **auth["admin"], "Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"type", "code", "title", "description", "descriptions"}
    assert db.execute("SELECT count(*) FROM api_keys").fetchone()[0] == before


def test_bad_days_is_400(client, auth):
    for days in ("0", "367", "x"):
        assert client.get("/admin/keys", params={"days": days},
                          headers=auth["admin"]).status_code == 400


def test_cli_issues_researcher_keys_and_shows_usage(small, database_url):
    from geoserver.cli import main

    runner = CliRunner()
    env = {"DATABASE_URL": database_url}
    added = runner.invoke(main, ["keys", "add", "cli-lab", "--role", "researcher"], env=env)
    assert added.exit_code == 0, added.output
    key = added.stdout.strip().splitlines()[-1]
    assert small.get(ITEMS, headers={"X-API-Key": key}).status_code == 200
    usage = runner.invoke(main, ["keys", "usage", "--days", "1"], env=env)
    assert usage.exit_code == 0, usage.output
    assert [line for line in usage.stdout.splitlines()
            if "\tcli-lab\tresearcher\treads\t1\t0" in line]
