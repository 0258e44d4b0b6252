"""The permit-check processes over HTTP (OGC API Processes) on the 2000-parcel sample city."""
import json

import pytest

from tests.support.processes import PROCESSES, _job_id, execute

NO_SUCH_JOB = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/no-such-job"


@pytest.fixture(scope="module")
def parcel(db):
    """A residential R1 parcel: number, footprint well inside it, a point on it, its id."""
    row = db.execute(
        "SELECT parcel_no, ST_AsGeoJSON(ST_Transform(ST_Buffer(ST_PointOnSurface(geom_utm), 4, "
        "'quad_segs=2'), 4326)), ST_AsGeoJSON(ST_PointOnSurface(geom)), id, "
        "ST_AsGeoJSON(ST_Buffer(ST_PointOnSurface(geom_utm), 4, 'quad_segs=2')) "
        "FROM parcels WHERE zoning_code = 'R1' AND land_use = 'residential' ORDER BY id LIMIT 1"
    ).fetchone()
    return {"no": row[0], "footprint": json.loads(row[1]), "point": json.loads(row[2]),
            "id": row[3], "footprint_utm": json.loads(row[4])}


def counts(db) -> tuple[int, int]:
    """Rows in the certificate and job tables."""
    return db.execute("SELECT (SELECT count(*) FROM certificates), "
                      "(SELECT count(*) FROM processing_jobs)").fetchone()


def test_the_three_processes_are_listed(client):
    body = client.get("/ogc/processes?f=json").json()
    assert {p["id"] for p in body["processes"]} >= set(PROCESSES)


@pytest.mark.parametrize("process", PROCESSES)
def test_process_descriptions_are_bilingual(client, process):
    english = client.get(f"/ogc/processes/{process}?f=json&lang=en").json()
    arabic = client.get(f"/ogc/processes/{process}?f=json&lang=ar").json()
    assert english["title"] != arabic["title"]
    assert any("\u0600" <= ch <= "\u06ff" for ch in arabic["description"])
    assert english["inputs"] and "async-execute" in english["jobControlOptions"]


