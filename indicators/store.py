"""Indicators computed in PostGIS and kept in `indicator_cache`, keyed by what they read.

The key of an indicator is its definition, the day (an indicator may count days from today)
and the versions of the tables it reads (layers: layer_versions, bumped by a trigger on every
change; permit-check findings: their count and highest id). A read whose key still holds is
answered from the kept rows; otherwise one process recomputes (a transaction-scoped advisory
lock per indicator; the others wait for it and then read its rows). Each row carries the time
it was computed. Filters are bound parameters over the kept rows.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from psycopg import sql

from indicators.definitions import Indicator

FINDINGS = "processing_findings"
REFRESH_TIMEOUT = "120s"   # a full refresh of a large city outlasts a request's 15 s bound


@dataclass(frozen=True)
class Result:
    """The rows of one indicator for one request, and when they were computed."""

    indicator: Indicator
    computed_at: datetime
    rows: list[dict]


def cache_key(conn, indicator: Indicator) -> str:
    """The key the kept rows of an indicator must match to be served."""
    layers = [table for table in indicator.tables if table not in (FINDINGS, "processing_jobs")]
    versions = dict(conn.execute(
        "SELECT layer, version FROM layer_versions WHERE layer = ANY(%s)", [layers]).fetchall())
    if FINDINGS in indicator.tables:
        versions[FINDINGS] = list(conn.execute(
            "SELECT count(*), coalesce(max(id), 0) FROM processing_findings").fetchone())
    today = conn.execute("SELECT current_date::text").fetchone()[0]
    definition = json.dumps([indicator.sql, indicator.params], sort_keys=True, default=str)
    digest = hashlib.sha256(definition.encode()).hexdigest()[:16]
    return json.dumps({"day": today, "definition": digest, "versions": versions},
                      sort_keys=True)


def refresh(conn, indicator: Indicator, force: bool = False) -> bool:
    """Recompute an indicator unless its kept rows are current (or `force`); True if
    recomputed. Runs in its own transaction on `conn`."""
    with conn.transaction():
        conn.execute("SET LOCAL jit = off")   # compiling costs ~1 s, more than these queries
        conn.execute("SELECT set_config('statement_timeout', %s, true)", [REFRESH_TIMEOUT])
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('amanat-indicator:' || %s))",
                     [indicator.id])
        key = cache_key(conn, indicator)
        kept = conn.execute("SELECT cache_key FROM indicator_cache WHERE indicator = %s",
                            [indicator.id]).fetchone()
        if kept is not None and kept[0] == key and not force:
            return False
        columns = sql.SQL(", ").join(sql.Identifier(name) for name in indicator.columns)
        statement = sql.SQL(
            "INSERT INTO indicator_cache (indicator, cache_key, computed_at, rows) "
            "SELECT %(indicator_id)s, %(cache_key)s, clock_timestamp(), "
            "coalesce(jsonb_agg(to_jsonb(q) ORDER BY {order}), '[]') "
            "FROM (SELECT {columns} FROM ({body}) AS source) AS q "
            "ON CONFLICT (indicator) DO UPDATE SET cache_key = excluded.cache_key, "
            "computed_at = excluded.computed_at, rows = excluded.rows").format(
            columns=columns, body=sql.SQL(indicator.sql), order=columns)
        conn.execute(statement, {**indicator.params, "indicator_id": indicator.id,
                                 "cache_key": key})
        return True


def refresh_all(conn, indicators: dict[str, Indicator], force: bool = False) -> list[str]:
    """Recompute every indicator whose kept rows are stale; the ids recomputed."""
    return [one.id for one in indicators.values() if refresh(conn, one, force)]


def rows(conn, indicator: Indicator, filters: dict[str, str]) -> Result:
    """The indicator's rows matching every filter (column → value), current."""
    refresh(conn, indicator)
    where = [sql.SQL("r ->> {} = {}").format(sql.Literal(column), sql.Placeholder())
             for column in filters]
    statement = sql.SQL(
        "SELECT c.computed_at, "
        "coalesce(jsonb_agg(r ORDER BY n) FILTER (WHERE r IS NOT NULL AND {cond}), '[]') "
        "FROM indicator_cache c LEFT JOIN LATERAL jsonb_array_elements(c.rows) "
        "WITH ORDINALITY AS e(r, n) ON true WHERE c.indicator = %s GROUP BY c.computed_at"
    ).format(cond=sql.SQL(" AND ").join(where) if where else sql.SQL("true"))
    computed_at, found = conn.execute(statement, [*filters.values(), indicator.id]).fetchone()
    stamp = computed_at.isoformat()
    return Result(indicator, computed_at, [{**row, "computed_at": stamp} for row in found])


def by_district(conn, result: Result) -> dict:
    """A GeoJSON FeatureCollection of every district with the result's value (None where no
    row matched): rows added up per district (a ratio indicator as 100 * part / whole)."""
    totals: dict[str, list[float]] = {}
    part, whole = result.indicator.ratio or ("value", None)
    for row in result.rows:
        total = totals.setdefault(row["district"], [0.0, 0.0])
        total[0] += row[part]
        total[1] += row[whole] if whole else 0.0
    values = {code: (round(100.0 * a / b, 2) if b else None) if whole else a
              for code, (a, b) in totals.items()}
    features = conn.execute(
        "SELECT d.code, d.name_ar, d.name_en, m.code, ST_AsGeoJSON(d.geom, 6)::jsonb "
        "FROM districts d JOIN municipalities m ON m.id = d.municipality_id ORDER BY d.code"
    ).fetchall()
    return {"type": "FeatureCollection", "indicator": result.indicator.id,
            "computed_at": result.computed_at.isoformat(),
            "features": [{"type": "Feature", "id": code, "geometry": geometry,
                          "properties": {"district": code, "name_ar": ar, "name_en": en,
                                         "municipality": municipality,
                                         "value": values.get(code)}}
                         for code, ar, en, municipality, geometry in features]}

