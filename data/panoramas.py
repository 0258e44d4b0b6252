"""Sample-city panoramas: rendered equirectangular street scenes with real EXIF, then ingested.

For capture points of the loaded `panoramas` layer that have no image yet (the generator's rows),
a bounded, evenly spaced subset is rendered from the layers around each point (buildings on the
parcels, the street with its markings, sidewalks, sky) and saved as JPEG with EXIF GPS position,
heading and time. Some images show a person's face or a parked car's plate, drawn so that the
privacy detector finds them. The directory is then ingested by the same code as real imagery,
replacing the layer's rows, so rows and images agree.
"""
from __future__ import annotations

import datetime as dt
import math
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import psycopg
import shapely
from psycopg.rows import dict_row

from data.rasters import GROUND, SETBACK_M
from panoramas.ingest import Report, ingest
from panoramas.metadata import Capture, capture_exif
from panoramas.store import PanoramaStore, panorama_store

MAX_IMAGES = 100                 # rendered at most (2048 x 1024 each): ~30 s on 2 cores
WIDTH = 2048
CAMERA_HEIGHT_M = 2.5
REACH_M = 90.0
RIYADH = dt.timezone(dt.timedelta(hours=3))
FACADE = {"residential": (214, 200, 170), "commercial": (190, 192, 196),
          "mixed": (206, 190, 160), "industrial": (160, 170, 178), "public": (226, 218, 196)}
HEIGHT_M = {"residential": (6.5, 10), "commercial": (9, 15), "mixed": (9, 13),
            "industrial": (6, 9), "public": (8, 14)}
FACE_EVERY, PLATE_EVERY = 6, 7          # images with a face / a plate (by position in the run)


@dataclass(frozen=True)
class Surroundings:
    """What a camera sees around one capture point (UTM metres)."""

    x: float
    y: float
    segments: np.ndarray      # (n, 4) building wall segments x0, y0, x1, y1
    walls: np.ndarray         # (n, 2) owner building's height and land-use index per segment
    streets: list[tuple]      # (x0, y0, x1, y1, half width, half reserve, marked)


def rows_without_images(conn: psycopg.Connection, store: PanoramaStore) -> list[dict]:
    """Capture points whose image is not in the store (never ingested, or the store was wiped)."""
    query = """SELECT id, sequence_id, sequence_index, captured_at, heading_deg::float AS heading,
                      ST_X(geom) AS lon, ST_Y(geom) AS lat, ST_X(geom_utm) AS x,
                      ST_Y(geom_utm) AS y, image_ref
               FROM panoramas ORDER BY sequence_id, sequence_index"""
    with conn.cursor(row_factory=dict_row) as cur:
        return [row for row in cur.execute(query) if not store.has(row["image_ref"])]


def subsample(rows: list[dict], limit: int) -> list[dict]:
    """Every k-th row of each sequence, k chosen so that at most `limit` rows remain."""
    step = max(1, math.ceil(len(rows) / limit))
    picked = [row for row in rows if row["sequence_index"] % step == 0]
    return picked[:limit]


def surroundings(conn: psycopg.Connection, row: dict, seed: int) -> Surroundings:
    """Building walls and streets within REACH_M of a capture point."""
    point = "ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 32639)"
    parcels = conn.execute(
        f"SELECT ST_AsBinary(geom_utm), land_use, id FROM parcels "
        f"WHERE ST_DWithin(geom_utm, {point}, %(r)s)", {**row, "r": REACH_M}).fetchall()
    streets = conn.execute(
        f"SELECT ST_AsBinary(geom_utm), width_m::float, row_m::float, kind FROM streets "
        f"WHERE ST_DWithin(geom_utm, {point}, %(r)s)", {**row, "r": REACH_M}).fetchall()
    return Surroundings(row["x"], row["y"], *_walls(parcels, seed),
                        [_street(bytes(g), w, r, k) for g, w, r, k in streets])


