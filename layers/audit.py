"""The audit trail (table audit_log, append-only): who changed what, when, from which client.

Rows are written in the transaction of the change they describe, so a change is never without
its row nor a row without its change. The table has no foreign keys (reloading the layers keeps
it) and refuses UPDATE, DELETE and TRUNCATE (migration 0006_auth).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from ipaddress import ip_address

from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

MAX_USER_AGENT = 300


@dataclass(frozen=True)
class Actor:
    """Who makes a change and from where."""

    subject: str
    kind: str                                    # local | oidc | key | cli
    roles: frozenset[str] = field(default_factory=frozenset)
    office: str | None = None
    api_key_id: str | None = None
    client_ip: str | None = None
    user_agent: str | None = None

    def has(self, *roles: str) -> bool:
        """Whether the actor holds one of these roles."""
        return bool(self.roles.intersection(roles))


def _ip(value: str | None) -> str | None:
    """An IP address, or None for anything else (test clients report 'testclient')."""
    try:
        return str(ip_address(value)) if value else None
    except ValueError:
        return None


def record(conn, actor: Actor, action: str, collection: str, feature_id,
           before: dict | None, after: dict | None) -> int:
    """Append one row; returns its id."""
    agent = (actor.user_agent or "")[:MAX_USER_AGENT] or None
    row = conn.execute(
        "INSERT INTO audit_log (actor, actor_kind, roles, office, api_key_id, client_ip, "
        "user_agent, action, collection, feature_id, before, after) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        [actor.subject, actor.kind, sorted(actor.roles), actor.office, actor.api_key_id,
         _ip(actor.client_ip), agent, action, collection,
         None if feature_id is None else str(feature_id),
         None if before is None else Jsonb(before), None if after is None else Jsonb(after)],
    ).fetchone()
    return row[0]


@dataclass(frozen=True)
class AuditQuery:
    """Which audit rows to list."""

    since: datetime | None = None
    until: datetime | None = None
    user: str | None = None
    collection: str | None = None
    feature_id: str | None = None
    limit: int = 100
    offset: int = 0


COLUMNS = ("id", "at", "actor", "actor_kind", "roles", "office", "api_key_id", "client_ip",
           "user_agent", "action", "collection", "feature_id", "before", "after")


def _where(query: AuditQuery) -> tuple[sql.Composable, list]:
    """The WHERE clause of a listing."""
    parts, params = [], []
    for column, op, value in (("at", ">=", query.since), ("at", "<", query.until),
                              ("actor", "=", query.user), ("collection", "=", query.collection),
                              ("feature_id", "=", query.feature_id)):
        if value is not None:
            parts.append(sql.SQL("{} {} %s").format(sql.Identifier(column), sql.SQL(op)))
            params.append(value)
    if not parts:
        return sql.SQL(""), params
    return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(parts), params


def listing(conn, query: AuditQuery) -> tuple[list[dict], int]:
    """Matching rows, oldest first, and how many match in all."""
    where, params = _where(query)
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in COLUMNS)
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(sql.SQL("SELECT {} FROM audit_log{} ORDER BY id LIMIT %s OFFSET %s")
                           .format(columns, where), [*params, query.limit, query.offset]).fetchall()
    total = conn.execute(sql.SQL("SELECT count(*) FROM audit_log{}").format(where),
                         params).fetchone()[0]
    for row in rows:
        row["client_ip"] = None if row["client_ip"] is None else str(row["client_ip"])
    return rows, total
