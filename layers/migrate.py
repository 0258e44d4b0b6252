"""Apply the schema migrations (alembic) to a database."""
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

MIGRATIONS = Path(__file__).parent / "migrations"


def sqlalchemy_url(dsn: str) -> str:
    """Turn a libpq URL into the SQLAlchemy URL of the psycopg 3 driver."""
    scheme, _, rest = dsn.partition("://")
    return f"postgresql+psycopg://{rest}" if scheme in ("postgres", "postgresql") else dsn


def upgrade(dsn: str, revision: str = "heads") -> None:
    """Bring the database schema to `revision` (a no-op when it is already there).

    Each capability (imagery, processing, search, ...) adds its own branch off the base schema,
    so the default target is every head.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = create_engine(sqlalchemy_url(dsn), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            connection.commit()
    finally:
        engine.dispose()


def current(dsn: str) -> str | None:
    """The revisions the database is at (comma-separated), or None when none was applied."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        exists = conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()[0]
        if not exists:
            return None
        rows = conn.execute("SELECT version_num FROM alembic_version ORDER BY 1").fetchall()
        return ",".join(row[0] for row in rows) or None
