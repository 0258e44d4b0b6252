"""Licences that expire by themselves, and each office's list of licences expiring soon.

`run` (the periodic task `amanat.expire_licences` on the procrastinate queue, registered by
`register`, hourly) turns every active licence whose expiry date has passed to `expired`, one
audit row per licence in the same transaction (actor `amanat-expiry`, kind `cli`), then rebuilds
`licence_expiry_lists`: per office, its active licences expiring within 90 days, each marked
with the smallest of 30/60/90 it falls within, then queues and sends the e-mail notices of
those lists (indicators/notices.py). Running it twice changes nothing the second time.
"""
from __future__ import annotations

import logging

from psycopg.rows import dict_row

from indicators import definitions, notices, store
from indicators.errors import BadIndicatorQuery
from indicators.settings import ExpirySettings
from layers import audit

LOGGER = logging.getLogger(__name__)
TASK = "amanat.expire_licences"
REFRESH_TASK = "amanat.refresh_indicators"
REFRESH_CRON = "*/10 * * * *"   # every ten minutes: stale indicators recomputed before asked
CRON = "5 * * * *"   # hourly, five minutes past
HORIZONS = (30, 60, 90)
ACTOR = audit.Actor("amanat-expiry", "cli", frozenset({"system"}))


def expire(conn) -> list[dict]:
    """Active licences past their expiry date turned to expired and audited (one
    transaction); the licences changed."""
    with conn.transaction():
        changed = conn.cursor(row_factory=dict_row).execute(
            "UPDATE licenses SET status = 'expired', updated_at = now() "
            "WHERE status = 'active' AND expiry_date < current_date "
            "RETURNING id, license_no, expiry_date::text AS expiry_date, owner_office").fetchall()
        for row in changed:
            audit.record(conn, ACTOR, "expire", "licenses", row["id"],
                         {"status": "active", "expiry_date": row["expiry_date"]},
                         {"status": "expired", "expiry_date": row["expiry_date"]})
    return changed


LISTS = """
WITH soon AS (
  SELECT l.owner_office AS office, jsonb_build_object(
    'id', l.id, 'license_no', l.license_no, 'trade_name_ar', l.trade_name_ar,
    'trade_name_en', l.trade_name_en, 'isic_code', l.isic_code,
    'expiry_date', l.expiry_date::text, 'days_left', l.expiry_date - current_date,
    'within_days', (SELECT min(h) FROM unnest(%(horizons)s::int[]) AS h
                    WHERE l.expiry_date - current_date <= h)) AS item, l.expiry_date, l.id
  FROM licenses l
  WHERE l.owner_office IS NOT NULL AND l.status = 'active'
    AND l.expiry_date BETWEEN current_date AND current_date + %(longest)s
), offices AS (SELECT DISTINCT owner_office AS office FROM licenses
               WHERE owner_office IS NOT NULL)
INSERT INTO licence_expiry_lists AS e (office, built_at, licences)
SELECT o.office, now(), coalesce((SELECT jsonb_agg(s.item ORDER BY s.expiry_date, s.id)
                                  FROM soon s WHERE s.office = o.office), '[]')
FROM offices o
ON CONFLICT (office) DO UPDATE SET built_at = excluded.built_at, licences = excluded.licences
"""


def build_lists(conn) -> int:
    """Rebuild every office's list (offices no longer holding a licence are dropped); how many
    offices."""
    with conn.transaction():
        conn.execute("DELETE FROM licence_expiry_lists WHERE office NOT IN "
                     "(SELECT owner_office FROM licenses WHERE owner_office IS NOT NULL)")
        return conn.execute(LISTS, {"horizons": list(HORIZONS),
                                    "longest": max(HORIZONS)}).rowcount


def run(conn, settings: ExpirySettings | None = None) -> dict:
    """The periodic task's work: expire, rebuild the lists, queue their notices and send
    what waits (with settings); a summary."""
    expired = expire(conn)
    offices = build_lists(conn)
    queued = notices.queue(conn)
    mail = notices.send(conn, settings) if settings is not None else {"sent": 0}
    LOGGER.info("licence expiry: %d expired, lists of %d offices, %d notices queued, %d sent",
                len(expired), offices, queued, mail["sent"])
    return {"expired": len(expired), "offices": offices, "queued": queued, **mail}


def office_list(conn, office: str, within_days: str | None = None) -> dict:
    """An office's list as last built (optionally only those within 30, 60 or 90 days)."""
    limit = max(HORIZONS)
    if within_days is not None:
        if within_days not in {str(h) for h in HORIZONS}:
            raise BadIndicatorQuery(
                "licences expiring within 30, 60 or 90 days only, got {value!r}",
                value=within_days[:20])
        limit = int(within_days)
    row = conn.execute("SELECT built_at, licences FROM licence_expiry_lists WHERE office = %s",
                       [office]).fetchone()
    built_at, items = (row[0].isoformat(), row[1]) if row else (None, [])
    chosen = [item for item in items if item["days_left"] <= limit]
    return {"office": office, "built_at": built_at, "within_days": limit,
            "numberMatched": len(chosen), "licences": chosen}


def register(app, db, queue: str, settings: ExpirySettings | None = None):
    """The periodic tasks on a procrastinate app (its worker listens to `queue`): the licence
    expiry, with notices by e-mail as `settings` (AMANAT_EXPIRY_*, read now when not given)
    say, and the indicators' refresh."""
    settings = settings or ExpirySettings()

    @app.periodic(cron=CRON, periodic_id="licence-expiry")
    @app.task(name=TASK, queue=queue, pass_context=False)
    def expire_licences(timestamp: int) -> None:
        """Run the expiry (procrastinate passes the scheduled time)."""
        with db.connection() as conn:
            run(conn, settings)

    indicators = definitions.load()

    @app.periodic(cron=REFRESH_CRON, periodic_id="indicator-refresh")
    @app.task(name=REFRESH_TASK, queue=queue, pass_context=False)
    def refresh_indicators(timestamp: int) -> None:
        """Recompute the indicators whose tables changed (or the day did)."""
        with db.connection() as conn:
            LOGGER.info("indicators refreshed: %s", store.refresh_all(conn, indicators))

    return expire_licences
