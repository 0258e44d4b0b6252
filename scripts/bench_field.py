"""The field app's figures (issue 18), in headless Chromium against its own server on a scratch
copy of the sample city (tests.support: `amanat serve`, a scratch database):

1. cold load of the app shell on throttled networks (CDP Network.emulateNetworkConditions, empty
   profile: nothing cached, no service worker yet): WebPageTest's "3G Slow" (400 kbit/s each
   way, 400 ms RTT) and Chrome DevTools' "Slow 3G" preset (400 kbit/s, 2,000 ms per request);
   the time until the sign-in form can be used (DOMContentLoaded: deferred scripts ran) and the
   load event, from the navigation's start; and the warm load (service worker, offline);
2. the offline package of one district: every licence of the district with the most licences
   assigned to the inspector, "Refresh my area" (licences to IndexedDB, vector tiles z14-z17 of
   their bounds to Cache Storage); navigator.storage.estimate() before and after, tiles kept;
3. sync of 20 inspections queued offline, 2 photos each (1600x1200 JPEG made on the device's
   canvas from noise, ~0.3-0.5 MB each), over loopback: from going online to the last one sent.

    TEST_DATABASE_URL=postgresql://... python scripts/bench_field.py
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.browser import FLAGS, MapServer
from tests.support.databases import scratch_city

PASSWORD = "a long benchmark password"
PROFILES = {"3G Slow (WebPageTest: 400 kbit/s, 400 ms RTT)": (400, 400),
            "Slow 3G (DevTools preset: 400 kbit/s, 2000 ms)": (2000, 400)}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
TIMING = """() => { const n = performance.getEntriesByType('navigation')[0];
  const r = performance.getEntriesByType('resource');
  return {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd, requests: r.length + 1,
          bytes: n.transferSize + r.reduce((s, e) => s + e.transferSize, 0)}; }"""
QUEUE = """async ([count, photos]) => {
  const licences = await FieldStore.all('licences');
  const blobs = [];
  for (let p = 0; p < photos; p++) {
    const c = document.createElement('canvas'); c.width = 1600; c.height = 1200;
    const g = c.getContext('2d'), img = g.createImageData(1600, 1200);
    for (let i = 0; i < img.data.length; i++) { img.data[i] = (i * 7919 + p * 104729) % 251; }
    g.putImageData(img, 0, 0);
    blobs.push(await new Promise(r => c.toBlob(r, 'image/jpeg', 0.82)));
  }
  for (let i = 0; i < count; i++) {
    const l = licences[i % licences.length];
    await FieldStore.put('queue', {key: crypto.randomUUID(), licenceId: l.id, licenceEtag: l.etag,
      licenceName: l.license_no, created: Date.now() + i, state: 'pending', reason: '',
      photos: blobs.slice(), photoCount: blobs.length,
      feature: {type: 'Feature', geometry: {type: 'Point', coordinates: [l.lon, l.lat]},
        properties: {license_id: l.id, visited_at: new Date().toISOString(),
                     result: 'compliant', notes: 'bench ' + i, violations: ''}}});
  }
  return blobs.map(b => b.size);
}"""


def _context(playwright, profile: Path, **extra):
    return playwright.chromium.launch_persistent_context(
        str(profile), executable_path=shutil.which("chromium"), args=FLAGS, locale="ar-SA",
        **PHONE, **extra)


def cold_loads(playwright, site, tmp: Path) -> dict:
    """Shell load figures per network profile (fresh profile each)."""
    figures = {}
    for name, (latency, kbits) in PROFILES.items():
        runs = []
        for attempt in range(3):
            context = _context(playwright, tmp / f"cold-{latency}-{attempt}")
            page = context.pages[0]
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            rate = kbits * 1000 / 8
            cdp.send("Network.emulateNetworkConditions", {
                "offline": False, "latency": latency, "downloadThroughput": rate,
                "uploadThroughput": rate})
            page.goto(f"{site.url}/field/", wait_until="load")
            runs.append(page.evaluate(TIMING))
            context.close()
        runs.sort(key=lambda r: r["load"])
        figures[name] = runs[1]                 # the median of 3
    return figures


def _assign_district(site, inspector: str) -> tuple[str, int]:
    """Assign every licence of the busiest district to the inspector (as an admin)."""
    with psycopg.connect(site.db_url) as conn:
        code, ids = conn.execute(
            "SELECT d.code, array_agg(l.id) FROM licenses l JOIN parcels p ON p.id = l.parcel_id "
            "JOIN districts d ON d.id = p.district_id GROUP BY d.code ORDER BY count(*) DESC "
            "LIMIT 1").fetchone()
        conn.execute("INSERT INTO inspection_assignments (license_id, inspector, assigned_by) "
                     "SELECT unnest(%s::bigint[]), %s, 'bench'", [ids, inspector])
    return code, len(ids)


def district_and_sync(playwright, site, tmp: Path, inspector: str) -> dict:
    """Offline package of one district, then the sync of 20 queued inspections."""
    district, count = _assign_district(site, inspector)
    context = _context(playwright, tmp / "inspector")
    page = context.pages[0]
    page.goto(f"{site.url}/field/")
    page.locator("#signin-user").fill(inspector)
    page.locator("#signin-password").fill(PASSWORD)
    page.locator("#signin-form button[type=submit]").click()
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=30000)
    before = page.evaluate("navigator.storage.estimate().then(e => e.usage)")
    started = time.perf_counter()
    page.locator("#refresh").click()
    page.wait_for_function("document.getElementById('area-status').textContent.includes('حُفظت')",
                           timeout=600000)
    area_s = time.perf_counter() - started
    after = page.evaluate("navigator.storage.estimate().then(e => e.usage)")
    kept = page.evaluate("""caches.open('field-tiles').then(c => c.keys()).then(async keys => {
        const c = await caches.open('field-tiles'); let bytes = 0;
        for (const k of keys) { bytes += (await (await c.match(k)).arrayBuffer()).byteLength; }
        return [keys.length, bytes]; })""")
    licences_json = len(json.dumps(page.evaluate("FieldStore.all('licences')")).encode())
    warm = _warm_offline(context, page, site)
    context.set_offline(True)
    sizes = page.evaluate(QUEUE, [20, 2])
    context.set_offline(False)
    started = time.perf_counter()
    page.evaluate("FieldApp.sync()")
    page.wait_for_function("FieldStore.all('queue').then(q => q.every(i => i.state === 'sent'))",
                           timeout=120000, polling=100)
    sync_s = time.perf_counter() - started
    with psycopg.connect(site.db_url) as conn:
        stored = conn.execute("SELECT count(*), (SELECT count(*) FROM inspection_photos p JOIN "
                              "inspections i ON i.id = p.inspection_id WHERE i.notes LIKE "
                              "'bench %%') FROM inspections WHERE notes LIKE 'bench %%'"
                              ).fetchone()
    context.close()
    return {"district": district, "licences": count, "area_download_s": round(area_s, 2),
            "storage_bytes": after - before, "tiles": kept[0], "tile_bytes": kept[1],
            "licences_json_bytes": licences_json, "warm_offline_load_ms": warm,
            "photo_bytes": sizes, "sync_20_s": round(sync_s, 2), "stored": stored}


def _warm_offline(context, page, site) -> float:
    """The shell's load from the service worker with the network off (ms, load event)."""
    context.set_offline(True)
    page.goto(f"{site.url}/field/", wait_until="load")
    timing = page.evaluate(TIMING)
    context.set_offline(False)
    return round(timing["load"], 1)


def main() -> None:
    """Start a server on a scratch city, measure, print the figures as JSON."""
    from geoserver.cli_auth import add_user_with_token

    tmp = Path(tempfile.mkdtemp(prefix="bench-field-"))
    with scratch_city(tmp) as (url, settings):
        site = MapServer(tmp, url, "--no-sample")
        site.db_url = url
        try:
            inspector = f"bench-{uuid.uuid4().hex[:6]}"
            add_user_with_token(settings, inspector, "inspector", None, password=PASSWORD)
            assert httpx.get(f"{site.url}/field/").status_code == 200
            with sync_playwright() as playwright:
                figures = {"cold": cold_loads(playwright, site, tmp),
                           **district_and_sync(playwright, site, tmp, inspector)}
        finally:
            site.stop()
    print(json.dumps(figures, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
