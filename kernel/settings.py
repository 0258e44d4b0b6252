"""Settings base types: each package declares its own settings classes on these; the
application's `geoserver.settings.Settings` only composes them."""
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent   # the checkout: rules, templates, var/


class PackageSettings(BaseSettings):
    """Settings of one concern, read from AMANAT_* variables only when instantiated."""

    model_config = SettingsConfigDict(populate_by_name=True)
