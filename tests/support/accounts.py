"""Shared pieces of the sign-on, editing and audit tests: real users, real tokens, real rows.

The `tokens` and `auth` fixtures (tests/conftest.py) make the USERS below.
"""
import io
import itertools
import uuid
from datetime import date, datetime, timedelta, timezone

from PIL import Image

OFFICE, OTHER_OFFICE = "ENG-1", "ENG-2"
USERS = {  # name: (role, office)
    "office": ("office", OFFICE),
    "other_office": ("office", OTHER_OFFICE),
    "inspector": ("inspector", None),
    "other_inspector": ("inspector", None),
    "analyst": ("analyst", None),
    "admin": ("admin", None),
}
ROLES = ("public", "office", "inspector", "analyst", "admin")
_numbers = itertools.count(1)


def make_tokens(settings) -> dict[str, str]:
    """A bearer token per test user (new users each call), made as `amanat users add` makes
    them."""
    from geoserver.cli_auth import add_user_with_token

    run = uuid.uuid4().hex[:6]
    return {who: add_user_with_token(settings, f"t-{who}-{run}", role, office)
            for who, (role, office) in USERS.items()}


def headers_of(tokens: dict[str, str]) -> dict[str, dict]:
    """Authorization headers per test user; `public` sends none."""
    headers = {who: {"Authorization": f"Bearer {token}"} for who, token in tokens.items()}
    headers["public"] = {}
    return headers


def subject_of(tokens: dict, who: str) -> str:
    """The user name behind a test token."""
    import base64
    import json

    payload = tokens[who].split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]


def site(db, zone: str = "C1") -> tuple[int, float, float]:
    """(parcel id, lon, lat) of a point inside a parcel of a zone."""
    return db.execute(
        "SELECT p.id, ST_X(ST_PointOnSurface(p.geom)), ST_Y(ST_PointOnSurface(p.geom)) "
        "FROM parcels p WHERE p.zoning_code = %s ORDER BY p.id LIMIT 1", [zone]).fetchone()


def licence(db, zone: str = "C1", **properties) -> dict:
    """A valid new licence (grocery, ISIC 4711, allowed in C1) as a GeoJSON Feature."""
    _, x, y = site(db, zone)
    today = date.today()
    props = {"license_no": f"LIC-T-{uuid.uuid4().hex[:8].upper()}-{next(_numbers)}",
             "isic_code": "4711", "trade_name_ar": "بقالة الاختبار",
             "trade_name_en": "Test Grocery", "issue_date": (today - timedelta(days=3)).isoformat(),
             "expiry_date": (today + timedelta(days=362)).isoformat(), "shop_area_m2": 48.5,
             "holder_national_id": "1098765432", "holder_phone": "0551234567"}
    props.update(properties)
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
            "properties": {k: v for k, v in props.items() if v is not None}}


def inspection(db, **properties) -> dict:
    """A valid new inspection of the first licence, as a GeoJSON Feature."""
    lid, x, y = db.execute("SELECT id, ST_X(geom), ST_Y(geom) FROM licenses "
                           "WHERE issue_date < now() - interval '30 days' "
                           "ORDER BY id LIMIT 1").fetchone()
    visited = (datetime.now(timezone.utc) - timedelta(days=3)).isoformat(timespec="seconds")
    props = {"license_id": lid, "visited_at": visited, "result": "compliant",
             "notes": "visited with the owner"}
    props.update(properties)
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
            "properties": {k: v for k, v in props.items() if v is not None}}


def create_licence(client, auth, db, who: str = "office", **properties):
    """POST a new licence; (id, etag, path)."""
    response = client.post("/ogc/collections/licenses/items", json=licence(db, **properties),
                           headers=auth[who])
    assert response.status_code == 201, response.text
    path = response.headers["location"].replace("http://testserver", "")
    return response.json()["id"], response.headers["etag"], path


def counts(db) -> dict[str, int]:
    """Rows in the tables a write may touch."""
    return {table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("licenses", "inspections", "inspection_photos", "audit_log")}


def image(kind: str = "JPEG", size=(64, 48), colour=(200, 30, 30)) -> bytes:
    """A small real image."""
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, kind)
    return buffer.getvalue()
