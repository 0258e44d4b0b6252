"""Licence holders' national id and phone: for the owning office and admins, nowhere else.

A licence is created through the API with holder details no other row has; then every public
route (items, single item, tiles, search, downloads) is read, anonymously and as every role that
is not the owner, and must not contain them.
"""
import random
import re
import uuid

import morecantile
import pytest

from tests.support.accounts import create_licence

ITEMS = "/ogc/collections/licenses/items"
NOT_OWNERS = ("public", "other_office", "inspector", "analyst")
PERSONAL = ("holder_national_id", "holder_phone")


@pytest.fixture(scope="module")
def private_licence(client, auth, db):
    """A new licence of the office with unique holder details: (id, national id, phone, row)."""
    national_id = "2" + "".join(random.choices("0123456789", k=9))
    phone = "05" + "".join(random.choices("0123456789", k=8))
    name = f"Privacy Test Shop {uuid.uuid4().hex[:6]}"
    fid, _, _ = create_licence(client, auth, db, holder_national_id=national_id,
                               holder_phone=phone, trade_name_en=name)
    row = db.execute("SELECT license_no, trade_name_en, ST_X(l.geom), ST_Y(l.geom), d.code "
                     "FROM licenses l JOIN parcels p ON p.id = l.parcel_id "
                     "JOIN districts d ON d.id = p.district_id WHERE l.id = %s",
                     [fid]).fetchone()
    return fid, national_id, phone, row


def _clean(response, private_licence, status: int = 200):
    _, national_id, phone, _ = private_licence
    assert response.status_code == status, response.text[:300]
    for word in (national_id, phone, *PERSONAL, "owner_office"):
        assert word.encode() not in response.content, word


@pytest.mark.parametrize("who", NOT_OWNERS)
@pytest.mark.parametrize("fmt", ["json", "jsonld", "html"])
def test_absent_from_items_and_single_items(client, auth, private_licence, who, fmt):
    fid, license_no = private_licence[0], private_licence[3][0]
    _clean(client.get(f"{ITEMS}/{fid}?f={fmt}", headers=auth[who]), private_licence)
    listing = client.get(f"{ITEMS}?f={fmt}&license_no={license_no}", headers=auth[who])
    _clean(listing, private_licence)
    assert _listed(listing, fmt) == [fid]       # listed, without its personal fields


def _listed(response, fmt: str) -> list[int]:
    """Ids of the features of a listing of licences, in its order."""
    if fmt == "json":
        return [feature["id"] for feature in response.json()["features"]]
    if fmt == "jsonld":
        return [int(feature["@id"].rsplit("/", 1)[-1]) for feature in response.json()["features"]]
    # the pages' links keep the page's language (?lang=...)
    return [int(found) for found in re.findall(r'<a href="[^"]*/licenses/items/(\d+)(?:[?][^"]*)?"',
                                                response.text)]


def test_the_owning_office_sees_them_on_its_licence(client, auth, private_licence):
    fid, national_id, phone, _ = private_licence
    response = client.get(f"{ITEMS}/{fid}", headers=auth["office"])
    properties = response.json()["properties"]
    assert (properties["holder_national_id"], properties["holder_phone"]) == (national_id, phone)
    assert response.headers["cache-control"] == "private, no-store"
    assert "Authorization" in response.headers["vary"]


def test_an_admin_sees_them(client, auth, private_licence):
    fid, national_id, _, _ = private_licence
    body = client.get(f"{ITEMS}/{fid}?f=json", headers=auth["admin"]).json()
    assert body["properties"]["holder_national_id"] == national_id


@pytest.mark.parametrize("who", ["other_office", "inspector", "analyst"])
def test_other_signed_in_roles_get_the_public_fields_and_an_etag(client, auth, private_licence,
                                                                  who):
    fid = private_licence[0]
    response = client.get(f"{ITEMS}/{fid}", headers=auth[who])
    _clean(response, private_licence)
    assert response.headers["etag"].startswith('"licenses-')


def test_the_owners_list_of_items_stays_public(client, auth, private_licence):
    _clean(client.get(f"{ITEMS}?f=json&limit=50&sortby=-issue_date", headers=auth["office"]),
           private_licence)


@pytest.mark.parametrize("who", ["public", "office"])
@pytest.mark.parametrize("zoom", [14, 16, 18, 20])
def test_absent_from_tiles(client, auth, private_licence, who, zoom):
    _, _, _, (_, _, x, y, _) = private_licence
    tile = morecantile.tms.get("WebMercatorQuad").tile(x, y, zoom)
    response = client.get(f"/ogc/collections/licenses/tiles/WebMercatorQuad/{zoom}/{tile.y}/"
                          f"{tile.x}?f=mvt", headers=auth[who])
    _clean(response, private_licence)
    if zoom >= 16:
        assert response.status_code == 200 and response.content


@pytest.mark.parametrize("who", ["public", "office", "admin"])
def test_absent_from_search(client, auth, private_licence, who):
    _, _, _, (license_no, name, _, _, _) = private_licence
    for q in (name, license_no):
        response = client.get("/search", params={"q": q, "lang": "en"}, headers=auth[who])
        _clean(response, private_licence)
    for q in private_licence[1:3]:   # the holder's id or phone finds nothing
        response = client.get("/search", params={"q": q, "lang": "en"}, headers=auth[who])
        assert response.json()["results"] == []
    found = client.get("/search", params={"q": license_no, "lang": "en"}).json()["results"]
    assert any(result["ref"] == license_no for result in found)


def test_absent_from_batch_downloads(client, auth, db, private_licence):
    from processing import worker

    district = private_licence[3][4]
    response = client.post("/ogc/processes/batch-compliance/execution",
                           json={"inputs": {"area": {"district": district}}},
                           headers={**auth["analyst"], "Prefer": "respond-async"})
    assert response.status_code == 201, response.text
    job = response.headers["location"].replace("http://testserver", "")
    worker.run_job(client.app.state.services.processing, job.rsplit("/", 1)[-1])
    assert client.get(job).json()["status"] == "successful"
    for fmt in ("geojson", "csv", "gpkg"):
        _clean(client.get(f"{job}/results?f={fmt}"), private_licence)


def test_personal_fields_cannot_be_filtered_on_even_by_the_owner(client, auth, private_licence):
    phone = private_licence[2]
    response = client.get(f"{ITEMS}?f=json&holder_phone={phone}", headers=auth["office"])
    assert response.status_code == 400
    assert phone not in response.text
