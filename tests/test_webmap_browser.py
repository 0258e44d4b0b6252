"""The web map in a real browser (Debian's chromium driven by Playwright, headless, offline).

One server (`amanat serve`) on a scratch database holding the small sample city with its sample
imagery; every request that would leave 127.0.0.1 is aborted and fails the test, and so does
any console error. Screenshots are written to test-artifacts/.
"""
import re
import subprocess
import time

import psycopg
import pytest

from tests.support.browser import ARTIFACTS, MapServer, Watch, require_chromium
from tests.support.databases import scratch_city
from tests.support.server import AMANAT, ROOT, env

require_chromium()

from playwright.sync_api import expect  # noqa: E402 (after its skip checks)

pytestmark = pytest.mark.slow
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

    tmp = tmp_path_factory.mktemp("webmap")
    with scratch_city(tmp) as (url, settings):
        generate_sample_imagery(settings, progress=False, panorama_limit=PANORAMAS)
        yield url, tmp, _analyst_token(settings)


@pytest.fixture(scope="module")
def server(city):
    """`amanat serve` (with a job worker when the command has one) on the scratch city."""
    url, tmp, _ = city
    extra = ["--with-worker"] if _serve_supports_worker() else []
    running = MapServer(tmp, url, "--no-sample", *extra)
    running.worker = bool(extra)
    yield running
    running.stop()


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


def test_street_view_opens_the_nearest_panorama(page, server, city):
    with _db(city) as conn:
        ident, panorama = conn.execute("""
            SELECT p.id, (SELECT v.id FROM panoramas v, LATERAL (SELECT ST_Transform(ST_Centroid(
                            ST_Envelope(p.geom)), 32639) AS c) a
                          ORDER BY v.geom_utm <-> a.c, v.captured_at DESC, v.id LIMIT 1)
            FROM parcels p, panoramas v WHERE ST_DWithin(p.geom_utm, v.geom_utm, 20)
            ORDER BY ST_Distance(p.geom_utm, v.geom_utm), p.id LIMIT 1""").fetchone()
    _open(page, server, f"lang=en&z=18&ll=26.38,50.12&sel=parcels:{ident}")
    page.get_by_role("button", name="Street view").click()
    expect(page.locator(".psv-container")).to_be_visible(timeout=20_000)
    expect(page.locator(".sv-caption")).to_contain_text("Captured")
    expect(page.locator(".streetview")).to_have_attribute("data-panorama", str(panorama))


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


# Districts: clicking where no parcel, licence or facility is

def _district_spot(city) -> tuple:
    """(id, name_en, name_ar, municipality_en, lat, lon, parcels) of a district and the point in
    it farthest from any facility (of 40 random ones): at zoom 13 nothing else is clickable
    there, the nearest facility being more than 10 px (about 170 m) away."""
    with _db(city) as conn:
        *spot, away = conn.execute("""
            SELECT d.id, d.name_en, d.name_ar, m.name_en, ST_Y(s.pt), ST_X(s.pt),
                   (SELECT count(*) FROM parcels p WHERE p.district_id = d.id),
                   (SELECT min(ST_Distance(f.geom_utm, ST_Transform(s.pt, 32639)))
                      FROM facilities f) AS away
            FROM districts d JOIN municipalities m ON m.id = d.municipality_id,
            LATERAL (SELECT (ST_Dump(ST_GeneratePoints(d.geom, 40, 1))).geom AS pt) s
            ORDER BY away DESC, d.id LIMIT 1""").fetchone()
    assert away > 250
    return tuple(spot)


def _district_popup_loaded(page):
    popup = page.locator(".leaflet-popup-content .popup-district")
    expect(popup).to_have_attribute("data-loaded", "true")
    return popup


def test_clicking_inside_a_district_opens_its_facts_and_keeps_it_in_the_url(page, server, city):
    ident, name, _, municipality, lat, lon, parcels = _district_spot(city)
    _open(page, server, f"lang=en&z=13&ll={lat:.6f},{lon:.6f}")
    started = time.perf_counter()
    page.locator(".folium-map").click()
    popup = _district_popup_loaded(page)
    elapsed_ms = (time.perf_counter() - started) * 1000
    expect(popup.locator("h3")).to_have_text(name)
    expect(popup).to_contain_text(municipality)
    expect(popup).to_contain_text("km²")
    expect(popup).to_contain_text(" ha)")
    expect(popup.locator("dd").nth(3)).to_have_text(f"{parcels:,}")
    expect(popup).to_contain_text("active")
    assert f"sel=districts%3A{ident}" in page.url
    timings = page.evaluate("""performance.getEntriesByType('resource')
        .filter(e => /collections\\/districts\\/items\\?|\\/districts\\/[0-9]+$/.test(e.name))
        .map(e => Math.round(e.duration))""")
    print(f"district click: popup complete after {elapsed_ms:.0f} ms; requests {timings} ms")
    assert len(timings) == 2 and elapsed_ms < 3000
    popup.get_by_role("button", name="Zoom to district").click()
    page.wait_for_timeout(600)
    assert page.evaluate("Amanat.state.map.getZoom()") >= 15
    assert page.evaluate("Amanat.state.map.getBounds().contains(Amanat.state.selection"
                         ".getBounds())")            # the whole district, outlined
    assert f"sel=districts%3A{ident}" in page.url


