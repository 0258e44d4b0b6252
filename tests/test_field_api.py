"""The field app's API (issue 18): assignments made by offices and admins, the inspector's
licences and a licence's history, and the privacy of field data (notes, violations, photos
for staff only; no EXIF in a stored photo). Refusals change nothing in the database."""
import io
import json

import pytest
from PIL import Image

from tests.support.accounts import create_licence, image, inspection, subject_of

API = "/field/api/assignments"
ITEMS = "/ogc/collections/inspections/items"


def _rows(db) -> tuple:
    return tuple(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                 for table in ("inspection_assignments", "inspections", "audit_log"))


def _refused(client, db, status: int, method: str, path: str, text: str = "", **kwargs):
    before = _rows(db)
    response = client.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert {"code", "description", "descriptions"} <= set(body)
    assert body["descriptions"]["ar"] and body["descriptions"]["en"]
    if text:
        assert text in body["descriptions"]["en"]
    assert _rows(db) == before
    return body


@pytest.fixture(scope="module")
def own_licence(client, auth, db):
    """A licence of the test office (ENG-1)."""
    return create_licence(client, auth, db)[0]


def _assign(client, auth, licence: int, inspector: str, who: str = "office", **extra):
    response = client.post(API, json={"license_id": licence, "inspector": inspector, **extra},
                           headers=auth[who])
    assert response.status_code == 201, response.text
    return response.json()


def test_an_office_assigns_its_licence_and_the_inspector_sees_it(client, auth, tokens, db,
                                                                  own_licence):
    me = subject_of(tokens, "inspector")
    made = _assign(client, auth, own_licence, me, due_date="2030-01-31", note="ربع سنوي")
    assert (made["license_id"], made["inspector"], made["due_date"]) == (own_licence, me,
                                                                        "2030-01-31")
    mine = client.get("/field/api/licences", headers=auth["inspector"]).json()["licences"]
    assert [(l["id"], l["assigned"], l["assignment_id"]) for l in mine] == [
        (own_licence, True, made["id"])]
    assert mine[0]["etag"] == client.get(f"/ogc/collections/licenses/items/{own_licence}",
                                         headers=auth["inspector"]).headers["etag"]
    listed = client.get(API, headers=auth["inspector"]).json()["assignments"]
    assert [a["id"] for a in listed] == [made["id"]]
    assert client.get(API, headers=auth["other_inspector"]).json()["assignments"] == []
    audit = db.execute("SELECT action, actor FROM audit_log WHERE collection = 'assignments' "
                       "AND feature_id = %s ORDER BY id DESC LIMIT 1", [str(made["id"])])
    assert audit.fetchone() == ("create", subject_of(tokens, "office"))


def test_the_inspectors_inspection_closes_the_assignment(client, auth, tokens, db):
    me = subject_of(tokens, "other_inspector")
    licence = create_licence(client, auth, db)[0]
    made = _assign(client, auth, licence, me)
    feature = inspection(db, license_id=licence)
    feature["geometry"]["coordinates"] = list(db.execute(
        "SELECT ST_X(geom), ST_Y(geom) FROM licenses WHERE id = %s", [licence]).fetchone())
    response = client.post(ITEMS, json=feature, headers=auth["other_inspector"])
    assert response.status_code == 201, response.text
    closed = db.execute("SELECT closed_at IS NOT NULL, inspection_id FROM inspection_assignments "
                        "WHERE id = %s", [made["id"]]).fetchone()
    assert closed == (True, response.json()["id"])
    assert client.get(API, headers=auth["other_inspector"]).json()["assignments"] == []


def test_nearby_licences_come_after_the_assigned_nearest_first(client, auth, db):
    x, y = db.execute("SELECT ST_X(geom), ST_Y(geom) FROM licenses ORDER BY id LIMIT 1").fetchone()
    found = client.get("/field/api/licences", params={"near": f"{x},{y}", "radius": "500"},
                       headers=auth["admin"]).json()["licences"]
    assert found and found[0]["lon"] == pytest.approx(x, abs=1e-6)
    distances = [(l["lon"] - x) ** 2 + (l["lat"] - y) ** 2 for l in found]
    assert distances == sorted(distances)


