"""The web map draws its vector layers from the dataset tileset (/ogc/tiles): one request per
tile position for all the layers shown, and the layer control decides which collections are
asked for. Real Debian chromium, real server."""
import re
from urllib.parse import parse_qs, urlparse

import pytest

from tests.support.browser import ARTIFACTS, MapServer, Watch, require_chromium

require_chromium()

DEFAULT = ["parcels", "streets", "districts", "facilities", "licenses"]
TILE = re.compile(r"/ogc/tiles/WebMercatorQuad/(\d+)/(\d+)/(\d+)$")


@pytest.fixture(scope="module")
def server(database_url, tmp_path_factory):
    """`amanat serve` on the test city."""
    running = MapServer(tmp_path_factory.mktemp("webmap-tiles"), database_url, "--no-sample")
    yield running
    running.stop()


@pytest.fixture
def page(browser, server, request):
    """A fresh page recording every tile request."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    opened.watch = Watch(opened, server.url)
    opened.asked = []
    opened.on("request", lambda r: opened.asked.append(r.url) if "/tiles/" in r.url else None)
    yield opened
    ARTIFACTS.mkdir(exist_ok=True)
    opened.screenshot(path=str(ARTIFACTS / f"webmap-tiles-{request.node.name}.png"))
    context.close()
    opened.watch.assert_clean()


def tile_requests(urls: list[str]) -> list[tuple[tuple, list[str]]]:
    """(z, y, x) and the collections of each tile request."""
    found = []
    for url in urls:
        parts = urlparse(url)
        match = TILE.search(parts.path)
        assert match, f"a tile request outside the dataset tileset: {url}"
        found.append((match.groups(), parse_qs(parts.query)["collections"][0].split(",")))
    return found


def open_map(page, server, query: str) -> None:
    page.goto(f"{server.url}/?{query}")
    page.wait_for_load_state("networkidle")


def test_one_request_per_tile_position_for_every_layer_shown(page, server, db):
    lon, lat = db.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p "
                          "FROM parcels ORDER BY id LIMIT 1) s").fetchone()
    open_map(page, server, f"lang=en&z=17&ll={lat},{lon}")
    requests = tile_requests(page.asked)
    positions = [position for position, _ in requests]
    assert len(requests) >= 6 and len(positions) == len(set(positions))
    assert all(collections == DEFAULT for _, collections in requests)
    assert sum(status == 200 for status in page.watch.tiles) >= 4


def test_the_layer_control_changes_the_collections_asked_for(page, server):
    open_map(page, server, "lang=en&z=14")
    page.asked.clear()
    page.locator(".leaflet-control-layers").hover()
    page.locator(".leaflet-control-layers-overlays label", has_text="Zoning").locator(
        "input").check()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    requests = tile_requests(page.asked)
    assert requests and all(collections == ["zoning", *DEFAULT] for _, collections in requests)
    assert "zoning" in page.url                   # the URL keeps the layers shown


def test_no_tile_is_asked_for_when_every_layer_is_hidden(page, server):
    open_map(page, server, "lang=en&z=14&layers=districts")
    assert {tuple(c) for _, c in tile_requests(page.asked)} == {("districts",)}
    page.locator(".leaflet-control-layers").hover()
    page.locator(".leaflet-control-layers-overlays label", has_text="Districts").locator(
        "input").uncheck()
    page.asked.clear()
    page.mouse.move(640, 400)
    page.mouse.down()
    page.mouse.move(300, 200, steps=5)           # pan to where no tile was loaded yet
    page.mouse.up()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    assert page.asked == []
