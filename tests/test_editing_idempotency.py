"""Idempotent licence creation: a retried POST with the same Idempotency-Key answers the licence
the first one made (Idempotent-Replayed: true) instead of a 409 or a second licence; the key is
stored (licenses.client_id, request_sha256, created_by: migration 0011_license_idempotency) and
never published."""
import json
import threading
import uuid

import morecantile
import psycopg
import pytest

from geoserver.cli_auth import add_user_with_token
from layers import migrate
from tests.support.accounts import OFFICE, counts, licence, subject_of

ITEMS = "/ogc/collections/licenses/items"
MERGE = "application/merge-patch+json"
HIDDEN = ("client_id", "request_sha256", "created_by")


def _post(client, auth, feature, key=None, who="office"):
    headers = dict(auth[who])
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(ITEMS, json=feature, headers=headers)


def _hidden(db, feature_id: int) -> tuple:
    return db.execute("SELECT client_id, request_sha256, created_by FROM licenses WHERE id = %s",
                      [feature_id]).fetchone()


def _refused(client, auth, db, status: int, text: str | None, feature, key, who="office"):
    """A creation that must be refused and change nothing."""
    before = counts(db)
    response = _post(client, auth, feature, key, who)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"code", "type", "title", "description", "descriptions"}
    if text:
        assert text in response.json()["descriptions"]["en"]
    assert counts(db) == before
    return response


@pytest.fixture(scope="module")
def keyed_licence(client, auth, db):
    """A licence an office created with an Idempotency-Key: (id, key, digest, creator, row)."""
    key = f"office-app:{uuid.uuid4()}"
    response = _post(client, auth, licence(db, trade_name_en=f"Keyed Shop {uuid.uuid4().hex[:6]}"),
                     key)
    assert response.status_code == 201, response.text
    fid = response.json()["id"]
    client_id, digest, creator = _hidden(db, fid)
    row = db.execute("SELECT license_no, trade_name_en, ST_X(geom), ST_Y(geom) FROM licenses "
                     "WHERE id = %s", [fid]).fetchone()
    return fid, client_id, digest, creator, row


# --- retries -----------------------------------------------------------------------------------

def test_a_retried_creation_with_the_same_key_answers_the_first_licence(client, auth, db,
                                                                         tokens):
    key, feature = str(uuid.uuid4()), licence(db)
    before = counts(db)
    first = _post(client, auth, feature, key)
    again = _post(client, auth, feature, key)
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    after = counts(db)
    assert after["licenses"] == before["licenses"] + 1
    assert after["audit_log"] == before["audit_log"] + 1
    client_id, digest, creator = _hidden(db, first.json()["id"])
    assert (client_id, len(digest), creator) == (key, 64, subject_of(tokens, "office"))


def test_a_replay_answers_the_licence_as_it_is_now(client, auth, db):
    key, feature = str(uuid.uuid4()), licence(db)
    first = _post(client, auth, feature, key)
    path = first.headers["location"].replace("http://testserver", "")
    changed = client.patch(path, content=b'{"properties": {"trade_name_en": "Renamed Later"}}',
                           headers={**auth["office"], "If-Match": first.headers["etag"],
                                    "Content-Type": MERGE})
    assert changed.status_code == 200, changed.text
    again = _post(client, auth, feature, key)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["properties"]["trade_name_en"] == "Renamed Later"
    assert again.headers["etag"] == changed.headers["etag"]


def test_concurrent_retries_create_one_licence(client, auth, db):
    key, feature, statuses = str(uuid.uuid4()), licence(db), []
    before = counts(db)

    def create():
        statuses.append(_post(client, auth, feature, key).status_code)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 4
    after = counts(db)
    assert after["licenses"] == before["licenses"] + 1
    assert after["audit_log"] == before["audit_log"] + 1


