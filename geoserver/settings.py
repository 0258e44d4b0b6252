"""Settings, one small class per concern, read from the environment only when asked."""
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from geoserver.limits import LimitSettings

ROOT = Path(__file__).resolve().parent.parent


class DatabaseSettings(BaseSettings):
    """Where the data lives and how many connections a process may hold."""

    model_config = SettingsConfigDict(env_prefix="AMANAT_DB_", populate_by_name=True)

    url: SecretStr = Field(validation_alias="DATABASE_URL")
    pool_min: int = Field(1, ge=0, le=64)
    pool_max: int = Field(8, ge=1, le=256)
    pool_timeout_s: float = Field(3.0, gt=0, le=60)
    statement_timeout_ms: int = Field(15000, ge=100, le=600_000)

    @field_validator("url")
    @classmethod
    def _postgresql_url(cls, value: SecretStr) -> SecretStr:
        """Accept only PostgreSQL URLs that libpq can parse."""
        raw = value.get_secret_value()
        if not raw.startswith(("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql://")
        try:
            params = conninfo_to_dict(raw)
        except Exception:
            raise ValueError("is not a valid PostgreSQL connection URL") from None
        port = params.get("port", "5432")
        if not (port.isdigit() and 0 < int(port) < 65536):
            raise ValueError(f"port {port!r} is not a TCP port")
        return value

    @property
    def dsn(self) -> str:
        """The connection URL as a plain string (for drivers only; never log it)."""
        return self.url.get_secret_value()


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


class PanoramaSettings(BaseSettings):
    """How panoramas are ingested (sequences, tiles, privacy) and looked up."""

    model_config = SettingsConfigDict(env_prefix="AMANAT_PANORAMA_", populate_by_name=True)

    tile_size: int = Field(512, ge=128, le=2048)
    max_width: int = Field(8192, ge=1024, le=32768)        # width of the most detailed level
    preview_width: int = Field(512, ge=256, le=4096)
    jpeg_quality: int = Field(85, ge=50, le=100)
    sequence_gap_s: float = Field(60.0, gt=0, le=86400)    # a longer pause starts a new sequence
    sequence_gap_m: float = Field(60.0, gt=0, le=10000)    # so does a longer jump
    camera_timezone: str = "Asia/Riyadh"                   # for EXIF times without an offset
    workers: int = Field(2, ge=1, le=64)                   # images processed at once at ingest
    neighbour_radius_m: float = Field(60.0, gt=0, le=500)
    neighbour_band_m: float = Field(10.0, gt=0, le=100)    # "equally near" within this distance

    @field_validator("tile_size")
    @classmethod
    def _power_of_two(cls, value: int) -> int:
        """Tiles are cut on power-of-two grids."""
        if value & (value - 1):
            raise ValueError("must be a power of two")
        return value

    @field_validator("camera_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        """An IANA time zone name."""
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(value)
        except Exception:
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


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

    @classmethod
    def from_env(cls) -> "Settings":
        """Read settings from the environment (DATABASE_URL, PORT, PUBLIC_URL, AMANAT_*)."""
        return cls(database=DatabaseSettings(), server=ServerSettings())

