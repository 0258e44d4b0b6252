"""The map's browser files, served by our own server under /static/{version}/ (no CDN).

Third-party files come from webmap/node_modules (`npm ci` at install, versions pinned by
webmap/package-lock.json); ours from webmap/static. Only the files listed here are served: a
request names a public path, which is looked up, never joined to a directory. The version in
the URL is a hash of the lock file and of our files, so a response can be cached for a year.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse

from kernel.errors import NotFound

LOGGER = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent
NODE_MODULES = ROOT / "node_modules"
STATIC = ROOT / "static"
IMMUTABLE = "public, max-age=31536000, immutable"

FONT = "@fontsource/noto-sans-arabic/files/noto-sans-arabic-{subset}-{weight}-normal.woff2"
VENDOR = {
    "vendor/leaflet/leaflet.js": "leaflet/dist/leaflet.js",
    "vendor/leaflet/leaflet.css": "leaflet/dist/leaflet.css",
    **{f"vendor/leaflet/images/{name}": f"leaflet/dist/images/{name}"
       for name in ("layers.png", "layers-2x.png", "marker-icon.png", "marker-icon-2x.png",
                    "marker-shadow.png")},
    "vendor/vectorgrid/vectorgrid.js":
        "leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js",
    "vendor/chart/chart.umd.min.js": "chart.js/dist/chart.umd.min.js",   # the dashboard's
    "vendor/three/three.module.min.js": "three/build/three.module.min.js",
    "vendor/three/three.core.min.js": "three/build/three.core.min.js",
    "vendor/psv/core.js": "@photo-sphere-viewer/core/index.module.js",
    "vendor/psv/core.css": "@photo-sphere-viewer/core/index.css",
    "vendor/psv/tiles-adapter.js":
        "@photo-sphere-viewer/equirectangular-tiles-adapter/index.module.js",
    "vendor/psv/markers.js": "@photo-sphere-viewer/markers-plugin/index.module.js",
    "vendor/psv/markers.css": "@photo-sphere-viewer/markers-plugin/index.css",
    **{f"vendor/fonts/noto-sans-arabic-{subset}-{weight}.woff2":
       FONT.format(subset=subset, weight=weight)
       for subset in ("arabic", "latin") for weight in (400, 700)},
}
OWN = ("map.js", "tools.js", "map.css", "panorama.js", "fonts.css", "signin.js",
       "report.js")

# The import map of the panorama viewer's ES modules.
MODULES = {
    "three": "vendor/three/three.module.min.js",
    "@photo-sphere-viewer/core": "vendor/psv/core.js",
    "@photo-sphere-viewer/equirectangular-tiles-adapter": "vendor/psv/tiles-adapter.js",
    "@photo-sphere-viewer/markers-plugin": "vendor/psv/markers.js",
}
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
               ".woff2": "font/woff2", ".png": "image/png"}


@dataclass(frozen=True)
class Assets:
    """The registry of served files and the version that names them in URLs."""

    files: dict[str, Path]
    version: str
    missing: tuple[str, ...]

    @classmethod
    def load(cls) -> Assets:
        """List the files and hash them (called by the app factory, not at import)."""
        files = {public: NODE_MODULES / source for public, source in VENDOR.items()}
        files.update({f"map/{name}": STATIC / name for name in OWN})
        missing = tuple(sorted(public for public, path in files.items() if not path.is_file()))
        if missing:
            LOGGER.warning("web map files missing (run `make install`, which runs npm ci in "
                           "webmap/): %s", ", ".join(missing[:5]))
        digest = hashlib.sha256()
        for path in [ROOT / "package-lock.json", *(STATIC / name for name in OWN)]:
            digest.update(path.read_bytes() if path.is_file() else b"-")
        return cls(files, digest.hexdigest()[:12], missing)

    def url(self, public: str) -> str:
        """The URL path of a served file (KeyError for a file that is not listed)."""
        if public not in self.files:
            raise KeyError(public)
        return f"/static/{self.version}/{public}"

    def import_map(self) -> dict:
        """The import map of the viewer's ES modules."""
        return {"imports": {name: self.url(path) for name, path in MODULES.items()}}

    async def serve(self, request: Request) -> FileResponse:
        """GET /static/{version}/{path}: a listed file, cached for a year when current."""
        path = self.files.get(request.path_params["path"])
        if path is None or not path.is_file():
            raise NotFound("no such file")
        current = request.path_params["version"] == self.version
        cache = IMMUTABLE if current else "no-cache"
        return FileResponse(path, media_type=MEDIA_TYPES.get(path.suffix),
                            headers={"Cache-Control": cache})
