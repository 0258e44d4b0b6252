"""Open311 GeoReport v2 at /open311/v2 (citizens/): the spec's documents and field names in
JSON and XML, submissions stored with the district and municipality of their point, public
documents without contact data, and every bad input refused in the Open311 error format with
nothing stored. Real PostGIS, the real application."""
import xml.etree.ElementTree as ET
from itertools import pairwise

import psycopg
import pytest

from citizens.reports import ALPHABET
from tests.support.citizens import (
    CONTACT,
    ENGLISH,
    TRACKING,
    V2,
    citizen_app,
    counts,
    inside,
    refused,
    report_form,
    submit,
)

SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords",
                  "group"}
ATTRIBUTE_FIELDS = {"variable", "code", "datatype", "required", "datatype_description", "order",
                    "description", "values"}
REQUEST_FIELDS = {"service_request_id", "status", "status_notes", "service_name", "service_code",
                  "description", "agency_responsible", "service_notice", "requested_datetime",
                  "updated_datetime", "expected_datetime", "address", "address_id", "zipcode",
                  "lat", "long", "media_url"}


# --- discovery and services --------------------------------------------------------------------

def test_discovery_lists_the_v2_endpoint_in_both_formats(api):
    body = api.get(f"{V2}/discovery.json").json()
    assert {"changeset", "contact", "key_service", "endpoints"} <= set(body)
    endpoint = body["endpoints"][0]
    assert {"specification", "url", "changeset", "type", "formats"} <= set(endpoint)
    assert endpoint["url"] == "http://testserver/open311/v2" and endpoint["type"] == "production"
    assert {"paging", "media_url"} <= set(endpoint["extensions"])
    root = ET.fromstring(api.get(f"{V2}/discovery.xml").content)
    assert root.tag == "discovery"
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == [
        "application/json", "text/xml"]


def test_services_are_the_seeded_categories_with_the_spec_fields(api):
    services = api.get(f"{V2}/services.json").json()
    assert [s["service_code"] for s in services] == [
        "pothole", "street_light", "illegal_dumping", "building_violation", "unlicensed_shop",
        "sidewalk", "suggestion"]
    assert all(set(s) == SERVICE_FIELDS for s in services)
    assert services[0]["service_name"] == "حفرة في الطريق" and services[0]["metadata"] is True
    assert services[-1]["metadata"] is False and services[0]["type"] == "realtime"


def test_services_speak_english_when_asked(api):
    response = api.get(f"{V2}/services.json", headers=ENGLISH)
    assert response.json()[0]["service_name"] == "Pothole"
    assert response.headers["content-language"] == "en"


def test_services_xml_has_a_service_element_per_category(api):
    response = api.get(f"{V2}/services.xml")
    assert response.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "services" and len(root) == 7
    assert {child.tag for child in root[0]} == SERVICE_FIELDS
    assert root.find("service/metadata").text == "true"


def test_a_service_definition_lists_its_attributes_and_values(api):
    body = api.get(f"{V2}/services/pothole.json", headers=ENGLISH).json()
    assert body["service_code"] == "pothole"
    attribute = body["attributes"][0]
    assert set(attribute) == ATTRIBUTE_FIELDS
    assert attribute["code"] == "size" and attribute["datatype"] == "singlevaluelist"
    assert attribute["required"] is True
    assert [v["key"] for v in attribute["values"]] == ["small", "medium", "large"]
    root = ET.fromstring(api.get(f"{V2}/services/pothole.xml").content)
    assert root.tag == "service_definition"
    assert len(root.findall("attributes/attribute/values/value")) == 3


def test_the_services_of_a_point_inside_the_amana(api, db):
    lon, lat, _, _ = inside(db, 2)
    services = api.get(f"{V2}/services.json", params={"lat": lat, "long": lon}).json()
    assert len(services) == 7


@pytest.mark.parametrize("params, text", [({"lat": "0", "long": "0"}, "outside"),
                                          ({"lat": "26.4"}, "long"),
                                          ({"lat": "abc", "long": "50"}, "lat")])
def test_the_services_of_a_point_outside_or_malformed_are_a_400(api, db, params, text):
    refused(api, db, 400, f"{V2}/services.json", "GET", params=params, text=text,
            headers=ENGLISH)


def test_an_unknown_service_definition_is_a_404_error_list(api, db):
    refused(api, db, 404, f"{V2}/services/no_such_thing.json", "GET")
    refused(api, db, 404, f"{V2}/services/no_such_thing.xml", "GET", fmt="xml")


