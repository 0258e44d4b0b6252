"""Management indicators and licence expiry (issue 16 parts 1 and 3).

`indicator_cache`: the rows of each indicator of indicators/indicators.yml as PostGIS computed
them, with the key they were computed for (the versions of the tables the indicator reads, the
day, the definition) and when; a request reads the kept rows while the key holds.
`licence_expiry_lists`: per office, its licences expiring within 30/60/90 days, as the periodic
expiry task last built the list.

Revision ID: 0015_indicators
Revises: 0001
"""
from alembic import op

revision = "0015_indicators"
down_revision = "0001"
branch_labels = None
depends_on = None

UP = """
CREATE TABLE indicator_cache (
  indicator text PRIMARY KEY,
  cache_key text NOT NULL,
  computed_at timestamptz NOT NULL,
  rows jsonb NOT NULL CHECK (jsonb_typeof(rows) = 'array')
);
CREATE TABLE licence_expiry_lists (
  office text PRIMARY KEY,
  built_at timestamptz NOT NULL,
  licences jsonb NOT NULL CHECK (jsonb_typeof(licences) = 'array')
);
"""


def upgrade() -> None:
    """Create the indicator cache and the offices' expiry lists."""
    op.execute(UP)


def downgrade() -> None:
    """Drop them."""
    op.execute("DROP TABLE IF EXISTS licence_expiry_lists")
    op.execute("DROP TABLE IF EXISTS indicator_cache")
