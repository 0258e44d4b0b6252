"""GET /districts/{id}: what the map's district popup tells a citizen about a district.

Its names, its municipality, its area, how many parcels and shop licences it has, and its
bounding box. One statement on indexes of the base schema: the parcels of a district through
`parcels_district_id_idx` (index only), their licences through `licenses_parcel_id_idx`, so a
click stays around a millisecond of database time on a 200,000-parcel city.
Public catalogue fields only.
"""
from __future__ import annotations

from psycopg.rows import dict_row
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from kernel.errors import NotFound
from layers.database import Database

MAX_ID = 2**31 - 1       # districts.id is an integer
NOT_FOUND = "district not found"

# The parcel ids of the district are read once (index-only) and counted; its licences are
# looked up by those ids (`= ANY`, an index scan): a join would let the planner read the whole
# licences table for their status.
SUMMARY = """
SELECT d.id, d.code, d.name_ar, d.name_en, m.code AS municipality_code,
       m.name_ar AS municipality_ar, m.name_en AS municipality_en,
       round(ST_Area(d.geom_utm)::numeric, 0)::float8 AS area_m2,
       cardinality(p.ids) AS parcels, l.total AS licenses, l.active AS active_licenses,
       ARRAY[round(ST_XMin(d.geom)::numeric, 6), round(ST_YMin(d.geom)::numeric, 6),
             round(ST_XMax(d.geom)::numeric, 6), round(ST_YMax(d.geom)::numeric, 6)]::float8[]
         AS bbox
FROM districts d
JOIN municipalities m ON m.id = d.municipality_id,
LATERAL (SELECT ARRAY(SELECT p.id FROM parcels p WHERE p.district_id = d.id) AS ids) p,
LATERAL (SELECT count(*) AS total, count(*) FILTER (WHERE x.status = 'active') AS active
         FROM licenses x WHERE x.parcel_id = ANY (p.ids)) l
WHERE d.id = %(id)s
"""


def summary(db: Database, district_id: int) -> dict:
    """The popup facts of one district; NotFound when there is no such district."""
    if not 1 <= district_id <= MAX_ID:
        raise NotFound(NOT_FOUND)

    def work(conn):
        with conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(SUMMARY, {"id": district_id}).fetchone()

    row = db.run(work)
    if row is None:
        raise NotFound(NOT_FOUND)
    return _document(row)


def _document(row: dict) -> dict:
    """A summary row as JSON (area also in km² and hectares)."""
    area = row["area_m2"]
    return {
        "id": row["id"], "code": row["code"], "name_ar": row["name_ar"], "name_en": row["name_en"],
        "municipality": {"code": row["municipality_code"], "name_ar": row["municipality_ar"],
                         "name_en": row["municipality_en"]},
        "area_m2": area, "area_km2": round(area / 1e6, 3), "area_ha": round(area / 1e4, 1),
        "parcels": row["parcels"], "licenses": row["licenses"],
        "active_licenses": row["active_licenses"], "bbox": row["bbox"],
    }


def district_endpoint(db: Database):
    """GET /districts/{district_id} on this database."""

    async def endpoint(request: Request) -> JSONResponse:
        body = await run_in_threadpool(summary, db, request.path_params["district_id"])
        return JSONResponse(body, headers={"Cache-Control": "public, max-age=60"})

    return endpoint
