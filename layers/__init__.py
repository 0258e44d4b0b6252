"""The layer catalogue: schema and migrations, pygeoapi providers, loading helpers."""
