"""The database of one application: a connection pool and the one guarded runner.

`create_app` (or `amanat worker`) builds a `Database` from settings and hands it to whatever
reads or writes; nothing here is module-level state, so two applications in one process use two
pools. Every use goes through `connection()` / `run()`, which turn driver trouble into domain
errors: no connection within the pool timeout, or a connection lost, is `Unavailable` (503); a
statement past statement_timeout is `QueryTooSlow` (503); a value the database rejects (out of
range, bad date) is `InvalidInput` (400). A client never sees a driver message.

Hot reads (a single feature) have a second, asynchronous pool on the serving event loop, opened
and closed by the application's lifespan (`open_reads` / `close_reads`): `read_one` runs on it
without a worker-thread hop, under the same guard (no check round trip at checkout: a read that
finds its connection broken has the pool check the others and reads once more); where that pool is
not open (a test client
without lifespan, another event loop) it reads through the threaded pool instead.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading

import anyio.to_thread
import psycopg
from psycopg_pool import AsyncConnectionPool, ConnectionPool, PoolTimeout

from kernel.errors import InvalidInput, QueryTooSlow, Unavailable

LOGGER = logging.getLogger(__name__)


class Database:
    """One pool of autocommit connections with bounded statements, opened on first use."""

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 8, timeout: float = 5.0,
                 statement_timeout_ms: int = 15000, name: str = "amanat"):
        """Describe the pool; connect to nothing yet."""
        self.dsn = dsn
        self.statement_timeout_ms = int(statement_timeout_ms)
        self._options = {"min_size": min_size, "max_size": max_size, "timeout": timeout,
                         "name": name}
        self._connect = {"autocommit": True, "application_name": name}
        self._setup = (f"SET statement_timeout = {self.statement_timeout_ms}",
                       "SET TIME ZONE 'UTC'")   # per connection, in both pools
        self.pool = self._new_pool()
        self._opened = False
        self._lock = threading.Lock()
        self._reads: dict[asyncio.AbstractEventLoop, AsyncConnectionPool] = {}   # per loop

    def _new_pool(self) -> ConnectionPool:
        """A pool not opened yet."""
        options = self._options
        return ConnectionPool(
            self.dsn, min_size=options["min_size"], max_size=options["max_size"],
            timeout=options["timeout"], configure=self._prepare, check=self._check, open=False,
            reconnect_timeout=0, name=options["name"], kwargs=self._connect)

    def __deepcopy__(self, memo):
        """The same database (pygeoapi deep-copies the configuration that carries it)."""
        return self

    def open(self) -> None:
        """Start the pool without waiting for the database (idempotent)."""
        with self._lock:
            if not self._opened:
                self.pool.open(wait=False)
                self._opened = True

    def close(self) -> None:
        """Close the pool (the application's lifespan ends); a later use opens a new one."""
        with self._lock:
            if self._opened:
                self.pool.close()
                self.pool, self._opened = self._new_pool(), False

    def _prepare(self, conn) -> None:
        """Per-connection setup: bounded statements, UTC."""
        for statement in self._setup:
            conn.execute(statement)
        conn.commit()

    def _check(self, conn) -> None:
        """Checkout check: a connection broken by a database restart is replaced instead of
        failing a request; the first broken one has the pool check its idle ones at once (they
        all broke together), so the checkout does not back off through them one by one."""
        try:
            ConnectionPool.check_connection(conn)
        except Exception:
            self.pool.check()
            raise

    @contextlib.contextmanager
    def connection(self):
        """A pooled connection; driver trouble, while borrowing or working, as domain errors."""
        if not self._opened:
            self.open()
        with _guarded(), self.pool.connection() as conn:
            yield conn

    def run(self, work):
        """work(connection) on a pooled connection, guarded as `connection()`."""
        with self.connection() as conn:
            return work(conn)

    def fetch_one(self, statement, params):
        """The first row of one statement."""
        return self.run(lambda conn: conn.execute(statement, params).fetchone())

    async def open_reads(self) -> None:
        """Open a hot-read pool on the running event loop, without waiting for the database."""
        options = self._options
        pool = AsyncConnectionPool(
            self.dsn, min_size=1, max_size=options["max_size"], timeout=options["timeout"],
            configure=self._prepare_async, open=False, reconnect_timeout=0,
            name=f"{options['name']}-reads", kwargs=self._connect)
        await pool.open(wait=False)
        self._reads[asyncio.get_running_loop()] = pool

    async def close_reads(self) -> None:
        """Close the running event loop's hot-read pool (its lifespan ends; an application
        served on several loops at once, as by several test clients, has one per loop)."""
        pool = self._reads.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            await pool.close()

    async def read_one(self, statement, params):
        """The first row of one read-only statement, on the event loop's pool when it is open
        there (no thread hop), else through the threaded pool; guarded like `connection()`."""
        pool = self._reads.get(asyncio.get_running_loop())
        if pool is None:
            return await anyio.to_thread.run_sync(
                functools.partial(self.fetch_one, statement, params))
        with _guarded():
            try:
                return await _read_one(pool, statement, params)
            except psycopg.errors.QueryCanceled:
                raise
            except psycopg.OperationalError:   # a restart broke the idle connections together:
                await pool.check()             # replace them now, and read once more
                return await _read_one(pool, statement, params)

    async def _prepare_async(self, conn) -> None:
        """Per-connection setup of the hot-read pool: the same as the threaded pool's."""
        for statement in self._setup:
            await conn.execute(statement)


@contextlib.contextmanager
def _guarded():
    """Driver trouble as domain errors (the one place that maps them)."""
    try:
        yield
    except psycopg.errors.QueryCanceled:   # an OperationalError subclass: test it first
        LOGGER.warning("statement cancelled (statement timeout)")
        raise QueryTooSlow() from None
    except (PoolTimeout, psycopg.OperationalError) as err:
        LOGGER.warning("database unavailable: %s", err.__class__.__name__)
        raise Unavailable() from None
    except psycopg.DataError as err:
        LOGGER.info("rejected query value: %s", err)
        raise InvalidInput("a query value is out of range or malformed") from None


async def _read_one(pool: AsyncConnectionPool, statement, params):
    """The first row of one statement on a connection of `pool`."""
    async with pool.connection() as conn:
        cursor = await conn.execute(statement, params)
        return await cursor.fetchone()


def from_settings(database_settings, name: str = "amanat") -> Database:
    """The Database that DatabaseSettings describe."""
    conf = database_settings
    return Database(conf.dsn, min_size=conf.pool_min, max_size=conf.pool_max,
                    timeout=conf.pool_timeout_s, statement_timeout_ms=conf.statement_timeout_ms,
                    name=name)
