"""/healthz: 200 when the database answers, 503 with the reason when it does not.

It opens its own short-lived connection (not one from the pool) so that it answers at once, and
truthfully, whatever state the pool is in.
"""
import psycopg
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from geoserver.services import services_of

CONNECT_TIMEOUT_S = 2


async def healthz(request: Request) -> JSONResponse:
    """Report whether the database answers, and its PostGIS version."""
    try:
        postgis = await run_in_threadpool(_check, services_of(request).db.dsn)
    except psycopg.OperationalError:
        return _down("cannot connect to the database (is PostgreSQL running and "
                     "DATABASE_URL right?)")
    except psycopg.Error as err:
        return _down(f"the database answered with an error ({err.__class__.__name__})")
    return JSONResponse({"status": "ok", "database": "ok", "postgis": postgis})


def _check(dsn: str) -> str:
    """Connect and run SELECT postgis_lib_version()."""
    with psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True) as conn:
        return conn.execute("SELECT postgis_lib_version()").fetchone()[0]


def _down(reason: str) -> JSONResponse:
    """The 503 document."""
    return JSONResponse({"status": "unavailable", "database": "unavailable", "reason": reason},
                        status_code=503)
