"""Job records (table processing_jobs) and the job queue (procrastinate, in PostgreSQL).

A job row and its queue entry are written in one transaction, so a job is never queued without
a record nor recorded without being queued. Worker processes (`amanat worker`, any host) take
jobs from the queue; their heartbeats are in the database, so a job whose worker stopped beating
is marked failed with the reason (`fail_stalled`), by any worker's sweep or by a status read.

An asynchronous job has an owner (who asked for it, see processing.manager.Caller); `submit`
refuses one more job to an owner who already has `max_active` accepted or running (TooManyJobs,
nothing written), counting and inserting under a transaction-scoped advisory lock on the owner
so that two concurrent submissions of one owner cannot both pass. A synchronous run is recorded
with its caller as owner too. `listing` gives one owner's jobs (everyone's for admins, the HTTP
edge decides), read from the index on (owner, created DESC, id); `dismiss` given an owner refuses
another's job (NotYourJob) before anything changes.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

import procrastinate
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from kernel.messages import render
from processing.errors import NotYourJob, TooManyJobs, UnknownJob

LOGGER = logging.getLogger(__name__)
TASK = "amanat.run_job"
QUEUE = "checks"
ACTIVE = ("accepted", "running")
COLUMNS = ("id, process_id, status, message, progress, inputs, certificate_id, summary, "
           "created, started, finished, updated, owner")


class JobDismissed(Exception):
    """The job was dismissed while it ran: stop and leave nothing behind."""


def queue_app(dsn: str, task=None) -> procrastinate.App:
    """A procrastinate app on this database; with `task`, the worker side that runs jobs."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=dsn))
    if task is not None:
        app.task(name=TASK, queue=QUEUE, pass_context=False)(task)
    return app


def _job_uuid(job_id: str) -> uuid.UUID:
    """A client-given job id as a UUID, or UnknownJob (ids are never anything else)."""
    try:
        return uuid.UUID(str(job_id))
    except ValueError:
        raise UnknownJob("no job with id {id!r}", id=job_id) from None


def record(conn, job_id: str, process_id: str, inputs: dict, status: str,
           certificate_id: str | None = None, owner: str | None = None) -> None:
    """Insert a job row (a finished synchronous run, or an accepted asynchronous one)."""
    done = status == "successful"
    conn.execute(
        "INSERT INTO processing_jobs (id, process_id, status, message, progress, inputs, "
        "certificate_id, started, finished, owner) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [job_id, process_id, status, "done" if done else "queued", 100 if done else 0,
         Jsonb(inputs), certificate_id, _now() if done else None, _now() if done else None,
         owner])


def active_count(conn, owner: str) -> int:
    """How many of an owner's jobs are accepted or running (read from a partial index)."""
    return conn.execute("SELECT count(*) FROM processing_jobs WHERE owner = %s "
                        "AND status IN ('accepted', 'running')", [owner]).fetchone()[0]


def _claim_slot(conn, owner: str, max_active: int) -> None:
    """In the caller's transaction: take the owner's lock, then TooManyJobs if they are full.

    The lock (released at commit or rollback) serialises the submissions of one owner only.
    The count is a later statement, so under READ COMMITTED it sees the job that a submission
    holding the lock before committed. (No row exists to lock with SELECT ... FOR UPDATE:
    anonymous owners are addresses, and a table of owners would only grow.)
    """
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                 [f"processing_jobs.owner:{owner}"])
    active = active_count(conn, owner)
    if active >= max_active:
        raise TooManyJobs(
            "too many asynchronous jobs: {active} of yours are accepted or running, the most "
            "allowed per client; wait for one to finish (or dismiss one) and try again.",
            active=active)


