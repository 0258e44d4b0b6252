"""Permit-check rules measured on hand-built geometry (a scratch database, exact numbers).

The little city is drawn in UTM 39N metres around a local origin and stored as lon/lat, as real
data would be: one municipality and district (1 km²), a street along its southern edge (20 m
right of way), an R1 zone (south half) and a C1 zone (north half), a few parcels, a utility
easement and a school.
"""
import json
from pathlib import Path

import numpy as np
import psycopg
import pytest
import shapely
import shapely.affinity
from pyproj import Transformer
from shapely.geometry import LineString, Point, box

from layers import migrate
from processing import engine, inputs, rules
from processing.errors import CheckInputError, UnknownParcel
from tests.support.databases import configured_url, scratch_database

E0, N0 = 400_000.0, 2_918_000.0          # local origin, UTM 39N (near Dammam)
RULES = Path(__file__).resolve().parent.parent / "processing" / "rules" / "dammam.yml"
_TO_LONLAT = Transformer.from_crs(32639, 4326, always_xy=True)
_TO_UTM = Transformer.from_crs(4326, 32639, always_xy=True)


def _apply(transformer, geom):
    """A geometry through a pyproj transformer."""
    return shapely.transform(geom, lambda xy: np.column_stack(
        transformer.transform(xy[:, 0], xy[:, 1])))


def utm(geom):
    """Local metres to UTM."""
    return shapely.affinity.translate(geom, E0, N0)


def lonlat(geom):
    """Local metres to lon/lat (what is stored and what clients send)."""
    return _apply(_TO_LONLAT, utm(geom))


def ewkt(geom, multi: bool = False) -> str:
    """EWKT in lon/lat, as a MultiPolygon when asked."""
    geom = lonlat(geom)
    if multi and geom.geom_type == "Polygon":
        geom = shapely.MultiPolygon([geom])
    return f"SRID=4326;{geom.wkt}"


PARCELS = {   # parcel_no: (local box, zone, land use)
    "T-1-1": ((100, 0, 120, 30), "R1", "residential"),      # fronts the street along y = 0
    "T-1-2": ((130, 0, 150, 30), "R1", "residential"),      # overlaps the easement by 5 x 30 m
    "T-2-1": ((320, 580, 400, 640), "C1", "commercial"),    # a shop site north of the school
}
EASEMENT = (120, -50, 135, 400)
SCHOOL = (300.0, 600.0)


def _build(conn) -> None:
    """Insert the hand-built city."""
    everything = box(-200, -200, 1200, 1200)
    conn.execute("INSERT INTO municipalities (id, code, name_ar, name_en, geom) VALUES "
                 "(1, 'TST', 'اختبار', 'Test', %s)", [ewkt(everything, True)])
    conn.execute("INSERT INTO districts (id, code, municipality_id, name_ar, name_en, geom) "
                 "VALUES (1, 'TST-01', 1, 'حي', 'District', %s)", [ewkt(everything, True)])
    conn.execute("INSERT INTO streets (name_ar, name_en, kind, width_m, row_m, district_id, geom) "
                 "VALUES ('شارع', 'Street', 'local', 12, 20, 1, %s)",
                 [ewkt(LineString([(-100, -10), (1100, -10)]))])
    for code, area, front in (("R1", (0, 0, 1000, 500), 6), ("C1", (0, 500, 1000, 1000), 3)):
        conn.execute(
            "INSERT INTO zoning (code, name_ar, name_en, district_id, allowed_uses, "
            "max_coverage_pct, max_floors, max_height_m, setback_front_m, setback_side_m, "
            "setback_rear_m, geom) "
            "VALUES (%s, %s, %s, 1, '{residential}', 60, 2, 12, %s, 2, 2, %s)",
            [code, code, code, front, ewkt(box(*area), True)])
    for number, (area, zone, use) in PARCELS.items():
        x0, _, x1, _ = area
        conn.execute(
            "INSERT INTO parcels (parcel_no, plan_no, block_no, district_id, area_m2, frontage_m, "
            "land_use, zoning_code, geom) VALUES (%s, '1', '1', 1, %s, %s, %s, %s, %s)",
            [number, box(*area).area, x1 - x0, use, zone, ewkt(box(*area), True)])
    conn.execute("INSERT INTO constraints (kind, severity, name_ar, name_en, description_ar, "
                 "description_en, geom) VALUES ('utility_easement', 'blocking', 'حرم', 'Easement', "
                 "'', '', %s)", [ewkt(box(*EASEMENT), True)])
    conn.execute("INSERT INTO facilities (kind, name_ar, name_en, district_id, opening_hours, "
                 "geom) VALUES ('school', 'مدرسة', 'School', 1, '', %s)", [ewkt(Point(SCHOOL))])


@pytest.fixture(scope="module")
def city_url():
    """A scratch database holding only the hand-built city."""
    with scratch_database(configured_url()) as url:
        migrate.upgrade(url)
        with psycopg.connect(url, autocommit=True) as conn:
            _build(conn)
        yield url


