"""`amanat panoramas ingest DIR`: equirectangular JPEGs -> blurred tiles + `panoramas` rows.

1. Read every file's metadata (position, heading, time) and content key; report and skip files
   without position or time, not 2:1, not JPEG, or already ingested.
2. In worker threads: decode (a corrupt JPEG is reported and skipped), detect faces and plates,
   blur them, cut the blurred image into tiles in a staging directory. No unblurred pixel is
   ever written.
3. Group the images into sequences by time and distance; in one transaction insert the rows and
   move the staged tiles into the public store; if anything fails, nothing is left behind.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
from PIL import Image
from tqdm import tqdm

from panoramas.settings import PanoramaSettings
from panoramas import privacy
from panoramas.metadata import BadImage, Capture, read_capture
from panoramas.store import PanoramaStore, write_tiles

SUFFIXES = (".jpg", ".jpeg")
EARTH_RADIUS_M = 6_371_008.8
STREET_SNAP_M = 30.0


@dataclass(frozen=True)
class Candidate:
    """A file that passed the metadata checks."""

    path: Path
    key: str
    capture: Capture


@dataclass
class Report:
    """What an ingest did: rows written, files skipped (with the reason), sequences made."""

    ingested: list[tuple[str, int]] = field(default_factory=list)     # (file, panorama id)
    skipped: list[tuple[str, str]] = field(default_factory=list)      # (file, reason)
    sequences: list[str] = field(default_factory=list)
    blurred: int = 0


def content_key(data: bytes) -> str:
    """The store key of an original file: 32 hex digits of its SHA-256."""
    return hashlib.sha256(data).hexdigest()[:32]


def find_images(directory: Path) -> list[Path]:
    """JPEG files under `directory` (recursively), in name order."""
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)


def _candidates(files: list[Path], zone: ZoneInfo, report: Report) -> list[Candidate]:
    """Files with usable metadata; the others go to the report."""
    out, seen = [], set()
    for path in files:
        try:
            data = path.read_bytes()
            key = content_key(data)
            if key in seen:
                raise BadImage("duplicate of another file in this run")
            capture = read_capture(data, zone)
        except BadImage as err:
            report.skipped.append((str(path), str(err)))
            continue
        except OSError as err:
            report.skipped.append((str(path), f"cannot read file ({err.strerror})"))
            continue
        seen.add(key)
        out.append(Candidate(path, key, capture))
    return out


def _decode(path: Path) -> np.ndarray:
    """Fully decode a JPEG to RGB; BadImage when it is corrupt or truncated."""
    try:
        with Image.open(io.BytesIO(path.read_bytes())) as image:
            image.load()                         # truncated or damaged data raise here
            return np.asarray(image.convert("RGB"))
    except Image.DecompressionBombError:
        raise BadImage("image too large to decode safely") from None
    except Exception:
        raise BadImage("corrupt JPEG (cannot be decoded)") from None


def _prepare(candidate: Candidate, staging: Path, store: PanoramaStore,
             settings: PanoramaSettings) -> int:
    """Decode, blur and cut one image into the staging directory; return detections blurred."""
    if store.has(candidate.key):  # the same original was published before (then deleted rows)
        return store.manifest(candidate.key).get("detections_blurred", 0)
    rgb = _decode(candidate.path)
    boxes = privacy.detect(rgb)
    clean = privacy.blur(rgb, boxes)
    del rgb
    write_tiles(clean, staging / candidate.key, settings.tile_size, settings.max_width,
                settings.preview_width, settings.jpeg_quality, len(boxes))
    return len(boxes)


def _distance_m(a: Capture, b: Capture) -> float:
    """Great-circle distance between two captures."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _bearing(a: Capture, b: Capture) -> float:
    """Initial bearing from a to b, degrees clockwise from north."""
    p1, p2, dl = math.radians(a.lat), math.radians(b.lat), math.radians(b.lon - a.lon)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(y, x)) % 360


def group_sequences(items: list[Candidate], settings: PanoramaSettings) -> list[list[Candidate]]:
    """Split each camera's captures (in time order) where it pauses or jumps too far."""
    groups: list[list[Candidate]] = []
    for item in sorted(items, key=lambda c: (c.capture.camera, c.capture.captured_at, c.key)):
        last = groups[-1][-1].capture if groups else None
        if (last is None or item.capture.camera != last.camera
                or (item.capture.captured_at - last.captured_at).total_seconds()
                > settings.sequence_gap_s
                or _distance_m(last, item.capture) > settings.sequence_gap_m):
            groups.append([])
        groups[-1].append(item)
    return [_fill_headings(group) for group in groups]


