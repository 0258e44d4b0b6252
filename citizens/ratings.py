"""Satisfaction ratings (issue 17 part 3): a closed report rated once from /track (1 to 5 stars
and an optional comment), and "was this useful?" ratings of any page (POST /feedback, one per
visitor, page and day). Tables of migration 0017_citizen_ratings.

Spam resistance without third-party services: a honeypot field (`website`, hidden from people,
refused when filled), a minimum time to submit (the form carries `form` = the time it was
issued and an HMAC-SHA256 of it and of what it rates, keyed from the database's citizen_salt, so
a form cannot be forged, reused for another report or sent sooner than `min_seconds` after it
was shown or later than `max_age_s`), and per-address limits (citizens.throttle). Every refusal
is raised before anything is written and rolls back the transaction: nothing is stored.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import time

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from citizens import throttle
from citizens.errors import InvalidReport, ReportNotFound
from kernel.errors import AmanatError, Bilingual, ErrorKind, ErrorTable, literal
from kernel.settings import PackageSettings

MAX_COMMENT = 1000
STARS = re.compile(r"^[1-5]$")
PAGE = re.compile(r"^/[A-Za-z0-9/._~-]{0,299}$")
SIGNED = re.compile(r"^([0-9]{1,12})\.([0-9a-f]{64})$")
HONEYPOT = "website"
REPORT_FIELDS = {"lang", "number", "stars", "comment", "form", HONEYPOT}
PAGE_FIELDS = {"lang", "path", "useful", "comment", "form", HONEYPOT}
THANKS = ("شكرًا لك، وصل تقييمك", "Thank you, your rating was received")
KEY = "SELECT salt FROM citizen_salt"
REPORT = "SELECT id, status FROM citizen_reports WHERE tracking_no = %s FOR UPDATE"
RATED = "SELECT stars, comment FROM citizen_report_ratings WHERE report_id = %s"
RATE = ("INSERT INTO citizen_report_ratings (report_id, stars, comment, rater_sha256) "
        "VALUES (%s, %s, %s, %s) ON CONFLICT (report_id) DO NOTHING RETURNING report_id")
FEEDBACK = ("INSERT INTO citizen_page_ratings (path, useful, comment, visitor_sha256) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (path, visitor_sha256, day) DO NOTHING "
            "RETURNING id")
MONTHLY = ("SELECT month, municipality_code, ratings, satisfied_share FROM citizen_rating_monthly "
           "WHERE month BETWEEN %s AND %s ORDER BY month, municipality_code")


class RatingSettings(PackageSettings):
    """Bounds of the rating forms (AMANAT_CITIZENS_RATINGS_*)."""

    model_config = SettingsConfigDict(env_prefix="AMANAT_CITIZENS_RATINGS_", populate_by_name=True)

    min_seconds: int = Field(3, ge=0, le=600)           # a form sent sooner is a robot's
    max_age_s: int = Field(7200, ge=60, le=86_400)      # a form older than this is stale
    per_window: int = Field(10, ge=1, le=100_000)       # ratings per address and window
    window_s: int = Field(3600, ge=1, le=86_400)


class AlreadyRated(Bilingual, AmanatError):
    """A second rating of a report, or of a page by the same visitor on the same day."""

    def __init__(self, en: str, ar: str):
        """Keep both messages."""
        super().__init__(literal(en))
        self.message_ar = ar


class NotClosed(AlreadyRated):
    """A rating of a report that is not closed yet."""


ERRORS: ErrorTable = {
    AlreadyRated: ErrorKind(409, "Conflict", "تم التقييم من قبل", "Already rated"),
    NotClosed: ErrorKind(409, "Conflict", "البلاغ لم يُغلق بعد", "The report is not closed"),
}


def signing_key(conn) -> bytes:
    """The HMAC key of the forms, derived from the database's secret salt."""
    salt = conn.execute(KEY).fetchone()[0]
    return hashlib.sha256(b"amanat-rating-form\x00" + bytes(salt)).digest()


def sign(key: bytes, subject: str, issued: int | None = None) -> str:
    """The `form` value of a form about `subject` issued at `issued` (now by default)."""
    issued = int(time.time()) if issued is None else issued
    mac = hmac.new(key, f"{subject}\x00{issued}".encode(), hashlib.sha256).hexdigest()
    return f"{issued}.{mac}"


def check_form(key: bytes, subject: str, value: str | None, settings: RatingSettings) -> None:
    """InvalidReport unless `value` is a form this server issued about `subject`, shown at least
    min_seconds and at most max_age_s ago."""
    found = SIGNED.match(value or "")
    if not found or not hmac.compare_digest(sign(key, subject, int(found[1])), found[0]):
        raise InvalidReport("the form is not one this page issued; reload the page",
                            "النموذج ليس صادرًا من هذه الصفحة؛ أعد تحميل الصفحة")
    age = time.time() - int(found[1])
    if age < settings.min_seconds:
        raise InvalidReport("the form was sent too fast; wait a few seconds and send it again",
                            "أُرسل النموذج بسرعة كبيرة؛ انتظر بضع ثوانٍ ثم أعد الإرسال")
    if age > settings.max_age_s:
        raise InvalidReport("the form has expired; reload the page",
                            "انتهت صلاحية النموذج؛ أعد تحميل الصفحة")


