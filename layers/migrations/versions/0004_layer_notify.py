"""Notify listeners when a layer changes (so servers keep layer versions in memory).

Revision ID: 0004_layer_notify
Revises: 0001
"""
from alembic import op

revision = "0004_layer_notify"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """bump_layer_version() also sends NOTIFY layer_versions, payload = table name."""
    op.execute("""
CREATE OR REPLACE FUNCTION bump_layer_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO layer_versions AS v (layer, version, changed_at) VALUES (TG_TABLE_NAME, 1, now())
  ON CONFLICT (layer) DO UPDATE SET version = v.version + 1, changed_at = now();
  PERFORM pg_notify('layer_versions', TG_TABLE_NAME);
  RETURN NULL;
END $$;
""")


def downgrade() -> None:
    """Back to the silent counter."""
    op.execute("""
CREATE OR REPLACE FUNCTION bump_layer_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO layer_versions AS v (layer, version, changed_at) VALUES (TG_TABLE_NAME, 1, now())
  ON CONFLICT (layer) DO UPDATE SET version = v.version + 1, changed_at = now();
  RETURN NULL;
END $$;
""")
