"""What the app shows an inspector: their assigned licences and the licences near a point,
each with the entity tag the editing API gives it (so the app can tell, before sending an
inspection, that a licence changed meanwhile), and a licence's inspection history."""
from __future__ import annotations

from layers.audit import Actor
from layers.database import Database
from layers.editing import etag

MAX_RADIUS_M = 3000
NEARBY_LIMIT = 200
LICENCE = """
SELECT l.id, l.license_no, l.trade_name_ar, l.trade_name_en, l.activity_ar, l.activity_en,
       l.isic_code, l.status, l.issue_date::text, l.expiry_date::text, l.shop_area_m2::float8,
       round(ST_X(l.geom)::numeric, 7)::float8, round(ST_Y(l.geom)::numeric, 7)::float8,
       d.code, d.name_ar, d.name_en, l.xmin::text,
       a.id, a.due_date::text, a.note,
       (SELECT max(i.visited_at) FROM inspections i WHERE i.license_id = l.id)::text
FROM licenses l
LEFT JOIN parcels p ON p.id = l.parcel_id
LEFT JOIN districts d ON d.id = p.district_id
LEFT JOIN inspection_assignments a ON a.license_id = l.id AND a.closed_at IS NULL
     AND a.inspector = %(me)s
"""
NAMES = ("id", "license_no", "trade_name_ar", "trade_name_en", "activity_ar", "activity_en",
         "isic_code", "status", "issue_date", "expiry_date", "shop_area_m2", "lon", "lat",
         "district", "district_ar", "district_en", "version", "assignment_id", "due_date",
         "assignment_note", "last_visit")


def _licence(row) -> dict:
    """A licence row as the app reads it (its ETag instead of the row version)."""
    found = dict(zip(NAMES, row))
    found["etag"] = etag("licenses", found["id"], found.pop("version"))
    found["assigned"] = found["assignment_id"] is not None
    return found


def licences(db: Database, actor: Actor, near: tuple[float, float] | None,
             radius: float) -> list[dict]:
    """The actor's assigned licences, then (when a point is given) those within `radius`
    metres of it, nearest first."""
    params = {"me": actor.subject, "limit": NEARBY_LIMIT, "r": radius,
              "x": near[0] if near else 0.0, "y": near[1] if near else 0.0}
    assigned = LICENCE + " WHERE a.id IS NOT NULL ORDER BY a.due_date NULLS LAST, l.id"
    nearby = LICENCE + (
        " WHERE a.id IS NULL AND ST_DWithin(l.geom::geography, "
        "ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326)::geography, %(r)s) "
        "ORDER BY l.geom <-> ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326) LIMIT %(limit)s")

    def work(conn):
        rows = conn.execute(assigned, params).fetchall()
        if near is not None:
            rows += conn.execute(nearby, params).fetchall()
        return rows
    return [_licence(row) for row in db.run(work)]


HISTORY = """
SELECT i.id, i.visited_at::text, i.result, i.violations, i.notes, i.created_by,
       (SELECT count(*) FROM inspection_photos p WHERE p.inspection_id = i.id)
FROM inspections i WHERE i.license_id = %s ORDER BY i.visited_at DESC, i.id DESC LIMIT 50
"""


def history(db: Database, license_id: int) -> list[dict] | None:
    """The licence's last 50 inspections (notes included: staff only), or None for no such
    licence."""
    def work(conn):
        if conn.execute("SELECT 1 FROM licenses WHERE id = %s", [license_id]).fetchone() is None:
            return None
        return conn.execute(HISTORY, [license_id]).fetchall()
    rows = db.run(work)
    if rows is None:
        return None
    names = ("id", "visited_at", "result", "violations", "notes", "inspector", "photos")
    return [dict(zip(names, row)) for row in rows]
