"""The field app in a real phone browser (Debian's chromium through Playwright, offline).

One `amanat serve` on a scratch city; an office assigns licences to an inspector through the
API; the inspector signs in on a phone-sized touch screen, saves the area, goes offline,
records inspections with photos, reloads the app offline, and comes back online: each
inspection arrives exactly once with its photos (checked in the database). A licence changed
meanwhile is a conflict the inspector resolves; an expired token keeps the queue. Arabic (RTL,
the default) and English. Screenshots go to test-artifacts/.
"""
import io
import uuid

import httpx
import psycopg
import pytest
from PIL import Image

from tests.support.browser import ARTIFACTS, FLAGS, MapServer, require_chromium
from tests.support.databases import scratch_city

require_chromium()

from playwright.sync_api import expect, sync_playwright

pytestmark = pytest.mark.slow
PASSWORD = "a long field password"
# the browser's own log of a request made offline (or cut by the test)
NETWORK = ("net::ERR_INTERNET_DISCONNECTED", "net::ERR_CONNECTION_RESET")
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The server on a scratch city, an office and an inspector with passwords and tokens."""
    from geoserver.cli_auth import add_user_with_token

    tmp = tmp_path_factory.mktemp("field")
    with scratch_city(tmp) as (url, settings):
        server = MapServer(tmp, url, "--no-sample")
        server.settings, server.db_url, server.tmp = settings, url, tmp
        run = uuid.uuid4().hex[:6]
        server.inspector = f"insp-{run}"
        server.office = f"office-{run}"
        server.office_token = add_user_with_token(settings, server.office, "office", "ENG-1",
                                                  password=PASSWORD)
        server.admin_token = add_user_with_token(settings, f"admin-{run}", "admin", None)
        server.inspector_token = add_user_with_token(settings, server.inspector, "inspector",
                                                     None, password=PASSWORD)
        try:
            yield server
        finally:
            server.stop()


def _call(site, method: str, path: str, token: str, **kwargs) -> httpx.Response:
    return httpx.request(method, site.url + path, headers={
        "Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}, timeout=30, **kwargs)


def _licences(site, count: int) -> list[tuple[int, float, float]]:
    """New licences of the office (ENG-1), each assigned to the inspector."""
    with psycopg.connect(site.db_url) as conn:
        parcels = conn.execute(
            "SELECT id, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM parcels "
            "WHERE zoning_code = 'C1' ORDER BY id OFFSET %s LIMIT %s",
            [int(uuid.uuid4().int % 200), count]).fetchall()
    made = []
    for _, x, y in parcels:
        feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
                   "properties": {"license_no": f"LIC-F-{uuid.uuid4().hex[:8].upper()}",
                                  "isic_code": "4711", "trade_name_ar": "بقالة الميدان",
                                  "trade_name_en": f"Field Grocery {uuid.uuid4().hex[:4]}",
                                  "issue_date": "2024-01-01", "expiry_date": "2030-01-01",
                                  "shop_area_m2": 40, "holder_national_id": "1098765432",
                                  "holder_phone": "0551234567"}}
        created = _call(site, "POST", "/ogc/collections/licenses/items", site.office_token,
                        json=feature)
        assert created.status_code == 201, created.text
        fid = created.json()["id"]
        assigned = _call(site, "POST", "/field/api/assignments", site.office_token,
                         json={"license_id": fid, "inspector": site.inspector})
        assert assigned.status_code == 201, assigned.text
        made.append((fid, x, y))
    return made


def _photo(colour, size=(1200, 900)) -> dict:
    """A camera-like JPEG with EXIF (maker, GPS)."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneCam"
    exif[0x8825] = {1: "N", 2: (26.0, 25.0, 1.0), 3: "E", 4: (50.0, 5.0, 0.0)}
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", exif=exif, quality=95)
    return {"name": f"IMG_{colour[0]}.jpg", "mimeType": "image/jpeg", "buffer": out.getvalue()}


