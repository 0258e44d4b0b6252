"""pygeoapi job manager: job records in PostgreSQL, asynchronous jobs run by `amanat worker`.

Configured in pygeoapi-config.yml as `server.manager.name: processing.manager.AmanatManager`,
with the processes it serves under `amanat_processes`. Unlike pygeoapi's own managers, it
validates inputs before anything is written, never runs an asynchronous job in a web worker's
thread (it queues it, see processing.jobs), and turns domain errors into OGC exceptions with the
status of the one error map (geoserver.errors.status_of).

pygeoapi does not hand the request to the manager, so who is executing reaches it through a
context variable (CALLER) that JobCallers, a middleware just inside the authorisation one,
binds for each execution request (`serve_as_caller`). pygeoapi runs its handlers with asyncio's `run_in_executor`, which, unlike
anyio's `to_thread.run_sync`, does not copy context variables into the worker thread; so the
same function makes the event loop's default executor one that does (once per loop).
Jobs, synchronous runs too, are recorded with their caller as owner; asynchronous ones are
bounded per owner (LimitSettings.max_active_jobs_per_client): one more is a 429 with Retry-After.
(pygeoapi's own /jobs routes, which would reach get_jobs and delete_job without a caller, are
never reached: processing.routes serves /ogc/jobs in front of the /ogc mount.)
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pygeoapi.process.base import JobNotFoundError, ProcessorExecuteError
from pygeoapi.process.manager.base import BaseManager
from pygeoapi.util import JobStatus, RequestedProcessExecutionMode

from geoserver.auth import principal_of
from geoserver.errors import AmanatError, message_of, status_of
from processing import engine, jobs, runtime
from processing.errors import TooManyJobs, UnknownJob

LOGGER = logging.getLogger(__name__)
EXECUTION = re.compile(r"^/ogc/processes/[^/]+/execution/?$")
RETRY_AFTER_S = 30   # told to a client over its job limit (jobs take seconds to minutes)


@dataclass
class Caller:
    """Who executes a process in this request, and what became of the job limit."""

    owner: str                            # principal subject, or ip:<address> when anonymous
    max_active_jobs: int | None           # None: the application has no limit settings
    retry_after_s: int | None = None      # set when the request is refused for the limit


CALLER: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("amanat_caller",
                                                                      default=None)


class _ContextCopyingExecutor(ThreadPoolExecutor):
    """A thread pool that runs each call in a copy of the submitting task's context."""

    def submit(self, fn, /, *args, **kwargs):
        """Like ThreadPoolExecutor.submit, with the caller's context variables."""
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)


_equipped_loops: weakref.WeakSet = weakref.WeakSet()


def _equip(loop: asyncio.AbstractEventLoop) -> None:
    """Make the loop's default executor copy context variables (the first time only)."""
    if loop not in _equipped_loops:
        loop.set_default_executor(_ContextCopyingExecutor(thread_name_prefix="asyncio"))
        _equipped_loops.add(loop)


def owner_of(principal, scope) -> str:
    """A caller's owner key: the subject when signed in, else the client's address."""
    if not principal.is_public:
        return principal.subject
    client = scope.get("client")
    return f"ip:{client[0] if client else 'unknown'}"


def _job_limit(scope) -> int | None:
    """The application's per-client job limit (app.state.settings.limits), if it has one."""
    settings = getattr(getattr(scope.get("app"), "state", None), "settings", None)
    return settings.limits.max_active_jobs_per_client if settings is not None else None


class JobCallers:
    """ASGI middleware inside the authorisation one (geoserver.auth): binds CALLER for
    execution requests from the principal it found."""

    def __init__(self, app):
        """Wrap `app`."""
        self.app = app

    async def __call__(self, scope, receive, send):
        """Serve the request with its caller bound (HTTP only)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await serve_as_caller(self.app, principal_of(scope), scope, receive, send)


async def serve_as_caller(app, principal, scope, receive, send) -> None:
    """Call the ASGI app; for an execution request, with CALLER bound to its caller and a
    Retry-After header on the response when the job limit refused it."""
    _equip(asyncio.get_running_loop())   # on the first request, before pygeoapi uses the pool
    path = scope["path"].removeprefix(scope.get("root_path", ""))
    if scope["method"] != "POST" or not EXECUTION.match(path):
        return await app(scope, receive, send)
    caller = Caller(owner_of(principal, scope), _job_limit(scope))
    token = CALLER.set(caller)

    async def send_with_retry_after(message):
        if message["type"] == "http.response.start" and caller.retry_after_s is not None:
            retry = (b"retry-after", str(caller.retry_after_s).encode())
            message = {**message, "headers": [*message.get("headers", []), retry]}
        await send(message)

    try:
        await app(scope, receive, send_with_retry_after)
    finally:
        CALLER.reset(token)


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
                job_id = self._submit(rt, process_id, request, CALLER.get())
                return (job_id, "application/json", None, JobStatus.accepted,
                        {"Preference-Applied": "respond-async"})
            job_id, caller = engine.new_job_id(), CALLER.get()   # bound by JobCallers
            document = engine.run_single(rt, process_id, request, job_id,
                                         owner=caller.owner if caller else None)
        except TooManyJobs as err:
            CALLER.get().retry_after_s = RETRY_AFTER_S   # only raised when a caller is bound
            raise process_error(err) from None
        except AmanatError as err:
            raise process_error(err) from None
        except Exception:
            LOGGER.exception("process %s failed", process_id)
            raise _internal_error() from None
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
        with engine.connection(rt.dsn) as conn:
            engine.validate_queued(conn, request)
            try:
                return jobs.submit(conn, rt.dsn, process_id, request.echo, owner, limit)
            except TooManyJobs:
                if not jobs.fail_stalled(conn, rt.stalled_after_s):
                    raise
            return jobs.submit(conn, rt.dsn, process_id, request.echo, owner, limit)

    def get_jobs(self, status=None, limit=None, offset=None) -> dict:
        """A page of jobs, newest first."""
        with engine.connection(runtime.current().dsn) as conn:
            rows, total = jobs.listing(conn, limit or 10, offset or 0, owner=None)
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
