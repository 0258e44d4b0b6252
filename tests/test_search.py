"""GET /search: names in Arabic and English whatever the spelling variant, numbers, ranking, bad
input, and never a personal field (real database, sample city of tests/conftest.py)."""
import statistics
import time

import pytest

from webmap import search as search_module

FATHA, KASRA, SHADDA, TATWEEL = "\u064e", "\u0650", "\u0651", "\u0640"


def _search(client, q, lang="ar", limit=10):
    response = client.get("/search", params={"q": q, "lang": lang, "limit": limit})
    assert response.status_code == 200, response.text
    return response.json()["results"]


def _found(results, kind, ident):
    return any(r["kind"] == kind and r["id"] == ident for r in results)


def _name_with(db, letter):
    """(kind, id, Arabic name) of a district, street or facility whose name contains `letter`."""
    for kind, table in (("district", "districts"), ("facility", "facilities"), ("street", "streets")):
        row = db.execute(f"SELECT id, name_ar FROM {table} WHERE name_ar LIKE %s ORDER BY id LIMIT 1",
                         [f"%{letter}%"]).fetchone()
        if row:
            return kind, row[0], row[1]
    pytest.skip(f"no name with {letter!r} in the sample city")


@pytest.mark.parametrize("written", ["أ", "إ", "آ", "ا"])
def test_every_alef_form_finds_a_name_written_with_hamza(client, db, written):
    kind, ident, name = _name_with(db, "أ")
    assert _found(_search(client, name.replace("أ", written)), kind, ident)


def test_a_name_written_with_plain_alef_is_found_typed_with_hamza(client, db):
    row = db.execute("SELECT id, name_ar FROM districts WHERE name_ar LIKE 'ا%' ORDER BY id"
                     " LIMIT 1").fetchone()
    assert _found(_search(client, "إ" + row[1][1:]), "district", row[0])


def test_taa_marbuta_and_ha_are_one_letter(client, db):
    kind, ident, name = _name_with(db, "ة")
    assert _found(_search(client, name.replace("ة", "ه")), kind, ident)


def test_alef_maqsura_and_ya_are_one_letter(client, db):
    row = db.execute("SELECT id, trade_name_ar FROM licenses WHERE trade_name_ar LIKE '%ى%'"
                     " ORDER BY id LIMIT 1").fetchone()
    results = _search(client, row[1].replace("ى", "ي"), limit=50)
    assert any(r["kind"] == "license" and r["label_ar"] == row[1] for r in results)


def test_diacritics_and_tatweel_are_ignored(client, db):
    kind, ident, name = _name_with(db, "ل")
    decorated = name.replace("ل", "ل" + FATHA + TATWEEL, 1).replace("م", "م" + SHADDA + KASRA)
    assert _found(_search(client, decorated), kind, ident)


def test_a_small_typo_still_finds_the_district(client, db):
    ident, name = db.execute("SELECT id, name_en FROM districts WHERE length(name_en) >= 8"
                             " ORDER BY id LIMIT 1").fetchone()
    typo = name[:4] + name[5:]          # one letter dropped
    assert _found(_search(client, typo, "en"), "district", ident)


def test_an_arabic_typo_still_finds_the_district(client, db):
    ident, name = db.execute("SELECT id, name_ar FROM districts WHERE length(name_ar) >= 6"
                             " ORDER BY id LIMIT 1").fetchone()
    typo = name[:-2] + name[-1]
    assert _found(_search(client, typo), "district", ident)


def test_the_exact_name_ranks_first(client, db):
    ident, name = db.execute("SELECT id, name_ar FROM districts ORDER BY id LIMIT 1").fetchone()
    first = _search(client, name)[0]
    assert (first["kind"], first["id"]) == ("district", ident)


def test_a_parcel_number_finds_the_parcel_first_with_its_box(client, db):
    ident, number, x, y = db.execute(
        "SELECT id, parcel_no, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))"
        " FROM parcels ORDER BY id DESC LIMIT 1").fetchone()
    first = _search(client, number)[0]
    assert (first["kind"], first["id"], first["collection"]) == ("parcel", ident, "parcels")
    west, south, east, north = first["bbox"]
    assert west <= x <= east and south <= y <= north
    assert west <= first["point"][0] <= east and south <= first["point"][1] <= north


