"""The `amanat` command-line tool."""
import logging
import sys

import click
import psycopg
from pydantic import ValidationError

from geoserver.settings import DatabaseSettings, ServerSettings, Settings

LOGGER = logging.getLogger("amanat")


def _fail(message: str, code: int = 2):
    """One clear line on stderr, then exit non-zero."""
    click.echo(f"amanat: {message}", err=True)
    sys.exit(code)


def _settings() -> Settings:
    """Settings from the environment, or one line saying which value is wrong."""
    try:
        return Settings(database=DatabaseSettings(), server=ServerSettings())
    except ValidationError as err:
        first = err.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "setting"
        if first["type"] == "missing":
            _fail(f"{name} is not set (e.g. postgresql://user:password@host:5432/db)")
        _fail(f"{name} is invalid: {first['msg'].removeprefix('Value error, ')}")


def _database_down(err: psycopg.Error) -> str:
    """A one-line reason that never echoes the password."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else err.__class__.__name__
    return f"database unavailable ({text})"


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="More log output.")
def main(verbose: bool):
    """Amanat: municipal spatial services (OGC API, imagery, permit checks, web map)."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


@main.command()
def migrate():
    """Apply the database migrations (a no-op when up to date)."""
    from layers import migrate as migrations

    settings = _settings()
    try:
        migrations.upgrade(settings.database.dsn)
    except Exception as err:  # alembic wraps driver errors in SQLAlchemy ones
        _fail(_database_down(err) if _is_connection_error(err) else f"migration failed: {err}", 1)
    click.echo(f"schema at revision {migrations.current(settings.database.dsn)}")


def _is_connection_error(err: Exception) -> bool:
    """True when the error (or its cause) says the database could not be reached."""
    while err is not None:
        if isinstance(err, psycopg.OperationalError):
            return True
        err = err.__cause__ or getattr(err, "orig", None)
    return False


@main.command("sample-city")
@click.option("--parcels", default=20000, show_default=True, type=click.IntRange(100, 5_000_000))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--if-empty", is_flag=True, help="Load only when the database has no parcels.")
def sample_city(parcels: int, seed: int, if_empty: bool):
    """Generate the Dammam sample city and load it (in one transaction)."""
    from data.load import is_loaded, load_sample_city
    from layers import migrate as migrations

    settings = _settings()
    try:
        migrations.upgrade(settings.database.dsn)
        if if_empty and is_loaded(settings.database.dsn):
            click.echo("sample city: data already loaded, nothing to do")
            return
        counts = load_sample_city(settings.database.dsn, parcels=parcels, seed=seed)
    except psycopg.OperationalError as err:
        _fail(_database_down(err), 1)
    click.echo("loaded: " + ", ".join(f"{table} {n}" for table, n in counts.items()))


@main.command()
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Worker processes.")
@click.option("--no-sample", is_flag=True, help="Do not load the sample city into an empty database.")
def serve(workers: int | None, no_sample: bool):
    """Migrate, load the sample city if the database is empty, and serve HTTP."""
    import uvicorn

    from geoserver import ogc

    settings = _settings()
    _prepare_database(settings, load_sample=not no_sample)
    ogc.prepare(settings)
    click.echo(f"Amanat serving on {settings.server.base_url}/  "
               f"(OGC API {settings.server.base_url}/ogc, health /healthz)")
    uvicorn.run("geoserver.asgi:app_from_env", factory=True, host=settings.server.host,
                port=settings.server.port, workers=workers or settings.server.workers,
                log_level="warning", proxy_headers=False, loop="uvloop", http="httptools")


def _prepare_database(settings: Settings, load_sample: bool) -> None:
    """Migrate and load the sample city; a database that is down is reported, not fatal."""
    from data.load import is_loaded, load_sample_city
    from layers import migrate as migrations

    try:
        migrations.upgrade(settings.database.dsn)
        if load_sample and not is_loaded(settings.database.dsn):
            click.echo("empty database: loading the sample city (20,000 parcels)")
            load_sample_city(settings.database.dsn)
    except Exception as err:
        if not _is_connection_error(err):
            raise
        click.echo(f"amanat: warning: {_database_down(err)}; serving anyway, /healthz says 503",
                   err=True)


if __name__ == "__main__":
    main()
