"""Management indicators (issue 16 part 1): values against independent computations on the
test city (Python counts of the raw rows, shapely distances), the cache, the formats, each bad
input and the indicators file's validation."""
import csv
import io
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import shapely
from shapely import STRtree

from indicators import definitions, store
from indicators import routes as indicator_routes

RIYADH = ZoneInfo("Asia/Riyadh")


def _get(client, path, **params):
    """GET with query parameters; the response."""
    return client.get(path, params=params)


def _district_of_licences(db) -> list[tuple]:
    """(municipality, district, isic, status, expiry_date) of every licence."""
    return db.execute(
        "SELECT m.code, d.code, l.isic_code, l.status, l.expiry_date FROM licenses l "
        "JOIN parcels p ON p.id = l.parcel_id JOIN districts d ON d.id = p.district_id "
        "JOIN municipalities m ON m.id = d.municipality_id").fetchall()


def _refused(response, status, english_part):
    """The response is the error document of `status`, both languages, naming the problem."""
    assert response.status_code == status, response.text
    body = response.json()
    assert english_part in body["descriptions"]["en"]
    assert body["descriptions"]["ar"] and body["descriptions"]["ar"] != body["descriptions"]["en"]
    return body


def test_the_listing_names_every_indicator_of_the_file_in_both_languages(client):
    listed = _get(client, "/indicators").json()["indicators"]
    assert [one["id"] for one in listed] == list(definitions.load())
    assert all(one["title"]["ar"] and one["title"]["en"] and one["unit"]["ar"] for one in listed)


def test_licences_by_status_equal_a_count_of_the_raw_rows(client, db):
    expected = Counter((m, d, isic, status) for m, d, isic, status, _ in _district_of_licences(db))
    body = _get(client, "/indicators/licences_by_status").json()
    got = {(r["municipality"], r["district"], r["activity"], r["status"]): r["value"]
           for r in body["rows"]}
    assert got == dict(expected)
    assert sum(got.values()) == db.execute("SELECT count(*) FROM licenses").fetchone()[0]
    assert all(r["computed_at"] == body["computed_at"] for r in body["rows"])


def test_a_district_and_status_filter_keeps_only_their_rows(client, db):
    rows = _district_of_licences(db)
    district = rows[0][1]
    expected = sum(1 for _, d, _, status, _ in rows if d == district and status == "active")
    body = _get(client, "/indicators/licences_by_status", district=district,
                status="active").json()
    assert body["rows"] and {r["district"] for r in body["rows"]} == {district}
    assert sum(r["value"] for r in body["rows"]) == expected
    assert body["filters"] == {"district": district, "status": "active"}


def test_licences_expiring_count_active_licences_within_30_60_90_days(client, db):
    today = date.today()
    expected = Counter()
    for m, d, isic, status, expiry in _district_of_licences(db):
        for days in (30, 60, 90):
            if status == "active" and today <= expiry <= today + timedelta(days=days):
                expected[(d, str(days))] += 1
    got = Counter()
    for r in _get(client, "/indicators/licences_expiring").json()["rows"]:
        got[(r["district"], r["within_days"])] += r["value"]
    assert got == expected


def _coverage_by_shapely(db, kinds, metres, residential):
    """(district → share in %) of parcels within `metres` of a facility of `kinds`."""
    facilities = [shapely.from_wkb(bytes(g)) for (g,) in db.execute(
        "SELECT ST_AsBinary(geom_utm) FROM facilities WHERE kind = ANY(%s)", [kinds])]
    tree = STRtree(facilities)
    counts = defaultdict(lambda: [0, 0])
    for district, land_use, wkb in db.execute(
            "SELECT d.code, p.land_use, ST_AsBinary(p.geom_utm) FROM parcels p "
            "JOIN districts d ON d.id = p.district_id"):
        if residential and land_use != "residential":
            continue
        parcel = shapely.from_wkb(bytes(wkb))
        near = tree.query(parcel, predicate="dwithin", distance=metres)
        counts[district][0] += int(len(near) > 0)
        counts[district][1] += 1
    return {d: round(100.0 * a / b, 2) for d, (a, b) in counts.items()}


@pytest.mark.parametrize("facility, kinds, metres, parcels_of", [
    ("school", ["school"], 800, "all"), ("clinic", ["clinic", "hospital"], 1000, "residential"),
    ("park", ["park"], 500, "all"), ("mosque", ["mosque"], 400, "residential")])
def test_facility_coverage_equals_shapely_distances(client, db, facility, kinds, metres,
                                                    parcels_of):
    expected = _coverage_by_shapely(db, kinds, metres, parcels_of == "residential")
    rows = _get(client, "/indicators/facility_coverage", facility=facility,
                parcels_of=parcels_of).json()["rows"]
    assert {r["district"]: r["value"] for r in rows} == expected
    assert {r["metres"] for r in rows} == {metres}


