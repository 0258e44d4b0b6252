"""`amanat worker`: runs queued permit-check jobs, in a process separate from the web server.

A procrastinate worker takes jobs from the `checks` queue (LISTEN/NOTIFY, with polling as a
fallback) and runs each in a thread; its heartbeat is written to the database every
`heartbeat_s`. Beside it, a sweep marks failed the jobs of workers whose heartbeat stopped (a
crashed or killed worker, here or on another host), so no job stays "running" forever.
"""
from __future__ import annotations

import asyncio
import logging

import psycopg

from indicators import expiry
from kernel.errors import AmanatError, message_of
from layers import database
from processing import engine, inputs, jobs, runtime

LOGGER = logging.getLogger(__name__)
PARSERS = {"parcel-check": inputs.parcel_check, "license-site-check": inputs.site_check,
           "batch-compliance": inputs.batch_check}


def run(settings) -> None:
    """Build this process's database and runtime and run the worker until it is stopped
    (SIGINT/SIGTERM)."""
    db = database.from_settings(settings.database, name="amanat-worker")
    rt = runtime.build(settings, db)
    try:
        asyncio.run(_main(rt))
    finally:
        db.close()


def worker_app(rt):
    """The worker's procrastinate app: queued jobs, and the hourly licence expiry (periodic)."""
    def run_queued(job_id: str) -> None:
        run_job(rt, job_id)

    app = jobs.queue_app(rt.dsn, task=run_queued)
    expiry.register(app, rt.db, jobs.QUEUE)
    return app


async def _main(rt) -> None:
    """The procrastinate worker and the stalled-job sweep, side by side."""
    app = worker_app(rt)
    async with app.open_async():
        sweeper = asyncio.create_task(_sweep_forever(rt))
        try:
            await app.run_worker_async(
                queues=[jobs.QUEUE], concurrency=rt.concurrency, name="amanat-worker",
                update_heartbeat_interval=rt.heartbeat_s,
                stalled_worker_timeout=rt.stalled_after_s, delete_jobs="successful",
                install_signal_handlers=True)
        finally:
            sweeper.cancel()


async def _sweep_forever(rt) -> None:
    """Every few heartbeats, fail the jobs of workers that stopped beating."""
    while True:
        try:
            await asyncio.to_thread(_sweep, rt)
        except psycopg.Error as err:
            LOGGER.warning("stalled-job sweep failed: %s", err.__class__.__name__)
        await asyncio.sleep(max(rt.heartbeat_s, 1.0))


def _sweep(rt) -> list[str]:
    """One sweep."""
    with psycopg.connect(rt.dsn, autocommit=True, connect_timeout=5) as conn:
        return jobs.fail_stalled(conn, rt.stalled_after_s)


def run_job(rt, job_id: str) -> None:
    """The queued task: run one job, recording its outcome (called in a worker thread)."""
    with rt.db.connection() as conn:
        job = jobs.start(conn, job_id)
    if job is None:
        LOGGER.info("job %s was dismissed before it started", job_id)
        return
    try:
        _execute(rt, job_id, job["process_id"], job["inputs"])
    except jobs.JobDismissed:
        LOGGER.info("job %s dismissed while running", job_id)
        _record(rt, jobs.forget, job_id)
    except AmanatError as err:
        _record(rt, jobs.fail, job_id, message_of(err))
    except Exception:
        LOGGER.exception("job %s failed", job_id)
        _record(rt, jobs.fail, job_id, "internal error while running the job; it has been logged")
        raise


def _execute(rt, job_id: str, process_id: str, data: dict) -> None:
    """Run a job of any process."""
    request = PARSERS[process_id](data, rt.ruleset)
    if process_id != "batch-compliance":
        engine.run_single(rt, process_id, request, job_id, queued=True)
        return
    with rt.db.connection() as work, rt.db.connection() as status:
        def report(percent: int, message: str) -> None:
            jobs.progress(status, job_id, percent, message)

        summary = engine.run_batch(work, rt.ruleset, request, job_id, report,
                                   rt.batch_timeout_ms)
        if not jobs.finish(status, job_id, None, summary):
            raise jobs.JobDismissed(job_id)


def _record(rt, function, *args) -> None:
    """Record a job outcome, logging (not raising) if the database is gone."""
    try:
        with rt.db.connection() as conn:
            function(conn, *args)
    except AmanatError:
        LOGGER.error("could not record the outcome of job %s", args[0])
