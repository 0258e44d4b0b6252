"""The CQL2 (OGC 21-065r2) conformance classes /ogc/conformance declares, each exercised in
both encodings where the class applies, against the same rows computed independently (SQL on
the raw columns, or Python on the values); and the malformed uses of each function: a 400
naming what is wrong, never a database message."""
import json
import re
import unicodedata

import pytest
from psycopg import sql

from layers.cql_parse import MAX_DEPTH
from tests.support.cql import _count, _items, _json, _matched, _rejection, _text

FOLDS = {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ی": "ي", "ئ": "ي", "ؤ": "و",
         "ة": "ه", "ک": "ك", "ڪ": "ك"}
MARKS = re.compile("[\u0300-\u036f\u064b-\u065f\u0670\u0640]")


def _accenti(text: str) -> str:
    """ACCENTI as specified here, in Python: decomposed, marks dropped, Arabic forms folded."""
    text = "".join(FOLDS.get(char, char) for char in text)
    return MARKS.sub("", unicodedata.normalize("NFD", text))


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.text
    return sorted(feature["id"] for feature in response.json()["features"])


def _text_all(client, collection: str, cql: str):
    return client.get(_items(collection), params={"f": "json", "limit": 1000, "filter": cql})


def _json_all(client, collection: str, cql: dict):
    return client.post(_items(collection), params={"f": "json", "limit": 1000},
                       content=json.dumps(cql),
                       headers={"Content-Type": "application/query-cql-json"})


@pytest.fixture(scope="module")
def facilities(db) -> list[tuple[int, str, str]]:
    """Every facility: (id, name_ar, name_en)."""
    return db.execute("SELECT id, name_ar, name_en FROM facilities ORDER BY id").fetchall()


# --- case-insensitive-comparison ----------------------------------------------------------

def test_casei_matches_an_english_name_in_any_case(client, facilities):
    name = facilities[1][2]
    expected = [i for i, _, en in facilities if en.lower() == name.lower()]
    response = _text_all(client, "facilities", f"CASEI(name_en) = CASEI('{name.upper()}')")
    assert _ids(response) == expected == [facilities[1][0]]


def test_without_casei_the_upper_case_name_matches_nothing(client, facilities):
    assert _ids(_text_all(client, "facilities", f"name_en = '{facilities[1][2].upper()}'")) == []


def test_casei_in_cql2_json_with_like(client, facilities):
    prefix = facilities[0][2][:5]
    expected = [i for i, _, en in facilities if en.lower().startswith(prefix.lower())]
    cql = {"op": "like", "args": [{"op": "casei", "args": [{"property": "name_en"}]},
                                  {"op": "casei", "args": [prefix.swapcase() + "%"]}]}
    assert 0 < len(_ids(_json_all(client, "facilities", cql))) == len(expected)
    assert _ids(_json_all(client, "facilities", cql)) == expected


# --- accent-insensitive-comparison --------------------------------------------------------

def test_accenti_ignores_harakat_tatweel_and_alef_forms(client, facilities):
    fid, name_ar, _ = facilities[0]
    assert "إ" in name_ar
    written = "مَسْجِد الامـام" + name_ar[len("مسجد الإمام"):]   # harakat, bare alef, tatweel
    expected = [i for i, ar, _ in facilities if _accenti(ar) == _accenti(written)]
    response = _text_all(client, "facilities", f"ACCENTI(name_ar) = ACCENTI('{written}')")
    assert _ids(response) == expected == [fid]
    assert _ids(_text_all(client, "facilities", f"name_ar = '{written}'")) == []


def test_accenti_folds_latin_accents_and_keeps_case(client, facilities):
    fid, _, name_en = facilities[1]
    written = name_en.replace("e", "é").replace("a", "ä")
    assert _ids(_text_all(client, "facilities",
                          f"ACCENTI(name_en) = ACCENTI('{written}')")) == [fid]
    assert _ids(_text_all(client, "facilities",
                          f"ACCENTI(name_en) = ACCENTI('{written.upper()}')")) == []


def test_accenti_of_casei_ignores_both(client, facilities):
    fid, _, name_en = facilities[1]
    written = name_en.replace("e", "É").upper()
    cql = {"op": "=", "args": [
        {"op": "accenti", "args": [{"op": "casei", "args": [{"property": "name_en"}]}]},
        {"op": "accenti", "args": [{"op": "casei", "args": [written]}]}]}
    assert _ids(_json_all(client, "facilities", cql)) == [fid]