def test_some_parcels_are_outside_the_park_distance(client):
    """The coverage test would pass on 100 % everywhere; the city has uncovered parcels."""
    rows = _get(client, "/indicators/facility_coverage", facility="park").json()["rows"]
    assert any(r["value"] < 100 for r in rows)


def test_inspections_per_district_result_and_month_equal_the_raw_rows(client, db):
    expected = Counter()
    for district, result, visited in db.execute(
            "SELECT d.code, i.result, i.visited_at FROM inspections i "
            "JOIN licenses l ON l.id = i.license_id JOIN parcels p ON p.id = l.parcel_id "
            "JOIN districts d ON d.id = p.district_id"):
        expected[(district, result, visited.astimezone(RIYADH).strftime("%Y-%m"))] += 1
    got = Counter()
    for r in _get(client, "/indicators/inspections_by_result").json()["rows"]:
        got[(r["district"], r["result"], r["month"])] += r["value"]
    assert got == expected
    month = max(key[2] for key in expected)
    rows = _get(client, "/indicators/inspections_by_result", period=month).json()["rows"]
    assert sum(r["value"] for r in rows) == sum(v for k, v in expected.items() if k[2] == month)



def test_active_licences_by_days_since_their_last_inspection(client, db):
    today = date.today()
    expected = Counter()
    for district, last in db.execute(
            "SELECT d.code, (SELECT max(i.visited_at) FROM inspections i "
            "WHERE i.license_id = l.id) FROM licenses l JOIN parcels p ON p.id = l.parcel_id "
            "JOIN districts d ON d.id = p.district_id WHERE l.status = 'active'"):
        days = None if last is None else (today - last.astimezone(RIYADH).date()).days
        since = ("never" if days is None else "up_to_90" if days <= 90 else "up_to_180"
                 if days <= 180 else "up_to_365" if days <= 365 else "over_365")
        expected[(district, since)] += 1
    got = Counter()
    for r in _get(client, "/indicators/licences_since_inspection").json()["rows"]:
        got[(r["district"], r["since"])] += r["value"]
    assert got == expected
    assert len({since for _, since in expected}) >= 2

@pytest.fixture
def findings(db):
    """A finished batch job with three findings on two parcels (removed afterwards)."""
    parcels = db.execute("SELECT p.id, p.parcel_no, d.code FROM parcels p JOIN districts d "
                         "ON d.id = p.district_id ORDER BY p.id LIMIT 2").fetchall()
    job = db.execute("INSERT INTO processing_jobs (id, process_id, status, inputs) VALUES "
                     "(gen_random_uuid(), 'batch-compliance', 'successful', '{}') "
                     "RETURNING id").fetchone()[0]
    for (pid, ref, _), rule, status in [(parcels[0], "max_coverage", "fail"),
                                        (parcels[0], "flood_risk", "warn"),
                                        (parcels[1], "max_coverage", "fail")]:
        db.execute("INSERT INTO processing_findings (job_id, subject_type, subject_id, "
                   "subject_ref, rule_id, status) VALUES (%s, 'parcel', %s, %s, %s, %s)",
                   [job, pid, ref, rule, status])
    yield parcels
    db.execute("DELETE FROM processing_jobs WHERE id = %s", [job])


def test_permit_check_outcomes_count_findings_by_rule_and_district(client, findings):
    rows = _get(client, "/indicators/permit_check_outcomes", rule="max_coverage").json()["rows"]
    expected = Counter(code for _, _, code in findings)
    assert Counter({r["district"]: r["value"] for r in rows}) == expected
    assert {r["outcome"] for r in rows} == {"fail"}


def test_values_are_kept_until_a_table_they_read_changes(client, db):
    first = _get(client, "/indicators/licences_by_status").json()["computed_at"]
    assert _get(client, "/indicators/licences_by_status").json()["computed_at"] == first
    db.execute("UPDATE licenses SET status = status WHERE id = (SELECT min(id) FROM licenses)")
    assert _get(client, "/indicators/licences_by_status").json()["computed_at"] > first


def test_csv_has_a_bom_a_header_and_the_json_rows(client):
    response = _get(client, "/indicators/licences_by_status.csv", status="suspended")
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0] == ["municipality", "district", "activity", "status", "value",
                        "computed_at"]
    rows = _get(client, "/indicators/licences_by_status", status="suspended").json()["rows"]
    assert len(table) - 1 == len(rows) > 0
    assert _get(client, "/indicators/licences_by_status", f="csv").text == \
        _get(client, "/indicators/licences_by_status.csv").text


def test_geojson_gives_every_district_with_its_value(client, db):
    doc = _get(client, "/indicators/licences_by_status.geojson", status="active").json()
    districts = db.execute("SELECT count(*) FROM districts").fetchone()[0]
    assert len(doc["features"]) == districts
    active = Counter(d for _, d, _, status, _ in _district_of_licences(db) if status == "active")
    assert {f["id"]: f["properties"]["value"] for f in doc["features"]} == \
        {code: active.get(code) for (code,) in db.execute("SELECT code FROM districts")}
    assert doc["features"][0]["geometry"]["type"] == "MultiPolygon"


