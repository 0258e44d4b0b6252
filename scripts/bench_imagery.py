#!/usr/bin/env python3
"""Imagery tiles: ours (/raster/{id}) beside stock TiTiler (titiler.core's TilerFactory reading
the same COG by `url=`), in one run.

    scripts/bench_imagery.py --url http://127.0.0.1:8090 --raster orthophoto --cog PATH [--port 8095]

Starts the stock app itself (uvicorn, 1 worker) on --port. For each zoom: every distinct tile of
the raster's extent once, one at a time, in the same random order for both (cold: ours must be
freshly started, its tile cache empty): tiles/s, p50/p95 ms; then one tile repeated (wrk, 8
connections, 10 s): req/s.
"""
import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import morecantile
import rasterio
from rasterio.warp import transform_bounds

STOCK_APP = """
from fastapi import FastAPI
from titiler.core.factory import TilerFactory
app = FastAPI()
app.include_router(TilerFactory().router, prefix="/cog")
"""


def tiles(cog: str, zoom: int) -> list[tuple[int, int, int]]:
    """The WebMercatorQuad tiles of the COG's extent at `zoom`."""
    with rasterio.open(cog) as src:
        west, south, east, north = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
    tms = morecantile.tms.get("WebMercatorQuad")
    return [(t.z, t.x, t.y) for t in tms.tiles(west, south, east, north, [zoom])]


def get(url: str) -> tuple[float, int]:
    """Seconds to fetch `url`, and its status (a tile outside the image is a 404 for both)."""
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as err:
        status = err.code
    return time.perf_counter() - started, status


def cold(urls: list[str]) -> str:
    """Each URL once, one at a time."""
    answers = [get(u) for u in urls]
    took = [t for t, _ in answers]
    ms = sorted(t * 1000 for t in took)
    statuses = {s: sum(1 for _, x in answers if x == s) for s in {x for _, x in answers}}
    return (f"{len(urls) / sum(took):7.1f} tiles/s  p50 {statistics.median(ms):6.1f} ms  "
            f"p95 {ms[int(0.95 * (len(ms) - 1))]:6.1f} ms  statuses {statuses}")


def repeated(url: str) -> str:
    """One URL under wrk."""
    out = subprocess.run(["wrk", "-t2", "-c8", "-d10s", url], capture_output=True, text=True,
                         check=False)
    line = [x for x in out.stdout.splitlines() if x.startswith("Requests/sec")]
    return line[0].split()[-1] + " req/s" if line else out.stdout[-300:]


def main() -> None:
    """Start the stock app, measure both, stop it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--raster", default="orthophoto")
    parser.add_argument("--cog", required=True)
    parser.add_argument("--port", type=int, default=8095)
    parser.add_argument("--zooms", default="16,17,18")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        with open(f"{tmp}/stock_titiler.py", "w") as f:
            f.write(STOCK_APP)
        stock = subprocess.Popen([sys.executable, "-m", "uvicorn", "stock_titiler:app", "--port",
                                  str(args.port), "--log-level", "warning"], cwd=tmp)
        try:
            stock_base = f"http://127.0.0.1:{args.port}/cog/tiles/WebMercatorQuad"
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{args.port}/docs", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
            ours_base = f"{args.url}/raster/{args.raster}/tiles/WebMercatorQuad"
            for zoom in [int(z) for z in args.zooms.split(",")]:
                found = tiles(args.cog, zoom)
                random.Random(zoom).shuffle(found)
                print(f"== z{zoom}: {len(found)} distinct tiles, cold, one at a time")
                print("ours  ", cold([f"{ours_base}/{z}/{x}/{y}.png" for z, x, y in found]))
                print("stock ", cold([f"{stock_base}/{z}/{x}/{y}.png?url={args.cog}"
                                      for z, x, y in found]))
            z, x, y = tiles(args.cog, 16)[0]
            print("== one z16 tile repeated (wrk, 8 connections, 10 s)")
            print("ours  ", repeated(f"{ours_base}/{z}/{x}/{y}.png"))
            print("stock ", repeated(f"{stock_base}/{z}/{x}/{y}.png?url={args.cog}"))
        finally:
            stock.terminate()
            stock.wait()


if __name__ == "__main__":
    main()