def submit(conn, dsn: str, process_id: str, inputs: dict, owner: str | None = None,
           max_active: int | None = None) -> str:
    """Record an accepted job and queue it, in one transaction; return its id.

    Given an owner and `max_active`, TooManyJobs (and nothing written or queued) when the owner
    already has that many jobs accepted or running.
    """
    job_id = str(uuid.uuid4())
    with conn.transaction():
        if owner is not None and max_active is not None:
            _claim_slot(conn, owner, max_active)
        record(conn, job_id, process_id, inputs, "accepted", owner=owner)
        queue_id = queue_app(dsn).configure_task(TASK, queue=QUEUE, connection=conn).defer(
            job_id=job_id)
        conn.execute("UPDATE processing_jobs SET queue_job_id = %s WHERE id = %s",
                     [queue_id, job_id])
    return job_id


def _now() -> datetime:
    """The current time (UTC)."""
    return datetime.now(timezone.utc)


def get(conn, job_id: str) -> dict:
    """One job's row as a dict; dismissed or unknown jobs are UnknownJob."""
    key = _job_uuid(job_id)
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(f"SELECT {COLUMNS}, queue_job_id FROM processing_jobs "
                          "WHERE id = %s AND status <> 'dismissed'", [key]).fetchone()
    if row is None:
        raise UnknownJob("no job with id {id!r}", id=job_id)
    return row


PAGE = ("SELECT {columns} FROM processing_jobs WHERE {where} "
        "ORDER BY created DESC, id LIMIT %(l)s OFFSET %(o)s")
COUNT = "SELECT count(*) AS n FROM processing_jobs WHERE {where}"


@dataclass(frozen=True)
class JobFilter:
    """What a job listing selects (OGC API Processes /req/job-list): process ids, statuses,
    a creation interval, a duration range in seconds; None = any."""

    process_ids: tuple[str, ...] | None = None
    statuses: tuple[str, ...] | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    min_duration_s: int | None = None
    max_duration_s: int | None = None


DURATION = "EXTRACT(EPOCH FROM coalesce(finished, now()) - started)"   # never started: NULL


def listing_filter(selected: JobFilter, owner: str | None) -> tuple[str, dict]:
    """The WHERE clause of a listing and its bound values: fixed fragments only.

    With an owner, it is read from processing_jobs_owner_created_idx (migration 0010)."""
    where, params = [], {"w": owner}
    if selected.statuses is None:
        where.append("status <> 'dismissed'")
    else:
        where.append("status = ANY(%(s)s)")
        params["s"] = list(selected.statuses)
    if selected.process_ids is not None:
        where.append("process_id = ANY(%(p)s)")
        params["p"] = list(selected.process_ids)
    if owner is not None:
        where.append("owner = %(w)s")
    for name, clause, value in (("cf", "created >= %(cf)s", selected.created_from),
                                ("ct", "created <= %(ct)s", selected.created_to),
                                ("dn", f"{DURATION} >= %(dn)s", selected.min_duration_s),
                                ("dx", f"{DURATION} <= %(dx)s", selected.max_duration_s)):
        if value is not None:
            where.append(clause)
            params[name] = value
    return " AND ".join(where), params


def listing(conn, limit: int, offset: int, selected: JobFilter | None = None, *,
            owner: str | None) -> tuple[list, int]:
    """A page of jobs, newest first, and how many there are: `owner`'s (None: everyone's)."""
    where, params = listing_filter(selected or JobFilter(), owner)
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(PAGE.format(columns=COLUMNS, where=where),
                           {**params, "l": limit, "o": offset}).fetchall()
        total = cur.execute(COUNT.format(where=where), params).fetchone()["n"]
    return rows, total


