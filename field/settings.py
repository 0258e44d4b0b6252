"""Settings of the field app (AMANAT_FIELD_*), read only when instantiated."""
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from kernel.settings import PackageSettings


class FieldSettings(PackageSettings):
    """What the device does with photos, and how far "nearby" reaches."""

    model_config = SettingsConfigDict(env_prefix="AMANAT_FIELD_", populate_by_name=True)

    photo_max_edge: int = Field(1600, ge=320, le=8000)         # pixels, longest side
    photo_max_kib: int = Field(600, ge=50, le=20_000)          # after compression on the device
    nearby_radius_m: int = Field(800, ge=50, le=3000)          # default of ?near=
    area_zooms: tuple[int, int] = (14, 17)                     # tiles kept for offline use