@pytest.fixture
def phone(site, tmp_path):
    """A persistent phone-sized touch profile (install criteria need a non-incognito one) with
    a GPS position near the first licence; console errors collected."""
    with sync_playwright() as playwright:
        import shutil

        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=shutil.which("chromium"), args=FLAGS,
            locale="ar-SA", permissions=["geolocation"],
            geolocation={"latitude": 26.43, "longitude": 50.1, "accuracy": 12}, **PHONE)
        page = context.pages[0] if context.pages else context.new_page()
        page.errors, page.outside = [], []
        page.on("console", lambda m: page.errors.append(m.text)
                if m.type == "error" and not any(n in m.text for n in NETWORK) else None)
        page.on("pageerror", lambda e: page.errors.append(f"uncaught: {e}"))
        page.on("request", lambda r: page.outside.append(r.url)
                if not r.url.startswith((site.url, "blob:", "data:")) else None)
        yield context, page
        context.close()
        assert page.outside == [], page.outside[:5]


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / f"field-{name}.png"))


def _sign_in(page, site, then: str = "licences") -> None:
    page.locator("#signin-user").fill(site.inspector)
    page.locator("#signin-password").fill(PASSWORD)
    page.locator("#signin-form button[type=submit]").tap()
    expect(page.locator(f"#view-{then}")).to_be_visible()


def _open_app(context, page, site, near) -> None:
    context.set_geolocation({"latitude": near[2], "longitude": near[1], "accuracy": 12})
    page.goto(f"{site.url}/field/")
    expect(page.locator("#view-signin")).to_be_visible()
    _sign_in(page, site)
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=20000)
    page.locator("#refresh").tap()
    expect(page.locator("#area-status")).to_contain_text("حُفظت المنطقة", timeout=60000)


def _record(page, licence_id: int, result: str, photos: list[dict], notes: str,
            double_tap: bool = False) -> None:
    page.locator("#tabs [data-view=licences]").tap()
    page.locator(f"[data-licence='{licence_id}']").first.tap()
    expect(page.locator("#view-details")).to_be_visible()
    page.locator("#inspect").tap()
    page.locator(f"input[name=result][value={result}]").check()
    if result == "violation":
        page.locator("input[name=violation][value=signage]").check()
    page.locator("#notes").fill(notes)
    page.locator("#photos").set_input_files(photos)
    expect(page.locator("#thumbs img")).to_have_count(len(photos), timeout=20000)
    if double_tap:
        page.locator("#save").dblclick()
    else:
        page.locator("#save").tap()
    expect(page.locator("#view-queue")).to_be_visible()


def _rows(site, notes: str) -> list[tuple]:
    with psycopg.connect(site.db_url) as conn:
        return conn.execute(
            "SELECT i.id, i.client_id, i.result, i.violations, (SELECT count(*) FROM "
            "inspection_photos p WHERE p.inspection_id = i.id) FROM inspections i "
            "WHERE i.notes = %s ORDER BY i.id", [notes]).fetchall()


def _queue_states(page) -> list[str]:
    return page.locator("#queue li").evaluate_all("els => els.map(e => e.dataset.state)")


