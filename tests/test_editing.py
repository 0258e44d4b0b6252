"""Editing licences through OGC API Features Part 4: who may, what is checked, nothing half-done."""
import json
import threading
from datetime import date, timedelta

import pytest

from tests.support.accounts import OFFICE, counts, create_licence, licence

ITEMS = "/ogc/collections/licenses/items"
WHO = ("public", "office", "other_office", "inspector", "analyst", "admin")
MERGE = "application/merge-patch+json"


def _stored(db, feature_id: int):
    return db.execute("SELECT to_jsonb(t) - 'geom_utm' FROM licenses t WHERE id = %s",
                      [feature_id]).fetchone()


def _refused(client, db, method: str, path: str, status: int, text: str | None = None, **kwargs):
    """Send a write that must be refused; nothing may change."""
    before = counts(db)
    response = client.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "type", "title", "description", "descriptions"}
    if text:
        assert text in body["descriptions"]["en"]
    assert counts(db) == before
    return response


# --- every write endpoint x every role ---------------------------------------------------------

@pytest.mark.parametrize("who", WHO)
def test_create_by_role(client, auth, db, who):
    expected = {"public": 401, "inspector": 403, "analyst": 403}.get(who, 201)
    before = counts(db)
    response = client.post(ITEMS, json=licence(db), headers=auth[who])
    assert response.status_code == expected, response.text
    added = 1 if expected == 201 else 0
    after = counts(db)
    assert after["licenses"] == before["licenses"] + added
    assert after["audit_log"] == before["audit_log"] + added


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_change_by_role(client, auth, db, who, method):
    fid, tag, path = create_licence(client, auth, db)
    expected = {"public": 401, "other_office": 403, "inspector": 403, "analyst": 403}.get(who, 200)
    if method == "PUT":
        body = licence(db, trade_name_en="Renamed Grocery")
        kwargs = {"json": body}
    else:
        kwargs = {"content": b'{"properties": {"trade_name_en": "Renamed Grocery"}}'}
    headers = {**auth[who], "If-Match": tag,
               "Content-Type": MERGE if method == "PATCH" else "application/geo+json"}
    before = counts(db)
    response = client.request(method, path, headers=headers, **kwargs)
    assert response.status_code == expected, response.text
    name = _stored(db, fid)[0]["trade_name_en"]
    assert (name == "Renamed Grocery") == (expected == 200)
    assert counts(db)["audit_log"] == before["audit_log"] + (expected == 200)


@pytest.mark.parametrize("who", WHO)
def test_delete_by_role(client, auth, db, who):
    fid, tag, path = create_licence(client, auth, db)
    expected = {"public": 401, "admin": 204}.get(who, 403)
    response = client.delete(path, headers={**auth[who], "If-Match": tag})
    assert response.status_code == expected, response.text
    assert (_stored(db, fid) is None) == (expected == 204)


# --- what an office may do ---------------------------------------------------------------------

def test_a_new_licence_belongs_to_the_office_that_made_it(client, auth, db):
    fid, _, _ = create_licence(client, auth, db)
    row = _stored(db, fid)[0]
    assert row["owner_office"] == OFFICE
    assert row["activity_en"] == "Retail sale of food (grocery)"   # from the rules file
    assert row["status"] == "active"


def test_an_office_renews_and_suspends_its_licence(client, auth, db):
    fid, tag, path = create_licence(client, auth, db)
    later = (date.today() + timedelta(days=900)).isoformat()
    response = client.patch(path, content=json.dumps({"properties": {"expiry_date": later}}),
                            headers={**auth["office"], "If-Match": tag, "Content-Type": MERGE})
    assert response.status_code == 200, response.text
    assert response.json()["properties"]["expiry_date"] == later
    tag = response.headers["etag"]
    response = client.patch(path, content=b'{"properties": {"status": "suspended"}}',
                            headers={**auth["office"], "If-Match": tag, "Content-Type": MERGE})
    assert response.status_code == 200
    assert _stored(db, fid)[0]["status"] == "suspended"


