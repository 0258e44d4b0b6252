"""Search of the web map: normalising functions and the indexes built on them.

Two immutable SQL functions normalise text the same way for the indexes and for the query:
`amanat_search_text` for names (Arabic spelling variants folded: alef forms, taa marbuta,
alef maqsura, hamza seats, Persian kaf/yeh; diacritics and tatweel removed; Arabic-Indic digits
to ASCII; lower case; punctuation to single spaces) and `amanat_search_ident` for parcel and
licence numbers (upper case, ASCII digits, any run of separators to one '-', anything else
dropped). The indexes are expression indexes: no column is added to the layer tables, and they
stay current through every insert, update and COPY. webmap/search.py writes the same
expressions; a test checks that the query uses these indexes.

Revision ID: 0005_search
Revises: 0001
"""
from alembic import op

revision = "0005_search"
down_revision = "0001"
branch_labels = None
depends_on = None

# Letters folded to one form, and Arabic-Indic / Persian digits to ASCII.
FOLDED = {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ی": "ي", "ئ": "ي", "ؤ": "و",
          "ة": "ه", "ک": "ك", "ڪ": "ك"}
DIGITS = {chr(base + n): str(n) for base in (0x0660, 0x06F0) for n in range(10)}
TEXT_FROM = "".join(FOLDED) + "".join(DIGITS)
TEXT_TO = "".join(FOLDED.values()) + "".join(DIGITS.values())

FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION amanat_search_text(value text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT btrim(regexp_replace(regexp_replace(
    translate(lower(value), '{TEXT_FROM}', '{TEXT_TO}'),
    '[\\u064B-\\u065F\\u0670\\u0640]', '', 'g'),
    '[[:space:][:punct:]–—،؛؟«»]+', ' ', 'g'))
$$;

CREATE OR REPLACE FUNCTION amanat_search_ident(value text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT btrim(regexp_replace(
    translate(upper(value), '{"".join(DIGITS)}', '{"".join(DIGITS.values())}'),
    '[^A-Z0-9]+', '-', 'g'), '-')
$$;
"""

# (index name, table, indexed expression, access method, operator class or collation). Names get
# GiST trigram indexes: they answer `ORDER BY q <<-> key LIMIT n` (nearest by word similarity) in
# a few index pages even for words that thousands of rows share, where GIN must score them all.
# Numbers get B-trees in the "C" collation: one index serves both `LIKE 'prefix%'` and
# `ORDER BY ... LIMIT n` in number order, whatever the database's collation.
INDEXES = (
    ("districts_search_gist", "districts",
     "amanat_search_text(name_ar || ' ' || name_en || ' ' || code)", "gist", "gist_trgm_ops"),
    ("streets_search_gist", "streets",
     "amanat_search_text(name_ar || ' ' || name_en)", "gist", "gist_trgm_ops"),
    ("facilities_search_gist", "facilities",
     "amanat_search_text(name_ar || ' ' || name_en)", "gist", "gist_trgm_ops"),
    ("licenses_search_gist", "licenses",
     "amanat_search_text(trade_name_ar || ' ' || trade_name_en)", "gist", "gist_trgm_ops"),
    ("licenses_search_ident", "licenses", "amanat_search_ident(license_no)", "btree",
     'COLLATE "C"'),
    ("parcels_search_ident", "parcels", "amanat_search_ident(parcel_no)", "btree",
     'COLLATE "C"'),
)


def upgrade() -> None:
    """Create the normalising functions and the expression indexes of the search."""
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(FUNCTIONS)
    for name, table, expression, method, opclass in INDEXES:
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
                   f"USING {method} (({expression}) {opclass})")
    for table in sorted({table for _, table, _, _, _ in INDEXES}):
        op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    """Drop the indexes and the functions."""
    for name, *_ in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute("DROP FUNCTION IF EXISTS amanat_search_text(text)")
    op.execute("DROP FUNCTION IF EXISTS amanat_search_ident(text)")
