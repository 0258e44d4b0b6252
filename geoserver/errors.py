"""Errors of the HTTP edge, the merge of every package's error table, and its handlers.

Each package publishes `ERRORS` (exception → kernel.errors.ErrorKind); `error_map()` merges them
once for `create_app`, and `install` makes the merged map answer every domain error a route
raises (titiler's DEFAULT_STATUS_CODES + add_exception_handlers shape).
"""
from starlette.exceptions import HTTPException
from starlette.requests import Request

from geoserver import messages
from kernel.errors import AmanatError, ErrorKind, ErrorMap, ErrorTable, error_response, language_of
from kernel.messages import render
from layers import errors as layer_errors
from layers import messages as layer_messages
from panoramas import messages as panorama_messages
from processing import errors as processing_errors
from processing import messages as processing_messages
from webmap import messages as webmap_messages


class MethodNotAllowed(AmanatError):
    """A method this resource does not take (`allow` lists those it does)."""

    def __init__(self, message: str, allow: str, /, **params):
        """Keep the message (a template and its values) and the Allow header."""
        super().__init__(message, **params)
        self.allow = allow


class PayloadTooLarge(AmanatError):
    """The request, or one of its parts, is larger than allowed."""


class UnsupportedMediaType(AmanatError):
    """The body or a part is not of a type this route takes."""


class InvalidCredentials(AmanatError):
    """A token or key was given and cannot be accepted (expired, forged, unknown, revoked)."""


class SignInRequired(AmanatError):
    """No credentials were sent where a role is needed."""


class RoleRequired(AmanatError):
    """The caller is signed in but does not hold a role the request needs."""


class SignInRefused(AmanatError):
    """The name and password do not sign anyone in (one message whatever was wrong)."""

    default_message = "wrong user name or password"


class TooManyAttempts(AmanatError):
    """Too many failed sign-ins for this name or from this client within the window."""

    def __init__(self, retry_after_s: int):
        """Keep the wait in seconds."""
        super().__init__("too many failed sign-ins; try again in {seconds} s",
                         seconds=retry_after_s)
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
    SignInRequired: ErrorKind(401, "Unauthorized", "يلزم تسجيل الدخول", "Sign-in required"),
    RoleRequired: ErrorKind(403, "Forbidden", "دورك لا يسمح بهذا الطلب",
                            "Your role does not allow this"),
    SignInRefused: ErrorKind(401, "Unauthorized", "اسم المستخدم أو كلمة المرور غير صحيحة",
                             "Wrong user name or password"),
    TooManyAttempts: ErrorKind(429, "TooManyRequests", "محاولات دخول كثيرة؛ انتظر قليلًا",
                               "Too many sign-in attempts"),
}


HTTP_TITLES = {404: ("غير موجود", "Not found"),
               405: ("هذا الطلب غير مدعوم لهذا المورد", "Method not allowed")}


def error_map() -> ErrorMap:
    """Every package's table and message catalogue, merged once (kernel's first)."""
    return ErrorMap(layer_errors.ERRORS, processing_errors.ERRORS, ERRORS,
                    messages=(layer_messages.MESSAGES, processing_messages.MESSAGES,
                              panorama_messages.MESSAGES, webmap_messages.MESSAGES,
                              messages.MESSAGES))


def http_error(errors: ErrorMap, request, exc: HTTPException):
    """Starlette's own 404/405 (and other HTTPExceptions) as an OGC exception document, its
    reason phrase in both languages."""
    code = "NotFound" if exc.status_code == 404 else "InvalidRequest"
    detail, lang = str(exc.detail), language_of(request)
    texts = {one: render(detail, {}, one, errors.messages) for one in ("ar", "en")}
    title = HTTP_TITLES.get(exc.status_code, ("طلب غير صالح", "Invalid request"))
    return error_response(exc.status_code, code, texts, headers=exc.headers, lang=lang,
                          title=title[0] if lang == "ar" else title[1])


def install(app, errors: ErrorMap) -> None:
    """Answer domain errors with the map, anything unforeseen with a logged 500, and
    Starlette's own 404/405 as OGC-style JSON; in the request's language (`lang`, then
    Accept-Language, else Arabic)."""

    async def domain_error(request: Request, exc: Exception):
        return errors.answer(exc, request)

    async def starlette_error(request: Request, exc: HTTPException):
        return http_error(errors, request, exc)

    app.add_exception_handler(AmanatError, domain_error)
    app.add_exception_handler(Exception, domain_error)
    app.add_exception_handler(HTTPException, starlette_error)
