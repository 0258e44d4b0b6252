"""Domain errors of the permit checks and their table (merged into the error map by create_app);
the errors know nothing about HTTP."""
from kernel.errors import (AmanatError, ErrorKind, ErrorTable, InvalidInput, NotFound,
                           TooManyRequests)

OGC_EXCEPTIONS = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"
RETRY_AFTER_S = 30   # told to a client over its job limit (jobs take seconds to minutes)


class RulesFileError(Exception):
    """A rules file cannot be used: names the file, the line and the rule."""

    def __init__(self, path, line: int | None, rule: str | None, problem: str):
        """Keep the parts so callers can show them; the message reads file:line: rule: problem."""
        self.path, self.line, self.rule, self.problem = str(path), line, rule, problem
        where = f"{self.path}:{line}" if line else self.path
        who = f" rule '{rule}':" if rule else ""
        super().__init__(f"{where}:{who} {problem}")


class CheckInputError(InvalidInput):
    """A check was asked with inputs that cannot be checked (bad geometry, absurd values)."""


class UnknownParcel(NotFound):
    """No parcel with that number (or under that point)."""


class UnknownJob(NotFound):
    """No job with that id (OGC API Processes `no-such-job`)."""


class UnknownCertificate(NotFound):
    """No certificate with that id."""


class ResultNotReady(AmanatError):
    """The job has not finished (or has failed), so it has no results to download."""


class TooManyJobs(TooManyRequests):
    """The caller already has as many asynchronous jobs accepted or running as allowed."""

    retry_after_s = RETRY_AFTER_S


class NotYourJob(AmanatError):
    """A caller asked for someone else's jobs: to dismiss one, or to list them."""


ERRORS: ErrorTable = {
    UnknownJob: ErrorKind(404, OGC_EXCEPTIONS + "no-such-job", "لا توجد مهمة بهذا المعرّف",
                          "No such job"),
    ResultNotReady: ErrorKind(404, OGC_EXCEPTIONS + "result-not-ready",
                              "نتائج المهمة غير جاهزة بعد", "The job's results are not ready"),
    NotYourJob: ErrorKind(403, "Forbidden", "هذه المهمة ليست لك", "This job is not yours"),
    TooManyJobs: ErrorKind(429, "TooManyRequests", "لديك مهام كثيرة قيد التنفيذ",
                           "You have too many jobs running"),
}


__all__ = ["RulesFileError", "CheckInputError", "UnknownParcel", "UnknownJob",
           "UnknownCertificate", "ResultNotReady", "TooManyJobs", "NotYourJob", "ERRORS"]
