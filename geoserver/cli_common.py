"""What every `amanat` command shares: settings from the environment, the database `make run`
serves when DATABASE_URL is not set, one-line failures.

`amanat serve` (which `make run` starts) records the URL of the database it serves in
`<state_dir>/database.url` (mode 0600: it holds the password, next to the keys in the same
directory). A command run without DATABASE_URL reads that record, so after `make run` every
`.venv/bin/amanat …` works on the same database; it names the database it used on stderr,
without the password. DATABASE_URL, when set, always wins.
"""
import contextlib
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

import click
import psycopg
from pydantic import SecretStr, ValidationError

from geoserver.settings import DatabaseSettings, ServerSettings, Settings

RECORD_NAME = "database.url"
EXAMPLE_URL = "postgresql://user:password@host:5432/db"


def fail(message: str, code: int = 2):
    """One clear line on stderr, then exit non-zero."""
    click.echo(f"amanat: {message}", err=True)
    sys.exit(code)


def record_path(state_dir: Path) -> Path:
    """Where `amanat serve` records the database it serves."""
    return state_dir / RECORD_NAME


def record_database(settings: Settings) -> None:
    """Record the served database's URL in the state directory (owner-only, atomically)."""
    path = record_path(settings.server.state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{RECORD_NAME}.{os.getpid()}")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(settings.database.dsn + "\n")
    os.replace(staged, path)


def recorded_url(state_dir: Path) -> str | None:
    """The URL `amanat serve` last recorded in this state directory, or None."""
    try:
        text = record_path(state_dir).read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as err:
        fail(f"cannot read {record_path(state_dir)}: {err.strerror or err}")
    return text or None


def without_password(url: str) -> str:
    """The URL with its password left out (safe to print)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(unparsable URL)"
    user = f"{parts.username}@" if parts.username else ""
    host = f"[{host}]" if ":" in host else host
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}{query}"


def _no_database(state_dir: Path) -> None:
    """Say, in English and Arabic, that no database is known and how to name one; exit 2."""
    record = record_path(state_dir)
    click.echo(f"amanat: DATABASE_URL is not set and no server has recorded its database in "
               f"{record}: run `make run` once (it provisions a local PostGIS), or set "
               f"DATABASE_URL (e.g. {EXAMPLE_URL})", err=True)
    click.echo(f"amanat: لم يُضبط DATABASE_URL ولم يسجّل أي خادم قاعدة بياناته في {record}: "
               f"شغّل `make run` مرة واحدة (يجهّز PostGIS محلية)، أو اضبط DATABASE_URL "
               f"(مثلاً {EXAMPLE_URL})", err=True)
    sys.exit(2)


def database_url(server: ServerSettings, announce: bool = True) -> str:
    """DATABASE_URL, else the one `amanat serve` recorded (named on stderr); else exit 2."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    url = recorded_url(server.state_dir)
    if url is None:
        _no_database(server.state_dir)
    if announce:
        click.echo(f"amanat: database {without_password(url)} (DATABASE_URL is not set; the "
                   f"one `amanat serve` recorded in {record_path(server.state_dir)})", err=True)
    return url


def settings(announce: bool = True) -> Settings:
    """Settings from the environment, or one line saying which value is wrong."""
    try:
        server = ServerSettings()
        url = database_url(server, announce)
        return Settings(database=DatabaseSettings(url=SecretStr(url)), server=server)
    except ValidationError as err:
        first = err.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "setting"
        if name == "url":
            name = "DATABASE_URL"
        fail(f"{name} is invalid: {first['msg'].removeprefix('Value error, ')}")


def database_down(err: BaseException) -> str:
    """A one-line reason that never echoes the password."""
    err = _cause(err)
    text = str(err).strip().splitlines()[0] if str(err).strip() else err.__class__.__name__
    return f"database unavailable ({text})"


def is_connection_error(err: BaseException | None) -> bool:
    """True when the error (or its cause, e.g. under SQLAlchemy's wrapper) says the database
    could not be reached."""
    while err is not None:
        if isinstance(err, psycopg.OperationalError):
            return True
        err = err.__cause__ or getattr(err, "orig", None)
    return False


@contextlib.contextmanager
def guarded():
    """Database trouble as one line on stderr, exit 1: down, or not migrated yet."""
    try:
        yield
    except psycopg.errors.UndefinedTable:
        fail("the database has no Amanat tables yet: run `amanat migrate` first", 1)
    except Exception as err:
        if not is_connection_error(err):
            raise
        fail(database_down(err), 1)


def _cause(err: BaseException) -> BaseException:
    """The psycopg error under a wrapper (its message has no SQLAlchemy decoration)."""
    while not isinstance(err, psycopg.Error) and (err.__cause__ or getattr(err, "orig", None)):
        err = err.__cause__ or err.orig
    return err
