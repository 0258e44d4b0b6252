"""What staff do with reports: the queue of a municipality, and status changes with a public
note (and an assignee), each written with its history row and audited in one transaction.

A service agent (role service-agent) serves the municipality whose code is their `office`; an
admin serves every municipality. Closing needs a reason; a reason is kept only when closed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from psycopg.rows import dict_row

from citizens.errors import InvalidReport, NotYourMunicipality, ReportNotFound
from layers import audit

STATUSES = ("open", "in_progress", "closed")
REASONS = ("fixed", "duplicate", "not_ours", "no_action_needed", "cannot_locate")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,99}$")
MAX_NOTE = 2000
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
QUEUE = """
SELECT r.tracking_no, r.status, r.close_reason, r.service_code, r.description, r.address,
  r.attributes, r.media_url, ST_Y(r.geom) AS lat, ST_X(r.geom) AS lon, r.district_code,
  r.municipality_code, r.assigned_to, r.contact_email, r.contact_first_name,
  r.contact_last_name, r.contact_phone, r.created_at, r.updated_at, r.expected_at,
  r.status <> 'closed' AND r.expected_at < now() AS overdue
FROM citizen_reports r
WHERE (%(municipality)s::text IS NULL OR r.municipality_code = %(municipality)s)
  AND r.status = ANY(%(statuses)s)
  AND (%(since)s::timestamptz IS NULL OR r.created_at >= %(since)s)
ORDER BY r.expected_at, r.id LIMIT %(limit)s OFFSET %(offset)s
"""


@dataclass(frozen=True)
class StatusChange:
    """A change a staff member asks for."""

    status: str
    close_reason: str | None = None
    note: str | None = None
    assigned_to: str | None = None


def _refuse(en: str, ar: str):
    """Raise InvalidReport."""
    raise InvalidReport(en, ar)


def parse_change(body) -> StatusChange:
    """A StatusChange from a JSON object: status, close_reason (when closed), note, assigned_to."""
    if not isinstance(body, dict):
        _refuse("the body must be a JSON object", "يجب أن يكون المحتوى كائن JSON")
    unknown = sorted(set(body) - {"status", "close_reason", "note", "assigned_to"})
    if unknown:
        _refuse(f"unknown member {unknown[0][:40]!r}", f"عنصر غير معروف {unknown[0][:40]!r}")
    status, reason = body.get("status"), body.get("close_reason")
    if status not in STATUSES:
        _refuse(f"status must be one of {', '.join(STATUSES)}",
                f"يجب أن تكون الحالة من: {'، '.join(STATUSES)}")
    if (status == "closed") != (reason is not None) or (reason is not None and reason not in REASONS):
        _refuse(f"close_reason is needed when closing, and only then: one of {', '.join(REASONS)}",
                f"سبب الإغلاق close_reason مطلوب عند الإغلاق فقط: {'، '.join(REASONS)}")
    note, assignee = body.get("note"), body.get("assigned_to")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE
                             or CONTROL.search(note) or not _encodable(note)):
        _refuse(f"note must be text of at most {MAX_NOTE} characters",
                f"يجب أن تكون الملاحظة نصًا لا يتجاوز {MAX_NOTE} حرف")
    if assignee is not None and (not isinstance(assignee, str) or not NAME.match(assignee)):
        _refuse("assigned_to must be a user name", "يجب أن يكون assigned_to اسم مستخدم")
    return StatusChange(status, reason, (note or "").strip() or None, assignee)


def _encodable(text: str) -> bool:
    """Whether the text is valid Unicode (JSON may carry lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def serves(actor: audit.Actor, municipality_code: str) -> bool:
    """Whether the actor may act on reports of that municipality."""
    return actor.has("admin") or (actor.has("service-agent") and actor.office == municipality_code)


def change(conn, actor: audit.Actor, tracking_no: str, wanted: StatusChange) -> dict:
    """Apply a status change; ReportNotFound, NotYourMunicipality leave everything as it was."""
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        before = cur.execute("SELECT id, tracking_no, status, close_reason, assigned_to, "
                             "municipality_code FROM citizen_reports WHERE tracking_no = %s "
                             "FOR UPDATE", [tracking_no]).fetchone()
        if before is None:
            raise ReportNotFound()
        if not serves(actor, before["municipality_code"]):
            raise NotYourMunicipality()
        assignee = wanted.assigned_to or before["assigned_to"]
        after = cur.execute(
            "UPDATE citizen_reports SET status = %s, close_reason = %s, assigned_to = %s, "
            "updated_at = clock_timestamp() WHERE id = %s RETURNING id, tracking_no, status, "
            "close_reason, assigned_to, municipality_code, updated_at",
            [wanted.status, wanted.close_reason, assignee, before["id"]]).fetchone()
        role = "admin" if actor.has("admin") else "service-agent"
        cur.execute("INSERT INTO citizen_report_history (report_id, status, close_reason, note, "
                    "actor, actor_role) VALUES (%s, %s, %s, %s, %s, %s)",
                    [before["id"], wanted.status, wanted.close_reason, wanted.note,
                     actor.subject, role])
        snapshot = {k: after[k] for k in ("status", "close_reason", "assigned_to")}
        audit.record(conn, actor, "report.status", "citizen_reports", tracking_no,
                     {k: before[k] for k in snapshot}, {**snapshot, "note": wanted.note})
    return after


def queue(conn, municipality: str | None, statuses: list[str], since: datetime | None,
          limit: int, offset: int) -> list[dict]:
    """Reports of a municipality (None: every one) in these statuses (received since `since`,
    when given), the soonest due first (contact fields included: staff only)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(QUEUE, {"municipality": municipality, "statuses": statuses,
                                   "since": since, "limit": limit, "offset": offset}).fetchall()
