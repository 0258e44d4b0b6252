"""Latency of citizen reports against a running server: Open311 submissions (POST
requests.json, no photos) and status lookups (/track and GET requests/{id}.json), one client,
one request at a time, keep-alive; p50 / p95 / p99 in milliseconds; and the first page of
GET requests.json.

Start the server with loose throttles (a benchmark is one address), e.g.
    AMANAT_CITIZENS_REPORTS_PER_WINDOW=100000 AMANAT_CITIZENS_LOOKUPS_PER_WINDOW=100000 \\
      amanat serve --no-sample
    python scripts/bench_open311.py --url http://127.0.0.1:8000 [--dsn URL --seed 100000]

--seed N first adds N synthetic reports (and their history) straight into the database, so the
lookups search a table of a realistic size.
"""
from __future__ import annotations

import argparse
import random
import statistics
import time

import httpx
import psycopg

SEED = """
INSERT INTO citizen_reports (tracking_no, token, service_code, geom, description, attributes,
  district_code, municipality_code, submitter_sha256, expected_at, created_at, updated_at)
SELECT 'R-' || upper(substr(h, 1, 4)) || '-' || upper(substr(h, 5, 4)) || '-' ||
       upper(substr(h, 9, 4)), substr(md5(h), 1, 32), 'pothole',
       ST_PointOnSurface(d.geom), 'synthetic report ' || g, '{"size": "small"}', d.code, m.code,
       md5(h) || md5(h), now() + interval '3 days', now() - (g %% 80) * interval '1 day',
       now() - (g %% 80) * interval '1 day'
FROM generate_series(1, %s) g,
     LATERAL (SELECT translate(md5(random()::text || g), 'ilou', '1234') AS h) r,
     LATERAL (SELECT * FROM districts ORDER BY id OFFSET g %% (SELECT count(*) FROM districts)
              LIMIT 1) d
JOIN municipalities m ON m.id = d.municipality_id
ON CONFLICT DO NOTHING
"""


def seed(dsn: str, count: int) -> None:
    """Add `count` synthetic reports with one history row each."""
    with psycopg.connect(dsn) as conn:
        conn.execute(SEED, [count])
        conn.execute("INSERT INTO citizen_report_history (report_id, status, actor, actor_role) "
                     "SELECT id, 'open', 'bench', 'citizen' FROM citizen_reports r WHERE NOT "
                     "EXISTS (SELECT 1 FROM citizen_report_history h WHERE h.report_id = r.id)")
        conn.execute("ANALYZE citizen_reports")
        conn.execute("ANALYZE citizen_report_history")


def points(client: httpx.Client) -> list[tuple[float, float]]:
    """A point inside each district (the districts are rectangles: the centre of the box)."""
    body = client.get("/ogc/collections/districts/items?f=json&limit=200").json()
    found = []
    for feature in body["features"]:
        ring = [xy for polygon in feature["geometry"]["coordinates"] for xy in polygon[0]]
        xs, ys = [x for x, _ in ring], [y for _, y in ring]
        found.append(((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2))
    return found


def timed(send) -> float:
    """Milliseconds of one call (which must succeed)."""
    start = time.perf_counter()
    response = send()
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code in (200, 201), response.text[:300]
    return elapsed


def summary(name: str, ms: list[float]) -> str:
    """p50 / p95 / p99 of a run."""
    q = statistics.quantiles(ms, n=100)
    return f"{name:32s} n={len(ms):5d}  p50 {q[49]:6.2f}  p95 {q[94]:6.2f}  p99 {q[98]:6.2f} ms"


def main() -> None:
    """Run the three workloads and print their percentiles."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--dsn")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-n", type=int, default=500)
    args = parser.parse_args()
    if args.seed:
        seed(args.dsn, args.seed)
    rng = random.Random(1)
    with httpx.Client(base_url=args.url, timeout=30) as client:
        where = points(client)
        submitted, numbers = [], []
        for i in range(args.n):
            lon, lat = rng.choice(where)
            form = {"service_code": "pothole", "lat": str(lat), "long": str(lon),
                    "description": f"حفرة رقم {i}", "attribute[size]": "medium",
                    "email": "bench@example.sa"}
            start = time.perf_counter()
            response = client.post("/open311/v2/requests.json", data=form)
            submitted.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 201, response.text[:300]
            numbers.append(response.json()[0]["service_request_id"])
        track = [timed(lambda: client.get("/track", params={"number": rng.choice(numbers)}))
                 for _ in range(args.n * 2)]
        one = [timed(lambda: client.get(f"/open311/v2/requests/{rng.choice(numbers)}.json"))
               for _ in range(args.n * 2)]
        listing = [timed(lambda: client.get("/open311/v2/requests.json"))
                   for _ in range(max(20, args.n // 10))]
    if args.dsn:
        with psycopg.connect(args.dsn) as conn:
            total = conn.execute("SELECT count(*) FROM citizen_reports").fetchone()[0]
        print(f"reports in the table: {total:,}")
    for name, ms in (("POST requests.json (submission)", submitted),
                     ("GET /track (status page)", track),
                     ("GET requests/{id}.json", one), ("GET requests.json (100, newest)", listing)):
        print(summary(name, ms))


if __name__ == "__main__":
    main()