@pytest.mark.parametrize("body, text", [
    ({"license_id": "7", "inspector": "x"}, "license_id must be a positive integer"),
    ({"license_id": 0, "inspector": "x"}, "license_id must be a positive integer"),
    ({"license_id": True, "inspector": "x"}, "license_id must be a positive integer"),
    ({"license_id": 1, "inspector": "<script>"}, "inspector must be"),
    ({"license_id": 1, "inspector": ""}, "inspector must be"),
    ({"license_id": 1, "inspector": "a", "due_date": "31/01/2030"}, "due_date must be a date"),
    ({"license_id": 1, "inspector": "a", "due_date": "2030-02-30"}, "due_date must be a date"),
    ({"license_id": 1, "inspector": "a", "note": "x" * 501}, "note must be text"),
    ({"license_id": 1, "inspector": "a", "colour": "red"}, "unknown fields: colour"),
    ([1, 2], "the body must be a JSON object"),
])
def test_a_malformed_assignment_is_a_400_and_changes_nothing(client, auth, db, body, text):
    _refused(client, db, 400, "POST", API, text, json=body, headers=auth["office"])


def test_not_json_is_a_400(client, auth, db):
    _refused(client, db, 400, "POST", API, "send application/json", content=b"license_id=1",
             headers={**auth["office"], "Content-Type": "application/x-www-form-urlencoded"})
    _refused(client, db, 400, "POST", API, "not valid JSON", content=b"{",
             headers={**auth["office"], "Content-Type": "application/json"})


def test_an_unknown_inspector_is_a_400(client, auth, db, own_licence):
    _refused(client, db, 400, "POST", API, "no inspector with this user name",
             json={"license_id": own_licence, "inspector": "nobody-here"}, headers=auth["office"])


def test_another_offices_licence_is_a_404(client, auth, tokens, db, own_licence):
    body = _refused(client, db, 404, "POST", API, "no licence with this id",
                    json={"license_id": own_licence, "inspector": subject_of(tokens, "inspector")},
                    headers=auth["other_office"])
    assert body["descriptions"]["ar"] == "لا توجد رخصة بهذا الرقم يمكنك إسنادها"


def test_a_second_open_assignment_is_a_409(client, auth, tokens, db):
    licence, me = create_licence(client, auth, db)[0], subject_of(tokens, "inspector")
    _assign(client, auth, licence, me)
    _refused(client, db, 409, "POST", API, "already assigned",
             json={"license_id": licence, "inspector": me}, headers=auth["admin"])


@pytest.mark.parametrize("who, status", [("public", 401), ("inspector", 403),
                                         ("analyst", 403)])
def test_only_offices_and_admins_assign(client, auth, tokens, db, own_licence, who, status):
    _refused(client, db, status, "POST", API,
             json={"license_id": own_licence, "inspector": subject_of(tokens, "inspector")},
             headers=auth[who])


def test_withdraw_by_the_office_not_by_another(client, auth, tokens, db):
    licence = create_licence(client, auth, db)[0]
    made = _assign(client, auth, licence, subject_of(tokens, "other_inspector"))
    _refused(client, db, 404, "DELETE", f"{API}/{made['id']}", headers=auth["other_office"])
    _refused(client, db, 404, "DELETE", f"{API}/abc", headers=auth["office"])
    _refused(client, db, 403, "DELETE", f"{API}/{made['id']}", headers=auth["inspector"])
    assert client.delete(f"{API}/{made['id']}", headers=auth["office"]).status_code == 204
    _refused(client, db, 404, "DELETE", f"{API}/{made['id']}", headers=auth["office"])


@pytest.mark.parametrize("params, text", [
    ({"near": "50.1"}, "near must be longitude,latitude"),
    ({"near": "abc,def"}, "near must be longitude,latitude"),
    ({"near": "500,26"}, "near must be longitude,latitude"),
    ({"near": "50.1,26.4", "radius": "-1"}, "radius must be"),
    ({"near": "50.1,26.4", "radius": "99999"}, "radius must be"),
    ({"bbox": "1,2,3,4"}, "unknown parameters: bbox"),
])
def test_bad_licence_queries_are_400s(client, auth, db, params, text):
    _refused(client, db, 400, "GET", "/field/api/licences", text, params=params,
             headers=auth["inspector"])