def test_accenti_like_keeps_the_wildcards(client, facilities):
    written = "مسجد الاِمام%"
    expected = [i for i, ar, _ in facilities if _accenti(ar).startswith(_accenti(written[:-1]))]
    response = _text_all(client, "facilities", f"ACCENTI(name_ar) LIKE ACCENTI('{written}')")
    assert 0 < len(expected) == len(_ids(response))
    assert _ids(response) == expected


# --- the functions of both classes, refused when misused ------------------------------------

@pytest.mark.parametrize("cql, message", [
    ("CASEI(name_en, name_ar) = 'x'", "CASEI takes 1 argument, not 2"),
    ("ACCENTI(district_id) = 'x'", "ACCENTI needs a string; property 'district_id' is an integer"),
    ("CASEI(5) = 'x'", "the argument of CASEI is a string; 5 is not"),
    ("CASEI(name_en) = 5", "CASEI(property 'name_en') is a string; 5 is not"),
    ("CASEI(geometry) = 'x'", "CASEI needs a string; property 'geometry' is a geometry"),
    ("S_INTERSECTS(geometry, CASEI(name_en))",
     "spatial operators need geometries; CASEI(property 'name_en') is a string"),
    ("name_en LIKE pg_sleep('x')",
     "the LIKE pattern must be a string literal, or CASEI or ACCENTI of one"),
    ("name_en LIKE CASEI(name_ar)",
     "the LIKE pattern must be a string literal, or CASEI or ACCENTI of one"),
    ("lower2(name_en) = 'x'", "unknown function 'lower2'; the functions filters may call are: "
                              "CASEI, ACCENTI (see /ogc/functions)"),
    ("S_INTERSECTS(geometry, BBOX(50, 26, 51))", "BBOX takes 4 numbers (west, south, east, "
                                                 "north) or 6"),
    ("S_INTERSECTS(geometry, BBOX(50, 26, 'a', 27))",
     "envelope coordinates must be a finite number, not 'a'"),
])
def test_misused_function_in_cql2_text_is_400_saying_why(client, cql, message):
    assert _rejection(_text(client, "facilities", cql)) == message


@pytest.mark.parametrize("cql, message", [
    ({"op": "=", "args": [{"op": "casei", "args": []}, "x"]}, "CASEI takes 1 argument, not 0"),
    ({"op": "=", "args": [{"op": "accenti", "args": "name_en"}, "x"]},
     "a CQL2 JSON operation needs a string 'op' and a list 'args'"),
    ({"op": "=", "args": [{"op": 5, "args": []}, "x"]},
     "a CQL2 JSON operation needs a string 'op' and a list 'args'"),
    ({"op": "=", "args": [{"op": "accenti", "args": [{"bbox": [1, 2, 3, 4]}]}, "x"]},
     "ACCENTI needs a string; the envelope is a geometry"),
    ({"op": "=", "args": [{"op": "%", "args": [{"property": "district_id"}]}, 1]},
     "operator % needs two arguments"),
])
def test_misused_function_in_cql2_json_is_400_saying_why(client, cql, message):
    assert _rejection(_json(client, "facilities", cql)) == message


def test_functions_nested_too_deep_are_400(client):
    cql = "CASEI(" * (MAX_DEPTH + 1) + "name_en" + ")" * (MAX_DEPTH + 1) + " = 'x'"
    assert _rejection(_text(client, "facilities", cql)) == (
        f"the filter is nested more than {MAX_DEPTH} levels deep")


def test_cql2_json_nested_too_deep_is_400(client):
    cql = {"op": "=", "args": [{"property": "district_id"}, 1]}
    for _ in range(MAX_DEPTH):
        cql = {"op": "not", "args": [cql]}
    assert _rejection(_json(client, "facilities", cql)) == (
        f"the filter is nested more than {MAX_DEPTH} levels deep")


def test_json_nested_past_the_parser_limit_is_400(client):
    body = '{"op": "not", "args": [' * 5000 + "true" + "]}" * 5000
    assert _rejection(_json(client, "facilities", body)) == "Bad CQL JSON"


# --- advanced-comparison-operators in the CQL2 1.0 JSON form ------------------------------

def test_between_with_three_arguments_in_json_matches_sql(client, db):
    expected = _count(db, "parcels", "t.area_m2 BETWEEN 400 AND 900")
    cql = {"op": "between", "args": [{"property": "area_m2"}, 400, 900]}
    assert 0 < _matched(_json(client, "parcels", cql)) == expected


