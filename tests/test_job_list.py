"""OGC API Processes job-list class (/req/job-list): GET /ogc/jobs filtered by type, processID,
status, datetime and duration, with limit and next links that keep the filters. Jobs are rows
made here for one owner (listed by an admin with ?owner=) and removed afterwards."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

OWNER = "t-joblist"
JOBS = [   # process, status, created (minutes ago), seconds it ran (None: never started)
    ("parcel-check", "successful", 50, 2),
    ("parcel-check", "failed", 40, 30),
    ("license-site-check", "successful", 30, 5),
    ("batch-compliance", "running", 20, None),
    ("batch-compliance", "accepted", 10, None),
    ("parcel-check", "dismissed", 5, 1),
]


@pytest.fixture(scope="module")
def made(db):
    """The jobs above, by id in the order of JOBS."""
    ids = [str(uuid.uuid4()) for _ in JOBS]
    now = db.execute("SELECT now()").fetchone()[0]
    for job_id, (process, status, ago, ran) in zip(ids, JOBS):
        created = now - timedelta(minutes=ago)
        started = created if ran is not None or status == "running" else None
        finished = created + timedelta(seconds=ran) if ran is not None else None
        db.execute("INSERT INTO processing_jobs (id, process_id, status, inputs, owner, created, "
                   "started, finished) VALUES (%s, %s, %s, '{}', %s, %s, %s, %s)",
                   [job_id, process, status, OWNER, created, started, finished])
    yield ids
    db.execute("DELETE FROM processing_jobs WHERE owner = %s", [OWNER])


def listed(client, auth, query: str = "") -> list[str]:
    """The ids a listing of the test owner's jobs returns, in order."""
    response = client.get(f"/ogc/jobs?owner={OWNER}&limit=100&{query}", headers=auth["admin"])
    assert response.status_code == 200, response.text
    return [job["jobID"] for job in response.json()["jobs"]]


def picked(made, *indexes: int) -> list[str]:
    """Ids of JOBS entries, newest first (the listing's order)."""
    return [made[i] for i in sorted(indexes, key=lambda i: JOBS[i][2])]


def test_without_filters_every_job_but_the_dismissed_newest_first(client, auth, made):
    assert listed(client, auth) == picked(made, 0, 1, 2, 3, 4)


@pytest.mark.parametrize("query, expected", [
    ("processID=parcel-check", (0, 1)),
    ("processID=parcel-check,license-site-check", (0, 1, 2)),
    ("processID=parcel-check&processID=batch-compliance", (0, 1, 3, 4)),
    ("status=successful", (0, 2)),
    ("status=running,accepted", (3, 4)),
    ("status=dismissed", (5,)),
    ("type=process", (0, 1, 2, 3, 4)),
    ("type=wps", ()),
    ("status=successful&processID=parcel-check", (0,)),
])
def test_process_status_and_type_select_their_jobs(client, auth, made, query, expected):
    assert listed(client, auth, query) == picked(made, *expected)


def test_datetime_selects_by_creation_time(client, auth, made):
    now = datetime.now(timezone.utc)
    at = (now - timedelta(minutes=35)).isoformat().replace("+00:00", "Z")
    assert listed(client, auth, f"datetime={at}/..") == picked(made, 2, 3, 4)
    assert listed(client, auth, f"datetime=../{at}") == picked(made, 0, 1)
    to = (now - timedelta(minutes=15)).isoformat().replace("+00:00", "Z")
    assert listed(client, auth, f"datetime={at}/{to}") == picked(made, 2, 3)


def test_durations_select_jobs_that_ran_that_long(client, auth, made):
    assert listed(client, auth, "minDuration=10") == picked(made, 1, 3)   # 30 s, running 20 min
    assert listed(client, auth, "maxDuration=5") == picked(made, 0, 2)
    assert listed(client, auth, "minDuration=3&maxDuration=60") == picked(made, 1, 2)


def test_next_links_keep_the_filters(client, auth, made):
    response = client.get(f"/ogc/jobs?owner={OWNER}&processID=parcel-check&processID="
                          "batch-compliance&limit=2", headers=auth["admin"]).json()
    assert len(response["jobs"]) == 2 and response["numberMatched"] == 4
    following = next(link["href"] for link in response["links"] if link["rel"] == "next")
    second = client.get(following.replace("http://testserver", ""), headers=auth["admin"])
    assert [j["jobID"] for j in response["jobs"] + second.json()["jobs"]] == picked(
        made, 0, 1, 3, 4)


@pytest.mark.parametrize("query", [
    "type=job", "status=done", "status=", "processID=", "processID=" + "p" * 300,
    "processID=%00", "datetime=yesterday", "datetime=../..", "datetime=a/b/c",
    "datetime=2026-13-01T00:00:00Z", "minDuration=-1", "minDuration=1.5", "maxDuration=x",
    "maxDuration=99999999999", "status=" + ",".join(["failed"] * 51)])
def test_malformed_filters_are_400_in_both_languages(client, auth, made, query):
    response = client.get(f"/ogc/jobs?owner={OWNER}&{query}", headers=auth["admin"])
    assert response.status_code == 400, (query, response.text)
    body = response.json()
    assert body["code"] == "InvalidParameterValue" and body["descriptions"]["ar"]
    assert body["descriptions"]["en"] != body["descriptions"]["ar"]
