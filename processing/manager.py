"""pygeoapi job manager: job records in PostgreSQL, asynchronous jobs run by `amanat worker`.

Configured in pygeoapi-config.yml as `server.manager.name: processing.manager.AmanatManager`,
with the processes it serves under `amanat_processes`. Unlike pygeoapi's own managers, it
validates inputs before anything is written, never runs an asynchronous job in a web worker's
thread (it queues it, see processing.jobs), and turns domain errors into OGC exceptions with the
status of the one error map (geoserver.errors.status_of).
"""
from __future__ import annotations

import logging

from pygeoapi.process.base import JobNotFoundError, ProcessorExecuteError
from pygeoapi.process.manager.base import BaseManager
from pygeoapi.util import JobStatus, RequestedProcessExecutionMode

from geoserver.errors import AmanatError, message_of, status_of
from processing import engine, jobs, runtime
from processing.errors import UnknownJob

LOGGER = logging.getLogger(__name__)


def process_error(err: AmanatError) -> ProcessorExecuteError:
    """A domain error as the pygeoapi error carrying its HTTP status and OGC code."""
    status, code = status_of(err) or (500, "NoApplicableCode")
    error = ProcessorExecuteError(user_msg=message_of(err))
    error.http_status_code, error.ogc_exception_code = status, code
    return error


def _internal_error() -> ProcessorExecuteError:
    """What a client sees of an unforeseen failure."""
    error = ProcessorExecuteError(user_msg="internal error; it has been logged")
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
        self.is_async = True
        self.supports_subscribing = False
        for process_id, conf in (manager_def.get("amanat_processes") or {}).items():
            self.processes.setdefault(process_id, dict(conf))

    def execute_process(self, process_id, data_dict, execution_mode=None,
                        requested_outputs=None, subscriber=None, requested_response="raw"):
        """Validate, then run now or queue; (job id, mimetype, outputs, status, headers)."""
        processor = self.get_processor(process_id)
        try:
            rt = runtime.current()
            request = processor.parse(data_dict, rt.ruleset)
            if wants_async(processor.metadata, execution_mode):
                job_id = self._submit(rt, process_id, request)
                return (job_id, "application/json", None, JobStatus.accepted,
                        {"Preference-Applied": "respond-async"})
            job_id = engine.new_job_id()
            document = engine.run_single(rt, process_id, request, job_id)
        except AmanatError as err:
            raise process_error(err) from None
        except Exception:
            LOGGER.exception("process %s failed", process_id)
            raise _internal_error() from None
        headers = {"Preference-Applied": "wait"} if execution_mode is not None else None
        return job_id, "application/json", document, JobStatus.successful, headers

    @staticmethod
    def _submit(rt, process_id: str, request) -> str:
        """Record and queue a job (parcels and areas are checked against the database first)."""
        with engine.connection(rt.dsn) as conn:
            engine.validate_queued(conn, request)
            return jobs.submit(conn, rt.dsn, process_id, request.echo)

    def get_jobs(self, status=None, limit=None, offset=None) -> dict:
        """A page of jobs, newest first."""
        with engine.connection(runtime.current().dsn) as conn:
            rows, total = jobs.listing(conn, limit or 10, offset or 0)
        return {"jobs": [job_document(row) for row in rows], "numberMatched": total}

    def get_job(self, job_id: str) -> dict:
        """One job (JobNotFoundError when there is none)."""
        try:
            with engine.connection(runtime.current().dsn) as conn:
                return job_document(jobs.get(conn, job_id))
        except UnknownJob:
            raise JobNotFoundError() from None

    def get_job_result(self, job_id: str):
        """(mimetype, result) of a finished job: the certificate, or the batch summary."""
        from processing import exports

        with engine.connection(runtime.current().dsn) as conn:
            return "application/json", exports.job_result(conn, runtime.current(), job_id)

    def delete_job(self, job_id: str) -> bool:
        """Dismiss a job (JobNotFoundError when there is none)."""
        try:
            with engine.connection(runtime.current().dsn) as conn:
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
