"""The public panorama store: blurred images cut for Photo Sphere Viewer, by content key.

Layout under the state directory (`panoramas/`):

    ab/abcdef.../manifest.json          levels, size, detections blurred
    ab/abcdef.../preview.jpg            small equirectangular image (the viewer's baseUrl)
    ab/abcdef.../{level}/{col}_{row}.jpg

The key is the first 32 hex digits of the SHA-256 of the original file; it is checked against
that pattern before any path is built. Work in progress lives in `.staging/` and is moved into
place by a rename, so a reader sees an image complete or not at all. Only blurred pixels are
ever written here.
"""
from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

KEY = re.compile(r"^[0-9a-f]{32}$")
MANIFEST = "manifest.json"
PREVIEW = "preview.jpg"


@dataclass(frozen=True)
class Level:
    """One resolution of a panorama for EquirectangularTilesAdapter (width = 2 x height)."""

    width: int
    cols: int
    rows: int


def levels(width: int, tile_size: int, max_width: int) -> list[Level]:
    """Power-of-two grids of square tiles, from 2x1 tiles up to the image's own width."""
    top = min(width, max_width)
    out, level_width = [], 2 * tile_size
    while level_width <= top or not out:
        out.append(Level(level_width, level_width // tile_size, level_width // tile_size // 2))
        level_width *= 2
    return out


def _jpeg(rgb: np.ndarray, quality: int) -> bytes:
    """JPEG bytes of an RGB array."""
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return data.tobytes()


def write_tiles(rgb: np.ndarray, directory: Path, tile_size: int, max_width: int,
                preview_width: int, quality: int, detections: int) -> dict:
    """Cut a (blurred) equirectangular image into its levels, preview and manifest."""
    grid = levels(rgb.shape[1], tile_size, max_width)
    directory.mkdir(parents=True)
    for index, level in enumerate(grid):
        scaled = cv2.resize(rgb, (level.width, level.width // 2), interpolation=cv2.INTER_AREA)
        (directory / str(index)).mkdir()
        for row in range(level.rows):
            for col in range(level.cols):
                tile = scaled[row * tile_size:(row + 1) * tile_size,
                              col * tile_size:(col + 1) * tile_size]
                (directory / str(index) / f"{col}_{row}.jpg").write_bytes(_jpeg(tile, quality))
    preview = cv2.resize(rgb, (preview_width, preview_width // 2), interpolation=cv2.INTER_AREA)
    (directory / PREVIEW).write_bytes(_jpeg(preview, quality))
    manifest = {"width": grid[-1].width, "height": grid[-1].width // 2, "tile_size": tile_size,
                "levels": [asdict(level) for level in grid], "detections_blurred": detections}
    (directory / MANIFEST).write_text(json.dumps(manifest))
    return manifest


class PanoramaStore:
    """Files of the public store; every path is built from a checked key."""

    def __init__(self, root: Path):
        """The store at `root` (created on first write)."""
        self.root = root

    def directory(self, key: str) -> Path | None:
        """The directory of an image key, or None for anything that is not a key."""
        return self.root / key[:2] / key if KEY.match(key) else None

    def has(self, key: str) -> bool:
        """Whether a complete image is published under `key`."""
        directory = self.directory(key)
        return directory is not None and (directory / MANIFEST).is_file()

    def manifest(self, key: str) -> dict | None:
        """The manifest of a published image, or None."""
        directory = self.directory(key)
        try:
            return json.loads((directory / MANIFEST).read_text()) if directory else None
        except (OSError, ValueError):
            return None

    def tile(self, key: str, level: int, col: int, row: int) -> bytes | None:
        """A tile's JPEG bytes, or None."""
        directory = self.directory(key)
        return _read(directory / str(level) / f"{col}_{row}.jpg") if directory else None

    def preview(self, key: str) -> bytes | None:
        """The preview's JPEG bytes, or None."""
        directory = self.directory(key)
        return _read(directory / PREVIEW) if directory else None

    @contextmanager
    def staging(self) -> Iterator[Path]:
        """A private work directory inside the store (same file system), removed afterwards."""
        path = self.root / ".staging" / uuid.uuid4().hex
        path.mkdir(parents=True)
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def publish(self, staged: Path, key: str) -> bool:
        """Move a staged image into place; False (staged copy dropped) if it was already there."""
        target = self.directory(key)
        if target is None:
            raise ValueError("not an image key")
        if (target / MANIFEST).is_file():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)      # leftovers of an interrupted publish
        staged.rename(target)
        return True

    def keys(self) -> Iterator[str]:
        """Keys of every image directory in the store."""
        if self.root.is_dir():
            for directory in self.root.glob("??/*"):
                if KEY.match(directory.name) and directory.parent.name == directory.name[:2]:
                    yield directory.name

    def remove(self, key: str) -> None:
        """Delete a published image (its manifest first, so it stops being served at once)."""
        directory = self.directory(key)
        if directory is not None and directory.is_dir():
            (directory / MANIFEST).unlink(missing_ok=True)
            shutil.rmtree(directory, ignore_errors=True)


def _read(path: Path) -> bytes | None:
    """File bytes, or None when it does not exist."""
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None


def panorama_store(settings) -> PanoramaStore:
    """The public store of blurred, tiled panoramas, in the state directory."""
    return PanoramaStore(settings.server.state_dir / "panoramas")
