"""Deterministic generator of the synthetic sample city (pure: no database access).

The city is laid out in a local metric frame (x, y along the street grid), turned by
ROTATION_DEG about its centre into UTM 39N (EPSG:32639) and transformed to lon/lat
(EPSG:4326). Arterials about every kilometre bound the districts; inside a district, blocks of
two back-to-back parcel rows lie between collector and local streets. All randomness comes from
one `numpy.random.default_rng(seed)`, so (parcels, seed) fixes the output.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import shapely
from pyproj import Geod, Transformer

from data import names

REFERENCE_DATE = dt.date(2026, 6, 1)   # "today" of the sample data: licence status is as of this
UTM_EPSG = 32639
CENTRE_LONLAT = (50.12, 26.38)
ROTATION_DEG = 14.0                    # the street grid is turned counter-clockwise by this
MIN_PARCELS = 100
PARCELS_PER_DISTRICT = 900
GROSS_M2_PER_PARCEL = 1000.0           # a parcel plus its share of local streets and public land
ARTERIAL_RESERVE_M = 60.0              # typical arterial right-of-way, added to the cell side
MERGE_SHARE = 0.055                    # parcels lost by merging neighbours
LICENCE_SHARE = 0.135                  # licences per parcel
INSPECTED_SHARE = 0.2                  # licences with inspection visits
PANORAMA_STEP_M = 10.0

LAND_USES = ("residential", "commercial", "mixed", "industrial", "public", "park", "vacant")
RES, COM, MIX, IND, PUB, PARK, VAC = range(7)
ZONE_CODES = ("R1", "R2", "C1", "M1", "I1", "P1")
R1, R2, C1, M1, I1, P1 = range(6)
PARK_BLOCK, PUBLIC_BLOCK, CIVIC_BLOCK = 1, 2, 3
LOCAL_RESERVES = ((12.0, 15.0), (14.0, 18.0), (16.0, 20.0))         # (width, right-of-way) m
COLLECTOR_RESERVES = ((18.0, 24.0), (20.0, 28.0), (20.0, 32.0))
STATUSES = ("active", "expired", "suspended", "cancelled")
STATUS_SHARES = (0.75, 0.15, 0.06, 0.04)
RESULTS = ("compliant", "violation", "closed", "not_found")
RESULT_SHARES = {  # by licence status
    "active": (0.70, 0.20, 0.05, 0.05), "expired": (0.30, 0.30, 0.25, 0.15),
    "suspended": (0.10, 0.70, 0.15, 0.05), "cancelled": (0.05, 0.25, 0.40, 0.30),
}

# Zoning rules: allowed land uses, allowed ISIC prefixes, coverage %, floors, height m and
# front/side/rear setbacks m (a C1 front setback of None is chosen per district: 0, 3 or 6 m).
ZONE_RULES = {
    "R1": (("residential", "public", "park", "vacant"), ("8510",), 60, 2, 12, 6, 2, 2),
    "R2": (("residential", "public", "park", "vacant"), ("4711", "9601", "9602"),
           60, 4, 16, 6, 2, 2),
    "C1": (("commercial", "mixed", "public", "vacant"),
           ("10", "45", "47", "56", "68", "86", "93", "95", "96"), 80, 6, 24, None, 0, 3),
    "M1": (("residential", "commercial", "mixed", "public", "vacant"),
           ("10", "47", "56", "68", "86", "95", "96"), 70, 4, 18, 4, 2, 2),
    "I1": (("industrial", "commercial", "public", "vacant"),
           ("10", "25", "33", "45", "46", "47", "52", "56", "95"), 70, 2, 15, 10, 3, 3),
    "P1": (("public", "park"), ("84", "85", "86", "91", "93"), 50, 4, 20, 10, 5, 5),
}
# Land-use shares (over LAND_USES) of ordinary parcels by (zone, fronts an arterial).
USE_MIX = {
    (R1, False): (0.85, 0, 0, 0, 0, 0, 0.15), (R2, False): (0.88, 0, 0, 0, 0, 0, 0.12),
    (C1, True): (0, 0.85, 0.05, 0, 0, 0, 0.10), (C1, False): (0, 0.30, 0.60, 0, 0, 0, 0.10),
    (M1, False): (0.30, 0.20, 0.40, 0, 0, 0, 0.10), (I1, False): (0, 0.08, 0, 0.80, 0, 0, 0.12),
}

Columns = dict[str, Any]   # column name -> values (numpy array or list), one entry per row


@dataclass(frozen=True)
class City:
    """The generated city: for every layer table, its columns (geometries under "geom")."""

    municipalities: Columns
    districts: Columns
    streets: Columns
    zoning: Columns
    parcels: Columns
    constraints: Columns
    facilities: Columns
    licenses: Columns
    panoramas: Columns
    inspections: Columns

    def tables(self) -> list[tuple[str, Columns]]:
        """(table, columns) in load order: every table after the tables it references."""
        return [(f.name, getattr(self, f.name)) for f in fields(self)]

    def counts(self) -> dict[str, int]:
        """Number of rows of every table."""
        return {name: len(columns["id"]) for name, columns in self.tables()}


def generate(parcels: int = 20000, seed: int = 1) -> City:
    """The sample city with about `parcels` parcels; the same arguments give the same city."""
    if parcels < MIN_PARCELS:
        raise ValueError(f"parcels must be at least {MIN_PARCELS}")
    rng = np.random.default_rng(seed)
    grid = _grid(rng, parcels)
    frame = _Frame.around(grid.xs[-1], grid.ys[-1])
    dist = _districts(rng, grid)
    blocks, local_streets = _layout(rng, dist)
    streets, street_ends = _street_columns(frame, _arterials(rng, grid) + local_streets)
    lots = _lots(rng, blocks, dist, parcels)
    use, mosques = _land_use(rng, lots)
    parcel_cols = _parcel_columns(frame, dist, lots, use)
    licences, licence_status = _licence_columns(rng, frame, dist, lots, use)
    return City(
        municipalities=_municipality_columns(frame, grid),
        districts=_district_columns(frame, dist),
        streets=streets,
        zoning=_zoning_columns(rng, frame, dist, blocks),
        parcels=parcel_cols,
        constraints=_constraint_columns(rng, frame, grid, dist),
        facilities=_facility_columns(rng, dist, lots, mosques, parcel_cols["geom"]),
        licenses=licences,
        panoramas=_panorama_columns(rng, frame, streets, street_ends, parcels),
        inspections=_inspection_columns(rng, licences, licence_status),
    )


@dataclass(frozen=True)
class _Frame:
    """Local grid metres -> UTM 39N (turned about the city centre) -> lon/lat."""

    cx: float
    cy: float
    east: float
    north: float
    cos: float
    sin: float
    to_lonlat: Transformer

    @classmethod
    def around(cls, width: float, height: float) -> _Frame:
        """The frame of a width x height city centred on CENTRE_LONLAT."""
        east, north = Transformer.from_crs(4326, UTM_EPSG, always_xy=True).transform(*CENTRE_LONLAT)
        turn = np.radians(ROTATION_DEG)
        return cls(width / 2, height / 2, east, north, float(np.cos(turn)), float(np.sin(turn)),
                   Transformer.from_crs(UTM_EPSG, 4326, always_xy=True))

    def utm(self, x, y):
        """Local coordinates to UTM 39N metres."""
        dx, dy = np.asarray(x, float) - self.cx, np.asarray(y, float) - self.cy
        return self.east + self.cos * dx - self.sin * dy, self.north + self.sin * dx + self.cos * dy

    def lonlat(self, x, y):
        """Local coordinates (arrays of any shape) to lon/lat."""
        east, north = self.utm(x, y)
        lon, lat = self.to_lonlat.transform(east.ravel(), north.ravel())
        return np.reshape(lon, east.shape), np.reshape(lat, east.shape)

    def geometry(self, geom):
        """A local-frame geometry in lon/lat."""
        return shapely.transform(geom, lambda c: np.column_stack(self.lonlat(c[:, 0], c[:, 1])))


def _rects(frame: _Frame, x0, y0, x1, y1) -> np.ndarray:
    """Polygons (lon/lat) of local axis-aligned rectangles."""
    xs = np.stack([x0, x1, x1, x0, x0], axis=-1)
    ys = np.stack([y0, y0, y1, y1, y0], axis=-1)
    lon, lat = frame.lonlat(xs, ys)
    return shapely.polygons(np.stack([lon, lat], axis=-1))


def _multi(polygons) -> np.ndarray:
    """One single-part MultiPolygon per polygon."""
    return shapely.multipolygons(np.asarray(polygons, dtype=object)[:, None])


def _uv_to_xy(orient, ox, oy, u, v):
    """District frame (u along the blocks, v across) to the local frame."""
    along_x = np.asarray(orient) == 0
    return ox + np.where(along_x, u, v), oy + np.where(along_x, v, u)


def _rank(groups: np.ndarray) -> np.ndarray:
    """Position of every item within its run of equal consecutive group values."""
    start = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    return np.arange(groups.size) - np.repeat(start, np.diff(np.r_[start, groups.size]))


def _pick_per_group(rng, groups, eligible, quota, fallback) -> np.ndarray:
    """Indices of up to quota[g] random eligible items of every group g, fallback ones last."""
    idx = np.flatnonzero(eligible)
    idx = idx[np.lexsort((rng.random(idx.size), fallback[idx], groups[idx]))]
    return np.sort(idx[_rank(groups[idx]) < quota[groups[idx]]])


@dataclass(frozen=True)
class _Grid:
    """Arterial centrelines (x of the north-south ones, y of the east-west ones) and cells."""

    xs: np.ndarray
    ys: np.ndarray
    width: np.ndarray     # carriageway of the xs arterials, then of the ys arterials
    reserve: np.ndarray   # right-of-way, same order
    muni: np.ndarray      # (rows, cols) municipality index of every cell


def _grid(rng, parcels: int) -> _Grid:
    """Arterial positions and widths; north row West/Central/East Dammam, south Dhahran/Khobar."""
    count = max(6, round(parcels / PARCELS_PER_DISTRICT))
    cols = max(3, round(np.sqrt(count * 1.2)))
    rows = max(2, round(count / cols))
    side = np.sqrt(parcels / (cols * rows) * GROSS_M2_PER_PARCEL) + ARTERIAL_RESERVE_M
    xs = np.r_[0.0, np.cumsum(side * rng.uniform(0.85, 1.15, cols))]
    ys = np.r_[0.0, np.cumsum(side * rng.uniform(0.85, 1.15, rows))]
    width = rng.choice([40.0, 45.0, 50.0, 60.0], size=cols + rows + 2)
    reserve = width + rng.choice([10.0, 15.0, 20.0], size=width.size)
    muni = np.empty((rows, cols), dtype=int)
    south, thirds = rows // 2, [0, round(cols / 3), round(2 * cols / 3), cols]
    for k in range(3):
        muni[south:, thirds[k]:thirds[k + 1]] = k
    muni[:south, :round(cols / 2)], muni[:south, round(cols / 2):] = 3, 4
    return _Grid(xs, ys, width, reserve, muni)


@dataclass(frozen=True)
class _Districts:
    """Per district (index = id - 1): rectangles, municipality and layout choices."""

    cell: np.ndarray       # (n, 4) x0, y0, x1, y1 between arterial centrelines
    inner: np.ndarray      # (n, 4) the cell less the arterial reserves
    muni: np.ndarray
    orient: np.ndarray     # 0: blocks run along x, 1: along y
    industrial: np.ndarray
    seat: np.ndarray       # holds the municipality's hospital, office, police, civil defence
    code: list[str]
    name_ar: list[str]
    name_en: list[str]


def _districts(rng, grid: _Grid) -> _Districts:
    """The arterial cells as districts, ordered by municipality, north to south, west to east."""
    rows, cols = grid.muni.shape
    r, c = np.divmod(np.arange(rows * cols), cols)
    m = grid.muni[r, c]
    order = np.lexsort((c, -r, m))
    r, c, m = r[order], c[order], m[order]
    cell = np.column_stack([grid.xs[c], grid.ys[r], grid.xs[c + 1], grid.ys[r + 1]])
    half, ny = grid.reserve / 2, cols + 1
    inner = cell + np.column_stack([half[c], half[ny + r], -half[c + 1], -half[ny + r + 1]])
    industrial = ((cols >= 4) & (m == 3) & ((c == 0) | ((c == 1) & (cols >= 10)))
                  & (rng.random(r.size) < 0.6))
    centre = (cell[:, :2] + cell[:, 2:]) / 2
    seat = np.zeros(r.size, bool)
    for k in range(len(names.MUNICIPALITIES)):
        idx = np.flatnonzero((m == k) & ~industrial)
        gap = ((centre[idx] - centre[m == k].mean(axis=0)) ** 2).sum(axis=1)
        seat[idx[np.argmin(gap)]] = True
    code, name_ar, name_en = _district_names(rng, m, industrial)
    orient = rng.integers(0, 2, r.size)
    return _Districts(cell, inner, m, orient, industrial, seat, code, name_ar, name_en)


def _district_names(rng, muni: np.ndarray, industrial: np.ndarray):
    """Codes like "KHB-07" and real neighbourhood names, numbered once a list runs out."""
    pools = [rng.permutation(len(names.NEIGHBOURHOODS[m[0]])) for m in names.MUNICIPALITIES]
    seen, named, factories = [0] * len(pools), [0] * len(pools), 0
    codes, name_ar, name_en = [], [], []
    for m, is_industrial in zip(muni.tolist(), industrial.tolist()):
        mcode = names.MUNICIPALITIES[m][0]
        seen[m] += 1
        codes.append(f"{mcode}-{seen[m]:02d}")
        if is_industrial:
            factories += 1
            if factories <= len(names.INDUSTRIAL_ORDINALS):
                ar, en = names.INDUSTRIAL_ORDINALS[factories - 1]
                ar, en = names.INDUSTRIAL[0].format(ar=ar), names.INDUSTRIAL[1].format(en=en)
            else:
                ar, en = (t.format(n=factories) for t in names.INDUSTRIAL_NUMBERED)
        else:
            hoods, k = names.NEIGHBOURHOODS[mcode], named[m]
            named[m] += 1
            ar, en = hoods[pools[m][k % len(hoods)]]
            if k >= len(hoods):
                ar, en = f"{ar} {k // len(hoods) + 1}", f"{en} {k // len(hoods) + 1}"
        name_ar.append(ar)
        name_en.append(en)
    return codes, name_ar, name_en


def _bands(length: float, pitch: float, street: float, collector: float):
    """n blocks along one axis between n-1 street reserves, the middle one a collector."""
    n = max(2, int(round((length + street) / (pitch + street))))
    reserve = np.full(n - 1, street)
    middle = (n - 2) // 2
    reserve[middle] = collector
    size = (length - reserve.sum()) / n
    starts = np.r_[0.0, np.cumsum(size + reserve)]
    return starts, starts + size, reserve, middle


def _layout(rng, dist: _Districts):
    """Blocks of every district (district frame) and its collector and local streets."""
    parts, streets = [], []
    for d in range(dist.muni.size):
        blocks, bands = _district_blocks(rng, dist, d)
        blocks["district"] = np.full(blocks["iv"].size, d)
        parts.append(blocks)
        streets += _district_streets(rng, dist, d, bands)
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}, streets


def _district_blocks(rng, dist: _Districts, d: int):
    """Block grid of one district with zones and the park/public/civic blocks."""
    ix0, iy0, ix1, iy1 = dist.inner[d]
    industrial = dist.industrial[d]
    lu, lv = (ix1 - ix0, iy1 - iy0) if dist.orient[d] == 0 else (iy1 - iy0, ix1 - ix0)
    depth = rng.uniform(40, 55) if industrial else rng.uniform(26, 34)
    length = rng.uniform(220, 320) if industrial else rng.uniform(160, 260)
    local = LOCAL_RESERVES[rng.integers(len(LOCAL_RESERVES))]
    collector = COLLECTOR_RESERVES[rng.integers(len(COLLECTOR_RESERVES))]
    v0, v1, vres, vmid = _bands(lv, 2 * depth, local[1], collector[1])
    u0, u1, ures, umid = _bands(lu, length, local[1], collector[1])
    iv, iu = np.divmod(np.arange(v0.size * u0.size), u0.size)
    if industrial:
        zone = np.full(iv.size, I1)
    else:
        zone = np.where(rng.random(iv.size) < 0.2, R2, R1)
        zone[(iu == umid) | (iu == umid + 1)] = R2
        zone[(iv == vmid) | (iv == vmid + 1)] = M1
        zone[(iv == 0) | (iv == v0.size - 1)] = C1
    role = np.zeros(iv.size, int)
    wanted = [PARK_BLOCK, PUBLIC_BLOCK, CIVIC_BLOCK][:3 if dist.seat[d] else 2]
    pool = np.flatnonzero(zone != C1)
    pool = pool if pool.size >= len(wanted) else np.arange(iv.size)
    role[rng.choice(pool, size=len(wanted), replace=False)] = wanted
    zone[role > 0] = P1
    blocks = {"iv": iv, "number": np.arange(iv.size) + 1, "u0": u0[iu], "u1": u1[iu],
              "v0": v0[iv], "v1": v1[iv], "zone": zone, "role": role, "plan": (iu > umid) * 1,
              "arterial_lo": iv == 0, "arterial_hi": iv == v0.size - 1}
    bands = (v1[:-1] + vres / 2, vmid), (u1[:-1] + ures / 2, umid)
    return blocks, (bands, local, collector)


def _district_streets(rng, dist: _Districts, d: int, layout) -> list[tuple]:
    """Collector and local street centrelines of one district, from arterial to arterial."""
    ((vc, vmid), (uc, umid)), local, collector = layout
    cx0, cy0, cx1, cy1 = dist.cell[d]
    ix0, iy0 = dist.inner[d][:2]
    o = dist.orient[d]
    cu = (cx0 - ix0, cx1 - ix0) if o == 0 else (cy0 - iy0, cy1 - iy0)
    cv = (cy0 - iy0, cy1 - iy0) if o == 0 else (cx0 - ix0, cx1 - ix0)
    lines = [((cu[0], cu[1]), (c, c), k == vmid) for k, c in enumerate(vc)]
    lines += [((c, c), (cv[0], cv[1]), k == umid) for k, c in enumerate(uc)]
    picks = iter(rng.choice(len(names.COLLECTORS), size=2, replace=False))
    out, number = [], 0
    for u, v, is_collector in lines:
        x, y = _uv_to_xy(o, ix0, iy0, np.array(u), np.array(v))
        if is_collector:
            (ar, en), kind, (width, reserve) = names.COLLECTORS[next(picks)], "collector", collector
        else:
            number += 1
            (ar, en), kind = (t.format(n=number) for t in names.LOCAL_STREET), "local"
            width, reserve = local
        out.append((d + 1, kind, ar, en, width, reserve, x, y))
    return out


def _arterials(rng, grid: _Grid) -> list[tuple]:
    """Arterials spanning the city, with a vertex at every crossing arterial."""
    nx, total = grid.xs.size, grid.xs.size + grid.ys.size
    pick, out = rng.permutation(total), []
    for k in range(total):
        j = int(pick[k])
        if j < len(names.ARTERIALS):
            ar, en = names.ARTERIALS[j]
        else:
            ar, en = (t.format(n=j - len(names.ARTERIALS) + 1) for t in names.ARTERIAL_NUMBERED)
        if k < nx:
            x, y = np.full(grid.ys.size, grid.xs[k]), grid.ys
        else:
            x, y = grid.xs, np.full(nx, grid.ys[k - nx])
        out.append((None, "arterial", ar, en, grid.width[k], grid.reserve[k], x, y))
    return out


def _street_columns(frame: _Frame, rows: list[tuple]):
    """Streets table columns, and the local start and end point of every street."""
    counts = np.array([len(r[6]) for r in rows])
    x = np.concatenate([r[6] for r in rows])
    y = np.concatenate([r[7] for r in rows])
    lon, lat = frame.lonlat(x, y)
    owner = np.repeat(np.arange(len(rows)), counts)
    geom = shapely.linestrings(np.column_stack([lon, lat]), indices=owner)
    first, last = np.cumsum(counts) - counts, np.cumsum(counts) - 1
    ends = np.column_stack([x[first], y[first], x[last], y[last]])
    columns = {"id": np.arange(1, len(rows) + 1), "name_ar": [r[2] for r in rows],
               "name_en": [r[3] for r in rows], "kind": [r[1] for r in rows],
               "width_m": np.array([r[4] for r in rows]), "row_m": np.array([r[5] for r in rows]),
               "district_id": [r[0] for r in rows], "geom": geom}
    return columns, ends


def _lots(rng, blocks: dict, dist: _Districts, target: int) -> dict:
    """All parcels in the district frame, ordered by district, block, row and position."""
    rows = _rows(rng, blocks, dist)
    special = _special_lots(blocks)
    row, lo, hi = _split_rows(rng, rows, (target - special["block"].size) / (1 - MERGE_SHARE))
    ends = (lo == rows["u0"][row]).astype(int) + (hi == rows["u1"][row])
    regular = {key: rows[key][row] for key in ("block", "v0", "v1", "front", "arterial")}
    regular.update(u0=lo, u1=hi, role=np.zeros(row.size, int),
                   frontage=hi - lo + (regular["v1"] - regular["v0"]) * ends)
    lots = {key: np.concatenate([regular[key], special[key]]) for key in regular}
    order = np.lexsort((lots["u0"], lots["v0"], lots["block"]))
    lots = {key: value[order] for key, value in lots.items()}
    lots["district"] = blocks["district"][lots["block"]]
    lots["zone"] = blocks["zone"][lots["block"]]
    lots["number"] = _rank(lots["block"]) + 1
    lots["block_no"] = blocks["number"][lots["block"]]
    lots["plan"] = blocks["plan"][lots["block"]]
    return lots


def _rows(rng, blocks: dict, dist: _Districts) -> dict:
    """Two back-to-back rows per ordinary block: row A fronts v0, row B fronts v1."""
    reg = np.flatnonzero(blocks["role"] == 0)
    b = np.repeat(reg, 2)
    front = np.tile([-1, 1], reg.size)
    mid = (blocks["v0"][b] + blocks["v1"][b]) / 2
    factor = np.where(dist.industrial[blocks["district"][b]], 2.5, 1.0)
    return {"block": b, "front": front, "u0": blocks["u0"][b], "u1": blocks["u1"][b],
            "v0": np.where(front < 0, blocks["v0"][b], mid),
            "v1": np.where(front < 0, mid, blocks["v1"][b]),
            "arterial": np.where(front < 0, blocks["arterial_lo"][b], blocks["arterial_hi"][b]),
            "factor": factor * np.repeat(rng.uniform(0.85, 1.2, reg.size), 2)}


def _split_rows(rng, rows: dict, count: float):
    """Cut the rows into about `count` parcels of varied width, then merge a few neighbours."""
    length = rows["u1"] - rows["u0"]
    width = np.sum(length / rows["factor"]) / count
    k = np.maximum(1, np.rint(length / (width * rows["factor"]))).astype(np.int64)
    row = np.repeat(np.arange(k.size), k)
    first, last = np.cumsum(k) - k, np.cumsum(k) - 1
    weight = rng.uniform(0.7, 1.3, row.size)
    total = np.cumsum(weight)
    before = total[first] - weight[first]
    hi = rows["u0"][row] + length[row] * (total - before[row]) / (total[last] - before)[row]
    hi[last] = rows["u1"]
    lo = np.r_[0.0, hi[:-1]]
    lo[first] = rows["u0"]
    flag = rng.random(row.size) < 0.06
    flag[last] = False
    merge = flag & ~np.r_[False, flag[:-1]]
    hi[merge] = hi[np.flatnonzero(merge) + 1]
    keep = ~np.r_[False, merge[:-1]]
    return row[keep], lo[keep], hi[keep]


def _special_lots(blocks: dict) -> dict:
    """A park block is one parcel; a public or civic block is four corner parcels."""
    role = blocks["role"]
    park, pub = np.flatnonzero(role == PARK_BLOCK), np.flatnonzero(role >= PUBLIC_BLOCK)
    q, j = np.repeat(pub, 4), np.tile(np.arange(4), pub.size)
    um, vm = (blocks["u0"][q] + blocks["u1"][q]) / 2, (blocks["v0"][q] + blocks["v1"][q]) / 2
    u0, u1 = np.where(j % 2 == 0, blocks["u0"][q], um), np.where(j % 2 == 0, um, blocks["u1"][q])
    v0, v1 = np.where(j < 2, blocks["v0"][q], vm), np.where(j < 2, vm, blocks["v1"][q])
    pu0, pu1, pv0, pv1 = (blocks[key][park] for key in ("u0", "u1", "v0", "v1"))
    return {"block": np.r_[park, q], "u0": np.r_[pu0, u0], "u1": np.r_[pu1, u1],
            "v0": np.r_[pv0, v0], "v1": np.r_[pv1, v1],
            "front": np.r_[np.full(park.size, -1), np.where(j < 2, -1, 1)],
            "arterial": np.zeros(park.size + q.size, bool),
            "role": np.r_[np.full(park.size, 1), role[q] * 10 + j],
            "frontage": np.r_[2 * (pu1 - pu0 + pv1 - pv0), u1 - u0 + v1 - v0]}


def _land_use(rng, lots: dict):
    """Land use of every parcel, and the parcels turned into neighbourhood mosques."""
    zone, role = lots["zone"], lots["role"]
    arterial = lots["arterial"] & (zone == C1)
    use = np.full(zone.size, RES)
    for (z, on_arterial), shares in USE_MIX.items():
        sel = np.flatnonzero((zone == z) & (arterial == on_arterial) & (role == 0))
        use[sel] = rng.choice(len(LAND_USES), size=sel.size, p=shares)
    use[role == 1] = PARK
    use[role >= 20] = PUB
    per_district = np.bincount(lots["district"])
    quota = np.clip(np.rint(per_district / 250), 2, 6).astype(int)
    eligible = (role == 0) & ~arterial & (use != COM)
    fallback = (zone == C1) | ~np.isin(use, [RES, IND])    # preferred: residential streets
    mosques = _pick_per_group(rng, lots["district"], eligible, quota, fallback)
    use[mosques] = PUB
    return use, mosques


def _lot_rects(frame: _Frame, dist: _Districts, lots: dict) -> np.ndarray:
    """Polygons (lon/lat) of the parcels."""
    d = lots["district"]
    ox, oy, o = dist.inner[d, 0], dist.inner[d, 1], dist.orient[d]
    x0, y0 = _uv_to_xy(o, ox, oy, lots["u0"], lots["v0"])
    x1, y1 = _uv_to_xy(o, ox, oy, lots["u1"], lots["v1"])
    return _rects(frame, x0, y0, x1, y1)


def _parcel_columns(frame: _Frame, dist: _Districts, lots: dict, use: np.ndarray) -> Columns:
    """Parcels table columns."""
    d, n = lots["district"], lots["district"].size
    block = lots["block_no"].tolist()
    codes = np.array(dist.code, dtype=object)[d]
    plan = [f"{m + 1}/{100 + 2 * k + p}" for m, k, p in
            zip(dist.muni[d].tolist(), d.tolist(), lots["plan"].tolist())]
    return {"id": np.arange(1, n + 1),
            "parcel_no": [f"{c}-{b}-{k}" for c, b, k in zip(codes, block, lots["number"].tolist())],
            "plan_no": plan, "block_no": [str(b) for b in block], "district_id": d + 1,
            "area_m2": np.round((lots["u1"] - lots["u0"]) * (lots["v1"] - lots["v0"]), 2),
            "frontage_m": np.round(lots["frontage"], 2),
            "land_use": np.array(LAND_USES)[use], "zoning_code": np.array(ZONE_CODES)[lots["zone"]],
            "geom": _multi(_lot_rects(frame, dist, lots))}


def _municipality_columns(frame: _Frame, grid: _Grid) -> Columns:
    """Municipalities: the outline of their district cells, sharing the districts' vertices."""
    geoms = []
    for k in range(len(names.MUNICIPALITIES)):
        rr, cc = np.nonzero(grid.muni == k)
        bx, ly = grid.xs[cc.min():cc.max() + 2], grid.ys[rr.min():rr.max() + 2]
        x = np.r_[bx, np.full(ly.size - 1, bx[-1]), bx[-2::-1], np.full(ly.size - 1, bx[0])]
        y = np.r_[np.full(bx.size, ly[0]), ly[1:], np.full(bx.size - 1, ly[-1]), ly[-2::-1]]
        geoms.append(shapely.Polygon(np.column_stack(frame.lonlat(x, y))))
    return {"id": np.arange(1, len(geoms) + 1), "code": [m[0] for m in names.MUNICIPALITIES],
            "name_ar": [m[1] for m in names.MUNICIPALITIES],
            "name_en": [m[2] for m in names.MUNICIPALITIES], "geom": _multi(geoms)}