def test_an_office_cannot_cancel_or_give_away_a_licence(client, auth, db):
    _, tag, path = create_licence(client, auth, db)
    headers = {**auth["office"], "If-Match": tag, "Content-Type": MERGE}
    _refused(client, db, "PATCH", path, 403, "administrator",
             content=b'{"properties": {"status": "cancelled"}}', headers=headers)
    _refused(client, db, "PATCH", path, 403, "office",
             content=b'{"properties": {"owner_office": "ENG-2"}}', headers=headers)


def test_an_office_cannot_create_a_licence_for_another_office(client, auth, db):
    _refused(client, db, "POST", ITEMS, 403, headers=auth["office"],
             json=licence(db, owner_office="ENG-2"))


def test_an_admin_assigns_a_licence_to_an_office(client, auth, db):
    fid, _, _ = create_licence(client, auth, db, who="admin", owner_office="ENG-2")
    assert _stored(db, fid)[0]["owner_office"] == "ENG-2"


def test_changing_the_activity_takes_its_names_from_the_rules_file(client, auth, db):
    fid, tag, path = create_licence(client, auth, db)
    response = client.patch(path, content=b'{"properties": {"isic_code": "5610"}}',
                            headers={**auth["office"], "If-Match": tag, "Content-Type": MERGE})
    assert response.status_code == 200, response.text
    assert response.json()["properties"]["activity_en"] != "Retail sale of food (grocery)"


def test_a_licence_with_inspections_cannot_be_deleted(client, auth, db):
    fid, tag = db.execute("SELECT l.id, '\"licenses-' || l.id || '-' || l.xmin || '\"' "
                          "FROM licenses l WHERE EXISTS (SELECT 1 FROM inspections i "
                          "WHERE i.license_id = l.id) LIMIT 1").fetchone()
    _refused(client, db, "DELETE", f"{ITEMS}/{fid}", 409, "inspection",
             headers={**auth["admin"], "If-Match": tag})


# --- validation before anything is written -----------------------------------------------------

def test_outside_the_city_is_refused(client, auth, db):
    feature = licence(db)
    feature["geometry"]["coordinates"] = [46.7, 24.7]   # Riyadh
    _refused(client, db, "POST", ITEMS, 400, "outside the city", json=feature,
             headers=auth["office"])


def test_a_licence_must_stand_on_its_parcel(client, auth, db):
    other = db.execute("SELECT id FROM parcels ORDER BY id DESC LIMIT 1").fetchone()[0]
    _refused(client, db, "POST", ITEMS, 400, f"not inside parcel {other}",
             json=licence(db, parcel_id=other), headers=auth["office"])


def test_an_unknown_parcel_is_refused(client, auth, db):
    _refused(client, db, "POST", ITEMS, 400, "no parcel",
             json=licence(db, parcel_id=999_999_999), headers=auth["office"])


def test_an_activity_the_zoning_forbids_is_refused(client, auth, db):
    # R1 allows only ISIC 8510 (processing/rules/dammam.yml, rule zoning-activity)
    _refused(client, db, "POST", ITEMS, 400, "not allowed by the zoning",
             json=licence(db, zone="R1"), headers=auth["office"])


def test_the_same_activity_is_allowed_where_the_zoning_allows_it(client, auth, db):
    response = client.post(ITEMS, json=licence(db, zone="C1"), headers=auth["office"])
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("dates, text", [
    ({"issue_date": "2026-01-10", "expiry_date": "2026-01-01"}, "after issue_date"),
    ({"issue_date": "2020-01-01", "expiry_date": "2021-01-01"}, "expiry"),
    ({"issue_date": "2010-01-01", "expiry_date": "2030-01-01"}, "10 years"),
    ({"issue_date": "2031-01-01", "expiry_date": "2032-01-01"}, "ahead"),
    ({"issue_date": "01/02/2026"}, "issue_date"),
])
def test_inconsistent_dates_are_refused(client, auth, db, dates, text):
    _refused(client, db, "POST", ITEMS, 400, text, json=licence(db, **dates),
             headers=auth["office"])