@pytest.fixture
def conn(city_url):
    """A connection whose work is rolled back after the test."""
    with psycopg.connect(city_url) as connection:
        yield connection
        connection.rollback()


@pytest.fixture(scope="module")
def ruleset():
    """The Dammam rules file."""
    return rules.load(RULES)


def geojson(geom) -> dict:
    """A local-metre geometry as a CRS84 GeoJSON dict (as a client would send it)."""
    return json.loads(shapely.to_geojson(lonlat(geom)))


def parcel_check(conn, ruleset, **values) -> dict:
    """Run parcel-check in the test's transaction; {rule id: result}."""
    request = inputs.parcel_check(values, ruleset)
    body = engine.check_parcel(conn, ruleset, request)
    return {item["rule"]: item for item in body["rules"]} | {"_verdict": body["verdict"]}


def site_check(conn, ruleset, xy, activity="5630") -> dict:
    """Run license-site-check at a local point; {rule id: result}."""
    request = inputs.site_check({"activity": activity, "location": geojson(Point(xy))}, ruleset)
    body = engine.check_site(conn, ruleset, request)
    return {item["rule"]: item for item in body["rules"]} | {"_verdict": body["verdict"]}


def test_footprint_exactly_on_the_setback_lines_passes(conn, ruleset):
    result = parcel_check(conn, ruleset, parcel_no="T-1-1", footprint=geojson(box(102, 6, 118, 28)))
    for rule_id in ("setback-front", "setback-side", "setback-rear"):
        assert result[rule_id]["status"] == "pass", result[rule_id]
    assert result["setback-front"]["measured"] == pytest.approx(6.0, abs=1e-3)
    assert result["setback-front"]["limit"] == 6


def test_footprint_one_centimetre_into_the_front_setback_fails(conn, ruleset):
    result = parcel_check(conn, ruleset, parcel_no="T-1-1",
                          footprint=geojson(box(102, 5.99, 118, 28)))
    front = result["setback-front"]
    assert front["status"] == "fail"
    assert front["measured"] == pytest.approx(5.99, abs=1e-3)
    assert result["setback-side"]["status"] == result["setback-rear"]["status"] == "pass"
    assert result["_verdict"] == "refused"


def test_setback_evidence_is_the_part_of_the_footprint_inside_the_setback(conn, ruleset):
    result = parcel_check(conn, ruleset, parcel_no="T-1-1", footprint=geojson(box(102, 4, 118, 28)))
    evidence = _apply(_TO_UTM, shapely.geometry.shape(result["setback-front"]["evidence"]))
    assert evidence.area == pytest.approx(16 * 2, rel=1e-3)   # the 2 m strip y 4..6


def test_side_and_rear_edges_are_told_apart_from_the_street_front(conn, ruleset):
    result = parcel_check(conn, ruleset, parcel_no="T-1-1", footprint=geojson(box(101, 6, 118, 29)))
    assert result["setback-side"]["status"] == "fail"
    assert result["setback-side"]["measured"] == pytest.approx(1.0, abs=1e-3)
    assert result["setback-rear"]["status"] == "fail"
    assert result["setback-rear"]["measured"] == pytest.approx(1.0, abs=1e-3)


def test_coverage_exactly_at_the_limit_passes_and_just_above_fails(conn, ruleset):
    at_limit = parcel_check(conn, ruleset, parcel_no="T-1-1", footprint_area_m2=360)   # 60 % of 600
    assert at_limit["coverage"]["status"] == "pass"
    assert at_limit["coverage"]["measured"] == pytest.approx(60.0, abs=1e-3)
    conn.rollback()
    above = parcel_check(conn, ruleset, parcel_no="T-1-1", footprint_area_m2=360.1)
    assert above["coverage"]["status"] == "fail"


def test_coverage_of_a_footprint_polygon_exactly_at_the_limit_passes(conn, ruleset):
    result = parcel_check(conn, ruleset, parcel_no="T-1-1", footprint=geojson(box(102, 6, 120, 26)))
    assert result["coverage"]["measured"] == pytest.approx(60.0, abs=1e-3)
    assert result["coverage"]["status"] == "pass"


def test_parcel_touching_an_easement_along_an_edge_is_not_an_overlap(conn, ruleset):
    result = parcel_check(conn, ruleset, parcel_no="T-1-1")
    assert result["easement"]["status"] == "pass"
    assert result["easement"]["measured"] == 0


def test_parcel_crossing_an_easement_fails_with_the_overlap_as_evidence(conn, ruleset):
    result = parcel_check(conn, ruleset, parcel_no="T-1-2")
    assert result["easement"]["status"] == "fail"
    assert result["easement"]["measured"] == pytest.approx(150.0, abs=0.01)   # 5 m x 30 m
    overlap = _apply(_TO_UTM, shapely.geometry.shape(result["easement"]["evidence"]))
    assert overlap.area == pytest.approx(150.0, abs=0.5)   # evidence is rounded to ~1 cm


