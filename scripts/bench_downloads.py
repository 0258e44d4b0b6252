"""Downloads benchmark (issue 15): not a timed test, figures for docs/benchmarks.md.

    .venv/bin/python scripts/bench_downloads.py --dsn postgresql://…/amanat_bench

1. The whole-layer GeoPackage of `parcels` built by layers/export_files.py, beside
   `../shared/bench/ogr2ogr.sh export` of the same table in the same run (ogr2ogr copies every
   column, ours the public ones).
2. A server (uvicorn, one worker) on that database: `/downloads/parcels.gpkg` served (the file
   prebuilt, then its throughput), and the whole layer streamed as CSV and as GeoJSON text
   sequence from the items endpoint: first byte, duration, bytes, and the server's RSS growth
   from before the request to its peak during it (sampled every 50 ms from /proc); a tenth of
   the layer as CSV before and after the whole, to tell a fixed cost from growth with size.
Only reads the database (layer_versions, the layer); files go to a temporary directory.
"""
from __future__ import annotations

import argparse
import http.client
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from layers.catalogue import LAYERS  # noqa: E402
from layers.database import Database  # noqa: E402
from layers.export_files import ExportFiles  # noqa: E402


def build_gpkg(dsn: str, root: Path) -> None:
    """Time our whole-layer GeoPackage build."""
    db = Database(dsn, min_size=1, max_size=2)
    try:
        version = db.fetch_one("SELECT version FROM layer_versions WHERE layer = 'parcels'", [])
        started = time.perf_counter()
        built = ExportFiles(db, root).get(LAYERS["parcels"], "gpkg", version[0])
        seconds = time.perf_counter() - started
        count = db.fetch_one("SELECT count(*) FROM parcels", [])[0]
    finally:
        db.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"ours GPKG build: {seconds:.1f}s, {count} features, {count / seconds:.0f} features/s, "
          f"{built.path.stat().st_size / 1e6:.1f} MB, peak RSS of this process {peak:.0f} MB")


def ogr2ogr(dsn: str, out: Path) -> None:
    """The yardstick, same table, same run."""
    script = ROOT.parent / "shared" / "bench" / "ogr2ogr.sh"
    if not script.exists():
        print("ogr2ogr yardstick skipped: no ../shared/bench/ogr2ogr.sh")
        return
    result = subprocess.run([str(script), "export", dsn, "parcels", str(out)],
                            capture_output=True, text=True, check=False)
    print((result.stdout or result.stderr).strip(), f"({out.stat().st_size / 1e6:.1f} MB)"
          if out.exists() else "")


def rss_mb(pid: int) -> float:
    """Resident set size of a process (MB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def fetch(port: int, path: str, pid: int) -> str:
    """GET a path reading the body in chunks: first byte, duration, bytes, RSS growth."""
    before, peak, done = rss_mb(pid), [0.0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb(pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    first = response.read(1)
    first_s = time.perf_counter() - started
    size = len(first)
    while chunk := response.read(1 << 16):
        size += len(chunk)
    total = time.perf_counter() - started
    done.set()
    sampler.join()
    return (f"{path}: HTTP {response.status}, first byte {first_s * 1000:.0f} ms, "
            f"{total:.1f}s, {size / 1e6:.1f} MB ({size / 1e6 / total:.0f} MB/s), "
            f"server RSS {before:.0f} -> peak {peak[0]:.0f} MB (+{peak[0] - before:.0f} MB)")


def serve(dsn: str, state: Path, port: int) -> subprocess.Popen:
    """Our server on the benchmark database (quotas and budgets out of the way)."""
    env = {**os.environ, "DATABASE_URL": dsn, "AMANAT_STATE_DIR": str(state),
           "AMANAT_QUOTA_ANONYMOUS_READS": "1000000/minute",
           "AMANAT_QUOTA_ANONYMOUS_DOWNLOADS": "1000000/minute",
           "AMANAT_DOWNLOAD_ANONYMOUS_FEATURES": "100000000"}
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "uvicorn"), "--factory", "geoserver.asgi:app_from_env",
         "--port", str(port), "--loop", "uvloop", "--http", "httptools",
         "--log-level", "warning"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=open(state / "server.log", "w"))
    for _ in range(240):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.5)
    server.kill()
    raise SystemExit("server did not start")


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--port", type=int, default=8093)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="amanat-bench-downloads-") as scratch:
        scratch = Path(scratch)
        print(f"== whole-layer GeoPackage, {os.cpu_count()} cores")
        build_gpkg(args.dsn, scratch / "state" / "downloads")
        ogr2ogr(args.dsn, scratch / "ogr2ogr.gpkg")
        server = serve(args.dsn, scratch / "state", args.port)
        try:
            print("== served by a running server (1 worker)")
            for path in ("/downloads/parcels.gpkg", "/downloads/parcels.gpkg",
                         "/ogc/collections/parcels/items?f=csv&filter=id%20%3C%3D%2020000",
                         "/ogc/collections/parcels/items?f=csv",
                         "/ogc/collections/parcels/items?f=csv&filter=id%20%3C%3D%2020000",
                         "/ogc/collections/parcels/items?f=geojsonseq"):
                print(fetch(args.port, path, server.pid))
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