def test_parcel_check_answers_a_verdict_and_every_rule(client, db, parcel):
    before = counts(db)
    response = execute(client, "parcel-check", {"parcel_no": parcel["no"], "floors": 2,
                                                "height_m": 9, "footprint": parcel["footprint"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verdict"] in ("allowed", "allowed_with_warnings", "refused")
    assert body["subject"]["parcel_no"] == parcel["no"]
    assert len(body["rules"]) == 20
    for item in body["rules"]:
        assert item["status"] in ("pass", "fail", "warn", "not-applicable")
        assert set(item) >= {"measured", "limit", "unit", "message", "reference", "evidence"}
        assert item["message"]["ar"] and item["message"]["en"]
    assert counts(db) == (before[0] + 1, before[1] + 1)
    assert response.headers["location"].endswith(f"/jobs/{_job_id(response)}")


def test_evidence_is_geojson_in_crs84(client, parcel):
    body = execute(client, "parcel-check", {"parcel_no": parcel["no"], "floors": 9,
                                            "footprint": parcel["footprint"]}).json()
    floors = next(item for item in body["rules"] if item["rule"] == "floors")
    assert floors["status"] == "fail"
    lon, lat = floors["evidence"]["coordinates"][0][0]
    assert 49 < lon < 51 and 25 < lat < 27


def test_footprint_in_utm_is_accepted_with_its_crs(client, parcel):
    response = execute(client, "parcel-check", {
        "parcel_no": parcel["no"], "footprint": parcel["footprint_utm"],
        "crs": "http://www.opengis.net/def/crs/EPSG/0/32639"})
    assert response.status_code == 200, response.text


def test_license_site_check_at_a_point(client, parcel):
    response = execute(client, "license-site-check", {"activity": "4711",
                                                      "location": parcel["point"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["subject"]["parcel_no"] == parcel["no"]
    assert body["subject"]["activity"]["code"] == "4711"
    assert next(r for r in body["rules"] if r["rule"] == "zoning-activity")["status"] == "fail"


def _bowtie(footprint: dict) -> dict:
    """A self-intersecting ring made from a footprint's corners."""
    ring = footprint["coordinates"][0]
    a, b, c, d = ring[0], ring[1], ring[2], ring[3]
    return {"type": "Polygon", "coordinates": [[a, c, b, d, a]]}


def _shifted(footprint: dict, dx: float) -> dict:
    """A footprint moved east by dx degrees."""
    return {"type": "Polygon",
            "coordinates": [[[x + dx, y] for x, y in footprint["coordinates"][0]]]}


BAD_INPUTS = {
    "unknown parcel": ("parcel-check", lambda p: {"parcel_no": "NOPE-99-9"}, 404),
    "self-intersecting footprint": (
        "parcel-check", lambda p: {"parcel_no": p["no"], "footprint": _bowtie(p["footprint"])},
        400),
    "footprint outside its parcel": (
        "parcel-check", lambda p: {"parcel_no": p["no"], "footprint": _shifted(p["footprint"],
                                                                               0.01)}, 400),
    "projected coordinates sent as CRS84": (
        "parcel-check", lambda p: {"parcel_no": p["no"], "footprint": p["footprint_utm"]}, 400),
    "geometry outside the city": (
        "parcel-check", lambda p: {"parcel": _shifted(p["footprint"], 3.0)}, 400),
    "negative floors": ("parcel-check", lambda p: {"parcel_no": p["no"], "floors": -3}, 400),
    "absurd height": ("parcel-check", lambda p: {"parcel_no": p["no"], "height_m": 1e9}, 400),
    "oversized geometry": (
        "parcel-check", lambda p: {"parcel_no": p["no"], "footprint": {
            "type": "Polygon", "coordinates": [[[50.1 + i * 1e-7, 26.4 + (i % 2) * 1e-7]
                                                for i in range(5000)] + [[50.1, 26.4]]]}}, 400),
    "unknown activity code": (
        "license-site-check", lambda p: {"activity": "9999", "parcel_no": p["no"]}, 400),
    "unknown input": ("parcel-check", lambda p: {"parcel_no": p["no"], "flors": 2}, 400),
    "parcel number and geometry both": (
        "parcel-check", lambda p: {"parcel_no": p["no"], "parcel": p["footprint"]}, 400),
    "point not on a parcel": (
        "license-site-check", lambda p: {"activity": "4711", "location": {
            "type": "Point", "coordinates": [10.0, 10.0]}}, 400),
    "unknown district": ("batch-compliance", lambda p: {"area": {"district": "ZZZ-99"}}, 400),
    "unknown rule": ("batch-compliance", lambda p: {"rules": ["no-such-rule"]}, 400),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_a_clear_error_and_writes_nothing(client, db, parcel, case, analyst_auth):
    process, make, status = BAD_INPUTS[case]
    before = counts(db)
    response = execute(client, process, make(parcel), analyst_auth)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] and body["description"] and "Traceback" not in body["description"]
    assert counts(db) == before


def test_unknown_parcel_asked_asynchronously_is_refused_before_queueing(client, db):
    before = counts(db)
    response = execute(client, "parcel-check", {"parcel_no": "NOPE-99-9"},
                       Prefer="respond-async")
    assert response.status_code == 404
    assert counts(db) == before


def test_a_body_that_is_not_json_is_a_400(client):
    response = client.post("/ogc/processes/parcel-check/execution", content=b"{not json",
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400


@pytest.mark.parametrize("job_id", ["00000000-0000-0000-0000-000000000000", "not-a-uuid"])
@pytest.mark.parametrize("suffix", ["", "/results"])
def test_unknown_job_is_no_such_job(client, job_id, suffix):
    response = client.get(f"/ogc/jobs/{job_id}{suffix}")
    assert response.status_code == 404
    assert response.json()["type"] == NO_SUCH_JOB


def test_dismissing_an_unknown_job_is_no_such_job(client, analyst_auth):
    response = client.delete("/ogc/jobs/00000000-0000-0000-0000-000000000000",
                             headers=analyst_auth)
    assert response.status_code == 404
    assert response.json()["type"] == NO_SUCH_JOB


def test_a_synchronous_check_is_listed_as_a_finished_job_with_its_certificate(client, parcel):
    response = execute(client, "parcel-check", {"parcel_no": parcel["no"]})
    job_id = _job_id(response)
    status = client.get(f"/ogc/jobs/{job_id}").json()
    assert status["status"] == "successful" and status["progress"] == 100
    result = client.get(f"/ogc/jobs/{job_id}/results").json()
    assert result["id"] == response.json()["id"]
    listed = client.get("/ogc/jobs?limit=50").json()
    assert job_id in {job["jobID"] for job in listed["jobs"]}
    from starlette.testclient import TestClient   # the listing is the caller's own jobs only
    elsewhere = TestClient(client.app, client=("192.0.2.99", 50000))
    assert job_id not in {job["jobID"] for job in elsewhere.get("/ogc/jobs").json()["jobs"]}
