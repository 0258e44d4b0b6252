"""Citizens' reports in the database (tables citizen_reports, citizen_report_history): a
submission stored with its district, municipality and SLA, audited; public reads that never
select a contact column; lookups by tracking number and by token.

A tracking number reads R-XXXX-XXXX-XXXX (60 random bits, Crockford base32, no I L O U): not
sequential and not guessable; the token (128 random bits) is what Open311's tokens/{id} maps.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from citizens import categories, jurisdiction, throttle
from citizens.errors import InvalidReport, ReportNotFound
from citizens.settings import CitizenSettings
from citizens.submission import Submission
from layers import audit

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
COLLECTION = "citizen_reports"

INSERT = """
INSERT INTO citizen_reports (tracking_no, token, service_code, geom, address, description,
  attributes, media_url, district_code, municipality_code, contact_email, contact_first_name,
  contact_last_name, contact_phone, submitter_sha256, expected_at)
VALUES (%(tracking_no)s, %(token)s, %(service_code)s, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s),
  4326), %(address)s, %(description)s, %(attributes)s, %(media_url)s, %(district_code)s,
  %(municipality_code)s, %(email)s, %(first_name)s, %(last_name)s, %(phone)s, %(submitter)s,
  clock_timestamp() + make_interval(hours => %(sla_hours)s))
RETURNING id, created_at, expected_at
"""
HISTORY = ("INSERT INTO citizen_report_history (report_id, status, close_reason, note, actor, "
           "actor_role) VALUES (%s, %s, %s, %s, %s, %s)")
# the public columns of a report: never a contact column, the submitter's digest or who acted
PUBLIC = """
SELECT r.id, r.tracking_no, r.status, r.close_reason, r.service_code, c.name_ar AS service_ar,
  c.name_en AS service_en, c.department_ar, c.department_en, r.description, r.address,
  r.media_url, r.attributes, r.created_at, r.updated_at, r.expected_at, ST_Y(r.geom) AS lat,
  ST_X(r.geom) AS lon, r.municipality_code, m.name_ar AS municipality_ar,
  m.name_en AS municipality_en, r.district_code, d.name_ar AS district_ar,
  d.name_en AS district_en,
  (SELECT h.note FROM citizen_report_history h WHERE h.report_id = r.id AND h.note IS NOT NULL
   ORDER BY h.at DESC, h.id DESC LIMIT 1) AS note
