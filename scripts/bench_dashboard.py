"""First render of the management dashboard (/dashboard) in headless Debian Chromium against a
running server (issue 16's benchmark: <= 1 s).

Each run opens the page in a fresh browser context (empty browser cache) and waits for the
page's own mark `amanat-dashboard-drawn` (set by dashboard.js once the choropleth, the four
charts and the tables are drawn from the /indicators answers); the figure is that mark's time
from the navigation start. The first run is "cold" for the server (its indicator cache may need
computing); the rest are "warm". Also reported: responses, bytes, the slowest sub-request.

    python scripts/bench_dashboard.py --url http://127.0.0.1:8090 [--runs 10] [--lang ar]
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
  const drawn = performance.getEntriesByName('amanat-dashboard-drawn')[0];
  const res = performance.getEntriesByType('resource');
  const slowest = res.reduce((a, e) => (e.duration > (a ? a.duration : -1) ? e : a), null);
  return {page: nav.responseEnd, dcl: nav.domContentLoadedEventEnd, drawn: drawn.startTime,
          responses: res.length + 1,
          bytes: res.reduce((a, e) => a + e.transferSize, nav.transferSize),
          slowest: slowest ? [slowest.name.split('/').slice(3).join('/'), slowest.duration] : null};
}"""


def open_once(browser, url: str) -> dict:
    """Open the page in a new context; its timings (ms) and console errors."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    page.locator("body[data-loaded='1']").wait_for(timeout=60000)
    timing = page.evaluate(TIMING)
    context.close()
    return {**timing, "errors": errors}


def main() -> None:
    """Measure and print the first render of /dashboard."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8090")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--lang", default="ar", choices=["ar", "en"])
    args = parser.parse_args()
    url = f"{args.url.rstrip('/')}/dashboard?lang={args.lang}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS)
        runs = [open_once(browser, url) for _ in range(args.runs)]
        browser.close()
    cold, warm = runs[0], runs[1:] or runs
    drawn = [r["drawn"] for r in warm]
    print(f"cold: drawn {cold['drawn']:.0f} ms (HTML {cold['page']:.0f} ms, "
          f"DOMContentLoaded {cold['dcl']:.0f} ms), slowest {cold['slowest']}")
    print(f"warm ({len(warm)} runs): drawn median {statistics.median(drawn):.0f} ms, "
          f"max {max(drawn):.0f} ms; {warm[-1]['responses']} responses, "
          f"{warm[-1]['bytes'] / 1024:.0f} KiB, slowest {warm[-1]['slowest']}")
    errors = sorted({e for r in runs for e in r["errors"]})
    print(f"console errors: {errors or 'none'}")


if __name__ == "__main__":
    main()
