"""The public status page (/track, Arabic or English): a citizen enters a report number, a
licence number or a certificate number and sees its status, history and next step, without
signing in and without anything personal (named public columns only: no contact, holder or
submitter field is read). Every lookup counts against the caller's address (citizens.throttle),
found or not, against enumeration."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from citizens import open311, queries, reports, throttle
from citizens.errors import InvalidReport, NothingByThatNumber, ReportNotFound
from citizens.settings import CitizenSettings

TEMPLATES = Path(__file__).parent / "templates"
LOCAL = timezone(timedelta(hours=3))     # Arabia Standard Time: the dates citizens read
CERTIFICATE = re.compile(r"^AMN-[0-9]{4}(-[0-9A-Z]{4}){4}$")
LICENCE = re.compile(r"^[A-Z]{2,6}-[0-9A-Z][0-9A-Z/-]{1,38}$")
RENEW_WITHIN = timedelta(days=30)
STATUS = {"open": ("مفتوح — بانتظار المراجعة", "Open — waiting for review"),
          "in_progress": ("قيد التنفيذ", "In progress"), "closed": ("مغلق", "Closed"),
          "active": ("سارية", "Active"), "expired": ("منتهية", "Expired"),
          "suspended": ("موقوفة", "Suspended"), "cancelled": ("ملغاة", "Cancelled"),
          "allowed": ("مستوفٍ للاشتراطات", "Meets the requirements"),
          "allowed_with_warnings": ("مستوفٍ مع ملاحظات", "Meets them, with remarks"),
          "refused": ("غير مستوفٍ", "Does not meet the requirements")}
LABELS = {"service": ("الخدمة", "Service"), "where": ("الموقع", "Where"),
          "agency": ("الجهة المسؤولة", "Responsible"), "received": ("تاريخ الاستلام", "Received"),
          "expected": ("الموعد المتوقع", "Expected by"), "trade": ("الاسم التجاري", "Trade name"),
          "activity": ("النشاط", "Activity"), "issued": ("تاريخ الإصدار", "Issued"),
          "expiry": ("تاريخ الانتهاء", "Expires"), "check": ("نوع الفحص", "Check"),
          "kind": ("النوع", "Kind")}
KINDS = {"report": ("بلاغ", "Report"), "licence": ("رخصة", "Licence"),
         "certificate": ("شهادة فحص", "Check certificate")}
LICENCE_SQL = ("SELECT license_no, status, trade_name_ar, trade_name_en, activity_ar, "
               "activity_en, issue_date, expiry_date FROM licenses WHERE license_no = %s")
CERTIFICATE_SQL = "SELECT id, process_id, issued_at, verdict FROM certificates WHERE id = %s"


def environment() -> Environment:
    """The page templates, autoescaped."""
    return Environment(loader=FileSystemLoader(TEMPLATES),
                       autoescape=select_autoescape(["html"]))


def _when(value: datetime | date) -> str:
    """A date (and time) as citizens read it (local time)."""
    if isinstance(value, datetime):
        return value.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def _label(status: str, reason: str | None, i: int) -> str:
    """A status in words (with the reason when closed)."""
    if status == "closed" and reason:
        return f"{STATUS[status][i]}: {open311.REASONS[reason][i]}"
    return STATUS[status][i]


def _rows(i: int, *pairs: tuple[str, str]) -> list[tuple[str, str]]:
    """(label, value) rows in the page's language."""
    return [(LABELS[key][i], value) for key, value in pairs]


def _report_next(row: dict, i: int) -> str:
    """What happens next to a report, in words."""
    department, expected = row["department_en" if i else "department_ar"], _when(row["expected_at"])
    if row["status"] == "open":
        return (f"{department} will review it by {expected}" if i
                else f"ستراجع {department} البلاغ قبل {expected}")
    if row["status"] == "in_progress":
        return (f"the work is under way; expected done by {expected}" if i
                else f"العمل جارٍ؛ الموعد المتوقع للإنجاز {expected}")
    return "nothing: the report is closed" if i else "لا شيء: البلاغ مغلق"


def report_view(row: dict, steps: list[dict], english: bool) -> dict:
    """What the page shows of a report."""
    i, suffix = (1, "en") if english else (0, "ar")
    place = (", " if english else "، ").join((
        row.get(f"district_{suffix}") or row["district_code"],
        row.get(f"municipality_{suffix}") or row["municipality_code"]))
    return {"kind": KINDS["report"][i], "number": row["tracking_no"], "status": row["status"],
            "status_label": _label(row["status"], row["close_reason"], i),
            "rows": _rows(i, ("service", row[f"service_{suffix}"]), ("where", place),
                          ("agency", row[f"department_{suffix}"]),
                          ("received", _when(row["created_at"])),
                          ("expected", _when(row["expected_at"]))),
            "next_step": _report_next(row, i), "link": None,
            "history": [{"at": _when(s["at"]), "label": _label(s["status"], s["close_reason"], i),
                         "note": s["note"]} for s in steps]}


