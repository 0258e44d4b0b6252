"""Measure: every indicator recomputed on a database, inside one transaction rolled back
(a temporary indicator_cache, so nothing of the database is written).

    .venv/bin/python -m indicators.bench.refresh_all postgresql://…/amanat_bench
"""
from __future__ import annotations

import sys
import time

import psycopg

from indicators import definitions, store


def main(dsn: str) -> None:
    """Print the time of each indicator's refresh and the total."""
    with psycopg.connect(dsn) as conn:
        conn.execute("SET LOCAL statement_timeout = '600s'")
        conn.execute("CREATE TEMP TABLE indicator_cache (indicator text PRIMARY KEY, "
                     "cache_key text NOT NULL, computed_at timestamptz NOT NULL, "
                     "rows jsonb NOT NULL) ON COMMIT DROP")
        counts = conn.execute("SELECT (SELECT count(*) FROM parcels), "
                              "(SELECT count(*) FROM licenses)").fetchone()
        print(f"parcels {counts[0]:,}, licences {counts[1]:,}")
        total = time.perf_counter()
        for indicator in definitions.load().values():
            start = time.perf_counter()
            store.refresh(conn, indicator, force=True)
            size = conn.execute("SELECT jsonb_array_length(rows) FROM indicator_cache "
                                "WHERE indicator = %s", [indicator.id]).fetchone()[0]
            print(f"{indicator.id}: {time.perf_counter() - start:.2f} s, {size} rows")
        print(f"all: {time.perf_counter() - total:.2f} s")
        conn.rollback()


if __name__ == "__main__":
    main(sys.argv[1])
