"""Finding panoramas: by id, nearest to a point, and the neighbours of one (SQL, metric in UTM)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg
from psycopg.rows import dict_row

SECTORS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
UTM_CENTRAL_MERIDIAN = 51.0   # of EPSG:32639 (UTM 39N), the metric CRS of geom_utm
UTM_REACH_DEG = 30.0          # farther than this PROJ cannot transform a point (error 2050);
                              # such a point is far beyond any search radius from the city
_FIELDS = """p.id, p.sequence_id, p.sequence_index, p.captured_at, p.heading_deg::float AS heading,
  ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat, p.image_ref, p.street_id"""
_DATES = """(%(after)s::timestamptz IS NULL OR p.captured_at >= %(after)s)
  AND (%(before)s::timestamptz IS NULL OR p.captured_at <= %(before)s)"""


@dataclass(frozen=True)
class Period:
    """Capture-date filter: both ends optional and inclusive."""

    after: dt.datetime | None = None
    before: dt.datetime | None = None

    def params(self) -> dict:
        """Query parameters."""
        return {"after": self.after, "before": self.before}


def get(conn: psycopg.Connection, panorama_id: int) -> dict | None:
    """One panorama, or None."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(f"SELECT {_FIELDS} FROM panoramas p WHERE p.id = %s",
                           [panorama_id]).fetchone()


def nearest(conn: psycopg.Connection, lon: float, lat: float, radius_m: float,
            period: Period) -> dict | None:
    """The panorama nearest to (lon, lat) within `radius_m`, captured within `period`."""
    if abs(lon - UTM_CENTRAL_MERIDIAN) > UTM_REACH_DEG:   # a 500 before (found by fuzzing)
        return None
    query = f"""
        WITH q AS (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326), 32639)
                   AS g)
        SELECT {_FIELDS}, ST_Distance(p.geom_utm, q.g) AS distance_m
        FROM panoramas p, q
        WHERE ST_DWithin(p.geom_utm, q.g, %(radius)s) AND {_DATES}
        ORDER BY p.geom_utm <-> q.g, p.captured_at DESC, p.id LIMIT 1"""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, {"lon": lon, "lat": lat, "radius": radius_m,
                                   **period.params()}).fetchone()


def in_sequence(conn: psycopg.Connection, panorama: dict, period: Period) -> dict:
    """The previous and next panoramas of the same sequence (None at either end)."""
    query = f"""
        SELECT {_FIELDS}, ST_Distance(p.geom_utm, s.geom_utm) AS distance_m,
               degrees(ST_Azimuth(s.geom_utm, p.geom_utm)) AS bearing_deg
        FROM panoramas p, panoramas s
        WHERE s.id = %(id)s AND p.sequence_id = s.sequence_id AND {_DATES}
          AND p.sequence_index {{op}} s.sequence_index
        ORDER BY p.sequence_index {{order}} LIMIT 1"""
    params = {"id": panorama["id"], **period.params()}
    with conn.cursor(row_factory=dict_row) as cur:
        return {name: cur.execute(query.format(op=op, order=order), params).fetchone()
                for name, op, order in (("previous", "<", "DESC"), ("next", ">", "ASC"))}


def by_sector(conn: psycopg.Connection, panorama: dict, radius_m: float, band_m: float,
              period: Period) -> dict:
    """The best panorama in each compass sector: nearest, same sequence, newest (see below)."""
    # Candidates are ranked by distance band (`band_m` wide): the nearest band wins; within a
    # band one of the same sequence comes first, then the most recently captured, then the
    # nearest.
    query = f"""
        WITH c AS (
          SELECT {_FIELDS}, ST_Distance(p.geom_utm, s.geom_utm) AS distance_m,
                 degrees(ST_Azimuth(s.geom_utm, p.geom_utm)) AS bearing_deg,
                 p.sequence_id = s.sequence_id AS same_sequence
          FROM panoramas p, panoramas s
          WHERE s.id = %(id)s AND p.id <> s.id AND {_DATES}
            AND ST_DWithin(p.geom_utm, s.geom_utm, %(radius)s)
            AND NOT ST_Equals(p.geom_utm, s.geom_utm)),
        ranked AS (
          SELECT c.*, floor(mod((bearing_deg + 22.5)::numeric, 360) / 45)::int AS sector,
                 row_number() OVER (PARTITION BY floor(mod((bearing_deg + 22.5)::numeric, 360) / 45)
                   ORDER BY floor(distance_m / %(band)s), same_sequence DESC,
                            captured_at DESC, distance_m, id) AS rank
          FROM c)
        SELECT * FROM ranked WHERE rank = 1 ORDER BY sector"""
    params = {"id": panorama["id"], "radius": radius_m, "band": band_m, **period.params()}
    out = dict.fromkeys(SECTORS)
    with conn.cursor(row_factory=dict_row) as cur:
        for row in cur.execute(query, params):
            out[SECTORS[row.pop("sector")]] = row
            row.pop("rank"), row.pop("same_sequence")
    return out