def _licence_next(row: dict, i: int, today: date) -> str:
    """What the holder of a licence does next, in words."""
    expiry = row["expiry_date"].isoformat()
    if row["status"] == "active" and row["expiry_date"] - today <= RENEW_WITHIN:
        return f"renew it before {expiry}" if i else f"جدّد الرخصة قبل {expiry}"
    if row["status"] == "active":
        return f"nothing until {expiry}" if i else f"لا شيء حتى {expiry}"
    if row["status"] == "expired":
        return ("renew it through the municipality's e-services" if i
                else "جدّد الرخصة عبر الخدمات الإلكترونية للبلدية")
    if row["status"] == "suspended":
        return "contact the municipality to lift the suspension" if i else "راجع البلدية لرفع الإيقاف"
    return "nothing: the licence is cancelled" if i else "لا شيء: الرخصة ملغاة"


def licence_view(row: dict, english: bool, today: date) -> dict:
    """What the page shows of a licence (no holder field)."""
    i, suffix = (1, "en") if english else (0, "ar")
    return {"kind": KINDS["licence"][i], "number": row["license_no"], "status": row["status"],
            "status_label": STATUS[row["status"]][i],
            "rows": _rows(i, ("trade", row[f"trade_name_{suffix}"]),
                          ("activity", row[f"activity_{suffix}"]),
                          ("issued", _when(row["issue_date"])),
                          ("expiry", _when(row["expiry_date"]))),
            "next_step": _licence_next(row, i, today), "link": None, "history": []}


def certificate_view(row: dict, english: bool, base_url: str) -> dict:
    """What the page shows of a permit-check certificate, and a link to the signed one."""
    i = 1 if english else 0
    refused = row["verdict"] == "refused"
    next_step = (("see the requirements not met in the certificate" if i
                  else "راجع الاشتراطات غير المستوفاة في الشهادة") if refused else
                 ("you may apply with this certificate" if i else "يمكنك التقديم بهذه الشهادة"))
    return {"kind": KINDS["certificate"][i], "number": row["id"], "status": row["verdict"],
            "status_label": STATUS[row["verdict"]][i],
            "rows": _rows(i, ("check", row["process_id"]), ("issued", _when(row["issued_at"]))),
            "next_step": next_step, "history": [],
            "link": f"{base_url}/certificates/{row['id']}?lang={'en' if english else 'ar'}"}


def _one(conn, statement: str, number: str) -> dict:
    """The row of a licence or certificate; ReportNotFound when none."""
    cur = conn.execute(statement, [number])
    row = cur.fetchone()
    if row is None:
        raise NothingByThatNumber()
    return dict(zip([c.name for c in cur.description], row, strict=True))


def lookup(conn, settings: CitizenSettings, number: str, address: str, english: bool,
           base_url: str) -> dict:
    """Count the lookup, then the view of the report, licence or certificate of that number;
    InvalidReport for a number of no known form, ReportNotFound for an unknown one,
    TooManyReports past the address's lookups."""
    key = "lookup:" + throttle.digest(conn, address)
    throttle.hit(conn, key, settings.lookup_window_s, settings.lookups_per_window,
                 ("lookups", "الاستعلامات"))
    number = number.strip().upper()
    if queries.TRACKING.match(number):
        try:
            row = reports.public(conn, number)
        except ReportNotFound:
            raise NothingByThatNumber() from None
        return report_view(row, reports.history(conn, row["id"]), english)
    if CERTIFICATE.match(number):
        return certificate_view(_one(conn, CERTIFICATE_SQL, number), english, base_url)
    if LICENCE.match(number):
        today = datetime.now(LOCAL).date()
        return licence_view(_one(conn, LICENCE_SQL, number), english, today)
    raise InvalidReport("enter a report number (R-XXXX-XXXX-XXXX), a licence number "
                        "(LIC-2026-000123) or a certificate number (AMN-2026-XXXX-XXXX-XXXX-XXXX)",
                        "أدخل رقم بلاغ (R-XXXX-XXXX-XXXX) أو رقم رخصة (LIC-2026-000123) "
                        "أو رقم شهادة (AMN-2026-XXXX-XXXX-XXXX-XXXX)")
