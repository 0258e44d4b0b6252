"""Browser sign-in: POST /auth/token, GET /auth/me, `amanat users password`, throttling.

Real users with real argon2 hashes in the test database, real tokens checked by the real
middleware; the throttling tests run their own application with a short window.
"""
import base64
import hashlib
import json
import os
import re
import statistics
import subprocess
import time
import uuid

import psycopg
import pytest
from starlette.testclient import TestClient

from geoserver import create_app
from geoserver.cli_auth import add_user_with_token
from geoserver.identity import LocalIssuer
from geoserver.settings import AuthSettings, Settings
from layers import accounts
from tests.support.server import AMANAT, ROOT

PASSWORD = "correct horse battery"
TOKEN = "/auth/token"
ME = "/auth/me"
BATCH = "/ogc/processes/batch-compliance/execution"


def _name(prefix: str = "si") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _user(settings, role: str = "analyst", office: str | None = None,
          password: str | None = PASSWORD) -> str:
    """A new local user (with a password unless None); returns its name."""
    name = _name()
    add_user_with_token(settings, name, role, office, password=password)
    return name


def _sign_in(client, name: str, password: str = PASSWORD, **kwargs):
    return client.post(TOKEN, json={"username": name, "password": password}, **kwargs)


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _failures(db) -> int:
    return db.execute("SELECT count(*) FROM auth_signin_failures").fetchone()[0]


