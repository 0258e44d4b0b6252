"""Migrations: apply to an empty database, re-apply as a no-op."""
import psycopg

from layers import migrate
from layers.catalogue import LAYERS

SCHEMA_SNAPSHOT = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY 1, 2
"""


def _snapshot(url: str) -> list:
    with psycopg.connect(url) as conn:
        columns = conn.execute(SCHEMA_SNAPSHOT).fetchall()
        indexes = conn.execute("SELECT indexname, indexdef FROM pg_indexes "
                               "WHERE schemaname = 'public' ORDER BY 1").fetchall()
        return [columns, indexes]


def test_migrations_create_every_layer_table_in_an_empty_database(empty_database_url):
    migrate.upgrade(empty_database_url)
    with psycopg.connect(empty_database_url) as conn:
        for layer in LAYERS.values():
            assert conn.execute("SELECT to_regclass(%s)", [layer.table]).fetchone()[0]


def test_reapplying_migrations_changes_nothing(empty_database_url):
    migrate.upgrade(empty_database_url)
    before = (_snapshot(empty_database_url), migrate.current(empty_database_url))
    migrate.upgrade(empty_database_url)
    assert (_snapshot(empty_database_url), migrate.current(empty_database_url)) == before


def test_every_branch_head_is_applied(empty_database_url):
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    heads = set(ScriptDirectory.from_config(config).get_heads())
    migrate.upgrade(empty_database_url)
    assert set(migrate.current(empty_database_url).split(",")) == heads


def test_personal_columns_exist_in_the_schema_and_not_in_the_catalogue(db):
    for layer in LAYERS.values():
        for column in layer.personal:
            assert column not in layer.fields
            assert db.execute("SELECT 1 FROM information_schema.columns WHERE table_name = %s "
                              "AND column_name = %s", [layer.table, column]).fetchone()


def test_catalogue_fields_are_columns_of_their_tables(db):
    for layer in LAYERS.values():
        columns = {row[0] for row in db.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
            [layer.table]).fetchall()}
        assert set(layer.fields) <= columns, layer.id
