"""Settings of the citizen services (AMANAT_CITIZENS_*), read only when instantiated."""
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from kernel.settings import PackageSettings


class CitizenSettings(PackageSettings):
    """The Amana that answers, and the bounds on what one address may send or ask."""

    model_config = SettingsConfigDict(env_prefix="AMANAT_CITIZENS_", populate_by_name=True)

    jurisdiction_id: str = Field("eamana.gov.sa", min_length=1, max_length=100)
    amana_ar: str = "أمانة المنطقة الشرقية"
    amana_en: str = "Eastern Province Amana"
    contact: str = "940 — https://eamana.gov.sa"
    # accepted reports per submitter address and window (a flood is a 429 after that)
    reports_per_window: int = Field(10, ge=1, le=100_000)
    report_window_s: int = Field(3600, ge=1, le=86_400)
    # status lookups per address and window (/track: against enumeration of numbers)
    lookups_per_window: int = Field(30, ge=1, le=100_000)
    lookup_window_s: int = Field(60, ge=1, le=86_400)
    page_size: int = Field(100, ge=1, le=1000)          # GET requests default page size
    max_form_bytes: int = Field(64 << 10, ge=1024, le=1 << 20)   # a POST body
