"""The public status page /track (citizens/track.py): a report's status, history and next step
by number, in Arabic (right to left, the default) or English, with nothing personal on it; a
malformed or unknown number is a clear 400 or 404 page; every lookup counts against the
address, so enumerating numbers is a 429. Real PostGIS, the real application."""
import pytest

from tests.test_open311 import CONTACT, ENGLISH, citizen_app, counts, submit

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
    assert 'name="number"' in response.text and "متابعة بلاغ" in response.text
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
    ("R-0000-0000-0000", 404, "لا يوجد بلاغ بهذا الرقم"),
    ("12345", 400, "R-XXXX-XXXX-XXXX"),
    ("<script>x</script>", 400, "R-XXXX-XXXX-XXXX"),
])
def test_a_bad_or_unknown_number_is_said_on_the_page(api, db, number, status, text):
    before = counts(db)
    response = api.get(TRACK, params={"number": number})
    assert response.status_code == status and text in response.text
    assert "<script>x" not in response.text
    assert counts(db) == before


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