def test_in_and_not_like_in_json_match_sql(client, db):
    expected = _count(db, "parcels", "t.land_use IN ('park', 'vacant') AND "
                      "t.parcel_no NOT LIKE 'WDM-01%%'")
    cql = {"op": "and", "args": [
        {"op": "in", "args": [{"property": "land_use"}, ["park", "vacant"]]},
        {"op": "not", "args": [{"op": "like", "args": [{"property": "parcel_no"}, "WDM-01%"]}]}]}
    assert 0 < _matched(_json(client, "parcels", cql)) == expected


# --- arithmetic: + - * / % div ^ ----------------------------------------------------------

@pytest.mark.parametrize("cql, where", [
    ("district_id % 2 = 1", "t.district_id %% 2 = 1"),
    ("area_m2 div 100 = 6", "trunc(t.area_m2 / 100) = 6"),
    ("frontage_m ^ 2 > area_m2", "power(t.frontage_m, 2) > t.area_m2"),
    ("2 ^ 3 ^ 2 = 512 AND district_id = 1", "t.district_id = 1"),
    ("(area_m2 - frontage_m) * 2 / 4 >= 300", "(t.area_m2 - t.frontage_m) * 2 / 4 >= 300"),
])
def test_arithmetic_in_cql2_text_matches_sql(client, db, cql, where):
    assert 0 < _matched(_text(client, "parcels", cql)) == _count(db, "parcels", where)


def test_arithmetic_in_cql2_json_matches_sql(client, db):
    cql = {"op": "=", "args": [{"op": "%", "args": [{"property": "district_id"}, 3]},
                               {"op": "div", "args": [{"op": "^", "args": [2, 2]}, 3]}]}
    assert 0 < _matched(_json(client, "parcels", cql)) == _count(
        db, "parcels", "t.district_id %% 3 = 1")


@pytest.mark.parametrize("cql, message", [
    ("district_id % 0 = 1", "division by zero"),
    ("district_id div 0 = 1", "division by zero"),
    ("land_use % 2 = 1", "property 'land_use' is a string; 2 is not"),
    ("land_use % district_id = 1", "arithmetic needs numbers; property 'land_use' is a string"),
    ("area_m2 ^ 100000 > 1", "a query value is out of range or malformed"),
    ("district_id * 9223372036854775807 > 1", "a query value is out of range or malformed"),
])
def test_bad_arithmetic_is_400(client, cql, message):
    assert _rejection(_text(client, "parcels", cql)) == message


# --- property-property --------------------------------------------------------------------

def test_two_properties_compare_with_each_other(client, db):
    expected = _count(db, "zoning", "t.setback_front_m > t.setback_side_m")
    assert 0 < _matched(_text(client, "zoning", "setback_front_m > setback_side_m")) == expected


def test_properties_of_different_types_are_not_compared(client):
    assert _rejection(_text(client, "zoning", "code = max_floors")) == (
        "cannot compare property 'code' (a string) with property 'max_floors' (an integer)")


# --- basic-spatial-functions, -plus, spatial-functions ------------------------------------

def test_bbox_literal_in_text_and_json_matches_sql(client, db):
    box = (50.10, 26.37, 50.12, 26.39)
    expected = _count(db, "parcels", "ST_Intersects(t.geom, ST_MakeEnvelope(%s, %s, %s, %s, "
                      "4326))", box)
    text = _matched(_text(client, "parcels", "S_INTERSECTS(geometry, BBOX({}, {}, {}, {}))"
                          .format(*box)))
    cql = {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": list(box)}]}
    assert 0 < text == _matched(_json(client, "parcels", cql)) == expected


@pytest.mark.parametrize("function", ["S_CONTAINS", "S_WITHIN", "S_TOUCHES", "S_CROSSES",
                                      "S_OVERLAPS", "S_EQUALS", "S_DISJOINT", "S_INTERSECTS"])
def test_every_spatial_function_with_a_collection_literal_matches_sql(client, db, function):
    x, y = db.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p "
                      "FROM parcels ORDER BY id LIMIT 1) s").fetchone()
    wkt = (f"GEOMETRYCOLLECTION(POINT({x} {y}), LINESTRING({x - 0.001} {y}, {x + 0.001} {y}), "
           f"POLYGON(({x} {y}, {x + 0.002} {y}, {x + 0.002} {y + 0.002}, {x} {y})))")
    sql_function = sql.SQL({"S_CONTAINS": "ST_Contains", "S_WITHIN": "ST_Within",
                            "S_TOUCHES": "ST_Touches", "S_CROSSES": "ST_Crosses",
                            "S_OVERLAPS": "ST_Overlaps", "S_EQUALS": "ST_Equals",
                            "S_DISJOINT": "ST_Disjoint", "S_INTERSECTS": "ST_Intersects"}[function])
    where = sql.SQL("{}(t.geom, ST_GeomFromText(%s, 4326))").format(sql_function)
    expected = db.execute(sql.SQL("SELECT count(*) FROM parcels t WHERE ") + where,
                          [wkt]).fetchone()[0]
    assert _matched(_text(client, "parcels", f"{function}(geometry, {wkt})")) == expected


