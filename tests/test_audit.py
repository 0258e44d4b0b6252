"""The audit trail: a row for every accepted write, append-only, readable by admins and the CLI."""
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest
from starlette.testclient import TestClient

from tests.support.accounts import OFFICE, create_licence, inspection, licence, subject_of

ROOT = Path(__file__).resolve().parent.parent
MERGE = "application/merge-patch+json"


def _last_id(db) -> int:
    return db.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0]


def _rows(db, since_id: int, feature_id, collection="licenses"):
    """Rows about one feature written after `since_id` (ids restart when the layers are
    reloaded; the trail does not)."""
    return db.execute("SELECT action, actor, actor_kind, roles, office, api_key_id, client_ip, "
                      "user_agent, before, after FROM audit_log WHERE collection = %s AND "
                      "feature_id = %s AND id > %s ORDER BY id",
                      [collection, str(feature_id), since_id]).fetchall()


@pytest.fixture(scope="module")
def remote(client):
    """The same application, called from a known address with a known user agent."""
    return TestClient(client.app, base_url="http://testserver", client=("203.0.113.7", 40100),
                      headers={"User-Agent": "AmanatField/2.1 (Android 15)"})


def test_a_creation_records_who_when_what_and_from_where(remote, auth, db, tokens):
    start = _last_id(db)
    response = remote.post("/ogc/collections/licenses/items", json=licence(db),
                           headers=auth["office"])
    assert response.status_code == 201
    [row] = _rows(db, start, response.json()["id"])
    action, actor, kind, roles, office, key, ip, agent, before, after = row
    assert (action, actor, kind, roles, office) == ("create", subject_of(tokens, "office"),
                                                    "local", ["office"], OFFICE)
    assert (str(ip), agent, key) == ("203.0.113.7", "AmanatField/2.1 (Android 15)", None)
    assert before is None
    assert after["license_no"] == response.json()["properties"]["license_no"]
    assert after["holder_phone"] == "0551234567"   # the trail is complete (and admin-only)
    assert after["geometry"]["type"] == "Point"


def test_a_change_records_before_and_after(client, auth, db):
    start = _last_id(db)
    fid, tag, path = create_licence(client, auth, db)
    client.patch(path, content=b'{"properties": {"status": "suspended"}}',
                 headers={**auth["office"], "If-Match": tag, "Content-Type": MERGE})
    change = _rows(db, start, fid)[-1]
    assert change[0] == "update"
    assert (change[8]["status"], change[9]["status"]) == ("active", "suspended")


def test_a_deletion_records_what_was_deleted(client, auth, db):
    start = _last_id(db)
    fid, tag, path = create_licence(client, auth, db)
    assert client.delete(path, headers={**auth["admin"], "If-Match": tag}).status_code == 204
    action, *_, before, after = _rows(db, start, fid)[-1]
    assert action == "delete" and before["id"] == fid and after is None


def test_a_write_with_an_api_key_records_the_key(client, db, settings):
    from layers import accounts

    with psycopg.connect(settings.database.dsn) as conn:
        key, secret = accounts.add_key(conn, "t-field-app", "inspector", None)
    start = _last_id(db)
    response = client.post("/ogc/collections/inspections/items", json=inspection(db),
                           headers={"X-API-Key": secret})
    assert response.status_code == 201, response.text
    [row] = _rows(db, start, response.json()["id"], "inspections")
    assert (row[1], row[2], row[5]) == ("key:t-field-app", "key", key.id)


def test_a_refused_write_leaves_no_row(client, auth, db):
    before = db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    feature = licence(db, zone="R1")   # activity not allowed there
    assert client.post("/ogc/collections/licenses/items", json=feature,
                       headers=auth["office"]).status_code == 400
    assert db.execute("SELECT count(*) FROM audit_log").fetchone()[0] == before


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'someone-else'",
                                       "DELETE FROM audit_log",
                                       "TRUNCATE audit_log"])
def test_the_trail_cannot_be_rewritten(database_url, statement):
    with psycopg.connect(database_url) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute(statement)


def test_the_trail_survives_a_reload_of_the_layers(db):
    foreign = db.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND "
                         "(conrelid = 'audit_log'::regclass OR confrelid = 'audit_log'::regclass)"
                         ).fetchone()[0]
    assert foreign == 0   # TRUNCATE ... CASCADE of the layer tables never reaches it


def test_admins_read_the_trail_filtered_by_user_and_collection(client, auth, db, tokens):
    create_licence(client, auth, db)
    office = subject_of(tokens, "office")
    response = client.get("/audit", params={"user": office, "collection": "licenses"},
                          headers=auth["admin"])
    assert response.status_code == 200
    body = response.json()
    assert body["numberMatched"] >= 1
    assert {entry["actor"] for entry in body["entries"]} == {office}
    assert response.headers["cache-control"] == "private, no-store"


def test_the_trail_pages_with_next_links(client, auth):
    body = client.get("/audit?limit=1", headers=auth["admin"]).json()
    assert body["numberReturned"] == 1
    following = next(link["href"] for link in body["links"] if link["rel"] == "next")
    assert "offset=1" in following


def test_since_filters_by_time(client, auth):
    later = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    body = client.get("/audit", params={"since": later}, headers=auth["admin"]).json()
    assert body["numberMatched"] == 0


@pytest.mark.parametrize("query", ["since=yesterday", "since=2026-11-01T00:00:00", "limit=0",
                                   "colour=red", "f=html"])
def test_bad_audit_queries_are_400(client, auth, query):
    response = client.get(f"/audit?{query}", headers=auth["admin"])
    assert response.status_code == 400
    assert response.json()["description"]


def test_the_cli_lists_the_trail(client, auth, db, settings, database_url, tokens):
    fid, _, _ = create_licence(client, auth, db)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMANAT_")}
    env.update(DATABASE_URL=database_url, AMANAT_STATE_DIR=str(settings.server.state_dir))
    office = subject_of(tokens, "office")
    since = (datetime.now(timezone.utc) - timedelta(minutes=10)).isoformat()
    done = subprocess.run([sys.executable, "-m", "geoserver.cli", "audit", "--user", office,
                           "--since", since, "--json"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in done.stdout.splitlines()]
    assert any(e["feature_id"] == str(fid) and e["action"] == "create" for e in entries)
    assert all(e["actor"] == office for e in entries)
