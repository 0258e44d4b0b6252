"""The status page /track in a real browser (Debian's chromium through Playwright, offline):
a citizen types their report number and reads its status in Arabic (right to left), switches to
English, and markup in a staff note is shown as text and never runs. One `amanat serve` on the
tests' database; the report is submitted and moved along through the real application."""
import uuid

import pytest

from tests.support.browser import ARTIFACTS, MapServer, Watch, require_chromium
from tests.support.citizens import citizen_app, submit

require_chromium()

from playwright.sync_api import expect  # (after its skip checks)

pytestmark = pytest.mark.slow
XSS = '<img src=x onerror="window.__xss = 1">'


@pytest.fixture(scope="module")
def server(tmp_path_factory, database_url):
    """`amanat serve` on the tests' database."""
    started = MapServer(tmp_path_factory.mktemp("track"), database_url, "--no-sample")
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def report(settings, db) -> str:
    """A report moved to in progress by an admin, with markup in its public note."""
    from geoserver.cli_auth import add_user_with_token

    admin = {"Authorization": "Bearer " + add_user_with_token(
        settings, f"browser-admin-{uuid.uuid4().hex[:6]}", "admin", None)}
    with citizen_app(settings, {}) as api:
        number = submit(api, db)["service_request_id"]
        response = api.patch(f"/open311/staff/requests/{number}",
                             json={"status": "in_progress", "note": XSS}, headers=admin)
        assert response.status_code == 200
    return number


@pytest.fixture
def page(browser, server):
    """A fresh page of an Arabic browser (ar-SA), watched for console errors and requests
    leaving the machine."""
    context = browser.new_context(viewport={"width": 1000, "height": 800}, locale="ar-SA")
    opened = context.new_page()
    opened.watch = Watch(opened, server.url)
    yield opened
    context.close()
    opened.watch.assert_clean()


def test_a_citizen_reads_the_status_in_arabic_then_in_english(page, server, report):
    page.goto(f"{server.url}/track")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    page.fill("#number", report.lower())
    page.click("button[type=submit]")
    expect(page.locator("h2 bdi")).to_have_text(report)
    expect(page.locator(".status")).to_have_text("قيد التنفيذ")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "track-ar.png"), full_page=True)
    page.click("text=English")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    expect(page.locator(".status")).to_have_text("In progress")
    expect(page.locator("#number")).to_have_value(report)


def test_an_english_browser_gets_the_english_page(browser, server):
    context = browser.new_context(locale="en-GB")
    opened = context.new_page()
    watch = Watch(opened, server.url)
    opened.goto(f"{server.url}/track")
    expect(opened.locator("html")).to_have_attribute("dir", "ltr")
    expect(opened.locator("h1")).to_have_text("Check a status without visiting")
    opened.click("text=العربية")
    expect(opened.locator("html")).to_have_attribute("dir", "rtl")
    context.close()
    watch.assert_clean()


def test_markup_in_a_note_is_shown_as_text_and_never_runs(page, server, report):
    page.goto(f"{server.url}/track?number={report}&lang=en")
    expect(page.locator("tbody tr").nth(1).locator("td").nth(2)).to_have_text(XSS)
    assert page.locator("img").count() == 0
    assert page.evaluate("() => window.__xss") is None
