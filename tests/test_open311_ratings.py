"""Satisfaction ratings (citizens/ratings.py, migration 0017): a closed report rated once from
its /track page (1-5 stars, an optional comment, AR/EN, right to left), "was this useful?"
ratings of pages at /feedback (one per visitor, page and day), spam resistance (honeypot,
signed time-to-submit, per-address limits), the monthly view for the published figures. Every
bad input is a clear 4xx with nothing stored. Real PostGIS, the real application."""
import re
import time
import uuid

import pytest

from citizens import ratings
from tests.support.citizens import CONTACT, ENGLISH, citizen_app, counts, inside, submit

TRACK, RATE, FEEDBACK = "/track", "/track/rate", "/feedback"
FORM = re.compile(r'name="form" value="([0-9]+\.[0-9a-f]{64})"')


@pytest.fixture(scope="module")
def api(settings):
    """The application, loose on reports, lookups and ratings."""
    with citizen_app(settings, {"AMANAT_CITIZENS_REPORTS_PER_WINDOW": "10000",
                                "AMANAT_CITIZENS_LOOKUPS_PER_WINDOW": "10000",
                                "AMANAT_CITIZENS_RATINGS_PER_WINDOW": "10000"}) as client:
        yield client


@pytest.fixture(scope="module")
def admin(settings) -> dict:
    """An admin's Authorization header (to close reports)."""
    from geoserver.cli_auth import add_user_with_token

    return {"Authorization": "Bearer " + add_user_with_token(
        settings, f"rating-admin-{uuid.uuid4().hex[:6]}", "admin", None)}


def closed(api, db, admin, district_id: int = 1) -> str:
    """The tracking number of a new report, closed as fixed."""
    number = submit(api, db, district_id)["service_request_id"]
    answer = api.patch(f"/open311/staff/requests/{number}",
                       json={"status": "closed", "close_reason": "fixed"}, headers=admin)
    assert answer.status_code == 200, answer.text
    return number


def signed(db, subject: str, age_s: int = 10) -> str:
    """A form value the server would have issued about `subject` `age_s` seconds ago."""
    return ratings.sign(ratings.signing_key(db), subject, int(time.time()) - age_s)


def rating_form(db, number: str, **fields) -> dict:
    """A valid rating of a closed report (fields override or add; None drops one)."""
    form = {"number": number, "stars": "5", "comment": "", "website": "",
            "form": signed(db, "report:" + number)}
    form.update(fields)
    return {k: v for k, v in form.items() if v is not None}


def stored(db) -> tuple:
    """Rows of the rating tables, the report tables and the audit trail."""
    return (*db.execute("SELECT (SELECT count(*) FROM citizen_report_ratings), "
                        "(SELECT count(*) FROM citizen_page_ratings)").fetchone(), *counts(db))


def refused_page(api, db, status: int, text: str, data: dict, lang: str = "ar"):
    """A rating the /track page refuses with `status` and `text`; nothing stored."""
    before = stored(db)
    response = api.post(f"{RATE}?lang={lang}", data=data, follow_redirects=False)
    assert response.status_code == status, response.text
    assert f'<html lang="{lang}"' in response.text and text in response.text
    assert "<script>" not in response.text
    assert stored(db) == before
    return response


# --- the form on /track and a rating ------------------------------------------------------------

def test_a_closed_report_shows_a_right_to_left_rating_form_an_open_one_none(api, db, admin):
    open_one = submit(api, db)["service_request_id"]
    assert 'action="/track/rate' not in api.get(TRACK, params={"number": open_one}).text
    page = api.get(TRACK, params={"number": closed(api, db, admin)}).text
    assert '<html lang="ar" dir="rtl">' in page and "قيّم معالجة البلاغ" in page
    assert 'action="/track/rate?lang=ar"' in page and page.count('name="stars"') == 5
    assert 'name="website"' in page and 'maxlength="1000"' in page and FORM.search(page)
    english = api.get(TRACK, params={"number": open_one, "lang": "en"})
    assert "Rate how" not in english.text


def test_a_rating_is_stored_once_and_shown_escaped_on_the_page(api, db, admin):
    number = closed(api, db, admin)
    markup = '<script>alert("x")</script> شكرًا <b>للفريق</b>'
    response = api.post(f"{RATE}?lang=en", follow_redirects=False,
                        data=rating_form(db, number, stars="4", comment=markup))
    assert response.status_code == 303
    assert response.headers["location"] == f"/track?lang=en&number={number}"
    row = db.execute("SELECT t.stars, t.comment, t.rater_sha256 FROM citizen_report_ratings t "
                     "JOIN citizen_reports r ON r.id = t.report_id WHERE r.tracking_no = %s",
                     [number]).fetchone()
    assert row[:2] == (4, markup) and re.fullmatch(r"[0-9a-f]{64}", row[2])
    page = api.get(TRACK, params={"number": number, "lang": "en"}).text
    assert 'data-stars="4"' in page and "Thank you for your rating." in page
    assert "<script>" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; شكرًا &lt;b&gt;للفريق&lt;/b&gt;" in page
    assert 'action="/track/rate' not in page       # rated: no second form
    assert not [value for value in CONTACT.values() if value in page]


