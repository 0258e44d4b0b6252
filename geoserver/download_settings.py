"""Settings of downloads (feature budgets) and quotas, part of the application's Settings."""
from __future__ import annotations

from limits import parse
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

STAFF = ("office", "inspector", "analyst", "admin", "service-agent")


class DownloadSettings(BaseSettings):
    """Feature budgets of filtered downloads per client class (no `limit` applies to them)."""

    model_config = SettingsConfigDict(env_prefix="AMANAT_DOWNLOAD_", populate_by_name=True)

    anonymous_features: int = Field(50_000, ge=1)       # no credentials
    researcher_features: int = Field(1_000_000, ge=1)   # `researcher` API keys
    staff_features: int = Field(5_000_000, ge=1)        # any other signed-in role
    # CSV / GeoJSONSeq streams at once per process: each holds a pooled connection while the
    # client reads (the pool has 8 by default); one more is a 429 with Retry-After
    streams_per_process: int = Field(3, ge=1, le=64)

    def budget(self, principal) -> int:
        """The feature budget of a caller."""
        if principal.is_public:
            return self.anonymous_features
        if not principal.has(*STAFF):
            return self.researcher_features
        return self.staff_features


class QuotaSettings(BaseSettings):
    """Quotas per client class, in the `limits` notation (`N/second|minute|hour|day`)."""

    model_config = SettingsConfigDict(env_prefix="AMANAT_QUOTA_", populate_by_name=True)

    anonymous_reads: str = "600/minute"       # per address
    anonymous_downloads: str = "60/minute"
    researcher_reads: str = "6000/minute"     # per researcher key
    researcher_downloads: str = "600/minute"
    # each process counts in memory and syncs a window with PostgreSQL at most this often
    # (seconds); 0: every charged request is one round trip (exact, slower)
    sync_s: float = Field(0.25, ge=0, le=60)

    @field_validator("anonymous_reads", "anonymous_downloads", "researcher_reads",
                     "researcher_downloads")
    @classmethod
    def _limit(cls, value: str) -> str:
        """A limit string the library parses."""
        parse(value)
        return value
