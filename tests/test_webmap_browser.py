"""The web map in a real browser (Debian's chromium driven by Playwright, headless, offline).

One server (`amanat serve`) on a scratch database holding the small sample city with its sample
imagery; every request that would leave 127.0.0.1 is aborted and fails the test, and so does
any console error. Screenshots are written to test-artifacts/.
"""
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

from tests.conftest import SAMPLE_PARCELS, SAMPLE_SEED, scratch_database
from tests.test_cli import AMANAT, ROOT, _env, _free_port

pytest.importorskip("playwright")
if not shutil.which("chromium"):
    pytest.skip("Debian's chromium is not installed (scripts/test-tools.sh installs it)",
                allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

pytestmark = pytest.mark.slow
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
PANORAMAS = 6


def _serve_supports_worker() -> bool:
    from geoserver.cli import serve

    return any(param.name == "with_worker" for param in serve.params)


def _analyst_token(settings) -> str | None:
    """A token of a local analyst (None before sign-on existed)."""
    try:
        from geoserver.cli_auth import add_user_with_token
    except ImportError:
        return None
    return add_user_with_token(settings, "map-test-analyst", "analyst", None)


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """A scratch database with the sample city and its imagery in a private state directory."""
    from data.imagery import generate_sample_imagery
    from data.load import load_sample_city
    from geoserver.settings import DatabaseSettings, ServerSettings, Settings
    from layers import migrate
    from tests.conftest import _test_url

    tmp = tmp_path_factory.mktemp("webmap")
    with scratch_database(_test_url()) as url:
        migrate.upgrade(url)
        load_sample_city(url, parcels=SAMPLE_PARCELS, seed=SAMPLE_SEED, progress=False)
        settings = Settings(database=DatabaseSettings(DATABASE_URL=url),
                            server=ServerSettings(state_dir=tmp / "state"))
        generate_sample_imagery(settings, progress=False, panorama_limit=PANORAMAS)
        yield url, tmp, _analyst_token(settings)


class MapServer:
    """`amanat serve` on a free port, its output in a file (a full pipe would stall it)."""

    def __init__(self, tmp: Path, database_url: str, *args: str):
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(tmp / "server.log", "w")
        self.proc = subprocess.Popen([*AMANAT, "serve", *args], cwd=ROOT,
                                     env=_env(tmp, database_url, port), stdout=self.log,
                                     stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {(tmp / 'server.log').read_text()[-2000:]}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.3)
        raise AssertionError("server did not start")

    def stop(self) -> None:
        """Stop the server and the processes it started (its job worker outlives a SIGTERM)."""
        children = _children(self.proc.pid)
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        self.log.close()


def _children(pid: int) -> list[int]:
    """Ids of the processes whose parent is `pid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


@pytest.fixture(scope="module")
def server(city):
    """`amanat serve` (with a job worker when the command has one) on the scratch city."""
    url, tmp, _ = city
    extra = ["--with-worker"] if _serve_supports_worker() else []
    running = MapServer(tmp, url, "--no-sample", *extra)
    running.worker = bool(extra)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser():
    """Headless Debian chromium."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=shutil.which("chromium"),
                                              args=FLAGS)
        yield launched
        launched.close()


class Watch:
    """What a page did: console errors, requests that tried to leave, tile responses."""

    def __init__(self, page, origin: str):
        self.errors, self.external, self.tiles = [], [], []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        page.on("response", lambda r: self.tiles.append(r.status) if "/tiles/" in r.url else None)

        def route(request_route):
            if request_route.request.url.startswith(origin):
                return request_route.continue_()
            self.external.append(request_route.request.url)
            return request_route.abort()

        page.route("**/*", route)

    def assert_clean(self):
        assert self.external == [], f"requests left the machine: {self.external[:5]}"
        assert self.errors == [], f"console errors: {self.errors[:5]}"


