"""Rating a closed report on /track in a real browser (Debian's chromium through Playwright,
offline): the Arabic right-to-left form, the honeypot out of sight, a form sent too fast
refused, a rating sent after the minimum time stored and shown with its markup as text that
never runs. One `amanat serve` on the tests' database (default bounds: 3 s minimum)."""
import uuid

import pytest

from tests.support.browser import ARTIFACTS, MapServer, Watch, require_chromium
from tests.support.citizens import citizen_app, submit

require_chromium()

from playwright.sync_api import expect  # (after its skip checks)

pytestmark = pytest.mark.slow
XSS = '<img src=x onerror="window.__xss = 1"> شكرًا'


@pytest.fixture(scope="module")
def server(tmp_path_factory, database_url):
    """`amanat serve` on the tests' database."""
    started = MapServer(tmp_path_factory.mktemp("rate"), database_url, "--no-sample")
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def close(settings, db):
    """A function giving the number of a new report closed as fixed."""
    from geoserver.cli_auth import add_user_with_token

    admin = {"Authorization": "Bearer " + add_user_with_token(
        settings, f"rate-admin-{uuid.uuid4().hex[:6]}", "admin", None)}

    def closed() -> str:
        with citizen_app(settings, {}) as api:
            number = submit(api, db)["service_request_id"]
            answer = api.patch(f"/open311/staff/requests/{number}",
                               json={"status": "closed", "close_reason": "fixed"}, headers=admin)
            assert answer.status_code == 200
        return number
    return closed


@pytest.fixture
def page(browser, server):
    """A fresh page of an Arabic browser (ar-SA), watched for console errors and requests
    leaving the machine."""
    context = browser.new_context(viewport={"width": 1000, "height": 900}, locale="ar-SA")
    opened = context.new_page()
    opened.watch = Watch(opened, server.url)
    yield opened
    context.close()
    opened.watch.assert_clean()


def test_a_citizen_rates_a_closed_report_and_reads_the_rating_as_text(page, server, close, db):
    number = close()
    page.goto(f"{server.url}/track?number={number}")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("#rate")).to_have_text("قيّم معالجة البلاغ")
    trap = page.locator("#website").bounding_box()
    assert trap is None or trap["x"] + trap["width"] <= 0 or trap["x"] >= 1000   # out of sight
    page.check("input[name=stars][value='4']")
    page.fill("#comment", XSS)
    page.wait_for_timeout(3300)          # the minimum time to submit
    page.click("text=إرسال التقييم")
    expect(page.locator(".stars")).to_have_text("4/5")
    expect(page.locator(".comment")).to_have_text(XSS)
    assert page.locator("img").count() == 0 and page.evaluate("() => window.__xss") is None
    assert page.locator("form.rate").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "track-rated-ar.png"), full_page=True)
    assert db.execute("SELECT t.stars, t.comment FROM citizen_report_ratings t JOIN "
                      "citizen_reports r ON r.id = t.report_id WHERE r.tracking_no = %s",
                      [number]).fetchone() == (4, XSS)


def test_a_rating_sent_at_once_is_refused_and_nothing_stored(browser, server, close, db):
    number = close()
    context = browser.new_context(locale="en-GB")
    opened = context.new_page()
    opened.goto(f"{server.url}/track?number={number}&lang=en")
    opened.check("input[name=stars][value='5']")
    opened.click("text=Send the rating")
    expect(opened.locator(".error")).to_contain_text("too fast")
    context.close()
    assert db.execute("SELECT count(*) FROM citizen_report_ratings t JOIN citizen_reports r ON "
                      "r.id = t.report_id WHERE r.tracking_no = %s", [number]).fetchone() == (0,)
