"""Expiry notices by e-mail (issue 16 part 3): one row per office, licence, expiry date and
horizon (30/60/90 days), unsent until the SMTP server accepted it (indicators/notices.py).

Revision ID: 0016_expiry_notices
Revises: 0015_indicators
"""
from alembic import op

revision = "0016_expiry_notices"
down_revision = "0015_indicators"
branch_labels = None
depends_on = None

UP = """
CREATE TABLE licence_expiry_notices (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  office text NOT NULL,
  license_id bigint NOT NULL,
  license_no text NOT NULL,
  expiry_date date NOT NULL,
  within_days smallint NOT NULL CHECK (within_days IN (30, 60, 90)),
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz,
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error text,
  UNIQUE (office, license_id, expiry_date, within_days)
);
CREATE INDEX licence_expiry_notices_unsent_idx ON licence_expiry_notices (office)
  WHERE sent_at IS NULL;
"""


def upgrade() -> None:
    """Create the notices table."""
    op.execute(UP)


def downgrade() -> None:
    """Drop it."""
    op.execute("DROP TABLE IF EXISTS licence_expiry_notices")
