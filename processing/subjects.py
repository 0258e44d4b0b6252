"""The set of things a check looks at, in one temporary table per connection: `check_subjects`.

A subject is a parcel (registered, or drawn by the client) or a licence site, with the proposal
made for it (use, activity, floors, height, footprint). The single checks put one row in it, the
batch puts every parcel and active licence of the area; the rule statements of processing.checks
then work on the whole set at once. Rows vanish at commit (ON COMMIT DELETE ROWS), so nothing is
left behind on a pooled connection and no table is created per check. All geometries in it are
in the metric CRS (UTM 39N).
"""
from dataclasses import dataclass

from psycopg import sql

UTM_SRID = 32639

TABLE = """
CREATE TEMP TABLE IF NOT EXISTS check_subjects (
  sid integer PRIMARY KEY,
  subject_type text NOT NULL,
  subject_id bigint,
  subject_ref text,
  parcel_id bigint,
  parcel geometry NOT NULL,
  parcel_area double precision NOT NULL,
  frontage double precision,
  zone_id integer,
  zone_code text,
  land_use text,
  isic text,
  floors integer,
  height double precision,
  footprint geometry,
  footprint_area double precision,
  occupied geometry NOT NULL,
  site geometry NOT NULL
) ON COMMIT DELETE ROWS
"""
INDEXES = (
    "CREATE INDEX IF NOT EXISTS check_subjects_occupied ON check_subjects USING gist (occupied)",
    "CREATE INDEX IF NOT EXISTS check_subjects_subject ON check_subjects (subject_id)",
)

# The zone of a registered parcel is its registered code in its district's zoning plan.
REGISTERED_ZONE = """
LEFT JOIN zoning z ON z.district_id = p.district_id AND z.code = p.zoning_code
"""
# The zone of a drawn parcel is the zoning polygon under it.
DRAWN_ZONE = """
LEFT JOIN LATERAL (SELECT z.id, z.code FROM zoning z
                   WHERE ST_Intersects(z.geom_utm, ST_PointOnSurface(x.g))
                   ORDER BY z.id LIMIT 1) z ON true
"""
COLUMNS = ("sid, subject_type, subject_id, subject_ref, parcel_id, parcel, parcel_area, frontage, "
           "zone_id, zone_code, land_use, isic, floors, height, footprint, footprint_area, "
           "occupied, site")


@dataclass(frozen=True)
class Proposal:
    """What is proposed on a parcel; geometries are EWKB (hex) in their own CRS, or None."""

    land_use: str | None = None
    isic: str | None = None
    floors: int | None = None
    height_m: float | None = None
    footprint: str | None = None
    footprint_area_m2: float | None = None
    site: str | None = None


def prepare(conn) -> None:
    """Start a check transaction: no JIT (it costs ~10 ms a statement), subjects table ready."""
    conn.execute("SET LOCAL jit = off")
    exists = conn.execute("SELECT to_regclass('pg_temp.check_subjects') IS NOT NULL").fetchone()
    if exists[0]:
        return
    conn.execute(TABLE)
    for statement in INDEXES:
        conn.execute(statement)


def _proposal_params(proposal: Proposal) -> dict:
    """The proposal as statement parameters."""
    return {"use": proposal.land_use, "isic": proposal.isic, "floors": proposal.floors,
            "height": proposal.height_m, "footprint": proposal.footprint,
            "footprint_area": proposal.footprint_area_m2, "site": proposal.site}


BUILDING = f"""
  %(isic)s::text, %(floors)s::integer, %(height)s::float8,
  ST_Transform(%(footprint)s::geometry, {UTM_SRID}), %(footprint_area)s::float8
"""


def add_registered_parcel(conn, subject_type: str, parcel_no: str, proposal: Proposal) -> bool:
    """Subject 0: a registered parcel by number with the proposal; False when there is none."""
    statement = f"""
    INSERT INTO check_subjects ({COLUMNS})
    SELECT 0, %(type)s, p.id, p.parcel_no, p.id, p.geom_utm, ST_Area(p.geom_utm), p.frontage_m,
           z.id, coalesce(z.code, p.zoning_code), coalesce(%(use)s::text, p.land_use),
           {BUILDING},
           coalesce(ST_Transform(%(footprint)s::geometry, {UTM_SRID}), p.geom_utm),
           coalesce(ST_Transform(%(site)s::geometry, {UTM_SRID}), p.geom_utm)
    FROM parcels p {REGISTERED_ZONE}
    WHERE p.parcel_no = %(parcel_no)s
    """
    params = {**_proposal_params(proposal), "type": subject_type, "parcel_no": parcel_no}
    return conn.execute(statement, params).rowcount == 1


def add_parcel_under_point(conn, subject_type: str, proposal: Proposal) -> bool:
    """Subject 0: the registered parcel under the proposal's site point; False when none."""
    statement = f"""
    INSERT INTO check_subjects ({COLUMNS})
    SELECT 0, %(type)s, p.id, p.parcel_no, p.id, p.geom_utm, ST_Area(p.geom_utm), p.frontage_m,
           z.id, coalesce(z.code, p.zoning_code), coalesce(%(use)s::text, p.land_use),
           {BUILDING},
           coalesce(ST_Transform(%(footprint)s::geometry, {UTM_SRID}), p.geom_utm), pt.g
    FROM (SELECT ST_Transform(%(site)s::geometry, {UTM_SRID}) g) pt
    JOIN LATERAL (SELECT * FROM parcels p WHERE ST_Intersects(p.geom_utm, pt.g)
                  ORDER BY p.id LIMIT 1) p ON true
    {REGISTERED_ZONE}
    """
    params = {**_proposal_params(proposal), "type": subject_type}
    return conn.execute(statement, params).rowcount == 1