# --- temporal-functions in CQL2 1.0 text ---------------------------------------------------

def test_interval_of_dates_with_an_open_end_in_text_matches_sql(client, db):
    expected = _count(db, "licenses", "t.issue_date >= '2024-01-01'")
    cql = "issue_date T_INTERSECTS INTERVAL('2024-01-01', '..')"
    assert 0 < _matched(_text(client, "licenses", cql)) == expected


def test_t_during_an_interval_open_at_the_start_matches_sql(client, db):
    expected = _count(db, "licenses", "t.issue_date < '2024-06-01'")
    cql = "issue_date T_DURING INTERVAL('..', '2024-06-01')"
    assert 0 < _matched(_text(client, "licenses", cql)) == expected


# --- array-functions in CQL2 text ----------------------------------------------------------

@pytest.fixture(scope="module")
def uses(db) -> list[str]:
    """The two most common allowed uses of zoning."""
    return [row[0] for row in db.execute("SELECT u FROM zoning, unnest(allowed_uses) u "
                                         "GROUP BY u ORDER BY count(*) DESC, u LIMIT 2")]


@pytest.mark.parametrize("function, operator", [("A_CONTAINS", "@>"), ("A_CONTAINEDBY", "<@"),
                                                ("A_OVERLAPS", "&&")])
def test_array_functions_in_text_match_sql(client, db, uses, function, operator):
    expected = _count(db, "zoning", f"t.allowed_uses {operator} %s", [uses])
    array = "(" + ", ".join(f"'{use}'" for use in uses) + ")"
    assert _matched(_text(client, "zoning", f"{function}(allowed_uses, {array})")) == expected


def test_a_contains_a_one_element_array_in_text_matches_sql(client, db, uses):
    expected = _count(db, "zoning", "t.allowed_uses @> %s", [uses[:1]])
    cql = f"A_CONTAINS(allowed_uses, ('{uses[0]}'))"
    assert 0 < _matched(_text(client, "zoning", cql)) == expected


def test_a_equals_an_array_of_a_row_matches_sql(client, db):
    allowed = db.execute("SELECT allowed_uses FROM zoning ORDER BY id LIMIT 1").fetchone()[0]
    expected = _count(db, "zoning", "t.allowed_uses @> %s AND t.allowed_uses <@ %s",
                      [allowed, allowed])
    array = "(" + ", ".join(f"'{use}'" for use in allowed) + ")"
    assert 0 < _matched(_text(client, "zoning", f"A_EQUALS(allowed_uses, {array})")) == expected


def test_array_function_on_a_string_property_is_400(client):
    assert _rejection(_text(client, "zoning", "A_CONTAINS(code, ('a', 'b'))")) == (
        "array operators need arrays; property 'code' is a string")


# --- basic-cql2 ---------------------------------------------------------------------------

def test_a_filter_that_is_true_selects_everything(client, db):
    assert _matched(_text(client, "districts", "TRUE")) == _count(db, "districts", "TRUE")


def test_a_filter_that_is_false_selects_nothing(client):
    assert _matched(_text(client, "districts", "false")) == 0


# --- /functions -----------------------------------------------------------------------------

def test_functions_lists_casei_and_accenti_with_their_signatures(client):
    body = client.get("/ogc/functions", params={"lang": "en"}).json()
    assert [(f["name"], f["arguments"], f["returns"]) for f in body["functions"]] == [
        ("CASEI", [{"title": "text", "type": ["string"]}], ["string"]),
        ("ACCENTI", [{"title": "text", "type": ["string"]}], ["string"])]
    assert body["functions"][0]["description"].startswith("The string in lower case")


def test_functions_are_described_in_arabic(client):
    body = client.get("/ogc/functions", params={"lang": "ar"}).json()
    assert all(re.search("[\u0600-\u06ff]", f["description"]) for f in body["functions"])


def test_every_listed_function_can_be_called_in_a_filter(client, db):
    for function in client.get("/ogc/functions").json()["functions"]:
        cql = f"{function['name']}(name_en) = {function['name']}('x')"
        assert _matched(_text(client, "districts", cql)) == 0, function["name"]
