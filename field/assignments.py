"""Assignments of licences to inspectors: made and withdrawn by an office (its own licences)
or an admin (any), listed for them and for the inspector they name; closed by the inspector's
next inspection of the licence (a trigger of migration 0014). Every change is audited."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import psycopg

from field.errors import AlreadyAssigned, AssignmentMissing, InvalidRequest, LicenceMissing
from layers import audit
from layers.audit import Actor
from layers.database import Database

INSPECTOR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@:|-]{0,199}$")
FIELDS = {"license_id", "inspector", "due_date", "note"}
COLUMNS = ("a.id, a.license_id, l.license_no, l.trade_name_ar, l.trade_name_en, a.inspector, "
           "a.assigned_by, a.assigned_at, a.due_date, a.note, a.closed_at, a.inspection_id")
NAMES = ("id", "license_id", "license_no", "trade_name_ar", "trade_name_en", "inspector",
         "assigned_by", "assigned_at", "due_date", "note", "closed_at", "inspection_id")


@dataclass(frozen=True)
class Assignment:
    """An assignment as asked for, checked."""

    license_id: int
    inspector: str
    due_date: date | None = None
    note: str = ""


def parse(body) -> Assignment:
    """The assignment a JSON body asks for, or InvalidRequest naming the problem."""
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object", "يجب أن يكون متن الطلب كائن JSON")
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise InvalidRequest("unknown fields: " + ", ".join(unknown)[:200],
                             "حقول غير معروفة: " + ", ".join(unknown)[:200])
    licence = body.get("license_id")
    if isinstance(licence, bool) or not isinstance(licence, int) or not 0 < licence < 2**62:
        raise InvalidRequest("license_id must be a positive integer",
                             "يجب أن يكون license_id عددًا صحيحًا موجبًا")
    inspector = body.get("inspector")
    if not isinstance(inspector, str) or not INSPECTOR.match(inspector):
        raise InvalidRequest("inspector must be an inspector's user name",
                             "يجب أن يكون inspector اسم مستخدم لمفتش")
    note = body.get("note", "")
    if not isinstance(note, str) or len(note) > 500 or any(ord(c) < 32 for c in note):
        raise InvalidRequest("note must be text of at most 500 characters",
                             "يجب أن تكون note نصًا من 500 حرف على الأكثر")
    return Assignment(licence, inspector, _due(body.get("due_date")), note)


def _due(value) -> date | None:
    """A due date from YYYY-MM-DD, or None."""
    if value is None:
        return None
    try:
        if isinstance(value, str) and len(value) == 10:
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise InvalidRequest("due_date must be a date, YYYY-MM-DD",
                         "يجب أن يكون due_date تاريخًا بالصيغة YYYY-MM-DD")


def _may_assign(actor: Actor) -> str | None:
    """The office whose licences this actor may assign (None: any, for admins)."""
    return None if actor.has("admin") else (actor.office or "\x00")


def _inspector_exists(conn, name: str) -> bool:
    """A local inspector of that name (OpenID Connect inspectors have no row: accepted if they
    have inspected before)."""
    return conn.execute(
        "SELECT EXISTS (SELECT 1 FROM auth_users WHERE name = %s AND role = 'inspector' "
        "AND disabled_at IS NULL) OR EXISTS (SELECT 1 FROM inspections WHERE created_by = %s)",
        [name, name]).fetchone()[0]


def create(db: Database, wanted: Assignment, actor: Actor) -> dict:
    """Store a new assignment (and its audit row); the stored assignment."""
    office = _may_assign(actor)

    def work(conn):
        with conn.transaction():
            found = conn.execute("SELECT id FROM licenses WHERE id = %s AND (%s::text IS NULL "
                                 "OR owner_office = %s)", [wanted.license_id, office, office])
            if found.fetchone() is None:
                raise LicenceMissing()
            if not _inspector_exists(conn, wanted.inspector):
                raise InvalidRequest("no inspector with this user name",
                                     "لا يوجد مفتش بهذا الاسم")
            try:
                new = conn.execute(
                    "INSERT INTO inspection_assignments (license_id, inspector, assigned_by, "
                    "due_date, note) VALUES (%s, %s, %s, %s, %s) RETURNING id",
                    [wanted.license_id, wanted.inspector, actor.subject, wanted.due_date,
                     wanted.note]).fetchone()[0]
            except psycopg.errors.UniqueViolation:
                raise AlreadyAssigned() from None
            stored = _one(conn, new)
            audit.record(conn, actor, "create", "assignments", new, None, _jsonable(stored))
            return _jsonable(stored)
    return db.run(work)


def withdraw(db: Database, assignment_id: int, actor: Actor) -> None:
    """Delete an open assignment this actor may manage (AssignmentMissing otherwise)."""
    office = _may_assign(actor)

    def work(conn):
        with conn.transaction():
            row = conn.execute(
                "SELECT a.id FROM inspection_assignments a JOIN licenses l ON l.id = a.license_id"
                " WHERE a.id = %s AND a.closed_at IS NULL AND (%s::text IS NULL OR "
                "l.owner_office = %s) FOR UPDATE OF a", [assignment_id, office, office])
            if row.fetchone() is None:
                raise AssignmentMissing()
            before = _one(conn, assignment_id)
            conn.execute("DELETE FROM inspection_assignments WHERE id = %s", [assignment_id])
            audit.record(conn, actor, "delete", "assignments", assignment_id,
                         _jsonable(before), None)
    db.run(work)


def listing(db: Database, actor: Actor, open_only: bool = True) -> list[dict]:
    """Assignments the actor may see: an inspector's own, an office's licences', all for
    admins; newest first, at most 500."""
    where, params = ["(NOT %s OR a.closed_at IS NULL)"], [open_only]
    if actor.has("admin"):
        pass
    elif actor.has("office"):
        where.append("l.owner_office = %s")
        params.append(actor.office or "\x00")
    else:
        where.append("a.inspector = %s")
        params.append(actor.subject)
    statement = (f"SELECT {COLUMNS} FROM inspection_assignments a JOIN licenses l ON "
                 f"l.id = a.license_id WHERE {' AND '.join(where)} "
                 "ORDER BY a.assigned_at DESC, a.id DESC LIMIT 500")
    rows = db.run(lambda conn: conn.execute(statement, params).fetchall())
    return [_jsonable(dict(zip(NAMES, row))) for row in rows]


def _one(conn, assignment_id: int) -> dict:
    """One stored assignment as a dict."""
    row = conn.execute(f"SELECT {COLUMNS} FROM inspection_assignments a JOIN licenses l ON "
                       "l.id = a.license_id WHERE a.id = %s", [assignment_id]).fetchone()
    return dict(zip(NAMES, row))


def _jsonable(row: dict) -> dict:
    """Dates and times as ISO text."""
    return {name: value.isoformat() if hasattr(value, "isoformat") else value
            for name, value in row.items()}
