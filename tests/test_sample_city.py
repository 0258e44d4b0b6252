"""The sample city: generation is deterministic, the loaded layers are valid and consistent."""
import hashlib

import numpy as np
import psycopg
import pytest
import shapely
from psycopg import sql

from data import load
from data.city import MIN_PARCELS, REFERENCE_DATE, generate
from layers import migrate
from tests.support.databases import SAMPLE_PARCELS, SAMPLE_SEED, configured_url, scratch_database


@pytest.fixture(scope="module")
def database_url():
    """A pristine sample city in a database of its own: other test modules edit the shared one
    (licences, inspections), and these tests check what the generator made."""
    with scratch_database(configured_url()) as url:
        migrate.upgrade(url)
        load.load_sample_city(url, parcels=SAMPLE_PARCELS, seed=SAMPLE_SEED, progress=False)
        yield url


@pytest.fixture(scope="module")
def db(database_url):
    """An autocommit connection to the pristine city."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn

TABLES = ("municipalities", "districts", "streets", "zoning", "parcels", "constraints",
          "facilities", "licenses", "panoramas", "inspections")


def _fingerprint(city) -> str:
    digest = hashlib.sha256()
    for table, columns in city.tables():
        for name, values in columns.items():
            digest.update(f"{table}.{name}".encode())
            if name == "geom":
                digest.update(b"".join(shapely.to_wkb(np.asarray(values)).tolist()))
            else:
                plain = values.tolist() if isinstance(values, np.ndarray) else list(values)
                digest.update(repr(plain).encode())
    return digest.hexdigest()


def _one(db, query: str, *params):
    return db.execute(query, params).fetchone()[0]


def _snapshot(url: str) -> dict:
    with psycopg.connect(url) as conn:
        counts = {t: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t)))
                  .fetchone()[0] for t in TABLES}
        digest = conn.execute(
            "SELECT md5(string_agg(parcel_no || ST_AsEWKB(geom)::text, ',' ORDER BY id))"
            " FROM parcels").fetchone()[0]
    return {**counts, "parcels_md5": digest}


# Generation

def test_same_seed_generates_the_same_city():
    assert _fingerprint(generate(2000, 7)) == _fingerprint(generate(2000, 7))


def test_another_seed_generates_another_city():
    assert _fingerprint(generate(2000, 7)) != _fingerprint(generate(2000, 8))


def test_too_small_a_city_is_refused():
    with pytest.raises(ValueError):
        generate(MIN_PARCELS - 1, 1)


@pytest.mark.parametrize("requested", [MIN_PARCELS, 2000, 20000])
def test_parcel_count_is_within_ten_percent_of_requested(requested):
    parcels = generate(requested, 11).counts()["parcels"]
    assert abs(parcels - requested) <= 0.1 * requested


# Geometry

@pytest.mark.parametrize("table", TABLES)
def test_every_geometry_is_valid(db, table):
    query = sql.SQL("SELECT count(*) FROM {} WHERE NOT ST_IsValid(geom)").format(
        sql.Identifier(table))
    assert db.execute(query).fetchone()[0] == 0


def test_parcels_do_not_overlap(db):
    assert _one(db, """
        SELECT count(*) FROM parcels a JOIN parcels b
          ON a.id < b.id AND a.geom_utm && b.geom_utm AND ST_Intersects(a.geom_utm, b.geom_utm)
        WHERE ST_Area(ST_Intersection(a.geom_utm, b.geom_utm)) > 0.01""") == 0


def test_parcels_lie_inside_their_district(db):
    assert _one(db, """
        SELECT count(*) FROM parcels p JOIN districts d ON d.id = p.district_id
        WHERE NOT ST_CoveredBy(p.geom_utm, ST_Buffer(d.geom_utm, 0.01))""") == 0


def test_districts_lie_inside_their_municipality(db):
    assert _one(db, """
        SELECT count(*) FROM districts d JOIN municipalities m ON m.id = d.municipality_id
        WHERE NOT ST_CoveredBy(d.geom_utm, ST_Buffer(m.geom_utm, 0.01))""") == 0


def test_districts_tile_their_municipality(db):
    gaps = db.execute("""
        SELECT m.id, abs(ST_Area(m.geom_utm) - sum(ST_Area(d.geom_utm)))
        FROM municipalities m JOIN districts d ON d.municipality_id = m.id
        GROUP BY m.id, m.geom_utm""").fetchall()
    assert len(gaps) == 5 and max(gap for _, gap in gaps) < 1.0


def test_parcel_area_is_the_metric_area_of_its_geometry(db):
    assert _one(db, "SELECT max(abs(area_m2 - ST_Area(geom_utm))) FROM parcels") < 0.05


def test_licence_points_lie_inside_their_parcel(db):
    assert _one(db, """
        SELECT count(*) FROM licenses l JOIN parcels p ON p.id = l.parcel_id
        WHERE NOT ST_Within(l.geom, p.geom)""") == 0


def test_facilities_lie_inside_their_district(db):
    assert _one(db, """
        SELECT count(*) FROM facilities f JOIN districts d ON d.id = f.district_id
        WHERE NOT ST_Within(f.geom, d.geom)""") == 0


def test_facilities_stand_on_public_or_park_parcels(db):
    assert _one(db, """
        SELECT count(*) FROM facilities f JOIN parcels p ON p.id = f.parcel_id
        WHERE p.land_use NOT IN ('public', 'park') OR NOT ST_Within(f.geom, p.geom)
           OR p.district_id <> f.district_id""") == 0


# Zoning

def test_parcel_zoning_code_is_the_code_of_the_zoning_polygon_under_it(db):
    assert _one(db, """
        SELECT count(*) FROM (
          SELECT p.zoning_code, array_agg(z.code) AS codes
          FROM parcels p LEFT JOIN zoning z
            ON z.geom_utm && p.geom_utm AND ST_Contains(z.geom_utm, ST_PointOnSurface(p.geom_utm))
          GROUP BY p.id, p.zoning_code) s
        WHERE s.codes IS DISTINCT FROM ARRAY[s.zoning_code]""") == 0


def test_parcel_land_use_is_allowed_by_its_zoning(db):
    assert _one(db, """
        SELECT count(*) FROM parcels p
        JOIN zoning z ON z.district_id = p.district_id AND z.code = p.zoning_code
        WHERE NOT p.land_use = ANY (z.allowed_uses)""") == 0


def test_zoning_has_one_polygon_per_district_and_code(db):
    assert _one(db, """
        SELECT count(*) FROM (SELECT 1 FROM zoning GROUP BY district_id, code
                              HAVING count(*) > 1) s""") == 0


def test_licence_activity_is_allowed_by_its_parcel_zoning(db):
    assert _one(db, """
        SELECT count(*) FROM licenses l JOIN parcels p ON p.id = l.parcel_id
        JOIN zoning z ON z.district_id = p.district_id AND z.code = p.zoning_code
        WHERE NOT EXISTS (SELECT 1 FROM unnest(z.allowed_isic) a
                          WHERE starts_with(l.isic_code, a))""") == 0


# Counts and names

def test_parcel_numbers_are_unique(db):
    assert _one(db, "SELECT count(*) - count(DISTINCT parcel_no) FROM parcels") == 0


def test_licences_number_about_an_eighth_of_the_parcels(db):
    share = _one(db, "SELECT (SELECT count(*) FROM licenses)::float / count(*) FROM parcels")
    assert 0.11 <= share <= 0.16


def test_all_five_municipalities_are_present(db):
    rows = db.execute("SELECT name_en, name_ar FROM municipalities").fetchall()
    assert sorted(rows) == sorted([
        ("Central Dammam", "وسط الدمام"), ("Dhahran", "الظهران"), ("East Dammam", "شرق الدمام"),
        ("Khobar", "الخبر"), ("West Dammam", "غرب الدمام")])


def test_arterials_have_no_district_and_other_streets_have_one(db):
    assert _one(db, """
        SELECT count(*) FROM streets
        WHERE (kind = 'arterial') <> (district_id IS NULL)""") == 0


def test_every_district_has_a_park_a_clinic_a_school_and_mosques(db):
    assert _one(db, """
        SELECT count(*) FROM (
          SELECT d.id,
                 count(*) FILTER (WHERE f.kind = 'park') AS parks,
                 count(*) FILTER (WHERE f.kind = 'clinic') AS clinics,
                 count(*) FILTER (WHERE f.kind = 'school') AS schools,
                 count(*) FILTER (WHERE f.kind = 'mosque') AS mosques
          FROM districts d LEFT JOIN facilities f ON f.district_id = d.id GROUP BY d.id) s
        WHERE parks < 1 OR clinics < 1 OR schools < 1 OR mosques < 2""") == 0


def test_every_municipality_has_a_hospital_office_police_and_civil_defence(db):
    rows = db.execute("""
        SELECT d.municipality_id, array_agg(f.kind ORDER BY f.kind)
        FROM facilities f JOIN districts d ON d.id = f.district_id
        WHERE f.kind IN ('hospital', 'municipal_office', 'police', 'civil_defence')
        GROUP BY d.municipality_id""").fetchall()
    assert len(rows) == 5
    assert all(kinds == ["civil_defence", "hospital", "municipal_office", "police"]
               for _, kinds in rows)


def test_constraints_include_every_kind(db):
    kinds = {k for (k,) in db.execute("SELECT DISTINCT kind FROM constraints")}
    assert kinds == {"flood_risk", "utility_easement", "heritage_buffer", "airport_height"}


# Licences and inspections

def test_expired_licences_expired_before_the_reference_date(db):
    assert _one(db, """SELECT count(*) FROM licenses
                       WHERE status = 'expired' AND expiry_date >= %s""", REFERENCE_DATE) == 0


def test_active_licences_are_valid_on_the_reference_date(db):
    assert _one(db, """SELECT count(*) FROM licenses WHERE status = 'active'
                       AND NOT (issue_date <= %s AND expiry_date >= %s)""",
                REFERENCE_DATE, REFERENCE_DATE) == 0


def test_most_licences_are_active(db):
    share = _one(db, "SELECT avg((status = 'active')::int)::float FROM licenses")
    assert 0.65 <= share <= 0.85


def test_licence_holder_ids_carry_a_valid_check_digit(db):
    def luhn_ok(number: str) -> bool:
        total = 0
        for i, ch in enumerate(number):
            d = int(ch) * (2 if i % 2 == 0 else 1)
            total += d // 10 + d % 10
        return total % 10 == 0

    ids = [i for (i,) in db.execute("SELECT holder_national_id FROM licenses")]
    assert ids and all(luhn_ok(i) for i in ids)


def test_inspections_fall_between_issue_and_reference_date(db):
    assert _one(db, """
        SELECT count(*) FROM inspections i JOIN licenses l ON l.id = i.license_id
        WHERE i.visited_at::date <= l.issue_date OR i.visited_at::date >= %s""",
                REFERENCE_DATE) == 0


def test_inspections_are_located_at_their_licence(db):
    assert _one(db, """
        SELECT count(*) FROM inspections i JOIN licenses l ON l.id = i.license_id
        WHERE NOT ST_Equals(i.geom, l.geom)""") == 0


# Panoramas

def _panorama_steps(db, expression: str) -> list:
    query = f"""
        SELECT {expression} FROM (
          SELECT p.*, lead(geom) OVER w AS next_geom, lead(geom_utm) OVER w AS next_utm,
                 lead(captured_at) OVER w AS next_at
          FROM panoramas p WINDOW w AS (PARTITION BY sequence_id ORDER BY sequence_index)) s
        WHERE next_geom IS NOT NULL"""
    return [row[0] for row in db.execute(query)]


def test_panoramas_are_about_ten_metres_apart(db):
    steps = _panorama_steps(db, "ST_Distance(geom_utm, next_utm)")
    assert steps and 9.5 <= min(steps) and max(steps) <= 10.5


def test_panorama_headings_follow_the_direction_of_travel(db):
    gaps = _panorama_steps(db, """
        abs(mod((heading_deg - degrees(ST_Azimuth(geom::geography, next_geom::geography)))
                 ::numeric + 540, 360) - 180)""")
    assert max(gaps) < 3


def test_panorama_capture_times_advance_about_a_second_and_a_half(db):
    steps = _panorama_steps(db, "extract(epoch FROM next_at - captured_at)::float")
    assert 1.2 <= min(steps) and max(steps) <= 1.8


def test_panoramas_come_in_a_handful_of_sequences(db):
    assert 3 <= _one(db, "SELECT count(DISTINCT sequence_id) FROM panoramas") <= 8


# Loading

def test_identity_sequences_continue_after_the_largest_id(db):
    for table in TABLES:
        last, top = db.execute(sql.SQL(
            "SELECT pg_sequence_last_value(pg_get_serial_sequence(%s, 'id')), max(id) FROM {}")
            .format(sql.Identifier(table)), [table]).fetchone()
        assert last == top, table


def test_is_loaded_is_true_for_the_loaded_database(database_url):
    assert load.is_loaded(database_url)


def test_is_loaded_is_false_without_schema_and_with_empty_tables(empty_database_url):
    assert not load.is_loaded(empty_database_url)
    migrate.upgrade(empty_database_url)
    assert not load.is_loaded(empty_database_url)


def test_load_returns_the_rows_written_per_table(empty_database_url):
    migrate.upgrade(empty_database_url)
    counts = load.load_sample_city(empty_database_url, parcels=600, seed=3, progress=False)
    snapshot = _snapshot(empty_database_url)
    assert counts == {table: snapshot[table] for table in TABLES}


def test_failed_load_leaves_the_previous_city_intact(empty_database_url, monkeypatch):
    migrate.upgrade(empty_database_url)
    load.load_sample_city(empty_database_url, parcels=600, seed=3, progress=False)
    before = _snapshot(empty_database_url)
    chunks = load._chunks

    def failing_chunks(table, columns):
        if table == "licenses":
            raise RuntimeError("disk full")
        yield from chunks(table, columns)

    monkeypatch.setattr(load, "_chunks", failing_chunks)
    with pytest.raises(RuntimeError, match="disk full"):
        load.load_sample_city(empty_database_url, parcels=800, seed=4, progress=False)
    assert _snapshot(empty_database_url) == before