def honeypot(value: str | None) -> None:
    """InvalidReport when the field people never see was filled."""
    if value:
        raise InvalidReport("the form was filled in automatically; it was not accepted",
                            "مُلئ النموذج آليًا؛ لم يُقبل")


def stars(value: str | None) -> int:
    """The stars of a rating: a whole number from 1 to 5."""
    if value is None or not STARS.match(value.strip()):
        raise InvalidReport("the rating must be a whole number from 1 to 5",
                            "يجب أن يكون التقييم عددًا صحيحًا من 1 إلى 5")
    return int(value)


def comment(value: str | None) -> str | None:
    """An optional comment of at most 1,000 characters (None when blank), kept as text."""
    text = (value or "").strip()
    if len(text) > MAX_COMMENT:
        raise InvalidReport(f"the comment is longer than {MAX_COMMENT:,} characters",
                            f"التعليق أطول من {MAX_COMMENT:,} حرف")
    if "\x00" in text:
        raise InvalidReport("the comment contains a NUL character", "التعليق يحتوي على محرف NUL")
    return text or None


def useful(value: str | None) -> bool:
    """A page rating's answer: yes or no."""
    if value not in ("yes", "no"):
        raise InvalidReport("useful must be yes or no", "يجب أن تكون قيمة useful إما yes أو no")
    return value == "yes"


def page(value: str | None) -> str:
    """The path of the rated page (a path of this site, no query)."""
    if value is None or not PAGE.match(value) or ".." in value:
        raise InvalidReport("path must be a path of this site such as /track",
                            "يجب أن يكون path مسارًا في هذا الموقع مثل /track")
    return value


def _count(conn, settings: RatingSettings, address: str) -> str:
    """The rater's digest, after counting this rating against the address's limit."""
    digest = throttle.digest(conn, address)
    throttle.hit(conn, "rating:" + digest, settings.window_s, settings.per_window,
                 ("ratings", "التقييمات"))
    return digest


def rate_report(conn, settings: RatingSettings, tracking_no: str, form: dict,
                address: str) -> None:
    """Store the rating of a closed report from the /track form (every check first)."""
    digest = _count(conn, settings, address)
    honeypot(form.get(HONEYPOT))
    check_form(signing_key(conn), "report:" + tracking_no, form.get("form"), settings)
    given, text = stars(form.get("stars")), comment(form.get("comment"))
    row = conn.execute(REPORT, [tracking_no]).fetchone()
    if row is None:
        raise ReportNotFound()
    if row[1] != "closed":
        raise NotClosed("the report is not closed yet; rate it once it is",
                        "البلاغ لم يُغلق بعد؛ قيّمه بعد إغلاقه")
    if conn.execute(RATE, [row[0], given, text, digest]).fetchone() is None:
        raise AlreadyRated("this report has already been rated", "سبق تقييم هذا البلاغ")


def rate_page(conn, settings: RatingSettings, form: dict, address: str) -> None:
    """Store a "was this useful?" rating of a page (one per visitor, page and day)."""
    digest = _count(conn, settings, address)
    honeypot(form.get(HONEYPOT))
    path = page(form.get("path"))
    check_form(signing_key(conn), "page:" + path, form.get("form"), settings)
    answer, text = useful(form.get("useful")), comment(form.get("comment"))
    if conn.execute(FEEDBACK, [path, answer, text, digest]).fetchone() is None:
        raise AlreadyRated("you have already rated this page today", "سبق أن قيّمت هذه الصفحة اليوم")


def for_page(conn, result: dict) -> dict:
    """A closed report's view on /track with its rating, or the signed form to rate it (any
    other view as it is)."""
    if result.get("status") != "closed":
        return result
    row = conn.execute("SELECT r.id, t.stars, t.comment FROM citizen_reports r LEFT JOIN "
                       "citizen_report_ratings t ON t.report_id = r.id WHERE r.tracking_no = %s",
                       [result["number"]]).fetchone()
    if row is None:
        return result
    if row[1] is not None:
        return {**result, "rating": {"stars": row[1], "comment": row[2]}}
    return {**result, "rate_form": sign(signing_key(conn), "report:" + result["number"])}


def monthly(conn, first, last) -> list[dict]:
    """Ratings per month and municipality between two months: count and share of 4-5 stars."""
    cur = conn.execute(MONTHLY, [first, last])
    return [dict(zip([c.name for c in cur.description], r, strict=True)) for r in cur]