def test_offline_inspections_arrive_once_with_photos(site, phone):
    context, page = phone
    licences = _licences(site, 2)
    _open_app(context, page, site, licences[0])
    assert page.evaluate("document.documentElement.dir") == "rtl"
    cdp = context.new_cdp_session(page)
    assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
    assert cdp.send("Page.getAppManifest")["errors"] == []
    expect(page.locator("#list-assigned li")).to_have_count(2)
    _shot(page, "licences-ar")

    context.set_offline(True)
    page.reload()
    expect(page.locator("#view-licences")).to_be_visible()      # the shell and data, offline
    expect(page.locator("#list-assigned li")).to_have_count(2)
    expect(page.locator("#net")).to_have_text("غير متصل", timeout=10000)
    marker = f"offline-{uuid.uuid4().hex[:6]}"
    _record(page, licences[0][0], "violation", [_photo((200, 0, 0)), _photo((0, 0, 200))],
            marker, double_tap=True)
    _record(page, licences[1][0], "compliant", [_photo((0, 150, 0))], marker)
    page.locator("#tabs [data-view=map]").tap()
    kept = page.evaluate("FieldStore.all('licences').then(l => l.length)")
    assert kept >= 2
    expect(page.locator("#map path.leaflet-interactive")).to_have_count(kept)
    expect(page.locator("#map canvas.leaflet-tile-loaded").first).to_be_attached()   # offline tiles
    _shot(page, "map-offline")
    page.reload()                                                # reload while offline
    page.locator("#tabs [data-view=queue]").tap()
    assert _queue_states(page) == ["pending", "pending"]
    assert _rows(site, marker) == []
    _shot(page, "queue-offline")

    lost = []

    def answer_lost(route):      # the first upload reaches the server, its answer is lost
        if not lost and route.request.method == "POST":
            lost.append(route.fetch().status)
            return route.abort("connectionreset")
        return route.continue_()

    page.route("**/ogc/collections/inspections/items", answer_lost)
    context.set_offline(False)                   # back online: the next probe sends them
    expect(page.locator("#queue li[data-state=sent]")).to_have_count(2, timeout=30000)
    assert lost == [201]                         # stored once, then replayed to the retry
    rows = _rows(site, marker)
    assert sorted((r[2], r[3], r[4]) for r in rows) == [("compliant", "", 1),
                                                        ("violation", "signage", 2)]
    keys = page.evaluate("""FieldStore.all('queue').then(items => items.map(i => i.key))""")
    assert sorted(r[1] for r in rows) == sorted(keys)
    with psycopg.connect(site.db_url) as conn:
        open_left = conn.execute("SELECT count(*) FROM inspection_assignments WHERE license_id "
                                 "= ANY(%s) AND closed_at IS NULL",
                                 [[l[0] for l in licences]]).fetchone()[0]
        shas = conn.execute("SELECT sha256 FROM inspection_photos WHERE inspection_id = ANY(%s)",
                            [[r[0] for r in rows]]).fetchall()
    assert open_left == 0
    for (sha,) in shas:
        stored = (site.tmp / "state" / "photos" / sha[:2] / f"{sha}.jpg").read_bytes()
        assert b"PhoneCam" not in stored and max(Image.open(io.BytesIO(stored)).size) <= 1600

    page.locator("#lang").tap()                                  # English
    assert page.evaluate("document.documentElement.dir") == "ltr"
    expect(page.locator("#sync-summary")).to_contain_text("sent 2")
    expect(page.locator("#queue li").first).to_contain_text("Sent")
    _shot(page, "queue-sent-en")
    assert page.errors == [], page.errors[:5]


def test_a_licence_changed_meanwhile_is_a_conflict(site, phone):
    context, page = phone
    licence = _licences(site, 1)[0]
    _open_app(context, page, site, licence)
    page.locator("#lang").tap()
    context.set_offline(True)
    marker = f"conflict-{uuid.uuid4().hex[:6]}"
    _record(page, licence[0], "compliant", [_photo((90, 90, 0))], marker)
    path = f"/ogc/collections/licenses/items/{licence[0]}"
    etag = _call(site, "GET", path, site.office_token).headers["etag"]
    changed = _call(site, "PATCH", path, site.office_token, json={"properties": {
        "status": "suspended"}}, headers={"If-Match": etag,
                                          "Content-Type": "application/merge-patch+json"})
    assert changed.status_code == 200, changed.text
    context.set_offline(False)
    item = page.locator("#queue li[data-state=conflict]")
    expect(item).to_contain_text("status now: suspended", timeout=30000)
    assert _rows(site, marker) == []
    _shot(page, "conflict-en")
    item.locator("[data-act=force]").tap()
    expect(page.locator("#queue li[data-state=sent]")).to_have_count(1, timeout=30000)
    assert len(_rows(site, marker)) == 1
    assert page.errors == [], page.errors[:5]


