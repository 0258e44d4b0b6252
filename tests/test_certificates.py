"""Certificates: stored, fetched by id, printable in Arabic and English, signed, verifiable."""
import base64
import json
import stat

import pytest
from joserfc import jws
from joserfc.jwk import OKPKey
from psycopg.types.json import Jsonb


@pytest.fixture(scope="module")
def issued(client, db):
    """A certificate from a real parcel-check: (id, response body)."""
    parcel_no = db.execute("SELECT parcel_no FROM parcels WHERE land_use = 'residential' "
                           "ORDER BY id LIMIT 1").fetchone()[0]
    response = client.post("/ogc/processes/parcel-check/execution",
                           json={"inputs": {"parcel_no": parcel_no, "floors": 3, "height_m": 11}})
    assert response.status_code == 200, response.text
    return response.json()["id"], response.json()


@pytest.fixture
def tampered(db, issued):
    """The stored certificate with its verdict edited in the database (restored afterwards)."""
    certificate_id, _ = issued
    original = db.execute("SELECT document FROM certificates WHERE id = %s",
                          [certificate_id]).fetchone()[0]
    forged = {**original, "verdict": "allowed",
              "subject": {**original["subject"], "parcel_no": "<script>alert(1)</script>"}}
    db.execute("UPDATE certificates SET document = %s WHERE id = %s", [Jsonb(forged),
                                                                       certificate_id])
    yield certificate_id
    db.execute("UPDATE certificates SET document = %s WHERE id = %s", [Jsonb(original),
                                                                       certificate_id])


def test_a_check_result_has_a_certificate_id_and_links(issued):
    certificate_id, body = issued
    assert certificate_id.startswith("AMN-")
    assert body["jws"].count(".") == 2
    assert {link["rel"] for link in body["links"]} >= {"describedby", "alternate", "verify"}


def test_the_certificate_is_fetched_by_id_as_signed(client, issued):
    certificate_id, body = issued
    stored = client.get(f"/certificates/{certificate_id}?f=json").json()
    assert stored["certificate"]["id"] == certificate_id
    assert stored["certificate"]["verdict"] == body["verdict"]
    assert stored["jws"] == body["jws"]
    assert stored["verification"]["valid"] is True


def test_the_printable_page_is_arabic_right_to_left(client, issued):
    certificate_id, _ = issued
    page = client.get(f"/certificates/{certificate_id}?lang=ar")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'lang="ar" dir="rtl"' in page.text
    assert certificate_id in page.text and "شهادة فحص الاشتراطات" in page.text


def test_the_printable_page_is_also_english(client, issued):
    certificate_id, _ = issued
    page = client.get(f"/certificates/{certificate_id}?lang=en").text
    assert 'lang="en" dir="ltr"' in page and "Permit check certificate" in page


def test_a_browser_gets_the_page_and_an_api_client_the_json(client, issued):
    certificate_id, _ = issued
    assert client.get(f"/certificates/{certificate_id}",
                      headers={"Accept": "text/html"}).text.startswith("<!doctype html>")
    assert "certificate" in client.get(f"/certificates/{certificate_id}").json()


def test_verify_reports_an_intact_certificate(client, issued):
    certificate_id, body = issued
    report = client.get(f"/certificates/{certificate_id}/verify").json()
    assert report == {**report, "valid": True, "tampered": False, "signature": "valid",
                      "certificate_id": certificate_id, "verdict": body["verdict"]}


def test_verify_reports_an_edited_database_row(client, tampered):
    report = client.get(f"/certificates/{tampered}/verify").json()
    assert report["tampered"] is True and report["valid"] is False
    assert report["signature"] == "valid"
    assert set(report["changed_fields"]) == {"verdict", "subject.parcel_no"}


def test_the_page_of_a_tampered_certificate_warns_and_escapes_html(client, tampered):
    page = client.get(f"/certificates/{tampered}?lang=en").text
    assert "does not match its signature" in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_a_held_certificate_is_verified_by_post(client, issued):
    certificate_id, body = issued
    document = {k: v for k, v in body.items() if k not in ("jws", "links")}
    report = client.post("/certificates/verify", json={"jws": body["jws"],
                                                       "certificate": document}).json()
    assert report["valid"] is True and report["registered"] is True


def test_an_altered_token_is_reported_as_tampered(client, issued):
    _, body = issued
    header, payload, signature = body["jws"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["verdict"] = "allowed" if claims["verdict"] != "allowed" else "refused"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    report = client.post("/certificates/verify",
                         json={"jws": f"{header}.{forged}.{signature}"}).json()
    assert report["signature"] == "invalid" and report["tampered"] is True


def test_a_document_that_differs_from_its_token_is_reported(client, issued):
    _, body = issued
    document = {k: v for k, v in body.items() if k not in ("jws", "links")}
    document["verdict"] = "allowed" if document["verdict"] != "allowed" else "refused"
    report = client.post("/certificates/verify", json={"jws": body["jws"],
                                                       "certificate": document}).json()
    assert report["tampered"] is True and report["changed_fields"] == ["verdict"]


def test_verify_refuses_garbage_with_a_400(client):
    assert client.post("/certificates/verify", json={"jws": "abc"}).status_code == 400
    assert client.post("/certificates/verify", content=b"nope").status_code == 400


def test_the_public_key_verifies_certificates_offline(client, issued):
    _, body = issued
    keys = client.get("/certificates/keys").json()["keys"]
    assert keys[0]["crv"] == "Ed25519" and "d" not in keys[0]
    public = OKPKey.import_key({k: keys[0][k] for k in ("kty", "crv", "x")})
    signed = jws.deserialize_compact(body["jws"], public, algorithms=["Ed25519"])
    assert json.loads(signed.payload)["id"] == body["id"]


def test_the_signing_key_is_created_on_first_start_readable_by_its_owner_only(settings, client):
    path = settings.processing.key_path(settings.server.state_dir)
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("certificate_id", ["AMN-2026-0000-0000-0000-0000", "../etc/passwd"])
def test_unknown_certificate_is_404(client, certificate_id):
    response = client.get(f"/certificates/{certificate_id}")
    assert response.status_code == 404
    assert client.get(f"/certificates/{certificate_id}/verify").status_code == 404
