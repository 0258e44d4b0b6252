"""The map page over HTTP: offline (no host named but the optional OpenStreetMap layer), its
files served by us and cached, both languages complete, no personal field in what it sends."""
import json
import re
from pathlib import Path

import pytest

from webmap import i18n
from webmap.assets import VENDOR, Assets

STATIC = Path(__file__).resolve().parent.parent / "webmap" / "static"
URL = re.compile(r"""(?:https?:)?//[^\s"'<>)\\]+""")
ALLOWED_HOSTS = ("tile.openstreetmap.org", "www.openstreetmap.org")


@pytest.fixture(scope="module")
def pages(client):
    """The page in Arabic (default) and English."""
    return {"ar": client.get("/"), "en": client.get("/?lang=en")}


def _config(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="amanat-config">(.*?)</script>', html,
                      re.S)
    return json.loads(found.group(1))


def test_the_page_is_arabic_rtl_by_default_and_english_on_request(pages):
    assert pages["ar"].status_code == pages["en"].status_code == 200
    assert '<html lang="ar" dir="rtl">' in pages["ar"].text
    assert '<html lang="en" dir="ltr">' in pages["en"].text
    assert pages["ar"].headers["content-language"] == "ar"


def test_an_unknown_language_falls_back_to_arabic(client):
    assert '<html lang="ar" dir="rtl">' in client.get("/?lang=xx").text


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_page_names_no_host_but_the_optional_openstreetmap(pages, lang):
    hosts = {re.sub(r"^(?:https?:)?//", "", url).split("/")[0] for url in URL.findall(pages[lang].text)}
    assert hosts <= set(ALLOWED_HOSTS), hosts


def test_a_content_security_policy_keeps_the_browser_on_this_server(pages):
    policy = pages["ar"].headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy
    assert "https://tile.openstreetmap.org" in policy       # images of the optional layer only


def test_every_file_the_page_names_is_served_and_cached_for_a_year(client, pages):
    html = pages["en"].text
    paths = set(re.findall(r'(?:src|href)="(static/[^"]+)"', html))
    paths |= {url.lstrip("./") for url in _config(html)["psvCss"]}
    paths |= {url[2:] for url in json.loads(re.search(
        r'<script type="importmap">(.*?)</script>', html).group(1))["imports"].values()}
    assert len(paths) >= 10
    for path in paths:
        response = client.get("/" + path)
        assert response.status_code == 200, path
        assert "immutable" in response.headers["cache-control"]


def test_files_not_listed_are_not_served(client):
    version = Assets.load().version
    for path in ("vendor/leaflet/package.json", "../page.py", "vendor/../../search.py",
                 "map/%2e%2e/page.py", "nothing.js"):
        response = client.get(f"/static/{version}/{path}")
        assert response.status_code == 404, path


def test_every_vendor_file_is_installed():
    assert not Assets.load().missing, "run `make install` (webmap/install-assets.sh)"
    assert len(VENDOR) >= 15


def test_the_page_sends_no_personal_field(pages):
    for page in pages.values():
        assert "holder_national_id" not in page.text and "holder_phone" not in page.text


def test_both_languages_have_every_label():
    assert set(i18n.TEXT["ar"]) == set(i18n.TEXT["en"])
    assert all(value.strip() for lang in i18n.LANGS for value in i18n.TEXT[lang].values())


def test_every_label_the_scripts_use_exists():
    used = set()
    for script in ("map.js", "tools.js", "panorama.js", "report.js"):
        used |= set(re.findall(r"""\bt\(["']([a-z_0-9-]+)["']\s*[,)]""",
                               (STATIC / script).read_text()))
    assert used and used <= set(i18n.TEXT["en"]), used - set(i18n.TEXT["en"])


def test_the_page_tells_the_browser_what_it_needs(pages):
    config = _config(pages["en"].text)
    ids = [layer["id"] for layer in config["layers"]]
    assert {"districts", "streets", "parcels", "zoning", "constraints", "facilities",
            "licenses"} <= set(ids)
    parcels = config["layers"][ids.index("parcels")]
    assert parcels["url"].endswith("/tiles/WebMercatorQuad/{z}/{y}/{x}?f=mvt")
    assert parcels["minzoom"] >= 14
    assert len(config["bounds"]) == 4 and config["rules"] and config["activities"]
    assert config["text"]["check_parcel"] == "Check this parcel"