@pytest.mark.parametrize("properties, text", [
    ({"colour": "red"}, "unknown properties: colour"),
    ({"isic_code": "47-11"}, "isic_code"),
    ({"shop_area_m2": -3}, "shop_area_m2"),
    ({"shop_area_m2": True}, "shop_area_m2"),
    ({"status": "sleeping"}, "status"),
    ({"trade_name_en": ""}, "trade_name_en"),
    ({"trade_name_en": None}, "required"),
])
def test_bad_properties_are_refused_by_name(client, auth, db, properties, text):
    _refused(client, db, "POST", ITEMS, 400, text, json=licence(db, **properties),
             headers=auth["office"])


def test_a_bad_personal_value_is_refused_without_echoing_it(client, auth, db):
    response = _refused(client, db, "POST", ITEMS, 400, "holder_phone",
                        json=licence(db, holder_phone="+966-55-SECRET"), headers=auth["office"])
    assert "SECRET" not in response.text


def test_a_duplicate_licence_number_is_409(client, auth, db):
    number = db.execute("SELECT license_no FROM licenses LIMIT 1").fetchone()[0]
    _refused(client, db, "POST", ITEMS, 409, "license_no",
             json=licence(db, license_no=number), headers=auth["office"])


@pytest.mark.parametrize("geometry", [
    {"type": "Polygon", "coordinates": [[[50.1, 26.4], [50.2, 26.4], [50.2, 26.5], [50.1, 26.4]]]},
    {"type": "Point", "coordinates": ["50.1", "26.4"]},
    {"type": "Point", "coordinates": [50.1]},
    {"type": "Point", "coordinates": [500, 26.4]},
    None,
])
def test_only_points_are_licence_sites(client, auth, db, geometry):
    feature = {**licence(db), "geometry": geometry}
    _refused(client, db, "POST", ITEMS, 400, "Point", json=feature, headers=auth["office"])


def test_a_geometry_bomb_is_refused_by_size_before_it_is_read(client, auth, db):
    ring = ",".join("[50.1,26.4]" for _ in range(1_000_000))
    body = ('{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[['
            + ring + "]]}}").encode()
    _refused(client, db, "POST", ITEMS, 413, "larger than", content=body,
             headers={**auth["office"], "Content-Type": "application/geo+json"})


def test_a_streamed_body_without_length_is_cut_off_at_the_limit(client, auth, db):
    def chunks():
        yield b'{"type":"Feature","geometry":{"type":"Polygon","coordinates":[['
        for _ in range(2000):
            yield b"[50.1,26.4]," * 100

    _refused(client, db, "POST", ITEMS, 413, "larger than", content=chunks(),
             headers={**auth["office"], "Content-Type": "application/geo+json"})


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "",
                                          "multipart/form-data; boundary=x"])
def test_wrong_content_types_are_415(client, auth, db, content_type):
    headers = {**auth["office"], "Content-Type": content_type}
    _refused(client, db, "POST", ITEMS, 415, "application/geo+json",
             content=json.dumps(licence(db)).encode(), headers=headers)


def test_a_body_that_is_not_json_is_400(client, auth, db):
    _refused(client, db, "POST", ITEMS, 400, "not valid JSON", content=b"{not json",
             headers={**auth["office"], "Content-Type": "application/json"})


def test_deeply_nested_json_is_400(client, auth, db):
    _refused(client, db, "POST", ITEMS, 400, "not valid JSON", content=b"[" * 30000,
             headers={**auth["office"], "Content-Type": "application/json"})


def test_a_body_that_is_not_a_feature_is_400(client, auth, db):
    _refused(client, db, "POST", ITEMS, 400, "Feature", json=[1, 2, 3], headers=auth["office"])


# --- optimistic concurrency --------------------------------------------------------------------

def test_a_change_without_if_match_is_428(client, auth, db):
    _, _, path = create_licence(client, auth, db)
    _refused(client, db, "PATCH", path, 428, "If-Match",
             content=b'{"properties": {"status": "suspended"}}',
             headers={**auth["office"], "Content-Type": MERGE})
    _refused(client, db, "DELETE", path, 428, headers=auth["admin"])


