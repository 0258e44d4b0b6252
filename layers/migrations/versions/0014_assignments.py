"""Field inspections (issue 18): assignments of licences to inspectors, and violations.

`inspection_assignments`: an office or an admin assigns a licence to an inspector (the
inspector's subject, as in inspections.created_by: a local user's name or an OpenID Connect
subject, so no foreign key to auth_users). At most one open assignment per licence and
inspector. The first inspection that inspector records for that licence closes it (a trigger,
so every way of writing an inspection closes it the same way, in the same transaction).

`inspections.violations`: the codes of the violations found, comma-separated (the list is
field.violations; the pattern is checked by layers.feature_rules as well as here). Like the
notes it is not public (layers.catalogue).

Revision ID: 0014_assignments
Revises: 0011_license_idempotency
"""
from alembic import op

revision = "0014_assignments"
down_revision = "0011_license_idempotency"
branch_labels = None
depends_on = None

UP = r"""
ALTER TABLE inspections ADD COLUMN IF NOT EXISTS violations text NOT NULL DEFAULT ''
  CHECK (violations ~ '^([a-z][a-z_]{1,39}(,[a-z][a-z_]{1,39}){0,19})?$');

CREATE TABLE inspection_assignments (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  license_id bigint NOT NULL REFERENCES licenses (id) ON DELETE CASCADE,
  inspector text NOT NULL CHECK (inspector ~ '^[A-Za-z0-9][A-Za-z0-9_.@:|-]{0,199}$'),
  assigned_by text NOT NULL CHECK (assigned_by <> ''),
  assigned_at timestamptz NOT NULL DEFAULT now(),
  due_date date,
  note text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
  closed_at timestamptz,
  inspection_id bigint REFERENCES inspections (id) ON DELETE SET NULL,
  CHECK (closed_at IS NOT NULL OR inspection_id IS NULL)
);
CREATE UNIQUE INDEX inspection_assignments_open
  ON inspection_assignments (license_id, inspector) WHERE closed_at IS NULL;
CREATE INDEX inspection_assignments_inspector
  ON inspection_assignments (inspector) WHERE closed_at IS NULL;

CREATE FUNCTION close_inspection_assignment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE inspection_assignments SET closed_at = now(), inspection_id = NEW.id
   WHERE license_id = NEW.license_id AND inspector = NEW.created_by AND closed_at IS NULL;
  RETURN NULL;
END $$;
CREATE TRIGGER inspections_close_assignment AFTER INSERT ON inspections
  FOR EACH ROW EXECUTE FUNCTION close_inspection_assignment();
"""


def upgrade() -> None:
    """Create the assignments table, its trigger and the violations column."""
    op.execute(UP)


def downgrade() -> None:
    """Drop what upgrade made."""
    op.execute("DROP TRIGGER IF EXISTS inspections_close_assignment ON inspections")
    op.execute("DROP FUNCTION IF EXISTS close_inspection_assignment()")
    op.execute("DROP TABLE IF EXISTS inspection_assignments")
    op.execute("ALTER TABLE inspections DROP COLUMN IF EXISTS violations")
