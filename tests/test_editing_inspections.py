"""Field inspections: created by inspectors with photos, retried uploads never duplicated."""
import json
import os
import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image

from tests.support.accounts import counts, image, inspection, subject_of

ITEMS = "/ogc/collections/inspections/items"
WHO = ("public", "office", "inspector", "other_inspector", "analyst", "admin")
MERGE = "application/merge-patch+json"


def _files(feature: dict, *photos, feature_type: str = "application/geo+json") -> list:
    parts = [("feature", ("feature.json", json.dumps(feature).encode(), feature_type))]
    for n, (data, media) in enumerate(photos):
        parts.append(("photo", (f"p{n}.bin", data, media)))
    return parts


def _photo_files(settings) -> int:
    root = settings.server.state_dir / "photos"
    return sum(len(files) for _, _, files in os.walk(root)) if root.exists() else 0


def _refused(client, db, settings, status: int, text: str | None = None, method="POST",
             path=ITEMS, **kwargs):
    before, files = counts(db), _photo_files(settings)
    response = client.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"code", "type", "title", "description", "descriptions"}
    if text:
        assert text in response.json()["descriptions"]["en"]
    assert counts(db) == before
    assert _photo_files(settings) == files
    return response


def _create(client, auth, db, who="inspector", **properties):
    response = client.post(ITEMS, json=inspection(db, **properties), headers=auth[who])
    assert response.status_code == 201, response.text
    return (response.json()["id"], response.headers["etag"],
            response.headers["location"].replace("http://testserver", ""))


@pytest.mark.parametrize("who", WHO)
def test_create_by_role(client, auth, db, who):
    expected = {"public": 401, "office": 403, "analyst": 403}.get(who, 201)
    before = counts(db)
    response = client.post(ITEMS, json=inspection(db), headers=auth[who])
    assert response.status_code == expected, response.text
    assert counts(db)["inspections"] == before["inspections"] + (expected == 201)


@pytest.mark.parametrize("who", WHO)
def test_change_by_role(client, auth, db, who):
    fid, tag, path = _create(client, auth, db)
    expected = {"public": 401, "inspector": 200, "admin": 200}.get(who, 403)
    response = client.patch(path, content=b'{"properties": {"result": "violation"}}',
                            headers={**auth[who], "If-Match": tag, "Content-Type": MERGE})
    assert response.status_code == expected, response.text
    result = db.execute("SELECT result FROM inspections WHERE id = %s", [fid]).fetchone()[0]
    assert (result == "violation") == (expected == 200)


@pytest.mark.parametrize("who", WHO)
def test_delete_by_role(client, auth, db, who):
    fid, tag, path = _create(client, auth, db)
    expected = {"public": 401, "inspector": 204, "admin": 204}.get(who, 403)
    response = client.delete(path, headers={**auth[who], "If-Match": tag})
    assert response.status_code == expected, response.text
    gone = db.execute("SELECT NOT EXISTS (SELECT 1 FROM inspections WHERE id = %s)",
                      [fid]).fetchone()[0]
    assert gone == (expected == 204)


def test_an_inspection_records_its_inspector(client, auth, db, tokens):
    fid, _, _ = _create(client, auth, db)
    author = db.execute("SELECT created_by FROM inspections WHERE id = %s", [fid]).fetchone()[0]
    assert author == subject_of(tokens, "inspector")


def test_an_inspection_with_photos(client, auth, db, settings):
    jpeg, png = image("JPEG"), image("PNG", colour=(0, 90, 200))
    response = client.post(ITEMS, files=_files(inspection(db), (jpeg, "image/jpeg"),
                                               (png, "image/png")), headers=auth["inspector"])
    assert response.status_code == 201, response.text
    fid = response.json()["id"]
    stored = db.execute("SELECT position, media_type, bytes FROM inspection_photos "
                        "WHERE inspection_id = %s ORDER BY position", [fid]).fetchall()
    assert stored == [(0, "image/jpeg", len(jpeg)), (1, "image/png", len(png))]
    enclosures = [link for link in response.json()["links"] if link["rel"] == "enclosure"]
    assert len(enclosures) == 2
    photo = enclosures[1]["href"].replace("http://testserver", "")
    fetched = client.get(photo, headers=auth["office"])    # staff roles (issue 18)
    assert fetched.status_code == 200 and fetched.content == png
    assert client.get(photo, headers=auth["analyst"]).status_code == 403
    assert fetched.headers["content-type"] == "image/png"
    assert client.get(photo).status_code == 401


def test_the_feature_part_may_be_a_plain_form_field(client, auth, db):
    response = client.post(ITEMS, data={"feature": json.dumps(inspection(db))},
                           files=[("photo", ("a.jpg", image(), "image/jpeg"))],
                           headers=auth["inspector"])
    assert response.status_code == 201, response.text


def test_an_oversized_photo_is_413(client, auth, db, settings):
    big = b"\xff\xd8\xff\xe0" + os.urandom(settings.editing.max_photo_bytes + 10)
    _refused(client, db, settings, 413, "photo 1 is larger",
             files=_files(inspection(db), (big, "image/jpeg")), headers=auth["inspector"])


def test_a_photo_with_too_many_pixels_is_413(client, auth, db, settings):
    import io

    buffer = io.BytesIO()
    Image.new("1", (8000, 6000)).save(buffer, "PNG")
    _refused(client, db, settings, 413, "pixels",
             files=_files(inspection(db), (buffer.getvalue(), "image/png")),
             headers=auth["inspector"])


