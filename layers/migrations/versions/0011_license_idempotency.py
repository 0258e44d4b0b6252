"""Idempotent licence creation: the Idempotency-Key of a POST, its digest and who sent it.

An office that retries a licence creation after a timeout sends the same Idempotency-Key again;
the server finds the licence that key made (client_id, UNIQUE) and answers with it instead of a
409 for the duplicate licence_no or a second licence. The key's request digest (request_sha256)
tells a retry from a reuse of the key for another licence, and created_by (the principal's
subject) one caller from another, as for inspections (0006_auth). None of the three is a
catalogue field of licences (layers/catalogue.py), so no response publishes them; they are in
the audit trail's snapshots, which only admins read. Rows from before this revision, the sample
city and licences created without a key have no client_id; the first two have no created_by.

Revision ID: 0011_license_idempotency
Revises: 0006_auth
"""
from alembic import op

revision = "0011_license_idempotency"
down_revision = "0006_auth"
branch_labels = None
depends_on = None

UPGRADE = """
ALTER TABLE licenses ADD COLUMN created_by text CHECK (created_by <> '');
ALTER TABLE licenses ADD COLUMN client_id text UNIQUE
  CHECK (client_id ~ '^[A-Za-z0-9._:-]{8,100}$');
ALTER TABLE licenses ADD COLUMN request_sha256 text CHECK (request_sha256 ~ '^[0-9a-f]{64}$');
ALTER TABLE licenses ADD CONSTRAINT licenses_client_id_digest_check
  CHECK ((client_id IS NULL) = (request_sha256 IS NULL));
COMMENT ON COLUMN licenses.created_by IS 'who created it through the API (principal subject)';
COMMENT ON COLUMN licenses.client_id IS 'Idempotency-Key of the creation; never published';
COMMENT ON COLUMN licenses.request_sha256 IS 'digest of the creation request, to tell a retry '
  'from a reused key';
"""


def upgrade() -> None:
    """Add the creator, idempotency key and request digest columns to licenses."""
    op.execute(UPGRADE)


def downgrade() -> None:
    """Drop them (their constraints and the key's unique index go with them)."""
    op.execute("ALTER TABLE licenses DROP CONSTRAINT IF EXISTS licenses_client_id_digest_check, "
               "DROP COLUMN IF EXISTS request_sha256, DROP COLUMN IF EXISTS client_id, "
               "DROP COLUMN IF EXISTS created_by")