def _district_columns(frame: _Frame, dist: _Districts) -> Columns:
    """Districts: the arterial cells."""
    cell = dist.cell
    return {"id": np.arange(1, cell.shape[0] + 1), "code": dist.code,
            "municipality_id": dist.muni + 1, "name_ar": dist.name_ar, "name_en": dist.name_en,
            "geom": _multi(_rects(frame, cell[:, 0], cell[:, 1], cell[:, 2], cell[:, 3]))}


def _zoning_columns(rng, frame: _Frame, dist: _Districts, blocks: dict) -> Columns:
    """One zoning polygon per (district, code): the union of the district's blocks of that code."""
    key = blocks["district"] * len(ZONE_CODES) + blocks["zone"]
    order = np.argsort(key, kind="stable")
    keys, group = np.unique(key[order], return_inverse=True)
    d = blocks["district"]
    o, ox, oy = dist.orient[d], dist.inner[d, 0], dist.inner[d, 1]
    x0, y0 = _uv_to_xy(o, ox, oy, blocks["u0"], blocks["v0"])
    x1, y1 = _uv_to_xy(o, ox, oy, blocks["u1"], blocks["v1"])
    geom = shapely.multipolygons(_rects(frame, x0, y0, x1, y1)[order], indices=group)
    district, zone = np.divmod(keys, len(ZONE_CODES))
    c1_front = rng.choice([0.0, 3.0, 6.0], size=dist.muni.size)
    columns: Columns = {key: [] for key in (
        "code", "name_ar", "name_en", "allowed_uses", "allowed_isic", "max_coverage_pct",
        "max_floors", "max_height_m", "setback_front_m", "setback_side_m", "setback_rear_m")}
    for k, z in zip(district.tolist(), zone.tolist()):
        code = ZONE_CODES[z]
        uses, isic, coverage, floors, height, front, side, rear = ZONE_RULES[code]
        values = (code, f"{names.ZONES[code][0]} - {dist.name_ar[k]}",
                  f"{names.ZONES[code][1]} – {dist.name_en[k]}", list(uses), list(isic), coverage,
                  floors, height, c1_front[k] if front is None else front, side, rear)
        for name, value in zip(columns, values):
            columns[name].append(value)
    return {"id": np.arange(1, keys.size + 1), "district_id": district + 1, **columns, "geom": geom}


