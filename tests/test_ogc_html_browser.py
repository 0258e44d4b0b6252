"""The OGC API's HTML pages in a real browser (Debian's chromium driven by Playwright, headless).

One server (`amanat serve`) on a scratch database holding the small sample city. Every HTML
page of the OGC API is opened in Arabic (the default) and in English (`?lang=en`); a page fails
on any request that would leave 127.0.0.1 (routed and aborted), on any sub-request answered
4xx/5xx, on any console error, on the wrong `lang`/`dir`, and on a link into the server that
does not carry the page's language. Screenshots are written to test-artifacts/.
"""
import json
import re
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest

from tests.support.browser import ARTIFACTS, MapServer, Watch, require_chromium
from tests.support.databases import scratch_city

require_chromium()

pytestmark = pytest.mark.slow
# Markup in a district's Arabic name: shown as text by an autoescaping template, else it would
# become an element (and its image request a 404).
MARKUP_NAME = '<img src="x-no-such-image.png">حي الاختبار'
PAGES = {
    "landing": "/ogc/",
    "conformance": "/ogc/conformance",
    "collections": "/ogc/collections",
    "collection": "/ogc/collections/districts",
    "items": "/ogc/collections/districts/items",
    "item": "/ogc/collections/districts/items/{district}",
    "queryables": "/ogc/collections/parcels/queryables",
    "schema": "/ogc/collections/parcels/schema",
    "tiles": "/ogc/collections/districts/tiles",
    "tileset": "/ogc/collections/districts/tiles/WebMercatorQuad/metadata",
    "tilematrixsets": "/ogc/TileMatrixSets",
    "tilematrixset": "/ogc/TileMatrixSets/WebMercatorQuad",
    "openapi": "/ogc/openapi",
    "processes": "/ogc/processes",
    "process": "/ogc/processes/parcel-check",
    "jobs": "/ogc/jobs",
    "job": "/ogc/jobs/{job}",
}
MAPS = {"collection", "items", "item", "tiles"}


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """A scratch database with the sample city, one district named with markup."""
    tmp = tmp_path_factory.mktemp("ogc-html")
    with scratch_city(tmp) as (url, _settings):
        with psycopg.connect(url, autocommit=True) as conn:
            district = conn.execute("UPDATE districts SET name_ar = %s WHERE id = "
                                    "(SELECT min(id) FROM districts) RETURNING id",
                                    [MARKUP_NAME]).fetchone()[0]
        yield url, tmp, district


