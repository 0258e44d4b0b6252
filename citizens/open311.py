"""Open311 GeoReport v2 documents (discovery, services, service definitions, requests,
tokens, errors) as plain data, and their JSON and XML forms (xml.etree.ElementTree: every
value is escaped, so a description holding markup comes back as text).

Our statuses map onto the spec's two: `open` and `in_progress` are `open` (status_notes says
"in progress"), `closed` is `closed` and status_notes gives the reason, so a duplicate is never
shown as fixed. The extensions we declare: paging (page, page_size; a Link header with next and
prev), media_url on requests, status_detail / close_reason members, services of a point
(services?lat&long) and errors' descriptions in both languages.
"""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime

from citizens.categories import Category
from citizens.reports import Accepted
from citizens.settings import CitizenSettings

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-04T00:00:00+00:00"
FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
PLURALS = {"attributes": "attribute", "values": "value", "endpoints": "endpoint",
           "formats": "format", "extensions": "extension"}
REASONS = {"fixed": ("تم الإصلاح", "fixed"), "duplicate": ("بلاغ مكرر", "duplicate report"),
           "not_ours": ("ليس من اختصاص الأمانة", "not the Amana's responsibility"),
           "no_action_needed": ("لا يلزم إجراء", "no action needed"),
           "cannot_locate": ("تعذّر تحديد الموقع", "could not be located")}
IN_PROGRESS = ("قيد التنفيذ", "in progress")
CLOSED = ("مغلق", "closed")
EXTENSIONS = ["paging", "media_url", "status_detail", "services_at_point", "descriptions"]


def discovery(settings: CitizenSettings, base_url: str) -> dict:
    """The discovery document."""
    return {"changeset": CHANGESET, "contact": settings.contact, "key_service": "",
            "jurisdiction_id": settings.jurisdiction_id,
            "endpoints": [{"specification": SPECIFICATION, "url": f"{base_url}/open311/v2",
                           "changeset": CHANGESET, "type": "production",
                           "formats": ["application/json", "text/xml"],
                           "extensions": EXTENSIONS}]}


def service(category: Category, english: bool) -> dict:
    """One entry of the service list."""
    return {"service_code": category.code, "service_name": category.name(english),
            "description": category.description_en if english else category.description_ar,
            "metadata": bool(category.attributes), "type": "realtime",
            "keywords": ",".join(category.keywords),
            "group": category.group_en if english else category.group_ar}


def definition(category: Category, english: bool) -> dict:
    """A service definition (GET services/{code})."""
    lang = "en" if english else "ar"
    attributes = [{"variable": True, "code": a["code"], "datatype": a["datatype"],
                   "required": bool(a.get("required")), "datatype_description": None,
                   "order": a.get("order", i + 1), "description": a[f"description_{lang}"],
                   "values": [{"key": v["key"], "name": v[f"name_{lang}"]}
                              for v in a.get("values", [])]}
                  for i, a in enumerate(category.attributes)]
    return {"service_code": category.code, "attributes": attributes}


def _iso(value: datetime | None) -> str | None:
    """A W3C date and time, or None."""
    return value.isoformat(timespec="seconds") if value else None


def status_notes(row: dict, english: bool) -> str | None:
    """What the spec's two statuses cannot say: in progress, the reason for closing, the note."""
    i = 1 if english else 0
    note = row.get("note")
    if row["status"] == "in_progress":
        head = IN_PROGRESS[i]
    elif row["status"] == "closed":
        head = f"{CLOSED[i]}: {REASONS[row['close_reason']][i]}"
    else:
        return note
    return f"{head} — {note}" if note else head


def request(row: dict, english: bool) -> dict:
    """One service request (public fields only)."""
    suffix = "en" if english else "ar"
    agency = row.get(f"municipality_{suffix}") or row["municipality_code"]
    return {
        "service_request_id": row["tracking_no"],
        "status": "closed" if row["status"] == "closed" else "open",
        "status_notes": status_notes(row, english),
        "status_detail": row["status"], "close_reason": row["close_reason"],
        "service_name": row[f"service_{suffix}"], "service_code": row["service_code"],
        "description": row["description"] or None,
        "agency_responsible": f"{agency} — {row[f'department_{suffix}']}",
        "service_notice": None,
        "requested_datetime": _iso(row["created_at"]), "updated_datetime": _iso(row["updated_at"]),
        "expected_datetime": _iso(row["expected_at"]), "address": row["address"],
        "address_id": None, "zipcode": None, "lat": row["lat"], "long": row["lon"],
        "media_url": row["media_url"]}


def accepted(done: Accepted, english: bool) -> dict:
    """The answer to POST requests."""
    hours = done.category.sla_hours
    notice = (f"Expected within {hours} hours; follow it with number {done.tracking_no}"
              if english else f"المدة المتوقعة {hours} ساعة؛ تابع البلاغ بالرقم {done.tracking_no}")
    return {"service_request_id": done.tracking_no, "token": done.token,
            "service_notice": notice, "account_id": None}


def token(tracking_no: str, token_id: str) -> dict:
    """The answer to GET tokens/{id}."""
    return {"service_request_id": tracking_no, "token": token_id}


def error(status: int, description: str, texts: dict[str, str]) -> dict:
    """One Open311 error: the spec's code and description, and the description in both
    languages (`descriptions`, as every error document of the platform has)."""
    return {"code": status, "description": description, "descriptions": texts}


# --- JSON and XML -----------------------------------------------------------------------------

ROOTS = {"discovery": (None, None), "services": ("services", "service"),
         "definition": ("service_definition", None),
         "requests": ("service_requests", "request"), "errors": ("errors", "error")}


def _text(value) -> str:
    """The XML text of a scalar."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _element(parent: ET.Element, name: str, value) -> None:
    """Append `value` as element `name` (lists as repeated singular children)."""
    node = ET.SubElement(parent, name)
    if isinstance(value, dict):
        for key, item in value.items():
            _element(node, key, item)
    elif isinstance(value, list):
        for item in value:
            _element(node, PLURALS.get(name, "item"), item)
    else:
        node.text = _text(value)


def to_xml(kind: str, body) -> bytes:
    """A document as XML: lists under their root (service_requests/request...), single
    documents as their root element."""
    root_name, item = ROOTS[kind]
    root = ET.Element(root_name or kind)
    if item is None:
        for key, value in body.items():
            _element(root, key, value)
    else:
        for entry in body:
            _element(root, item, entry)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8",
                                                                    xml_declaration=False)


def render(kind: str, body, fmt: str) -> bytes:
    """A document in `fmt` (json or xml)."""
    if fmt == "xml":
        return to_xml(kind, body)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