def test_the_form_the_page_issues_is_accepted_after_the_minimum_time(settings, db, admin):
    with citizen_app(settings, {"AMANAT_CITIZENS_REPORTS_PER_WINDOW": "10000",
                                "AMANAT_CITIZENS_RATINGS_MIN_SECONDS": "1"}) as person:
        number = closed(person, db, admin)
        issued = FORM.search(person.get(TRACK, params={"number": number}).text)[1]
        data = rating_form(db, number, form=issued, stars="3")
        assert person.post(RATE, data=data, follow_redirects=False).status_code == 400
        time.sleep(1.1)
        assert person.post(RATE, data=data, follow_redirects=False).status_code == 303


# --- bad ratings --------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["0", "6", "3.5", "abc", "", " ", "-1", "٤", "10"])
def test_a_rating_out_of_range_or_not_a_whole_number_is_a_400(api, db, admin, value):
    number = closed(api, db, admin)
    refused_page(api, db, 400, "يجب أن يكون التقييم عددًا صحيحًا من 1 إلى 5",
                 rating_form(db, number, stars=value))


def test_missing_stars_are_a_400_in_english_when_asked(api, db, admin):
    refused_page(api, db, 400, "the rating must be a whole number from 1 to 5",
                 rating_form(db, closed(api, db, admin), stars=None), lang="en")


def test_a_comment_over_1000_characters_is_a_400(api, db, admin):
    number = closed(api, db, admin)
    refused_page(api, db, 400, "longer than 1,000 characters",
                 rating_form(db, number, comment="ب" * 1001), lang="en")
    assert api.post(RATE, data=rating_form(db, number, comment="ب" * 1000),
                    follow_redirects=False).status_code == 303


def test_a_filled_honeypot_is_a_400(api, db, admin):
    refused_page(api, db, 400, "مُلئ النموذج آليًا",
                 rating_form(db, closed(api, db, admin), website="http://spam.example"))


@pytest.mark.parametrize("case, text", [
    ("fresh", "too fast"), ("forged", "not one this page issued"),
    ("other report", "not one this page issued"), ("missing", "not one this page issued"),
    ("expired", "expired"),
])
def test_a_form_sent_too_fast_forged_or_stale_is_a_400(api, db, admin, case, text):
    number = closed(api, db, admin)
    form = {"fresh": signed(db, "report:" + number, 0),
            "forged": f"{int(time.time()) - 10}." + "0" * 64,
            "other report": signed(db, "report:R-0000-0000-0000"), "missing": None,
            "expired": signed(db, "report:" + number, 7300)}[case]
    refused_page(api, db, 400, text, rating_form(db, number, form=form), lang="en")


def test_a_report_not_closed_repeated_or_unknown_is_refused(api, db, admin):
    open_one = submit(api, db)["service_request_id"]
    refused_page(api, db, 409, "البلاغ لم يُغلق بعد", rating_form(db, open_one))
    number = closed(api, db, admin)
    assert api.post(RATE, data=rating_form(db, number), follow_redirects=False).status_code == 303
    refused_page(api, db, 409, "this report has already been rated",
                 rating_form(db, number, stars="1"), lang="en")
    assert db.execute("SELECT stars FROM citizen_report_ratings t JOIN citizen_reports r ON "
                      "r.id = t.report_id WHERE r.tracking_no = %s", [number]).fetchone() == (5,)
    refused_page(api, db, 404, "لا يوجد بلاغ بهذا الرقم",
                 rating_form(db, "R-0000-0000-0000"))
    refused_page(api, db, 404, "لا يوجد بلاغ بهذا الرقم", rating_form(db, "<b>x</b>"))


def test_an_unknown_field_or_a_json_body_is_a_400(api, db, admin):
    number = closed(api, db, admin)
    refused_page(api, db, 400, "معامل غير معروف", rating_form(db, number, colour="red"))
    before = stored(db)
    response = api.post(RATE, json=rating_form(db, number), follow_redirects=False)
    assert response.status_code == 400 and stored(db) == before


def test_a_flood_of_ratings_from_one_address_is_a_429(settings, db, admin):
    with citizen_app(settings, {"AMANAT_CITIZENS_REPORTS_PER_WINDOW": "10000",
                                "AMANAT_CITIZENS_RATINGS_PER_WINDOW": "2"}) as flooder:
        numbers = [closed(flooder, db, admin) for _ in range(3)]
        for number in numbers[:2]:
            answer = flooder.post(RATE, data=rating_form(db, number), follow_redirects=False)
            assert answer.status_code == 303
        response = refused_page(flooder, db, 429, "too many ratings from this address",
                                rating_form(db, numbers[2]), lang="en")
        assert int(response.headers["retry-after"]) >= 1


