"""Settings of the panoramas: ingest (sequences, tiles, privacy) and lookup."""
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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