def _fill_headings(group: list[Candidate]) -> list[Candidate]:
    """Images without a heading face the direction of travel (0 for a lone image)."""
    out = []
    for i, item in enumerate(group):
        if item.capture.heading is None:
            heading = 0.0
            if len(group) > 1:
                a, b = (group[i], group[i + 1]) if i + 1 < len(group) else (group[i - 1], group[i])
                heading = _bearing(a.capture, b.capture)
            item = replace(item, capture=replace(item.capture, heading=heading))
        out.append(item)
    return out


def sequence_id(group: list[Candidate]) -> str:
    """A stable name: start time (UTC) and the first image's key."""
    start = group[0].capture.captured_at.astimezone(dt.UTC)
    return f"{start:%Y%m%dT%H%M%SZ}-{group[0].key[:8]}"


INSERT = """
INSERT INTO panoramas (sequence_id, sequence_index, captured_at, heading_deg, image_ref,
                       street_id, geom)
SELECT %(seq)s, %(index)s, %(at)s, %(heading)s, %(ref)s,
       (SELECT s.id FROM streets s
         WHERE ST_DWithin(s.geom_utm, ST_Transform(p.g, 32639), %(snap)s)
         ORDER BY s.geom_utm <-> ST_Transform(p.g, 32639) LIMIT 1),
       p.g
FROM (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS g) p
RETURNING id
"""


def _existing(dsn: str, keys: list[str]) -> set[str]:
    """Which of the keys already have a row."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT image_ref FROM panoramas WHERE image_ref = ANY(%s)", [keys])
        return {row[0] for row in rows}


def _commit(dsn: str, store: PanoramaStore, staging: Path, groups: list[list[Candidate]],
            replace_refs: Sequence[str], report: Report) -> list[str]:
    """Insert the rows and publish the tiles in one transaction; return keys of removed rows."""
    published: list[str] = []
    try:
        with psycopg.connect(dsn) as conn, conn.transaction():
            removed = [r[0] for r in conn.execute(
                "DELETE FROM panoramas WHERE image_ref = ANY(%s) RETURNING image_ref",
                [list(replace_refs)])]
            for group in groups:
                name = sequence_id(group)
                for index, item in enumerate(group):
                    c = item.capture
                    row = conn.execute(INSERT, {
                        "seq": name, "index": index, "at": c.captured_at,
                        "heading": round(c.heading % 360, 2) % 360, "ref": item.key,
                        "snap": STREET_SNAP_M, "lon": c.lon, "lat": c.lat}).fetchone()
                    report.ingested.append((str(item.path), row[0]))
                    if store.publish(staging / item.key, item.key):
                        published.append(item.key)
                report.sequences.append(name)
    except BaseException:
        for key in published:
            store.remove(key)
        report.ingested.clear()
        report.sequences.clear()
        raise
    kept = {item.key for group in groups for item in group}
    return [key for key in removed if key not in kept]


def ingest(dsn: str, store: PanoramaStore, directory: Path, settings: PanoramaSettings,
           progress: bool = True, replace_refs: Sequence[str] = ()) -> Report:
    """Ingest a directory's panoramas; rows of `replace_refs` are deleted in the same commit."""
    report = Report()
    candidates = _candidates(find_images(directory), ZoneInfo(settings.camera_timezone), report)
    if candidates:
        known = _existing(dsn, [c.key for c in candidates]) - set(replace_refs)
        report.skipped += [(str(c.path), "already ingested") for c in candidates if c.key in known]
        candidates = [c for c in candidates if c.key not in known]
    store.root.mkdir(parents=True, exist_ok=True)
    with store.staging() as staging:
        ready = _process(candidates, staging, store, settings, report, progress)
        groups = group_sequences(ready, settings)
        if groups:  # with nothing to write, the rows to replace are left as they are
            for key in _commit(dsn, store, staging, groups, replace_refs, report):
                store.remove(key)
    return report


def _process(candidates: list[Candidate], staging: Path, store: PanoramaStore,
             settings: PanoramaSettings, report: Report, progress: bool) -> list[Candidate]:
    """Blur and tile the candidates in worker threads; return those that succeeded."""
    ready = []
    with ThreadPoolExecutor(settings.workers) as pool, \
            tqdm(total=len(candidates), desc="panoramas", unit="image",
                 disable=not progress) as bar:
        futures = [pool.submit(_prepare, c, staging, store, settings) for c in candidates]
        for candidate, future in zip(candidates, futures, strict=True):
            try:
                report.blurred += future.result()
                ready.append(candidate)
            except BadImage as err:
                report.skipped.append((str(candidate.path), str(err)))
            bar.update()
    return ready
