"""bbox selects the features whose geometry intersects the box (OGC API Features Part 1,
/req/core/fc-bbox-response), not those whose envelope does: checked against shapely on the
geometries themselves, read from the database, for polygons, lines and points; on our GeoJSON
path and on pygeoapi's (JSON-LD, through the provider).

Both sides use the same semantics: the box and the stored EPSG:4326 geometries on one
longitude/latitude plane (PostGIS ST_Intersects and shapely are both GEOS predicates on the
same doubles).
"""
import random

import pytest
import shapely
from shapely.geometry import LineString, Point, box

LAYERS = ("districts", "zoning", "constraints", "streets", "parcels", "facilities")
SEED = 13
RANDOM_BOXES = 40
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


@pytest.fixture(scope="module")
def geometries(db) -> dict[str, dict[int, object]]:
    """Every geometry of the layers under test, by id, as shapely reads its WKB."""
    found = {}
    for layer in LAYERS:
        rows = db.execute(f"SELECT id, ST_AsBinary(geom) FROM {layer}").fetchall()
        found[layer] = {key: shapely.from_wkb(bytes(wkb)) for key, wkb in rows}
    return found


@pytest.fixture(scope="module")
def extent(geometries) -> tuple[float, float, float, float]:
    """The city's lon/lat bounds."""
    return shapely.union_all([shapely.envelope(g) for g in geometries["districts"].values()]
                             ).bounds


def _shape(west, south, east, north):
    """The box as GEOS sees it: a polygon, or a line or point when it is flat."""
    if west == east and south == north:
        return Point(west, south)
    if west == east or south == north:
        return LineString([(west, south), (east, north)])
    return box(west, south, east, north)


def expected(geometries: dict, corners) -> set[int]:
    """Ids of the geometries that intersect the box; west > east crosses the antimeridian."""
    west, south, east, north = corners
    parts = ([_shape(west, south, east, north)] if west <= east else
             [_shape(west, south, 180, north), _shape(-180, south, east, north)])
    return {key for key, geom in geometries.items() if any(geom.intersects(p) for p in parts)}


def _envelope_only_boxes(geometries: dict) -> list[tuple[int, tuple]]:
    """(id, box) pairs: a small box inside a feature's envelope that does not touch the
    feature itself (concave polygons, diagonal streets)."""
    boxes = []
    for key, geom in geometries.items():
        outside = shapely.envelope(geom).difference(geom)
        if outside.area <= 0:
            continue
        inside = outside.representative_point()
        half = geom.distance(inside) / 2
        if half > 0:
            boxes.append((key, (inside.x - half, inside.y - half, inside.x + half,
                                inside.y + half)))
    return boxes


def random_boxes(extent, count: int, seed: int) -> list[tuple]:
    """Boxes of random size and place over (and a little beyond) the city, seeded."""
    west, south, east, north = extent
    width, height = east - west, north - south
    rng = random.Random(seed)
    boxes = []
    for _ in range(count):
        w, h = width * rng.uniform(0.002, 0.5), height * rng.uniform(0.002, 0.5)
        x = rng.uniform(west - 0.1 * width, east + 0.1 * width - w)
        y = rng.uniform(south - 0.1 * height, north + 0.1 * height - h)
        boxes.append((x, y, x + w, y + h))
    return boxes


def all_boxes(extent, geometries) -> list[tuple]:
    """Random boxes, boxes touching only envelopes, flat boxes, antimeridian boxes."""
    west, south, east, north = extent
    mid_x, mid_y = (west + east) / 2, (south + north) / 2
    boxes = random_boxes(extent, RANDOM_BOXES, SEED)
    for layer in ("zoning", "constraints", "streets", "districts"):
        boxes += [corners for _, corners in _envelope_only_boxes(geometries[layer])[:6]]
    boxes += [(mid_x, mid_y, mid_x, mid_y), (west, mid_y, east, mid_y), (mid_x, south, mid_x, north)]
    boxes += [(mid_x, south, mid_x - (east - west) / 10, north),   # all but a strip of the city
              (179.5, -1, -179.5, 1)]                               # far from it
    return boxes


def _page_ids(client, layer: str, query: str) -> tuple[set[int], int | None, int]:
    """Ids of every page of an items request (following next links), its numberMatched and
    how many features the pages returned in all."""
    url, ids, returned, matched = f"/ogc/collections/{layer}/items?{query}", set(), 0, None
    while url:
        response = client.get(url.replace("http://testserver", ""))
        assert response.status_code == 200, response.text
        body = response.json()
        matched = body.get("numberMatched", matched)
        ids |= {feature["id"] for feature in body["features"]}
        returned += body["numberReturned"]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    return ids, matched, returned


def _bbox(corners) -> str:
    return ",".join(repr(float(v)) for v in corners)


