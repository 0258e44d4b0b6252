"""Jobs belong to whoever submitted them: GET /ogc/jobs lists the caller's own jobs (an admin's:
everyone's), DELETE dismisses only one's own job (an admin: any), and a job stays readable by
its id (a random UUID, a link its owner may share).

Two signed-in analysts, an admin and anonymous clients (told apart by address) run parcel-check
synchronously and asynchronously. No worker runs here, so asynchronous jobs stay "accepted";
every job these owners left is dismissed at the end, so other test files never see them.
"""
import uuid
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from starlette.testclient import TestClient

from geoserver import create_app
from processing import jobs

EXECUTE = "/ogc/processes/parcel-check/execution"
NO_SUCH_JOB = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/no-such-job"
SUFFIX = uuid.uuid4().hex[:6]
ANONYMOUS = ("198.51.100.21", "198.51.100.22")   # documentation addresses (RFC 5737)


@pytest.fixture(scope="module")
def users(settings) -> dict:
    """(owner key, Authorization header) of two analysts and an admin, named for this module."""
    from geoserver.cli_auth import add_user_with_token

    roles = {"a": "analyst", "b": "analyst", "admin": "admin"}
    named = {key: f"t-jo-{key}-{SUFFIX}" for key in roles}
    return {key: (name, {"Authorization": "Bearer " + add_user_with_token(
        settings, name, roles[key], None)}) for key, name in named.items()}


@pytest.fixture(scope="module")
def owners(users) -> list[str]:
    """Every owner key this module's jobs have."""
    return [name for name, _ in users.values()] + [f"ip:{address}" for address in ANONYMOUS]


@pytest.fixture(scope="module")
def app(settings, database_url, owners):
    """The real application; this module's jobs are forgotten before and after."""
    _forget_all(database_url, owners)
    yield create_app(settings)
    _forget_all(database_url, owners)


def _forget_all(database_url: str, owners: list[str]) -> None:
    """Dismiss every job of these owners (queued ones are cancelled, all are deleted)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute("SELECT id FROM processing_jobs WHERE owner = ANY(%s) "
                            "AND status <> 'dismissed'", [owners]).fetchall()
        for (job_id,) in rows:
            jobs.dismiss(conn, str(job_id))


@pytest.fixture(scope="module")
def clients(app, users):
    """TestClients: 'a', 'b', 'admin' signed in, 'x' and 'y' anonymous from two addresses."""
    made = {key: TestClient(app, headers=headers) for key, (_, headers) in users.items()}
    made.update({key: TestClient(app, client=(address, 50000))
                 for key, address in zip("xy", ANONYMOUS)})
    for client in made.values():
        client.__enter__()
    yield made
    for client in made.values():
        client.__exit__(None, None, None)


@pytest.fixture(scope="module")
def parcel_no(db) -> str:
    """A parcel number of the sample city."""
    return db.execute("SELECT parcel_no FROM parcels ORDER BY id LIMIT 1").fetchone()[0]


def run(client, parcel_no: str, asynchronously: bool = False) -> str:
    """Execute parcel-check; the id of the job it recorded."""
    headers = {"Prefer": "respond-async"} if asynchronously else {}
    response = client.post(EXECUTE, json={"inputs": {"parcel_no": parcel_no}}, headers=headers)
    assert response.status_code == (201 if asynchronously else 200), response.text
    return response.headers["location"].rsplit("/", 1)[-1]


def listed(client, query: str = "limit=1000") -> tuple[set, dict]:
    """(ids of the jobs listed, the listing document)."""
    response = client.get(f"/ogc/jobs?{query}")
    assert response.status_code == 200, response.text
    body = response.json()
    return {job["jobID"] for job in body["jobs"]}, body


def own_ids(db, owner: str) -> set:
    """The ids of an owner's jobs that are not dismissed, read from the table."""
    return {str(row[0]) for row in db.execute(
        "SELECT id FROM processing_jobs WHERE owner = %s AND status <> 'dismissed'",
        [owner]).fetchall()}


@pytest.fixture(scope="module")
def submitted(clients, parcel_no) -> dict:
    """Each client's jobs: one synchronous and one asynchronous (only 'y' runs one, sync)."""
    made = {key: [run(clients[key], parcel_no), run(clients[key], parcel_no, True)]
            for key in ("a", "b", "x")}
    made["y"] = [run(clients["y"], parcel_no)]
    return made


def test_synchronous_and_asynchronous_jobs_record_their_caller_as_owner(submitted, users, db):
    expected = {"a": users["a"][0], "b": users["b"][0], "x": f"ip:{ANONYMOUS[0]}",
                "y": f"ip:{ANONYMOUS[1]}"}
    for key, ids in submitted.items():
        stored = db.execute("SELECT owner FROM processing_jobs WHERE id = ANY(%s::uuid[])",
                            [ids]).fetchall()
        assert stored == [(expected[key],)] * len(ids), key


@pytest.mark.parametrize("key", ["a", "b", "x", "y"])
def test_each_caller_lists_only_their_own_jobs(clients, submitted, key):
    ids, body = listed(clients[key])
    assert ids == set(submitted[key])
    assert body["numberMatched"] == len(submitted[key])
    assert all("owner" not in job for job in body["jobs"])


