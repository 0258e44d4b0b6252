"""Capture metadata of equirectangular JPEGs: EXIF GPS position, heading and time (Pillow).

Reading takes the GPS IFD (position, GPSImgDirection), the XMP GPano heading as a fallback, and
the capture time from DateTimeOriginal (+ OffsetTimeOriginal), the GPS date/time stamps (UTC), or
DateTimeOriginal in the camera's time zone. Writing produces the same tags, for synthetic images.
"""
from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from fractions import Fraction
from zoneinfo import ZoneInfo

from PIL import Image, UnidentifiedImageError
from PIL.TiffImagePlugin import IFDRational

GPS_IFD, EXIF_IFD = 0x8825, 0x8769
MAKE, MODEL = 0x010F, 0x0110
DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL, SUBSEC_ORIGINAL = 0x9003, 0x9011, 0x9291
LAT_REF, LAT, LON_REF, LON = 1, 2, 3, 4
TIME_STAMP, DATE_STAMP, DIRECTION_REF, DIRECTION = 7, 29, 16, 17
GPANO_HEADING = re.compile(rb"PoseHeadingDegrees(?:=\"|>)\s*(-?[0-9]+(?:\.[0-9]+)?)")
XMP = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
       'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
       'xmlns:GPano="http://ns.google.com/photos/1.0/panorama/" '
       'GPano:ProjectionType="equirectangular" GPano:UsePanoramaViewer="True" '
       '{heading}GPano:FullPanoWidthPixels="{width}" '
       'GPano:FullPanoHeightPixels="{height}" GPano:CroppedAreaImageWidthPixels="{width}" '
       'GPano:CroppedAreaImageHeightPixels="{height}" GPano:CroppedAreaLeftPixels="0" '
       'GPano:CroppedAreaTopPixels="0"/></rdf:RDF></x:xmpmeta>')


class BadImage(Exception):
    """An image that cannot be ingested; the message says why (shown in the ingest report)."""


@dataclass(frozen=True)
class Capture:
    """Where, when and in which direction a panorama was taken."""

    lon: float
    lat: float
    heading: float | None       # degrees clockwise from true north of the image centre
    captured_at: dt.datetime    # timezone-aware
    camera: str
    width: int
    height: int


def read_capture(data: bytes, camera_zone: ZoneInfo) -> Capture:
    """The capture metadata of a JPEG; BadImage when it is not a usable 2:1 panorama."""
    try:
        image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError):
        raise BadImage("not an image file (corrupt or unknown format)") from None
    if image.format != "JPEG":
        raise BadImage(f"not a JPEG ({image.format})")
    width, height = image.size
    if width != 2 * height:
        raise BadImage(f"not an equirectangular 2:1 image ({width}x{height})")
    try:
        exif = image.getexif()
        gps = exif.get_ifd(GPS_IFD)
    except Exception:  # Pillow raises assorted errors on damaged EXIF blocks
        raise BadImage("unreadable EXIF metadata") from None
    lon, lat = _position(gps)
    heading = _heading(gps, image.info.get("xmp"))
    camera = " ".join(str(exif.get(tag, "")).strip("\x00 ") for tag in (MAKE, MODEL)).strip()
    return Capture(lon, lat, heading, _time(exif, gps, camera_zone), camera or "unknown",
                   width, height)


def _degrees(value, ref: str, positive: str, limit: float) -> float:
    """Degrees from an EXIF (degrees, minutes, seconds) triple and its N/S or E/W reference."""
    try:
        d, m, s = (float(part) for part in value)
    except (TypeError, ValueError, ZeroDivisionError):
        raise BadImage("unreadable GPS position") from None
    degrees = (d + m / 60 + s / 3600) * (1 if str(ref).upper().startswith(positive) else -1)
    if not abs(degrees) <= limit:
        raise BadImage("GPS position out of range")
    return degrees


def _position(gps) -> tuple[float, float]:
    """Longitude and latitude of the GPS IFD; BadImage when absent."""
    if LAT not in gps or LON not in gps:
        raise BadImage("no GPS position")
    lat = _degrees(gps[LAT], gps.get(LAT_REF, "N"), "N", 90)
    lon = _degrees(gps[LON], gps.get(LON_REF, "E"), "E", 180)
    if lat == 0 and lon == 0:
        raise BadImage("no GPS position (0, 0)")
    return lon, lat