def test_an_expired_token_keeps_the_queue_and_asks_for_a_sign_in(site, phone):
    from geoserver.identity import LocalIssuer

    context, page = phone
    licence = _licences(site, 1)[0]
    _open_app(context, page, site, licence)
    context.set_offline(True)
    marker = f"expired-{uuid.uuid4().hex[:6]}"
    _record(page, licence[0], "not_found", [], marker)
    expired = LocalIssuer(site.settings.auth, site.settings.server.state_dir).issue(
        site.inspector, "inspector", None, seconds=-60)   # beyond the 30 s leeway
    page.evaluate("""t => { const s = FieldStore.session(); s.token = t;
                            FieldStore.saveSession(s); }""", expired)
    context.set_offline(False)
    expect(page.locator("#view-signin")).to_be_visible(timeout=30000)
    expect(page.locator("#notice")).to_contain_text("انتهت الجلسة")
    assert _rows(site, marker) == []
    assert page.evaluate("FieldStore.all('queue').then(q => q.map(i => i.state))") == ["pending"]
    _shot(page, "expired-ar")
    _sign_in(page, site, then="queue")             # back where the work waits
    expect(page.locator("#queue li[data-state=sent]")).to_have_count(1, timeout=30000)
    assert len(_rows(site, marker)) == 1
    # the failed 401 is the one console error the browser reports for it
    assert all("401" in e for e in page.errors), page.errors[:5]


def test_a_deleted_licence_and_a_file_that_is_no_image_are_said_and_nothing_is_lost(site, phone):
    context, page = phone
    kept, gone = _licences(site, 2)
    _open_app(context, page, site, kept)
    page.locator("#lang").tap()
    context.set_offline(True)
    page.locator("#tabs [data-view=licences]").tap()
    page.locator(f"[data-licence='{kept[0]}']").first.tap()
    page.locator("#inspect").tap()
    page.locator("#photos").set_input_files([{"name": "notes.txt", "mimeType": "text/plain",
                                              "buffer": b"not a photo"}])
    expect(page.locator("#form-errors")).to_contain_text("notes.txt is not an image")
    expect(page.locator("#thumbs img")).to_have_count(0)
    page.locator("#save").tap()                                 # no result chosen
    expect(page.locator("#form-errors")).to_contain_text("Choose a result")
    assert page.evaluate("FieldStore.all('queue').then(q => q.length)") == 0
    marker = f"deleted-{uuid.uuid4().hex[:6]}"
    _record(page, gone[0], "closed", [_photo((1, 2, 3))], marker)
    path = f"/ogc/collections/licenses/items/{gone[0]}"
    etag = _call(site, "GET", path, site.admin_token).headers["etag"]
    deleted = _call(site, "DELETE", path, site.admin_token, headers={"If-Match": etag})
    assert deleted.status_code == 204, deleted.text
    context.set_offline(False)
    failed = page.locator("#queue li[data-state=failed]")
    expect(failed).to_contain_text("The licence was deleted from the system", timeout=30000)
    expect(failed.locator("[data-act=retry]")).to_be_visible()  # kept until discarded
    assert _rows(site, marker) == []
    _shot(page, "deleted-en")
    failed.locator("[data-act=discard]").tap()
    expect(page.locator("#queue li")).to_have_count(0)
    assert all("404" in e for e in page.errors), page.errors[:5]   # the deleted licence's GET