def _cli(settings, database_url, *args, stdin: str | None = None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMANAT_")}
    env.update(DATABASE_URL=database_url, AMANAT_STATE_DIR=str(settings.server.state_dir))
    return subprocess.run([*AMANAT, *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=60)


# --- signing in --------------------------------------------------------------------------------


def test_a_good_sign_in_answers_the_token_document(client, settings):
    name = _user(settings, "office", "office-7")
    response = _sign_in(client, name)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "user", "role", "office"}
    assert (body["token_type"], body["user"], body["role"], body["office"]) == \
        ("Bearer", name, "office", "office-7")
    assert body["expires_in"] == settings.auth.session_hours * 3600 == 8 * 3600
    assert "no-store" in response.headers["cache-control"]


def test_the_token_runs_and_dismisses_an_analyst_only_batch_job(client, settings):
    token = _sign_in(client, _user(settings)).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    inputs = {"inputs": {"area": {"district": "KHB-01"}}}
    assert client.post(BATCH, json=inputs, headers={"Prefer": "respond-async"}).status_code == 401
    started = client.post(BATCH, json=inputs, headers={**auth, "Prefer": "respond-async"})
    assert started.status_code == 201, started.text
    job = started.headers["location"].replace("http://testserver", "")
    dismissed = client.delete(job, headers=auth)
    assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"


def test_an_office_users_sign_in_token_is_refused_the_analyst_job(client, settings):
    token = _sign_in(client, _user(settings, "office", "office-7")).json()["access_token"]
    response = client.post(BATCH, json={"inputs": {}},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


def test_a_form_encoded_sign_in_works_and_extra_oauth_fields_are_ignored(client, settings):
    name = _user(settings)
    response = client.post(TOKEN, data={"grant_type": "password", "username": name,
                                        "password": PASSWORD})
    assert response.status_code == 200, response.text
    assert response.json()["user"] == name


def test_the_session_token_lives_session_hours_with_the_claims_of_cli_tokens(client, settings):
    name = _user(settings)
    claims = _claims(_sign_in(client, name).json()["access_token"])
    assert claims["exp"] - claims["iat"] == 8 * 3600
    cli = _claims(LocalIssuer(settings.auth, settings.server.state_dir).issue(name, "analyst",
                                                                              None))
    assert set(claims) == set(cli)
    assert (claims["iss"], claims["aud"], claims["sub"], claims["role"]) == \
        (cli["iss"], cli["aud"], name, "analyst")


def test_the_password_is_stored_only_as_an_argon2id_hash(settings, db):
    name = _user(settings)
    stored = db.execute("SELECT password_hash FROM auth_users WHERE name = %s",
                        [name]).fetchone()[0]
    assert stored != PASSWORD and PASSWORD not in stored
    assert stored.startswith("$argon2id$")


def test_a_successful_sign_in_is_audited_without_the_password(client, settings, db):
    name = _user(settings)
    assert _sign_in(client, name, headers={"User-Agent": "map-test"}).status_code == 200
    rows = db.execute("SELECT actor, actor_kind, roles, user_agent, before, after::text "
                      "FROM audit_log WHERE action = 'user.signin' AND feature_id = %s",
                      [name]).fetchall()
    assert len(rows) == 1
    actor, kind, roles, agent, before, after = rows[0]
    assert (actor, kind, roles, agent, before) == (name, "local", ["analyst"], "map-test", None)
    assert PASSWORD not in after


def test_a_failed_sign_in_writes_no_audit_row(client, settings, db):
    name = _user(settings)
    assert _sign_in(client, name, "not the password").status_code == 401
    assert db.execute("SELECT count(*) FROM audit_log WHERE feature_id = %s "
                      "AND action = 'user.signin'", [name]).fetchone()[0] == 0


# --- refusals ----------------------------------------------------------------------------------


def _refusals(client, settings, db) -> dict:
    """The answers to a wrong password, an unknown user, a disabled user and a user without a
    password."""
    wrong = _user(settings)
    disabled = _user(settings)
    db.execute("UPDATE auth_users SET disabled_at = now() WHERE name = %s", [disabled])
    without = _user(settings, password=None)
    return {"wrong password": _sign_in(client, wrong, "not the password"),
            "unknown user": _sign_in(client, _name("nobody")),
            "disabled user": _sign_in(client, disabled),
            "no password set": _sign_in(client, without),
            "not a user name": _sign_in(client, "no such user!")}


def test_every_refusal_is_the_same_401(client, settings, db):
    answers = _refusals(client, settings, db)
    shapes = {(r.status_code, r.text, r.headers.get("www-authenticate"))
              for r in answers.values()}
    assert len(shapes) == 1, answers
    status, text, challenge = shapes.pop()
    assert status == 401 and challenge.startswith("Bearer")
    assert json.loads(text)["descriptions"]["en"] == "wrong user name or password"


def test_an_unknown_user_takes_as_long_as_a_wrong_password(client, settings):
    known = _user(settings)

    def median(name: str) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            assert _sign_in(client, name, "not the password").status_code == 401
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    wrong_password, unknown = median(known), median(_name("nobody"))
    assert unknown > 0.5 * wrong_password, (unknown, wrong_password)


BAD_BODIES = {
    "not JSON": ("application/json", b"{username: x"),
    "a JSON array": ("application/json", b'["a", "b"]'),
    "no password": ("application/json", b'{"username": "someone"}'),
    "no username": ("application/json", b'{"password": "correct horse"}'),
    "a number as name": ("application/json", b'{"username": 5, "password": "correct horse"}'),
    "a list as password": ("application/json", b'{"username": "a", "password": ["x"]}'),
    "empty strings": ("application/json", b'{"username": "", "password": ""}'),
    "a huge name": ("application/json",
                    json.dumps({"username": "a" * 65, "password": "x"}).encode()),
    "a huge password": ("application/json",
                        json.dumps({"username": "a", "password": "x" * 1025}).encode()),
    "a huge body": ("application/json",
                    json.dumps({"username": "a", "password": "x", "pad": "y" * 9000}).encode()),
    "a lone surrogate": ("application/json", b'{"username": "a", "password": "\\ud800abc"}'),
    "plain text": ("text/plain", b"username=a&password=b"),
    "no content type": ("", b'{"username": "a", "password": "b"}'),
    "a broken form": ("application/x-www-form-urlencoded", b"username=a&password"),
    "a form field twice": ("application/x-www-form-urlencoded",
                           b"username=a&password=b&password=c"),
    "a form not in UTF-8": ("application/x-www-form-urlencoded", b"username=a&password=\xff\xfe"),
}


@pytest.mark.parametrize("case", BAD_BODIES)
def test_a_malformed_sign_in_is_400_and_counts_no_failure(client, db, case):
    media, body = BAD_BODIES[case]
    before = _failures(db)
    response = client.post(TOKEN, content=body,
                           headers={"Content-Type": media} if media else {})
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"type", "code", "title", "description", "descriptions"}
    assert _failures(db) == before


def test_a_bad_token_sent_to_the_sign_in_is_refused_by_the_middleware(client, settings):
    response = _sign_in(client, _user(settings), headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 401


def test_get_on_the_token_endpoint_is_405(client):
    assert client.get(TOKEN).status_code == 405


# --- throttling --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def strict_app(settings):
    """The application with a 3-second window: 3 failures per name, 4 per client address."""
    conf = AuthSettings(signin_window_s=3, signin_failures_per_name=3,
                        signin_failures_per_client=4)
    app = create_app(Settings(database=settings.database, server=settings.server, auth=conf))
    with TestClient(app):      # started once: the clients below share its lifespan
        yield app


@pytest.fixture
def strict(strict_app):
    """A client of the strict application (its address: `testclient`, which is no IP)."""
    return TestClient(strict_app)


def _from(app, address: str) -> TestClient:
    """A client of `app` calling from an IP address."""
    return TestClient(app, client=(address, 40000))


def _wait_out(response) -> None:
    wait = int(response.headers["retry-after"])
    assert 1 <= wait <= 3
    time.sleep(wait + 0.2)


def test_too_many_failures_for_a_name_is_429_then_it_recovers(strict, settings):
    name = _user(settings)
    for _ in range(3):
        assert _sign_in(strict, name, "not the password").status_code == 401
    throttled = _sign_in(strict, name)          # even the right password waits
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "TooManyRequests"
    _wait_out(throttled)
    assert _sign_in(strict, name).status_code == 200


def test_the_name_limit_ignores_case(strict, settings):
    name = _user(settings)
    for attempt in (name.upper(), name.capitalize(), name):
        assert _sign_in(strict, attempt, "not the password").status_code == 401
    assert _sign_in(strict, name).status_code == 429


def test_a_success_clears_the_failures_of_its_name(strict, settings, db):
    name = _user(settings)
    for _ in range(2):
        assert _sign_in(strict, name, "not the password").status_code == 401
    assert _sign_in(strict, name).status_code == 200
    key = hashlib.sha256(name.lower().encode()).digest()
    assert db.execute("SELECT count(*) FROM auth_signin_failures WHERE name_sha256 = %s",
                      [key]).fetchone()[0] == 0
    for _ in range(2):
        assert _sign_in(strict, name, "not the password").status_code == 401
    assert _sign_in(strict, name).status_code == 200


def test_too_many_failures_from_one_address_is_429_for_every_name(strict_app, settings):
    name = _user(settings)
    attacker = _from(strict_app, "203.0.113.9")
    for _ in range(4):
        assert _sign_in(attacker, _name("guess"), "not the password").status_code == 401
    throttled = _sign_in(attacker, name)
    assert throttled.status_code == 429
    assert _sign_in(_from(strict_app, "198.51.100.4"), name).status_code == 200
    _wait_out(throttled)
    assert _sign_in(attacker, name).status_code == 200


def test_failed_attempts_keep_no_user_name_in_clear(strict, db):
    typed = _name("typed-password")
    assert _sign_in(strict, typed, "not the password").status_code == 401
    rows = db.execute("SELECT name_sha256 FROM auth_signin_failures").fetchall()
    assert hashlib.sha256(typed.encode()).digest() in {bytes(row[0]) for row in rows}
    dump = db.execute("SELECT string_agg(t::text, ' ') FROM auth_signin_failures t").fetchone()
    assert typed not in (dump[0] or "")


# --- who am I ----------------------------------------------------------------------------------


def test_me_without_credentials_is_401_from_the_handler(client):
    response = client.get(ME)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="amanat"'
    assert "no token" in response.json()["descriptions"]["en"]


def test_me_describes_the_signed_in_user(client, settings):
    name = _user(settings, "office", "office-9")
    token = _sign_in(client, name).json()["access_token"]
    response = client.get(ME, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json() == {"user": name, "role": "office", "office": "office-9"}
    assert "no-store" in response.headers["cache-control"]


def test_me_follows_the_role_in_the_database_not_the_token(client, settings, db):
    name = _user(settings)
    token = _sign_in(client, name).json()["access_token"]
    db.execute("UPDATE auth_users SET role = 'inspector' WHERE name = %s", [name])
    assert client.get(ME, headers={"Authorization": f"Bearer {token}"}).json()["role"] == \
        "inspector"
    db.execute("UPDATE auth_users SET disabled_at = now() WHERE name = %s", [name])
    assert client.get(ME, headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_me_describes_an_api_key(client, database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        _, secret = accounts.add_key(conn, "agency-x", "analyst", None)
    response = client.get(ME, headers={"X-API-Key": secret})
    assert response.json() == {"user": "key:agency-x", "role": "analyst", "office": None}


# --- the command line --------------------------------------------------------------------------


def test_users_password_from_stdin_sets_a_password_that_signs_in(client, settings,
                                                                  database_url, db):
    name = _user(settings, password=None)
    done = _cli(settings, database_url, "users", "password", name, "--password-stdin",
                stdin="a new long password\n")
    assert done.returncode == 0, done.stderr
    assert "a new long password" not in done.stdout + done.stderr
    assert _sign_in(client, name, "a new long password").status_code == 200
    audited = db.execute("SELECT actor, before, after FROM audit_log WHERE action = "
                         "'user.password' AND feature_id = %s", [name]).fetchall()
    assert len(audited) == 1 and audited[0][0].startswith("cli:")
    assert audited[0][1:] == (None, None)


def test_users_password_refuses_a_short_password_and_changes_nothing(settings, database_url, db):
    name = _user(settings)
    before = db.execute("SELECT password_hash FROM auth_users WHERE name = %s",
                        [name]).fetchone()[0]
    done = _cli(settings, database_url, "users", "password", name, "--password-stdin",
                stdin="short\n")
    assert done.returncode != 0
    assert done.stderr.strip() == "amanat: the password needs at least 10 characters"
    assert db.execute("SELECT password_hash FROM auth_users WHERE name = %s",
                      [name]).fetchone()[0] == before


def test_users_password_of_an_unknown_user_fails(settings, database_url):
    done = _cli(settings, database_url, "users", "password", _name("nobody"),
                "--password-stdin", stdin="a long enough password\n")
    assert done.returncode != 0 and "no user" in done.stderr


def test_users_password_prompts_twice(client, settings, database_url, monkeypatch):
    from click.testing import CliRunner

    from geoserver.cli import main

    name = _user(settings, password=None)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("AMANAT_STATE_DIR", str(settings.server.state_dir))
    typed = "typed at the prompt"
    result = CliRunner().invoke(main, ["users", "password", name],
                                input=f"{typed}\nsomething else\n{typed}\n{typed}\n")
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output
    assert _sign_in(client, name, typed).status_code == 200


def test_users_add_with_password_stdin_creates_a_user_who_can_sign_in(client, settings,
                                                                      database_url):
    name = _name()
    done = _cli(settings, database_url, "users", "add", name, "--role", "analyst",
                "--password-stdin", stdin="added with a password\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(".") == 2           # the CLI token is still printed
    assert _sign_in(client, name, "added with a password").status_code == 200


# --- the migration -----------------------------------------------------------------------------


def test_the_migration_downgrades_and_upgrades_again(empty_database_url):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from layers import migrate

    def has_signin() -> tuple:
        with psycopg.connect(empty_database_url) as conn:
            return conn.execute(
                "SELECT to_regclass('auth_signin_failures') IS NOT NULL, EXISTS (SELECT 1 FROM "
                "information_schema.columns WHERE table_name = 'auth_users' "
                "AND column_name = 'password_hash')").fetchone()

    migrate.upgrade(empty_database_url)
    assert has_signin() == (True, True)
    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    engine = create_engine(migrate.sqlalchemy_url(empty_database_url), poolclass=NullPool)
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0007_signin@-1")
        connection.commit()
    engine.dispose()
    assert has_signin() == (False, False)
    # 0006_auth stays applied; it is not listed as current while 0011, its other child, is
    assert "0007_signin" not in migrate.current(empty_database_url).split(",")
    migrate.upgrade(empty_database_url)
    assert has_signin() == (True, True)


# --- the map page ------------------------------------------------------------------------------


@pytest.mark.parametrize("lang, label", [("en", "Sign in"), ("ar", "تسجيل الدخول")])
def test_the_map_header_ends_with_the_sign_in_controls(client, lang, label):
    html = client.get(f"/?lang={lang}").text
    header = html[html.index('<header class="bar">'):html.index("</header>")]
    assert header.count('id="signin-open"') == 1 and f">{label}</button>" in header
    assert header.index('id="lang-switch"') < header.index('id="session"')
    script = re.search(r'src="(static/[^"]+/map/signin\.js)"', html).group(1)
    served = client.get(f"/{script}")
    assert served.status_code == 200 and "amanat.token" in served.text