def test_a_parcel_number_in_arabic_digits_and_spaces_is_found(client, db):
    ident, number = db.execute("SELECT id, parcel_no FROM parcels ORDER BY id LIMIT 1").fetchone()
    arabic = number.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")).replace("-", " ")
    assert _found(_search(client, arabic.lower()), "parcel", ident)


def test_a_parcel_number_prefix_lists_parcels_in_number_order(client, db):
    number = db.execute("SELECT parcel_no FROM parcels ORDER BY id LIMIT 1").fetchone()[0]
    prefix = number.rsplit("-", 1)[0]
    parcels = [r for r in _search(client, prefix + "-", limit=20) if r["kind"] == "parcel"]
    assert parcels and all(r["label"].startswith(prefix) for r in parcels)


def test_a_licence_number_or_trade_name_finds_the_licence(client, db):
    ident, number, name_en = db.execute(
        "SELECT id, license_no, trade_name_en FROM licenses ORDER BY id LIMIT 1").fetchone()
    assert _search(client, number)[0]["id"] == ident
    results = _search(client, name_en, "en", limit=50)
    assert _found(results, "license", ident)
    assert all(r["label"] == r["label_en"] for r in results)


def test_points_have_a_point_and_no_box(client, db):
    name = db.execute("SELECT name_ar FROM facilities ORDER BY id LIMIT 1").fetchone()[0]
    facility = next(r for r in _search(client, name) if r["kind"] == "facility")
    assert facility["bbox"] is None and len(facility["point"]) == 2


def test_no_personal_field_is_searchable_or_returned(client, db):
    national_id, phone, number = db.execute(
        "SELECT holder_national_id, holder_phone, license_no FROM licenses ORDER BY id LIMIT 1"
    ).fetchone()
    for q in (national_id, phone):
        assert not [r for r in _search(client, q) if r["kind"] == "license"]
    response = client.get("/search", params={"q": number})
    holders = db.execute("SELECT holder_national_id, holder_phone FROM licenses").fetchall()
    assert not any(value in response.text for row in holders for value in row)
    allowed = {"kind", "collection", "id", "label", "label_ar", "label_en", "ref", "context",
               "score", "bbox", "point"}
    assert all(set(r) == allowed for r in response.json()["results"])


@pytest.mark.parametrize("query", [
    {}, {"q": ""}, {"q": "   "}, {"q": "a" * 10_000}, {"q": "ab\x00cd"}, {"q": "a\x07"},
    {"q": "a", "limit": "-1"}, {"q": "a", "limit": "0"}, {"q": "a", "limit": "51"},
    {"q": "a", "limit": "ten"}, {"q": "a", "limit": "١٠"}, {"q": "a", "lang": "fr"},
    {"q": ["a", "b"]},
])
def test_bad_input_is_a_400_json_document(client, query):
    response = client.get("/search", params=query)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "InvalidParameterValue" and body["description"]


def test_punctuation_alone_finds_nothing_without_error(client):
    assert _search(client, "%_\\'\";--") == []


def test_the_statement_can_use_the_search_indexes(db):
    """The expressions of webmap/search.py are those indexed by migration 0005_search."""
    plans = []
    for with_numbers in (True, False):
        query = search_module.statement(with_numbers).as_string(db)
        with db.transaction():
            db.execute("SET LOCAL enable_seqscan = off")
            rows = db.execute("EXPLAIN " + query,
                              {"q": "WDM-01 بدر", "limit": 10, "min_similarity": 0.45}).fetchall()
        plans.append("\n".join(row[0] for row in rows))
    for index in ("districts_search_gist", "streets_search_gist", "facilities_search_gist",
                  "licenses_search_gist", "licenses_search_ident", "parcels_search_ident"):
        assert index in plans[0], index
    assert "parcels_search_ident" not in plans[1]


def test_search_is_fast(client, db):
    names = [row[0] for row in db.execute(
        "(SELECT name_ar FROM districts LIMIT 10) UNION ALL (SELECT name_en FROM streets LIMIT 10)"
        " UNION ALL (SELECT parcel_no FROM parcels LIMIT 10)"
        " UNION ALL (SELECT trade_name_ar FROM licenses LIMIT 10)")]
    _search(client, names[0])
    timings = []
    for q in names:
        start = time.perf_counter()
        _search(client, q)
        timings.append(time.perf_counter() - start)
    assert statistics.quantiles(timings, n=20)[-1] < 0.05
