"""pygeoapi job manager: job records in PostgreSQL, asynchronous jobs run by `amanat worker`.

Configured in pygeoapi-config.yml as `server.manager.name: processing.manager.AmanatManager`,
with the processes it serves under `amanat_processes`; create_app adds the application's
permit-check runtime and error map to that configuration (`runtime`, `errors`). Unlike
pygeoapi's own managers, it validates inputs before anything is written, never runs an
asynchronous job in a web worker's thread (it queues it, see processing.jobs), and turns domain
errors into OGC exceptions with the status of the application's error map.

pygeoapi does not hand the request to the manager, so the execution route (geoserver/routes.py)
binds who is executing to the context variable CALLER for that request (`calling`) and calls
pygeoapi in a worker thread that carries the request's context. Jobs, synchronous runs too,
are recorded with their caller as owner; asynchronous ones are bounded per owner
(LimitSettings.max_active_jobs_per_client): one more is a 429 with Retry-After. (pygeoapi's own
/jobs routes are not on the route table: processing.routes serves /ogc/jobs.)
"""
from __future__ import annotations

import contextlib
import contextvars
import logging
from dataclasses import dataclass

from pygeoapi.process.base import JobNotFoundError, ProcessorExecuteError
from pygeoapi.process.manager.base import BaseManager
from pygeoapi.util import JobStatus, RequestedProcessExecutionMode

from kernel.errors import AmanatError, ErrorMap
from kernel.messages import Texts
from processing import engine, exports, jobs
from processing.errors import TooManyJobs, UnknownJob

LOGGER = logging.getLogger(__name__)
@dataclass
class Caller:
    """Who executes a process in this request, and what became of the job limit."""

    owner: str                            # principal subject, or ip:<address> when anonymous
    max_active_jobs: int | None           # None: the application has no limit settings
    retry_after_s: int | None = None      # set when the request is refused for the limit


CALLER: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("amanat_caller",
                                                                      default=None)


@contextlib.contextmanager
def calling(owner: str, max_active_jobs: int | None):
    """Bind the caller of the execution request being served; yields its Caller."""
    caller = Caller(owner, max_active_jobs)
    token = CALLER.set(caller)
    try:
        yield caller
    finally:
        CALLER.reset(token)


def process_error(errors: ErrorMap, err: AmanatError) -> ProcessorExecuteError:
    """A domain error in pygeoapi's form (the one place it is made), carrying the HTTP status
    and OGC code of the application's error map."""
    kind = errors.kind_of(err)
    status, code = (kind.status, kind.code) if kind else (500, "NoApplicableCode")
    titles = {"ar": kind.ar, "en": kind.en} if kind else None
    error = ProcessorExecuteError(user_msg=Texts(errors.texts(err), titles))
    error.http_status_code, error.ogc_exception_code = status, code
    return error


def _internal_error(errors: ErrorMap) -> ProcessorExecuteError:
    """What a client sees of an unforeseen failure."""
    error = ProcessorExecuteError(user_msg=Texts(errors.texts(RuntimeError())))
    error.http_status_code, error.ogc_exception_code = 500, "NoApplicableCode"
    return error


def wants_async(metadata: dict, execution_mode) -> bool:
    """Asynchronous when asked for and offered, or when the process cannot run synchronously."""
    controls = metadata.get("jobControlOptions", [])
    if execution_mode == RequestedProcessExecutionMode.respond_async:
        return "async-execute" in controls
    return "sync-execute" not in controls


def job_document(row: dict) -> dict:
    """A job row in the shape pygeoapi's job handlers read."""
    stamp = {key: row[key].isoformat() if row[key] else None
             for key in ("created", "started", "finished", "updated")}
    return {"identifier": str(row["id"]), "type": "process", "process_id": row["process_id"],
            "status": row["status"], "message": row["message"], "progress": row["progress"],
            "mimetype": "application/json", "location": None, **stamp}


