"""The `amanat` command-line tool."""
import logging
import sys
from pathlib import Path

import click
import psycopg

from geoserver import cli_auth
from geoserver.cli_common import database_down as _database_down
from geoserver.cli_common import fail as _fail
from geoserver.cli_common import guarded as _guarded
from geoserver.cli_common import is_connection_error as _is_connection_error
from geoserver.cli_common import record_database, record_path, without_password
from geoserver.cli_common import settings as _settings
from geoserver.settings import Settings

LOGGER = logging.getLogger("amanat")


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


@main.command("sample-city")
@click.option("--parcels", default=20000, show_default=True, type=click.IntRange(100, 5_000_000))
@click.option("--seed", default=1, show_default=True, type=click.IntRange(min=0))
@click.option("--if-empty", is_flag=True, help="Load only when the database has no parcels.")
@click.option("--no-imagery", is_flag=True, help="Skip the sample rasters and panoramas.")
def sample_city(parcels: int, seed: int, if_empty: bool, no_imagery: bool):
    """Generate the Dammam sample city and load it (in one transaction)."""
    from data.load import is_loaded, load_sample_city
    from layers import migrate as migrations

    settings = _settings()
    with _guarded():
        migrations.upgrade(settings.database.dsn)
        if if_empty and is_loaded(settings.database.dsn):
            click.echo("sample city: data already loaded, nothing to do")
            return
        counts = load_sample_city(settings.database.dsn, parcels=parcels, seed=seed)
    click.echo("loaded: " + ", ".join(f"{table} {n}" for table, n in counts.items()))
    if not no_imagery:
        with _guarded():
            _sample_imagery(settings, force=True)


def _sample_imagery(settings: Settings, force: bool, strict: bool = True) -> None:
    """Make the sample city's rasters and panoramas (those missing, or all with `force`)."""
    from data.imagery import generate_sample_imagery

    click.echo("sample imagery: orthophoto, elevation, hillshade, panoramas")
    try:
        made = generate_sample_imagery(settings, force_rasters=force)
    except Exception as err:
        if strict or _is_connection_error(err):
            raise
        LOGGER.exception("sample imagery failed")
        click.echo(f"amanat: warning: sample imagery not made ({err.__class__.__name__}); "
                   "serving without it (`amanat sample-imagery` retries)", err=True)
        return
    click.echo(f"sample imagery: {made['rasters']} rasters, {made['panoramas']} panoramas "
               f"({made['blurred']} faces/plates blurred)")


@main.command()
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Worker processes.")
@click.option("--no-sample", is_flag=True, help="Do not load the sample city into an empty database.")
@click.option("--with-worker", is_flag=True,
              help="Also run one permit-check job worker (`amanat worker`) beside the server.")
def serve(workers: int | None, no_sample: bool, with_worker: bool):
    """Migrate, load the sample city if the database is empty, and serve HTTP."""
    import uvicorn

    from geoserver import ogc

    settings = _settings()
    record_database(settings)   # what `amanat …` uses when DATABASE_URL is not set
    _prepare_database(settings, load_sample=not no_sample)
    _check_processing(settings)
    ogc.prepare(settings)
    job_worker = _spawn_worker() if with_worker else None
    click.echo(f"Amanat serving on {settings.server.base_url}/  "
               f"(OGC API {settings.server.base_url}/ogc, health /healthz)")
    click.echo(f"`.venv/bin/amanat …` commands without DATABASE_URL use this database "
               f"({without_password(settings.database.dsn)}, recorded in "
               f"{record_path(settings.server.state_dir)})")
    try:
        uvicorn.run("geoserver.asgi:app_from_env", factory=True, host=settings.server.host,
                    port=settings.server.port, workers=workers or settings.server.workers,
                    log_level="warning", proxy_headers=False, loop="uvloop", http="httptools")
    finally:
        _stop_worker(job_worker)


def _check_processing(settings: Settings) -> None:
    """Refuse to start on a bad rules file (naming file, line and rule) or signing key."""
    from processing import runtime
    from processing.errors import RulesFileError

    try:
        runtime.build(settings, db=None)   # the rules file and the key, no connection
    except RulesFileError as err:
        _fail(f"rules file: {err}")
    except (OSError, ValueError) as err:
        _fail(f"certificate signing key: {err}")


def _spawn_worker():
    """Start `amanat worker` as a child process with the same environment."""
    import subprocess

    click.echo("starting one permit-check job worker")
    return subprocess.Popen([sys.executable, "-m", "geoserver.cli", "worker"],
                            preexec_fn=_die_with_parent)


