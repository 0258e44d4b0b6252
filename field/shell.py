"""The app shell: its files (listed, never joined to a path from a request), the version that
names the service worker's cache, the page's configuration (the server's rules for the form,
the labels, the asset URLs) and the web app manifest."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from field import i18n, icons
from field.settings import FieldSettings
from field.violations import VIOLATIONS
from layers.feature_rules import SPECS
from layers.feature_rules import VIOLATIONS as VIOLATION_PATTERN

ROOT = Path(__file__).resolve().parent
STATIC = ROOT / "static"
OWN = ("app.js", "store.js", "sync.js", "app.css", "assign.js")

VENDOR = ("vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css",
          "vendor/vectorgrid/vectorgrid.js",
          *(f"vendor/fonts/noto-sans-arabic-{s}-400.woff2" for s in ("arabic", "latin")))
# The regular faces only (bold is synthesised: 61 KB fewer on a slow network), with the
# unicode ranges of @fontsource's CSS, so a page in one script loads one file.
FONT_RANGES = (
    ("arabic", ("U+0600-06FF,U+0750-077F,U+0870-088E,U+0890-0891,U+0897-08E1,U+08E3-08FF,"
                "U+200C-200E,U+2010-2011,U+204F,U+2E41,U+FB50-FDFF,U+FE70-FE74,U+FE76-FEFC")),
    ("latin", ("U+0000-00FF,U+0131,U+0152-0153,U+02BB-02BC,U+02C6,U+02DA,U+02DC,U+0304,U+0308,"
               "U+0329,U+2000-206F,U+20AC,U+2122,U+2191,U+2193,U+2212,U+2215,U+FEFF,U+FFFD")),
)
TILED = "districts,streets,parcels,licenses"
MAP_FILES = ("vendor/leaflet/leaflet.css", "vendor/leaflet/leaflet.js",
             "vendor/vectorgrid/vectorgrid.js")


@dataclass(frozen=True)
class Shell:
    """The shell's files, icons and version for one application."""

    files: dict[str, Path]
    icons: dict[str, bytes]
    vendor: dict[str, str]          # public name -> URL of the web map's asset
    version: str
    font_ranges: tuple = FONT_RANGES

    @classmethod
    def build(cls, assets) -> Shell:
        """List our files, draw the icons, hash both with the web map's asset version."""
        files = {name: STATIC / name for name in OWN}
        drawn = icons.all_icons()
        digest = hashlib.sha256(assets.version.encode())
        for name in OWN:
            digest.update(files[name].read_bytes())
        digest.update((ROOT / "templates" / "app.html").read_bytes())
        digest.update((ROOT / "sw.js").read_bytes())
        vendor = {name: assets.url(name) for name in VENDOR}
        return cls(files, drawn, vendor, digest.hexdigest()[:12])

    def urls(self) -> list[str]:
        """Every URL the service worker keeps for the app to open offline."""
        own = [f"/field/static/{self.version}/{name}" for name in OWN if name != "assign.js"]
        return ["/field/", "/field/manifest.webmanifest", *own,
                *(f"/field/icons/{name}" for name in self.icons), *self.vendor.values()]


def rules(limits, settings: FieldSettings) -> dict:
    """The server's rules for an inspection, as the form checks them on the device."""
    fields = SPECS["inspections"].fields
    return {
        "results": list(fields["result"].choices),
        "notesMax": fields["notes"].max_length,
        "violationPattern": VIOLATION_PATTERN.pattern,
        "maxPhotos": limits.max_photos,
        "maxPhotoBytes": min(limits.max_photo_bytes, settings.photo_max_kib * 1024),
        "maxPhotoPixels": limits.max_photo_pixels,
        "photoMaxEdge": settings.photo_max_edge,
        "clockSkewS": 300,
    }


def config(shell: Shell, limits, settings: FieldSettings) -> dict:
    """What the page's scripts read (#field-config)."""
    return {
        "version": shell.version,
        "rules": rules(limits, settings),
        "violations": [{"code": code, "ar": ar, "en": en} for code, ar, en in VIOLATIONS],
        "texts": {"ar": i18n.texts("ar"), "en": i18n.texts("en")},
        "tiles": f"/ogc/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}?f=mvt&collections={TILED}",
        "zooms": list(settings.area_zooms),
        "radius": settings.nearby_radius_m,
        "map": [shell.vendor[name] for name in MAP_FILES],   # loaded when the map is opened
    }


def manifest(shell: Shell) -> bytes:
    """The web app manifest (Arabic name, RTL, standalone, icons)."""
    ar, en = i18n.texts("ar"), i18n.texts("en")
    icon_list = [{"src": f"/field/icons/icon-{size}.png", "sizes": f"{size}x{size}",
                  "type": "image/png", "purpose": "any"} for size in icons.SIZES]
    icon_list.append({"src": "/field/icons/maskable-512.png", "sizes": "512x512",
                      "type": "image/png", "purpose": "maskable"})
    document = {"name": ar["app_name"], "short_name": ar["short_name"], "lang": "ar",
                "dir": "rtl", "description": en["app_name"], "id": "/field/",
                "start_url": "/field/", "scope": "/field/", "display": "standalone",
                "orientation": "portrait", "background_color": "#ffffff",
                "theme_color": "#006847", "icons": icon_list}
    return json.dumps(document, ensure_ascii=False, indent=1).encode()
