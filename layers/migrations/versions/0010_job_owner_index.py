"""An index to list one owner's jobs, newest first (GET /ogc/jobs for a non-admin caller).

processing_jobs_owner_active_idx (0009_job_owner) holds only accepted and running jobs, so it
cannot serve a listing that shows finished ones too; without this index that listing reads every
job of every client. (owner, created DESC, id) matches `WHERE owner = $1 ORDER BY created DESC,
id LIMIT ...` (processing.jobs.PAGE), so a page is read in order with no sort, and the count
of an owner's jobs reads that owner's entries only. Admins' listing of every job still uses
processing_jobs_created_idx. Rows with no owner (from before 0009) are indexed too; they are
few, and none are added any more.

Revision ID: 0010_job_owner_index
Revises: 0009_job_owner
"""
from alembic import op

revision = "0010_job_owner_index"
down_revision = "0009_job_owner"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the owner listing index."""
    op.execute("CREATE INDEX IF NOT EXISTS processing_jobs_owner_created_idx "
               "ON processing_jobs (owner, created DESC, id)")


def downgrade() -> None:
    """Drop it."""
    op.execute("DROP INDEX IF EXISTS processing_jobs_owner_created_idx")