def test_an_unknown_format_is_a_404(api, db):
    refused(api, db, 404, f"{V2}/services.csv", "GET")


def test_errors_are_arabic_by_default_and_english_when_asked(api, db):
    arabic = refused(api, db, 404, f"{V2}/services/nope.json", "GET")
    english = refused(api, db, 404, f"{V2}/services/nope.json", "GET", headers=ENGLISH)
    assert arabic.json()[0]["description"] == "لا توجد خدمة بهذا الرمز"
    assert english.json()[0]["description"] == "no service with this service_code"
    assert arabic.json()[0]["descriptions"] == english.json()[0]["descriptions"]


def test_lang_en_wins_over_an_arabic_browser(api, db):
    response = api.get(f"{V2}/services.json?lang=en", headers={"Accept-Language": "ar"})
    assert response.json()[0]["service_name"] == "Pothole"
    refused(api, db, 400, f"{V2}/requests.json?lang=en", data=report_form(db, lat="abc"),
            text="lat must be")


def test_an_accept_language_with_q_values_is_honoured(api):
    response = api.get(f"{V2}/services.json", headers={"Accept-Language": "fr, en;q=0.8, ar;q=0.5"})
    assert response.headers["content-language"] == "en"


def test_braces_in_a_field_name_are_reported_as_sent(api, db):
    refused(api, db, 400, f"{V2}/requests.json", data=report_form(db, **{"{x}": "1"}),
            headers=ENGLISH, text="unknown field '{x}'")


# --- submitting --------------------------------------------------------------------------------

def test_a_report_is_stored_with_the_district_and_municipality_of_its_point(api, db):
    lon, lat, district, municipality = inside(db, 5)
    answer = submit(api, db, 5, **CONTACT)
    assert set(answer) == {"service_request_id", "token", "service_notice", "account_id"}
    assert TRACKING.match(answer["service_request_id"])
    row = db.execute("SELECT district_code, municipality_code, ST_X(geom), ST_Y(geom), "
                     "contact_email, status, expected_at - created_at FROM citizen_reports "
                     "WHERE tracking_no = %s", [answer["service_request_id"]]).fetchone()
    assert row[:2] == (district, municipality)
    assert row[2] == pytest.approx(lon) and row[3] == pytest.approx(lat)
    assert row[4] == CONTACT["email"] and row[5] == "open"
    assert row[6].total_seconds() == pytest.approx(72 * 3600, abs=1)   # the pothole SLA


def test_a_submission_answers_201_with_a_location_and_writes_history_and_audit(api, db):
    before = counts(db)
    response = api.post(f"{V2}/requests.json", data=report_form(db))
    assert response.status_code == 201
    number = response.json()[0]["service_request_id"]
    assert response.headers["location"] == f"http://testserver{V2}/requests/{number}.json"
    assert counts(db) == (before[0] + 1, before[1] + 1, before[2] + 1)
    action, actor_kind, after = db.execute(
        "SELECT action, actor_kind, after FROM audit_log WHERE collection = 'citizen_reports' "
        "AND feature_id = %s", [number]).fetchone()
    assert (action, actor_kind) == ("report.create", "public")
    assert after["service_code"] == "pothole" and "email" not in after


def test_the_audit_keeps_no_contact_data(api, db):
    number = submit(api, db, **CONTACT)["service_request_id"]
    after = db.execute("SELECT after::text FROM audit_log WHERE feature_id = %s",
                       [number]).fetchone()[0]
    assert not [value for value in CONTACT.values() if value in after]


def test_tracking_numbers_are_random_not_sequential(api, db):
    numbers = [submit(api, db)["service_request_id"] for _ in range(3)]
    assert all(TRACKING.match(n) for n in numbers)
    values = [int("".join(str(ALPHABET.index(c)).zfill(2) for c in n[2:].replace("-", "")))
              for n in numbers]
    assert min(abs(a - b) for a, b in pairwise(values)) > 10 ** 6


def test_the_xml_answer_to_a_submission(api, db):
    response = api.post(f"{V2}/requests.xml", data=report_form(db))
    assert response.status_code == 201
    root = ET.fromstring(response.content)
    assert root.tag == "service_requests" and root[0].tag == "request"
    assert TRACKING.match(root.find("request/service_request_id").text)


def test_a_token_leads_to_its_request(api, db):
    answer = submit(api, db)
    body = api.get(f"{V2}/tokens/{answer['token']}.json").json()
    assert body == [{"service_request_id": answer["service_request_id"], "token": answer["token"]}]
    root = ET.fromstring(api.get(f"{V2}/tokens/{answer['token']}.xml").content)
    assert root.find("request/service_request_id").text == answer["service_request_id"]