@pytest.mark.parametrize("who, status", [("public", 401), ("analyst", 403)])
def test_field_data_is_for_staff(client, auth, db, who, status):
    for path in ("/field/api/licences", "/field/api/licences/1/history", API):
        _refused(client, db, status, "GET", path, headers=auth[who])


def _inspection_with_photo(client, auth, db, photo: bytes, notes: str):
    files = [("feature", ("f.json", json.dumps(inspection(db, notes=notes,
                                                          violations="signage,waste")).encode(),
                          "application/geo+json")),
             ("photo", ("p.jpg", photo, "image/jpeg"))]
    response = client.post(ITEMS, files=files, headers=auth["inspector"])
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _exif_photo() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"              # Make
    exif[0x0132] = "2026:01:02 03:04:05"      # DateTime
    exif[0x8825] = {1: "N", 2: (26.0, 25.0, 30.0), 3: "E", 4: (50.0, 6.0, 0.0)}   # GPS
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (10, 120, 40)).save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def test_notes_and_violations_are_for_staff_only(client, auth, db):
    marker = "field-private-note-7731"
    fid = _inspection_with_photo(client, auth, db, image(), marker)
    for who in ("public", "analyst"):
        for path in (f"{ITEMS}/{fid}?f=json", f"{ITEMS}/{fid}", f"{ITEMS}?f=json&limit=1000",
                     f"{ITEMS}/{fid}?f=html", f"{ITEMS}?f=csv&limit=1000"):
            response = client.get(path, headers=auth[who])
            assert response.status_code == 200, (path, response.text[:200])
            assert marker.encode() not in response.content and b"signage" not in response.content
    for who in ("inspector", "office", "admin"):
        properties = client.get(f"{ITEMS}/{fid}", headers=auth[who]).json()["properties"]
        assert (properties["notes"], properties["violations"]) == (marker, "signage,waste")
    history = client.get(f"/field/api/licences/{inspection(db)['properties']['license_id']}"
                         "/history", headers=auth["office"]).json()["inspections"]
    assert any(i["notes"] == marker and i["photos"] == 1 for i in history)


@pytest.mark.parametrize("who, status", [("public", 401), ("analyst", 403), ("office", 200),
                                         ("inspector", 200)])
def test_photos_are_for_staff_only(client, auth, db, who, status):
    fid = _inspection_with_photo(client, auth, db, image(), "photo roles")
    assert client.get(f"{ITEMS}/{fid}/photos/0", headers=auth[who]).status_code == status


def test_a_stored_photo_has_no_exif(client, auth, db):
    sent = _exif_photo()
    assert b"CameraMaker" in sent and Image.open(io.BytesIO(sent)).getexif()
    fid = _inspection_with_photo(client, auth, db, sent, "exif")
    stored = client.get(f"{ITEMS}/{fid}/photos/0", headers=auth["inspector"]).content
    assert b"CameraMaker" not in stored and b"Exif" not in stored
    with Image.open(io.BytesIO(stored)) as kept:
        assert kept.size == (80, 60) and not kept.getexif()
    size = db.execute("SELECT bytes FROM inspection_photos WHERE inspection_id = %s",
                      [fid]).fetchone()[0]
    assert size == len(stored) < len(sent)


@pytest.mark.parametrize("kind", ["PNG", "WEBP"])
def test_png_and_webp_lose_their_metadata_too(kind):
    from geoserver import photos

    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (1, 2, 3)).save(out, kind, exif=exif)
    data = out.getvalue()
    assert b"CameraMaker" in data
    clean = photos.strip_metadata(data, f"image/{kind.lower()}")
    assert b"CameraMaker" not in clean
    with Image.open(io.BytesIO(clean)) as kept:
        kept.load()
        assert kept.size == (40, 30)


def test_a_turned_jpeg_is_turned_in_its_pixels(client, auth, db):
    from geoserver import photos

    exif = Image.Exif()
    exif[0x0112] = 6                    # rotate 90° clockwise to show
    out = io.BytesIO()
    Image.new("RGB", (80, 40), (200, 0, 0)).save(out, "JPEG", exif=exif)
    clean = photos.strip_metadata(out.getvalue(), "image/jpeg")
    with Image.open(io.BytesIO(clean)) as kept:
        assert kept.size == (40, 80) and kept.getexif().get(0x0112) is None
