"""What every `amanat` command shares: settings from the environment, one-line failures."""
import sys

import click
import psycopg
from pydantic import ValidationError

from geoserver.settings import DatabaseSettings, ServerSettings, Settings


def fail(message: str, code: int = 2):
    """One clear line on stderr, then exit non-zero."""
    click.echo(f"amanat: {message}", err=True)
    sys.exit(code)


def settings() -> Settings:
    """Settings from the environment, or one line saying which value is wrong."""
    try:
        return Settings(database=DatabaseSettings(), server=ServerSettings())
    except ValidationError as err:
        first = err.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "setting"
        if first["type"] == "missing":
            fail(f"{name} is not set (e.g. postgresql://user:password@host:5432/db)")
        fail(f"{name} is invalid: {first['msg'].removeprefix('Value error, ')}")


def database_down(err: psycopg.Error) -> str:
    """A one-line reason that never echoes the password."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else err.__class__.__name__
    return f"database unavailable ({text})"
