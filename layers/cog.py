"""Cloud-Optimized GeoTIFFs: conversion (GDAL's COG driver through rasterio) and inspection."""
from __future__ import annotations

import hashlib
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.enums import MaskFlags
from rasterio.io import MemoryFile
from rasterio.warp import transform_bounds
from rasterio.windows import Window
from tqdm import tqdm

STRIP_ROWS = 512                 # rows copied at a time in the first conversion stage
COPY_SHARE = 45                  # percent of the progress bar given to that stage
EARTH_M_PER_DEG = 111_320.0


class RasterFileError(Exception):
    """A file that cannot be served as a raster dataset (not a raster, no georeferencing...)."""


@dataclass(frozen=True)
class Description:
    """What the registry needs to know about a COG."""

    band_count: int
    dtype: str
    crs: str
    resolution_m: float
    minzoom: int
    maxzoom: int
    nodata: float | None
    bounds: tuple[float, float, float, float]


def creation_options(dtype: str, band_count: int, kind: str) -> dict[str, str]:
    """COG driver options: JPEG for 8-bit RGB photos, lossless DEFLATE for everything else."""
    options = {"BLOCKSIZE": "512", "BIGTIFF": "IF_SAFER", "NUM_THREADS": "ALL_CPUS",
               "OVERVIEW_RESAMPLING": "AVERAGE"}
    if dtype == "uint8" and band_count == 3 and kind in ("orthophoto", "imagery"):
        return {**options, "COMPRESS": "JPEG", "QUALITY": "88"}
    return {**options, "COMPRESS": "DEFLATE", "PREDICTOR": "YES", "LEVEL": "6"}


def digest(path: Path) -> str:
    """First 16 hex digits of the SHA-256 of a file."""
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()[:16]


def _open_checked(path: Path):
    """Open `path` with rasterio, refusing files without georeferencing."""
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError:
        raise RasterFileError(f"{path.name} is not a raster file GDAL can read") from None
    if src.crs is None or src.transform.is_identity:
        src.close()
        raise RasterFileError(f"{path.name} has no georeferencing (CRS and geotransform)")
    return src


def describe(path: Path) -> Description:
    """Bands, type, CRS, resolution, WebMercatorQuad zoom range and lon/lat bounds of a raster."""
    from rio_tiler.io import Reader

    with _open_checked(path) as src:
        bounds = transform_bounds(src.crs, "EPSG:4326", *src.bounds, densify_pts=21)
        resolution = abs(src.res[0])
        if src.crs.is_geographic:
            resolution *= EARTH_M_PER_DEG * math.cos(math.radians((bounds[1] + bounds[3]) / 2))
        with Reader(str(path), dataset=src) as reader:
            minzoom, maxzoom = reader.minzoom, reader.maxzoom
        nodata = None if src.nodata is None or math.isnan(src.nodata) else float(src.nodata)
        return Description(src.count, src.dtypes[0], src.crs.to_string(), round(resolution, 4),
                           int(minzoom), int(maxzoom), nodata,
                           tuple(round(v, 7) for v in bounds))


def is_cog(path: Path) -> bool:
    """Whether GDAL reports the file as laid out as a Cloud-Optimized GeoTIFF."""
    with _open_checked(path) as src:
        return src.driver == "GTiff" and src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"


def to_cog(source: Path, target: Path, kind: str, progress: bool = True) -> None:
    """Write `source` as a COG at `target` (atomically), showing a progress bar."""
    part = target.with_name(target.name + ".part")
    with tqdm(total=100, unit="%", desc=f"{source.name} -> COG", disable=not progress,
              bar_format="{l_bar}{bar}| {n:.0f}/{total}% [{elapsed}]") as bar:
        try:
            if is_cog(source):
                _copy_file(source, part, bar)
            else:
                _convert(source, part, kind, bar)
            os.replace(part, target)
        finally:
            part.unlink(missing_ok=True)
        bar.update(bar.total - bar.n)


def _copy_file(source: Path, target: Path, bar: tqdm) -> None:
    """Byte copy of a file that already is a COG."""
    size = max(source.stat().st_size, 1)
    with source.open("rb") as src, target.open("wb") as dst:
        for chunk in iter(lambda: src.read(1 << 22), b""):
            dst.write(chunk)
            bar.update(100 * len(chunk) / size)


def _convert(source: Path, target: Path, kind: str, bar: tqdm) -> None:
    """Stage 1: strips into a tiled GeoTIFF (progress by rows); stage 2: GDAL's COG driver."""
    staged = target.with_name(target.name + ".stage.tif")
    try:
        with _open_checked(source) as src:
            profile = {**src.profile, "driver": "GTiff", "tiled": True, "blockxsize": 512,
                       "blockysize": 512, "compress": "LZW", "BIGTIFF": "IF_SAFER"}
            profile.pop("photometric", None)
            options = creation_options(src.dtypes[0], src.count, kind)
            with rasterio.open(staged, "w", **profile) as dst:
                dst.update_tags(**src.tags())
                _copy_strips(src, dst, bar)
        bar.set_postfix_str("writing COG")
        rasterio.shutil.copy(staged, target, driver="COG", **options)
    finally:
        staged.unlink(missing_ok=True)


def _copy_strips(src, dst, bar: tqdm) -> None:
    """Copy pixels (and the mask, if any) strip by strip."""
    share = COPY_SHARE / max(1, math.ceil(src.height / STRIP_ROWS))
    masked = any(MaskFlags.per_dataset in flags for flags in src.mask_flag_enums)
    for row in range(0, src.height, STRIP_ROWS):
        window = Window(0, row, src.width, min(STRIP_ROWS, src.height - row))
        dst.write(src.read(window=window), window=window)
        if masked:
            dst.write_mask(src.dataset_mask(window=window), window=window)
        bar.update(share)


def write_array_cog(array: np.ndarray, profile: dict, target: Path, kind: str) -> None:
    """Write a (bands, rows, cols) array with a rasterio profile (crs, transform) as a COG."""
    bands, height, width = array.shape
    base = {"driver": "GTiff", "count": bands, "height": height, "width": width,
            "dtype": str(array.dtype), **profile}
    part = target.with_name(target.name + ".part")
    try:
        with MemoryFile() as memory:
            with memory.open(**base) as dst:
                dst.write(array)
            with memory.open() as src:
                rasterio.shutil.copy(src, part, driver="COG",
                                     **creation_options(str(array.dtype), bands, kind))
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)


def copy_into(store: Path, raster_id: str, cog: Path) -> str:
    """Move a finished COG into the store under a content-named file; return the file name."""
    name = f"{raster_id}.{digest(cog)}.tif"
    store.mkdir(parents=True, exist_ok=True)
    if (store / name).exists():
        cog.unlink()
    else:
        shutil.move(str(cog), store / name)
    return name