def test_the_anonymous_test_client_does_not_see_the_analysts_jobs(client, submitted):
    ids, _ = listed(client)
    assert not ids & {job for key in ("a", "b", "x", "y") for job in submitted[key]}


def test_admins_list_every_job_with_its_owner(clients, submitted, users, db):
    ids, body = listed(clients["admin"])
    everyone = {job for key_ids in submitted.values() for job in key_ids}
    assert everyone <= ids
    assert body["numberMatched"] == db.execute(
        "SELECT count(*) FROM processing_jobs WHERE status <> 'dismissed'").fetchone()[0]
    owner_of = {job["jobID"]: job["owner"] for job in body["jobs"]}
    assert {owner_of[job] for job in submitted["a"]} == {users["a"][0]}
    assert {owner_of[job] for job in submitted["x"]} == {f"ip:{ANONYMOUS[0]}"}


def test_admins_narrow_the_listing_by_owner(clients, submitted, users):
    ids, body = listed(clients["admin"], f"limit=1000&owner={users['b'][0]}")
    assert ids == set(submitted["b"]) and body["numberMatched"] == 2
    ids, _ = listed(clients["admin"], f"owner=ip:{ANONYMOUS[1]}")
    assert ids == set(submitted["y"])


def test_a_non_admin_may_name_only_themself_as_owner(clients, submitted, users):
    assert listed(clients["a"], f"owner={users['a'][0]}")[0] == set(submitted["a"])
    for key, other in (("a", users["b"][0]), ("x", users["a"][0]), ("x", f"ip:{ANONYMOUS[1]}")):
        response = clients[key].get(f"/ogc/jobs?owner={other}")
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "Forbidden"
        assert other not in response.text
        assert "مدير" in response.json()["description"]   # Arabic by default


def test_pages_and_next_links_follow_the_callers_own_jobs(clients, submitted, users, parcel_no,
                                                           db):
    for _ in range(3):
        run(clients["b"], parcel_no)
    mine = own_ids(db, users["b"][0])
    assert len(mine) >= 5
    seen, href, pages = [], "/ogc/jobs?limit=2&processID=parcel-check", 0
    while href:
        body = clients["b"].get(href).json()
        assert body["numberMatched"] == len(mine)
        seen += [job["jobID"] for job in body["jobs"]]
        following = [link["href"] for link in body["links"] if link["rel"] == "next"]
        href = following[0].replace("http://testserver", "") if following else None
        if href:
            assert parse_qs(urlsplit(href).query)["processID"] == ["parcel-check"]
        pages += 1
    assert pages == (len(mine) + 1) // 2 and len(seen) == len(mine) and set(seen) == mine
    created = [db.execute("SELECT created FROM processing_jobs WHERE id = %s",
                          [job]).fetchone()[0] for job in seen]
    assert created == sorted(created, reverse=True)


def test_the_last_page_and_an_empty_filter_have_no_next_link(clients, submitted):
    _, body = listed(clients["x"], "limit=2")
    assert [link["rel"] for link in body["links"]] == ["self"]
    _, body = listed(clients["a"], "processID=batch-compliance")
    assert body["jobs"] == [] and body["numberMatched"] == 0
    assert [link["rel"] for link in body["links"]] == ["self"]
    _, body = listed(clients["a"], "limit=1")
    assert body["numberMatched"] == 2 and len(body["jobs"]) == 1
    assert [link["rel"] for link in body["links"]] == ["self", "next"]


def test_admin_paging_by_owner_keeps_the_filter_in_the_next_link(clients, submitted):
    owner = f"ip:{ANONYMOUS[0]}"
    _, body = listed(clients["admin"], f"limit=1&owner={owner}")
    assert body["numberMatched"] == 2
    following = next(link["href"] for link in body["links"] if link["rel"] == "next")
    assert parse_qs(urlsplit(following).query) == {"owner": [owner], "limit": ["1"],
                                                   "offset": ["1"]}
    second = clients["admin"].get(following.replace("http://testserver", "")).json()
    assert {job["jobID"] for job in body["jobs"] + second["jobs"]} == set(submitted["x"])


def test_a_job_stays_readable_by_its_id_by_anyone_holding_it(clients, submitted):
    synchronous, queued = submitted["a"]
    assert clients["b"].get(f"/ogc/jobs/{queued}").json()["status"] == "accepted"
    assert clients["y"].get(f"/ogc/jobs/{synchronous}").json()["status"] == "successful"
    result = clients["y"].get(f"/ogc/jobs/{synchronous}/results")
    assert result.status_code == 200 and result.json()["id"].startswith("AMN-")
    assert "owner" not in clients["y"].get(f"/ogc/jobs/{synchronous}").json()


def test_job_ids_are_random_uuids(submitted):
    for ids in submitted.values():
        for job in ids:
            assert uuid.UUID(job).version == 4


def _row(db, job_id: str):
    """Everything stored about a job: its row and its queue entry's status."""
    return db.execute("SELECT p.*, q.status FROM processing_jobs p LEFT JOIN procrastinate_jobs "
                      "q ON q.id = p.queue_job_id WHERE p.id = %s", [job_id]).fetchone()