def _heading(gps, xmp: bytes | str | None) -> float | None:
    """GPSImgDirection, else XMP GPano:PoseHeadingDegrees, else None."""
    try:
        if DIRECTION in gps:
            return float(gps[DIRECTION]) % 360
    except (TypeError, ValueError, ZeroDivisionError):
        pass
    if isinstance(xmp, str):
        xmp = xmp.encode()
    found = GPANO_HEADING.search(xmp or b"")
    return float(found.group(1)) % 360 if found else None


def _parse(text: str, zone: dt.tzinfo, subsec: str = "") -> dt.datetime | None:
    """An EXIF 'YYYY:MM:DD HH:MM:SS' (plus SubSecTime digits) in `zone`, or None."""
    try:
        when = dt.datetime.strptime(str(text).strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    digits = "".join(ch for ch in str(subsec) if ch.isdigit())[:6]
    fraction = dt.timedelta(seconds=int(digits) / 10 ** len(digits)) if digits else dt.timedelta()
    return when.replace(tzinfo=zone) + fraction


def _time(exif, gps, camera_zone: ZoneInfo) -> dt.datetime:
    """Capture time: original time with its offset, GPS UTC stamps, original time in the zone."""
    tags = exif.get_ifd(EXIF_IFD)
    original = tags.get(DATETIME_ORIGINAL) or exif.get(0x0132)
    subsec = tags.get(SUBSEC_ORIGINAL, "") if tags.get(DATETIME_ORIGINAL) else ""
    offset = re.fullmatch(r"([+-])(\d\d):(\d\d)", str(tags.get(OFFSET_TIME_ORIGINAL, "")).strip())
    if original and offset:
        sign = 1 if offset.group(1) == "+" else -1
        zone = dt.timezone(sign * dt.timedelta(hours=int(offset.group(2)),
                                               minutes=int(offset.group(3))))
        if (when := _parse(original, zone, subsec)) is not None:
            return when
    if DATE_STAMP in gps and TIME_STAMP in gps:
        try:
            h, m, s = (float(v) for v in gps[TIME_STAMP])
            day = dt.datetime.strptime(str(gps[DATE_STAMP]).strip("\x00 "), "%Y:%m:%d")
            return day.replace(tzinfo=dt.UTC) + dt.timedelta(hours=h, minutes=m, seconds=s)
        except (TypeError, ValueError, ZeroDivisionError):
            pass
    if original and (when := _parse(original, camera_zone, subsec)) is not None:
        return when
    raise BadImage("no capture time")


def _rational(value: float, denominator: int) -> IFDRational:
    """An EXIF rational close to `value`."""
    fraction = Fraction(value).limit_denominator(denominator)
    return IFDRational(fraction.numerator, fraction.denominator)


def _dms(degrees: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    """Degrees as an EXIF (degrees, minutes, seconds) triple, seconds to 1/10000."""
    degrees = abs(degrees)
    d = int(degrees)
    m = int((degrees - d) * 60)
    s = (degrees - d - m / 60) * 3600
    return IFDRational(d, 1), IFDRational(m, 1), IFDRational(round(s * 10000), 10000)


def capture_exif(capture: Capture) -> tuple[Image.Exif, bytes]:
    """EXIF (GPS position, heading, UTC GPS stamps, local original time) and GPano XMP."""
    exif = Image.Exif()
    exif[MAKE], exif[MODEL] = (capture.camera.split(" ", 1) + [""])[:2]
    local = capture.captured_at
    offset = local.strftime("%z")
    exif.get_ifd(EXIF_IFD).update({DATETIME_ORIGINAL: local.strftime("%Y:%m:%d %H:%M:%S"),
                                   SUBSEC_ORIGINAL: f"{local.microsecond:06d}",
                                   OFFSET_TIME_ORIGINAL: f"{offset[:3]}:{offset[3:]}"})
    utc = local.astimezone(dt.UTC)
    gps = exif.get_ifd(GPS_IFD)
    gps.update({LAT_REF: "N" if capture.lat >= 0 else "S", LAT: _dms(capture.lat),
                LON_REF: "E" if capture.lon >= 0 else "W", LON: _dms(capture.lon),
                DATE_STAMP: utc.strftime("%Y:%m:%d"),
                TIME_STAMP: (IFDRational(utc.hour, 1), IFDRational(utc.minute, 1),
                             _rational(utc.second + utc.microsecond / 1e6, 1000))})
    if capture.heading is not None:
        gps.update({DIRECTION_REF: "T", DIRECTION: _rational(capture.heading % 360, 100)})
    heading = "" if capture.heading is None else \
        f'GPano:PoseHeadingDegrees="{capture.heading % 360:.2f}" '
    xmp = XMP.format(heading=heading, width=capture.width, height=capture.height)
    return exif, xmp.encode()
