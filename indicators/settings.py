"""Settings of the expiry notices (AMANAT_EXPIRY_*), read only when instantiated."""
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from kernel.settings import PackageSettings


class ExpirySettings(PackageSettings):
    """Where expiry notices are sent from and to; no SMTP host: notices stay queued."""

    model_config = SettingsConfigDict(env_prefix="AMANAT_EXPIRY_", populate_by_name=True)

    smtp_host: str | None = None
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_s: float = Field(10.0, gt=0, le=120)
    sender: str = "amanat@localhost"
    office_emails: dict[str, str] = Field(default_factory=dict)   # office code → address
