"""Where a point falls: its district and municipality (layers districts and municipalities)."""
from __future__ import annotations

from dataclasses import dataclass

from citizens.errors import OutsideJurisdiction

LOCATE = """
SELECT d.code, d.name_ar, d.name_en, m.code, m.name_ar, m.name_en
FROM districts d JOIN municipalities m ON m.id = d.municipality_id
WHERE ST_Intersects(d.geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326))
ORDER BY d.id LIMIT 1
"""


@dataclass(frozen=True)
class Place:
    """The district and municipality of a point."""

    district_code: str
    district_ar: str
    district_en: str
    municipality_code: str
    municipality_ar: str
    municipality_en: str


def locate(conn, lon: float, lat: float) -> Place:
    """The district holding the point (the lowest id on a shared edge); OutsideJurisdiction
    when no district of the Amana holds it."""
    row = conn.execute(LOCATE, [lon, lat]).fetchone()
    if row is None:
        raise OutsideJurisdiction(
            "the point is outside every district of the Amana; check lat and long",
            "النقطة خارج نطاق جميع أحياء الأمانة؛ تحقق من خط العرض وخط الطول")
    return Place(*row)