def test_a_district_popup_from_the_url_is_arabic_and_works_by_keyboard(page, server, city):
    ident, _, name_ar, _, lat, lon, _ = _district_spot(city)
    _open(page, server, f"lang=ar&z=13&ll={lat:.6f},{lon:.6f}&sel=districts:{ident}")
    popup = _district_popup_loaded(page)
    expect(popup.locator("h3")).to_have_text(name_ar)
    expect(popup).to_contain_text("البلدية")
    expect(popup).to_contain_text("كم²")
    expect(page.locator(".leaflet-popup-close-button")).to_have_attribute("aria-label", "إغلاق")
    expect(popup.locator("h3")).to_be_focused()
    page.wait_for_timeout(400)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "webmap-district-popup-ar.png"))
    page.keyboard.press("Tab")
    expect(popup.get_by_role("button", name="تكبير إلى الحي")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_timeout(600)
    assert page.evaluate("Amanat.state.map.getZoom()") >= 15
    _open(page, server, f"lang=ar&z=13&ll={lat:.6f},{lon:.6f}&sel=districts:{ident}")
    _district_popup_loaded(page)
    page.keyboard.press("Escape")
    expect(page.locator(".leaflet-popup")).to_have_count(0)
    expect(page.locator(".folium-map")).to_be_focused()
    assert "sel=" not in page.url


def test_a_district_chosen_in_the_search_opens_its_popup(page, server, city):
    ident, name, *_ = _district_spot(city)
    _open(page, server, "lang=en")
    page.locator("#search-input").fill(name)
    expect(page.locator(".search-result").first).to_have_attribute("data-kind", "district")
    page.locator("#search-input").press("Enter")
    expect(_district_popup_loaded(page).locator("h3")).to_have_text(name)
    assert f"sel=districts%3A{ident}" in page.url


# Licences by any part of their number

def test_a_licence_found_by_the_last_digits_of_its_number_opens_its_popup(page, server, city):
    with _db(city) as conn:
        number, name = conn.execute("SELECT license_no, trade_name_en FROM licenses"
                                    " ORDER BY id DESC LIMIT 1").fetchone()
    _open(page, server, "lang=en")
    page.locator("#search-input").fill(number[-4:])       # "0271" of LIC-2024-000271
    first = page.locator(".search-result").first
    expect(first).to_have_attribute("data-kind", "license")
    expect(first.locator(".result-context")).to_contain_text(number)
    first.click()
    popup = page.locator(".leaflet-popup-content")
    expect(popup.locator("h3")).to_have_text(name)
    expect(popup).to_contain_text(number)


# Street view: arrows to panoramas a few metres away

CLOSE_SHOTS = (   # (name, metres east, metres north, capture time in Riyadh)
    ("p0", 0.0, 0.0, "2026-02-01T08:00:00+03:00"),
    ("p1", 6.0, 0.0, "2026-02-01T08:00:04+03:00"),     # next in p0's sequence
    ("p2", 0.0, 7.0, "2026-04-15T10:30:00+03:00"),     # another day, another sequence
)


@pytest.fixture(scope="module")
def close_panoramas(city, server):
    """Three panoramas a few metres apart beside a parcel far from the sample ones, ingested
    with `amanat panoramas ingest` into the server's store: {name: id}, and that parcel's id."""
    import datetime as dt

    from data import panoramas as scenes
    from panoramas.metadata import Capture

    url, tmp, _ = city
    folder = tmp / "close-camera"
    folder.mkdir()
    with _db(city) as conn:
        parcel, x, y = conn.execute("""
            SELECT p.id, ST_X(c), ST_Y(c) FROM parcels p,
              LATERAL (SELECT ST_Transform(ST_Centroid(ST_Envelope(p.geom)), 32639) AS c) a
            WHERE NOT EXISTS (SELECT 1 FROM panoramas v WHERE ST_DWithin(v.geom_utm, c, 300))
            ORDER BY p.id LIMIT 1""").fetchone()
        for name, east, north, when in CLOSE_SHOTS:
            lon, lat = conn.execute("SELECT ST_X(g), ST_Y(g) FROM ST_Transform(ST_SetSRID("
                                    "ST_MakePoint(%s, %s), 32639), 4326) g",
                                    [x + east, y + north]).fetchone()
            scene = scenes.surroundings(conn, {"x": x + east, "y": y + north}, seed=5)
            rgb = scenes.render(scene, 0.0, 1024, seed=int(east * 10 + north))
            scenes.write_image(folder / f"{name}.jpg", rgb, Capture(
                lon, lat, 0.0, dt.datetime.fromisoformat(when), "Test 360cam", 1024, 512))
    done = subprocess.run([*AMANAT, "panoramas", "ingest", str(folder)], cwd=ROOT,
                          env=env(tmp, url), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    with _db(city) as conn:
        ids = dict(conn.execute("SELECT name, v.id FROM panoramas v JOIN unnest(%s::text[], "
                                "%s::float8[], %s::float8[]) AS s(name, e, n) ON ST_DWithin("
                                "v.geom_utm, ST_SetSRID(ST_MakePoint(%s + s.e, %s + s.n), 32639),"
                                " 0.05)", [[s[0] for s in CLOSE_SHOTS], [s[1] for s in CLOSE_SHOTS],
                                           [s[2] for s in CLOSE_SHOTS], x, y]).fetchall())
    assert set(ids) == {"p0", "p1", "p2"}, done.stdout
    return ids, parcel


def _viewing(page) -> int:
    return int(page.locator(".streetview").get_attribute("data-panorama"))


def test_street_view_arrows_lead_to_the_neighbouring_panoramas(page, server, city,
                                                               close_panoramas):
    ids, parcel = close_panoramas
    _open(page, server, f"lang=en&z=19&ll=26.38,50.12&sel=parcels:{parcel}")
    page.get_by_role("button", name="Street view").click()
    expect(page.locator(".psv-container")).to_be_visible(timeout=20_000)
    expect(page.locator(".streetview")).to_have_attribute("data-panorama", str(ids["p0"]))
    caption = page.locator(".sv-caption")
    expect(caption).to_contain_text("1 February 2026")
    buttons = page.locator(".sv-go")
    expect(buttons).to_have_count(2)
    expect(buttons.filter(has_text="Next in sequence")).to_have_attribute(
        "data-target", str(ids["p1"]))
    expect(buttons.filter(has_text="Go north (7 m)")).to_have_attribute(
        "data-target", str(ids["p2"]))
    arrow = page.locator(f"#psv-marker-to-{ids['p2']}")     # straight ahead: the camera faces north
    expect(arrow).to_be_visible()
    expect(page.locator(f"#psv-marker-to-{ids['p1']}")).to_be_attached()
    page.wait_for_timeout(500)
    arrow.click()
    expect(page.locator(".streetview")).to_have_attribute("data-panorama", str(ids["p2"]))
    expect(caption).to_contain_text("15 April 2026")
    expect(buttons.filter(has_text="Go south (7 m)")).to_have_attribute(
        "data-target", str(ids["p0"]))
    expect(buttons.filter(has_text="Go south-east (9 m)")).to_have_attribute(
        "data-target", str(ids["p1"]))
    page.wait_for_timeout(800)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "webmap-street-view-moved-north.png"))
    buttons.filter(has_text="Go south (7 m)").focus()
    page.keyboard.press("Enter")                            # the same move by keyboard
    expect(page.locator(".streetview")).to_have_attribute("data-panorama", str(ids["p0"]))
    expect(caption).to_contain_text("1 February 2026")
    camera = page.evaluate("Amanat.state.evidence.getLayers().map(l => l.getLatLng())")
    with _db(city) as conn:
        lat, lon = conn.execute("SELECT ST_Y(geom), ST_X(geom) FROM panoramas WHERE id = %s",
                                [ids["p0"]]).fetchone()
    assert len(camera) == 1 and abs(camera[0]["lat"] - lat) + abs(camera[0]["lng"] - lon) < 1e-6


