"""One error map at the edge: domain errors to HTTP status and OGC exception codes."""
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse

LOGGER = logging.getLogger(__name__)


class AmanatError(Exception):
    """Base of the platform's domain errors (they know nothing about HTTP)."""

    def __init__(self, message: str):
        """Keep a message that is safe to show a client."""
        super().__init__(message)
        self.message = message


class NotFound(AmanatError):
    """The thing asked for does not exist."""


class InvalidInput(AmanatError):
    """The client sent a value that cannot be used."""


class Unavailable(AmanatError):
    """A service the request needs (the database) does not answer."""


def _status_table() -> dict:
    """Exception type → (HTTP status, OGC exception code), domain errors of every package."""
    from layers.queries import DatabaseDown, QueryTooSlow
    from layers.selection import InvalidQuery
    from processing.errors import TooManyJobs
    from geoserver.signin import SignInRefused, TooManyAttempts

    return {
        NotFound: (404, "NotFound"),
        InvalidInput: (400, "InvalidParameterValue"),
        InvalidQuery: (400, "InvalidParameterValue"),
        Unavailable: (503, "ServiceUnavailable"),
        DatabaseDown: (503, "ServiceUnavailable"),
        QueryTooSlow: (503, "ServiceUnavailable"),
        TooManyJobs: (429, "TooManyRequests"),   # per-client job limit (processing.jobs)
        SignInRefused: (401, "Unauthorized"),
        TooManyAttempts: (429, "TooManyRequests"),
    }


SAFE_MESSAGES = {
    "DatabaseDown": "the database is not available; try again shortly",
    "QueryTooSlow": "the query took too long; narrow it down (smaller bbox, a filter)",
}


def status_of(exc: Exception) -> tuple[int, str] | None:
    """The (status, OGC code) of a domain error, or None for anything unforeseen."""
    for kind, status in _status_table().items():
        if isinstance(exc, kind):
            return status
    return None


def message_of(exc: Exception) -> str:
    """The client-safe message of a domain error."""
    return getattr(exc, "message", None) or SAFE_MESSAGES.get(type(exc).__name__, "error")


def error_response(status: int, code: str, description: str) -> JSONResponse:
    """An OGC-style exception document."""
    return JSONResponse({"type": code, "code": code, "description": description},
                        status_code=status)


async def domain_error(request: Request, exc: Exception) -> JSONResponse:
    """Map a domain error to its status and OGC code."""
    status = status_of(exc)
    if status is None:
        return await unexpected_error(request, exc)
    return error_response(*status, message_of(exc))


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """Anything unforeseen: log the detail, tell the client nothing internal."""
    LOGGER.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "NoApplicableCode", "internal error; it has been logged")


def install(app) -> None:
    """Register the error map on an application."""
    for kind in _status_table():
        app.add_exception_handler(kind, domain_error)
    app.add_exception_handler(Exception, unexpected_error)