def test_cafe_49_9_m_from_a_school_fails_and_50_m_passes(conn, ruleset):
    near = site_check(conn, ruleset, (SCHOOL[0] + 49.9, SCHOOL[1]))
    assert near["cafe-distance"]["status"] == "fail"
    assert near["cafe-distance"]["measured"] == pytest.approx(49.9, abs=1e-3)
    conn.rollback()
    far = site_check(conn, ruleset, (SCHOOL[0] + 50.0, SCHOOL[1]))
    assert far["cafe-distance"]["status"] == "pass"
    assert far["cafe-distance"]["measured"] == pytest.approx(50.0, abs=1e-3)


def test_distance_agrees_with_a_pyproj_utm_computation(conn, ruleset):
    site = lonlat(Point(337.123, 611.456))
    request = inputs.site_check({"activity": "5630",
                                 "location": json.loads(shapely.to_geojson(site))}, ruleset)
    body = engine.check_site(conn, ruleset, request)
    measured = next(r for r in body["rules"] if r["rule"] == "cafe-distance")["measured"]
    school = Point(_TO_UTM.transform(*lonlat(Point(SCHOOL)).coords[0]))
    expected = Point(_TO_UTM.transform(site.x, site.y)).distance(school)
    assert measured == pytest.approx(expected, abs=0.1)


def test_distance_evidence_is_the_line_to_the_nearest_school(conn, ruleset):
    result = site_check(conn, ruleset, (SCHOOL[0] + 40, SCHOOL[1]))
    line = result["cafe-distance"]["evidence"]
    assert line["type"] == "LineString"
    end = _apply(_TO_UTM, Point(line["coordinates"][-1]))
    assert end.distance(utm(Point(SCHOOL))) < 0.01


def test_changing_a_number_in_the_rules_file_changes_the_verdict(conn, ruleset):
    xy = (SCHOOL[0] + 55, SCHOOL[1])
    assert site_check(conn, ruleset, xy)["cafe-distance"]["status"] == "pass"
    conn.rollback()
    stricter = rules.parse(RULES.read_text(encoding="utf-8").replace(
        "min_distance_m: 50", "min_distance_m: 60"), "stricter.yml")
    result = site_check(conn, stricter, xy)
    assert result["cafe-distance"]["status"] == "fail"
    assert result["cafe-distance"]["limit"] == 60


def test_a_new_rule_of_an_existing_kind_needs_no_code(conn, ruleset):
    extra = """
  - id: cafe-distance-clinic
    kind: facility_distance
    facility_kinds: [school]
    min_distance_m: 200
    title: {ar: بعد إضافي, en: Extra distance}
    reference: "test"
    severity: warning
    message: {ar: "بعيد {measured}", en: "only {measured} m"}
    applies_to: {activities: ["5630"]}
"""
    extended = rules.parse(RULES.read_text(encoding="utf-8") + extra, "extended.yml")
    result = site_check(conn, extended, (SCHOOL[0] + 55, SCHOOL[1]))
    assert result["cafe-distance-clinic"]["status"] == "warn"
    assert result["cafe-distance-clinic"]["message"]["en"] == "only 55 m"
    assert result["_verdict"] == "allowed_with_warnings"


def test_zoning_refuses_an_activity_the_zone_does_not_allow(conn, ruleset):
    result = parcel_check(conn, ruleset, parcel_no="T-1-1", activity="5630")
    assert result["zoning-activity"]["status"] == "fail"
    assert "5630" in result["zoning-activity"]["message"]["en"]
    assert result["zoning-activity"]["message"]["ar"]


def test_rules_that_do_not_apply_say_so(conn, ruleset):
    result = parcel_check(conn, ruleset, parcel_no="T-1-1")
    assert result["coverage"]["status"] == "not-applicable"
    assert result["pharmacy-density"]["status"] == "not-applicable"


def test_unknown_parcel_is_not_found(conn, ruleset):
    with pytest.raises(UnknownParcel):
        parcel_check(conn, ruleset, parcel_no="T-9-9")


def test_footprint_outside_its_parcel_is_refused(conn, ruleset):
    with pytest.raises(CheckInputError, match="not inside its parcel"):
        parcel_check(conn, ruleset, parcel_no="T-1-1", footprint=geojson(box(110, 6, 125, 20)))


def test_drawn_parcel_outside_the_city_is_refused(conn, ruleset):
    far = json.loads(shapely.to_geojson(box(10.0, 10.0, 10.001, 10.001)))
    with pytest.raises(CheckInputError, match="outside the municipality"):
        parcel_check(conn, ruleset, parcel=far)


def test_drawn_parcel_is_checked_like_a_registered_one(conn, ruleset):
    result = parcel_check(conn, ruleset, parcel=geojson(box(100, 0, 120, 30)), use="residential",
                          footprint=geojson(box(102, 5.99, 118, 28)))
    assert result["setback-front"]["status"] == "fail"
    assert result["parcel-frontage"]["measured"] == pytest.approx(20.0, abs=1e-3)