def _die_with_parent() -> None:
    """In the child: receive SIGTERM when the server process dies, however it dies (Linux)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _stop_worker(process) -> None:
    """Stop the child worker (SIGTERM, then SIGKILL after 15 s)."""
    import subprocess

    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@main.command()
@click.option("--concurrency", type=click.IntRange(1, 32), default=None,
              help="Jobs run at once (default AMANAT_PROCESSING_WORKER_CONCURRENCY, 1).")
def worker(concurrency: int | None):
    """Run queued permit-check jobs (any number of workers, on any host sharing the database)."""
    from layers import migrate as migrations
    from processing import worker as job_worker

    settings = _settings()
    if concurrency:
        settings.processing.worker_concurrency = concurrency
    _check_processing(settings)
    try:
        migrations.upgrade(settings.database.dsn)
    except Exception as err:
        _fail(_database_down(err) if _is_connection_error(err) else f"migration failed: {err}", 1)
    click.echo(f"permit-check worker: {settings.processing.worker_concurrency} job(s) at a time")
    job_worker.run(settings)


def _prepare_database(settings: Settings, load_sample: bool) -> None:
    """Migrate and load the sample city; a database that is down is reported, not fatal."""
    from data.imagery import needs_sample_imagery
    from data.load import is_loaded, load_sample_city
    from layers import migrate as migrations

    try:
        migrations.upgrade(settings.database.dsn)
        if load_sample and not is_loaded(settings.database.dsn):
            click.echo("empty database: loading the sample city (20,000 parcels)")
            load_sample_city(settings.database.dsn)
            _sample_imagery(settings, force=True, strict=False)
        elif load_sample and needs_sample_imagery(settings):
            _sample_imagery(settings, force=False, strict=False)
    except Exception as err:
        if not _is_connection_error(err):
            raise
        click.echo(f"amanat: warning: {_database_down(err)}; serving anyway, /healthz says 503",
                   err=True)



@main.group()
def raster():
    """Raster datasets served under /raster (orthophotos, elevation models...)."""


@raster.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--id", "raster_id", required=True, help="Dataset id (a-z, 0-9, '-', '_').")
@click.option("--title", required=True, help="Title shown in listings.")
@click.option("--kind", type=click.Choice(["orthophoto", "elevation", "hillshade", "imagery"]),
              default="imagery", show_default=True)
def raster_add(file: Path, raster_id: str, title: str, kind: str):
    """Convert FILE to a Cloud-Optimized GeoTIFF (if needed) and register it as ID."""
    from layers import cog
    from layers.rasters import is_valid_id, raster_store, register_file

    settings = _settings()
    if not is_valid_id(raster_id):
        _fail(f"invalid --id {raster_id!r} (a-z, 0-9, '-', '_'; at most 63)")
    if not title.strip():
        _fail("--title is empty (the title shown in listings)")
    with _guarded(), psycopg.connect(settings.database.dsn) as conn:
        conn.execute("SELECT 1 FROM rasters LIMIT 1")   # reachable and migrated, before converting
    store = raster_store(settings)
    store.mkdir(parents=True, exist_ok=True)
    staged = store / f".add-{raster_id}.tif"
    try:
        cog.to_cog(file, staged, kind)
        with _guarded():
            added = register_file(settings.database.dsn, store, staged, raster_id,
                                  title.strip(), kind, "added")
    except cog.RasterFileError as err:
        _fail(str(err))
    finally:
        staged.unlink(missing_ok=True)
    click.echo(f"raster {added.id}: {added.band_count} band(s) {added.dtype}, "
               f"{added.resolution_m} m, zoom {added.minzoom}-{added.maxzoom}, "
               f"{settings.server.base_url}/raster/{added.id}/WebMercatorQuad/tilejson.json")


@raster.command("list")
def raster_list():
    """List the registered raster datasets."""
    from layers.rasters import list_rasters

    settings = _settings()
    with _guarded(), psycopg.connect(settings.database.dsn) as conn:
        for r in list_rasters(conn):
            click.echo(f"{r.id}\t{r.kind}\t{r.source}\t{r.resolution_m} m\t{r.title}")


@raster.command("remove")
@click.argument("raster_id")
def raster_remove(raster_id: str):
    """Unregister a dataset and delete its file."""
    from layers.rasters import raster_store, remove_raster

    settings = _settings()
    with _guarded(), psycopg.connect(settings.database.dsn, autocommit=True) as conn:
        removed = remove_raster(conn, raster_id)
    if removed is None:
        _fail(f"no raster dataset {raster_id!r}")
    (raster_store(settings) / removed.file).unlink(missing_ok=True)
    click.echo(f"removed {raster_id}")


@main.group("panoramas")
def panoramas_group():
    """360° street-level panoramas."""


@panoramas_group.command("ingest")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def panoramas_ingest(directory: Path):
    """Ingest equirectangular JPEGs (EXIF GPS, heading, time): blur, tile, add to the layer."""
    from panoramas.ingest import ingest
    from panoramas.store import panorama_store

    settings = _settings()
    try:
        with _guarded():
            report = ingest(settings.database.dsn, panorama_store(settings), directory,
                            settings.panoramas)
    except OSError as err:   # the store cannot be written: nothing was added (ingest rolls back)
        _fail(f"cannot write the panorama store {panorama_store(settings).root}: "
              f"{err.strerror or err}; nothing was ingested", 1)
    for name, reason in report.skipped:
        click.echo(f"skipped {name}: {reason}", err=True)
    click.echo(f"ingested {len(report.ingested)} panorama(s) in {len(report.sequences)} "
               f"sequence(s), {report.blurred} face(s)/plate(s) blurred, "
               f"{len(report.skipped)} skipped")


@main.command("sample-imagery")
@click.option("--force", is_flag=True, help="Redraw the sample rasters even if present.")
def sample_imagery(force: bool):
    """Make the sample city's rasters and panoramas that are missing in this state directory."""
    settings = _settings()
    with _guarded():
        _sample_imagery(settings, force=force)


cli_auth.register(main)   # `amanat users`, `amanat keys`, `amanat audit`

if __name__ == "__main__":
    main()
