"""Who asked for a job: processing_jobs.owner, and an index to count a client's active jobs.

The owner is the principal's subject for signed-in callers (`alice`, `key:<name>`,
`oidc:<sub>`) and `ip:<address>` for anonymous ones (who may run parcel-check and
license-site-check asynchronously). It is set on asynchronous jobs, the ones bounded per client
(AMANAT_LIMIT_MAX_ACTIVE_JOBS_PER_CLIENT, see processing.jobs.submit); synchronous runs and rows
from before this revision have none. The partial index holds only accepted and running jobs, so
counting a client's active jobs reads a handful of index entries whatever the table's size.

Revision ID: 0009_job_owner
Revises: 0003_processing
"""
from alembic import op

revision = "0009_job_owner"
down_revision = "0003_processing"
branch_labels = None
depends_on = None

UPGRADE = """
ALTER TABLE processing_jobs ADD COLUMN owner text CHECK (owner <> '');
COMMENT ON COLUMN processing_jobs.owner IS
  'who submitted an asynchronous job: a principal''s subject, or ip:<address> when anonymous';
CREATE INDEX processing_jobs_owner_active_idx ON processing_jobs (owner)
  WHERE status IN ('accepted', 'running');
"""


def upgrade() -> None:
    """Add the owner column and the index of active jobs by owner."""
    op.execute(UPGRADE)


def downgrade() -> None:
    """Drop them."""
    op.execute("DROP INDEX IF EXISTS processing_jobs_owner_active_idx")
    op.execute("ALTER TABLE processing_jobs DROP COLUMN IF EXISTS owner")
