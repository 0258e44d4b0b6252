"""The application's settings: the per-package classes (layers, panoramas, processing) and the
HTTP edge's own (server, imagery, sign-on, editing, limits), composed; read from the environment
only when asked."""
from pathlib import Path

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from geoserver.download_settings import DownloadSettings, QuotaSettings
from geoserver.limits import LimitSettings
from kernel.settings import ROOT
from layers.settings import DatabaseSettings
from panoramas.settings import PanoramaSettings
from processing.settings import ProcessingSettings

__all__ = ["Settings", "DatabaseSettings", "ServerSettings", "ImagerySettings",
           "PanoramaSettings", "ProcessingSettings", "AuthSettings", "EditingSettings",
           "LimitSettings", "DownloadSettings", "QuotaSettings", "ROOT"]


class ServerSettings(BaseSettings):
    """How the server is reached."""

    model_config = SettingsConfigDict(env_prefix="AMANAT_", populate_by_name=True)

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535, validation_alias="PORT")
    public_url: str | None = Field(None, validation_alias="PUBLIC_URL")
    workers: int = Field(1, ge=1, le=64)
    state_dir: Path = ROOT / "var"

    @property
    def base_url(self) -> str:
        """The URL clients use to reach this server (links in responses are built on it)."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


class ImagerySettings(BaseSettings):
    """How rasters are served: caching, registry refresh, zoom limits."""

    model_config = SettingsConfigDict(env_prefix="AMANAT_IMAGERY_", populate_by_name=True)

    tile_cache_mb: int = Field(64, ge=0, le=8192)          # rendered tiles kept per worker; 0: off
    max_age_s: int = Field(3600, ge=0, le=31_536_000)      # Cache-Control of raster responses
    registry_ttl_s: float = Field(5.0, ge=0, le=3600)      # a worker re-reads the registry after
    overzoom: int = Field(2, ge=0, le=6)                   # zoom levels served past full resolution


class AuthSettings(BaseSettings):
    """Sign-on: the embedded local issuer and, optionally, an external OpenID Connect provider."""

    model_config = SettingsConfigDict(env_prefix="AMANAT_AUTH_", populate_by_name=True)

    local_issuer: str = Field("urn:amanat:local", min_length=1)   # `iss` of `amanat users` tokens
    audience: str = Field("amanat", min_length=1)                  # `aud` of local tokens
    local_key: Path | None = None            # ES256 private JWK; default <state_dir>/keys/...
    token_days: int = Field(30, ge=1, le=366)  # lifetime of tokens printed by `amanat users`
    oidc_issuer: str | None = None           # e.g. https://sso.example.gov.sa/realms/amana
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None         # fetched, cached jwks_ttl_s, refetched on a new kid
    oidc_algorithms: list[str] = ["RS256", "PS256", "ES256"]
    oidc_roles_claim: str = "roles"          # dotted path, e.g. realm_access.roles
    oidc_office_claim: str = "office"
    jwks_ttl_s: float = Field(300.0, ge=1, le=86400)
    jwks_min_refresh_s: float = Field(30.0, ge=0, le=3600)   # between fetches for unknown kids
    leeway_s: int = Field(30, ge=0, le=300)  # clock skew tolerated on exp / nbf / iat
    # browser sign-in (POST /auth/token, geoserver/signin.py)
    session_hours: int = Field(8, ge=1, le=168)              # lifetime of a sign-in token
    signin_window_s: int = Field(900, ge=1, le=86400)        # failures are counted this long
    signin_failures_per_name: int = Field(5, ge=1, le=1000)  # then 429 for that user name
    signin_failures_per_client: int = Field(20, ge=1, le=100_000)  # then 429 for that address
    signin_concurrency: int = Field(2, ge=1, le=64)   # password checks at once (64 MiB each)

    def key_path(self, state_dir: Path) -> Path:
        """Where the local issuer's signing key lives."""
        return self.local_key or state_dir / "keys" / "auth-es256.jwk"

    @property
    def oidc_enabled(self) -> bool:
        """Whether an external provider is configured."""
        return bool(self.oidc_issuer)

    @field_validator("oidc_algorithms")
    @classmethod
    def _asymmetric_only(cls, value: list[str]) -> list[str]:
        """Public-key algorithms only: `none` and shared-secret HS* are refused."""
        allowed = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                   "ES512", "EdDSA", "Ed25519"}
        bad = [alg for alg in value if alg not in allowed]
        if bad or not value:
            raise ValueError(f"unsupported algorithm(s) {bad}; use {sorted(allowed)}")
        return value

    @field_validator("oidc_jwks_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        """Keys come over HTTPS (plain HTTP only from this machine, for tests)."""
        from urllib.parse import urlsplit

        if value is None:
            return value
        parts = urlsplit(value)
        local = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and local):
            raise ValueError("must be an https:// URL")
        return value

    @model_validator(mode="after")
    def _oidc_complete(self) -> "AuthSettings":
        """An external provider needs all three of issuer, audience and JWKS URL."""
        given = [self.oidc_issuer, self.oidc_audience, self.oidc_jwks_url]
        if any(given) and not all(given):
            raise ValueError("set AMANAT_AUTH_OIDC_ISSUER, _AUDIENCE and _JWKS_URL together")
        return self


class EditingSettings(BaseSettings):
    """Limits on writes (OGC API Features Part 4): body sizes, photos."""

    model_config = SettingsConfigDict(env_prefix="AMANAT_EDIT_", populate_by_name=True)

    max_feature_bytes: int = Field(65536, ge=1024, le=1 << 20)   # a JSON feature (points only)
    max_photos: int = Field(5, ge=0, le=50)                      # per inspection
    max_photo_bytes: int = Field(5 << 20, ge=1024, le=50 << 20)
    max_photo_pixels: int = Field(40_000_000, ge=10_000, le=200_000_000)

    @property
    def max_upload_bytes(self) -> int:
        """Upper bound of a whole multipart inspection upload."""
        return self.max_feature_bytes + self.max_photos * (self.max_photo_bytes + 4096) + 8192


class Settings(BaseModel):
    """Everything the application needs, passed to create_app."""

    database: DatabaseSettings
    server: ServerSettings
    pygeoapi_config: Path = ROOT / "pygeoapi-config.yml"
    imagery: ImagerySettings = Field(default_factory=ImagerySettings)
    panoramas: PanoramaSettings = Field(default_factory=PanoramaSettings)
    processing: ProcessingSettings = Field(default_factory=ProcessingSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    editing: EditingSettings = Field(default_factory=EditingSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)   # geoserver/limits.py
    downloads: DownloadSettings = Field(default_factory=DownloadSettings)   # feature budgets
    quotas: QuotaSettings = Field(default_factory=QuotaSettings)   # geoserver/quotas.py

    @classmethod
    def from_env(cls) -> "Settings":
        """Read settings from the environment (DATABASE_URL, PORT, PUBLIC_URL, AMANAT_*)."""
        return cls(database=DatabaseSettings(), server=ServerSettings())