def test_geojson_of_a_ratio_indicator_adds_parts_and_wholes(client, db):
    expected = _coverage_by_shapely(db, ["park"], 500, False)
    doc = _get(client, "/indicators/facility_coverage.geojson", facility="park",
               parcels_of="all").json()
    assert {f["id"]: f["properties"]["value"] for f in doc["features"]} == expected


def test_a_filter_matching_nothing_is_an_empty_result(client):
    response = _get(client, "/indicators/licences_by_status", district="NO-SUCH")
    assert response.status_code == 200
    assert response.json()["rows"] == [] and response.json()["numberMatched"] == 0


def test_an_unknown_indicator_is_404(client):
    _refused(_get(client, "/indicators/no_such_thing"), 404, "no indicator 'no_such_thing'")
    _refused(_get(client, "/indicators/no_such_thing.csv"), 404, "no indicator")


def test_an_unknown_dimension_is_400_naming_the_dimensions(client):
    body = _refused(_get(client, "/indicators/licences_by_status", colour="red"), 400,
                    "unknown parameter 'colour'")
    assert "district" in body["descriptions"]["en"]


def test_a_dimension_of_another_indicator_is_400(client):
    _refused(_get(client, "/indicators/licences_by_status", facility="school"), 400,
             "unknown parameter 'facility'")


@pytest.mark.parametrize("period", ["2024-13", "2024-1", "24-01", "2024-01-01", "يناير"])
def test_a_malformed_period_is_400(client, period):
    _refused(_get(client, "/indicators/inspections_by_result", period=period), 400,
             "period must be a month written YYYY-MM")


def test_a_period_in_the_future_is_400(client):
    from indicators.query import LOCAL

    month = (datetime.now(LOCAL).date().replace(day=1) + timedelta(days=40)).strftime("%Y-%m")
    _refused(_get(client, "/indicators/inspections_by_result", period=month), 400,
             f"period {month} is in the future")


def test_a_period_on_an_indicator_without_months_is_400(client):
    _refused(_get(client, "/indicators/licences_by_status", period="2026-01"), 400,
             "has no month dimension")


def test_a_repeated_filter_and_an_unknown_format_are_400(client):
    _refused(client.get("/indicators/licences_by_status?district=A&district=B"), 400,
             "district is given more than once")
    _refused(_get(client, "/indicators/licences_by_status", f="xlsx"), 400, "format must be")


def test_the_arabic_message_is_the_default(client):
    response = _get(client, "/indicators/nope")
    assert response.json()["description"] == response.json()["descriptions"]["ar"]
    assert "nope" in response.json()["descriptions"]["ar"]


def _write(tmp_path, text):
    """An indicators file with this text."""
    path = tmp_path / "indicators.yml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """
ok_one:
  title: {ar: "عدد", en: "Count"}
  unit: {ar: "قطعة", en: "parcels"}
  tables: [parcels]
  dimensions: [district]
  sql: SELECT district_id::text AS district, count(*)::float8 AS value FROM parcels GROUP BY 1
"""


@pytest.mark.parametrize("bad, problem", [
    (GOOD.replace('  unit: {ar: "قطعة", en: "parcels"}\n', ""), "indicator 'ok_one': missing unit"),
    (GOOD.replace("tables: [parcels]", "tables: [parcels, secrets]"), "unknown tables secrets"),
    (GOOD.replace("FROM parcels", "FROM parcels WHERE area_m2 > %(min)s"),
     "sql parameters ['min'] differ from params []"),
    (GOOD.replace('en: "Count"', 'en: ""'), "title must have non-empty 'ar' and 'en'"),
    (GOOD.replace("sql: SELECT", "sql: DELETE FROM parcels; SELECT"), "one SELECT statement"),
    (GOOD.replace("dimensions: [district]", "dimensions: [value]"), "not value"),
    (GOOD + "  colour: red\n", "unknown keys colour"),
    ("ok_one: [\n", "cannot be read"),
])
def test_a_bad_indicators_file_stops_the_start_with_one_line(tmp_path, bad, problem):
    path = _write(tmp_path, bad)
    with pytest.raises(definitions.IndicatorFileError) as caught:
        indicator_routes.routes(None, path)
    assert problem in str(caught.value) and "\n" not in str(caught.value)
    assert str(path) in str(caught.value)


def test_a_good_file_computes_in_the_database(tmp_path, db):
    found = definitions.load(_write(tmp_path, GOOD))
    with db.transaction(force_rollback=True):
        store.refresh(db, found["ok_one"])
        result = store.rows(db, found["ok_one"], {})
    assert sum(r["value"] for r in result.rows) == \
        db.execute("SELECT count(*) FROM parcels").fetchone()[0]


def test_the_current_month_is_not_the_future_in_riyadh(client):
    from indicators.query import LOCAL

    month = datetime.now(LOCAL).strftime("%Y-%m")
    assert _get(client, "/indicators/inspections_by_result", period=month).status_code == 200
