"""Signing in to the web map in a real browser (Debian's chromium through Playwright, offline).

One `amanat serve --with-worker` on a scratch database with the small sample city, and local
users created with passwords as an administrator would (`add_user_with_token(password=...)`,
what `amanat users add --password-stdin` runs). The page and server helpers are those of
tests/support/browser.py. Screenshots go to test-artifacts/.
"""
import re
import uuid

import psycopg
import pytest

from tests.support.browser import ARTIFACTS, MapServer, Watch, require_chromium
from tests.support.databases import scratch_city

require_chromium()

from playwright.sync_api import expect  # noqa: E402 (after its skip checks)

pytestmark = pytest.mark.slow
PASSWORD = "a long test password"
UNAUTHORIZED = "the server responded with a status of 401"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The server on a scratch city, and the settings to create users with."""
    tmp = tmp_path_factory.mktemp("signin")
    with scratch_city(tmp) as (url, settings):
        server = MapServer(tmp, url, "--no-sample", "--with-worker")
        server.settings, server.database_url = settings, url
        try:
            yield server
        finally:
            server.stop()


def _user(site, role: str = "analyst") -> str:
    """A new local user with PASSWORD."""
    from geoserver.cli_auth import add_user_with_token

    name = f"web-{uuid.uuid4().hex[:8]}"
    add_user_with_token(site.settings, name, role, None, password=PASSWORD)
    return name


@pytest.fixture
def page(browser, site, request):
    """A fresh desktop page, watched; `page.allowed` lists console errors a test expects."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    opened.watch = Watch(opened, site.url)
    opened.allowed = []
    yield opened
    context.close()
    unexpected = [e for e in opened.watch.errors
                  if not any(allowed in e for allowed in opened.allowed)]
    opened.watch.errors = unexpected
    opened.watch.assert_clean()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(400)
    page.screenshot(path=str(ARTIFACTS / f"signin-{name}.png"))


def _open(page, site, lang: str) -> None:
    page.goto(f"{site.url}/?lang={lang}")
    page.wait_for_load_state("networkidle")


def _sign_in(page, name: str, password: str = PASSWORD, button: str = "Sign in") -> None:
    page.locator("#signin-open").click()
    dialog = page.get_by_role("dialog", name=button)
    expect(dialog).to_be_visible()
    expect(page.locator("#signin-user")).to_be_focused()
    page.locator("#signin-user").fill(name)
    page.locator("#signin-password").fill(password)
    page.locator("#signin-password").press("Enter")


def test_an_analyst_signs_in_and_runs_a_batch_without_pasting_a_token(page, site):
    name = _user(site)
    with psycopg.connect(site.database_url) as conn:
        code = conn.execute("SELECT code FROM districts ORDER BY id LIMIT 1").fetchone()[0]
    sent = []
    page.on("request", lambda r: sent.append(r.headers.get("authorization"))
            if "batch-compliance/execution" in r.url else None)
    _open(page, site, "en")
    expect(page.locator("#signout")).to_be_hidden()
    _sign_in(page, name)
    expect(page.locator("#signin-dialog")).to_be_hidden()
    expect(page.locator("#session-user")).to_have_text(f"{name} (analyst)")
    expect(page.locator("#signout")).to_be_visible()
    expect(page.locator("#signin-open")).to_be_hidden()
    expect(page.locator("#signout")).to_be_focused()
    token = page.evaluate("sessionStorage.getItem('amanat.token')")
    assert token and token.count(".") == 2
    _shot(page, "signed-in-en")
    page.get_by_role("button", name="Compliance analysis").click()
    expect(page.locator(".session-note")).to_contain_text(f"Signed in as {name} (analyst)")
    expect(page.locator("#an-token")).to_be_hidden()
    page.locator("#an-district").select_option(code)
    page.get_by_role("button", name="Run the analysis").click()
    expect(page.locator(".job-status")).to_contain_text("Finished", timeout=90_000)
    expect(page.locator(".downloads a")).to_have_count(3)
    assert sent == [f"Bearer {token}"]
    _shot(page, "batch-en")