def start(conn, job_id: str) -> dict | None:
    """Mark a queued job running and return it; None if it was dismissed meanwhile."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "UPDATE processing_jobs SET status = 'running', started = now(), updated = now(), "
            "progress = 1, message = 'started' WHERE id = %s AND status = 'accepted' "
            "RETURNING id, process_id, inputs", [job_id]).fetchone()


def progress(conn, job_id: str, percent: int, message: str) -> None:
    """Report progress of a running job; JobDismissed if it is no longer wanted."""
    row = conn.execute(
        "UPDATE processing_jobs SET progress = %s, message = %s, updated = now() "
        "WHERE id = %s AND status = 'running' RETURNING id",
        [max(0, min(99, int(percent))), message, job_id]).fetchone()
    if row is None:
        raise JobDismissed(job_id)


def finish(conn, job_id: str, certificate_id: str | None, summary: dict | None) -> bool:
    """Mark a running job successful (False when it was dismissed or failed meanwhile)."""
    row = conn.execute(
        "UPDATE processing_jobs SET status = 'successful', progress = 100, message = 'done', "
        "certificate_id = %s, summary = %s, finished = now(), updated = now() "
        "WHERE id = %s AND status = 'running' RETURNING id",
        [certificate_id, Jsonb(summary) if summary is not None else None, job_id]).fetchone()
    return row is not None


def fail(conn, job_id: str, reason: str) -> None:
    """Mark an unfinished job failed with a reason a client may read."""
    conn.execute(
        "UPDATE processing_jobs SET status = 'failed', message = %s, finished = now(), "
        "updated = now() WHERE id = %s AND status IN ('accepted', 'running')", [reason, job_id])


def forget(conn, job_id: str) -> None:
    """Delete a job row and its findings (after a dismissal)."""
    conn.execute("DELETE FROM processing_jobs WHERE id = %s", [job_id])


def check_owner(job: dict, owner: str | None) -> None:
    """NotYourJob unless `owner` is None (an admin) or submitted the job (a job recorded with
    no owner, from before owners were kept, is an admin's to dismiss)."""
    if owner is not None and job["owner"] != owner:
        raise NotYourJob(
            "this job was submitted by someone else; only they or an administrator can dismiss "
            "it.")


def dismiss(conn, job_id: str, owner: str | None = None) -> None:
    """Dismiss a job: cancel it if queued, stop it if running, delete it and its results.

    Given an owner, NotYourJob (and nothing changed) when the job is someone else's.
    """
    job = get(conn, job_id)
    check_owner(job, owner)
    with conn.transaction():
        if job["status"] == "running":
            conn.execute("UPDATE processing_jobs SET status = 'dismissed', updated = now() "
                         "WHERE id = %s", [job["id"]])
            if job["queue_job_id"] is not None:
                conn.execute("SELECT procrastinate_cancel_job_v1(%s, true, false)",
                             [job["queue_job_id"]])
            return
        if job["status"] == "accepted" and job["queue_job_id"] is not None:
            conn.execute("SELECT procrastinate_cancel_job_v1(%s, false, false)",
                         [job["queue_job_id"]])
        forget(conn, job["id"])


STALLED = """
WITH stalled AS (
  SELECT j.id FROM procrastinate_jobs j
  LEFT JOIN procrastinate_workers w ON w.id = j.worker_id
  WHERE j.status = 'doing' AND j.task_name = %(task)s
    AND (j.worker_id IS NULL OR w.last_heartbeat < now() - make_interval(secs => %(after)s))
    AND (%(queue_id)s::bigint IS NULL OR j.id = %(queue_id)s)
  FOR UPDATE OF j SKIP LOCKED
), ended AS (
  SELECT s.id, procrastinate_finish_job_v1(s.id, 'failed', false) FROM stalled s
)
UPDATE processing_jobs p SET status = 'failed', message = %(reason)s, finished = now(),
       updated = now()
FROM ended e WHERE p.queue_job_id = e.id AND p.status IN ('accepted', 'running')
RETURNING p.id
"""


def fail_stalled(conn, stalled_after_s: float, queue_job_id: int | None = None) -> list[str]:
    """Mark failed the jobs whose worker has stopped sending heartbeats; return their ids."""
    reason = render("the worker running this job stopped responding (no heartbeat for "
                    "{seconds:g} s); the job did not complete", {"seconds": stalled_after_s},
                    "en")
    rows = conn.execute(STALLED, {"task": TASK, "after": stalled_after_s, "reason": reason,
                                  "queue_id": queue_job_id}).fetchall()
    for (job_id,) in rows:
        LOGGER.warning("job %s failed: its worker stopped responding", job_id)
    return [str(row[0]) for row in rows]
