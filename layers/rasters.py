"""The raster registry: the datasets served under /raster, addressed by id only.

A row names a Cloud-Optimized GeoTIFF inside the raster store by file name; nothing a client
sends is ever turned into a path. The functions take an open psycopg connection.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
KINDS = ("orthophoto", "elevation", "hillshade", "imagery")
SOURCES = ("sample", "added")

_COLUMNS = ("id, title, kind, file, source, band_count, dtype, crs, resolution_m, minzoom,"
            " maxzoom, nodata, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom)")


@dataclass(frozen=True)
class Raster:
    """One registered dataset."""

    id: str
    title: str
    kind: str
    file: str
    source: str
    band_count: int
    dtype: str
    crs: str
    resolution_m: float
    minzoom: int
    maxzoom: int
    nodata: float | None
    bounds: tuple[float, float, float, float]   # lon/lat: west, south, east, north

    @classmethod
    def from_row(cls, row: tuple) -> Raster:
        """Build from a row selected with _COLUMNS."""
        return cls(*row[:12], bounds=tuple(row[12:16]))


def is_valid_id(value: str) -> bool:
    """Whether `value` can be a dataset id (lower-case letters, digits, '-' and '_')."""
    return bool(ID_PATTERN.match(value))


def list_rasters(conn: psycopg.Connection) -> list[Raster]:
    """All registered datasets, by id."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM rasters ORDER BY id").fetchall()
    return [Raster.from_row(row) for row in rows]


def get_raster(conn: psycopg.Connection, raster_id: str) -> Raster | None:
    """The dataset registered under `raster_id`, or None."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM rasters WHERE id = %s", [raster_id]).fetchone()
    return Raster.from_row(row) if row else None


def save_raster(conn: psycopg.Connection, raster: Raster) -> str | None:
    """Register `raster` (replacing a dataset of the same id); return the replaced file name."""
    with conn.transaction():
        old = conn.execute("SELECT file FROM rasters WHERE id = %s FOR UPDATE",
                           [raster.id]).fetchone()
        conn.execute(
            "INSERT INTO rasters (id, title, kind, file, source, band_count, dtype, crs,"
            " resolution_m, minzoom, maxzoom, nodata, geom)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
            "  ST_MakeEnvelope(%s, %s, %s, %s, 4326))"
            " ON CONFLICT (id) DO UPDATE SET title = excluded.title, kind = excluded.kind,"
            "  file = excluded.file, source = excluded.source,"
            "  band_count = excluded.band_count, dtype = excluded.dtype, crs = excluded.crs,"
            "  resolution_m = excluded.resolution_m, minzoom = excluded.minzoom,"
            "  maxzoom = excluded.maxzoom, nodata = excluded.nodata, geom = excluded.geom,"
            "  added_at = now()",
            [raster.id, raster.title, raster.kind, raster.file, raster.source, raster.band_count,
             raster.dtype, raster.crs, raster.resolution_m, raster.minzoom, raster.maxzoom,
             raster.nodata, *raster.bounds])
    return old[0] if old and old[0] != raster.file else None


def remove_raster(conn: psycopg.Connection, raster_id: str) -> Raster | None:
    """Unregister a dataset; return what was removed, or None when there was none."""
    row = conn.execute(f"DELETE FROM rasters WHERE id = %s RETURNING {_COLUMNS}",
                       [raster_id]).fetchone()
    return Raster.from_row(row) if row else None


def register_file(dsn: str, store: Path, cog_path: Path, raster_id: str, title: str, kind: str,
                  source: str) -> Raster:
    """Move a finished COG into the store, register it, and delete the file it replaces."""
    from layers import cog

    if not is_valid_id(raster_id):
        raise ValueError(f"invalid dataset id {raster_id!r} (a-z, 0-9, '-', '_'; 63 at most)")
    info = cog.describe(cog_path)
    name = cog.copy_into(store, raster_id, cog_path)
    raster = Raster(raster_id, title, kind, name, source, info.band_count, info.dtype, info.crs,
                    info.resolution_m, info.minzoom, info.maxzoom, info.nodata, info.bounds)
    with psycopg.connect(dsn, autocommit=True) as conn:
        replaced = save_raster(conn, raster)
    if replaced:
        (store / replaced).unlink(missing_ok=True)
    return raster


def raster_store(settings) -> Path:
    """Where the registered COGs are kept: the state directory's rasters/."""
    return settings.server.state_dir / "rasters"
