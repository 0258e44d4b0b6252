"""Search of licence numbers by any part: the digits of a number, from either end.

A citizen types a licence number as it is printed ("LIC-2025-000123"), without its prefix or
dashes ("2025000123", "2025-000123"), or only its last digits ("000123", "123"). Migration
0005_search finds the first form (prefix of `amanat_search_ident`); this one adds
`amanat_search_digits` (the digits of a value, Arabic-Indic and Persian digits as ASCII, nothing
else) and two B-tree indexes on it, in the "C" collation: one for a prefix of the digits and one
on the reversed digits for their end. Both answer `LIKE 'x%' ORDER BY ... LIMIT n` in a few index
pages whatever the size of the table, which a trigram index cannot do for a short run of digits
that thousands of numbers share. webmap/search.py writes the same expressions; a test checks that
the query uses these indexes.

Revision ID: 0008_search_licences
Revises: 0005_search
"""
from alembic import op

revision = "0008_search_licences"
down_revision = "0005_search"
branch_labels = None
depends_on = None

DIGITS = {chr(base + n): str(n) for base in (0x0660, 0x06F0) for n in range(10)}

FUNCTION = f"""
CREATE OR REPLACE FUNCTION amanat_search_digits(value text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT regexp_replace(translate(value, '{"".join(DIGITS)}', '{"".join(DIGITS.values())}'),
                        '[^0-9]+', '', 'g')
$$;
"""

# (index name, indexed expression): B-trees in the "C" collation (byte order for LIKE 'x%').
INDEXES = (
    ("licenses_search_digits", "amanat_search_digits(license_no)"),
    ("licenses_search_digits_end", "reverse(amanat_search_digits(license_no))"),
)


def upgrade() -> None:
    """Create the digits function and the two indexes on licence numbers."""
    op.execute(FUNCTION)
    for name, expression in INDEXES:
        op.execute(f'CREATE INDEX IF NOT EXISTS {name} ON licenses (({expression}) COLLATE "C")')
    op.execute("ANALYZE licenses")


def downgrade() -> None:
    """Drop the indexes and the function."""
    for name, _ in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute("DROP FUNCTION IF EXISTS amanat_search_digits(text)")