@pytest.fixture
def page(browser, server, request):
    """A fresh page (desktop size) watched for errors and external requests."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    opened.watch = Watch(opened, server.url)
    yield opened
    ARTIFACTS.mkdir(exist_ok=True)
    opened.wait_for_timeout(800)            # popups fade in
    opened.screenshot(path=str(ARTIFACTS / f"webmap-{request.node.name}.png"))
    context.close()
    opened.watch.assert_clean()


def _db(city):
    return psycopg.connect(city[0], autocommit=True)


def _open(page, server, query: str):
    page.goto(f"{server.url}/?{query}")
    page.wait_for_load_state("networkidle")


def test_the_map_loads_offline_draws_tiles_and_logs_no_error(page, server):
    _open(page, server, "lang=en")
    assert page.locator("html").get_attribute("dir") == "ltr"
    assert sum(status == 200 for status in page.watch.tiles) >= 5
    expect(page.locator(".leaflet-tile-container canvas").first).to_be_attached()
    expect(page.locator(".leaflet-control-layers")).to_be_attached()
    expect(page.locator("#legend")).to_contain_text("Licence status")


def test_a_district_typed_with_another_alef_form_is_found(page, server, city):
    with _db(city) as conn:
        code, name = conn.execute("SELECT code, name_ar FROM districts WHERE name_ar ~ '^ا'"
                                  " ORDER BY id LIMIT 1").fetchone()
    _open(page, server, "lang=ar")
    page.locator("#search-input").fill("إ" + name[1:])
    first = page.locator(".search-result").first
    expect(first.locator(".result-label")).to_have_text(name)
    expect(first).to_have_attribute("data-kind", "district")
    page.locator("#search-input").press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("#search-results")).to_be_hidden()
    page.wait_for_load_state("networkidle")
    assert int(re.search(r"[?&]z=([0-9]+)", page.url).group(1)) >= 14


def _parcel_view(city, where: str = "TRUE"):
    with _db(city) as conn:
        return conn.execute(
            "SELECT id, parcel_no, ST_Y(ST_PointOnSurface(geom)), ST_X(ST_PointOnSurface(geom))"
            f" FROM parcels p WHERE {where} ORDER BY id LIMIT 1").fetchone()


def test_clicking_a_parcel_opens_its_popup(page, server, city):
    ident, number, lat, lon = _parcel_view(city, "NOT EXISTS (SELECT 1 FROM licenses l WHERE "
                                                 "ST_DWithin(l.geom_utm, p.geom_utm, 25))")
    _open(page, server, f"lang=en&z=19&ll={lat},{lon}")
    page.locator(".folium-map").click()
    popup = page.locator(".leaflet-popup-content")
    expect(popup).to_contain_text(number)
    expect(popup).to_contain_text("Land use")
    expect(popup.get_by_role("button", name="Check this parcel")).to_be_visible()
    assert f"sel=parcels%3A{ident}" in page.url


def test_a_parcel_check_shows_the_verdict_and_draws_evidence(page, server, city):
    ident, number, lat, lon = _parcel_view(city)
    _open(page, server, f"lang=en&z=18&ll={lat},{lon}&sel=parcels:{ident}")
    page.get_by_role("button", name="Check this parcel").click()
    page.locator("#check-height_m").fill("60")
    page.locator("#check-floors").fill("15")
    page.get_by_role("button", name="Check", exact=True).click()
    verdict = page.locator(".verdict")
    expect(verdict).to_contain_text("Refused", timeout=15_000)
    expect(page.locator(".rule-fail").first).to_be_visible()
    assert page.evaluate("Amanat.state.evidence.getLayers().length") >= 2   # parcel + evidence


def test_street_view_opens_the_nearest_panorama_with_neighbours(page, server, city):
    with _db(city) as conn:
        ident = conn.execute(
            "SELECT p.id FROM parcels p, panoramas v WHERE ST_DWithin(p.geom_utm, v.geom_utm, 20)"
            " ORDER BY ST_Distance(p.geom_utm, v.geom_utm), p.id LIMIT 1").fetchone()[0]
    _open(page, server, f"lang=en&z=18&ll=26.38,50.12&sel=parcels:{ident}")
    page.get_by_role("button", name="Street view").click()
    expect(page.locator(".psv-container")).to_be_visible(timeout=20_000)
    expect(page.locator(".sv-caption")).to_contain_text("Captured")
    page.wait_for_timeout(1500)
    if page.locator(".sv-go").count():
        caption = page.locator(".sv-caption").inner_text()
        page.locator(".sv-go").first.click()
        page.wait_for_timeout(1200)
        assert page.locator(".sv-caption").inner_text() and caption


def test_switching_to_arabic_flips_the_page_and_keeps_the_view(page, server, city):
    _, _, lat, lon = _parcel_view(city)
    _open(page, server, f"lang=en&z=17&ll={lat:.6f},{lon:.6f}&layers=parcels,zoning")
    page.locator("#lang-switch").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("html").get_attribute("lang") == "ar"
    assert "lang=ar" in page.url and "z=17" in page.url and "zoning" in page.url
    expect(page.locator("#search-input")).to_have_attribute("placeholder", re.compile("ابحث"))
    direction = page.evaluate("getComputedStyle(document.querySelector('.bar')).direction")
    assert direction == "rtl"


def test_on_a_phone_the_panel_is_a_sheet_under_the_map(browser, server, city):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True)
    phone = context.new_page()
    watch = Watch(phone, server.url)
    try:
        ident, _, lat, lon = _parcel_view(city)
        _open(phone, server, f"lang=ar&z=18&ll={lat},{lon}&sel=parcels:{ident}")
        phone.get_by_role("button", name="فحص هذه القطعة").click()
        panel = phone.locator("#panel").bounding_box()
        assert panel["width"] >= 380 and panel["y"] > 300
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        phone.wait_for_timeout(400)
        ARTIFACTS.mkdir(exist_ok=True)
        phone.screenshot(path=str(ARTIFACTS / "webmap-phone-ar.png"))
    finally:
        context.close()
    watch.assert_clean()


def test_the_analysis_panel_runs_a_batch_and_draws_what_fails(page, server, city):
    if not server.worker:
        pytest.skip("`amanat serve --with-worker` is not available yet")
    with _db(city) as conn:
        code = conn.execute("SELECT code FROM districts ORDER BY id LIMIT 1").fetchone()[0]
    _open(page, server, "lang=en")
    page.get_by_role("button", name="Compliance analysis").click()
    page.locator("#an-district").select_option(code)
    if city[2]:
        page.locator("#an-token").fill(city[2])
    page.get_by_role("button", name="Run the analysis").click()
    expect(page.locator(".job-status")).to_contain_text("Finished", timeout=90_000)
    expect(page.locator(".downloads a")).to_have_count(3)
    expect(page.locator("table.findings, .summary .message").first).to_be_visible()
