"""The `limits` library's counters kept in PostgreSQL (table quota_counters, migration 0013).

limits ships storages for memory, Redis, Memcached, MongoDB and etcd. The platform already has
one shared service every process reaches, PostgreSQL; a counter there is one upsert (~0.2 ms on
this machine), shared by every worker process and host, and survives a restart. So this is a
`limits.storage.Storage` over our pool: the library keeps the strategy (fixed windows, keys,
expiries), we keep the rows. `quota_usage` adds per-key daily totals for admins.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

import psycopg
from limits.storage import Storage

from layers.database import Database

PRUNE_EVERY = 1000   # every so many increments, expired windows are deleted

INCR = """
INSERT INTO quota_counters AS c (key, hits, expires_at)
VALUES (%(key)s, %(amount)s, clock_timestamp() + make_interval(secs => %(expiry)s))
ON CONFLICT (key) DO UPDATE SET
  hits = CASE WHEN c.expires_at <= clock_timestamp() THEN excluded.hits
              ELSE c.hits + excluded.hits END,
  expires_at = CASE WHEN c.expires_at <= clock_timestamp() THEN excluded.expires_at
                    ELSE c.expires_at END
RETURNING hits
"""


class PostgresStorage(Storage):
    """Fixed-window counters in quota_counters, through the application's pool."""

    STORAGE_SCHEME: ClassVar[list[str]] = ["amanat+postgresql"]

    def __init__(self, db: Database):
        """Count on `db`."""
        super().__init__()
        self.db = db
        self._increments = itertools.count()

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        """What the driver raises."""
        return psycopg.Error

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add `amount` to the window of `key` (a new window when it expired); the count."""
        with self.db.connection() as conn:
            if next(self._increments) % PRUNE_EVERY == PRUNE_EVERY - 1:
                conn.execute("DELETE FROM quota_counters WHERE expires_at < clock_timestamp()")
            return conn.execute(INCR, {"key": key, "amount": amount,
                                       "expiry": int(expiry)}).fetchone()[0]

    def get(self, key: str) -> int:
        """The count of the current window of `key` (0 when none)."""
        row = self.db.fetch_one("SELECT hits FROM quota_counters WHERE key = %s "
                                "AND expires_at > clock_timestamp()", [key])
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        """When the window of `key` ends (epoch seconds; now when there is none)."""
        row = self.db.fetch_one("SELECT extract(epoch FROM expires_at)::float8 FROM "
                                "quota_counters WHERE key = %s", [key])
        return max(row[0], time.time()) if row else time.time()

    def check(self) -> bool:
        """Whether the database answers."""
        try:
            self.db.fetch_one("SELECT 1", [])
            return True
        except Exception:  # noqa: BLE001 - any failure means unhealthy
            return False

    def reset(self) -> int | None:
        """Forget every window; how many there were."""
        with self.db.connection() as conn:
            return conn.execute("DELETE FROM quota_counters").rowcount

    def clear(self, key: str) -> None:
        """Forget the window of `key`."""
        with self.db.connection() as conn:
            conn.execute("DELETE FROM quota_counters WHERE key = %s", [key])


def record_usage(db: Database, api_key_id: str, kind: str, refused: bool) -> None:
    """Count one charged (or refused) request of a key for today (UTC)."""
    with db.connection() as conn:
        conn.execute(
            "INSERT INTO quota_usage (api_key_id, day, kind, charged, refused) "
            "VALUES (%s, (now() AT TIME ZONE 'UTC')::date, %s, %s, %s) "
            "ON CONFLICT (api_key_id, day, kind) DO UPDATE SET "
            "charged = quota_usage.charged + excluded.charged, "
            "refused = quota_usage.refused + excluded.refused, last_at = now()",
            [api_key_id, kind, 0 if refused else 1, 1 if refused else 0])


@dataclass(frozen=True)
class Usage:
    """One key's requests of one kind on one day."""

    api_key_id: str
    name: str
    role: str
    day: date
    kind: str
    charged: int
    refused: int


def usage(conn, days: int, api_key_id: str | None = None) -> list[Usage]:
    """Per-key daily usage of the last `days` days (newest first)."""
    rows = conn.execute(
        "SELECT u.api_key_id, k.name, k.role, u.day, u.kind, u.charged, u.refused "
        "FROM quota_usage u JOIN api_keys k ON k.id = u.api_key_id "
        "WHERE u.day > (now() AT TIME ZONE 'UTC')::date - %s "
        "AND (%s::text IS NULL OR u.api_key_id = %s) "
        "ORDER BY u.day DESC, k.name, u.kind", [days, api_key_id, api_key_id]).fetchall()
    return [Usage(*row) for row in rows]