FROM citizen_reports r JOIN service_categories c ON c.code = r.service_code
LEFT JOIN municipalities m ON m.code = r.municipality_code
LEFT JOIN districts d ON d.code = r.district_code
"""


def tracking_number() -> str:
    """A new random tracking number."""
    chars = "".join(secrets.choice(ALPHABET) for _ in range(12))
    return f"R-{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def check_jurisdiction(settings: CitizenSettings, given: str | None) -> None:
    """InvalidReport unless jurisdiction_id is absent or names this Amana."""
    if given is not None and given.strip() != settings.jurisdiction_id:
        raise InvalidReport(f"unknown jurisdiction_id; this server answers for "
                            f"{settings.jurisdiction_id}",
                            f"jurisdiction_id غير معروف؛ هذا الخادم يخدم {settings.jurisdiction_id}")


@dataclass(frozen=True)
class Accepted:
    """What a submission answers: its number and token, and the notice shown to the citizen."""

    tracking_no: str
    token: str
    created_at: datetime
    expected_at: datetime
    category: categories.Category
    place: jurisdiction.Place


def submit(conn, settings: CitizenSettings, form: Submission, address: str,
           actor: audit.Actor) -> Accepted:
    """Store a report in one transaction (throttle, category, place, row, history, audit); any
    refusal rolls all of it back, so nothing is stored."""
    check_jurisdiction(settings, form.jurisdiction_id)
    with conn.transaction():
        category = categories.for_report(conn, form.service_code)
        attributes = categories.check_attributes(category, form.attributes)
        place = jurisdiction.locate(conn, form.lon, form.lat)
        submitter = throttle.digest(conn, address)
        throttle.hit(conn, f"report:{submitter}", settings.report_window_s,
                     settings.reports_per_window, ("reports", "البلاغات"))
        values = {"tracking_no": tracking_number(), "token": secrets.token_hex(16),
                  "service_code": category.code, "lon": form.lon, "lat": form.lat,
                  "address": form.address, "description": form.description,
                  "attributes": Jsonb(attributes), "media_url": form.media_url,
                  "district_code": place.district_code,
                  "municipality_code": category.municipality_code or place.municipality_code,
                  "email": None, "first_name": None, "last_name": None, "phone": None,
                  **form.contact, "submitter": submitter, "sla_hours": category.sla_hours}
        report_id, created, expected = conn.execute(INSERT, values).fetchone()
        conn.execute(HISTORY, [report_id, "open", None, None, actor.subject, "citizen"])
        audit.record(conn, actor, "report.create", COLLECTION, values["tracking_no"], None,
                     _audited(values))
    return Accepted(values["tracking_no"], values["token"], created, expected, category, place)


def _audited(values: dict) -> dict:
    """What the audit trail keeps of a new report: no contact field, no address digest."""
    kept = ("tracking_no", "service_code", "lon", "lat", "address", "description",
            "media_url", "district_code", "municipality_code")
    return {**{k: values[k] for k in kept}, "attributes": values["attributes"].obj,
            "contact_given": sorted(k for k in ("email", "first_name", "last_name", "phone")
                                    if values[k])}


@dataclass(frozen=True)
class RequestQuery:
    """GET requests: filters of GeoReport v2 and the paging extension."""

    ids: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()          # our statuses (open covers in_progress)
    start: datetime | None = None
    end: datetime | None = None
    page: int = 1
    page_size: int = 100


def _where(query: RequestQuery) -> tuple[str, list]:
    """The WHERE clause of a listing (ids override every other filter, as the spec says)."""
    if query.ids:
        return " WHERE r.tracking_no = ANY(%s)", [list(query.ids)]
    parts, params = [], []
    for condition, value in (("r.service_code = ANY(%s)", list(query.service_codes)),
                             ("r.status = ANY(%s)", list(query.statuses)),
                             ("r.created_at >= %s", query.start), ("r.created_at <= %s", query.end)):
        if value:
            parts.append(condition)
            params.append(value)
    return (" WHERE " + " AND ".join(parts) if parts else ""), params


def listing(conn, query: RequestQuery) -> tuple[list[dict], bool]:
    """One page of public reports, newest first, and whether another page follows (one row
    more is read instead of counting every match: a count over 200,000 reports took ~100 ms)."""
    where, params = _where(query)
    offset = (query.page - 1) * query.page_size
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(PUBLIC + where + " ORDER BY r.created_at DESC, r.id DESC "
                           "LIMIT %s OFFSET %s", [*params, query.page_size + 1, offset]).fetchall()
    return rows[:query.page_size], len(rows) > query.page_size


def public(conn, tracking_no: str) -> dict:
    """One report's public fields; ReportNotFound when there is none."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(PUBLIC + " WHERE r.tracking_no = %s", [tracking_no]).fetchone()
    if row is None:
        raise ReportNotFound()
    return row


def history(conn, report_id: int) -> list[dict]:
    """A report's public history, oldest first: status, reason, note, when (not who)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT status, close_reason, note, at FROM citizen_report_history "
                           "WHERE report_id = %s ORDER BY at, id", [report_id]).fetchall()


def by_token(conn, token: str) -> str:
    """The tracking number a token stands for; ReportNotFound when none."""
    row = conn.execute("SELECT tracking_no FROM citizen_reports WHERE token = %s",
                       [token]).fetchone()
    if row is None:
        raise ReportNotFound()
    return row[0]


def since(days: int) -> datetime:
    """The default start of a listing (the spec's last 90 days)."""
    return datetime.now(UTC) - timedelta(days=days)
