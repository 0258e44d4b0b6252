"""Domain errors of the permit checks; they know nothing about HTTP (geoserver.errors maps them)."""
from geoserver.errors import AmanatError, InvalidInput, NotFound


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


class TooManyJobs(AmanatError):
    """The caller already has as many asynchronous jobs accepted or running as allowed."""


__all__ = ["RulesFileError", "CheckInputError", "UnknownParcel", "UnknownJob",
           "UnknownCertificate", "ResultNotReady", "TooManyJobs"]
