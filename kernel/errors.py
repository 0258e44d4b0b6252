"""Domain errors and the one error map at the edge.

Domain errors know nothing about HTTP. Each package publishes a small table, exception class →
`ErrorKind` (HTTP status, OGC exception code, safe Arabic and English title); `create_app` merges
them once into an `ErrorMap`, which every route, the authorisation layer and the pygeoapi
adapters use to answer. The client gets the error's safe message in the OGC exception document
(type, code, description); the log gets the detail. The Arabic and English titles of each kind
are there for the bilingual error pages and documents that build on this table.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from starlette.responses import JSONResponse

LOGGER = logging.getLogger(__name__)


class AmanatError(Exception):
    """Base of the platform's domain errors; `message` is safe to show a client."""

    default_message = "error"

    def __init__(self, message: str | None = None):
        """Keep a message that is safe to show a client."""
        message = message or self.default_message
        super().__init__(message)
        self.message = message


class NotFound(AmanatError):
    """The thing asked for does not exist."""

    default_message = "not found"


class InvalidInput(AmanatError):
    """The client sent a value that cannot be used."""

    default_message = "invalid request"


class Unavailable(AmanatError):
    """A service the request needs (the database) does not answer."""

    default_message = "the database is not available; try again shortly"


class QueryTooSlow(Unavailable):
    """A statement ran past its time limit and was cancelled."""

    default_message = "the query took too long; narrow it down (smaller bbox, a filter)"


class TooManyRequests(AmanatError):
    """The client asks for more than it may at once; it may retry later."""

    retry_after_s: int | None = None


@dataclass(frozen=True)
class ErrorKind:
    """How an error is answered: HTTP status, OGC exception code, a safe title in both
    languages."""

    status: int
    code: str
    ar: str
    en: str


ErrorTable = dict[type[Exception], ErrorKind]

ERRORS: ErrorTable = {
    NotFound: ErrorKind(404, "NotFound", "غير موجود", "Not found"),
    InvalidInput: ErrorKind(400, "InvalidParameterValue", "قيمة غير صالحة في الطلب",
                            "Invalid parameter value"),
    Unavailable: ErrorKind(503, "ServiceUnavailable", "الخدمة غير متاحة مؤقتًا",
                           "Service unavailable"),
    TooManyRequests: ErrorKind(429, "TooManyRequests", "طلبات كثيرة؛ أعد المحاولة لاحقًا",
                               "Too many requests"),
}
INTERNAL = ErrorKind(500, "NoApplicableCode", "خطأ داخلي؛ تم تسجيله", "Internal error")
INTERNAL_MESSAGE = "internal error; it has been logged"


def prefers_english(accept_language: str | None) -> bool:
    """Whether the client's first language is English (Arabic is the default)."""
    first = (accept_language or "").split(",")[0].split(";")[0].strip().lower()
    return first.startswith("en")


def error_response(status: int, code: str, description: str,
                   headers: dict | None = None) -> JSONResponse:
    """An OGC-style exception document."""
    return JSONResponse({"type": code, "code": code, "description": description},
                        status_code=status, headers=headers)


class ErrorMap:
    """The merged error tables: the most specific class of an exception decides."""

    def __init__(self, *tables: ErrorTable):
        """Merge the tables (a later table may refine an earlier one's class)."""
        merged: ErrorTable = {}
        for table in (ERRORS, *tables):
            merged.update(table)
        self.table = merged

    def __deepcopy__(self, memo):
        """The same map (pygeoapi deep-copies the configuration that carries it)."""
        return self

    def kind_of(self, exc: BaseException) -> ErrorKind | None:
        """The kind of the nearest class in the exception's MRO that a table names."""
        for cls in type(exc).__mro__:
            kind = self.table.get(cls)
            if kind is not None:
                return kind
        return None

    def title(self, exc: BaseException, accept_language: str | None = None) -> str:
        """The safe title of an error's kind in the client's language (Arabic by default)."""
        kind = self.kind_of(exc) or INTERNAL
        return kind.en if prefers_english(accept_language) else kind.ar

    def response(self, exc: BaseException, accept_language: str | None = None) -> JSONResponse:
        """The exception document of a domain error (500, logged, for anything unforeseen)."""
        kind = self.kind_of(exc)
        if kind is None:
            LOGGER.error("unexpected error", exc_info=exc)
            return error_response(500, INTERNAL.code, INTERNAL_MESSAGE)
        headers = {}
        retry = getattr(exc, "retry_after_s", None)
        if retry is not None:
            headers["Retry-After"] = str(retry)
        allow = getattr(exc, "allow", None)
        if allow:
            headers["Allow"] = allow
        return error_response(kind.status, kind.code, message_of(exc), headers or None)


def message_of(exc: BaseException) -> str:
    """The client-safe message of a domain error."""
    return getattr(exc, "message", None) or getattr(exc, "default_message", None) or "error"
