"""Layer versions kept in memory: one LISTEN connection per process instead of a query per request.

`layer_versions` holds a change counter per layer (bumped by a statement trigger, which also
sends NOTIFY layer_versions). A listener thread loads the table, then reloads it on every
notification. While the listener is not connected, `get` reads the table directly, so a
validator is never served from a copy that may be stale.
"""
import logging
import threading

import psycopg

from layers.database import Database

LOGGER = logging.getLogger(__name__)
CHANNEL = "layer_versions"
RETRY_S = 1.0


class LayerVersions:
    """(version, changed_at) per layer table, current within milliseconds of a commit."""

    def __init__(self, db: Database):
        """Nothing is connected until start()."""
        self.db, self.dsn = db, db.dsn
        self._versions: dict[str, tuple] = {}
        self._live = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the listener thread."""
        self._thread = threading.Thread(target=self._run, name="layer-versions", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening (returns within about a second)."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=3)

    def get(self, table: str):
        """(version, changed_at) of a layer, or None when the database cannot say."""
        if self._live:
            return self._versions.get(table)
        try:
            with self.db.connection() as conn:
                return conn.execute("SELECT version, changed_at FROM layer_versions "
                                    "WHERE layer = %s", [table]).fetchone()
        except Exception:  # any database trouble: no validator, the response is still served
            return None

    def _load(self, conn) -> None:
        """Read the whole table (a few rows)."""
        rows = conn.execute("SELECT layer, version, changed_at FROM layer_versions").fetchall()
        self._versions = {layer: (version, changed) for layer, version, changed in rows}

    def _run(self) -> None:
        """Listen, reload on each notification, reconnect after failures."""
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True, connect_timeout=3) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._load(conn)
                    self._live = True
                    while not self._stop.is_set():
                        if any(True for _ in conn.notifies(timeout=RETRY_S, stop_after=1)):
                            self._load(conn)
            except psycopg.Error as err:
                LOGGER.info("layer version listener: %s", err.__class__.__name__)
            self._live = False
            self._stop.wait(RETRY_S)
