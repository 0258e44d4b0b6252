"""The `limits` library's counters kept in PostgreSQL (table quota_counters, migration 0013).

limits ships storages for memory, Redis, Memcached, MongoDB and etcd. The platform already has
one shared service every process reaches, PostgreSQL; a counter there is one upsert (~0.2 ms on
this machine), shared by every worker process and host, and survives a restart. So this is a
`limits.storage.Storage` over our pool: the library keeps the strategy (fixed windows, keys,
expiries), we keep the rows. `quota_usage` adds per-key daily totals for admins.
"""
from __future__ import annotations

import itertools
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

import psycopg
from limits.storage import Storage

from layers.database import Database

LOGGER = logging.getLogger(__name__)
PRUNE_EVERY = 1000   # every so many increments, expired windows are deleted

INCR = """
INSERT INTO quota_counters AS c (key, hits, expires_at)
VALUES (%(key)s, %(amount)s, clock_timestamp() + make_interval(secs => %(expiry)s))
ON CONFLICT (key) DO UPDATE SET
  hits = CASE WHEN c.expires_at <= clock_timestamp() THEN excluded.hits
              ELSE c.hits + excluded.hits END,
  expires_at = CASE WHEN c.expires_at <= clock_timestamp() THEN excluded.expires_at
                    ELSE c.expires_at END
RETURNING hits, extract(epoch FROM expires_at)::float8
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

    def add(self, key: str, expiry: int, amount: int) -> tuple[int, float]:
        """Add `amount` to the window of `key` (a new window when it expired): its count and
        when it ends (epoch seconds)."""
        with self.db.connection() as conn:
            if next(self._increments) % PRUNE_EVERY == PRUNE_EVERY - 1:
                conn.execute("DELETE FROM quota_counters WHERE expires_at < clock_timestamp()")
            hits, ends = conn.execute(INCR, {"key": key, "amount": amount,
                                             "expiry": int(expiry)}).fetchone()
            return hits, ends

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add `amount` to the window of `key`; the count."""
        return self.add(key, expiry, amount)[0]

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


@dataclass
class _Window:
    """What one process knows of a window: the shared count at the last sync, its own hits
    since, when the window ends, when it last synced."""

    shared: int = 0
    pending: int = 0
    ends: float = 0.0
    synced: float = float("-inf")
    syncing: bool = False


