"""Helpers of the citizen-service tests (tests/test_open311*.py, the web map's report test):
the application as a citizen's client, a valid report, its submission, the row counts a
refusal must leave unchanged, and the Open311 refusal check; the `api` fixture (a pytest
plugin of tests/conftest.py)."""
import re
import uuid
import xml.etree.ElementTree as ET
from contextlib import contextmanager

import pytest

from citizens.reports import ALPHABET

V2 = "/open311/v2"


TRACKING = re.compile(r"^R-[" + ALPHABET + r"]{4}-[" + ALPHABET + r"]{4}-[" + ALPHABET + r"]{4}$")


CONTACT = {"email": "citizen.private@example.sa", "first_name": "Nourah", "last_name": "Alqahtani",
           "phone": "+966 50 123 4567"}


ENGLISH = {"Accept-Language": "en"}


@contextmanager
def citizen_app(settings, monkeypatch_env: dict, address: str | None = None):
    """The real application with citizen settings from the environment, as a client calling
    from `address` (a fresh one by default, so no earlier run's counts apply)."""
    from starlette.testclient import TestClient

    from geoserver import create_app

    with pytest.MonkeyPatch.context() as patch:
        for name, value in monkeypatch_env.items():
            patch.setenv(name, value)
        app = create_app(settings)
    host = address or f"198.51.100.{uuid.uuid4().int % 250 + 1}-{uuid.uuid4().hex[:6]}"
    with TestClient(app, client=(host, 50000)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def api(settings):
    """The application with a throttle loose enough for this module's submissions."""
    with citizen_app(settings, {"AMANAT_CITIZENS_REPORTS_PER_WINDOW": "10000"}) as client:
        yield client


def inside(db, district_id: int = 1) -> tuple[float, float, str, str]:
    """(lon, lat, district code, municipality code) of a point inside a district."""
    return db.execute(
        "SELECT ST_X(ST_PointOnSurface(d.geom)), ST_Y(ST_PointOnSurface(d.geom)), d.code, m.code "
        "FROM districts d JOIN municipalities m ON m.id = d.municipality_id WHERE d.id = %s",
        [district_id]).fetchone()


def report_form(db, district_id: int = 1, **fields) -> dict:
    """A valid pothole report inside a district (fields override or add)."""
    lon, lat, _, _ = inside(db, district_id)
    form = {"service_code": "pothole", "lat": repr(lat), "long": repr(lon),
            "description": "حفرة عميقة أمام المسجد", "attribute[size]": "large"}
    form.update(fields)
    return {k: v for k, v in form.items() if v is not None}


def submit(api, db, district_id: int = 1, fmt: str = "json", **fields) -> dict:
    """Submit a valid report; its answer."""
    response = api.post(f"{V2}/requests.{fmt}", data=report_form(db, district_id, **fields))
    assert response.status_code == 201, response.text
    return response.json()[0]


def counts(db) -> tuple:
    """Rows of the report tables and the audit trail (a refusal changes none)."""
    return db.execute("SELECT (SELECT count(*) FROM citizen_reports), "
                      "(SELECT count(*) FROM citizen_report_history), "
                      "(SELECT count(*) FROM audit_log)").fetchone()


def refused(api, db, status: int, path: str, method: str = "POST", fmt: str = "json",
            text: str | None = None, **kwargs):
    """Send a request that must be refused in the Open311 error format; nothing may change."""
    before = counts(db)
    response = api.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    if fmt == "xml":
        root = ET.fromstring(response.content)
        assert root.tag == "errors" and [e.tag for e in root] == ["error"]
        assert root.find("error/code").text == str(status)
        description = root.find("error/description").text
        assert root.find("error/descriptions/ar").text and root.find("error/descriptions/en").text
    else:
        body = response.json()
        assert isinstance(body, list) and len(body) == 1
        assert set(body[0]) == {"code", "description", "descriptions"}
        assert body[0]["code"] == status and set(body[0]["descriptions"]) == {"ar", "en"}
        description = body[0]["description"]
        assert description == body[0]["descriptions"][response.headers["content-language"]]
    if text:
        assert text in description
    assert counts(db) == before
    return response
