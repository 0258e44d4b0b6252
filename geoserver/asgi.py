"""Entry point for ASGI servers: `uvicorn --factory geoserver.asgi:app_from_env`."""
from geoserver.app import create_app
from geoserver.settings import Settings


def app_from_env():
    """Build the application from environment settings (called by each worker process)."""
    return create_app(Settings.from_env())
