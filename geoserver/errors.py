"""Errors of the HTTP edge, the merge of every package's error table, and its handlers.

Each package publishes `ERRORS` (exception → kernel.errors.ErrorKind); `error_map()` merges them
once for `create_app`, and `install` makes the merged map answer every domain error a route
raises (titiler's DEFAULT_STATUS_CODES + add_exception_handlers shape).
"""
from starlette.exceptions import HTTPException
from starlette.requests import Request

from kernel.errors import AmanatError, ErrorKind, ErrorMap, ErrorTable, error_response
from layers import errors as layer_errors
from processing import errors as processing_errors


class MethodNotAllowed(AmanatError):
    """A method this resource does not take (`allow` lists those it does)."""

    def __init__(self, message: str, allow: str):
        """Keep the message and the Allow header."""
        super().__init__(message)
        self.allow = allow


class PayloadTooLarge(AmanatError):
    """The request, or one of its parts, is larger than allowed."""


class UnsupportedMediaType(AmanatError):
    """The body or a part is not of a type this route takes."""


class InvalidCredentials(AmanatError):
    """A token or key was given and cannot be accepted (expired, forged, unknown, revoked)."""


class SignInRefused(AmanatError):
    """The name and password do not sign anyone in (one message whatever was wrong)."""

    default_message = "wrong user name or password"


class TooManyAttempts(AmanatError):
    """Too many failed sign-ins for this name or from this client within the window."""

    def __init__(self, retry_after_s: int):
        """Keep the wait in seconds."""
        super().__init__(f"too many failed sign-ins; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


ERRORS: ErrorTable = {
    MethodNotAllowed: ErrorKind(405, "MethodNotAllowed", "هذا الطلب غير مدعوم لهذا المورد",
                                "Method not allowed"),
    PayloadTooLarge: ErrorKind(413, "PayloadTooLarge", "حجم الطلب أكبر من المسموح",
                               "Payload too large"),
    UnsupportedMediaType: ErrorKind(415, "UnsupportedMediaType", "نوع المحتوى غير مدعوم",
                                    "Unsupported media type"),
    InvalidCredentials: ErrorKind(401, "Unauthorized", "بيانات الدخول غير مقبولة",
                                  "Credentials not accepted"),
    SignInRefused: ErrorKind(401, "Unauthorized", "اسم المستخدم أو كلمة المرور غير صحيحة",
                             "Wrong user name or password"),
    TooManyAttempts: ErrorKind(429, "TooManyRequests", "محاولات دخول كثيرة؛ انتظر قليلًا",
                               "Too many sign-in attempts"),
}


def error_map() -> ErrorMap:
    """Every package's table, merged once (kernel's base classes first)."""
    return ErrorMap(layer_errors.ERRORS, processing_errors.ERRORS, ERRORS)


def install(app, errors: ErrorMap) -> None:
    """Answer domain errors with the map, anything unforeseen with a logged 500, and
    Starlette's own 404/405 as OGC-style JSON."""

    async def domain_error(request: Request, exc: Exception):
        return errors.response(exc, request.headers.get("accept-language"))

    async def http_error(request: Request, exc: HTTPException):
        code = "NotFound" if exc.status_code == 404 else "InvalidRequest"
        return error_response(exc.status_code, code, exc.detail, headers=exc.headers)

    app.add_exception_handler(AmanatError, domain_error)
    app.add_exception_handler(Exception, domain_error)
    app.add_exception_handler(HTTPException, http_error)
