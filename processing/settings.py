"""Settings of the permit checks: rules file, certificate key, job workers."""
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from kernel.settings import ROOT


class ProcessingSettings(BaseSettings):
    """Permit checks: rules file, certificate key, job workers."""

    model_config = SettingsConfigDict(env_prefix="AMANAT_PROCESSING_", populate_by_name=True)

    rules_dir: Path = ROOT / "processing" / "rules"
    municipality: str = Field("dammam", pattern=r"^[a-z][a-z0-9_-]{1,40}$")  # <rules_dir>/<it>.yml
    signing_key: Path | None = None              # Ed25519 JWK; default <state_dir>/keys/...
    worker_concurrency: int = Field(1, ge=1, le=32)
    heartbeat_s: float = Field(5.0, gt=0, le=300)
    stalled_after_s: float = Field(30.0, gt=0, le=3600)   # a worker silent this long is dead
    batch_timeout_ms: int = Field(600_000, ge=1000, le=86_400_000)

    def key_path(self, state_dir: Path) -> Path:
        """Where the certificate signing key lives."""
        return self.signing_key or state_dir / "keys" / "certificates-ed25519.jwk"