def test_escape_closes_the_dialog_only_and_gives_the_focus_back(page, site):
    _open(page, site, "en")
    page.get_by_role("button", name="Compliance analysis").click()
    note_button = page.locator(".session-note button")
    note_button.click()
    expect(page.get_by_role("dialog", name="Sign in")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.locator("#signin-password")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#signin-dialog")).to_be_hidden()
    expect(page.locator("#panel")).to_be_visible()          # the side panel stays open
    expect(note_button).to_be_focused()
    page.locator("#signin-open").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#signin-dialog")).to_be_visible()
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#signin-open")).to_be_focused()


def test_a_wrong_password_is_said_in_the_dialog_and_nothing_is_kept(page, site):
    page.allowed.append(UNAUTHORIZED)       # the browser logs the 401 of a refused sign-in
    name = _user(site)
    _open(page, site, "en")
    _sign_in(page, name, "not the password")
    expect(page.locator("#signin-error")).to_have_text("The user name or password is wrong.")
    expect(page.locator("#signin-password")).to_be_focused()
    expect(page.locator("#signin-password")).to_have_value("")
    assert page.evaluate("sessionStorage.getItem('amanat.token')") is None
    page.locator("#signin-dialog").get_by_role("button", name="Sign in").click()
    expect(page.locator("#signin-error")).to_have_text("Enter your user name and password.")
    _shot(page, "wrong-password-en")


def test_the_session_survives_the_switch_to_arabic_and_the_dialog_is_rtl(page, site):
    name = _user(site)
    _open(page, site, "en")
    _sign_in(page, name)
    expect(page.locator("#session-user")).to_have_text(f"{name} (analyst)")
    page.locator("#lang-switch").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("dir") == "rtl"
    expect(page.locator("#session-user")).to_have_text(f"{name} (محلل)")
    _shot(page, "signed-in-ar")
    page.get_by_role("button", name="تسجيل الخروج").click()
    expect(page.locator("#signin-open")).to_be_visible()
    expect(page.locator("#session-status")).to_have_text("تم تسجيل الخروج")
    assert page.evaluate("sessionStorage.getItem('amanat.token')") is None
    page.locator("#signin-open").click()
    dialog = page.get_by_role("dialog", name="تسجيل الدخول")
    expect(dialog).to_be_visible()
    assert page.evaluate("getComputedStyle(document.getElementById('signin-dialog')).direction") \
        == "rtl"
    expect(page.locator("label[for=signin-user]")).to_have_text("اسم المستخدم")
    box = dialog.bounding_box()
    heading = page.evaluate("(() => { const r = document.createRange(); "
                            "r.selectNodeContents(document.getElementById('signin-title')); "
                            "const b = r.getBoundingClientRect(); return [b.left, b.right]; })()")
    assert box["x"] + box["width"] - heading[1] < 40 < heading[0] - box["x"], (box, heading)
    _shot(page, "dialog-ar")


def test_a_401_ends_the_session_and_opens_the_dialog(page, site):
    page.allowed.append(UNAUTHORIZED)
    name = _user(site)
    _open(page, site, "en")
    _sign_in(page, name)
    expect(page.locator("#session-user")).to_have_text(f"{name} (analyst)")
    with psycopg.connect(site.database_url, autocommit=True) as conn:
        conn.execute("UPDATE auth_users SET disabled_at = now() WHERE name = %s", [name])
    page.get_by_role("button", name="Compliance analysis").click()   # asks for the districts
    dialog = page.get_by_role("dialog", name="Sign in")
    expect(dialog).to_be_visible()
    expect(page.locator("#signin-note")).to_have_text(re.compile("session has ended"))
    assert page.evaluate("sessionStorage.getItem('amanat.token')") is None
    expect(page.locator("#signin-open")).to_be_visible()
    _shot(page, "session-ended-en")


def test_on_a_phone_the_signed_in_header_fits(browser, site):
    name = _user(site)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True)
    phone = context.new_page()
    watch = Watch(phone, site.url)
    try:
        _open(phone, site, "ar")
        _sign_in(phone, name, button="تسجيل الدخول")
        expect(phone.locator("#session-user")).to_have_text(f"{name} (محلل)")
        expect(phone.locator("#signout")).to_be_visible()
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        _shot(phone, "phone-ar")
    finally:
        context.close()
    watch.assert_clean()