def add_drawn_parcel(conn, subject_type: str, parcel: str, proposal: Proposal) -> None:
    """Subject 0: a parcel drawn by the client (EWKB) with the proposal."""
    statement = f"""
    INSERT INTO check_subjects ({COLUMNS})
    SELECT 0, %(type)s, NULL, NULL, NULL, x.g, ST_Area(x.g), NULL, z.id, z.code, %(use)s::text,
           {BUILDING},
           coalesce(ST_Transform(%(footprint)s::geometry, {UTM_SRID}), x.g),
           coalesce(ST_Transform(%(site)s::geometry, {UTM_SRID}), x.g)
    FROM (SELECT ST_Transform(%(parcel)s::geometry, {UTM_SRID}) g) x {DRAWN_ZONE}
    """
    conn.execute(statement, {**_proposal_params(proposal), "type": subject_type,
                             "parcel": parcel})


def subject_problems(conn, tolerance_m: float) -> dict:
    """Facts about subject 0 that make a check impossible (outside the city, footprint outside)."""
    row = conn.execute("""
    SELECT NOT EXISTS (SELECT 1 FROM municipalities m WHERE ST_Intersects(m.geom_utm, s.parcel)),
           s.footprint IS NOT NULL AND NOT ST_CoveredBy(s.footprint, ST_Buffer(s.parcel, %s)),
           NOT EXISTS (SELECT 1 FROM municipalities m WHERE ST_Intersects(m.geom_utm, s.site)),
           NOT ST_Intersects(s.site, ST_Buffer(s.parcel, %s)),
           s.zone_code IS NULL
    FROM check_subjects s WHERE s.sid = 0
    """, [tolerance_m, tolerance_m]).fetchone()
    keys = ("outside_city", "footprint_outside_parcel", "site_outside_city",
            "site_outside_parcel", "no_zone")
    return dict(zip(keys, row, strict=True))


def subject_facts(conn) -> dict:
    """What the check found about subject 0 (parcel, zone, areas) for the result document."""
    row = conn.execute("""
    SELECT s.subject_ref, s.parcel_id, s.zone_code, z.name_ar, z.name_en, s.land_use,
           round(s.parcel_area::numeric, 2), round(ST_Area(s.footprint)::numeric, 2),
           d.name_ar, d.name_en, ST_AsGeoJSON(ST_Transform(s.parcel, 4326), 7)::jsonb
    FROM check_subjects s
    LEFT JOIN zoning z ON z.id = s.zone_id
    LEFT JOIN parcels p ON p.id = s.parcel_id
    LEFT JOIN districts d ON d.id = p.district_id
    WHERE s.sid = 0
    """).fetchone()
    keys = ("parcel_no", "parcel_id", "zone", "zone_name_ar", "zone_name_en", "land_use",
            "parcel_area_m2", "footprint_area_m2", "district_ar", "district_en", "parcel")
    facts = dict(zip(keys, row, strict=True))
    for key in ("parcel_area_m2", "footprint_area_m2"):
        facts[key] = float(facts[key]) if facts[key] is not None else None
    return facts


@dataclass(frozen=True)
class Area:
    """Where a batch looks: a district, a municipality, a bbox (CRS84) or the whole city."""

    district: str | None = None
    municipality: str | None = None
    bbox: tuple[float, float, float, float] | None = None


def _area_condition(area: Area) -> tuple[sql.Composable, list]:
    """WHERE condition on parcels p selecting the area."""
    if area.district is not None:
        return sql.SQL("p.district_id = (SELECT id FROM districts WHERE code = %s)"), [
            area.district]
    if area.municipality is not None:
        return sql.SQL("p.district_id IN (SELECT d.id FROM districts d JOIN municipalities m "
                       "ON m.id = d.municipality_id WHERE m.code = %s)"), [area.municipality]
    if area.bbox is not None:
        return sql.SQL("p.geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326) AND "
                       "ST_Intersects(p.geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))"), [
            *area.bbox, *area.bbox]
    return sql.SQL("true"), []


def add_area(conn, area: Area) -> tuple[int, int]:
    """Every parcel of the area (as built) and every active licence on them; (parcels, licences)."""
    condition, params = _area_condition(area)
    parcels = conn.execute(sql.SQL(f"""
    INSERT INTO check_subjects ({COLUMNS})
    SELECT row_number() OVER (ORDER BY p.id), 'parcel', p.id, p.parcel_no, p.id, p.geom_utm,
           ST_Area(p.geom_utm), p.frontage_m, z.id, coalesce(z.code, p.zoning_code), p.land_use,
           NULL, NULL, NULL, NULL, NULL, p.geom_utm, p.geom_utm
    FROM parcels p {REGISTERED_ZONE}
    WHERE {{}}
    """).format(condition), params).rowcount
    licences = conn.execute(f"""
    INSERT INTO check_subjects ({COLUMNS})
    SELECT %s + row_number() OVER (ORDER BY l.id), 'licence', l.id, l.license_no, s.parcel_id,
           s.parcel, s.parcel_area, s.frontage, s.zone_id, s.zone_code, NULL, l.isic_code,
           NULL, NULL, NULL, NULL, s.parcel, l.geom_utm
    FROM licenses l JOIN check_subjects s ON s.subject_type = 'parcel'
                                         AND s.subject_id = l.parcel_id
    WHERE l.status = 'active'
    """, [parcels]).rowcount
    conn.execute("ANALYZE check_subjects")
    return parcels, licences
