"""Connection pools shared by the providers of one process, keyed by database URL.

pygeoapi instantiates a provider on every request, so pools cannot live on the provider: they
live here, are opened by the application's lifespan (or lazily by the first request of a process
that has no lifespan, such as OpenAPI generation) and closed by the lifespan.
"""
import threading

from psycopg_pool import ConnectionPool

_pools: dict[str, ConnectionPool] = {}
_lock = threading.Lock()
_options = {"min_size": 1, "max_size": 8, "timeout": 5.0, "statement_timeout_ms": 15000}


def configure(**options) -> None:
    """Set pool sizes, the wait for a connection (s) and the per-statement timeout (ms)."""
    _options.update(options)


def _prepare(conn) -> None:
    """Per-connection setup: bounded statements, UTC, no prepared-statement surprises."""
    conn.execute(f"SET statement_timeout = {int(_options['statement_timeout_ms'])}")
    conn.execute("SET TIME ZONE 'UTC'")
    conn.commit()


def _check(conn) -> None:
    """Checkout check: a connection broken by a database restart is replaced instead of failing
    a request. The first broken one also has the pool check its idle connections at once (they
    all broke together), so the checkout does not back off through them one by one."""
    try:
        ConnectionPool.check_connection(conn)
    except Exception:
        for pool in list(_pools.values()):   # one per database: usually just one
            pool.check()
        raise


def get(dsn: str) -> ConnectionPool:
    """The pool for `dsn`, opened on first use without waiting for the database."""
    pool = _pools.get(dsn)
    if pool is not None:
        return pool
    with _lock:
        if dsn not in _pools:
            pool = ConnectionPool(
                dsn, min_size=_options["min_size"], max_size=_options["max_size"],
                timeout=_options["timeout"], configure=_prepare, open=False,
                kwargs={"autocommit": True, "application_name": "amanat"},
                reconnect_timeout=0, name="amanat",
                check=_check,
            )
            pool.open(wait=False)
            _pools[dsn] = pool
        return _pools[dsn]


def close_all() -> None:
    """Close every pool of this process."""
    with _lock:
        for pool in _pools.values():
            pool.close()
        _pools.clear()