class BufferedStorage(Storage):
    """PostgresStorage counted in memory and synced in the background: a window seen for the
    first time at once, then its pending hits every `interval_s`. A charged request costs no
    round trip and never waits for the database. Each process adds its own hits at once and
    the others' at the next sync, so a client can exceed its quota by what the other processes
    let through in one interval (and in a window's first request to each of them)."""

    STORAGE_SCHEME: ClassVar[list[str]] = ["amanat+postgresql-buffered"]
    MAX_WINDOWS = 100_000
    IDLE_S = 60.0          # the background thread ends after this long with nothing to sync

    def __init__(self, backend: PostgresStorage, interval_s: float):
        """Sync with `backend` every `interval_s` seconds."""
        super().__init__()
        self.backend, self.interval_s = backend, interval_s
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()
        self._syncer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="quota-sync")
        self._ticker: threading.Thread | None = None

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        """What the backend raises."""
        return self.backend.base_exceptions

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Count locally (a window seen for the first time is synced at once, in the
        background)."""
        now = time.time()
        with self._lock:
            window = self._windows.get(key)
            if window is None or now >= window.ends:
                if len(self._windows) >= self.MAX_WINDOWS:
                    self._forget_ended(now)
                window = self._windows[key] = _Window(ends=now + expiry)
            window.pending += amount
            count = window.shared + window.pending
            if not window.syncing and window.synced == float("-inf"):   # first seen
                window.syncing = True
                self._syncer.submit(self._sync, key, window, expiry)
            if self._ticker is None:
                self._ticker = threading.Thread(target=self._tick, name="quota-ticker",
                                                daemon=True)
                self._ticker.start()
        return count

    def _tick(self) -> None:
        """Every interval, sync the windows with pending hits; end when idle for a while."""
        idle_since = time.monotonic()
        while True:
            time.sleep(self.interval_s)
            with self._lock:
                due = [(key, window, window.ends) for key, window in self._windows.items()
                       if window.pending and not window.syncing]
                for _, window, _ in due:
                    window.syncing = True
                if not due and time.monotonic() - idle_since > self.IDLE_S:
                    self._ticker = None
                    return
            if due:
                idle_since = time.monotonic()
            for key, window, ends in due:
                self._syncer.submit(self._sync, key, window, max(1, int(ends - time.time())))

    def _sync(self, key: str, window: _Window, expiry: int) -> None:
        """Send the pending hits of a window and learn the shared count."""
        with self._lock:
            amount, window.pending = window.pending, 0
        try:
            hits, ends = self.backend.add(key, expiry, amount)
        except Exception:
            LOGGER.warning("quota sync failed; counting locally", exc_info=True)
            with self._lock:
                window.pending += amount
                window.syncing, window.synced = False, time.monotonic()
            return
        with self._lock:
            window.shared, window.ends = hits, ends
            window.syncing, window.synced = False, time.monotonic()

    def _forget_ended(self, now: float) -> None:
        """Drop the windows that ended (the lock is held)."""
        for key in [k for k, w in self._windows.items() if w.ends <= now and not w.syncing]:
            del self._windows[key]

    def get(self, key: str) -> int:
        """The count as this process knows it."""
        with self._lock:
            window = self._windows.get(key)
            if window is not None and time.time() < window.ends:
                return window.shared + window.pending
        return self.backend.get(key)

    def get_expiry(self, key: str) -> float:
        """When the window ends."""
        with self._lock:
            window = self._windows.get(key)
            if window is not None:
                return max(window.ends, time.time())
        return self.backend.get_expiry(key)

    def check(self) -> bool:
        """Whether the backend is healthy."""
        return self.backend.check()

    def reset(self) -> int | None:
        """Forget every window, here and in the backend."""
        with self._lock:
            self._windows.clear()
        return self.backend.reset()

    def clear(self, key: str) -> None:
        """Forget one window, here and in the backend."""
        with self._lock:
            self._windows.pop(key, None)
        self.backend.clear(key)

    def flush(self, timeout_s: float = 5.0) -> None:
        """Wait until the background syncs submitted so far are done (tests, shutdown)."""
        self._syncer.submit(lambda: None).result(timeout=timeout_s)


def record_usage(db: Database, api_key_id: str, kind: str, charged: int, refused: int
                 ) -> None:
    """Add charged and refused requests of a key to today's (UTC) usage."""
    with db.connection() as conn:
        conn.execute(
            "INSERT INTO quota_usage (api_key_id, day, kind, charged, refused) "
            "VALUES (%s, (now() AT TIME ZONE 'UTC')::date, %s, %s, %s) "
            "ON CONFLICT (api_key_id, day, kind) DO UPDATE SET "
            "charged = quota_usage.charged + excluded.charged, "
            "refused = quota_usage.refused + excluded.refused, last_at = now()",
            [api_key_id, kind, charged, refused])


class UsageBuffer:
    """Per-key usage added up in memory and written by one background thread: at most one
    write in flight, whatever the request rate (each write carries every count since the
    last)."""

    def __init__(self, db: Database):
        """Write to `db`."""
        self.db = db
        self._counts: dict[tuple[str, str], list[int]] = {}
        self._lock = threading.Lock()
        self._busy = False
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="quota-usage")

    def add(self, api_key_id: str, kind: str, refused: bool) -> None:
        """Count one request; start a write unless one is under way."""
        with self._lock:
            counts = self._counts.setdefault((api_key_id, kind), [0, 0])
            counts[1 if refused else 0] += 1
            if self._busy:
                return
            self._busy = True
        self._writer.submit(self._write)

    def _write(self) -> None:
        """Write everything counted so far (kept for the next write on failure)."""
        with self._lock:
            counts, self._counts = list(self._counts.items()), {}
        try:
            while counts:
                (api_key_id, kind), (charged, refused) = counts[0]
                record_usage(self.db, api_key_id, kind, charged, refused)
                counts.pop(0)
        except Exception:
            LOGGER.warning("quota usage not written; kept for later", exc_info=True)
            with self._lock:   # what was not written waits for the next write
                for key, (charged, refused) in counts:
                    kept = self._counts.setdefault(key, [0, 0])
                    kept[0] += charged
                    kept[1] += refused
        finally:
            with self._lock:
                self._busy = False

    def flush(self, timeout_s: float = 5.0) -> None:
        """Wait for the write under way (tests)."""
        self._writer.submit(lambda: None).result(timeout=timeout_s)


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
