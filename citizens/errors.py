"""Domain errors of the citizen services, each with an Arabic and an English message, and their
table (status, code, titles); citizens.routes answers them in the Open311 error format."""
from kernel.errors import (
    AmanatError,
    Bilingual,
    ErrorKind,
    ErrorTable,
    InvalidInput,
    NotFound,
    TooManyRequests,
    literal,
)


class InvalidReport(Bilingual, InvalidInput):
    """A report or query that cannot be used as sent (the message names the field)."""

    def __init__(self, en: str, ar: str):
        """Keep both messages."""
        super().__init__(literal(en))
        self.message_ar = ar


class UnknownService(InvalidReport):
    """No active service category of that code."""


class OutsideJurisdiction(InvalidReport):
    """The point is inside no district of the Amana."""


class ServiceNotFound(Bilingual, NotFound):
    """GET services/{code} of a code that is not a category."""

    message_ar = "لا توجد خدمة بهذا الرمز"
    default_message = "no service with this service_code"


class ReportNotFound(Bilingual, NotFound):
    """No report with that number (or token)."""

    message_ar = "لا يوجد بلاغ بهذا الرقم"
    default_message = "no service request with this id"


class NothingByThatNumber(Bilingual, NotFound):
    """/track: no report, licence or certificate has that number."""

    message_ar = "لا يوجد بلاغ أو رخصة أو شهادة بهذا الرقم"
    default_message = "no report, licence or certificate has this number"


class TooManyReports(Bilingual, TooManyRequests):
    """One address sent or asked more than it may in a window."""

    def __init__(self, retry_after_s: int, en: str, ar: str):
        """Keep both messages and when to retry."""
        super().__init__(literal(en))
        self.message_ar, self.retry_after_s = ar, max(1, int(retry_after_s))


class NotYourMunicipality(Bilingual, AmanatError):
    """A service agent acting on a report of another municipality."""

    message_ar = "هذا البلاغ من اختصاص بلدية أخرى"
    default_message = "this report belongs to another municipality"


ERRORS: ErrorTable = {
    InvalidReport: ErrorKind(400, "InvalidParameterValue", "البلاغ غير صالح كما أُرسل",
                             "The request cannot be used as sent"),
    ServiceNotFound: ErrorKind(404, "NotFound", "الخدمة غير موجودة", "No such service"),
    ReportNotFound: ErrorKind(404, "NotFound", "البلاغ غير موجود", "No such service request"),
    NothingByThatNumber: ErrorKind(404, "NotFound", "الرقم غير موجود", "No such number"),
    TooManyReports: ErrorKind(429, "TooManyRequests", "طلبات كثيرة من هذا العنوان",
                              "Too many requests from this address"),
    NotYourMunicipality: ErrorKind(403, "Forbidden", "غير مسموح لك بهذا البلاغ",
                                   "You may not act on this report"),
}
