"""The set of things a check looks at: `check_subjects`, a temporary table or a CTE.

A subject is a parcel (registered, or drawn by the client) or a licence site, with the proposal
made for it (use, activity, floors, height, footprint). The batch puts every parcel and active
licence of the area in a temporary table per connection (rows vanish at commit, ON COMMIT DELETE
ROWS); a single check makes its one subject a CTE of the same name from its parameters
(processing.single), which costs no catalog or table writes. The rule statements of
processing.checks work on either. All geometries are in the metric CRS (UTM 39N).
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
  %(isic)s::text AS isic, %(floors)s::integer AS floors, %(height)s::float8 AS height,
  ST_Transform(%(footprint)s::geometry, {UTM_SRID}) AS footprint,
  %(footprint_area)s::float8 AS footprint_area
"""
# Subject 0 of a single check, one SELECT per way of naming the parcel, with the names and types
# of the check_subjects columns: the same text fills the temporary table (INSERT ... SELECT) or
# stands in for it as a CTE named check_subjects (processing.single).
SUBJECT = {
    # a registered parcel by number
    "registered": f"""
    SELECT 0 AS sid, %(type)s::text AS subject_type, p.id AS subject_id,
           p.parcel_no AS subject_ref, p.id AS parcel_id, p.geom_utm AS parcel,
           ST_Area(p.geom_utm) AS parcel_area, p.frontage_m::float8 AS frontage, z.id AS zone_id,
           coalesce(z.code, p.zoning_code) AS zone_code,
           coalesce(%(use)s::text, p.land_use) AS land_use, {BUILDING},
           coalesce(ST_Transform(%(footprint)s::geometry, {UTM_SRID}), p.geom_utm) AS occupied,
           coalesce(ST_Transform(%(site)s::geometry, {UTM_SRID}), p.geom_utm) AS site
    FROM parcels p {REGISTERED_ZONE}
    WHERE p.parcel_no = %(parcel_no)s
    """,
    # the registered parcel under the proposal's site point
    "under_point": f"""
    SELECT 0 AS sid, %(type)s::text AS subject_type, p.id AS subject_id,
           p.parcel_no AS subject_ref, p.id AS parcel_id, p.geom_utm AS parcel,
           ST_Area(p.geom_utm) AS parcel_area, p.frontage_m::float8 AS frontage, z.id AS zone_id,
           coalesce(z.code, p.zoning_code) AS zone_code,
           coalesce(%(use)s::text, p.land_use) AS land_use, {BUILDING},
           coalesce(ST_Transform(%(footprint)s::geometry, {UTM_SRID}), p.geom_utm) AS occupied,
           pt.g AS site
    FROM (SELECT ST_Transform(%(site)s::geometry, {UTM_SRID}) g) pt
    JOIN LATERAL (SELECT * FROM parcels p WHERE ST_Intersects(p.geom_utm, pt.g)
                  ORDER BY p.id LIMIT 1) p ON true
    {REGISTERED_ZONE}
    """,
    # a parcel drawn by the client (EWKB)
    "drawn": f"""
    SELECT 0 AS sid, %(type)s::text AS subject_type, NULL::bigint AS subject_id,
           NULL::text AS subject_ref, NULL::bigint AS parcel_id, x.g AS parcel,
           ST_Area(x.g) AS parcel_area, NULL::float8 AS frontage, z.id AS zone_id,
           z.code AS zone_code, %(use)s::text AS land_use, {BUILDING},
           coalesce(ST_Transform(%(footprint)s::geometry, {UTM_SRID}), x.g) AS occupied,
           coalesce(ST_Transform(%(site)s::geometry, {UTM_SRID}), x.g) AS site
    FROM (SELECT ST_Transform(%(parcel)s::geometry, {UTM_SRID}) g) x {DRAWN_ZONE}
    """,
}


def add_registered_parcel(conn, subject_type: str, parcel_no: str, proposal: Proposal) -> bool:
    """Subject 0: a registered parcel by number with the proposal; False when there is none."""
    statement = f"INSERT INTO check_subjects ({COLUMNS}) {SUBJECT['registered']}"
    params = {**_proposal_params(proposal), "type": subject_type, "parcel_no": parcel_no}
    return conn.execute(statement, params).rowcount == 1


def _text(value) -> str | None:
    """A parameter value as text (the statements cast it), so its type never varies."""
    return None if value is None else str(value)


def subject_params(subject_type: str, proposal: Proposal, parcel_no: str | None = None,
                   parcel: str | None = None) -> dict:
    """Parameters of a SUBJECT statement, named as the columns they fill (checks.NEEDS reads
    them so) and all sent as text: psycopg would send 2 as int2 and 40000 as int4, and every
    new combination of types is a new prepared statement."""
    floors = None if proposal.floors is None else int(proposal.floors)
    height = None if proposal.height_m is None else float(proposal.height_m)
    area = None if proposal.footprint_area_m2 is None else float(proposal.footprint_area_m2)
    return {"type": subject_type, "use": proposal.land_use, "isic": proposal.isic,
            "floors": _text(floors), "height": _text(height), "footprint": proposal.footprint,
            "footprint_area": _text(area), "site": proposal.site, "parcel_no": parcel_no,
            "parcel": parcel}


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
