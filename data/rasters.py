"""Sample-city rasters drawn from the loaded layers, so they line up with the vectors.

Three Cloud-Optimized GeoTIFFs in UTM 39N (EPSG:32639, the layers' `geom_utm`):
an orthophoto-like RGB image (blocks, parcels with roofs and shadows, streets with markings,
the wadi bed, trees in the parks), a DEM (a plain sloping gently to the Gulf with the wadi of the
flood zone cut into it as a real depression) and the hillshade of that DEM.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import psycopg
import shapely
from rasterio.features import rasterize
from rasterio.transform import Affine, from_origin

from layers import cog
from layers.rasters import Raster, register_file

UTM_CRS = "EPSG:32639"
ORTHO_RES_M = 1.0
DEM_RES_M = 5.0
MAX_PIXELS = 40_000_000           # the orthophoto gets coarser than 1 m beyond this
MARGIN_M = 60.0
SEED = 20_260_601

LAND_USES = ("residential", "commercial", "mixed", "industrial", "public", "park", "vacant")
# material index -> RGB; parcels add their own ground and roof colours after these
SAND, BLOCK, WADI_MEDIUM, WADI_HIGH, VERGE, ASPHALT, MARKING = range(7)
MATERIALS = np.array([(204, 183, 146), (186, 178, 163), (182, 160, 124), (150, 134, 110),
                      (168, 166, 160), (74, 74, 78), (226, 226, 214)], np.uint8)
GROUND = {"residential": (196, 186, 166), "commercial": (178, 176, 170),
          "mixed": (188, 180, 166), "industrial": (170, 164, 150), "public": (192, 186, 170),
          "park": (96, 128, 66), "vacant": (210, 190, 152)}
ROOF = {"residential": (232, 226, 212), "commercial": (206, 208, 212),
        "mixed": (222, 214, 200), "industrial": (168, 180, 192), "public": (236, 230, 218)}
SETBACK_M = {"residential": 3.0, "commercial": 1.5, "mixed": 2.0, "industrial": 5.0,
             "public": 8.0}
SHADOW_M = (3.0, 4.0)             # afternoon sun: shadows fall east-north-east


@dataclass(frozen=True)
class Scene:
    """The layers the rasters are drawn from, in UTM 39N."""

    bounds: tuple[float, float, float, float]
    parcels: np.ndarray
    land_use: np.ndarray
    zoning: np.ndarray
    streets: np.ndarray
    street_kind: np.ndarray
    street_width: np.ndarray
    street_reserve: np.ndarray
    flood_high: shapely.Geometry
    flood_medium: shapely.Geometry


@dataclass(frozen=True)
class Grid:
    """A north-up pixel grid over the scene."""

    transform: Affine
    width: int
    height: int

    @classmethod
    def over(cls, bounds, resolution: float) -> Grid:
        """The grid covering `bounds` at `resolution` metres."""
        x0, y0, x1, y1 = bounds
        width, height = int(np.ceil((x1 - x0) / resolution)), int(np.ceil((y1 - y0) / resolution))
        return cls(from_origin(x0, y1, resolution, resolution), width, height)

    @property
    def profile(self) -> dict:
        """rasterio profile entries of this grid."""
        return {"crs": UTM_CRS, "transform": self.transform}

    def burn(self, geoms, values, out: np.ndarray) -> np.ndarray:
        """Rasterize geometries with per-geometry values into `out` (later ones on top)."""
        shapes = [(g, int(v)) for g, v in zip(geoms, values, strict=True)
                  if g is not None and not g.is_empty]
        if shapes:
            rasterize(shapes, out=out, transform=self.transform, all_touched=False)
        return out


def _geoms(conn, query: str) -> list[tuple]:
    """Rows of a query whose first column is WKB, with the WKB decoded."""
    rows = conn.execute(query).fetchall()
    return [(shapely.from_wkb(bytes(row[0])), *row[1:]) for row in rows]


def read_scene(dsn: str) -> Scene:
    """Read parcels, zoning, streets and flood zones (UTM) from the database."""
    with psycopg.connect(dsn) as conn:
        box = conn.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                           "(SELECT ST_Extent(geom_utm) e FROM parcels) x").fetchone()
        if box is None or box[0] is None:
            raise ValueError("the database holds no parcels to draw")
        parcels = _geoms(conn, "SELECT ST_AsBinary(geom_utm), land_use FROM parcels ORDER BY id")
        zoning = _geoms(conn, "SELECT ST_AsBinary(geom_utm) FROM zoning ORDER BY id")
        streets = _geoms(conn, "SELECT ST_AsBinary(geom_utm), kind, width_m::float, row_m::float"
                               " FROM streets ORDER BY id")
        floods = _geoms(conn, "SELECT ST_AsBinary(geom_utm), risk_level FROM constraints"
                              " WHERE kind = 'flood_risk'")
    empty = shapely.GeometryCollection()
    flood = {level: geom for geom, level in floods}
    x0, y0, x1, y1 = box
    return Scene(
        bounds=(x0 - MARGIN_M, y0 - MARGIN_M, x1 + MARGIN_M, y1 + MARGIN_M),
        parcels=np.array([row[0] for row in parcels], dtype=object),
        land_use=np.array([row[1] for row in parcels]),
        zoning=np.array([row[0] for row in zoning], dtype=object),
        streets=np.array([row[0] for row in streets], dtype=object),
        street_kind=np.array([row[1] for row in streets]),
        street_width=np.array([row[2] for row in streets]),
        street_reserve=np.array([row[3] for row in streets]),
        flood_high=flood.get("high", empty), flood_medium=flood.get("medium", empty))


def ortho_resolution(bounds) -> float:
    """1 m, or coarser so that the orthophoto stays within MAX_PIXELS."""
    area = (bounds[2] - bounds[0]) * (bounds[3] - bounds[1])
    return max(ORTHO_RES_M, round(float(np.sqrt(area / MAX_PIXELS)), 2))


# Orthophoto

def _materials(scene: Scene, grid: Grid) -> np.ndarray:
    """Material index of every pixel: ground, blocks, wadi, parcels, roofs, streets."""
    n = scene.parcels.size
    out = np.full((grid.height, grid.width), SAND, np.int32)
    grid.burn([scene.flood_medium], [WADI_MEDIUM], out)
    grid.burn(scene.zoning, np.full(scene.zoning.size, BLOCK), out)
    grid.burn(scene.parcels, len(MATERIALS) + np.arange(n), out)
    grid.burn([scene.flood_high], [WADI_HIGH], out)   # the wadi bed shows through the plots
    grid.burn(_footprints(scene), len(MATERIALS) + n + np.arange(n), out)
    reserve = shapely.buffer(scene.streets, scene.street_reserve / 2, cap_style="flat")
    road = shapely.buffer(scene.streets, scene.street_width / 2, cap_style="flat")
    grid.burn(reserve, np.full(reserve.size, VERGE), out)
    grid.burn(road, np.full(road.size, ASPHALT), out)
    _markings(scene, grid, out)
    return out


def _footprints(scene: Scene) -> np.ndarray:
    """Building footprints: parcels less a setback by land use (none on parks and vacant land)."""
    setback = np.array([SETBACK_M.get(use, np.nan) for use in scene.land_use])
    built = ~np.isnan(setback)
    out = np.full(scene.parcels.size, None, dtype=object)
    out[built] = shapely.buffer(scene.parcels[built], -setback[built], join_style="mitre")
    return out


def _markings(scene: Scene, grid: Grid, out: np.ndarray) -> None:
    """Dashed centre lines (6 m on, 6 m off) on arterials and collectors."""
    marked = scene.streets[scene.street_kind != "local"]
    ends = np.array([shapely.get_coordinates(line)[[0, -1]] for line in marked]).reshape(-1, 4)
    angle = np.round(np.degrees(np.arctan2(ends[:, 3] - ends[:, 1], ends[:, 2] - ends[:, 0]))
                     % 180).astype(int)
    for direction in np.unique(angle).tolist():
        lines = grid.burn(shapely.buffer(marked[angle == direction], 0.3 * grid.transform.a),
                          np.ones(int((angle == direction).sum())),
                          np.zeros(out.shape, np.uint8))
        rows, cols = np.nonzero(lines)
        x, y = grid.transform @ (cols + 0.5, rows + 0.5)
        theta = np.radians(direction)
        dash = np.mod(x * np.cos(theta) + y * np.sin(theta), 12.0) < 6.0
        out[rows[dash], cols[dash]] = MARKING


def _palette(scene: Scene, rng) -> np.ndarray:
    """RGB of every material index: fixed materials, then per-parcel ground and roof tints."""
    ground = np.array([GROUND[use] for use in scene.land_use], float)
    roof = np.array([ROOF.get(use, GROUND[use]) for use in scene.land_use], float)
    tint = rng.normal(0, 7, (scene.parcels.size, 1))
    roof = roof + tint + rng.normal(0, 2, roof.shape)
    ground = ground + rng.normal(0, 4, ground.shape)
    palette = np.vstack([MATERIALS, ground, roof])
    return np.clip(palette, 0, 255).astype(np.uint8)


def _shade(image: np.ndarray, material: np.ndarray, n_fixed: int, n_parcels: int,
           resolution: float) -> None:
    """Darken the ground north-east of every roof (its shadow)."""
    roof = (material >= n_fixed + n_parcels).astype(np.uint8)
    dx, dy = (int(round(m / resolution)) for m in SHADOW_M)
    shifted = np.zeros_like(roof)
    shifted[:roof.shape[0] - dy, dx:] = roof[dy:, :roof.shape[1] - dx]
    shadow = (shifted == 1) & (roof == 0)
    image[shadow] = (image[shadow] * 0.55).astype(np.uint8)


def _texture(image: np.ndarray, rng) -> np.ndarray:
    """Slow brightness variation and grain, then a slight blur, as a camera would show."""
    h, w = image.shape[:2]
    slow = cv2.resize(rng.normal(1.0, 0.03, (max(2, h // 150), max(2, w // 150))).astype(
        np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    grain = rng.integers(-9, 10, (h, w), dtype=np.int16)
    out = image.astype(np.float32) * slow[..., None] + grain[..., None]
    return cv2.GaussianBlur(np.clip(out, 0, 255).astype(np.uint8), (3, 3), 0)


def _trees(image: np.ndarray, scene: Scene, grid: Grid, rng) -> None:
    """Tree crowns scattered in the parks."""
    parks = scene.parcels[scene.land_use == "park"]
    if parks.size == 0:
        return
    points = shapely.get_coordinates(shapely.points(np.column_stack(
        [rng.uniform(*scene.bounds[0::2], 60 * parks.size),
         rng.uniform(*scene.bounds[1::2], 60 * parks.size)])))
    inside = shapely.contains_xy(shapely.union_all(parks), points[:, 0], points[:, 1])
    cols, rows = ~grid.transform @ (points[inside, 0], points[inside, 1])
    radius = max(1, int(round(3.0 / grid.transform.a)))
    for c, r in zip(cols.astype(int).tolist(), rows.astype(int).tolist(), strict=True):
        cv2.circle(image, (c, r), radius, (48, 78, 40), -1)


def orthophoto(scene: Scene, grid: Grid, seed: int = SEED) -> np.ndarray:
    """The orthophoto as a (3, rows, cols) uint8 array."""
    rng = np.random.default_rng(seed)
    material = _materials(scene, grid)
    image = _palette(scene, rng)[material]
    _shade(image, material, len(MATERIALS), scene.parcels.size, grid.transform.a)
    _trees(image, scene, grid, rng)
    return np.moveaxis(_texture(image, rng), -1, 0)


# Elevation

def _smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    """0 below edge0, 1 above edge1, smooth in between."""
    t = np.clip((x - edge0) / (edge1 - edge0), 0, 1)
    return t * t * (3 - 2 * t)


def elevation(scene: Scene, grid: Grid, seed: int = SEED) -> np.ndarray:
    """Ground height (m): a plain falling to the east-north-east, with the wadi cut into it."""
    rng = np.random.default_rng(seed + 1)
    h, w = grid.height, grid.width
    cols, rows = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    x, y = grid.transform @ (cols, rows)
    x0, y0 = scene.bounds[:2]
    plain = 24.0 - 0.0016 * (x - x0) - 0.0006 * (y - y0)
    bumps = cv2.resize(rng.normal(0, 0.9, (max(2, h // 60), max(2, w // 60))).astype(np.float32),
                       (w, h), interpolation=cv2.INTER_CUBIC)
    core = grid.burn([scene.flood_high], [1], np.zeros((h, w), np.uint8))
    res = grid.transform.a
    outside = cv2.distanceTransform(1 - core, cv2.DIST_L2, 5) * res
    inside = cv2.distanceTransform(core, cv2.DIST_L2, 5) * res
    depth = np.where(core == 1, 2.5 + 1.8 * _smoothstep(0, 25, inside),
                     2.5 * (1 - _smoothstep(0, 170, outside)))
    return (plain + bumps * (1 - 0.7 * core) - depth).astype(np.float32)[None]


def hillshade(dem: np.ndarray, resolution: float, azimuth: float = 315.0,
              altitude: float = 45.0, exaggeration: float = 8.0) -> np.ndarray:
    """Hillshade (uint8, 1-255) of a (1, rows, cols) DEM; the flat plain needs exaggeration."""
    z = dem[0].astype(np.float64) * exaggeration
    dzdy, dzdx = np.gradient(z, resolution)
    slope = np.arctan(np.hypot(dzdx, dzdy))
    aspect = np.arctan2(-dzdx, dzdy)
    az, alt = np.radians(360.0 - azimuth + 90.0), np.radians(altitude)
    shade = np.sin(alt) * np.cos(slope) + np.cos(alt) * np.sin(slope) * np.cos(az - aspect)
    return np.clip(1 + 254 * shade, 1, 255).astype(np.uint8)[None]


# Registration

SAMPLES = (  # id, kind, title
    ("orthophoto", "orthophoto", "Orthophoto, sample city / صورة جوية"),
    ("elevation", "elevation", "Elevation (m), sample city / الارتفاعات"),
    ("hillshade", "hillshade", "Hillshade, sample city / تظليل التضاريس"),
)


def generate_sample_rasters(dsn: str, store: Path, progress: bool = True) -> list[Raster]:
    """Draw the three sample rasters from the database, write them as COGs and register them."""
    from tqdm import tqdm

    scene = read_scene(dsn)
    ortho_grid = Grid.over(scene.bounds, ortho_resolution(scene.bounds))
    dem_grid = Grid.over(scene.bounds, DEM_RES_M)
    store.mkdir(parents=True, exist_ok=True)
    registered = []
    with tempfile.TemporaryDirectory(dir=store, prefix=".sample-") as tmp, \
            tqdm(total=3, desc="sample rasters", unit="raster", disable=not progress) as bar:
        dem = elevation(scene, dem_grid)
        arrays = {"orthophoto": (orthophoto(scene, ortho_grid), ortho_grid),
                  "elevation": (dem, dem_grid),
                  "hillshade": (hillshade(dem, DEM_RES_M), dem_grid)}
        for raster_id, kind, title in SAMPLES:
            array, grid = arrays.pop(raster_id)
            path = Path(tmp) / f"{raster_id}.tif"
            cog.write_array_cog(array, grid.profile, path, kind)
            registered.append(register_file(dsn, store, path, raster_id, title, kind, "sample"))
            bar.update()
    return registered