# --- "was this useful?" -------------------------------------------------------------------------

def page_form(db, path: str, /, **fields) -> dict:
    """A valid page rating (fields override or add; None drops one)."""
    form = {"path": path, "useful": "yes", "website": "", "form": signed(db, "page:" + path)}
    form.update(fields)
    return {k: v for k, v in form.items() if v is not None}


def refused_feedback(api, db, status: int, text: str, data: dict):
    """A page rating refused in the citizens' error format (AR/EN); nothing stored."""
    before = stored(db)
    response = api.post(FEEDBACK, data=data, headers=ENGLISH)
    assert response.status_code == status, response.text
    body = response.json()
    assert body[0]["code"] == status and set(body[0]["descriptions"]) == {"ar", "en"}
    assert text in body[0]["description"]
    assert stored(db) == before


def test_a_page_is_rated_once_a_day_per_visitor(api, db, settings):
    path = f"/track/{uuid.uuid4().hex[:8]}"
    issued = api.get(FEEDBACK, params={"path": path}).json()
    assert issued["path"] == path and issued["honeypot"] == "website"
    assert ratings.SIGNED.match(issued["form"])
    markup = "<img src=x onerror=alert(1)>"
    answer = api.post(FEEDBACK, data=page_form(db, path, useful="no", comment=markup))
    assert answer.status_code == 201 and answer.json()["message"] == "شكرًا لك، وصل تقييمك"
    row = db.execute("SELECT useful, comment, day FROM citizen_page_ratings WHERE path = %s",
                     [path]).fetchone()
    assert row[:2] == (False, markup)
    refused_feedback(api, db, 409, "already rated this page today", page_form(db, path))
    with citizen_app(settings, {}) as other_visitor:
        assert other_visitor.post(FEEDBACK, data=page_form(db, path)).status_code == 201


@pytest.mark.parametrize("field, value, text", [
    ("useful", "maybe", "useful must be yes or no"), ("useful", None, "useful must be yes or no"),
    ("path", "https://evil.example/", "path must be a path"), ("path", "/a/../b", "path must"),
    ("path", "/<script>", "path must"), ("comment", "x" * 1001, "longer than 1,000"),
    ("website", "filled", "filled in automatically"), ("comment", "a\x00b", "NUL"),
])
def test_a_bad_page_rating_is_a_400(api, db, field, value, text):
    path = f"/p/{uuid.uuid4().hex[:8]}"
    refused_feedback(api, db, 400, text, page_form(db, path, **{field: value}))


def test_a_page_rating_sent_too_fast_or_for_another_page_is_a_400(api, db):
    path = f"/p/{uuid.uuid4().hex[:8]}"
    refused_feedback(api, db, 400, "too fast", page_form(db, path, form=signed(db, "page:" + path, 0)))
    refused_feedback(api, db, 400, "not one this page issued",
                     page_form(db, path, form=signed(db, "page:/elsewhere")))
    before = stored(db)
    assert api.get(FEEDBACK, params={"path": "javascript:alert(1)"}).status_code == 400
    assert stored(db) == before


# --- the monthly figures ------------------------------------------------------------------------

def test_the_monthly_view_counts_ratings_and_the_share_of_4_and_5_stars(api, db, admin):
    one, other = inside(db, 1)[3], None
    district = db.execute("SELECT d.id, m.code FROM districts d JOIN municipalities m ON "
                          "m.id = d.municipality_id WHERE m.code <> %s LIMIT 1", [one]).fetchone()
    numbers = [closed(api, db, admin) for _ in range(4)]
    if district:
        numbers.append(closed(api, db, admin, district[0]))
        other = district[1]
    # local time (UTC+3): 21:30 UTC on 31 January is already 1 February
    moments = ["2020-01-05 10:00Z", "2020-01-20 10:00Z", "2020-01-31 20:00Z",
               "2020-01-31 21:30Z", "2020-02-10 10:00Z"]
    with db.transaction(force_rollback=True):
        for number, stars, at in zip(numbers, [5, 4, 2, 3, 1], moments, strict=False):
            db.execute("INSERT INTO citizen_report_ratings (report_id, stars, rater_sha256, "
                       "created_at) SELECT id, %s, repeat('a', 64), %s FROM citizen_reports "
                       "WHERE tracking_no = %s", [stars, at, number])
        rows = ratings.monthly(db, "2020-01-01", "2020-02-01")
    found = {(str(r["month"]), r["municipality_code"]): (r["ratings"], float(r["satisfied_share"]))
             for r in rows}
    expected = {("2020-01-01", one): (3, 0.6667), ("2020-02-01", one): (1, 0.0)}
    if other:
        expected[("2020-02-01", other)] = (1, 0.0)
    assert found == expected
    assert ratings.monthly(db, "2020-01-01", "2020-02-01") == []     # rolled back
