"""Imagery of the sample city: its rasters and panoramas, made when the city is loaded.

`needs_sample_imagery` tells whether a database holds the sample city without (all of) its
imagery in this state directory; a municipality's own data is never touched: the sample rasters
are recognised by their registry source, the untouched sample panoramas by the generator's
image references.
"""
from __future__ import annotations

import time
from pathlib import Path

import psycopg

from data import panoramas, rasters
from layers.rasters import list_rasters, raster_store
from panoramas.store import panorama_store

GENERATOR_REFS = r"^seq-[0-9]{3}/[0-9]{6}\.jpg$"     # image_ref of data.city's capture points
PRUNE_GRACE_S = 3600


def _store_paths(settings) -> tuple[Path, object]:
    """The raster store directory and the panorama store."""

    return raster_store(settings), panorama_store(settings)


def needs_sample_imagery(settings) -> bool:
    """Whether the database holds the sample city and some of its imagery is missing here."""
    raster_dir, store = _store_paths(settings)
    with psycopg.connect(settings.database.dsn) as conn:
        samples = [r for r in list_rasters(conn) if r.source == "sample"]
        if any(not (raster_dir / r.file).is_file() for r in samples):
            return True
        untouched = conn.execute("SELECT EXISTS (SELECT 1 FROM panoramas WHERE image_ref ~ %s)",
                                 [GENERATOR_REFS]).fetchone()[0]
        if untouched:
            return True
        if not samples:
            return False
        refs = [row[0] for row in conn.execute("SELECT image_ref FROM panoramas")]
    return any(not store.has(ref) for ref in refs)


def _sample_rasters_wanted(settings, force: bool) -> bool:
    """Regenerate the sample rasters unless all are registered with their files present."""
    raster_dir, _ = _store_paths(settings)
    with psycopg.connect(settings.database.dsn) as conn:
        registered = {r.id: r for r in list_rasters(conn)}
    wanted = [registered.get(raster_id) for raster_id, _, _ in rasters.SAMPLES]
    if any(r is not None and r.source != "sample" for r in wanted):
        return False      # the municipality registered its own dataset under a sample id
    return force or any(r is None or not (raster_dir / r.file).is_file() for r in wanted)


def generate_sample_imagery(settings, force_rasters: bool = False, progress: bool = True,
                            panorama_limit: int = panoramas.MAX_IMAGES) -> dict[str, int]:
    """Make the sample rasters and panoramas that are missing; return what was made."""
    raster_dir, store = _store_paths(settings)
    made = {"rasters": 0, "panoramas": 0, "blurred": 0}
    if _sample_rasters_wanted(settings, force_rasters):
        made["rasters"] = len(rasters.generate_sample_rasters(settings.database.dsn, raster_dir,
                                                              progress=progress))
    report = panoramas.generate_sample_panoramas(settings, panorama_limit, progress=progress)
    made["panoramas"], made["blurred"] = len(report.ingested), report.blurred
    prune(settings.database.dsn, store)
    return made


def prune(dsn: str, store) -> int:
    """Delete store images no row refers to (older than an hour: never an ingest in progress)."""
    with psycopg.connect(dsn) as conn:
        used = {row[0] for row in conn.execute("SELECT image_ref FROM panoramas")}
    removed = 0
    for key in list(store.keys()):
        directory = store.directory(key)
        if key not in used and time.time() - directory.stat().st_mtime > PRUNE_GRACE_S:
            store.remove(key)
            removed += 1
    return removed
