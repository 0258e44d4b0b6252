"""Amanat's ASGI application: OGC API (pygeoapi), imagery (TiTiler), web map and health."""


def create_app(settings):
    """Build the application from settings (see geoserver.app.create_app)."""
    from geoserver.app import create_app as _create_app

    return _create_app(settings)


__all__ = ["create_app"]
