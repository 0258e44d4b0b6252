"""What the checks of one process use: settings, the validated rules file and the signing key.

pygeoapi instantiates process plugins and the job manager itself, from its configuration, so they
cannot be handed objects; create_app (or `amanat worker`) calls `configure(settings)` once and
they read `current()`. Nothing is loaded at import time; a bad rules file fails `configure`.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from processing import certificates, rules
from processing.errors import RulesFileError

_lock = threading.Lock()
_current: Runtime | None = None


@dataclass(frozen=True)
class Runtime:
    """The configured pieces of the permit checks."""

    dsn: str
    base_url: str
    ruleset: rules.RuleSet
    signer: certificates.Signer
    stalled_after_s: float
    heartbeat_s: float
    batch_timeout_ms: int
    concurrency: int

    @property
    def ogc_url(self) -> str:
        """Base URL of the OGC API (jobs and processes live under it)."""
        return f"{self.base_url}/ogc"


def build(settings) -> Runtime:
    """Load and validate what the settings name (RulesFileError on a bad rules file)."""
    conf = settings.processing
    ruleset = rules.load_for(conf.rules_dir, conf.municipality)
    signer = certificates.load_or_create_key(conf.key_path(settings.server.state_dir))
    return Runtime(dsn=settings.database.dsn, base_url=settings.server.base_url,
                   ruleset=ruleset, signer=signer, stalled_after_s=conf.stalled_after_s,
                   heartbeat_s=conf.heartbeat_s, batch_timeout_ms=conf.batch_timeout_ms,
                   concurrency=conf.worker_concurrency)


def configure(settings) -> Runtime:
    """Build the runtime of this process from settings and make it current."""
    global _current
    runtime = build(settings)
    with _lock:
        _current = runtime
    return runtime


def current() -> Runtime:
    """The runtime set by configure (RuntimeError if the process was not configured)."""
    if _current is None:
        raise RuntimeError("processing is not configured (call processing.runtime.configure)")
    return _current


__all__ = ["Runtime", "build", "configure", "current", "RulesFileError"]
