"""What the checks of one application use: its database, the validated rules file and the
signing key.

create_app (or `amanat worker`) builds one with `build(settings, db)` and hands it on: to the
routes, and to the job manager and process plugins through the pygeoapi configuration they are
built from. Nothing is loaded at import time; a bad rules file fails `build`.
"""
from __future__ import annotations

from dataclasses import dataclass

from layers.database import Database
from processing import certificates, rules
from processing.errors import RulesFileError


@dataclass(frozen=True)
class Runtime:
    """The configured pieces of the permit checks."""

    db: Database | None          # None: only the rules and the key are wanted (checks)
    base_url: str
    ruleset: rules.RuleSet
    signer: certificates.Signer
    stalled_after_s: float
    heartbeat_s: float
    batch_timeout_ms: int
    concurrency: int

    def __deepcopy__(self, memo):
        """The same runtime (pygeoapi deep-copies the configuration that carries it)."""
        return self

    @property
    def dsn(self) -> str:
        """The database URL (for the job queue's own connections)."""
        return self.db.dsn

    @property
    def ogc_url(self) -> str:
        """Base URL of the OGC API (jobs and processes live under it)."""
        return f"{self.base_url}/ogc"


def build(settings, db: Database | None) -> Runtime:
    """Load and validate what the settings name (RulesFileError on a bad rules file)."""
    conf = settings.processing
    ruleset = rules.load_for(conf.rules_dir, conf.municipality)
    signer = certificates.load_or_create_key(conf.key_path(settings.server.state_dir))
    return Runtime(db=db, base_url=settings.server.base_url,
                   ruleset=ruleset, signer=signer, stalled_after_s=conf.stalled_after_s,
                   heartbeat_s=conf.heartbeat_s, batch_timeout_ms=conf.batch_timeout_ms,
                   concurrency=conf.worker_concurrency)


__all__ = ["Runtime", "build", "RulesFileError"]