def test_an_unknown_token_or_request_is_a_404(api, db):
    refused(api, db, 404, f"{V2}/tokens/{'0' * 32}.json", "GET")
    refused(api, db, 404, f"{V2}/requests/R-0000-0000-0000.xml", "GET", fmt="xml")


@pytest.mark.parametrize("path", ["requests/12.json", "requests/%00.json", "tokens/%00.json",
                                  "tokens/xyz.json", "services/%00.json", "services/A-B.json"])
def test_an_id_that_cannot_exist_is_a_404(api, db, path):
    refused(api, db, 404, f"{V2}/{path}", "GET")


def test_a_media_url_in_capitals_is_stored_with_its_scheme_lowered(api, db):
    number = submit(api, db, media_url="HTTPS://photos.example.sa/1.jpg")["service_request_id"]
    assert api.get(f"{V2}/requests/{number}.json").json()[0]["media_url"] == (
        "https://photos.example.sa/1.jpg")


def test_a_jurisdiction_id_of_this_amana_is_accepted(api, db):
    submit(api, db, jurisdiction_id="eamana.gov.sa")
    assert api.get(f"{V2}/services.json?jurisdiction_id=eamana.gov.sa").status_code == 200


# --- reading requests --------------------------------------------------------------------------

def test_a_request_has_the_spec_fields_and_no_contact_data(api, db):
    number = submit(api, db, address_string="شارع الملك سعود", **CONTACT)["service_request_id"]
    response = api.get(f"{V2}/requests/{number}.json", headers=ENGLISH)
    body = response.json()
    assert len(body) == 1 and REQUEST_FIELDS <= set(body[0])
    request = body[0]
    assert request["status"] == "open" and request["service_code"] == "pothole"
    assert request["address"] == "شارع الملك سعود"
    assert request["agency_responsible"].endswith("Roads maintenance department")
    assert not [value for value in CONTACT.values() if value in response.text]
    xml = api.get(f"{V2}/requests/{number}.xml").text
    assert not [value for value in CONTACT.values() if value in xml]


def test_markup_in_a_description_is_stored_and_served_as_text(api, db):
    markup = '<script>alert("x")</script><b>حفرة</b> & كذا'
    number = submit(api, db, description=markup)["service_request_id"]
    stored = db.execute("SELECT description FROM citizen_reports WHERE tracking_no = %s",
                        [number]).fetchone()[0]
    assert stored == markup
    assert api.get(f"{V2}/requests/{number}.json").json()[0]["description"] == markup
    response = api.get(f"{V2}/requests/{number}.xml")
    assert "<script>" not in response.text and "&lt;script&gt;" in response.text
    assert ET.fromstring(response.content).find("request/description").text == markup


def test_requests_are_filtered_by_ids_code_and_status(api, db):
    first = submit(api, db)["service_request_id"]
    lamp = submit(api, db, **{"service_code": "street_light", "attribute[size]": None})
    ids = f"{first},{lamp['service_request_id']}"
    both = api.get(f"{V2}/requests.json?service_request_id={ids}").json()
    assert {r["service_request_id"] for r in both} == set(ids.split(","))
    lights = api.get(f"{V2}/requests.json?service_code=street_light&page_size=1000").json()
    assert lights and {r["service_code"] for r in lights} == {"street_light"}
    closed = api.get(f"{V2}/requests.json?status=closed&page_size=1000").json()
    assert first not in {r["service_request_id"] for r in closed}


def test_requests_are_filtered_by_dates(api, db):
    number = submit(api, db)["service_request_id"]
    recent = api.get(f"{V2}/requests.json?start_date=2026-01-01T00:00:00Z&page_size=1000")
    assert recent.status_code == 200
    future = api.get(f"{V2}/requests.json?start_date=2099-01-01&end_date=2099-02-01").json()
    assert future == []
    created = db.execute("SELECT created_at FROM citizen_reports WHERE tracking_no = %s",
                         [number]).fetchone()[0]
    window = api.get(f"{V2}/requests.json", params={
        "start_date": created.isoformat(), "end_date": created.isoformat(),
        "page_size": 1000}).json()
    assert number in {r["service_request_id"] for r in window}


