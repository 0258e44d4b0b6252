"""Sign-on and editing: local users, API keys, licence ownership, inspection photos and
idempotency, and the append-only audit trail.

Nothing here references a layer row from outside the layer tables except `inspection_photos`
(which belongs to its inspection: a reload of the sample city, TRUNCATE ... CASCADE, empties it
with the inspections). The audit trail has no foreign key to anything, so it survives reloads;
it can be appended to but never updated, deleted or truncated (triggers raise, and the
privileges are revoked from PUBLIC).

Revision ID: 0006_auth
Revises: 0001
"""
from alembic import op

revision = "0006_auth"
down_revision = "0001"
branch_labels = None
depends_on = None

ROLES = "('office', 'inspector', 'analyst', 'admin')"
NAME = r"'^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$'"

LAYER_COLUMNS = f"""
ALTER TABLE licenses ADD COLUMN owner_office text CHECK (owner_office ~ {NAME});
COMMENT ON COLUMN licenses.owner_office IS 'the engineering office that issued and may edit it';
CREATE INDEX licenses_owner_office_idx ON licenses (owner_office);
ALTER TABLE inspections ADD COLUMN created_by text;
ALTER TABLE inspections ADD COLUMN client_id text UNIQUE
  CHECK (client_id ~ '^[A-Za-z0-9._:-]{{8,100}}$');
ALTER TABLE inspections ADD COLUMN request_sha256 text CHECK (request_sha256 ~ '^[0-9a-f]{{64}}$');
COMMENT ON COLUMN inspections.client_id IS 'client-supplied idempotency key of the upload';
"""

TABLES = f"""
CREATE TABLE inspection_photos (
  inspection_id bigint NOT NULL REFERENCES inspections (id) ON DELETE CASCADE,
  position smallint NOT NULL CHECK (position >= 0),
  sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{{64}}$'),
  media_type text NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png', 'image/webp')),
  bytes integer NOT NULL CHECK (bytes > 0),
  width integer NOT NULL CHECK (width > 0),
  height integer NOT NULL CHECK (height > 0),
  PRIMARY KEY (inspection_id, position)
);

CREATE TABLE auth_users (
  name text PRIMARY KEY CHECK (name ~ {NAME}),
  role text NOT NULL CHECK (role IN {ROLES}),
  office text CHECK (office ~ {NAME}),
  created_at timestamptz NOT NULL DEFAULT now(),
  disabled_at timestamptz,
  CHECK (role <> 'office' OR office IS NOT NULL)
);

CREATE TABLE api_keys (
  id text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{{12}}$'),
  name text NOT NULL CHECK (name ~ {NAME}),
  role text NOT NULL CHECK (role IN {ROLES}),
  office text CHECK (office ~ {NAME}),
  secret_sha256 bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  CHECK (role <> 'office' OR office IS NOT NULL)
);

CREATE TABLE audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor text NOT NULL,
  actor_kind text NOT NULL CHECK (actor_kind IN ('local', 'oidc', 'key', 'cli')),
  roles text[] NOT NULL DEFAULT '{{}}',
  office text,
  api_key_id text,
  client_ip inet,
  user_agent text,
  action text NOT NULL,
  collection text NOT NULL,
  feature_id text,
  before jsonb,
  after jsonb
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_actor_idx ON audit_log (actor, at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;
"""


def upgrade() -> None:
    """Add ownership and idempotency columns, the account tables and the audit trail."""
    op.execute(LAYER_COLUMNS)
    op.execute(TABLES)


def downgrade() -> None:
    """Drop what this revision added (the audit trail too: a downgrade is a deliberate act)."""
    op.execute("DROP TABLE IF EXISTS audit_log, api_keys, auth_users, inspection_photos")
    op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.execute("ALTER TABLE inspections DROP COLUMN IF EXISTS request_sha256, "
               "DROP COLUMN IF EXISTS client_id, DROP COLUMN IF EXISTS created_by")
    op.execute("ALTER TABLE licenses DROP COLUMN IF EXISTS owner_office")