@pytest.mark.parametrize("data, media, text", [
    (b"these are not the pixels you are looking for", "image/jpeg", "not a JPEG, PNG or WebP"),
    (b"%PDF-1.7\n...", "application/pdf", "not a JPEG, PNG or WebP"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 200, "image/jpeg", "not a readable"),
    ("png", "image/jpeg", "declared image/jpeg but is image/png"),
    (b"", "image/jpeg", "empty"),
])
def test_photos_that_are_not_images_are_415(client, auth, db, settings, data, media, text):
    if data == "png":
        data = image("PNG")
    _refused(client, db, settings, 415, text, files=_files(inspection(db), (data, media)),
             headers=auth["inspector"])


def test_too_many_photos_is_400(client, auth, db, settings):
    photos = [(image(colour=(n, n, n)), "image/jpeg")
              for n in range(settings.editing.max_photos + 1)]
    response = _refused(client, db, settings, 400, files=_files(inspection(db), *photos),
                        headers=auth["inspector"])
    assert "files" in response.text or "photos" in response.text


@pytest.mark.parametrize("parts, text", [
    ([("feature", ("f.json", b"{nope", "application/json"))], "not valid JSON"),
    ([("photo", ("a.jpg", b"\xff\xd8\xff", "image/jpeg"))], "feature"),
    ([("feature", ("f.json", b"{}", "application/json")), ("extra", ("x", b"1", "text/plain"))],
     "unknown form parts"),
])
def test_malformed_uploads_are_400(client, auth, db, settings, parts, text):
    _refused(client, db, settings, 400, text, files=parts, headers=auth["inspector"])


def test_photos_are_for_inspections_only(client, auth, db, settings):
    from tests.support.accounts import licence

    _refused(client, db, settings, 415, path="/ogc/collections/licenses/items",
             files=_files(licence(db), (image(), "image/jpeg")), headers=auth["office"])


@pytest.mark.parametrize("properties, text", [
    ({"visited_at": (datetime.now(timezone.utc) + timedelta(days=2)).isoformat()}, "future"),
    ({"visited_at": "2001-01-01T10:00:00+03:00"}, "before the licence was issued"),
    ({"visited_at": "2026-11-20T10:00:00"}, "time zone"),
    ({"license_id": 999999999}, "no licence"),
    ({"result": "fine"}, "result"),
    ({"notes": "x" * 5000}, "notes"),
    ({"client_id": "short"}, "client_id"),
])
def test_bad_inspections_are_refused(client, auth, db, settings, properties, text):
    _refused(client, db, settings, 400, text, json=inspection(db, **properties),
             headers=auth["inspector"])


def test_an_inspection_outside_the_city_is_refused(client, auth, db, settings):
    feature = inspection(db)
    feature["geometry"]["coordinates"] = [39.8, 21.4]
    _refused(client, db, settings, 400, "outside the city", json=feature,
             headers=auth["inspector"])


# --- retried uploads ---------------------------------------------------------------------------

def test_a_retried_upload_with_the_same_key_creates_one_inspection(client, auth, db, settings):
    key = str(uuid.uuid4())
    parts = _files(inspection(db), (image(), "image/jpeg"), (image("PNG"), "image/png"))
    before = counts(db)
    first = client.post(ITEMS, files=parts, headers={**auth["inspector"], "Idempotency-Key": key})
    again = client.post(ITEMS, files=parts, headers={**auth["inspector"], "Idempotency-Key": key})
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert first.headers["location"] == again.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    after = counts(db)
    assert after["inspections"] == before["inspections"] + 1
    assert after["inspection_photos"] == before["inspection_photos"] + 2
    assert after["audit_log"] == before["audit_log"] + 1


def test_the_client_id_property_is_an_idempotency_key_too(client, auth, db):
    feature = inspection(db, client_id=f"phone-7:{uuid.uuid4()}")
    before = counts(db)["inspections"]
    ids = {client.post(ITEMS, json=feature, headers=auth["inspector"]).json()["id"]
           for _ in range(3)}
    assert len(ids) == 1 and counts(db)["inspections"] == before + 1


def test_concurrent_retries_create_one_inspection(client, auth, db):
    key, feature, statuses = str(uuid.uuid4()), inspection(db), []
    before = counts(db)["inspections"]

    def upload():
        response = client.post(ITEMS, json=feature,
                               headers={**auth["inspector"], "Idempotency-Key": key})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=upload) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 4
    assert counts(db)["inspections"] == before + 1


def test_a_key_reused_for_a_different_upload_is_409(client, auth, db, settings):
    key = str(uuid.uuid4())
    assert client.post(ITEMS, json=inspection(db), headers={
        **auth["inspector"], "Idempotency-Key": key}).status_code == 201
    _refused(client, db, settings, 409, "different upload",
             json=inspection(db, result="violation"),
             headers={**auth["inspector"], "Idempotency-Key": key})
    _refused(client, db, settings, 409, json=inspection(db),
             headers={**auth["other_inspector"], "Idempotency-Key": key})


def test_a_key_and_a_different_client_id_are_400(client, auth, db, settings):
    _refused(client, db, settings, 400, "differ", json=inspection(db, client_id="abcdefgh-1"),
             headers={**auth["inspector"], "Idempotency-Key": "abcdefgh-2"})


def test_the_client_id_cannot_be_changed_later(client, auth, db, settings):
    key = str(uuid.uuid4())
    response = client.post(ITEMS, json=inspection(db),
                           headers={**auth["inspector"], "Idempotency-Key": key})
    path = response.headers["location"].replace("http://testserver", "")
    assert response.json()["properties"]["client_id"] == key
    _refused(client, db, settings, 400, "client_id", method="PATCH", path=path,
             content=b'{"properties": {"client_id": "another-id-1"}}',
             headers={**auth["inspector"], "If-Match": response.headers["etag"],
                      "Content-Type": MERGE})
