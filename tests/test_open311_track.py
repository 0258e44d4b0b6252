"""The public status page /track (citizens/track.py): the status, history and next step of a
report, a licence or a certificate by its number, in Arabic (right to left, the default) or
English, with nothing personal on it; a malformed or unknown number is a clear 400 or 404 page;
every lookup counts against the address, so enumerating numbers is a 429. Real PostGIS, the
real application."""
import pytest

from tests.support.citizens import CONTACT, ENGLISH, citizen_app, counts, submit

TRACK = "/track"


@pytest.fixture(scope="module")
def api(settings):
    """The application, loose on reports, with the default lookup bound (30 a minute)."""
    with citizen_app(settings, {"AMANAT_CITIZENS_REPORTS_PER_WINDOW": "10000"}) as client:
        yield client


@pytest.fixture(scope="module")
def admin(settings) -> dict:
    """An admin's Authorization header (to move reports along)."""
    import uuid

    from geoserver.cli_auth import add_user_with_token

    return {"Authorization": "Bearer " + add_user_with_token(
        settings, f"track-admin-{uuid.uuid4().hex[:6]}", "admin", None)}


def test_the_empty_page_is_an_arabic_right_to_left_form(api):
    response = api.get(TRACK)
    assert response.status_code == 200
    assert '<html lang="ar" dir="rtl">' in response.text
    assert 'name="number"' in response.text and "الاستعلام دون مراجعة" in response.text
    assert response.headers["cache-control"] == "no-store"


def test_the_page_speaks_english_when_asked(api):
    assert '<html lang="en" dir="ltr">' in api.get(f"{TRACK}?lang=en").text
    assert '<html lang="en" dir="ltr">' in api.get(TRACK, headers=ENGLISH).text


def test_a_report_shows_its_status_history_and_next_step_without_personal_data(api, db):
    number = submit(api, db, **CONTACT)["service_request_id"]
    response = api.get(TRACK, params={"number": number})
    assert response.status_code == 200
    page = response.text
    assert number in page and "حفرة في الطريق" in page and "الخطوة التالية" in page
    assert 'data-status="open"' in page and "ستراجع إدارة صيانة الطرق" in page
    assert not [value for value in CONTACT.values() if value in page]


def test_a_closed_duplicate_reads_as_a_duplicate_with_its_note_escaped(api, db, admin):
    number = submit(api, db)["service_request_id"]
    path = f"/open311/staff/requests/{number}"
    api.patch(path, json={"status": "in_progress", "note": "<script>alert(1)</script>"},
              headers=admin)
    api.patch(path, json={"status": "closed", "close_reason": "duplicate"}, headers=admin)
    page = api.get(TRACK, params={"number": number, "lang": "en"}).text
    assert "Closed: duplicate report" in page and "fixed" not in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<tr>") == 4     # the header and three steps: open, in progress, closed


def test_a_lower_case_number_is_found(api, db):
    number = submit(api, db)["service_request_id"]
    assert api.get(TRACK, params={"number": number.lower()}).status_code == 200


@pytest.mark.parametrize("number, status, text", [
    ("R-0000-0000-0000", 404, "لا يوجد بلاغ أو رخصة أو شهادة بهذا الرقم"),
    ("LIC-1999-000000", 404, "لا يوجد بلاغ أو رخصة أو شهادة بهذا الرقم"),
    ("AMN-2026-0000-0000-0000-0000", 404, "لا يوجد بلاغ أو رخصة أو شهادة بهذا الرقم"),
    ("12345", 400, "R-XXXX-XXXX-XXXX"),
    ("<script>x</script>", 400, "R-XXXX-XXXX-XXXX"),
])
def test_a_bad_or_unknown_number_is_said_on_the_page(api, db, number, status, text):
    before = counts(db)
    response = api.get(TRACK, params={"number": number})
    assert response.status_code == status and text in response.text
    assert "<script>x" not in response.text
    assert counts(db) == before


def test_a_licence_shows_its_status_dates_and_next_step_without_the_holder(api, db):
    number, phone, national_id, trade, expiry = db.execute(
        "SELECT license_no, holder_phone, holder_national_id, trade_name_en, expiry_date "
        "FROM licenses WHERE status = 'active' AND expiry_date > current_date + 40 "
        "ORDER BY id LIMIT 1").fetchone()
    page = api.get(TRACK, params={"number": number, "lang": "en"}).text
    assert number in page and trade in page and 'data-status="active"' in page
    assert f"nothing until {expiry.isoformat()}" in page
    assert phone not in page and national_id not in page


def test_an_expired_licence_says_to_renew_it(api, db):
    number = db.execute("SELECT license_no FROM licenses WHERE status = 'expired' "
                        "ORDER BY id LIMIT 1").fetchone()
    if number is None:
        pytest.skip("the sample city has no expired licence")
    page = api.get(TRACK, params={"number": number[0]}).text
    assert "منتهية" in page and "جدّد الرخصة عبر الخدمات الإلكترونية للبلدية" in page


def test_a_certificate_shows_its_verdict_and_links_the_signed_one(api, db):
    parcel_no = db.execute("SELECT parcel_no FROM parcels WHERE land_use = 'residential' "
                           "ORDER BY id LIMIT 1").fetchone()[0]
    issued = api.post("/ogc/processes/parcel-check/execution",
                      json={"inputs": {"parcel_no": parcel_no, "floors": 3, "height_m": 11}})
    assert issued.status_code == 200, issued.text
    number = issued.json()["id"]
    verdict = db.execute("SELECT verdict FROM certificates WHERE id = %s", [number]).fetchone()[0]
    page = api.get(TRACK, params={"number": number, "lang": "en"}).text
    assert f'data-status="{verdict}"' in page and "parcel-check" in page
    assert f'href="http://testserver/certificates/{number}?lang=en"' in page


def test_an_unknown_parameter_is_a_400_page(api):
    response = api.get(f"{TRACK}?number=R-0000-0000-0000&colour=red&lang=en")
    assert response.status_code == 400 and "unknown parameter" in response.text


def test_enumerating_numbers_is_a_429_found_or_not(settings, db):
    with citizen_app(settings, {"AMANAT_CITIZENS_LOOKUPS_PER_WINDOW": "3",
                                "AMANAT_CITIZENS_REPORTS_PER_WINDOW": "10000"}) as prober:
        number = submit(prober, db)["service_request_id"]
        for guess in ("R-0000-0000-0001", "R-0000-0000-0002", "R-0000-0000-0003"):
            assert prober.get(TRACK, params={"number": guess}).status_code == 404
        response = prober.get(TRACK, params={"number": number, "lang": "en"})
        assert response.status_code == 429 and "too many lookups" in response.text
        assert int(response.headers["retry-after"]) >= 1
        assert prober.get(TRACK).status_code == 200      # the empty form is not a lookup
