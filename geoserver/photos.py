"""Inspection photos: checked before anything is written, stored by content.

A photo must be a JPEG, PNG or WebP by its first bytes (whatever its part claims), no larger
than the byte and pixel limits, and readable by Pillow (header and structure verified, the image
never decoded in full). Its metadata is then removed (`accept`): EXIF (camera position, time,
serial numbers), XMP, IPTC and text chunks; the platform records the inspection's own position
and time. A JPEG's segments are dropped losslessly unless its EXIF orientation turns it, then
it is turned and re-encoded. Files are named by the SHA-256 of what is stored under
<state_dir>/photos/, written atomically; the same photo sent twice is one file.
"""
from __future__ import annotations

import hashlib
import io
import os
import struct
import tempfile
from dataclasses import replace
from pathlib import Path

from PIL import Image, ImageOps

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


def accept(data: bytes, declared: str | None, number: int,
           limits: EditingSettings) -> tuple[Photo, bytes]:
    """A checked photo without its metadata, and the bytes to store."""
    photo = check(data, declared, number, limits)
    clean = strip_metadata(data, photo.media_type)
    return replace(photo, sha256=hashlib.sha256(clean).hexdigest(), size=len(clean)), clean


def strip_metadata(data: bytes, kind: str) -> bytes:
    """The image without EXIF, XMP, IPTC or text metadata."""
    if kind == "image/jpeg":
        return _jpeg(data)
    if kind == "image/png":
        return _png(data)
    return _webp(data)


JPEG_DROPPED = {0xE1, 0xED, 0xFE} | set(range(0xE3, 0xED))   # APP1 (EXIF, XMP), APP3-13, COM


def _jpeg(data: bytes) -> bytes:
    """A JPEG's segments before the scan, less the metadata ones (turned first if EXIF says)."""
    with Image.open(io.BytesIO(data)) as image:
        if image.getexif().get(0x0112, 1) != 1:     # orientation: turn the pixels instead
            out = io.BytesIO()
            ImageOps.exif_transpose(image).save(out, "JPEG", quality=90)
            return out.getvalue()
    kept, at = [data[:2]], 2
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker == 0xDA:                          # start of scan: the rest is image data
            break
        length = struct.unpack(">H", data[at + 2:at + 4])[0]
        if marker not in JPEG_DROPPED:
            kept.append(data[at:at + 2 + length])
        at += 2 + length
    return b"".join(kept) + data[at:]


PNG_DROPPED = {b"eXIf", b"tEXt", b"iTXt", b"zTXt", b"tIME"}


def _png(data: bytes) -> bytes:
    """A PNG's chunks less the metadata ones."""
    kept, at = [data[:8]], 8
    while at + 8 <= len(data):
        length = struct.unpack(">I", data[at:at + 4])[0]
        kind, end = data[at + 4:at + 8], at + 12 + length
        if kind not in PNG_DROPPED:
            kept.append(data[at:end])
        at = end
    return b"".join(kept)


def _webp(data: bytes) -> bytes:
    """A WebP's chunks less EXIF and XMP (and the VP8X flags that announce them)."""
    kept, at = [], 12
    while at + 8 <= len(data):
        kind, length = data[at:at + 4], struct.unpack("<I", data[at + 4:at + 8])[0]
        end = at + 8 + length + (length & 1)
        chunk = data[at:end]
        if kind == b"VP8X":
            chunk = chunk[:8] + bytes([chunk[8] & ~0x0C]) + chunk[9:]
        if kind not in (b"EXIF", b"XMP "):
            kept.append(chunk)
        at = end
    body = b"WEBP" + b"".join(kept)
    return b"RIFF" + struct.pack("<I", len(body)) + body


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
