"""`make soak`: a bounded mixed load on a running server with wrk, per-route p95 and server RSS.

Seven routes (items, vector tiles, single items, parcel checks, raster tiles, panorama tiles,
search) are loaded at the same time, one wrk per route, 16 connections in all, for DURATION
seconds. Each wrk rotates through real identifiers read from the server first. Printed: requests,
errors (non-2xx, socket errors) and p50/p90/p95/p99 per route under load (wrk's
latency histogram, through its Lua done() hook), and the resident memory of the server
processes averaged over the first and the last 10 s (growth must stay under 10%).
Usage: python scripts/soak.py URL SERVER_PID [DURATION]
"""
import json
import math
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

PERCENTILES = ("50", "90", "95", "99")
CONNECTIONS = {"items": 3, "tiles": 3, "item": 2, "parcel-check": 2, "raster-tile": 2,
               "panorama-tile": 2, "search": 2}
LUA = """
local paths = {%s}
local method, body = "%s", %s
local i = math.random(#paths)
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i %% #paths + 1
  return wrk.format(method, paths[i], nil, body)
end
done = function(summary, latency, requests)
  for _, pct in ipairs({50, 90, 95, 99}) do
    io.write(string.format("PCT %%d %%.1f\\n", pct, latency:percentile(pct) / 1000))
  end
end
"""


def get(url: str):
    """GET a JSON document."""
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """Web Mercator tile column and row of a point."""
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def targets(base: str) -> dict[str, tuple[str, list[str], str | None]]:
    """route -> (method, paths, body), built from what the server holds."""
    features = get(f"{base}/ogc/collections/parcels/items?limit=200&f=json")["features"]
    lon, lat = features[0]["geometry"]["coordinates"][0][0][0]
    tiles = [(x + dx, y + dy) for x, y in [tile_of(lon, lat, 15)] for dx in (-1, 0, 1)
             for dy in (-1, 0, 1)]
    rasters = [d for d in get(f"{base}/raster")["datasets"] if d["kind"] == "orthophoto"]
    raster = rasters[0] if rasters else None
    rx, ry = (tile_of((raster["bounds"][0] + raster["bounds"][2]) / 2,
                      (raster["bounds"][1] + raster["bounds"][3]) / 2, raster["maxzoom"])
              if raster else (0, 0))
    panoramas = get(f"{base}/ogc/collections/panoramas/items?limit=20&f=json")["features"]
    pano_tiles = []
    for feature in panoramas:
        try:
            info = get(f"{base}/panoramas/{feature['id']}/tiles")
        except Exception:
            continue
        found = re.findall(r"/panoramas/images/[^\"]+?/\{?", json.dumps(info))
        key = found[0].rstrip("/{") if found else None
        if key:
            pano_tiles += [f"{key}/0/0/0.jpg", f"{key}/1/0/0.jpg", f"{key}/1/1/0.jpg"]
    return {
        "items": ("GET", [f"/ogc/collections/parcels/items?f=json&limit=50&offset={o}"
                          for o in range(0, 1000, 50)], None),
        "tiles": ("GET", [f"/ogc/collections/parcels/tiles/WebMercatorQuad/15/{y}/{x}?f=mvt"
                          for x, y in tiles], None),
        "item": ("GET", [f"/ogc/collections/parcels/items/{f['id']}?f=json" for f in features],
                 None),
        "parcel-check": ("POST", ["/ogc/processes/parcel-check/execution"], json.dumps(
            {"inputs": {"parcel_no": features[5]["properties"]["parcel_no"]}})),
        "raster-tile": ("GET", [f"/raster/{raster['id']}/tiles/WebMercatorQuad/"
                                f"{raster['maxzoom']}/{rx + dx}/{ry + dy}.png"
                                for dx in (-1, 0, 1) for dy in (-1, 0, 1)] if raster else [],
                        None),
        "panorama-tile": ("GET", pano_tiles, None),
        "search": ("GET", [f"/search?q={q}&lang=en" for q in
                           ("dammam", "mosque", "school", "WDM", "market", "street")], None),
    }


def rss_kb(pid: int) -> int:
    """Resident memory of a process and its children (kB)."""
    out = subprocess.run(["ps", "-o", "rss=", "--ppid", str(pid), "-p", str(pid)],
                         capture_output=True, text=True).stdout
    return sum(int(v) for v in out.split())


def run_wrk(base, route, method, paths, body, duration, folder: Path) -> dict:
    """One wrk on one route; its parsed summary."""
    script = folder / f"{route}.lua"
    quoted = ",".join(json.dumps(p) for p in paths)
    script.write_text(LUA % (quoted, method, json.dumps(body) if body else "nil"))
    out = subprocess.run(["wrk", "-t1", f"-c{CONNECTIONS[route]}", f"-d{duration}s",
                          "--timeout", "10s", "--latency", "-s", str(script), base],
                         capture_output=True, text=True).stdout
    summary = {"route": route, "requests": int(re.search(r"(\d+) requests in", out)[1])}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                        out)
    summary["errors"] = (int(errors[1]) if errors else 0) + (
        sum(int(v) for v in sockets.groups()) if sockets else 0)
    for pct, ms in re.findall(r"^PCT (\d+) (\S+)$", out, re.M):
        summary[f"p{pct}"] = float(ms)
    summary["raw"] = out
    return summary


def main() -> int:
    """Run the soak; exit 1 on errors or memory growth."""
    base, pid = sys.argv[1].rstrip("/"), int(sys.argv[2])
    duration = int(sys.argv[3]) if len(sys.argv) > 3 else 60
    plan = {route: spec for route, spec in targets(base).items() if spec[1]}
    missing = sorted(set(CONNECTIONS) - set(plan))
    samples: list[tuple[float, int]] = []
    stop = threading.Event()

    def sample():
        start = time.monotonic()
        while not stop.is_set():
            samples.append((time.monotonic() - start, rss_kb(pid)))
            stop.wait(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        threads = [threading.Thread(target=lambda r=route, s=spec: results.__setitem__(
            r, run_wrk(base, r, *s, duration, Path(folder)))) for route, spec in plan.items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    stop.set()
    sampler.join()
    first = [kb for t, kb in samples if t <= 10]
    last = [kb for t, kb in samples if t >= duration - 10]
    rss_first, rss_last = sum(first) / len(first), sum(last) / len(last)
    growth = (rss_last - rss_first) / rss_first * 100
    total = sum(r["requests"] for r in results.values())
    errors = sum(r["errors"] for r in results.values())
    print(f"soak: {duration} s, {sum(CONNECTIONS[r] for r in plan)} connections, {total} requests,"
          f" {errors} errors")
    print(f"{'route':<15}{'conns':>6}{'requests':>10}{'req/s':>8}{'errors':>8}"
          + "".join(f"{'p' + pct + ' ms':>10}" for pct in PERCENTILES))
    for route in plan:
        r = results[route]
        print(f"{route:<15}{CONNECTIONS[route]:>6}{r['requests']:>10}"
              f"{r['requests'] / duration:>8.0f}{r['errors']:>8}"
              + "".join(f"{r.get('p' + pct, float('nan')):>10.1f}" for pct in PERCENTILES))
    print("latency percentiles under load, from wrk's own histogram (all routes at once)")
    print(f"server RSS: first 10 s {rss_first / 1024:.0f} MiB, last 10 s {rss_last / 1024:.0f} MiB,"
          f" growth {growth:+.1f}% (limit 10%)")
    if missing:
        print(f"not loaded (no data on this server): {', '.join(missing)}")
    return 0 if errors == 0 and growth < 10 and not missing else 1


if __name__ == "__main__":
    sys.exit(main())
