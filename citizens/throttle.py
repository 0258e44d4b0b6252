"""Per-key counters in fixed windows (table citizen_throttle), kept in PostgreSQL so every
worker process counts together: floods of reports and of status lookups from one address."""
from __future__ import annotations

from citizens.errors import TooManyReports

HIT = """
INSERT INTO citizen_throttle AS t (key, window_start, hits)
VALUES (%(key)s, to_timestamp(floor(extract(epoch FROM now()) / %(w)s) * %(w)s), 1)
ON CONFLICT (key, window_start) DO UPDATE SET hits = t.hits + 1
RETURNING hits, ceil(extract(epoch FROM t.window_start + make_interval(secs => %(w)s) - now()))
"""
FORGET = "DELETE FROM citizen_throttle WHERE key = %s AND window_start < now() - make_interval(secs => %s)"
# windows of other keys that ended a day ago, a few at a time (the table stays small)
SWEEP = ("DELETE FROM citizen_throttle WHERE ctid = ANY(ARRAY(SELECT ctid FROM citizen_throttle "
         "WHERE window_start < now() - interval '2 days' LIMIT 50))")
DIGEST = ("SELECT encode(sha256(salt || convert_to(%s, 'UTF8')), 'hex') FROM citizen_salt")


def digest(conn, address: str) -> str:
    """The salted SHA-256 of a client address (the same address, the same digest)."""
    return conn.execute(DIGEST, [address]).fetchone()[0]


def hit(conn, key: str, window_s: int, limit: int, what: tuple[str, str]) -> None:
    """Count one use of `key` in the current window; TooManyReports past `limit` (in a
    transaction, the refused hit is rolled back with the rest). `what` names the use (en, ar)."""
    hits, left = conn.execute(HIT, {"key": key, "w": window_s}).fetchone()
    if hits == 1:
        conn.execute(FORGET, [key, window_s])
        conn.execute(SWEEP)
    if hits > limit:
        raise TooManyReports(
            int(left or 1), f"too many {what[0]} from this address; retry in {int(left or 1)} s",
            f"{what[1]} كثيرة من هذا العنوان؛ أعد المحاولة بعد {int(left or 1)} ثانية")
