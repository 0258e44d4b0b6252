"""First render of the web map in headless Debian Chromium against a running server.

For each view (a URL of the map page), a fresh browser context (empty browser cache) opens the
page and waits until the network is idle; the figure is the end of the last response, from the
navigation start (Resource Timing), which is when the map has everything it draws. Each view is
opened twice: "cold" (first time this server sees those tiles: its tile cache is empty for them)
and "warm". Also reported: responses, bytes, the largest response (target: none over 1 MB) and a
timeline of the slowest cold view (page, scripts, first and last tile).

    python scripts/bench_webmap.py --url http://127.0.0.1:8090 [--lon 50.09 --lat 26.4046]
"""
from __future__ import annotations

import argparse
import shutil
import statistics

from playwright.sync_api import sync_playwright

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
TIMING = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource');
  const tiles = res.filter(e => e.name.includes('/tiles/'));
  const scripts = res.filter(e => e.initiatorType === 'script' || e.name.endsWith('.js'));
  const end = list => list.length ? Math.max(...list.map(e => e.responseEnd)) : 0;
  return {page: nav.responseEnd, dcl: nav.domContentLoadedEventEnd, scripts: end(scripts),
          firstTile: tiles.length ? Math.min(...tiles.map(e => e.startTime)) : 0,
          lastTile: end(tiles), last: Math.max(end(res), nav.loadEventEnd),
          tiles: tiles.length, tileMs: tiles.map(e => e.responseEnd - e.startTime)};
}"""


def views(lon: float, lat: float) -> dict[str, str]:
    """The views measured: the whole city (Arabic), parcels at z16 and z18 (Arabic, English)."""
    return {"whole city": "lang=ar",
            "z16 parcels": f"lang=ar&z=16&ll={lat},{lon}",
            "z18": f"lang=en&z=18&ll={lat},{lon}"}


def open_view(browser, url: str) -> dict:
    """Open the page in a new context; timings, sizes and console errors."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    sizes, errors = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    def on_response(response):
        try:
            sizes.append((len(response.body()), response.url.split("?")[0]))
        except Exception:   # a response without a body (204, redirect)
            sizes.append((0, response.url))
    page.on("response", on_response)
    page.goto(url)
    page.wait_for_load_state("networkidle")
    timing = page.evaluate(TIMING)
    context.close()
    return {**timing, "responses": len(sizes), "bytes": sum(s for s, _ in sizes),
            "largest": max(sizes), "errors": errors}


def main() -> None:
    """Measure every view cold then warm and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--lon", type=float, default=50.0900)
    parser.add_argument("--lat", type=float, default=26.4046)
    args = parser.parse_args()
    results = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS)
        for run in ("cold", "warm"):
            for name, query in views(args.lon, args.lat).items():
                results[run, name] = open_view(browser, f"{args.url}/?{query}")
        browser.close()
    print(f"{'view':12} {'cold ms':>8} {'warm ms':>8} {'responses':>9} {'MB':>5} "
          f"{'tiles':>5} {'largest':>30} errors")
    for name in views(args.lon, args.lat):
        cold, warm = results["cold", name], results["warm", name]
        size, where = cold["largest"]
        print(f"{name:12} {cold['last']:8.0f} {warm['last']:8.0f} {cold['responses']:9d} "
              f"{cold['bytes'] / 1e6:5.2f} {cold['tiles']:5d} "
              f"{size / 1e3:7.1f} kB {where.rsplit('/', 1)[-1][:19]:>19} "
              f"{len(cold['errors']) + len(warm['errors'])}")
    name, slowest = max(((n, r) for (run, n), r in results.items() if run == "cold"),
                        key=lambda item: item[1]["last"])
    tile_ms = slowest["tileMs"] or [0]
    print(f"slowest cold view ({name}), ms from navigation start: page {slowest['page']:.0f}, "
          f"scripts {slowest['scripts']:.0f}, DOMContentLoaded {slowest['dcl']:.0f}, first tile "
          f"asked {slowest['firstTile']:.0f}, last tile {slowest['lastTile']:.0f}; "
          f"per tile median {statistics.median(tile_ms):.0f}, max {max(tile_ms):.0f}")


if __name__ == "__main__":
    main()