@pytest.fixture(scope="module")
def server(city):
    """`amanat serve` on the scratch city, with the job of one parcel check (of 127.0.0.1)."""
    url, tmp, district = city
    with psycopg.connect(url) as conn:
        parcel = conn.execute("SELECT parcel_no FROM parcels ORDER BY id LIMIT 1").fetchone()[0]
    running = MapServer(tmp, url, "--no-sample")
    request = urllib.request.Request(
        f"{running.url}/ogc/processes/parcel-check/execution", method="POST",
        data=json.dumps({"inputs": {"parcel_no": parcel}}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        running.job = response.headers["Location"].rsplit("/", 1)[-1]
    running.district = district
    yield running
    running.stop()


class PageWatch(Watch):
    """Watch, plus every sub-request answered with an error status."""

    def __init__(self, page, origin: str):
        super().__init__(page, origin)
        self.failed = []
        page.on("response", lambda r: self.failed.append(f"{r.status} {r.url}")
                if r.status >= 400 else None)
        page.on("requestfailed", lambda r: self.failed.append(f"failed {r.url}")
                if r.url.startswith(origin) else None)

    def assert_clean(self):
        """Nothing left the machine, nothing failed, nothing was logged as an error."""
        super().assert_clean()
        assert self.failed == [], f"failed requests: {self.failed[:5]}"


@pytest.fixture
def browse(browser, server, request):
    """open(path, lang=None, locale="ar-SA") → the loaded page, watched; checked when done."""
    opened = []

    def open_page(path: str, lang: str | None = None, locale: str = "ar-SA"):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale=locale)
        page = context.new_page()
        page.watch = PageWatch(page, server.url)
        query = "f=html" + (f"&lang={lang}" if lang else "")
        page.goto(f"{server.url}{path.format(district=server.district, job=server.job)}?{query}")
        page.wait_for_load_state("networkidle")
        opened.append((context, page))
        return page

    yield open_page
    ARTIFACTS.mkdir(exist_ok=True)
    for number, (context, page) in enumerate(opened):
        page.screenshot(path=str(ARTIFACTS / f"ogc-{request.node.name}-{number}.png"),
                        full_page=True)
        context.close()
        page.watch.assert_clean()


def _internal_links(page, origin: str) -> list[str]:
    """Every link of the page into this server, but the language switch."""
    hrefs = page.eval_on_selector_all("a[href]:not(#other-lang)", "els => els.map(e => e.href)")
    return [href for href in hrefs if href.startswith(origin) and not href.startswith(
        page.url.split("#")[0] + "#")]


def _is_page(href: str) -> bool:
    """Whether a link names an HTML page (f=html, or no f)."""
    return parse_qs(urlsplit(href).query).get("f", ["html"]) == ["html"]


def _assert_language(page, server, lang: str) -> None:
    """lang/dir of the page and the language of every link to a page of the server."""
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")
    links = [href for href in _internal_links(page, server.url) if _is_page(href)]
    assert links, "a page without links to pages of the server"
    wrong = [href for href in links if parse_qs(urlsplit(href).query).get("lang") != [lang]]
    assert wrong == [], f"links that lose lang={lang}: {wrong[:5]}"


@pytest.mark.parametrize("name", PAGES)
def test_every_page_is_arabic_and_right_to_left_by_default_offline(browse, server, name):
    page = browse(PAGES[name])
    _assert_language(page, server, "ar")
    assert re.search("[\u0600-\u06ff]", page.locator("main").inner_text())
    if name in MAPS:
        assert page.locator(".leaflet-container").count() == 1


@pytest.mark.parametrize("name", PAGES)
def test_every_page_is_english_and_left_to_right_with_lang_en_offline(browse, server, name):
    page = browse(PAGES[name], lang="en")
    _assert_language(page, server, "en")
    other = page.locator("#other-lang")
    assert parse_qs(urlsplit(other.get_attribute("href")).query)["lang"] == ["ar"]
    if name in MAPS:
        assert page.locator(".leaflet-container").count() == 1


def test_every_link_into_the_server_answers_without_an_error(browse, server):
    links = set()
    for path in PAGES.values():
        page = browse(path, lang="en")
        # not the execution endpoint (POST only); URL templates are text, not links
        links.update(href.split("#")[0] for href in _internal_links(page, server.url)
                     if not href.split("?")[0].endswith("/execution"))
    answers = {href: page.request.get(href).status for href in sorted(links)}
    assert len(answers) > 40
    broken = {href: status for href, status in answers.items() if status >= 400}
    assert broken == {}


def test_the_language_switch_keeps_the_page_and_its_parameters(browse, server):
    page = browse(PAGES["items"], lang="en")
    page.locator("#other-lang").click()
    page.wait_for_load_state("networkidle")
    query = parse_qs(urlsplit(page.url).query)
    assert urlsplit(page.url).path == PAGES["items"]
    assert query["lang"] == ["ar"] and query["f"] == ["html"]
    assert page.locator("html").get_attribute("dir") == "rtl"


def test_the_next_page_of_items_keeps_english(browse, server):
    page = browse("/ogc/collections/parcels/items", lang="en")
    page.locator("a[rel=next]").click()
    page.wait_for_load_state("networkidle")
    assert parse_qs(urlsplit(page.url).query)["offset"] == ["10"]
    _assert_language(page, server, "en")


def test_accept_language_english_gives_english_and_lang_ar_overrides_it(browse, server):
    english = browse(PAGES["collections"], locale="en-US")
    _assert_language(english, server, "en")
    arabic = browse(PAGES["collections"], lang="ar", locale="en-US")
    _assert_language(arabic, server, "ar")
    other = browse(PAGES["collections"], locale="fr-FR")
    _assert_language(other, server, "ar")


@pytest.mark.parametrize("lang", ["<script>", "xx", "", "en-<b>", "EN%00"])
def test_a_malformed_lang_falls_back_to_arabic(browse, server, lang):
    page = browse(PAGES["collection"], lang=lang)
    assert page.locator("html").get_attribute("lang") == "ar"
    assert page.locator("main script:not([type])").count() == 0


def test_a_malformed_lang_falls_back_to_an_english_accept_language(browse, server):
    page = browse(PAGES["collection"], lang="xx", locale="en-GB")
    assert page.locator("html").get_attribute("lang") == "en"


def test_arabic_data_is_shown_as_text_in_auto_direction_cells(browse, server):
    page = browse(PAGES["items"], lang="en")
    cell = page.locator("td[dir=auto]", has_text="حي الاختبار")
    assert cell.count() == 1
    assert MARKUP_NAME in cell.inner_text()
    assert page.locator("main table img").count() == 0


def test_the_openapi_page_lists_the_operations_without_swagger_from_a_cdn(browse, server):
    page = browse(PAGES["openapi"], lang="en")
    rows = page.locator("#openapi-operations tbody tr")
    assert rows.count() > 20
    assert rows.filter(has_text="/collections/parcels/items").count() >= 1


def test_the_tiles_page_draws_vector_tiles_from_this_server(browse, server):
    page = browse(PAGES["tiles"])
    assert sum(status == 200 for status in page.watch.tiles) >= 1
    assert page.locator(".leaflet-tile-container canvas, .leaflet-tile canvas").count() >= 1


@pytest.mark.parametrize("lang, frame", [("", '<html lang="ar" dir="rtl">'),
                                         ("&lang=en", '<html lang="en" dir="ltr">')])
def test_an_unknown_collection_page_is_a_404_page_in_both_languages(server, lang, frame):
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{server.url}/ogc/collections/no-such-layer?f=html{lang}",
                               timeout=30)
    assert refused.value.code == 404
    page = refused.value.read().decode()
    assert frame in page
    assert "تعذّر إكمال الطلب" in page and "The request could not be completed" in page
    assert "https://" not in page.split("<main", 1)[0]
