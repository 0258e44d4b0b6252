"""Reporting a problem and rating the page from the web map in a real browser (Debian's chromium
through Playwright, offline; webmap/static/report.js): in Arabic and in English a right-click
inside a district opens the panel with that point's categories, the report is stored with its
category and point and its tracking link opens /track; a point outside every district shows the
API's refusal in the page's language and stores nothing; "was this useful?" stores one rating
and a repeat is refused. Every request stays on 127.0.0.1 and the console stays clean."""
import re

import pytest

from tests.support.browser import ARTIFACTS, MapServer, Watch, require_chromium
from tests.support.citizens import TRACKING, counts, inside

require_chromium()

from playwright.sync_api import expect  # noqa: E402 (after its skip checks)

pytestmark = pytest.mark.slow
XSS = '<img src=x onerror="window.__xss = 1"> حفرة <b>عميقة</b>'
OUTSIDE = {"ar": "النقطة خارج نطاق جميع أحياء الأمانة", "en": "outside every district"}
LABELS = {"ar": ("إرسال البلاغ", "تابع حالة البلاغ", "هل كانت هذه الصفحة مفيدة؟", "نعم", "إرسال"),
          "en": ("Send the report", "Follow its status", "Was this page useful?", "Yes", "Send")}


@pytest.fixture(scope="module")
def server(tmp_path_factory, database_url, db):
    """`amanat serve` on the tests' database. That database outlives a run and the server sees
    every test from 127.0.0.1, so the address's counts and today's rating of / are cleared."""
    db.execute("DELETE FROM citizen_throttle")
    db.execute("DELETE FROM citizen_page_ratings WHERE path = '/'")
    started = MapServer(tmp_path_factory.mktemp("report"), database_url, "--no-sample")
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def page(browser, server, request):
    """A fresh page, watched for console errors and requests leaving the machine."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    opened = context.new_page()
    opened.watch = Watch(opened, server.url)
    yield opened
    ARTIFACTS.mkdir(exist_ok=True)
    opened.screenshot(path=str(ARTIFACTS / f"report-{request.node.name}.png"), full_page=True)
    context.close()
    opened.watch.assert_clean()


def _open(page, server, lang: str, lat: float, lon: float):
    page.goto(f"{server.url}/?lang={lang}&z=16&ll={lat:.6f},{lon:.6f}")
    page.wait_for_load_state("networkidle")
    expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_a_report_at_a_point_is_stored_and_its_link_opens_the_status_page(page, server, db, lang):
    lon, lat, district, _ = inside(db, 3 if lang == "ar" else 4)
    _open(page, server, lang, lat, lon)
    page.locator(".folium-map").click(button="right")          # the map's centre: the point
    expect(page.locator("#rp-category option")).to_have_count(8)   # 7 categories and "choose"
    page.select_option("#rp-category", "pothole")
    page.select_option("#rp-attr-size", "large")
    page.fill("#rp-description", XSS)
    expect(page.locator("#rp-description-hint")).to_contain_text(str(len(XSS)))
    page.fill("#rp-email", "citizen.private@example.sa")
    send, follow = LABELS[lang][:2]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"report-form-{lang}.png"))
    page.get_by_role("button", name=send).click()
    number = page.locator("#rp-number")
    expect(number).to_have_text(TRACKING)
    tracking = number.text_content()
    row = db.execute("SELECT service_code, district_code, ST_X(geom), ST_Y(geom), description, "
                     "contact_email FROM citizen_reports WHERE tracking_no = %s",
                     [tracking]).fetchone()
    assert row[:2] == ("pothole", district)
    assert row[2] == pytest.approx(lon, abs=5e-5) and row[3] == pytest.approx(lat, abs=5e-5)
    assert row[4:] == (XSS, "citizen.private@example.sa")
    assert page.evaluate("() => window.__xss") is None
    page.get_by_role("link", name=follow).click()
    page.wait_for_load_state("networkidle")
    assert re.search(rf"/track\?lang={lang}&number={tracking}$", page.url)
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("body")).to_contain_text(tracking)
    assert page.locator("img").count() == 0 and page.evaluate("() => window.__xss") is None
    assert "citizen.private" not in page.content()


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_a_point_outside_every_district_shows_the_refusal_and_stores_nothing(page, server, db,
                                                                             lang):
    west, south = db.execute("SELECT ST_XMin(e), ST_YMin(e) FROM (SELECT ST_Extent(geom) AS e "
                             "FROM municipalities) x").fetchone()
    before = counts(db)
    _open(page, server, lang, south - 0.02, west - 0.02)
    page.locator(".folium-map").click(button="right")
    expect(page.locator(".report-error")).to_contain_text(OUTSIDE[lang])
    expect(page.locator("#rp-category")).to_have_count(0)
    assert counts(db) == before
    page.watch.errors[:] = [e for e in page.watch.errors       # the browser logs the 400 itself
                            if "status of 400" not in e]


def test_the_useful_widget_stores_one_rating_and_refuses_a_repeat(page, server, db):
    question, yes, send = LABELS["ar"][2:]
    stored = "SELECT count(*) FROM citizen_page_ratings WHERE path = '/' AND useful"
    before = db.execute(stored).fetchone()[0]
    for attempt in ("first", "repeat"):
        _open(page, server, "ar", 26.4, 50.1)
        page.locator("#feedback summary").click()
        expect(page.locator("#feedback summary")).to_have_text(question)
        page.get_by_label(yes, exact=True).check()
        page.fill("#fb-comment", "<b>مفيدة</b>")
        page.wait_for_timeout(3300)                 # the signed form's minimum time (3 s)
        page.get_by_role("button", name=send, exact=True).click()
        if attempt == "first":
            expect(page.locator("#feedback .report-status")).to_have_text("شكرًا لك، وصل تقييمك")
            assert db.execute(stored).fetchone()[0] == before + 1
            assert db.execute("SELECT comment FROM citizen_page_ratings WHERE path = '/' "
                              "ORDER BY id DESC LIMIT 1").fetchone() == ("<b>مفيدة</b>",)
        else:
            expect(page.locator("#feedback .report-error")).to_have_text(
                "سبق أن قيّمت هذه الصفحة اليوم")
            assert db.execute(stored).fetchone()[0] == before + 1
    page.watch.errors[:] = [e for e in page.watch.errors if "status of 409" not in e]


@pytest.mark.parametrize("lang, text", [("ar", "الخاصية attribute[size] مطلوبة للخدمة pothole"),
                                        ("en", "attribute[size] is required for pothole")])
def test_a_refused_submission_shows_the_api_message_and_stores_nothing(page, server, db, lang,
                                                                       text):
    lon, lat, _, _ = inside(db, 2)
    _open(page, server, lang, lat, lon)
    page.locator(".folium-map").click(button="right")
    page.select_option("#rp-category", "pothole")
    expect(page.locator("#rp-attr-size")).to_be_attached()
    page.fill("#rp-description", "حفرة")
    before = counts(db)
    page.get_by_role("button", name=LABELS[lang][0]).click()
    expect(page.locator(".report-error")).to_have_text(text)
    expect(page.get_by_role("button", name=LABELS[lang][0])).to_be_enabled()
    assert counts(db) == before
    page.watch.errors[:] = [e for e in page.watch.errors if "status of 400" not in e]


def test_a_features_popup_offers_a_report_at_that_place(page, server, db):
    lon, lat, _, _ = inside(db, 2)
    _open(page, server, "en", lat, lon)
    page.locator(".folium-map").click()
    here = page.get_by_role("button", name="Report a problem here")
    expect(here).to_be_visible()
    here.click()
    expect(page.locator("#panel-title")).to_have_text("Report a problem or suggest")
    expect(page.locator("#rp-category option")).to_have_count(8)
    expect(page.locator(".leaflet-popup")).to_have_count(0)
