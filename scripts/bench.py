#!/usr/bin/env python3
"""Amanat's own benchmark: hot paths of a running server, cold latency and warm throughput.

    scripts/bench.py --url http://127.0.0.1:8090 --dsn postgresql://... [--seconds 10]

For each workload: a cold pass (distinct URLs once each, one at a time: p50/p95 ms) and a warm
pass (wrk, 8 connections, random URLs or bodies from the same set: req/s). Workloads whose
endpoint is not there (404 on a probe) are reported as missing, not measured.
"""
import argparse
import json
import math
import random
import statistics
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

WRK_LUA = """
local requests = {}
init = function(args)
  for line in io.lines(args[1]) do
    local method, path, body = line:match("^(%S+) (%S+) ?(.*)$")
    requests[#requests + 1] = {method, path, body}
  end
end
request = function()
  local r = requests[math.random(#requests)]
  if r[1] == "POST" then
    return wrk.format("POST", r[2], {["Content-Type"] = "application/json"}, r[3])
  end
  return wrk.format("GET", r[2])
end
"""


def psql(dsn: str, query: str) -> list[list[str]]:
    """Rows of a query, as text."""
    out = subprocess.run(["psql", dsn, "-AtF", "|", "-c", query], check=True,
                         capture_output=True, text=True).stdout
    return [line.split("|") for line in out.strip().splitlines()]


def tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """WebMercatorQuad column and row of a point."""
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def workloads(dsn: str, n: int, seed: int) -> dict[str, list[tuple[str, str, str]]]:
    """(method, path, body) lists per workload, from random parcels of the database."""
    rows = psql(dsn, f"SELECT setseed({seed / 1000}); SELECT id, parcel_no, ST_X(p), ST_Y(p) "
                     f"FROM (SELECT id, parcel_no, ST_PointOnSurface(geom) p FROM parcels "
                     f"ORDER BY random() LIMIT {n}) s")
    rows = [r for r in rows if len(r) == 4]
    half = 0.003  # ~600 m box
    out = {
        "items_bbox": [("GET", "/ogc/collections/parcels/items?f=json&limit=100&bbox="
                        f"{float(x) - half:.5f},{float(y) - half:.5f},{float(x) + half:.5f},"
                        f"{float(y) + half:.5f}", "") for _, _, x, y in rows],
        "item": [("GET", f"/ogc/collections/parcels/items/{pid}?f=json", "") for pid, *_ in rows],
    }
    for z in (10, 12, 14, 16):
        paths = {f"/ogc/collections/parcels/tiles/WebMercatorQuad/{z}/{ty}/{tx}?f=mvt"
                 for tx, ty in (tile(float(x), float(y), z) for _, _, x, y in rows)}
        out[f"tile_z{z}"] = [("GET", p, "") for p in sorted(paths)]
    for z in (12, 16):   # what the web map asks for: every layer it shows in one tile
        paths = {f"/ogc/tiles/WebMercatorQuad/{z}/{ty}/{tx}?f=mvt&collections=parcels,streets,"
                 f"districts,facilities,licenses"
                 for tx, ty in (tile(float(x), float(y), z) for _, _, x, y in rows)}
        out[f"dataset_z{z}"] = [("GET", p, "") for p in sorted(paths)]
    out["parcel_check"] = [("POST", "/ogc/processes/parcel-check/execution", json.dumps(
        {"inputs": {"parcel_no": no, "use": "residential", "floors": 2, "height_m": 8,
                    "footprint_area_m2": 150}}))
        for _, no, _, _ in rows]
    return out


def call(base: str, method: str, path: str, body: str) -> tuple[int, float, int]:
    """One request: status, seconds, bytes."""
    req = urllib.request.Request(base + path, data=body.encode() if body else None,
                                 method=method, headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            size = len(resp.read())
            status = resp.status
    except urllib.error.HTTPError as err:
        size, status = len(err.read()), err.code
    return status, time.perf_counter() - start, size


def measure(base: str, name: str, requests: list, seconds: int, connections: int) -> dict:
    """Cold pass then warm wrk pass."""
    status, _, _ = call(base, *requests[0])
    if status == 404 and name in ("parcel_check",):
        return {"name": name, "missing": True}
    cold, sizes, errors = [], [], 0
    for method, path, body in requests:
        status, seconds_taken, size = call(base, method, path, body)
        errors += status >= 500
        cold.append(seconds_taken * 1000)
        sizes.append(size)
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua, \
            tempfile.NamedTemporaryFile("w", suffix=".txt") as lines:
        lua.write(WRK_LUA)
        lua.flush()
        lines.write("\n".join(f"{m} {p} {b}".rstrip() for m, p, b in requests) + "\n")
        lines.flush()
        out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", lua.name,
                              base, "--", lines.name], capture_output=True, text=True).stdout
    rate = next((float(line.split()[1]) for line in out.splitlines()
                 if line.startswith("Requests/sec")), 0.0)
    cold.sort()
    return {"name": name, "urls": len(requests), "p50_ms": statistics.median(cold),
            "p95_ms": cold[int(0.95 * (len(cold) - 1))], "req_s": rate, "errors": errors,
            "max_bytes": max(sizes), "avg_bytes": int(statistics.mean(sizes))}


def main() -> None:
    """Measure every workload and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", default="")
    parser.add_argument("--json")
    args = parser.parse_args()
    random.seed(args.seed)
    results = []
    print(f"{'workload':14} {'urls':>5} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'errors':>6} {'max bytes':>10}")
    for name, requests in workloads(args.dsn, args.points, args.seed).items():
        if args.only and name not in args.only.split(","):
            continue
        r = measure(args.url, name, requests, args.seconds, args.connections)
        results.append(r)
        if r.get("missing"):
            print(f"{name:14} (endpoint not available)")
            continue
        print(f"{name:14} {r['urls']:5d} {r['req_s']:9.1f} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} "
              f"{r['errors']:6d} {r['max_bytes']:10d}", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
