"""GET requests' query parameters (GeoReport v2 filters and the paging extension) parsed once
into a RequestQuery; every bad value is an InvalidReport naming the parameter."""
from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from citizens.errors import InvalidReport
from citizens.reports import RequestQuery
from citizens.settings import CitizenSettings

WINDOW = timedelta(days=90)
MAX_PAGE = 10_000
MAX_IDS = 100
TRACKING = re.compile(r"^R-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")
PARAMETERS = {"jurisdiction_id", "api_key", "service_request_id", "service_code", "start_date",
              "end_date", "status", "page", "page_size", "lang"}
STATUSES = {"open": ("open", "in_progress"), "closed": ("closed",)}


def _refuse(en: str, ar: str):
    """Raise InvalidReport."""
    raise InvalidReport(en, ar)


def once(pairs: list[tuple[str, str]], allowed: set[str]) -> dict[str, str]:
    """Parameters given at most once each, all of them known."""
    found: dict[str, str] = {}
    for name, value in pairs:
        if name not in allowed:
            _refuse(f"unknown parameter {name[:40]!r}", f"معامل غير معروف {name[:40]!r}")
        if name in found:
            _refuse(f"{name} is given more than once", f"المعامل {name} مكرر")
        found[name] = value
    return found


def moment(name: str, value: str) -> datetime:
    """A W3C date and time (a date alone is its midnight; no offset is UTC)."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        _refuse(f"{name} must be a date and time such as 2026-12-01T08:00:00+03:00",
                f"يجب أن يكون {name} تاريخًا ووقتًا مثل 2026-12-01T08:00:00+03:00")
    if len(value.strip()) == 10:
        parsed = datetime.combine(parsed.date(), time())
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def whole(name: str, value: str | None, default: int, top: int) -> int:
    """A whole number from 1 to `top`."""
    if value is None:
        return default
    text = value.strip()
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= top:
        _refuse(f"{name} must be a whole number from 1 to {top}",
                f"يجب أن يكون {name} عددًا صحيحًا من 1 إلى {top}")
    return int(text)


def _listed(value: str | None) -> tuple[str, ...]:
    """A comma-separated list, without blanks."""
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def _window(given: dict[str, str]) -> tuple[datetime, datetime | None]:
    """start and end: at most 90 days apart (the spec's window), the last 90 days by default."""
    start = moment("start_date", given["start_date"]) if "start_date" in given else None
    end = moment("end_date", given["end_date"]) if "end_date" in given else None
    if start and end and end < start:
        _refuse("end_date is before start_date", "تاريخ النهاية end_date قبل البداية start_date")
    if start and end and end - start > WINDOW:
        _refuse("start_date and end_date may be at most 90 days apart",
                "لا يتجاوز الفرق بين start_date وend_date تسعين يومًا")
    if start is None:
        start = (end or datetime.now(UTC)) - WINDOW
    return start, end or (start + WINDOW if "start_date" in given else None)


def parse(pairs: list[tuple[str, str]], settings: CitizenSettings, codes: set[str]) -> RequestQuery:
    """A RequestQuery; `codes` are the known service codes."""
    given = once(pairs, PARAMETERS)
    page = whole("page", given.get("page"), 1, MAX_PAGE)
    size = whole("page_size", given.get("page_size"), settings.page_size, 1000)
    ids = _listed(given.get("service_request_id"))
    if ids:
        if len(ids) > MAX_IDS or not all(TRACKING.match(i) for i in ids):
            _refuse(f"service_request_id must list at most {MAX_IDS} numbers like R-7K2M-9QXD-4T3B",
                    f"يجب أن يضم service_request_id حتى {MAX_IDS} رقمًا مثل R-7K2M-9QXD-4T3B")
        return RequestQuery(ids=ids, page=page, page_size=size)
    services = _listed(given.get("service_code"))
    unknown = sorted(set(services) - codes)
    if unknown:
        _refuse(f"unknown service_code {unknown[0][:40]!r}", f"رمز خدمة غير معروف {unknown[0][:40]!r}")
    statuses = _listed(given.get("status"))
    if any(s not in STATUSES for s in statuses):
        _refuse("status must be open, closed or both (comma-separated)",
                "يجب أن تكون الحالة open أو closed أو كلتيهما")
    start, end = _window(given)
    ours = tuple(s for name in statuses for s in STATUSES[name])
    return RequestQuery(service_codes=services, statuses=ours, start=start, end=end, page=page,
                        page_size=size)
