"""The page served at /: the Folium (Leaflet) map, in Arabic or English.

The page is assembled by Folium from our elements (webmap.elements) and the page parts in
webmap/templates (autoescaped Jinja). Everything the browser needs to know (labels, colours,
layer URLs, rules) travels as one JSON document inside the page; map.js does the rest. The
rendered HTML names no host: every URL is relative to the page, except the optional
OpenStreetMap layer, which is off and asks for nothing until someone turns it on.
"""
from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path

import folium
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse

from kernel.errors import Unavailable
from layers.database import Database
from layers.tiles import TILE_LAYERS
from webmap import i18n, styles
from webmap.assets import Assets
from webmap.elements import EmptyBase, OfflineMap, PageFigure, Raw, Start, VectorTiles

LOGGER = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent / "templates"
DAMMAM = (50.0, 26.3, 50.25, 26.5)          # shown when the database does not answer
OSM_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = ('&copy; <a href="https://www.openstreetmap.org/copyright">'
                   'OpenStreetMap</a> contributors')
TILE_URL = "ogc/collections/{id}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}?f=mvt"
DATASET_TILE_URL = "ogc/tiles/WebMercatorQuad/{z}/{y}/{x}?f=mvt"   # all shown layers in one tile
# Vector layers, bottom to top, and whether they are on when the page opens.
OVERLAYS = (("zoning", False), ("constraints", False), ("parcels", True), ("streets", True),
            ("districts", True), ("facilities", True), ("licenses", True))
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' "
       "'unsafe-inline'; img-src 'self' data: blob: https://tile.openstreetmap.org; "
       "connect-src 'self'; font-src 'self'; worker-src 'self' blob:; object-src 'none'; "
       "base-uri 'self'; form-action 'self'; frame-ancestors 'self'")


@lru_cache(maxsize=1)
def _templates() -> Environment:
    """The page-part templates, autoescaped (built on first use)."""
    return Environment(loader=FileSystemLoader(TEMPLATES),
                       autoescape=select_autoescape(default=True, default_for_string=True),
                       trim_blocks=True, lstrip_blocks=True)


def _json_for_html(value) -> Markup:
    """JSON that is safe inside a <script> element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _legend(t: dict) -> list[dict]:
    """Legend sections: one per styled layer, in the page's language."""
    sections = []
    for layer, _, colours, group in styles.LEGEND:
        minzoom = TILE_LAYERS[layer].minzoom
        sections.append({
            "layer": layer, "title": t[f"legend_{group}"],
            "shape": "dot" if layer in ("licenses", "facilities") else "box",
            "hint": t["from_zoom"].format(z=minzoom) if minzoom > 12 else "",
            "items": [{"colour": colour, "label": t[f"{group}_{value}"]}
                      for value, colour in colours.items()]})
    return sections


def _processing(ruleset) -> dict:
    """Rules and activities of the permit checks (empty without a rules file)."""
    if ruleset is None:
        return {"rules": [], "activities": []}
    return {
        "rules": [{"id": rule.id, "title": rule.title.model_dump()} for rule in ruleset.rules],
        "activities": [{"code": code, "ar": activity.ar, "en": activity.en}
                       for code, activity in sorted(ruleset.activities.items())],
    }


def _config(lang: str, bounds, assets: Assets, ruleset=None) -> dict:
    """The JSON document map.js starts from."""
    return {
        "lang": lang, "dir": i18n.DIRECTION[lang], "text": i18n.texts(lang),
        "palette": styles.palette(), "bounds": list(bounds),
        "layers": [{"id": layer, "url": TILE_URL.format(id=layer),
                    "minzoom": TILE_LAYERS[layer].minzoom, "maxzoom": TILE_LAYERS[layer].maxzoom,
                    "details": [{"minzoom": d.minzoom, "kinds": d.kinds}
                                for d in TILE_LAYERS[layer].details],
                    "show": show} for layer, show in OVERLAYS],
        "datasetTiles": DATASET_TILE_URL,
        "panoramaModule": "./" + assets.url("map/panorama.js").lstrip("/"),
        "psvCss": [assets.url("vendor/psv/core.css").lstrip("/"),
                   assets.url("vendor/psv/markers.css").lstrip("/")],
        "landUses": list(styles.LAND_USE), **_processing(ruleset),
    }


def _assets_links(assets: Assets) -> tuple[list, list]:
    """The (name, URL) lists of the map's scripts and style sheets."""
    url = lambda path: assets.url(path).lstrip("/")  # noqa: E731 (relative to the page)
    js = [("leaflet", url("vendor/leaflet/leaflet.js")),
          ("vectorgrid", url("vendor/vectorgrid/vectorgrid.js")),
          ("amanat", url("map/map.js")), ("amanat_tools", url("map/tools.js")),
          ("amanat_signin", url("map/signin.js")),
          ("amanat_report", url("map/report.js"))]
    css = [("leaflet_css", url("vendor/leaflet/leaflet.css")), ("fonts", url("map/fonts.css")),
           ("amanat_css", url("map/map.css"))]
    return js, css


