"""Browser sign-in: a password for local users, and the failed attempts that throttle guessing.

`auth_users.password_hash` holds an argon2id hash (PHC string); NULL means the user has no
password and can only use tokens printed by `amanat users add/token`.

`auth_signin_failures` keeps one row per refused sign-in for as long as the throttling window
(rows older than it are deleted when a new failure is written). It is a table, not memory of
one process, so that every worker of the server (AMANAT_WORKERS) and a restarted server count
the same failures. The name tried is kept only as the SHA-256 of its lower-case form: a user
who types their password into the name field does not leave it in the database.

Revision ID: 0007_signin
Revises: 0006_auth
"""
from alembic import op

revision = "0007_signin"
down_revision = "0006_auth"
branch_labels = None
depends_on = None

UPGRADE = """
ALTER TABLE auth_users ADD COLUMN password_hash text CHECK (password_hash LIKE '$argon2%');
ALTER TABLE auth_users ADD COLUMN password_changed_at timestamptz;
COMMENT ON COLUMN auth_users.password_hash IS
  'argon2id hash (PHC string) of the sign-in password; NULL: tokens from the CLI only';

CREATE TABLE auth_signin_failures (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  name_sha256 bytea NOT NULL CHECK (octet_length(name_sha256) = 32),
  client_ip inet
);
CREATE INDEX auth_signin_failures_name_idx ON auth_signin_failures (name_sha256, at);
CREATE INDEX auth_signin_failures_client_idx ON auth_signin_failures (client_ip, at)
  WHERE client_ip IS NOT NULL;
CREATE INDEX auth_signin_failures_at_idx ON auth_signin_failures (at);
"""


def upgrade() -> None:
    """Add the password columns and the failed-attempt table."""
    op.execute(UPGRADE)


def downgrade() -> None:
    """Drop them (every password is lost: users fall back to CLI tokens)."""
    op.execute("DROP TABLE IF EXISTS auth_signin_failures")
    op.execute("ALTER TABLE auth_users DROP COLUMN IF EXISTS password_changed_at, "
               "DROP COLUMN IF EXISTS password_hash")