def test_street_view_speaks_arabic(page, server, close_panoramas):
    ids, parcel = close_panoramas
    _open(page, server, f"lang=ar&z=19&ll=26.38,50.12&sel=parcels:{parcel}")
    page.get_by_role("button", name="صور الشارع").click()
    expect(page.locator(".psv-container")).to_be_visible(timeout=20_000)
    expect(page.locator(".sv-caption")).to_contain_text("تاريخ الالتقاط")
    expect(page.locator(".sv-go").filter(has_text="انتقل شمالاً (7 م)")).to_have_attribute(
        "data-target", str(ids["p2"]))
    expect(page.locator(".psv-fullscreen-button")).to_have_attribute("title", "ملء الشاشة")
    expect(page.locator(".psv-zoom-button").first).to_have_attribute("title", "تصغير")


def test_an_api_error_is_shown_in_the_pages_language_whatever_the_browser_prefers(browser,
                                                                                   server):
    context = browser.new_context(locale="en-GB", extra_http_headers={"Accept-Language": "en"})
    page = context.new_page()
    watch = Watch(page, server.url)
    try:
        for lang, expected in (("ar", "يجب أن يكون bbox أربعة أرقام أو ستة"),
                               ("en", "bbox must be 4 or 6 comma-separated numbers")):
            _open(page, server, f"lang={lang}")
            said = page.evaluate("Amanat.fetchJSON('/ogc/collections/parcels/items?bbox=1,2,3')"
                                 ".then(() => 'no error', (e) => e.status + ' ' + e.message)")
            assert said.startswith("400 ") and expected in said, said
    finally:
        context.close()
    assert watch.external == []   # (the 400 itself is logged to the console, as it should)