def _walls(parcels: list[tuple], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Wall segments of the buildings on the parcels, with height and land use per segment."""
    uses = list(GROUND)
    segments, walls = [np.zeros((0, 4))], [np.zeros((0, 2))]
    for wkb, use, parcel_id in parcels:
        if use not in SETBACK_M:
            continue
        rng = np.random.default_rng((seed, parcel_id))
        footprint = shapely.buffer(shapely.from_wkb(bytes(wkb)), -SETBACK_M[use],
                                   join_style="mitre")
        for polygon in getattr(footprint, "geoms", [footprint]):
            if polygon.is_empty:
                continue
            ring = np.asarray(polygon.exterior.coords)
            segments.append(np.hstack([ring[:-1], ring[1:]]))
            height = rng.uniform(*HEIGHT_M[use])
            walls.append(np.tile([height, uses.index(use)], (len(ring) - 1, 1)))
    return np.vstack(segments), np.vstack(walls)


def _street(wkb: bytes, width: float, reserve: float, kind: str) -> tuple:
    """A straight street as its end points, half widths and whether it has a centre line."""
    coords = shapely.get_coordinates(shapely.from_wkb(wkb))
    (x0, y0), (x1, y1) = coords[0], coords[-1]
    return x0, y0, x1, y1, width / 2, reserve / 2, kind != "local"


def _angles(width: int, heading: float) -> tuple[np.ndarray, np.ndarray]:
    """Azimuth of every column (image centre = heading) and elevation of every row, radians."""
    az = np.radians(heading + (np.arange(width) + 0.5) / width * 360.0 - 180.0)
    el = np.radians(90.0 - (np.arange(width // 2) + 0.5) / (width // 2) * 180.0)
    return az, el


def _cast(s: Surroundings, az: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column: distance to the first wall (inf if none), its segment, position along it."""
    dx, dy = np.sin(az)[:, None], np.cos(az)[:, None]
    if not len(s.segments):
        inf = np.full(az.size, np.inf)
        return inf, np.zeros(az.size, int), np.zeros(az.size)
    x0, y0, x1, y1 = (s.segments[:, k][None, :] - (s.x, s.y, s.x, s.y)[k] for k in range(4))
    ex, ey = x1 - x0, y1 - y0
    det = dx * ey - dy * ex
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (x0 * ey - y0 * ex) / det
        u = (x0 * dy - y0 * dx) / det
    t = np.where((det != 0) & (t > 0.5) & (u >= 0) & (u <= 1), t, np.inf)
    seg = np.argmin(t, axis=1)
    rows = np.arange(az.size)
    along = u[rows, seg] * np.hypot(ex, ey)[0, seg]
    return t[rows, seg], seg, np.nan_to_num(along)


def _sky(el: np.ndarray) -> np.ndarray:
    """Sky colour of every row (rows, 1, 3): pale at the horizon, deeper blue at the zenith."""
    k = np.clip(el / (np.pi / 2), 0, 1)[:, None, None] ** 0.6
    horizon, zenith = np.array([222, 230, 236], np.float32), np.array([92, 146, 210], np.float32)
    return horizon + (zenith - horizon) * k


def _ground(s: Surroundings, az: np.ndarray, el: np.ndarray) -> np.ndarray:
    """Ground colours for rows below the horizon: asphalt, centre lines, sidewalks, sand."""
    r = (CAMERA_HEIGHT_M / np.tan(-np.minimum(el, -1e-3)))[:, None].astype(np.float32)
    px = r * np.sin(az).astype(np.float32)[None, :]
    py = r * np.cos(az).astype(np.float32)[None, :]
    material = np.zeros(px.shape, np.uint8)                # 0 sand, 1 verge, 2 asphalt, 3 paint
    for x0, y0, x1, y1, half, reserve, marked in s.streets:
        length = math.hypot(x1 - x0, y1 - y0)
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        ax, ay = px - np.float32(x0 - s.x), py - np.float32(y0 - s.y)
        along = ax * ux + ay * uy
        across = np.abs(ax * uy - ay * ux)
        inside = (along > -reserve) & (along < length + reserve)
        material[inside & (across < reserve)] = np.maximum(material[inside & (across < reserve)], 1)
        material[inside & (across < half)] = np.maximum(material[inside & (across < half)], 2)
        if marked:
            material[inside & (across < 0.15) & (np.mod(along, 12.0) < 6.0)] = 3
    palette = np.array([GROUND["vacant"], (172, 170, 164), (78, 78, 82), (232, 232, 220)],
                       np.float32)
    haze = np.clip(r / 400.0, 0, 0.8)[..., None]
    return palette[material] * (1 - haze) + np.array([214, 204, 186], np.float32) * haze


def _facades(s: Surroundings, dist, seg, along, el: np.ndarray, image: np.ndarray) -> None:
    """Paint the first wall seen in every column (floors, windows, light by orientation)."""
    height = np.where(np.isfinite(dist), s.walls[seg, 0], 0.0)
    top = np.arctan2(height - CAMERA_HEIGHT_M, dist)
    bottom = np.arctan2(-CAMERA_HEIGHT_M, dist)
    rows, cols = np.nonzero((el[:, None] <= top[None, :]) & (el[:, None] >= bottom[None, :]))
    z = CAMERA_HEIGHT_M + dist[cols] * np.tan(el[rows])
    use = s.walls[seg[cols], 1].astype(int)
    base = np.array([FACADE.get(u, (200, 190, 170)) for u in GROUND], np.float32)[use]
    ex = s.segments[seg[cols], 2] - s.segments[seg[cols], 0]
    ey = s.segments[seg[cols], 3] - s.segments[seg[cols], 1]
    colour = base * (0.75 + 0.25 * np.cos(np.arctan2(ey, ex) - 0.6))[:, None]
    u, storey = np.mod(along[cols], 4.0), np.mod(z, 3.4)
    window = (u > 1.2) & (u < 2.8) & (storey > 1.1) & (storey < 2.5) & (z > 0.8)
    colour[window] = (70, 86, 100)
    colour[np.abs(storey - 3.3) < 0.1] *= 0.85
    image[rows, cols] = colour


def render(s: Surroundings, heading: float, width: int, seed: int) -> np.ndarray:
    """The equirectangular RGB scene (width x width/2) around a capture point."""
    az, el = _angles(width, heading)
    image = np.empty((width // 2, width, 3), np.float32)
    image[:] = _sky(el)
    below = np.flatnonzero(el < 0)
    half = _ground(s, az[::2], el[below][::2])          # the ground at half resolution
    image[below] = cv2.resize(half, (width, below.size), interpolation=cv2.INTER_NEAREST)
    _facades(s, *_cast(s, az), el, image)
    noise = np.random.default_rng(seed).normal(0, 3.0, image.shape[:2]).astype(np.float32)
    image += noise[..., None]
    return np.clip(image, 0, 255).astype(np.uint8)


def draw_face(image: np.ndarray, cx: int, cy: int, size: int) -> tuple[int, int, int, int]:
    """A frontal face (skin, hair, eyes, brows, nose, mouth) with a white thobe below it."""
    s = size
    cv2.rectangle(image, (cx - s // 2, cy + s // 2), (cx + s // 2, cy + 3 * s), (236, 236, 230), -1)
    cv2.ellipse(image, (cx, cy), (int(s * 0.40), int(s * 0.52)), 0, 0, 360, (215, 180, 150), -1)
    cv2.ellipse(image, (cx, cy - int(s * 0.38)), (int(s * 0.42), int(s * 0.2)), 0, 180, 360,
                (40, 30, 30), -1)
    ey, ex = cy - int(s * 0.08), int(s * 0.17)
    for side in (-1, 1):
        cv2.ellipse(image, (cx + side * ex, ey - int(s * 0.1)), (int(s * 0.12), int(s * 0.03)),
                    0, 0, 360, (60, 50, 40), -1)
        cv2.ellipse(image, (cx + side * ex, ey), (int(s * 0.09), int(s * 0.045)), 0, 0, 360,
                    (50, 40, 40), -1)
    cv2.line(image, (cx, ey + int(s * 0.02)), (cx, cy + int(s * 0.14)), (185, 150, 120),
             max(1, s // 30))
    cv2.ellipse(image, (cx, cy + int(s * 0.26)), (int(s * 0.15), int(s * 0.04)), 0, 0, 360,
                (120, 60, 60), -1)
    return cx - s // 2, cy - s // 2, s, s


def draw_plate(image: np.ndarray, cx: int, cy: int, width: int) -> tuple[int, int, int, int]:
    """The back of a parked car with a white plate of dark characters at its centre."""
    h = int(width / 4.6)
    cv2.rectangle(image, (cx - 2 * width, cy - 2 * width), (cx + 2 * width, cy + width // 2),
                  (120, 30, 36), -1)
    cv2.rectangle(image, (cx - int(1.6 * width), cy - int(1.8 * width)),
                  (cx + int(1.6 * width), cy - width), (40, 50, 60), -1)
    x, y = cx - width // 2, cy - h // 2
    cv2.rectangle(image, (x - 4, y - 4), (x + width + 4, y + h + 4), (40, 40, 40), -1)
    cv2.rectangle(image, (x, y), (x + width, y + h), (240, 240, 240), -1)
    cv2.rectangle(image, (x, y), (x + width, y + h), (15, 15, 15), max(1, width // 80))
    font, text, stroke = cv2.FONT_HERSHEY_DUPLEX, "A123BC77", max(1, int(h * 0.08))
    (tw, th), _ = cv2.getTextSize(text, font, 1.0, stroke)
    scale = min(width * 0.85 / tw, h * 0.62 / th)
    (tw, th), _ = cv2.getTextSize(text, font, scale, stroke)
    cv2.putText(image, text, (x + (width - tw) // 2, y + (h + th) // 2), font, scale,
                (10, 10, 10), stroke, cv2.LINE_AA)
    return x, y, width, h


def _extras(image: np.ndarray, position: int, rng) -> None:
    """A face on every FACE_EVERY-th image, a plate on every PLATE_EVERY-th (off the seam)."""
    w = image.shape[1]
    if position % FACE_EVERY == 0:
        draw_face(image, int(w * rng.uniform(0.3, 0.45)), int(w * 0.26), int(w * 0.03))
    if position % PLATE_EVERY == 0:
        draw_plate(image, int(w * rng.uniform(0.6, 0.72)), int(w * 0.29), int(w * 0.035))


def write_image(path: Path, rgb: np.ndarray, capture: Capture, quality: int = 90) -> None:
    """Save an RGB panorama as JPEG with the capture's EXIF and GPano XMP."""
    from PIL import Image

    exif, xmp = capture_exif(capture)
    Image.fromarray(rgb).save(path, "JPEG", quality=quality, exif=exif, xmp=xmp)


def _render_row(dsn: str, row: dict, position: int, directory: Path, width: int) -> None:
    """Render, decorate and save the image of one capture point."""
    seed = 7919 * row["id"]
    with psycopg.connect(dsn) as conn:
        scene = surroundings(conn, row, seed)
    rgb = render(scene, row["heading"], width, seed)
    _extras(rgb, position, np.random.default_rng(seed))
    when = row["captured_at"].astimezone(RIYADH)
    capture = Capture(row["lon"], row["lat"], row["heading"], when, "Amanat synthetic-360",
                      width, width // 2)
    write_image(directory / f"{row['sequence_id']}-{row['sequence_index']:06d}.jpg", rgb, capture)


def write_sample_images(dsn: str, rows: list[dict], directory: Path, width: int = WIDTH,
                        workers: int = 2) -> None:
    """Render the images of the given capture points into `directory`."""
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda job: _render_row(dsn, job[1], job[0], directory, width),
                      enumerate(rows)))


def generate_sample_panoramas(settings, limit: int = MAX_IMAGES, width: int = WIDTH,
                              progress: bool = True):
    """Render images for up to `limit` rows without one; ingest them in place of those rows."""

    dsn, store = settings.database.dsn, panorama_store(settings)
    with psycopg.connect(dsn) as conn:
        missing = rows_without_images(conn, store)
    if not missing:
        return Report()
    store.root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=store.root, prefix=".sample-") as tmp:
        write_sample_images(dsn, subsample(missing, limit), Path(tmp), width,
                            settings.panoramas.workers)
        return ingest(dsn, store, Path(tmp), settings.panoramas, progress=progress,
                      replace_refs=[row["image_ref"] for row in missing])