def test_a_key_reused_for_a_different_licence_is_409(client, auth, db):
    key = str(uuid.uuid4())
    first = _post(client, auth, licence(db), key)
    assert first.status_code == 201, first.text
    stored = db.execute("SELECT to_jsonb(t) - 'geom_utm', xmin::text FROM licenses t "
                        "WHERE id = %s", [first.json()["id"]]).fetchone()
    _refused(client, auth, db, 409, "different licence request", licence(db), key)
    assert db.execute("SELECT to_jsonb(t) - 'geom_utm', xmin::text FROM licenses t "
                      "WHERE id = %s", [first.json()["id"]]).fetchone() == stored


@pytest.mark.parametrize("who", ["other_office", "admin"])
def test_the_same_key_from_another_caller_is_409(client, auth, db, who):
    key, feature = str(uuid.uuid4()), licence(db)
    assert _post(client, auth, feature, key).status_code == 201
    _refused(client, auth, db, 409, "already used", feature, key, who)


def test_keys_are_per_caller_even_within_one_office(client, auth, db, settings):
    token = add_user_with_token(settings, f"t-office-b-{uuid.uuid4().hex[:6]}", "office", OFFICE)
    colleague = {"Authorization": f"Bearer {token}"}
    key, feature = str(uuid.uuid4()), licence(db)
    assert _post(client, auth, feature, key).status_code == 201
    _refused(client, {"colleague": colleague}, db, 409, "already used", feature, key,
             "colleague")


@pytest.mark.parametrize("key", ["short-7", "k" * 101, "bad key!", "a/b/c/d/e/f", "", "   ",
                                 "semi;colon1"])
def test_malformed_keys_are_400(client, auth, db, key):
    _refused(client, auth, db, 400, "Idempotency-Key must be", licence(db), key)


def test_quotes_around_a_key_are_ignored(client, auth, db):
    key, feature = str(uuid.uuid4()), licence(db)
    first = _post(client, auth, feature, key)
    again = _post(client, auth, feature, f'"{key}"')
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json()["id"] == first.json()["id"]


# --- without a key: as before ------------------------------------------------------------------

def test_without_a_key_a_retry_is_a_duplicate_licence_number(client, auth, db, tokens):
    feature = licence(db)
    first = _post(client, auth, feature)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    _refused(client, auth, db, 409, "license_no already exists", feature, None)
    assert _hidden(db, first.json()["id"]) == (None, None, subject_of(tokens, "office"))


def test_the_key_is_no_property_of_a_licence(client, auth, db):
    feature = licence(db, client_id="phone-app:0001")
    _refused(client, auth, db, 400, "unknown properties: client_id", feature, None)
    _refused(client, auth, db, 400, "unknown properties: client_id", feature, "phone-app:0001")


def test_a_key_on_a_change_is_ignored(client, auth, db, keyed_licence):
    fid, key = keyed_licence[0], keyed_licence[1]
    tag = client.get(f"{ITEMS}/{fid}", headers=auth["office"]).headers["etag"]
    response = client.patch(f"{ITEMS}/{fid}", content=b'{"properties": {"shop_area_m2": 50}}',
                            headers={**auth["office"], "If-Match": tag, "Content-Type": MERGE,
                                     "Idempotency-Key": "another-key-1"})
    assert response.status_code == 200, response.text
    assert _hidden(db, fid)[0] == key


# --- never published ---------------------------------------------------------------------------

def _clean(response, keyed_licence, *also: str):
    """A successful response that names none of the hidden columns nor holds their values."""
    _, key, digest, creator, _ = keyed_licence
    assert response.status_code == 200, response.text[:300]
    for word in (key, digest, creator, *HIDDEN, *also):
        assert word.encode() not in response.content, word


