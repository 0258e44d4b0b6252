"""The OGC API Processes classes /ogc/conformance declares (core, ogc-process-description, json,
oas30, dismiss), as OWSLib's processes client sees them on a running server, and over HTTP."""
import pytest
from owslib.ogcapi.processes import Processes

from tests.support.processes import PROCESSES, _job_id, execute

CONF = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/"
EXCEPTIONS = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"


@pytest.fixture(scope="module")
def server(settings, database_url, tmp_path_factory):
    """`amanat serve` on the test database (its sample city already loaded)."""
    from tests.support.server import Server

    server = Server(tmp_path_factory.mktemp("owslib"), database_url, "--no-sample")
    server.wait()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def owslib(server) -> Processes:
    """OWSLib's processes client on the server's OGC API."""
    return Processes(f"{server.url}/ogc", timeout=60)


@pytest.fixture(scope="module")
def parcel_no(db) -> str:
    """A residential parcel's number."""
    return db.execute("SELECT parcel_no FROM parcels WHERE land_use = 'residential' "
                      "ORDER BY id LIMIT 1").fetchone()[0]


def test_owslib_reads_the_declared_processes_classes(owslib):
    classes = owslib.conformance()["conformsTo"]
    assert sorted(c[len(CONF):] for c in classes if c.startswith(CONF)) == [
        "core", "dismiss", "job-list", "json", "oas30", "ogc-process-description"]


def test_owslib_lists_the_three_processes_with_self_links(owslib):
    listed = owslib.processes()
    assert sorted(p["id"] for p in listed) == sorted(PROCESSES)
    assert all(any(link["rel"] == "self" for link in p["links"]) for p in listed)


@pytest.mark.parametrize("process", PROCESSES)
def test_owslib_reads_an_ogc_process_description(owslib, process):
    description = owslib.process(process)
    assert description["id"] == process and description["version"]
    assert set(description["jobControlOptions"]) <= {"sync-execute", "async-execute", "dismiss"}
    assert description["inputs"] and description["outputs"]
    for name, spec in {**description["inputs"], **description["outputs"]}.items():
        assert isinstance(spec["schema"], dict), name
        assert spec["title"], name


def test_owslib_runs_a_parcel_check_synchronously(owslib, parcel_no):
    result = owslib.execute("parcel-check", {"parcel_no": parcel_no, "floors": 2})
    assert result["subject"]["parcel_no"] == parcel_no
    assert result["verdict"] in ("allowed", "allowed_with_warnings", "refused")
    assert len(result["rules"]) == 20


def test_the_landing_page_links_the_processes_and_the_conformance(client):
    rels = {link["rel"] for link in client.get("/ogc/?f=json").json()["links"]}
    assert {"http://www.opengis.net/def/rel/ogc/1.0/processes", "conformance"} <= rels


def test_an_unknown_process_is_a_404_no_such_process(client):
    response = client.get("/ogc/processes/no-such-check?f=json")
    assert response.status_code == 404
    assert response.json()["type"] == EXCEPTIONS + "no-such-process"


def test_the_openapi_document_describes_execution_and_jobs(client):
    paths = client.get("/ogc/openapi?f=json").json()["paths"]
    assert "post" in paths["/processes/parcel-check/execution"]
    assert {"get", "delete"} <= set(paths["/jobs/{jobId}"])


def test_a_dismissed_job_answers_dismissed_then_no_such_job(client, analyst_auth, parcel_no):
    job_id = _job_id(execute(client, "parcel-check", {"parcel_no": parcel_no}, analyst_auth))
    dismissed = client.delete(f"/ogc/jobs/{job_id}", headers=analyst_auth)
    assert dismissed.status_code == 200
    assert (dismissed.json()["jobID"], dismissed.json()["status"]) == (job_id, "dismissed")
    gone = client.get(f"/ogc/jobs/{job_id}")
    assert gone.status_code == 404 and gone.json()["type"] == EXCEPTIONS + "no-such-job"


def test_a_malformed_job_id_is_a_404_no_such_job(client):
    response = client.get("/ogc/jobs/%00%27;DROP")
    assert response.status_code == 404 and response.json()["type"] == EXCEPTIONS + "no-such-job"