def test_requests_are_paged_with_next_and_prev_links(api, db):
    for _ in range(3):
        submit(api, db)
    response = api.get(f"{V2}/requests.json?page_size=2")
    assert len(response.json()) == 2
    assert 'rel="next"' in response.headers["link"] and "page=2" in response.headers["link"]
    assert 'rel="prev"' not in response.headers["link"]
    second = api.get(f"{V2}/requests.json?page_size=2&page=2")
    assert 'rel="prev"' in second.headers["link"]
    assert not {r["service_request_id"] for r in second.json()} & {
        r["service_request_id"] for r in response.json()}


def test_the_last_page_has_no_next_link(api, db):
    number = submit(api, db)["service_request_id"]
    response = api.get(f"{V2}/requests.json?service_request_id={number}")
    assert len(response.json()) == 1 and "link" not in response.headers


def test_the_listing_in_xml(api, db):
    submit(api, db)
    root = ET.fromstring(api.get(f"{V2}/requests.xml?page_size=5").content)
    assert root.tag == "service_requests" and 1 <= len(root) <= 5
    assert REQUEST_FIELDS <= {child.tag for child in root[0]}


@pytest.mark.parametrize("query, text", [
    ("start_date=2026-01-01&end_date=2026-06-01", "90"),
    ("start_date=2026-06-01&end_date=2026-01-01", "end_date"),
    ("start_date=yesterday", "start_date"),
    ("status=fixed", "status"),
    ("service_code=no_such_thing", "service_code"),
    ("service_request_id=1,2,3", "service_request_id"),
    ("page=0", "page"),
    ("page_size=5000", "page_size"),
    ("colour=red", "colour"),
    ("status=open&status=closed", "status"),
    ("jurisdiction_id=riyadh.gov.sa", "jurisdiction_id"),
])
def test_a_bad_listing_query_is_a_400(api, db, query, text):
    refused(api, db, 400, f"{V2}/requests.json?{query}", "GET", text=text, headers=ENGLISH)


# --- bad submissions: 400 in the Open311 format, nothing stored -----------------------------------

BAD_FORMS = [
    ("unknown category", {"service_code": "flying_saucer"}, "service_code"),
    ("no category", {"service_code": None}, "service_code"),
    ("missing required attribute", {"attribute[size]": None}, "attribute[size]"),
    ("attribute outside its list", {"attribute[size]": "enormous"}, "attribute[size]"),
    ("unknown attribute", {"attribute[colour]": "red"}, "colour"),
    ("description over 4000", {"description": "ح" * 4001}, "4,000"),
    ("lat not a number", {"lat": "abc"}, "lat"),
    ("lat out of range", {"lat": "200"}, "lat"),
    ("long out of range", {"long": "-500"}, "long"),
    ("lat infinite", {"lat": "inf"}, "lat"),
    ("no location", {"lat": None, "long": None, "address_string": "Dammam"}, "lat"),
    ("lat without long", {"long": None}, "long"),
    ("point outside every district", {"lat": "0", "long": "0"}, "outside"),
    ("unknown field", {"colour": "red"}, "colour"),
    ("bad email", {"email": "not-an-address"}, "email"),
    ("bad phone", {"phone": "call me maybe"}, "phone"),
    ("control character", {"description": "حفرة\x00"}, "control"),
    ("media_url not http", {"media_url": "javascript:alert(1)"}, "media_url"),
    ("other jurisdiction", {"jurisdiction_id": "riyadh.gov.sa"}, "jurisdiction_id"),
]


@pytest.mark.parametrize("case, fields, text", BAD_FORMS, ids=[c[0] for c in BAD_FORMS])
def test_a_bad_submission_is_a_400_and_stores_nothing(api, db, case, fields, text):
    refused(api, db, 400, f"{V2}/requests.json", data=report_form(db, **fields), text=text,
            headers=ENGLISH)


def test_a_description_of_exactly_4000_characters_is_accepted(api, db):
    number = submit(api, db, description="ح" * 4000)["service_request_id"]
    assert db.execute("SELECT char_length(description) FROM citizen_reports "
                      "WHERE tracking_no = %s", [number]).fetchone()[0] == 4000


def test_a_bad_submission_to_the_xml_endpoint_is_an_xml_error(api, db):
    refused(api, db, 400, f"{V2}/requests.xml", fmt="xml", data=report_form(db, lat="abc"))


def test_an_arabic_error_for_a_point_outside_the_amana(api, db):
    response = refused(api, db, 400, f"{V2}/requests.json", data=report_form(db, lat="0", long="0"))
    assert "خارج نطاق" in response.json()[0]["description"]


def test_a_json_body_is_refused(api, db):
    refused(api, db, 400, f"{V2}/requests.json", json=report_form(db), text="form",
            headers=ENGLISH)