def render(lang: str, bounds, assets: Assets, ruleset=None) -> str:
    """The whole page in one language, the map fitted to `bounds` (west, south, east, north)."""
    t = i18n.texts(lang)
    rtl = i18n.DIRECTION[lang] == "rtl"
    figure = PageFigure(lang, i18n.DIRECTION[lang], t["title"])
    figure.header.add_child(Raw('<link rel="icon" href="data:,">'), name="icon")
    figure.header.add_child(Raw('<script type="importmap">' + str(_json_for_html(
        _relative(assets.import_map()))) + "</script>"), name="importmap")
    js, css = _assets_links(assets)
    west, south, east, north = bounds
    fmap = OfflineMap(js=js, css=css, aria_label=t["map_label"],
                      location=[(south + north) / 2, (west + east) / 2], zoom_start=12,
                      zoom_control="topright" if rtl else "topleft",
                      control_scale=True, prefer_canvas=True)
    fmap.options.update(min_zoom=8, max_zoom=20)   # or Leaflet takes them from the layers
    templates = _templates()
    figure.html.add_child(Raw(_with_session(templates.get_template("header.html").render(
        t=t, other="en" if lang == "ar" else "ar", map_id=fmap.get_name()), t)), name="header")
    figure.add_child(fmap)
    layers = {"base_plain": EmptyBase(t["base_plain"])}
    osm = folium.TileLayer(OSM_URL, name=t["base_osm"], attr=OSM_ATTRIBUTION, overlay=False,
                           show=False, max_zoom=19, control=True)
    layers["base_osm"] = osm
    for collection, show in OVERLAYS:
        layers[collection] = VectorTiles(collection, t[f"layer_{collection}"], show)
    for layer in layers.values():
        fmap.add_child(layer)
    control = folium.LayerControl(position="topleft" if rtl else "topright", collapsed=True,
                                  autoZIndex=False)
    fmap.add_child(control)
    fmap.add_child(Start(fmap, control, layers))
    figure.html.add_child(Raw(templates.get_template("panel.html").render(
        t=t, legend=_legend(t), config_json=_json_for_html(_config(lang, bounds, assets, ruleset)))),
        name="panel")
    return figure.render()


# The sign-in controls at the end of the header bar (webmap/static/signin.js runs them).
SESSION = Markup(
    '<div class="session" id="session">'
    '<span id="session-user" class="session-user" hidden></span>'
    '<button id="signin-open" class="bar-button" type="button" aria-haspopup="dialog">'
    '{signin}</button>'
    '<button id="signout" class="bar-button" type="button" hidden>{signout}</button>'
    '<p id="session-status" class="visually-hidden" role="status" aria-live="polite"></p>'
    '</div>')


def _with_session(header: str, t: dict) -> str:
    """The rendered header with the sign-in controls before its end (texts escaped)."""
    head, end, tail = header.rpartition("</header>")
    if not end:
        raise ValueError("the header template has no </header>")
    controls = str(SESSION.format(signin=t["si_open"], signout=t["si_signout"]))
    return head + controls + end + tail     # str: adding Markup would escape the header


def _relative(import_map: dict) -> dict:
    """Import-map URLs relative to the page ("./static/...")."""
    return {"imports": {name: "./" + url.lstrip("/")
                        for name, url in import_map["imports"].items()}}


CITY_BOUNDS = ("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
               "FROM (SELECT ST_Extent(geom) AS e FROM municipalities) x")


def city_bounds(db: Database) -> tuple[float, float, float, float]:
    """The extent of the municipalities (a default box when empty or unreachable)."""
    try:
        row = db.fetch_one(CITY_BOUNDS, [])
    except Unavailable:
        LOGGER.warning("map page without the city extent (database unavailable)")
        return DAMMAM
    if not row or row[0] is None:
        return DAMMAM
    return tuple(round(float(v), 6) for v in row)


class MapPage:
    """The / endpoint: pages rendered once per language and city extent, then reused."""

    def __init__(self, db: Database, assets: Assets, ruleset=None):
        """Remember the database, the served files and the permit rules; render nothing yet."""
        self.db, self.assets, self.ruleset = db, assets, ruleset
        self._render = lru_cache(maxsize=8)(self._render_uncached)

    def _render_uncached(self, lang: str, bounds: tuple) -> str:
        """Render a page (cached by language and extent)."""
        return render(lang, bounds, self.assets, self.ruleset)

    async def endpoint(self, request: Request) -> HTMLResponse:
        """GET /: the map in the language of ?lang= (Arabic by default)."""
        lang = i18n.lang_of(request.query_params.get("lang"))
        bounds = await run_in_threadpool(city_bounds, self.db)
        html = await run_in_threadpool(self._render, lang, bounds)
        return HTMLResponse(html, headers={"Content-Security-Policy": CSP,
                                           "Cache-Control": "no-cache",
                                           "X-Content-Type-Options": "nosniff",
                                           "Referrer-Policy": "same-origin",
                                           "Content-Language": lang})
