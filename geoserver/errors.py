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


STATUS = {
    NotFound: (404, "NotFound"),
    InvalidInput: (400, "InvalidParameterValue"),
    Unavailable: (503, "ServiceUnavailable"),
}


def error_response(status: int, code: str, description: str) -> JSONResponse:
    """An OGC-style exception document."""
    return JSONResponse({"type": code, "code": code, "description": description},
                        status_code=status)


async def domain_error(request: Request, exc: AmanatError) -> JSONResponse:
    """Map a domain error to its status and OGC code."""
    for kind, (status, code) in STATUS.items():
        if isinstance(exc, kind):
            return error_response(status, code, exc.message)
    return await unexpected_error(request, exc)


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """Anything unforeseen: log the detail, tell the client nothing internal."""
    LOGGER.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "NoApplicableCode", "internal error; it has been logged")


def install(app) -> None:
    """Register the error map on an application."""
    app.add_exception_handler(AmanatError, domain_error)
    app.add_exception_handler(Exception, unexpected_error)
