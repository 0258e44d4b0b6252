"""The public status page of a report (/track, Arabic or English): status, history and next
step by tracking number, without signing in and without anything personal; every lookup counts
against the caller's address (citizens.throttle), found or not, against enumeration."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from citizens import open311, queries, reports, throttle
from citizens.errors import InvalidReport
from citizens.settings import CitizenSettings

TEMPLATES = Path(__file__).parent / "templates"
LOCAL = timezone(timedelta(hours=3))     # Arabia Standard Time: the dates citizens read
STATUS = {"open": ("مفتوح — بانتظار المراجعة", "Open — waiting for review"),
          "in_progress": ("قيد التنفيذ", "In progress"), "closed": ("مغلق", "Closed")}


def environment() -> Environment:
    """The page templates, autoescaped."""
    return Environment(loader=FileSystemLoader(TEMPLATES),
                       autoescape=select_autoescape(["html"]))


def _when(value: datetime) -> str:
    """A date and time as citizens read it (local time)."""
    return value.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")


def _label(status: str, reason: str | None, i: int) -> str:
    """A status in words (with the reason when closed)."""
    if status == "closed" and reason:
        return f"{STATUS[status][i]}: {open311.REASONS[reason][i]}"
    return STATUS[status][i]


def _next_step(row: dict, i: int) -> str:
    """What happens next, in words."""
    department = row["department_en"] if i else row["department_ar"]
    expected = _when(row["expected_at"])
    if row["status"] == "open":
        return (f"{department} will review it by {expected}" if i
                else f"ستراجع {department} البلاغ قبل {expected}")
    if row["status"] == "in_progress":
        return (f"the work is under way; expected done by {expected}" if i
                else f"العمل جارٍ؛ الموعد المتوقع للإنجاز {expected}")
    return "nothing: the report is closed" if i else "لا شيء: البلاغ مغلق"


def view(row: dict, steps: list[dict], english: bool) -> dict:
    """What the page shows of a report (public fields only)."""
    i, suffix = (1, "en") if english else (0, "ar")
    return {"tracking_no": row["tracking_no"], "status": row["status"],
            "status_label": _label(row["status"], row["close_reason"], i),
            "service": row[f"service_{suffix}"],
            "place": (", " if english else "، ").join((
                row.get(f"district_{suffix}") or row["district_code"],
                row.get(f"municipality_{suffix}") or row["municipality_code"])),
            "agency": row[f"department_{suffix}"], "received": _when(row["created_at"]),
            "expected": _when(row["expected_at"]), "next_step": _next_step(row, i),
            "history": [{"at": _when(s["at"]), "label": _label(s["status"], s["close_reason"], i),
                         "note": s["note"]} for s in steps]}


def lookup(conn, settings: CitizenSettings, number: str, address: str, english: bool) -> dict:
    """Count the lookup, then the report's view; InvalidReport for a malformed number,
    ReportNotFound for an unknown one, TooManyReports past the address's lookups."""
    key = "lookup:" + throttle.digest(conn, address)
    throttle.hit(conn, key, settings.lookup_window_s, settings.lookups_per_window,
                 ("lookups", "الاستعلامات"))
    number = number.strip().upper()
    if not queries.TRACKING.match(number):
        raise InvalidReport("a report number reads R-XXXX-XXXX-XXXX",
                            "رقم البلاغ على الصورة R-XXXX-XXXX-XXXX")
    row = reports.public(conn, number)
    return view(row, reports.history(conn, row["id"]), english)