def test_an_office_assigns_and_withdraws_on_its_page(site, phone):
    _, page = phone
    licence = _licences(site, 1)[0][0]
    with psycopg.connect(site.db_url) as conn:     # _licences assigned it: withdraw that first
        conn.execute("DELETE FROM inspection_assignments WHERE license_id = %s", [licence])
        number = conn.execute("SELECT license_no FROM licenses WHERE id = %s",
                              [licence]).fetchone()[0]
    page.goto(f"{site.url}/field/assign?lang=en")
    assert page.evaluate("document.documentElement.dir") == "ltr"
    page.locator("#signin-user").fill(site.office)
    page.locator("#signin-password").fill(PASSWORD)
    page.locator("#signin-form button[type=submit]").tap()
    page.locator("#a-licence").fill(str(licence))
    page.locator("#a-inspector").fill(site.inspector)
    page.locator("#a-due").fill("2030-06-30")
    page.locator("#assign-form button[type=submit]").tap()
    expect(page.locator("#assign-status")).to_have_text("Assigned")
    row = page.locator("#assignments li", has_text=number)
    expect(row).to_contain_text("2030-06-30")
    page.locator("#assign-form button[type=submit]").tap()     # the same again: refused
    expect(page.locator("#assign-status")).to_contain_text("already assigned")
    with psycopg.connect(site.db_url) as conn:
        count = conn.execute("SELECT count(*) FROM inspection_assignments WHERE license_id = %s "
                             "AND closed_at IS NULL", [licence]).fetchone()[0]
    assert count == 1
    page.goto(f"{site.url}/field/assign")                      # Arabic
    assert page.evaluate("document.documentElement.dir") == "rtl"
    page.locator("#assignments li", has_text=number).locator("button").tap()
    expect(page.locator("#assignments li", has_text=number)).to_have_count(0)
    _shot(page, "assign-ar")
    with psycopg.connect(site.db_url) as conn:
        assert conn.execute("SELECT count(*) FROM inspection_assignments WHERE license_id = %s",
                            [licence]).fetchone()[0] == 0
    assert all("409" in e for e in page.errors), page.errors[:5]


def test_a_full_device_says_so_and_keeps_what_it_has(site, phone):
    context, page = phone
    licence = _licences(site, 1)[0]
    _open_app(context, page, site, licence)
    context.set_offline(True)
    marker = f"kept-{uuid.uuid4().hex[:6]}"
    _record(page, licence[0], "compliant", [], marker)
    before = page.evaluate("Promise.all([FieldStore.all('queue'), FieldStore.all('licences')])"
                           ".then(([q, l]) => [q.length, l.length])")
    # the device's storage is full: IndexedDB refuses every new write from now on
    page.evaluate("""() => {
      const full = () => Promise.reject(new DOMException('full', 'QuotaExceededError'));
      FieldStore.put = full; FieldStore.replaceLicences = full; }""")
    page.locator("#tabs [data-view=licences]").tap()
    page.locator(f"[data-licence='{licence[0]}']").first.tap()
    page.locator("#inspect").tap()
    page.locator("input[name=result][value=violation]").check()
    page.locator("#save").tap()
    expect(page.locator("#form-errors")).to_contain_text("مساحة الجهاز ممتلئة")
    expect(page.locator("#view-form")).to_be_visible()            # the form stays filled in
    assert page.locator("input[name=result][value=violation]").is_checked()
    context.set_offline(False)
    page.locator("#tabs [data-view=licences]").tap()
    page.locator("#refresh").tap()
    expect(page.locator("#area-status")).to_contain_text("مساحة الجهاز ممتلئة")
    after = page.evaluate("Promise.all([FieldStore.all('queue'), FieldStore.all('licences')])"
                          ".then(([q, l]) => [q.length, l.length])")
    assert after == before
    _shot(page, "quota-ar")
    expect(page.locator("#sync-chip")).to_have_attribute("data-pending", "1")
    page.wait_for_timeout(6000)                 # a probe and a sync run with the device full
    assert len(_rows(site, marker)) == 1        # sent all the same (the state not writable)
    assert not [e for e in page.errors if "uncaught" in e], page.errors[:5]