def test_a_field_given_twice_is_refused(api, db):
    body = "&".join(f"{k}={v}" for k, v in report_form(db).items()) + "&service_code=sidewalk"
    refused(api, db, 400, f"{V2}/requests.json", content=body.encode(), text="more than once",
            headers={**ENGLISH, "Content-Type": "application/x-www-form-urlencoded"})


def test_a_form_larger_than_its_bound_is_a_413(api, db):
    refused(api, db, 413, f"{V2}/requests.json",
            data=report_form(db, description="x" * 70_000))


def test_a_form_that_is_not_utf8_is_refused(api, db):
    refused(api, db, 400, f"{V2}/requests.json", content=b"service_code=%FF%FE&lat=1",
            headers={"Content-Type": "application/x-www-form-urlencoded"})


def test_a_flood_from_one_address_is_a_429_and_stores_nothing(settings, db):
    limits = {"AMANAT_CITIZENS_REPORTS_PER_WINDOW": "3", "AMANAT_CITIZENS_REPORT_WINDOW_S": "3600"}
    with citizen_app(settings, limits) as flooding:
        for _ in range(3):
            submit(flooding, db)
        response = refused(flooding, db, 429, f"{V2}/requests.json", data=report_form(db),
                           headers=ENGLISH, text="too many reports")
        assert 1 <= int(response.headers["retry-after"]) <= 3600
        refused(flooding, db, 429, f"{V2}/requests.json", data=report_form(db))
    with citizen_app(settings, limits) as neighbour:   # another address is not held back
        submit(neighbour, db)


def test_a_bad_submission_does_not_count_against_the_address(settings, db):
    limits = {"AMANAT_CITIZENS_REPORTS_PER_WINDOW": "1"}
    with citizen_app(settings, limits) as citizen:
        refused(citizen, db, 400, f"{V2}/requests.json", data=report_form(db, lat="abc"))
        refused(citizen, db, 400, f"{V2}/requests.json", data=report_form(db, service_code="x"))
        submit(citizen, db)


def test_old_throttle_windows_of_other_addresses_are_swept(settings, db):
    db.execute("INSERT INTO citizen_throttle VALUES ('report:old-address', "
               "now() - interval '3 days', 1)")
    with citizen_app(settings, {}) as newcomer:   # its first report opens a window: a sweep
        submit(newcomer, db)
    assert db.execute("SELECT count(*) FROM citizen_throttle WHERE key = "
                      "'report:old-address'").fetchone()[0] == 0


# --- the schema --------------------------------------------------------------------------------

def test_the_database_refuses_what_the_api_refuses(db):
    lon, lat, district, municipality = inside(db)
    for column, value in (("description", "x" * 4001), ("tracking_no", "R-1"),
                          ("status", "fixed"), ("service_code", "flying_saucer")):
        with pytest.raises((psycopg.errors.CheckViolation, psycopg.errors.ForeignKeyViolation)):
            row = {"tracking_no": "R-AAAA-BBBB-CCCC", "status": "open",
                   "service_code": "pothole", "description": "", column: value}
            db.execute("INSERT INTO citizen_reports (tracking_no, token, service_code, geom, "
                       "description, status, district_code, municipality_code, "
                       "submitter_sha256, expected_at) VALUES (%s, %s, %s, "
                       "ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s, %s, %s, %s, %s, now())",
                       [row["tracking_no"], "0" * 32, row["service_code"], lon, lat,
                        row["description"], row["status"], district, municipality, "0" * 64])


def test_the_migration_downgrades_and_upgrades_again(empty_database_url):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from layers import migrate

    def tables() -> set[str]:
        with psycopg.connect(empty_database_url) as conn:
            return {row[0] for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE tablename LIKE 'citizen%' "
                "OR tablename = 'service_categories'").fetchall()}

    migrate.upgrade(empty_database_url)
    assert tables() == {"citizen_reports", "citizen_report_history", "citizen_throttle",
                        "citizen_salt", "service_categories",
                        "citizen_report_ratings", "citizen_page_ratings"}   # 0017
    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    engine = create_engine(migrate.sqlalchemy_url(empty_database_url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0012_citizen_reports@0006_auth")
            connection.commit()
    finally:
        engine.dispose()
    assert tables() == set()
    assert "0012_citizen_reports" not in migrate.current(empty_database_url)
    migrate.upgrade(empty_database_url)
    with psycopg.connect(empty_database_url) as conn:
        assert conn.execute("SELECT count(*) FROM service_categories").fetchone()[0] == 7
