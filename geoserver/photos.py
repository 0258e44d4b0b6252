"""Inspection photos: checked before anything is written, stored by content.

A photo must be a JPEG, PNG or WebP by its first bytes (whatever its part claims), no larger
than the byte and pixel limits, and readable by Pillow (header and structure verified, the image
never decoded in full). Files are named by their SHA-256 under <state_dir>/photos/, written
atomically; the same photo sent twice is one file.
"""
from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path

from PIL import Image

from geoserver.errors import PayloadTooLarge, UnsupportedMediaType
from geoserver.settings import EditingSettings
from layers.editing import Photo

EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
PILLOW_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


def sniff(data: bytes) -> str | None:
    """The image type by its first bytes, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check(data: bytes, declared: str | None, number: int, limits: EditingSettings) -> Photo:
    """A checked photo, or PayloadTooLarge / UnsupportedMediaType naming the problem."""
    label = number
    if len(data) > limits.max_photo_bytes:
        raise PayloadTooLarge("photo {number} is larger than {limit} KiB", number=label,
                              limit=limits.max_photo_bytes // 1024)
    if not data:
        raise UnsupportedMediaType("photo {number} is empty", number=label)
    kind = sniff(data)
    if kind is None:
        raise UnsupportedMediaType("photo {number} is not a JPEG, PNG or WebP image", number=label)
    declared = (declared or "").split(";")[0].strip().lower()
    if declared not in ("", "application/octet-stream", kind):
        raise UnsupportedMediaType("photo {number} is declared {declared} but is {kind}",
                                   number=label, declared=declared, kind=kind)
    width, height = _verified_size(data, kind, label, limits)
    return Photo(hashlib.sha256(data).hexdigest(), kind, len(data), width, height)


def _verified_size(data: bytes, kind: str, label: str, limits: EditingSettings):
    """(width, height) after Pillow has verified the file's structure."""
    try:
        with Image.open(io.BytesIO(data), formats=list(PILLOW_FORMATS)) as image:
            width, height = image.size
            if PILLOW_FORMATS.get(image.format) != kind:
                raise UnsupportedMediaType("photo {number} is not a readable {kind} image",
                                           number=label, kind=kind)
            if width * height > limits.max_photo_pixels:
                raise PayloadTooLarge("photo {number} has more than {limit:,} pixels",
                                      number=label, limit=limits.max_photo_pixels)
            image.verify()
    except (UnsupportedMediaType, PayloadTooLarge):
        raise
    except Image.DecompressionBombError:
        raise PayloadTooLarge("photo {number} has too many pixels", number=label) from None
    except Exception:  # Pillow raises many types for broken files
        raise UnsupportedMediaType("photo {number} is not a readable {kind} image", number=label,
                                   kind=kind) from None
    return width, height


def path_of(root: Path, sha256: str, media_type: str) -> Path:
    """Where a photo's file lives."""
    return root / sha256[:2] / f"{sha256}{EXTENSIONS[media_type]}"


def store(root: Path, photo: Photo, data: bytes) -> Path:
    """Write a photo's file (atomically; kept as is when already there)."""
    path = path_of(root, photo.sha256, photo.media_type)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
