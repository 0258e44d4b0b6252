"""The published layers: which table backs each collection and which columns are public.

This is the one place that decides what leaves the database. A column that is not listed in
`fields` is never selected by a provider; personal-data columns are listed in `personal` so a
test can prove they exist in the schema and never appear in a response.
"""
from dataclasses import dataclass, field

STRING = {"type": "string"}
INTEGER = {"type": "integer"}
NUMBER = {"type": "number"}
DATE = {"type": "string", "format": "date"}
DATETIME = {"type": "string", "format": "date-time"}
STRINGS = {"type": "array", "items": {"type": "string"}}


@dataclass(frozen=True, eq=False)  # identity hash: layers are singletons, usable as cache keys
class Layer:
    """One published collection and the table behind it."""

    id: str
    table: str
    geometry_type: str
    fields: dict[str, dict]
    title_field: str | None = None
    time_field: str | None = None
    personal: frozenset[str] = field(default_factory=frozenset)
    id_field: str = "id"
    geometry_column: str = "geom"
    metric_geometry_column: str = "geom_utm"


NAMES = {"name_ar": STRING, "name_en": STRING}

LAYERS: dict[str, Layer] = {
    layer.id: layer
    for layer in (
        Layer("municipalities", "municipalities", "MultiPolygon",
              {"code": STRING, **NAMES}, title_field="name_en"),
        Layer("districts", "districts", "MultiPolygon",
              {"code": STRING, "municipality_id": INTEGER, **NAMES}, title_field="name_en"),
        Layer("streets", "streets", "LineString",
              {**NAMES, "kind": STRING, "width_m": NUMBER, "row_m": NUMBER,
               "district_id": INTEGER}, title_field="name_en"),
        Layer("zoning", "zoning", "MultiPolygon",
              {"code": STRING, **NAMES, "district_id": INTEGER, "allowed_uses": STRINGS,
               "allowed_isic": STRINGS, "max_coverage_pct": NUMBER, "max_floors": INTEGER,
               "max_height_m": NUMBER, "setback_front_m": NUMBER, "setback_side_m": NUMBER,
               "setback_rear_m": NUMBER}, title_field="code"),
        Layer("parcels", "parcels", "MultiPolygon",
              {"parcel_no": STRING, "plan_no": STRING, "block_no": STRING,
               "district_id": INTEGER, "area_m2": NUMBER, "frontage_m": NUMBER,
               "land_use": STRING, "zoning_code": STRING}, title_field="parcel_no"),
        Layer("constraints", "constraints", "MultiPolygon",
              {"kind": STRING, "severity": STRING, "risk_level": STRING,
               "max_height_m": NUMBER, **NAMES, "description_ar": STRING,
               "description_en": STRING}, title_field="name_en"),
        Layer("facilities", "facilities", "Point",
              {"kind": STRING, **NAMES, "district_id": INTEGER, "parcel_id": INTEGER,
               "opening_hours": STRING}, title_field="name_en"),
        Layer("licenses", "licenses", "Point",
              {"license_no": STRING, "isic_code": STRING, "activity_ar": STRING,
               "activity_en": STRING, "trade_name_ar": STRING, "trade_name_en": STRING,
               "status": STRING, "issue_date": DATE, "expiry_date": DATE,
               "shop_area_m2": NUMBER, "parcel_id": INTEGER, "updated_at": DATETIME},
              title_field="trade_name_en", time_field="issue_date",
              personal=frozenset({"holder_national_id", "holder_phone"})),
        Layer("panoramas", "panoramas", "Point",
              {"sequence_id": STRING, "sequence_index": INTEGER, "captured_at": DATETIME,
               "heading_deg": NUMBER, "image_ref": STRING, "street_id": INTEGER},
              title_field="image_ref", time_field="captured_at"),
        Layer("inspections", "inspections", "Point",
              {"license_id": INTEGER, "visited_at": DATETIME, "result": STRING},
              time_field="visited_at",   # notes and violations: staff only (feature_rules)
              personal=frozenset({"notes", "violations", "client_id", "created_by"})),
    )
}

# The collections published through OGC API (municipalities are context, served to the map only).
COLLECTIONS = ("districts", "streets", "parcels", "zoning", "constraints", "facilities",
               "licenses", "panoramas", "inspections")


def layer_for_table(table: str) -> Layer:
    """The catalogue entry for a table name; KeyError for tables that are not published."""
    for layer in LAYERS.values():
        if layer.table == table:
            return layer
    raise KeyError(table)
