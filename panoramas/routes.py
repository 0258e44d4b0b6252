"""/panoramas: lookup, neighbours, and tiles for Photo Sphere Viewer's EquirectangularTilesAdapter.

Tile and preview URLs name the image by its content key, so they never change and are cached
for a year; a tile request is a file read (no database).
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from kernel.errors import InvalidInput, NotFound
from layers.database import Database
from panoramas import lookup
from panoramas.settings import PanoramaSettings
from panoramas.store import PanoramaStore

NOT_FOUND = "panorama not found"
IMAGE_NOT_FOUND = "panorama image not found"
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
JPEG = "image/jpeg"
DEFAULT_RADIUS_M = 50.0
MAX_RADIUS_M = 1000.0


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """Times without a zone are taken as UTC."""
    return value.replace(tzinfo=dt.UTC) if value and value.tzinfo is None else value


def period(
    after: Annotated[dt.datetime | None, Query(
        description="Only panoramas captured at or after this time (ISO 8601; UTC if no zone)",
        examples=["2025-03-01T00:00:00Z"])] = None,
    before: Annotated[dt.datetime | None, Query(
        description="Only panoramas captured at or before this time", examples=["2025-12-31"])
    ] = None,
) -> lookup.Period:
    """The capture-date filter of a request."""
    after, before = _utc(after), _utc(before)
    if after and before and after > before:
        raise InvalidInput("'after' is later than 'before'")
    return lookup.Period(after, before)


def _summary(request: Request, row: dict) -> dict:
    """A panorama as JSON, with its links."""
    base = f"{str(request.base_url).rstrip('/')}/panoramas/{row['id']}"
    out = {"id": row["id"], "sequence_id": row["sequence_id"],
           "sequence_index": row["sequence_index"],
           "captured_at": row["captured_at"].isoformat(), "heading_deg": row["heading"],
           "lon": round(row["lon"], 7), "lat": round(row["lat"], 7),
           "street_id": row["street_id"], "image_ref": row["image_ref"]}
    for extra in ("distance_m", "bearing_deg"):
        if row.get(extra) is not None:
            out[extra] = round(row[extra] % 360 if extra == "bearing_deg" else row[extra], 2)
    out["links"] = [{"rel": "self", "href": base, "type": "application/json"},
                    {"rel": "tiles", "href": f"{base}/tiles", "type": "application/json"},
                    {"rel": "preview", "href": f"{base}/preview.jpg", "type": JPEG},
                    {"rel": "neighbours", "href": f"{base}/neighbours",
                     "type": "application/json"}]
    return out


def _tiles_description(request: Request, row: dict, manifest: dict) -> dict:
    """The `panorama` option of PSV's EquirectangularTilesAdapter (tileUrl as a template)."""
    root = f"{str(request.base_url).rstrip('/')}/panoramas/images/{row['image_ref']}"
    return {
        "id": row["id"], "width": manifest["width"], "height": manifest["height"],
        "baseUrl": f"{root}/preview.jpg",
        "levels": manifest["levels"],
        "tileUrl": f"{root}/{{level}}/{{col}}/{{row}}.jpg",
        "heading_deg": row["heading"],   # compass heading of the image centre
    }


