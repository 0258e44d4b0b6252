"""Entry point for ASGI servers: `uvicorn --factory geoserver.asgi:app_from_env`."""
from geoserver import cli_common
from geoserver.app import create_app


def app_from_env():
    """Build the application from environment settings (called by each worker process); the
    database is DATABASE_URL, else the one `amanat serve` recorded (geoserver/cli_common.py)."""
    return create_app(cli_common.settings(announce=False))