def _constraint_columns(rng, frame: _Frame, grid: _Grid, dist: _Districts) -> Columns:
    """Wadi flood zones, a pipeline easement, a heritage buffer and an airport height zone."""
    w, h = grid.xs[-1], grid.ys[-1]
    x = np.linspace(-0.02 * w, 1.02 * w, 400)
    amp, wave = np.clip(0.06 * h, 150, 900), np.clip(w / 2.5, 1500, 6000)
    phase = rng.uniform(0, 2 * np.pi, 2)
    y = (rng.uniform(0.35, 0.65) * h + amp * np.sin(2 * np.pi * x / wave + phase[0])
         + 0.35 * amp * np.sin(2 * np.pi * x / (0.37 * wave) + phase[1]))
    wadi = shapely.LineString(np.column_stack([x, y]))
    core = wadi.buffer(40)
    pipe = shapely.LineString([(rng.uniform(0.1, 0.3) * w, -10),
                               (rng.uniform(0.7, 0.9) * w, h + 10)])
    site = np.flatnonzero((dist.muni == 3) & ~dist.industrial & ~dist.seat)
    site = site[0] if site.size else np.flatnonzero(dist.muni == 3)[0]
    well = shapely.Point((dist.inner[site, :2] + dist.inner[site, 2:]) / 2)
    yc, reach = grid.ys[grid.muni.shape[0] // 2] / 2, min(0.35 * w, 3000)
    approach = shapely.Polygon([(-2000, yc - 150), (reach, yc - 700), (reach, yc + 700),
                                (-2000, yc + 150)])
    rows = [  # kind, text key, severity, risk level, max height, local geometry
        ("flood_risk", "flood_high", "blocking", "high", None, core),
        ("flood_risk", "flood_medium", "warning", "medium", None,
         wadi.buffer(160).difference(core)),
        ("utility_easement", "utility_easement", "blocking", None, None,
         pipe.buffer(15, cap_style="flat")),
        ("heritage_buffer", "heritage_buffer", "warning", None, None,
         well.buffer(300, quad_segs=16)),
        ("airport_height", "airport_height", "blocking", None, 45.0, approach),
    ]
    city = shapely.box(0, 0, w, h)
    geoms = [frame.geometry(shapely.intersection(r[5], city)) for r in rows]
    geoms = [g if g.geom_type == "MultiPolygon" else shapely.MultiPolygon([g]) for g in geoms]
    text = [names.CONSTRAINTS[r[1]] for r in rows]
    return {"id": np.arange(1, len(rows) + 1), "kind": [r[0] for r in rows],
            "severity": [r[2] for r in rows], "risk_level": [r[3] for r in rows],
            "max_height_m": [r[4] for r in rows], "name_ar": [t[0] for t in text],
            "name_en": [t[1] for t in text], "description_ar": [t[2] for t in text],
            "description_en": [t[3] for t in text], "geom": np.array(geoms, dtype=object)}


def _facility_columns(rng, dist: _Districts, lots: dict, mosques, parcel_geom) -> Columns:
    """Facilities standing on the park, public and civic parcels and on the mosque parcels."""
    role, d = lots["role"], lots["district"]
    munis = names.MUNICIPALITIES
    civic = ("hospital", "municipal_office", "police", "civil_defence")
    rows = []  # (parcel index, kind, name_ar, name_en)
    for i in np.flatnonzero(role > 0).tolist():
        r, k = int(role[i]), int(d[i])
        place = {"ar": dist.name_ar[k], "en": dist.name_en[k]}
        if r == 1:
            rows.append((i, "park", *_facility_name("park", **place)))
        elif r == 20 or (r == 21 and rng.random() < 0.6):
            rows.append((i, "school", *_school_name(rng, girls=r == 21)))
        elif r == 22:
            rows.append((i, "clinic", *_facility_name("clinic", **place)))
        elif r == 23:
            ar, en = names.MOSQUES[rng.integers(len(names.MOSQUES))]
            rows.append((i, "mosque", *_facility_name("jami", ar=ar, en=en)))
        elif r >= 30:
            m = munis[dist.muni[k]]
            rows.append((i, civic[r - 30], *_facility_name(civic[r - 30], ar=m[1], en=m[2])))
    for i in mosques.tolist():
        ar, en = names.MOSQUES[rng.integers(len(names.MOSQUES))]
        rows.append((i, "mosque", *_facility_name("mosque", ar=ar, en=en)))
    rows.sort()
    idx = np.array([r[0] for r in rows])
    return {"id": np.arange(1, len(rows) + 1), "kind": [r[1] for r in rows],
            "name_ar": [r[2] for r in rows], "name_en": [r[3] for r in rows],
            "district_id": d[idx] + 1, "parcel_id": idx + 1,
            "opening_hours": [names.OPENING_HOURS[r[1]] for r in rows],
            "geom": shapely.point_on_surface(parcel_geom[idx])}


def _facility_name(kind: str, **parts) -> tuple[str, str]:
    """(Arabic, English) name of a facility from the name templates."""
    ar, en = names.FACILITY_NAMES[kind]
    return ar.format(**parts), en.format(**parts)


def _school_name(rng, girls: bool) -> tuple[str, str]:
    """A boys' school named after a scholar, or a numbered girls' school."""
    level_ar, level_en = names.SCHOOL_LEVELS[rng.integers(len(names.SCHOOL_LEVELS))]
    if girls:
        return _facility_name("girls_school", level_ar=level_ar, level_en=level_en,
                              n=int(rng.integers(1, 160)))
    ar, en = names.SCHOLARS[rng.integers(len(names.SCHOLARS))]
    return _facility_name("school", ar=ar, en=en, level_ar=level_ar, level_en=level_en)


def _licence_columns(rng, frame: _Frame, dist: _Districts, lots: dict, use: np.ndarray):
    """Shop licences on commercial, mixed and industrial parcels; also their status indices."""
    parcel, slot, count = _licensed_parcels(rng, lots, use)
    n = parcel.size
    activity = _activities(rng, lots["zone"][parcel])
    acts = names.ACTIVITIES
    lo, hi = (np.array([getattr(a, f) for a in acts]) for f in ("area_min", "area_max"))
    area = (lots["u1"] - lots["u0"]) * (lots["v1"] - lots["v0"])
    shop = np.minimum(rng.uniform(lo[activity], hi[activity]), 0.9 * area[parcel] / count)
    status = rng.choice(len(STATUSES), size=n, p=STATUS_SHARES)
    issue, expiry = _licence_dates(rng, status)
    year = issue.astype("datetime64[Y]").astype(int) + 1970
    ids = np.arange(1, n + 1)
    trade_ar, trade_en = _trade_names(rng, activity)
    columns = {
        "id": ids, "license_no": [f"LIC-{y}-{i:06d}" for y, i in zip(year.tolist(), ids.tolist())],
        "isic_code": [acts[a].isic for a in activity.tolist()],
        "activity_ar": [acts[a].activity_ar for a in activity.tolist()],
        "activity_en": [acts[a].activity_en for a in activity.tolist()],
        "trade_name_ar": trade_ar, "trade_name_en": trade_en,
        "status": np.array(STATUSES)[status], "issue_date": issue, "expiry_date": expiry,
        "shop_area_m2": np.round(shop, 2), "parcel_id": parcel + 1,
        "holder_national_id": _national_ids(rng, n), "holder_phone": _phones(rng, n),
        "geom": _shop_points(rng, frame, dist, lots, parcel, slot, count)}
    return columns, status


def _licensed_parcels(rng, lots: dict, use: np.ndarray):
    """Parcels with shops (1-3 each, mostly arterial frontage) up to LICENCE_SHARE of parcels."""
    eligible = np.flatnonzero(np.isin(use, [COM, MIX, IND]) & (lots["role"] == 0))
    u = use[eligible]
    weight = np.where(u == COM, np.where(lots["arterial"][eligible], 4.0, 3.0),
                      np.where(u == MIX, 2.0, 1.5))
    order = np.argsort(-rng.random(eligible.size) ** (1 / weight), kind="stable")
    cand, u = eligible[order], u[order]
    p = np.where(u == COM, 0.45, np.where(u == MIX, 0.6, 0.7))
    draw = rng.random(cand.size)
    per = 1 + (draw > p) + (draw > p + (1 - p) * 0.6)
    take = np.cumsum(per) <= round(LICENCE_SHARE * use.size)
    cand, per = cand[take], per[take]
    order = np.argsort(cand, kind="stable")
    cand, per = cand[order], per[order]
    parcel = np.repeat(cand, per)
    return parcel, _rank(parcel), np.repeat(per, per)


def _activities(rng, zone: np.ndarray) -> np.ndarray:
    """Index into names.ACTIVITIES of every shop: the zone's usual mix, limited to its ISIC."""
    acts = names.ACTIVITIES
    out = np.zeros(zone.size, dtype=int)
    for z in np.unique(zone).tolist():
        allowed = ZONE_RULES[ZONE_CODES[z]][1]
        weight = np.array([(a.industrial_weight if z == I1 else a.retail_weight)
                           * a.isic.startswith(allowed) for a in acts], dtype=float)
        sel = np.flatnonzero(zone == z)
        out[sel] = rng.choice(len(acts), size=sel.size, p=weight / weight.sum())
    return out


def _licence_dates(rng, status: np.ndarray):
    """Issue and expiry dates: active and suspended still valid on REFERENCE_DATE, expired not."""
    n = status.size
    span = rng.choice([1, 2, 3, 5], size=n, p=[0.35, 0.2, 0.3, 0.15]) * 365
    valid = rng.integers(0, span)
    offset = np.select([status == 1, status == 3],
                       [-rng.integers(1, 1000, n), rng.integers(-600, span)], valid)
    expiry = np.datetime64(REFERENCE_DATE, "D") + offset.astype("timedelta64[D]")
    return expiry - span.astype("timedelta64[D]"), expiry


def _trade_names(rng, activity: np.ndarray) -> tuple[list[str], list[str]]:
    """Shop-sign names: the shop word with a distinctive word or a kunya ("أبو خالد")."""
    acts = names.ACTIVITIES
    kunya = rng.random(activity.size) < 0.3
    word = rng.integers(len(names.TRADE_WORDS), size=activity.size)
    person = rng.integers(len(names.KUNYAS), size=activity.size)
    ar, en = [], []
    for a, k, w, p in zip(activity.tolist(), kunya.tolist(), word.tolist(), person.tolist()):
        part_ar, part_en = names.KUNYAS[p] if k else names.TRADE_WORDS[w]
        ar.append(f"{acts[a].shop_ar} {part_ar}")
        en.append(f"{part_en} {acts[a].shop_en}")
    return ar, en


def _national_ids(rng, n: int) -> list[str]:
    """Ten-digit ids starting 1 (citizen) or 2 (resident) with a Luhn check digit."""
    digits = np.column_stack([np.where(rng.random(n) < 0.62, 1, 2), rng.integers(0, 10, (n, 8))])
    doubled = digits[:, ::2] * 2
    total = (doubled // 10 + doubled % 10).sum(axis=1) + digits[:, 1::2].sum(axis=1)
    digits = np.column_stack([digits, (10 - total % 10) % 10])
    return ["".join(map(str, row)) for row in digits.tolist()]


def _phones(rng, n: int) -> list[str]:
    """Saudi mobile numbers 05X XXXXXXX with a real operator prefix digit."""
    prefix = rng.choice([0, 3, 4, 5, 6, 7, 8, 9], size=n)
    rest = rng.integers(0, 10_000_000, size=n)
    return [f"05{p}{r:07d}" for p, r in zip(prefix.tolist(), rest.tolist())]


def _shop_points(rng, frame: _Frame, dist: _Districts, lots: dict, parcel, slot, count):
    """Shop points inside their parcel, a few metres behind its street front, side by side."""
    u0, u1, v0, v1 = (lots[key][parcel] for key in ("u0", "u1", "v0", "v1"))
    along = (slot + 0.5 + rng.uniform(-0.25, 0.25, parcel.size)) / count
    inset = np.minimum(rng.uniform(2.0, 6.0, parcel.size), 0.4 * (v1 - v0))
    v = np.where(lots["front"][parcel] < 0, v0 + inset, v1 - inset)
    d = lots["district"][parcel]
    x, y = _uv_to_xy(dist.orient[d], dist.inner[d, 0], dist.inner[d, 1], u0 + (u1 - u0) * along, v)
    return shapely.points(np.column_stack(frame.lonlat(x, y)))


def _panorama_columns(rng, frame: _Frame, streets: Columns, ends: np.ndarray, parcels: int):
    """Street-level image sequences: a point every 10 m along a few arterials and collectors."""
    seq, street, xy, seconds = _panorama_runs(rng, streets, ends, parcels)
    lon, lat = frame.lonlat(xy[:, 0], xy[:, 1])
    index, step = _rank(seq), np.arange(seq.size)
    last = np.r_[seq[1:] != seq[:-1], True]
    ahead = np.where(last, step - 1, step + 1)
    azimuth, _, _ = Geod(ellps="WGS84").inv(lon, lat, lon[ahead], lat[ahead])
    heading = np.mod(azimuth + np.where(last, 180, 0) + rng.uniform(-1, 1, seq.size), 360)
    epoch = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    name = [f"seq-{s + 1:03d}" for s in seq.tolist()]
    return {"id": step + 1, "sequence_id": name, "sequence_index": index,
            "captured_at": [epoch + dt.timedelta(seconds=t) for t in seconds.tolist()],
            "heading_deg": np.mod(np.round(heading, 2), 360),
            "image_ref": [f"{s}/{i:06d}.jpg" for s, i in zip(name, index.tolist())],
            "street_id": street + 1, "geom": shapely.points(lon, lat)}


def _panorama_runs(rng, streets: Columns, ends: np.ndarray, parcels: int):
    """Sequence number, street, local point (right lane) and capture second of every image."""
    kind = np.array(streets["kind"])
    n_seq = int(np.clip(round(2 + 2 * np.log10(parcels / 2000)), 3, 8))
    picks = np.r_[rng.choice(np.flatnonzero(kind == "arterial"), (n_seq + 1) // 2, replace=False),
                  rng.choice(np.flatnonzero(kind == "collector"), n_seq // 2, replace=False)]
    scale = np.clip(np.sqrt(parcels / 20000), 0.5, 2.0)
    seq, points, seconds = [], [], []
    for s, street in enumerate(picks.tolist()):
        a, b = ends[street, :2], ends[street, 2:]
        a, b = (b, a) if rng.random() < 0.5 else (a, b)
        length = float(np.hypot(*(b - a)))
        run = min(length - 20, rng.uniform(800, 1600) * scale)
        steps = np.arange(int(run // PANORAMA_STEP_M) + 1)
        t = rng.uniform(10, length - 10 - run) + PANORAMA_STEP_M * steps
        unit = (b - a) / length
        right = np.array([unit[1], -unit[0]]) * streets["width_m"][street] / 4
        points.append(a + t[:, None] * unit + right)
        start = rng.integers(0, 500) * 86400 + rng.uniform(3, 12) * 3600   # 06:00-15:00 local
        seconds.append(start + np.r_[0, np.cumsum(rng.uniform(1.35, 1.65, t.size - 1))])
        seq.append(np.full(t.size, s))
    seq = np.concatenate(seq)
    return seq, picks[seq], np.concatenate(points), np.concatenate(seconds)


def _inspection_columns(rng, licences: Columns, status: np.ndarray) -> Columns:
    """One or two visits to a fifth of the licences, between issue and REFERENCE_DATE."""
    n = len(licences["id"])
    chosen = np.sort(rng.choice(n, size=round(INSPECTED_SHARE * n), replace=False))
    lic = np.repeat(chosen, rng.choice([1, 2], size=chosen.size, p=[0.7, 0.3]))
    issue = licences["issue_date"][lic]
    room = (np.datetime64(REFERENCE_DATE, "D") - issue).astype(int) - 1
    day = issue + (1 + np.floor(rng.random(lic.size) * room)).astype("timedelta64[D]")
    order = np.lexsort((day, lic))
    lic, day = lic[order], day[order]
    second = rng.integers(5 * 3600, 11 * 3600, lic.size)    # 08:00-14:00 Riyadh time
    result = np.zeros(lic.size, dtype=int)
    for k, name in enumerate(STATUSES):
        sel = np.flatnonzero(status[lic] == k)
        result[sel] = rng.choice(len(RESULTS), size=sel.size, p=RESULT_SHARES[name])
    pick = rng.random(lic.size)
    notes = []
    for r, p in zip(result.tolist(), pick.tolist()):
        options = names.INSPECTION_NOTES[RESULTS[r]]
        ar, en = options[int(p * len(options))]
        notes.append(f"{ar} / {en}")
    midnight = [dt.datetime.combine(d, dt.time(), dt.timezone.utc) for d in day.tolist()]
    return {"id": np.arange(1, lic.size + 1), "license_id": lic + 1,
            "visited_at": [m + dt.timedelta(seconds=s) for m, s in zip(midnight, second.tolist())],
            "result": np.array(RESULTS)[result], "notes": notes, "geom": licences["geom"][lic]}