def test_the_page_is_small(pages):
    assert len(pages["ar"].content) < 100_000


# GET /districts/{id}: the facts of the district popup

def test_a_district_has_its_names_municipality_area_and_counts(client, db):
    ident, code, name_ar, municipality, area, parcels, licences, active = db.execute("""
        SELECT d.id, d.code, d.name_ar, m.name_en, ST_Area(d.geom_utm),
               (SELECT count(*) FROM parcels p WHERE p.district_id = d.id),
               (SELECT count(*) FROM licenses l JOIN parcels p ON p.id = l.parcel_id
                 WHERE p.district_id = d.id),
               (SELECT count(*) FROM licenses l JOIN parcels p ON p.id = l.parcel_id
                 WHERE p.district_id = d.id AND l.status = 'active')
        FROM districts d JOIN municipalities m ON m.id = d.municipality_id
        ORDER BY d.id DESC LIMIT 1""").fetchone()
    response = client.get(f"/districts/{ident}")
    assert response.status_code == 200 and "max-age" in response.headers["cache-control"]
    body = response.json()
    assert (body["id"], body["code"], body["name_ar"]) == (ident, code, name_ar)
    assert body["municipality"]["name_en"] == municipality
    assert abs(body["area_m2"] - area) < 1 and body["area_km2"] == round(area / 1e6, 3)
    assert body["area_ha"] == round(area / 1e4, 1)
    assert (body["parcels"], body["licenses"], body["active_licenses"]) == (parcels, licences,
                                                                            active)
    assert 0 < active < licences and parcels > 0
    west, south, east, north = body["bbox"]
    assert west < east and south < north


def test_a_district_summary_sends_no_personal_field(client, db):
    ident = db.execute("SELECT min(id) FROM districts").fetchone()[0]
    text = client.get(f"/districts/{ident}").text
    assert "holder" not in text and "phone" not in text


@pytest.mark.parametrize("path", ["/districts/999999", "/districts/0", "/districts/99999999999",
                                  "/districts/abc", "/districts/-1", "/districts/1.5"])
def test_an_unknown_district_is_a_404_json_document(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["code"] == "NotFound"


def test_a_district_summary_reads_no_whole_table(db):
    """The counts go through indexes: no sequential scan of parcels or licences per click."""
    from webmap.districts import SUMMARY

    ident = db.execute("SELECT district_id FROM parcels GROUP BY 1 ORDER BY count(*) DESC"
                       " LIMIT 1").fetchone()[0]
    # the property is that indexes can answer it, whatever the planner prefers on a small table
    # (other tests leave few licences: a sequential scan of 20 rows is then its right choice)
    db.execute("SET enable_seqscan = off")
    try:
        plan = "\n".join(row[0] for row in db.execute("EXPLAIN " + SUMMARY, {"id": ident}))
    finally:
        db.execute("RESET enable_seqscan")
    assert "parcels_district_id_idx" in plan and "licenses_parcel_id_idx" in plan
    assert "Seq Scan on parcels" not in plan and "Seq Scan on licenses" not in plan


def test_the_district_popup_and_street_view_have_their_labels_in_both_languages():
    script = (STATIC / "map.js").read_text()
    facts = re.search(r'\[("municipality", [^\]]+)\]\.forEach', script).group(1)
    keys = {f"f_{name}" for name in re.findall(r'"([a-z_]+)"', facts)}
    viewer = re.search(r"VIEWER_TEXTS = \[([^\]]+)\]", (STATIC / "panorama.js").read_text())
    keys |= {"psv_" + re.sub(r"[A-Z]", lambda c: "_" + c.group(0).lower(), name)
             for name in re.findall(r'"([A-Za-z]+)"', viewer.group(1))}
    assert len(keys) >= 20
    for lang in i18n.LANGS:
        assert keys <= set(i18n.TEXT[lang]), keys - set(i18n.TEXT[lang])
