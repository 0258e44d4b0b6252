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
          *(f"vendor/fonts/noto-sans-arabic-{s}-{w}.woff2" for s in ("arabic", "latin")
            for w in (400, 700)), "map/fonts.css")
TILED = "districts,streets,parcels,licenses"


@dataclass(frozen=True)
class Shell:
    """The shell's files, icons and version for one application."""

    files: dict[str, Path]
    icons: dict[str, bytes]
    vendor: dict[str, str]          # public name -> URL of the web map's asset
    version: str

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
