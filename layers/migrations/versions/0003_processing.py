"""Permit checks: job records, batch findings, signed certificates, and the job queue schema.

The queue is procrastinate's (its tables, types and functions, prefixed procrastinate_), created
from the schema file shipped with the installed procrastinate (3.10). A later procrastinate
upgrade that changes its schema needs a new revision applying procrastinate's own migration
files (site-packages/procrastinate/sql/migrations) from that version on.

Revision ID: 0003_processing
Revises: 0001
"""
from alembic import op

revision = "0003_processing"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE certificates (
  id text PRIMARY KEY CHECK (id ~ '^AMN-[0-9]{4}(-[0-9A-Z]{4}){4}$'),
  process_id text NOT NULL,
  issued_at timestamptz NOT NULL,
  verdict text NOT NULL CHECK (verdict IN ('allowed', 'allowed_with_warnings', 'refused')),
  subject_ref text,
  document jsonb NOT NULL,
  jws text NOT NULL,
  key_id text NOT NULL
);
CREATE INDEX certificates_subject_idx ON certificates (subject_ref);
CREATE INDEX certificates_issued_idx ON certificates (issued_at);

CREATE TABLE processing_jobs (
  id uuid PRIMARY KEY,
  process_id text NOT NULL,
  status text NOT NULL
    CHECK (status IN ('accepted', 'running', 'successful', 'failed', 'dismissed')),
  message text NOT NULL DEFAULT '',
  progress smallint NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
  inputs jsonb NOT NULL,
  queue_job_id bigint,
  certificate_id text REFERENCES certificates (id),
  summary jsonb,
  created timestamptz NOT NULL DEFAULT now(),
  started timestamptz,
  finished timestamptz,
  updated timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX processing_jobs_created_idx ON processing_jobs (created DESC);
CREATE INDEX processing_jobs_queue_idx ON processing_jobs (queue_job_id);

CREATE TABLE processing_findings (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_id uuid NOT NULL REFERENCES processing_jobs (id) ON DELETE CASCADE,
  subject_type text NOT NULL CHECK (subject_type IN ('parcel', 'licence')),
  subject_id bigint NOT NULL,
  subject_ref text NOT NULL,
  zone_code text,
  land_use text,
  isic text,
  rule_id text NOT NULL,
  status text NOT NULL CHECK (status IN ('fail', 'warn')),
  measured jsonb,
  limit_value jsonb,
  geom geometry(Geometry, 4326)
);
CREATE INDEX processing_findings_job_idx ON processing_findings (job_id, subject_type, subject_id);
"""


def upgrade() -> None:
    """Create the processing tables and, unless present, procrastinate's schema."""
    from procrastinate.schema import SchemaManager

    op.execute(TABLES)
    connection = op.get_bind()
    present = connection.exec_driver_sql(
        "SELECT to_regclass('procrastinate_jobs') IS NOT NULL").scalar()
    if not present:
        connection.exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))


def downgrade() -> None:
    """Drop the processing tables (the queue schema is left: other apps may share it)."""
    op.execute("DROP TABLE IF EXISTS processing_findings, processing_jobs, certificates")