class PanoramaAPI:
    """The /panoramas endpoints over one database and one store."""

    def __init__(self, db: Database, store: PanoramaStore, options: PanoramaSettings):
        """Remember the database, the store and the lookup settings."""
        self.db, self.store, self.options = db, store, options

    def _query(self, fn, *args):
        """Run a lookup function on a pooled connection."""
        with self.db.connection() as conn:
            return fn(conn, *args)

    def _get(self, panorama_id: int) -> dict:
        """A panorama row; NotFound otherwise."""
        row = self._query(lookup.get, panorama_id)
        if row is None:
            raise NotFound(NOT_FOUND)
        return row

    def nearest(self, request: Request,
                lon: Annotated[float, Query(ge=-180, le=180, description="Longitude")],
                lat: Annotated[float, Query(ge=-90, le=90, description="Latitude")],
                when: Annotated[lookup.Period, Depends(period)],
                radius: Annotated[float, Query(gt=0, le=MAX_RADIUS_M,
                                               description="Search radius (m)")]
                = DEFAULT_RADIUS_M) -> dict:
        """The panorama nearest to a point within a radius (404 when there is none)."""
        row = self._query(lookup.nearest, lon, lat, radius, when)
        if row is None:
            raise NotFound("no panorama within the radius")
        return _summary(request, row)

    def panorama(self, request: Request, panorama_id: int) -> dict:
        """One panorama: position, heading, capture time, sequence, links."""
        return _summary(request, self._get(panorama_id))

    def neighbours(self, request: Request, panorama_id: int,
                   when: Annotated[lookup.Period, Depends(period)],
                   radius: Annotated[float | None, Query(
                       gt=0, le=500, description="Sector search radius (m)")] = None) -> dict:
        """Previous/next in the sequence and the best panorama in each compass sector."""
        row = self._get(panorama_id)
        radius = radius or self.options.neighbour_radius_m
        steps = self._query(lookup.in_sequence, row, when)
        sectors = self._query(lookup.by_sector, row, radius, self.options.neighbour_band_m, when)
        show = lambda r: _summary(request, r) if r else None  # noqa: E731
        return {"id": panorama_id, "radius_m": radius,
                "previous": show(steps["previous"]), "next": show(steps["next"]),
                "sectors": {name: show(r) for name, r in sectors.items()}}

    def tiles(self, request: Request, panorama_id: int) -> dict:
        """The level description for EquirectangularTilesAdapter (levels, tile and preview URLs)."""
        row = self._get(panorama_id)
        manifest = self.store.manifest(row["image_ref"])
        if manifest is None:
            raise NotFound(IMAGE_NOT_FOUND)
        return _tiles_description(request, row, manifest)

    def preview_by_id(self, panorama_id: int) -> Response:
        """A small equirectangular JPEG of the panorama."""
        row = self._get(panorama_id)
        return self._jpeg(self.store.preview(row["image_ref"]), cache="public, max-age=300")

    async def preview(self, key: str) -> Response:
        """The small equirectangular JPEG of an image key."""
        return self._jpeg(self.store.preview(key))

    async def tile(self, key: str, level: int, col: int, row: int) -> Response:
        """One JPEG tile of a level (a file read)."""
        return self._jpeg(self.store.tile(key, level, col, row))

    @staticmethod
    def _jpeg(data: bytes | None, cache: str | None = None) -> Response:
        """JPEG bytes, or NotFound."""
        if data is None:
            raise NotFound(IMAGE_NOT_FOUND)
        headers = {"Cache-Control": cache} if cache else IMMUTABLE
        return Response(data, media_type=JPEG, headers=headers)


def build_router(db: Database, store: PanoramaStore, options: PanoramaSettings) -> APIRouter:
    """The /panoramas routes (fixed paths before the {id} ones)."""
    api = PanoramaAPI(db, store, options)
    router = APIRouter(prefix="/panoramas", tags=["Panoramas"])
    jpeg = {"content": {JPEG: {}}, "description": "JPEG image"}
    add = router.add_api_route
    add("/nearest", api.nearest, methods=["GET"], summary="Nearest panorama to a point")
    add("/images/{key}/preview.jpg", api.preview, methods=["GET"], response_class=Response,
        responses={200: jpeg}, summary="Preview of an image (equirectangular JPEG)")
    add("/images/{key}/{level:int}/{col:int}/{row:int}.jpg", api.tile, methods=["GET"],
        response_class=Response, responses={200: jpeg}, summary="One tile of a level")
    add("/{panorama_id:int}", api.panorama, methods=["GET"], summary="One panorama")
    add("/{panorama_id:int}/neighbours", api.neighbours, methods=["GET"],
        summary="Previous, next and per-sector neighbours")
    add("/{panorama_id:int}/tiles", api.tiles, methods=["GET"],
        summary="Photo Sphere Viewer tiled panorama description")
    add("/{panorama_id:int}/preview.jpg", api.preview_by_id, methods=["GET"],
        response_class=Response, responses={200: jpeg}, summary="Preview of a panorama")
    return router

