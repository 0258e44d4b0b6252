"""Settings of the data layer: where the database is and how many connections a process holds."""
from psycopg.conninfo import conninfo_to_dict
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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
