"""Sign-on and roles: real tokens signed and verified, real API keys, one policy for all routes."""
import base64
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

from geoserver.identity import LocalIssuer
from tests.support.accounts import ROLES, licence, subject_of

ROOT = Path(__file__).resolve().parent.parent
LICENCES = "/ogc/collections/licenses/items"


def _issuer(settings) -> LocalIssuer:
    return LocalIssuer(settings.auth, settings.server.state_dir)


def _token(settings, tokens, key=None, header=None, **claims) -> str:
    """A token like the admin's, with some claims changed (signed with `key`, default ours)."""
    issuer = _issuer(settings)
    now = int(time.time())
    body = {"iss": issuer.issuer, "aud": issuer.audience, "sub": subject_of(tokens, "admin"),
            "iat": now, "exp": now + 600, "role": "admin"}
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    head = header or {"alg": "ES256", "kid": issuer.kid}
    return jwt.encode(head, body, key or issuer.key, algorithms=[head["alg"]])


def _b64(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _post(client, token: str | None = None, headers: dict | None = None, db=None):
    headers = dict(headers or {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.post(LICENCES, json={"type": "Feature"}, headers=headers)


def _assert_ogc_error(response, status: int):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "type", "title", "description", "descriptions"}
    assert body["description"] == body["descriptions"]["ar"]   # Arabic by default


def _cli(settings, database_url, *args) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMANAT_")}
    env.update(DATABASE_URL=database_url, AMANAT_STATE_DIR=str(settings.server.state_dir))
    return subprocess.run([sys.executable, "-m", "geoserver.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_public_reads_need_no_token(client):
    assert client.get(f"{LICENCES}?f=json&limit=2").status_code == 200
    assert client.get("/ogc/collections?f=json").status_code == 200


def test_a_write_without_a_token_is_401_with_a_bearer_challenge(client):
    response = _post(client)
    _assert_ogc_error(response, 401)
    assert response.headers["www-authenticate"].startswith('Bearer realm="amanat"')


@pytest.mark.parametrize("case", ["expired", "not_yet_valid", "wrong_issuer", "wrong_audience",
                                  "no_subject", "no_expiry"])
def test_tokens_with_bad_claims_are_401(client, settings, tokens, case):
    now = int(time.time())
    claims = {"expired": {"exp": now - 3600, "iat": now - 7200},
              "not_yet_valid": {"nbf": now + 3600},
              "wrong_issuer": {"iss": "https://someone-else.example"},
              "wrong_audience": {"aud": "another-service"},
              "no_subject": {"sub": None},
              "no_expiry": {"exp": None}}[case]
    response = _post(client, _token(settings, tokens, **claims))
    _assert_ogc_error(response, 401)
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_an_expired_token_says_so(client, settings, tokens):
    response = _post(client, _token(settings, tokens, exp=int(time.time()) - 3600))
    assert "expired" in response.json()["descriptions"]["en"]


def test_a_forged_token_signed_by_another_key_under_our_key_id_is_401(client, settings, tokens):
    forger = ECKey.generate_key("P-256", private=True)
    response = _post(client, _token(settings, tokens, key=forger))
    _assert_ogc_error(response, 401)
    assert "signature" in response.json()["descriptions"]["en"]


def test_a_tampered_payload_is_401(client, settings, tokens):
    head, _, signature = tokens["analyst"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(tokens["analyst"].split(".")[1] + "=="))
    claims["role"], claims["sub"] = "admin", subject_of(tokens, "admin")
    response = _post(client, f"{head}.{_b64(claims)}.{signature}")
    _assert_ogc_error(response, 401)


def test_an_alg_none_token_is_401(client, settings, tokens):
    issuer = _issuer(settings)
    claims = {"iss": issuer.issuer, "aud": issuer.audience, "sub": subject_of(tokens, "admin"),
              "exp": int(time.time()) + 600}
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    response = _post(client, unsigned)
    _assert_ogc_error(response, 401)
    assert "algorithm" in response.json()["descriptions"]["en"]


def test_an_hs256_token_keyed_with_our_public_key_is_401(client, settings, tokens):
    public = json.dumps(_issuer(settings).key.as_dict(private=False)).encode()
    token = _token(settings, tokens, key=OctKey.import_key(public), header={"alg": "HS256"})
    _assert_ogc_error(_post(client, token), 401)


@pytest.mark.parametrize("value", ["Basic YWRtaW46YWRtaW4=", "Bearer", "Bearer not.a.jwt",
                                   "Bearer " + "x" * 9000, "Bearer a.b"])
def test_malformed_authorization_headers_are_401(client, value):
    _assert_ogc_error(client.post(LICENCES, json={}, headers={"Authorization": value}), 401)


def test_a_bad_token_is_refused_even_where_none_is_needed(client):
    response = client.get(f"{LICENCES}?f=json", headers={"Authorization": "Bearer x.y.z"})
    _assert_ogc_error(response, 401)


def test_a_valid_token_on_a_public_read_is_fine(client, auth):
    assert client.get(f"{LICENCES}?f=json&limit=1", headers=auth["analyst"]).status_code == 200


def test_the_wrong_role_is_403(client, auth, db):
    response = client.post(LICENCES, json=licence(db), headers=auth["inspector"])
    _assert_ogc_error(response, 403)
    assert "office" in response.json()["descriptions"]["en"]


def test_a_disabled_user_is_refused_at_once(client, settings, db):
    from geoserver.cli_auth import add_user_with_token

    name = f"t-leaver-{uuid.uuid4().hex[:6]}"
    token = add_user_with_token(settings, name, "admin", None)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/audit?limit=1", headers=headers).status_code == 200
    db.execute("UPDATE auth_users SET disabled_at = now() WHERE name = %s", [name])
    _assert_ogc_error(client.get("/audit?limit=1", headers=headers), 401)


def test_the_role_is_the_users_current_one_not_the_tokens(client, settings, db):
    from geoserver.cli_auth import add_user_with_token

    name = f"t-mover-{uuid.uuid4().hex[:6]}"
    token = add_user_with_token(settings, name, "admin", None)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/audit?limit=1", headers=headers).status_code == 200
    db.execute("UPDATE auth_users SET role = 'analyst' WHERE name = %s", [name])
    _assert_ogc_error(client.get("/audit?limit=1", headers=headers), 403)


@pytest.mark.parametrize("role", ROLES)
def test_audit_trail_is_for_admins_only(client, auth, role):
    expected = {"public": 401, "admin": 200}.get(role, 403)
    assert client.get("/audit?limit=1", headers=auth[role]).status_code == expected


@pytest.mark.parametrize("role", ROLES)
def test_batch_compliance_is_for_analysts_and_admins(client, auth, role):
    response = client.post("/ogc/processes/batch-compliance/execution",
                           json={"inputs": {"area": {"district": "ZZZ-99"}}},
                           headers={**auth[role], "Prefer": "respond-async"})
    # an unknown district is refused by the process (400) once the caller may run it
    expected = {"public": 401, "analyst": 400, "admin": 400}.get(role, 403)
    assert response.status_code == expected, response.text


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("process", ["parcel-check", "license-site-check"])
def test_single_checks_are_open_to_everyone(client, auth, db, role, process):
    parcel_no = db.execute("SELECT parcel_no FROM parcels ORDER BY id LIMIT 1").fetchone()[0]
    inputs = {"parcel_no": parcel_no, "activity": "4711"}
    if process == "parcel-check":
        inputs["use"] = "commercial"
    response = client.post(f"/ogc/processes/{process}/execution", json={"inputs": inputs},
                           headers=auth[role])
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("role", ROLES)
def test_writes_to_a_read_only_layer_are_for_nobody(client, auth, role):
    response = client.post("/ogc/collections/parcels/items", json={"type": "Feature"},
                           headers=auth[role])
    expected = {"public": 401, "admin": 405}.get(role, 403)
    assert response.status_code == expected
    if role == "admin":
        assert response.headers["allow"] == "GET, HEAD"


def test_users_add_prints_a_token_the_server_accepts(client, settings, database_url):
    name = f"t-cli-{uuid.uuid4().hex[:6]}"
    done = _cli(settings, database_url, "users", "add", name, "--role", "admin")
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert token.count(".") == 2
    assert client.get("/audit?limit=1", headers={"Authorization": f"Bearer {token}"}
                      ).status_code == 200


def test_users_add_refuses_an_office_without_its_office(settings, database_url):
    done = _cli(settings, database_url, "users", "add", "t-nooffice", "--role", "office")
    assert done.returncode != 0 and "--office" in done.stderr


def test_an_api_key_works_until_it_is_revoked(client, settings, database_url, db):
    done = _cli(settings, database_url, "keys", "add", "t-agency", "--role", "analyst")
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip()
    assert key.startswith("amk_")
    stored = db.execute("SELECT secret_sha256 FROM api_keys WHERE id = %s",
                        [key.split("_")[1]]).fetchone()[0]
    assert key.encode() not in bytes(stored)
    run = "/ogc/processes/batch-compliance/execution"
    body = {"inputs": {"area": {"district": "ZZZ-99"}}}
    assert client.post(run, json=body, headers={"X-API-Key": key}).status_code == 400
    assert client.post(run, json=body, headers={"Authorization": f"Bearer {key}"}
                       ).status_code == 400
    assert client.post(LICENCES, json={}, headers={"X-API-Key": key}).status_code == 403
    done = _cli(settings, database_url, "keys", "revoke", key.split("_")[1])
    assert done.returncode == 0, done.stderr
    _assert_ogc_error(client.post(run, json=body, headers={"X-API-Key": key}), 401)


def test_an_api_key_with_a_wrong_secret_is_401(client, settings, db):
    from layers import accounts

    key_id = db.execute("SELECT id FROM api_keys LIMIT 1").fetchone()
    guess = f"amk_{key_id[0] if key_id else '0' * 12}_{'A' * 43}"
    _assert_ogc_error(client.get("/audit", headers={"X-API-Key": guess}), 401)
    assert accounts.check_key(db, guess) is None


def test_the_local_issuer_key_is_created_once_and_private(settings):
    path = settings.auth.key_path(settings.server.state_dir)
    assert path.exists() and (path.stat().st_mode & 0o077) == 0
    assert _issuer(settings).kid == _issuer(settings).kid


@pytest.mark.parametrize("collection", ["parcels", "licenses"])
def test_cql2_json_queries_sent_with_post_are_reads(client, collection):
    query = {"op": "=", "args": [{"property": "id"}, 1]}
    response = client.post(f"/ogc/collections/{collection}/items", params={"f": "json"},
                           content=json.dumps(query),
                           headers={"Content-Type": "application/query-cql-json"})
    assert response.status_code == 200, response.text
    assert response.json()["numberReturned"] == 1
    assert "holder_" not in response.text


def test_raster_statistics_sent_with_post_are_reads(client):
    feature = {"type": "Feature", "properties": {},
               "geometry": {"type": "Point", "coordinates": [50.1, 26.4]}}
    response = client.post("/raster/no-such-raster/statistics", json=feature)
    _assert_ogc_error(response, 404)      # anonymous and not refused: the raster is unknown
    assert response.json()["code"] == "NotFound"


@pytest.mark.parametrize("role", ROLES)
def test_dismissing_a_job_is_for_analysts_and_admins(client, auth, role):
    response = client.delete("/ogc/jobs/00000000-0000-0000-0000-000000000000",
                             headers=auth[role])
    expected = {"public": 401, "analyst": 404, "admin": 404}.get(role, 403)
    assert response.status_code == expected


@pytest.mark.parametrize("path", ["/raster", "/openapi.json", "/certificates/keys", "/healthz",
                                  "/search?q=KHB", "/ogc/processes?f=json", "/ogc/jobs"])
def test_other_public_reads_stay_open(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.text[:300]