@pytest.mark.parametrize("layer", LAYERS)
def test_bbox_returns_exactly_the_features_whose_geometry_intersects_it(client, geometries,
                                                                      extent, layer):
    boxes = all_boxes(extent, geometries)
    differing = 0
    for corners in boxes:
        want = expected(geometries[layer], corners)
        ids, matched, returned = _page_ids(client, layer, f"bbox={_bbox(corners)}&limit=1000")
        assert ids == want, corners
        assert matched == returned == len(want), corners
        envelope = expected({k: shapely.envelope(g) for k, g in geometries[layer].items()},
                            corners)
        differing += envelope != want
    if layer not in ("facilities",):   # points are their own envelopes
        assert differing > 0   # the boxes do tell intersection from envelope overlap


@pytest.mark.parametrize("layer", ["zoning", "streets", "constraints"])
def test_a_box_inside_a_features_envelope_but_off_the_feature_does_not_return_it(
        client, geometries, layer):
    cases = _envelope_only_boxes(geometries[layer])[:5]
    assert cases
    for key, corners in cases:
        ids, _, _ = _page_ids(client, layer, f"bbox={_bbox(corners)}&limit=1000")
        assert key not in ids
        assert shapely.envelope(geometries[layer][key]).intersects(box(*corners))


def test_number_matched_is_the_sum_of_the_pages(client, geometries, extent):
    west, south, east, north = extent
    corners = (west, south, (west + east) / 2, (south + north) / 2)
    want = expected(geometries["parcels"], corners)
    ids, matched, returned = _page_ids(client, "parcels", f"bbox={_bbox(corners)}&limit=97")
    assert len(want) > 300
    assert ids == want
    assert matched == returned == len(want)


def test_a_six_number_bbox_uses_its_horizontal_corners(client, geometries, extent):
    west, south, east, north = extent
    corners = (west, south, (west + east) / 2, (south + north) / 2)
    query = f"bbox={corners[0]},{corners[1]},-5,{corners[2]},{corners[3]},50&limit=1000"
    ids, matched, _ = _page_ids(client, "zoning", query)
    assert ids == expected(geometries["zoning"], corners)
    assert matched == len(ids)


def test_bbox_crs_epsg_4326_is_latitude_first_and_intersects(client, geometries, extent):
    for corners in random_boxes(extent, 10, SEED + 1):
        west, south, east, north = corners
        query = f"bbox={south},{west},{north},{east}&bbox-crs={EPSG}4326&limit=1000"
        ids, _, _ = _page_ids(client, "zoning", query)
        assert ids == expected(geometries["zoning"], corners)


def test_a_projected_bbox_intersects_in_its_own_crs(client, db, extent):
    """A UTM 39N box: compared with shapely on the geometries PostGIS projected to UTM 39N."""
    rows = db.execute("SELECT id, ST_AsBinary(ST_Transform(geom, 32639)) FROM zoning").fetchall()
    projected = {key: shapely.from_wkb(bytes(wkb)) for key, wkb in rows}
    bounds = shapely.union_all(list(projected.values())).bounds
    for corners in random_boxes(bounds, 10, SEED + 2):
        query = f"bbox={_bbox(corners)}&bbox-crs={EPSG}32639&limit=1000"
        ids, matched, _ = _page_ids(client, "zoning", query)
        assert ids == expected(projected, corners), corners
        assert matched == len(ids)


@pytest.mark.parametrize("layer", ["districts", "streets"])
def test_pygeoapis_pages_select_the_same_features(client, geometries, extent, layer):
    """HTML and JSON-LD pages come from pygeoapi through our provider: the same selection.
    (Boxes with no feature are left out: pygeoapi's JSON-LD of an empty page is not JSON.)"""
    boxes = [c for c in all_boxes(extent, geometries) if expected(geometries[layer], c)]
    assert len(boxes) > 20
    for corners in boxes:
        response = client.get(f"/ogc/collections/{layer}/items?f=jsonld&limit=1000"
                              f"&bbox={_bbox(corners)}")
        assert response.status_code == 200, response.text
        ids = {int(item["@id"].rsplit("/", 1)[1]) for item in response.json().get("features", [])}
        assert ids == expected(geometries[layer], corners), corners


@pytest.mark.parametrize("query", [
    "bbox=-1e9,-1e9,1e9,1e9&bbox-crs=" + EPSG + "32639",   # outside what UTM can express
    "bbox=1,2,3&bbox-crs=" + EPSG + "32639",
    "bbox=a,b,c,d&bbox-crs=" + EPSG + "3857",
    "bbox=1,2,3,4&bbox-crs=" + EPSG + "2100",
    "bbox=1,2,3,4&bbox-crs=EPSG:32639",
    "bbox=1,5,3,4&bbox-crs=" + EPSG + "3857",
    "bbox-crs=" + EPSG + "3857",
])
def test_a_malformed_or_unusable_bbox_crs_request_is_a_400(client, query):
    response = client.get(f"/ogc/collections/zoning/items?{query}")
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "InvalidParameterValue"
    assert "Traceback" not in response.text and "transform" not in body["descriptions"]["en"]
