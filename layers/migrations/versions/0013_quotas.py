"""Quotas of data reads and downloads (geoserver/quotas.py), and the researcher role.

`quota_counters` is the storage of the `limits` library's fixed windows (one row per window key:
the count and when the window ends), so every server process counts against the same numbers.
`quota_usage` keeps, per API key and UTC day, the requests charged and refused, for admins.
Accounts get a `researcher` role: keys issued to research groups, with a larger quota.

Revision ID: 0013_quotas
Revises: 0012_citizen_reports
"""
from alembic import op

revision = "0013_quotas"
down_revision = "0012_citizen_reports"
branch_labels = None
depends_on = None

OLD_ROLES = "('office', 'inspector', 'analyst', 'admin', 'service-agent')"
NEW_ROLES = "('office', 'inspector', 'analyst', 'admin', 'service-agent', 'researcher')"

UP = f"""
CREATE TABLE quota_counters (
  key text PRIMARY KEY CHECK (length(key) <= 300),
  hits bigint NOT NULL CHECK (hits >= 0),
  expires_at timestamptz NOT NULL
);
CREATE INDEX quota_counters_expires ON quota_counters (expires_at);

CREATE TABLE quota_usage (
  api_key_id text NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
  day date NOT NULL,
  kind text NOT NULL CHECK (kind IN ('reads', 'downloads')),
  charged bigint NOT NULL DEFAULT 0,
  refused bigint NOT NULL DEFAULT 0,
  last_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (api_key_id, day, kind)
);

ALTER TABLE auth_users DROP CONSTRAINT auth_users_role_check,
  ADD CONSTRAINT auth_users_role_check CHECK (role IN {NEW_ROLES});
ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check,
  ADD CONSTRAINT api_keys_role_check CHECK (role IN {NEW_ROLES});
"""

DOWN = f"""
DROP TABLE quota_usage;
DROP TABLE quota_counters;
DELETE FROM api_keys WHERE role = 'researcher';
DELETE FROM auth_users WHERE role = 'researcher';
ALTER TABLE auth_users DROP CONSTRAINT auth_users_role_check,
  ADD CONSTRAINT auth_users_role_check CHECK (role IN {OLD_ROLES});
ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check,
  ADD CONSTRAINT api_keys_role_check CHECK (role IN {OLD_ROLES});
"""


def upgrade() -> None:
    """Create the quota tables and allow the researcher role."""
    op.execute(UP)


def downgrade() -> None:
    """Drop them (researcher keys and users are removed)."""
    op.execute(DOWN)