@pytest.mark.parametrize("who", ["public", "office", "other_office", "admin"])
@pytest.mark.parametrize("fmt", ["json", "jsonld", "html"])
def test_absent_from_items_and_the_single_item(client, auth, keyed_licence, who, fmt):
    fid, (license_no, name, _, _) = keyed_licence[0], keyed_licence[4]
    item = client.get(f"{ITEMS}/{fid}?f={fmt}", headers=auth[who])
    _clean(item, keyed_licence)
    listing = client.get(f"{ITEMS}?f={fmt}&license_no={license_no}", headers=auth[who])
    _clean(listing, keyed_licence)
    listed = f"/items/{fid}" if fmt == "jsonld" else name    # JSON-LD lists ids only
    assert name.encode() in item.content and listed.encode() in listing.content


@pytest.mark.parametrize("who", ["office", "admin"])
def test_absent_from_the_signed_in_item_with_its_holder_details(client, auth, keyed_licence,
                                                                who):
    response = client.get(f"{ITEMS}/{keyed_licence[0]}", headers=auth[who])
    _clean(response, keyed_licence)
    assert "holder_phone" in response.json()["properties"]     # the private view, yet no key


@pytest.mark.parametrize("path", ["schema", "queryables"])
@pytest.mark.parametrize("fmt", ["json", "html"])
def test_absent_from_schema_and_queryables(client, auth, keyed_licence, path, fmt):
    response = client.get(f"/ogc/collections/licenses/{path}?f={fmt}", headers=auth["office"])
    _clean(response, keyed_licence)
    assert b"license_no" in response.content


def test_absent_from_tiles_and_search(client, auth, keyed_licence):
    license_no, _, x, y = keyed_licence[4]
    tile = morecantile.tms.get("WebMercatorQuad").tile(x, y, 18)
    response = client.get(f"/ogc/collections/licenses/tiles/WebMercatorQuad/18/{tile.y}/"
                          f"{tile.x}?f=mvt", headers=auth["office"])
    _clean(response, keyed_licence)
    assert response.content
    found = client.get("/search", params={"q": license_no, "lang": "en"}, headers=auth["office"])
    _clean(found, keyed_licence)
    assert client.get("/search", params={"q": keyed_licence[1]}).json()["results"] == []


def test_absent_from_the_licence_schemas_of_the_openapi_document(client, keyed_licence):
    document = client.get("/ogc/openapi?f=json")
    assert document.status_code == 200
    for word in keyed_licence[1:4]:
        assert word.encode() not in document.content
    schemas = document.json()["components"]["schemas"]
    for name in ("licensesFeature", "licensesPatch"):
        text = json.dumps(schemas[name])
        assert "license_no" in text
        assert not [column for column in HIDDEN if f'"{column}"' in text], name
    create = document.json()["paths"]["/collections/licenses/items"]["post"]
    assert {"$ref": "#/components/parameters/idempotencyKey"} in create["parameters"]


# --- the migration -----------------------------------------------------------------------------

def test_the_columns_refuse_a_malformed_key_and_a_key_without_its_digest(db, keyed_licence):
    fid = keyed_licence[0]
    for assignment in ("client_id = 'bad key'", "request_sha256 = NULL",
                       "request_sha256 = 'ABC'", "created_by = ''"):
        with pytest.raises(psycopg.errors.CheckViolation):
            db.execute(f"UPDATE licenses SET {assignment} WHERE id = %s", [fid])
    assert _hidden(db, fid) == keyed_licence[1:4]


def test_the_migration_downgrades_and_upgrades_again(empty_database_url):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    def columns() -> set[str]:
        with psycopg.connect(empty_database_url) as conn:
            return {row[0] for row in conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'licenses'").fetchall()}

    migrate.upgrade(empty_database_url)
    assert set(HIDDEN) <= columns()
    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    engine = create_engine(migrate.sqlalchemy_url(empty_database_url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0011_license_idempotency@0006_auth")
            connection.commit()
    finally:
        engine.dispose()
    assert not set(HIDDEN) & columns() and "owner_office" in columns()
    assert "0011_license_idempotency" not in migrate.current(empty_database_url)
    migrate.upgrade(empty_database_url)
    assert set(HIDDEN) <= columns()
