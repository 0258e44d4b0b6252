"""Imagery: the registry of raster datasets served under /raster.

A dataset is addressed by its id only; `file` is the name of its Cloud-Optimized GeoTIFF inside
the server's raster store (state directory), never a path or URL given by a client. The file name
carries a digest of the content, so a replaced dataset gets a new file and cached tiles of the old
one are never served for the new one.

Panoramas need no new table: their capture points are the `panoramas` layer of revision 0001, and
`image_ref` is the content key of the blurred, tiled image in the panorama store.

Revision ID: 0002_imagery
Revises: 0001
"""
from alembic import op

revision = "0002_imagery"
down_revision = "0001"
branch_labels = None
depends_on = None

RASTERS = r"""
CREATE TABLE rasters (
  id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  title text NOT NULL CHECK (title <> ''),
  kind text NOT NULL CHECK (kind IN ('orthophoto', 'elevation', 'hillshade', 'imagery')),
  file text NOT NULL UNIQUE CHECK (file ~ '^[a-z0-9][a-z0-9_-]{0,62}\.[0-9a-f]{16}\.tif$'),
  source text NOT NULL CHECK (source IN ('sample', 'added')),
  band_count smallint NOT NULL CHECK (band_count > 0),
  dtype text NOT NULL,
  crs text NOT NULL,
  resolution_m double precision NOT NULL CHECK (resolution_m > 0),
  minzoom smallint NOT NULL CHECK (minzoom >= 0),
  maxzoom smallint NOT NULL CHECK (maxzoom >= minzoom AND maxzoom <= 30),
  nodata double precision,
  added_at timestamptz NOT NULL DEFAULT now(),
  geom geometry(Polygon, 4326) NOT NULL CHECK (ST_IsValid(geom))
);
CREATE INDEX rasters_geom_gist ON rasters USING gist (geom);
"""


def upgrade() -> None:
    """Create the raster registry."""
    op.execute(RASTERS)


def downgrade() -> None:
    """Drop the raster registry (the files in the store are left alone)."""
    op.execute("DROP TABLE IF EXISTS rasters")