def test_a_stale_etag_is_412_and_changes_nothing(client, auth, db):
    fid, tag, path = create_licence(client, auth, db)
    first = client.patch(path, content=b'{"properties": {"trade_name_en": "First"}}',
                         headers={**auth["office"], "If-Match": tag, "Content-Type": MERGE})
    assert first.status_code == 200
    _refused(client, db, "PATCH", path, 412, "changed since",
             content=b'{"properties": {"trade_name_en": "Second"}}',
             headers={**auth["office"], "If-Match": tag, "Content-Type": MERGE})
    assert _stored(db, fid)[0]["trade_name_en"] == "First"


def test_a_weak_etag_never_matches(client, auth, db):
    _, tag, path = create_licence(client, auth, db)
    _refused(client, db, "PATCH", path, 412, content=b'{"properties": {"status": "suspended"}}',
             headers={**auth["office"], "If-Match": f"W/{tag}", "Content-Type": MERGE})


def test_the_etag_of_a_signed_in_get_is_the_one_to_send(client, auth, db):
    _, tag, path = create_licence(client, auth, db)
    read = client.get(path, headers=auth["office"])
    assert read.headers["etag"] == tag
    response = client.patch(path, content=b'{"properties": {"status": "suspended"}}',
                            headers={**auth["office"], "If-Match": read.headers["etag"],
                                     "Content-Type": MERGE})
    assert response.status_code == 200


def test_a_change_made_outside_the_api_changes_the_etag(client, auth, db):
    fid, tag, path = create_licence(client, auth, db)
    db.execute("UPDATE licenses SET shop_area_m2 = 77 WHERE id = %s", [fid])
    _refused(client, db, "PATCH", path, 412, content=b'{"properties": {"status": "suspended"}}',
             headers={**auth["office"], "If-Match": tag, "Content-Type": MERGE})


def test_two_editors_at_once_one_wins_one_is_told(client, auth, db):
    fid, tag, path = create_licence(client, auth, db)
    results = []

    def edit(name: str):
        body = json.dumps({"properties": {"trade_name_en": name}}).encode()
        response = client.patch(path, content=body, headers={
            **auth["office"], "If-Match": tag, "Content-Type": MERGE})
        results.append((response.status_code, name))

    threads = [threading.Thread(target=edit, args=(f"Editor {n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _ in results) == [200, 412]
    winner = next(name for status, name in results if status == 200)
    assert _stored(db, fid)[0]["trade_name_en"] == winner


# --- routes ------------------------------------------------------------------------------------

def test_a_missing_feature_is_404(client, auth, db):
    _refused(client, db, "PATCH", f"{ITEMS}/999999999", 404, content=b"{}",
             headers={**auth["admin"], "If-Match": '"x"', "Content-Type": MERGE})


def test_post_to_a_feature_and_put_to_the_collection_are_405(client, auth, db):
    _refused(client, db, "POST", f"{ITEMS}/1", 405, json=licence(db), headers=auth["admin"])
    _refused(client, db, "PUT", ITEMS, 405, json=licence(db), headers=auth["admin"])


def test_a_put_replaces_the_whole_feature(client, auth, db):
    fid, tag, path = create_licence(client, auth, db)
    replacement = licence(db, trade_name_en="Replaced", shop_area_m2=12)
    response = client.put(path, json=replacement, headers={**auth["office"], "If-Match": tag})
    assert response.status_code == 200, response.text
    row = _stored(db, fid)[0]
    assert (row["trade_name_en"], row["shop_area_m2"]) == ("Replaced", 12)
    assert response.headers["etag"] != tag


def test_a_put_missing_a_required_property_is_400(client, auth, db):
    _, tag, path = create_licence(client, auth, db)
    _refused(client, db, "PUT", path, 400, "required", json=licence(db, holder_phone=None),
             headers={**auth["office"], "If-Match": tag})


def test_the_public_layer_shows_an_accepted_write_at_once(client, auth, db):
    fid, _, _ = create_licence(client, auth, db, trade_name_en="Fresh Grocery")
    body = client.get(f"{ITEMS}/{fid}?f=json").json()
    assert body["properties"]["trade_name_en"] == "Fresh Grocery"