class AmanatManager(BaseManager):
    """Jobs in processing_jobs, queued through procrastinate."""

    def __init__(self, manager_def: dict):
        """Register the processes listed under amanat_processes; connect to nothing yet."""
        super().__init__(manager_def)
        self.runtime = manager_def.get("runtime")
        self.errors: ErrorMap = manager_def.get("errors") or ErrorMap()
        self.is_async = True
        self.supports_subscribing = False
        for process_id, conf in (manager_def.get("amanat_processes") or {}).items():
            self.processes.setdefault(process_id, dict(conf))

    def execute_process(self, process_id, data_dict, execution_mode=None,
                        requested_outputs=None, subscriber=None, requested_response="raw"):
        """Validate, then run now or queue; (job id, mimetype, outputs, status, headers)."""
        processor = self.get_processor(process_id)
        try:
            rt = self.runtime
            request = processor.parse(data_dict, rt.ruleset)
            if wants_async(processor.metadata, execution_mode):
                job_id = self._submit(rt, process_id, request, CALLER.get())
                return (job_id, "application/json", None, JobStatus.accepted,
                        {"Preference-Applied": "respond-async"})
            job_id, caller = engine.new_job_id(), CALLER.get()   # bound by the execution route
            document = engine.run_single(rt, process_id, request, job_id,
                                         owner=caller.owner if caller else None)
        except TooManyJobs as err:
            CALLER.get().retry_after_s = err.retry_after_s   # only raised when a caller is bound
            raise process_error(self.errors, err) from None
        except AmanatError as err:
            raise process_error(self.errors, err) from None
        except Exception:
            LOGGER.exception("process %s failed", process_id)
            raise _internal_error(self.errors) from None
        headers = {"Preference-Applied": "wait"} if execution_mode is not None else None
        return job_id, "application/json", document, JobStatus.successful, headers

    @staticmethod
    def _submit(rt, process_id: str, request, caller: Caller | None) -> str:
        """Record and queue a job (parcels and areas are checked against the database first),
        within the caller's job limit: TooManyJobs, unless one of their jobs turns out to have
        lost its worker (it is failed, which frees its place)."""
        if caller is None:
            LOGGER.warning("asynchronous %s job submitted with no caller bound: no job limit",
                           process_id)
        owner, limit = (caller.owner, caller.max_active_jobs) if caller else (None, None)
        with rt.db.connection() as conn:
            engine.validate_queued(conn, request)
            try:
                return jobs.submit(conn, rt.dsn, process_id, request.echo, owner, limit)
            except TooManyJobs:
                if not jobs.fail_stalled(conn, rt.stalled_after_s):
                    raise
            return jobs.submit(conn, rt.dsn, process_id, request.echo, owner, limit)

    def get_jobs(self, status=None, limit=None, offset=None) -> dict:
        """A page of jobs, newest first."""
        with self.runtime.db.connection() as conn:
            rows, total = jobs.listing(conn, limit or 10, offset or 0, owner=None)
        return {"jobs": [job_document(row) for row in rows], "numberMatched": total}

    def get_job(self, job_id: str) -> dict:
        """One job (JobNotFoundError when there is none)."""
        try:
            with self.runtime.db.connection() as conn:
                return job_document(jobs.get(conn, job_id))
        except UnknownJob:
            raise JobNotFoundError() from None

    def get_job_result(self, job_id: str):
        """(mimetype, result) of a finished job: the certificate, or the batch summary."""
        with self.runtime.db.connection() as conn:
            return "application/json", exports.job_result(conn, self.runtime, job_id)

    def delete_job(self, job_id: str) -> bool:
        """Dismiss a job (JobNotFoundError when there is none)."""
        try:
            with self.runtime.db.connection() as conn:
                jobs.dismiss(conn, job_id)
        except UnknownJob:
            raise JobNotFoundError() from None
        return True

    def add_job(self, job_metadata: dict) -> str:
        """Jobs are created by execute_process only."""
        raise NotImplementedError("jobs are created by AmanatManager.execute_process")

    def update_job(self, job_id: str, update_dict: dict) -> bool:
        """Jobs are updated by the workers only."""
        raise NotImplementedError("jobs are updated by the workers (processing.jobs)")

    def __repr__(self):
        """Name for logs."""
        return f"<AmanatManager> {self.name}"