@pytest.mark.parametrize("path_end", ["", "/"])
def test_dismissing_another_analysts_job_is_refused_and_changes_nothing(clients, parcel_no, db,
                                                                        path_end):
    queued, finished = run(clients["a"], parcel_no, True), run(clients["a"], parcel_no)
    for job in (queued, finished):
        before = _row(db, job)
        response = clients["b"].delete(f"/ogc/jobs/{job}{path_end}")
        assert response.status_code == 403, response.text
        body = response.json()
        assert body["code"] == "Forbidden"
        assert "someone else" in body["descriptions"]["en"] and "مستخدم آخر" in body["description"]
        assert _row(db, job) == before
        assert clients["a"].get(f"/ogc/jobs/{job}").status_code == 200
    assert _row(db, queued)[-1] == "todo"


def test_an_anonymous_client_may_not_dismiss_even_its_own_job(clients, submitted, db):
    job = submitted["x"][1]
    before = _row(db, job)
    assert clients["x"].delete(f"/ogc/jobs/{job}").status_code == 401   # analysts and admins
    assert _row(db, job) == before


def test_an_analyst_dismisses_their_own_job(clients, parcel_no, db):
    job = run(clients["b"], parcel_no, True)
    response = clients["b"].delete(f"/ogc/jobs/{job}")
    assert response.status_code == 200 and response.json()["status"] == "dismissed"
    assert clients["b"].get(f"/ogc/jobs/{job}").status_code == 404
    assert job not in listed(clients["b"])[0]
    assert db.execute("SELECT status FROM procrastinate_jobs WHERE args->>'job_id' = %s",
                      [job]).fetchone() == ("cancelled",)


def test_an_admin_dismisses_anyones_job(clients, parcel_no, db):
    for key in ("a", "x"):
        job = run(clients[key], parcel_no, True)
        assert clients["admin"].delete(f"/ogc/jobs/{job}").status_code == 200
        assert db.execute("SELECT 1 FROM processing_jobs WHERE id = %s", [job]).fetchone() is None


def test_a_job_without_an_owner_is_an_admins_only(clients, db):
    job = str(uuid.uuid4())
    jobs.record(db, job, "parcel-check", {"parcel_no": "legacy"}, "failed")   # from before 0009
    try:
        assert job not in listed(clients["a"])[0]
        assert job in listed(clients["admin"])[0]
        assert clients["a"].delete(f"/ogc/jobs/{job}").status_code == 403
        assert clients["admin"].delete(f"/ogc/jobs/{job}").status_code == 200
    finally:
        db.execute("DELETE FROM processing_jobs WHERE id = %s", [job])


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=ten", "offset=-1",
                                   "offset=1.5", "owner=", "processID=", "owner=%00",
                                   "processID=a%00b", "owner=" + "o" * 257])
def test_malformed_listing_parameters_are_a_400(clients, submitted, query):
    for key in ("a", "admin", "x"):
        response = clients[key].get(f"/ogc/jobs?{query}")
        assert response.status_code == 400, (key, response.text)
        assert response.json()["code"] == "InvalidParameterValue"


@pytest.mark.parametrize("job_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000",
                                    str(uuid.uuid4())])
def test_dismissing_a_malformed_or_unknown_id_is_no_such_job(clients, job_id):
    for key in ("a", "admin"):
        response = clients[key].delete(f"/ogc/jobs/{job_id}")
        assert response.status_code == 404
        assert response.json()["type"] == NO_SUCH_JOB


def test_listing_one_owners_jobs_reads_the_owner_index_in_order(database_url):
    """With many owners, a page of one owner's jobs is an index scan of
    processing_jobs_owner_created_idx with no sort (rows made and rolled back)."""
    selected = jobs.JobFilter(process_ids=("parcel-check",))
    where, bound = jobs.listing_filter(selected, "t-jo-plan-7")
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO processing_jobs (id, process_id, status, inputs, owner, created) "
            "SELECT gen_random_uuid(), 'parcel-check', 'successful', '{}', "
            "'t-jo-plan-' || (n % 500), now() - n * interval '1 second' "
            "FROM generate_series(1, 50000) n")
        conn.execute("ANALYZE processing_jobs")
        params = {**bound, "l": 10, "o": 0}
        page = "\n".join(row[0] for row in conn.execute(
            "EXPLAIN " + jobs.PAGE.format(columns=jobs.COLUMNS, where=where), params))
        count = "\n".join(row[0] for row in conn.execute(
            "EXPLAIN " + jobs.COUNT.format(where=where), params))
        rows, total = jobs.listing(conn, 10, 0, selected, owner="t-jo-plan-7")
        conn.rollback()
    assert "processing_jobs_owner_created_idx" in page and "Sort" not in page, page
    assert "processing_jobs_owner_created_idx" in count and "Seq Scan" not in count, count
    assert total == 100 and len(rows) == 10
    assert [row["created"] for row in rows] == sorted((row["created"] for row in rows),
                                                      reverse=True)
